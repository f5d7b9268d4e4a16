"""What the enrichment's fake taggers share: the parts of ``NerTagger`` beyond ``tag``."""

from __future__ import annotations


class TaggerFake:
    """A fake ``NerTagger`` base: every word is rare to it (seen at most once in training)."""

    def frequency(self, word: str, language: str) -> int:
        return 1
