"""Story links over many arrival orders, without a stack: ``make eval-stories``.

Which links form can depend on the order articles arrive in (each is compared with the articles
before it); one run through the product (``make eval-search``) sees one order. This runs
the index stage's own :class:`~services.index.stories.StoryAssigner` — the real enricher for the
entity ids, the real story encoder, the shipped policy or one given with ``--policy`` — over
``--orders`` shuffles of the shared NTREX stories (the same ``doc_id``, or one event of
``bench/ntrex_story_groups.json``, is one story), in batches of ``--batch`` as the index stage
takes them. The index is empty and every placement stays in the worker's memory
(:class:`~services.index.stories.Recent` holds them all), which is what the product sees once
its index has refreshed; the stories a merge relabels are read back from the updates the
assigner writes.

The events are split in two halves by a hash of their id: *choose* thresholds on one, and read
the other (*hold*) once. Each half is placed on its own, so one half's articles never decide the
other's links; *all* places every event together, as ``make eval-search`` does. Writes
``bench/story_orders.json``: per half, pairwise precision and recall (minimum, median, maximum
over the orders) and the merges of different events that recur.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.index.stories import StoryAssigner, StoryPolicy, StoryVector  # noqa: E402
from shared.ids import article_id  # noqa: E402
from shared.models import EnrichedArticle, RawArticle  # noqa: E402
from shared.story_vectors import StoryEncoder, headline  # noqa: E402

NTREX = ROOT.parent / "shared" / "datasets" / "ntrex"
FILES = {"en": "eng.jsonl", "ur": "urd.jsonl", "hi": "hin.jsonl"}
GROUPS = ROOT / "bench" / "ntrex_story_groups.json"
HALVES = ("choose", "hold", "all")
INGESTED = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def load(folder: Path) -> list[dict[str, str]]:
    """Every article of the three languages: doc_id, language, title, body."""
    rows = []
    for language, name in FILES.items():
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.append(
                    {
                        "doc_id": str(row["doc_id"]),
                        "language": language,
                        "title": row["title"],
                        "body": row["body"],
                    }
                )
    return rows


def corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data`` (the parallel stories) and ``--groups`` (documents of one event)."""
    parser.add_argument("--data", type=Path, default=NTREX, help="eng/urd/hin JSON Lines")
    parser.add_argument(
        "--groups",
        type=Path,
        default=GROUPS,
        help="doc_id groups that report one event (a missing file: none)",
    )


def read_corpus(args: argparse.Namespace) -> tuple[list[dict[str, str]], list[list[str]]]:
    """The rows and event groups ``corpus_arguments`` named; exits 2 when the data is absent."""
    if not all((args.data / name).exists() for name in FILES.values()):
        print(f"no {', '.join(FILES.values())} under {args.data}", file=sys.stderr)
        raise SystemExit(2)
    groups = json.loads(args.groups.read_text())["groups"] if args.groups.exists() else []
    return load(args.data), groups


def pair_scores(story: dict[str, str], truth: dict[str, str]) -> dict[str, Any]:
    """Pairwise precision and recall of "same story" against "same truth"."""
    tp = fp = fn = 0
    for a, b in combinations(story, 2):
        same_story, same_truth = story[a] == story[b], truth[a] == truth[b]
        tp += same_story and same_truth
        fp += same_story and not same_truth
        fn += same_truth and not same_story
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "linked_pairs": tp + fp,
    }


def wrong_merges(story: dict[str, str], truth: dict[str, str]) -> list[list[str]]:
    """The stories whose articles report more than one event: each story's article ids."""
    members: dict[str, list[str]] = defaultdict(list)
    for article, value in story.items():
        members[value].append(article)
    return [ids for ids in members.values() if len({truth[i] for i in ids}) > 1]


def events(rows: list[dict[str, str]], groups: list[list[str]]) -> list[str]:
    """Each row's event: its doc_id, or the first doc_id of the group it belongs to."""
    event = {doc: group[0] for group in groups for doc in group}
    return [event.get(row["doc_id"], row["doc_id"]) for row in rows]


def half(event: str) -> str:
    """The half an event falls in (a stable hash, not Python's salted one)."""
    return "choose" if hashlib.sha256(event.encode()).digest()[0] % 2 == 0 else "hold"


class EmptyIndex:
    """An index with nothing in it yet: the assigner's memory is all it compares with. It
    keeps the stories the assigner relabels when stories merge (article id -> story id)."""

    def __init__(self) -> None:
        self.relabelled: dict[str, str] = {}

    async def mget(self, *, index: str, ids: list[str], source: list[str]) -> dict[str, Any]:
        return {"docs": [{"_id": i, "found": False} for i in ids]}

    async def msearch(
        self, *, index: str, searches: list[dict[str, Any]], max_concurrent_searches: int
    ) -> dict[str, Any]:
        return {"responses": [{"hits": {"hits": []}} for _ in searches[1::2]]}

    async def search(self, **_: Any) -> dict[str, Any]:
        return {"hits": {"hits": []}}

    async def bulk(self, *, operations: list[dict[str, Any]], refresh: bool) -> dict[str, Any]:
        for action, change in zip(operations[::2], operations[1::2], strict=True):
            self.relabelled[action["update"]["_id"]] = change["doc"]["story_id"]
        return {"items": [{"update": {"status": 200}} for _ in operations[::2]]}


def enriched(rows: list[dict[str, str]]) -> list[EnrichedArticle]:
    """The rows through the real enricher (entity ids confirm links)."""
    from services.enrich.pipeline import Enricher

    enricher = Enricher()
    articles = []
    for row in rows:
        url = f"https://eval.khabar.invalid/{row['language']}/{row['doc_id']}"
        raw = RawArticle(
            id=article_id(url=url, title=None, body=""),
            url=url,
            title=row["title"],
            body=row["body"],
            ingested_at=INGESTED,
        )
        articles.append(enricher.enrich(raw))
    return articles


async def place(
    articles: Sequence[EnrichedArticle],
    vectors: dict[str, StoryVector | None],
    policy: StoryPolicy,
    batch: int,
) -> dict[str, str]:
    """Article id -> story id, the articles arriving in the given order."""

    async def encode(items: Sequence[EnrichedArticle]) -> list[StoryVector | None]:
        return [vectors[a.id] for a in items]

    index = EmptyIndex()
    assigner = StoryAssigner(lambda: index, "eval", encode, policy)  # type: ignore[arg-type,return-value]
    story = {}
    for start in range(0, len(articles), batch):
        chunk = articles[start : start + batch]
        for article, placement in zip(chunk, await assigner.assign(chunk), strict=True):
            story[article.id] = placement.story_id
    return {article: index.relabelled.get(article, value) for article, value in story.items()}


def orders(
    articles: list[EnrichedArticle],
    truth: dict[str, str],
    vectors: dict[str, StoryVector | None],
    policy: StoryPolicy,
    count: int,
    batch: int,
) -> dict[str, Any]:
    """Precision and recall over ``count`` shuffles; the wrong merges and how often each came."""
    precision, recall = [], []
    merges: Counter[tuple[str, ...]] = Counter()
    titles = {a.id: f"{a.language}: {a.title}" for a in articles}
    for seed in range(count):
        order = list(articles)
        random.Random(seed).shuffle(order)
        story = asyncio.run(place(order, vectors, policy, batch))
        scores = pair_scores(story, truth)
        precision.append(scores["precision"] if scores["precision"] is not None else 1.0)
        recall.append(scores["recall"] or 0.0)
        for ids in wrong_merges(story, truth):
            by_event: dict[str, list[str]] = defaultdict(list)
            for i in ids:
                by_event[truth[i]].append(i)
            merged = sorted(min(titles[i] for i in group) for group in by_event.values())
            merges[tuple(merged)] += 1
    return {
        "precision": _spread(precision),
        "recall": _spread(recall),
        "orders_with_precision_below_0.95": sum(p < 0.95 for p in precision),
        "wrong_merges": [{"orders": n, "events": list(key)} for key, n in merges.most_common()],
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def parse_policy(items: list[str]) -> StoryPolicy:
    """``--policy name=value`` over the shipped :class:`StoryPolicy`."""
    names = {field.name: field.type for field in fields(StoryPolicy)}
    changes: dict[str, Any] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in names:
            raise SystemExit(f"--policy {name}: not one of {', '.join(names)}")
        changes[name] = int(value) if names[name] in ("int", int) else float(value)
    return replace(StoryPolicy(), **changes)


def main(argv: list[str] | None = None) -> int:
    """Place each half over the orders and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    corpus_arguments(parser)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--batch", type=int, default=20, help="articles per index batch")
    parser.add_argument("--policy", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--half", choices=(*HALVES, "every"), default="every")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "story_orders.json")
    args = parser.parse_args(argv)
    rows, groups = read_corpus(args)
    policy = parse_policy(args.policy)
    articles = enriched(rows)
    encoder = StoryEncoder.load(threads=1)
    encoded = encoder.encode(
        [headline(a.title, a.body) for a in articles], [a.language for a in articles]
    )
    vectors = {
        a.id: None if v is None else [float(x) for x in v]
        for a, v in zip(articles, encoded, strict=True)
    }
    truth = dict(zip([a.id for a in articles], events(rows, groups), strict=True))
    halves = HALVES if args.half == "every" else (args.half,)
    report: dict[str, Any] = {
        "data": str(args.data),
        "policy": {field.name: getattr(policy, field.name) for field in fields(policy)},
        "orders": args.orders,
        "batch": args.batch,
    }
    for name in halves:
        mine = [a for a in articles if name in ("all", half(truth[a.id]))]
        report[name] = {
            "articles": len(mine),
            "events": len({truth[a.id] for a in mine}),
            **orders(mine, truth, vectors, policy, args.orders, args.batch),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
