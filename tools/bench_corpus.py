"""The benchmark corpus: ~4 KB news articles in Urdu, Hindi and English.

From ``../shared/datasets/ntrex`` (NTREX-128 news test set: the same 61 documents in every
language) when it is there, else from the repository's ``demo/articles.jsonl``. Each article is
one document's title and body, followed by the next documents' bodies until it reaches the
target size, then cut at a character boundary so it is at most ``size`` UTF-8 bytes: real news
text, realistic length, same size in every script.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shared.ids import article_id
from shared.models import RawArticle

ROOT = Path(__file__).resolve().parent.parent
NTREX = ROOT.parent / "shared" / "datasets" / "ntrex"
DEMO = ROOT / "demo" / "articles.jsonl"
NTREX_FILES = {"ur": "urd.jsonl", "hi": "hin.jsonl", "en": "eng.jsonl"}


@dataclass(frozen=True, slots=True)
class Sample:
    """One benchmark article before it gets an id."""

    language: str
    title: str
    body: str


def _trim(text: str, size: int) -> str:
    data = text.encode("utf-8")[:size]
    return data.decode("utf-8", "ignore")


def _documents() -> tuple[str, dict[str, list[tuple[str, str]]]]:
    if all((NTREX / name).exists() for name in NTREX_FILES.values()):
        docs: dict[str, list[tuple[str, str]]] = {}
        for language, name in NTREX_FILES.items():
            rows = [json.loads(line) for line in (NTREX / name).read_text().splitlines() if line]
            docs[language] = [(row["title"], row["body"]) for row in rows]
        return "ntrex", docs
    by_language: dict[str, list[tuple[str, str]]] = {"ur": [], "hi": [], "en": []}
    for line in DEMO.read_text().splitlines():
        row = json.loads(line)
        text = row["title"] + row["body"]
        language = (
            "ur"
            if any("\u0600" <= ch <= "\u06ff" for ch in text)
            else "hi"
            if any("\u0900" <= ch <= "\u097f" for ch in text)
            else "en"
        )
        by_language[language].append((row["title"], row["body"]))
    return "demo", {k: v for k, v in by_language.items() if v}


def load_samples(size: int = 4096) -> tuple[str, list[Sample]]:
    """The corpus name and its samples, languages interleaved (ur, hi, en, ur, …)."""
    name, docs = _documents()
    per_language: dict[str, list[Sample]] = {}
    for language, rows in docs.items():
        samples = []
        for index, (title, body) in enumerate(rows):
            parts = [body]
            following = index + 1
            while len("\n".join(parts).encode()) < size and following < index + 1 + len(rows):
                parts.append(rows[following % len(rows)][1])
                following += 1
            samples.append(
                Sample(language, title, _trim("\n".join(parts), size - len(title.encode()) - 1))
            )
        per_language[language] = samples
    longest = max(len(s) for s in per_language.values())
    interleaved = [
        samples[i % len(samples)] for i in range(longest) for samples in per_language.values()
    ]
    return name, interleaved


def raw_articles(samples: list[Sample], count: int, run: str) -> Iterator[RawArticle]:
    """``count`` distinct raw articles (unique ids per ``run``), cycling through the samples."""
    now = datetime.now(UTC)
    for n in range(count):
        sample = samples[n % len(samples)]
        url = f"https://bench.khabar.invalid/{run}/{n}"
        yield RawArticle(
            id=article_id(url=url, title=None, body=""),
            url=url,
            source=f"bench-{run}",
            title=sample.title,
            body=sample.body,
            ingested_at=now,
        )
