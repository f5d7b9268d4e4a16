"""Hypothesis strategies for hostile input, shared by the parser, model and API properties."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

#: Characters that break naive text handling: C0/C1 controls, zero-width, bidi overrides and
#: isolates, BOM, lone surrogates, Arabic-script and Devanagari letters and combining marks.
NASTY = (
    "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9f"
    "\u200b\u200c\u200d\u2060\ufeff"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"
    "\ud800\udfff"
    'پاکستانभारत\u093c\u0651\u064b\n\r\t "\\{}[]:,'
)

hostile_text = st.text(
    alphabet=st.one_of(st.sampled_from(NASTY), st.characters(codec=None)), max_size=300
)


def json_documents(keys: Sequence[str], max_leaves: int = 25) -> st.SearchStrategy[object]:
    """Any JSON value, with objects keyed mostly by the contract's own field names."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | hostile_text
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(list(keys)) | st.text(max_size=8), children, max_size=6
            )
        ),
        max_leaves=max_leaves,
    )
