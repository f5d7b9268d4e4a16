"""Hypothesis strategies shared by the enrichment tests."""

from __future__ import annotations

from hypothesis import strategies as st


def mixed_script_text(separators: str, max_size: int = 60) -> st.SearchStrategy[str]:
    """Short texts mixing Devanagari, Arabic script, the rest of the BMP up to U+3000, astral
    characters and the given separators (spaces, joiners, digits, punctuation)."""
    return st.text(
        alphabet=st.one_of(
            st.characters(min_codepoint=0x900, max_codepoint=0x97F),
            st.characters(min_codepoint=0x600, max_codepoint=0x6FF),
            st.characters(max_codepoint=0x3000),
            st.characters(min_codepoint=0x10000),
            st.sampled_from(separators),
        ),
        max_size=max_size,
    )
