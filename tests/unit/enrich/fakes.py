"""What the enrichment's fake taggers share: the parts of ``NerTagger`` beyond ``tag``."""

from __future__ import annotations

from services.enrich.ner.tagger import Reading


class TaggerFake:
    """A fake ``NerTagger`` base: every word is rare to it (seen at most once in training), and
    its reading of a text is its ``tag``'s spans, without tokens."""

    def frequency(self, word: str, language: str) -> int:
        return 1

    def read(self, text: str, language: str) -> Reading:
        return Reading(tuple(self.tag(text, language)), None)  # type: ignore[attr-defined]
