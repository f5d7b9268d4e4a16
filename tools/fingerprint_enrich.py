"""Fingerprint the enrichment's outputs, to prove a speed change left them identical.

``python tools/fingerprint_enrich.py [--out FILE]`` enriches a fixed corpus — the benchmark's
~4 KB Urdu, Hindi and English articles (``tools/bench_corpus.py``), the demo articles and, when
``../shared`` is there, the IL-NER dev sentences as one article each — with a fixed ingest time,
and prints one SHA-256 over every result (timings, the enrichment time and trace id left out:
they differ run to run). ``--out`` writes each article's own digest beside its key, so two runs
can be compared with ``diff`` to find the articles that changed.

Run it before and after a change (``git worktree`` for the before) and compare the digests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_corpus import DEMO, load_samples  # noqa: E402

from services.enrich.ner.corpus import LANGUAGE_FILES, read_split  # noqa: E402
from shared.ids import article_id  # noqa: E402
from shared.models import RawArticle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
IL_NER = ROOT.parent / "shared" / "datasets" / "il-ner"
#: a fixed ingest time: dates are read relative to it
INGESTED = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
#: what differs between two runs of the same code
VOLATILE = {"timings_ms", "enriched_at", "trace_id"}


def corpus() -> Iterator[tuple[str, str | None, str]]:
    """``(key, title, body)`` of every article the fingerprint covers."""
    _, samples = load_samples()
    for n, sample in enumerate(samples):
        yield f"bench/{sample.language}/{n}", sample.title, sample.body
    for n, line in enumerate(DEMO.read_text().splitlines()):
        row = json.loads(line)
        yield f"demo/{n}", row.get("title"), row["body"]
    if IL_NER.is_dir():
        for language in sorted(LANGUAGE_FILES):
            for n, sentence in enumerate(read_split(IL_NER, language, "dev")):
                yield f"il-ner/{language}/{n}", None, sentence.text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write each article's digest here")
    args = parser.parse_args(argv)

    from services.enrich.pipeline import Enricher

    enricher = Enricher()
    whole = hashlib.sha256()
    rows = []
    for key, title, body in corpus():
        url = f"https://fingerprint.khabar.invalid/{key}"
        raw = RawArticle(
            id=article_id(url=url, title=None, body=""),
            url=url,
            title=title,
            body=body,
            ingested_at=INGESTED,
        )
        result = enricher.enrich(raw).model_dump(mode="json", exclude=VOLATILE)
        data = json.dumps(result, ensure_ascii=False, sort_keys=True).encode()
        whole.update(data)
        rows.append(f"{key}\t{hashlib.sha256(data).hexdigest()[:16]}")
    if args.out is not None:
        args.out.write_text("\n".join(rows) + "\n")
    print(json.dumps({"articles": len(rows), "sha256": whole.hexdigest()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
