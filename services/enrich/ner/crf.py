"""Exact, fast inference for CRFsuite's first-order linear-chain models.

CRFsuite is used to *train* the taggers (``tools/train_ner.py``); at run time its Python binding
costs ~10 µs a token: every token's ~25 feature strings are built, handed to C++ and looked up
again, and each marginal is one Python call.  This module decodes the same model without that:

* :class:`CompiledCrf` reads the trained weights once (``Tagger.info()``) into a dense
  ``attributes × labels`` matrix, so the score a set of features gives each label is one sum of
  rows.  Features that depend on one word only are summed once per distinct word by the caller
  and cached, so a token's emission scores are a handful of vector additions.
* :func:`decode` runs Viterbi and forward-backward (scaled, in probability space) over every
  sentence of a text in one compiled loop (numba), returning CRFsuite's own answer: the same
  best label sequence and the same per-token marginals (checked against CRFsuite in the tests
  and by ``make eval``, which reproduces the published F1 exactly).

CRFsuite's 1-d CRF has state features (attribute, label) and label-bigram transitions, and no
start or end transitions; attribute values here are always 1.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pycrfsuite
from numba import njit

__all__ = ["CompiledCrf", "Floats", "Ints", "decode"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


class CompiledCrf:
    """A CRFsuite model's labels, state weights and transition weights as arrays."""

    def __init__(self, tagger: pycrfsuite.Tagger) -> None:
        info = tagger.info()
        self.labels: list[str] = list(tagger.labels())
        label_index = {label: i for i, label in enumerate(self.labels)}
        size = len(self.labels)
        attributes: dict[str, int] = {}
        for attribute, _ in info.state_features:
            attributes.setdefault(attribute, len(attributes))
        # one extra zero row: the row of every attribute the model never weighted
        weights = np.zeros((len(attributes) + 1, size), dtype=np.float64)
        for (attribute, label), weight in info.state_features.items():
            weights[attributes[attribute], label_index[label]] = weight
        self.weights = weights
        self.attributes = attributes
        self.transitions: Floats = np.zeros((size, size), dtype=np.float64)
        for (source, target), weight in info.transitions.items():
            self.transitions[label_index[source], label_index[target]] = weight
        self._unknown = len(attributes)

    def score(self, attributes: Iterable[str]) -> Floats:
        """Summed label scores of these attributes (unknown attributes score nothing)."""
        get, unknown = self.attributes.get, self._unknown
        rows = [get(a, unknown) for a in attributes]
        if not rows:
            return np.zeros(len(self.labels), dtype=np.float64)
        return self.weights[rows].sum(axis=0)  # type: ignore[no-any-return]

    def prefixed(self, prefix: str) -> dict[str, Floats]:
        """Every weighted attribute starting with ``prefix``, by the rest of its name."""
        cut = len(prefix)
        return {
            attribute[cut:]: self.weights[row]
            for attribute, row in self.attributes.items()
            if attribute.startswith(prefix)
        }


@njit(cache=True, nogil=True)
def _decode(
    emissions: Floats, starts: Ints, transitions: Floats, best: Ints, marginals: Floats
) -> None:  # pragma: no cover - compiled; covered through decode()
    size = transitions.shape[0]
    expt = np.exp(transitions)
    for s in range(starts.shape[0] - 1):
        first, stop = starts[s], starts[s + 1]
        n = stop - first
        if n == 0:
            continue
        # Viterbi in log space
        delta = emissions[first].copy()
        back = np.zeros((n, size), dtype=np.int64)
        for t in range(1, n):
            row = emissions[first + t]
            new = np.empty(size)
            for j in range(size):
                arg = 0
                top = delta[0] + transitions[0, j]
                for i in range(1, size):
                    value = delta[i] + transitions[i, j]
                    if value > top:
                        top, arg = value, i
                new[j] = top + row[j]
                back[t, j] = arg
            delta = new
        label = 0
        for j in range(1, size):
            if delta[j] > delta[label]:
                label = j
        for t in range(n - 1, -1, -1):
            best[first + t] = label
            label = back[t, label]
        # forward-backward, scaled per position (each row of ``state`` is shifted by its max)
        state = np.empty((n, size))
        for t in range(n):
            top = emissions[first + t].max()
            for j in range(size):
                state[t, j] = np.exp(emissions[first + t, j] - top)
        alpha = np.empty((n, size))
        total = state[0].sum()
        for j in range(size):
            alpha[0, j] = state[0, j] / total
        for t in range(1, n):
            total = 0.0
            for j in range(size):
                acc = 0.0
                for i in range(size):
                    acc += alpha[t - 1, i] * expt[i, j]
                alpha[t, j] = acc * state[t, j]
                total += alpha[t, j]
            for j in range(size):
                alpha[t, j] /= total
        beta = np.ones(size)
        for t in range(n - 1, -1, -1):
            if t < n - 1:
                nxt = np.empty(size)
                total = 0.0
                for i in range(size):
                    acc = 0.0
                    for j in range(size):
                        acc += expt[i, j] * state[t + 1, j] * beta[j]
                    nxt[i] = acc
                    total += acc
                for i in range(size):
                    beta[i] = nxt[i] / total
            total = 0.0
            for j in range(size):
                marginals[first + t, j] = alpha[t, j] * beta[j]
                total += marginals[first + t, j]
            for j in range(size):
                marginals[first + t, j] /= total


def decode(emissions: Floats, starts: Ints, transitions: Floats) -> tuple[Ints, Floats]:
    """Best label index and label marginals of every token.

    ``emissions`` is ``tokens × labels`` for all sentences laid end to end; sentence ``s``
    covers rows ``starts[s]:starts[s + 1]``; ``transitions[i, j]`` scores label ``i`` then ``j``.
    """
    size = emissions.shape[0]
    best = np.zeros(size, dtype=np.int64)
    marginals = np.zeros((size, transitions.shape[0]), dtype=np.float64)
    if size:
        _decode(
            np.ascontiguousarray(emissions, dtype=np.float64),
            np.ascontiguousarray(starts, dtype=np.int64),
            np.ascontiguousarray(transitions, dtype=np.float64),
            best,
            marginals,
        )
    return best, marginals
