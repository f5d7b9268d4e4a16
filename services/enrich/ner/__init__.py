"""Named-entity recognition for the enrich stage: PER/ORG/LOC spans in Hindi, Urdu and English.

Import :class:`NerTagger` and :class:`NerSpan` from here; models ship in ``models/`` (derived
from IL-NER, CC BY 4.0 — see NOTICE) and are trained by ``tools/train_ner.py``.
"""

from .tagger import NerSpan, NerTagger

__all__ = ["NerSpan", "NerTagger"]
