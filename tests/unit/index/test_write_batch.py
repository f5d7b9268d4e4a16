"""The index agent's dead-letter paths, with a fake broker and a fake Elasticsearch.

``write_batch`` is what the agent runs per batch: when it returns, faust acks the batch's events
(their offsets advance). A message that is not an enriched article, and an item the search server
rejects for good in a bulk response, each become a dead letter with the original bytes, the error
and where the message came from; the rest of the batch is still indexed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from faust.types.tuples import ConsumerMessage

from services.index import app as index_app
from services.index.app import IndexWorker
from shared import streaming
from shared.kafka import encode_event
from shared.models import DeadLetter, EnrichedArticle
from shared.settings import IndexSettings


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> IndexWorker:
    """An index worker built with scratch space and no span export."""
    return IndexWorker(
        IndexSettings(data_dir=tmp_path_factory.mktemp("index-data"), trace_store="none")
    )


@dataclass
class FakeSearch:
    """Answers bulk requests; items whose ``_id`` is in ``reject`` get that status and error."""

    reject: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    indexed: list[str] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    searched: int = 0

    async def bulk(self, *, operations: list[dict[str, Any]], refresh: bool) -> dict[str, Any]:
        items = []
        self.documents.extend(operations[1::2])
        for action in operations[::2]:
            doc_id = action["index"]["_id"]
            if doc_id in self.reject:
                status, error = self.reject[doc_id]
                items.append({"index": {"_id": doc_id, "status": status, "error": error}})
            else:
                self.indexed.append(doc_id)
                items.append({"index": {"_id": doc_id, "status": 201}})
        return {"errors": bool(self.reject), "items": items}

    async def mget(self, *, index: str, ids: list[str], source: list[str]) -> dict[str, Any]:
        return {"docs": [{"_id": doc_id, "found": False} for doc_id in ids]}

    async def msearch(self, *, searches: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.searched += len(searches) // 2
        return {"responses": [{"hits": {"hits": []}} for _ in searches[1::2]]}  # no neighbours


@dataclass
class FakeBroker:
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    async def deliver(
        self, topic: Any, *, key: bytes | None, value: bytes, headers: dict[str, bytes]
    ) -> None:
        self.sent.append((topic.get_topic_name(), value))

    def letters(self) -> list[DeadLetter]:
        return [DeadLetter.model_validate_json(value) for _, value in self.sent]


@dataclass
class FakeEvent:
    message: ConsumerMessage


def _event(value: bytes, offset: int) -> FakeEvent:
    message = ConsumerMessage("articles.enriched", 1, offset, 0.0, 0, [], b"k", value, None)
    return FakeEvent(message)


def _article(n: int) -> EnrichedArticle:
    return EnrichedArticle(id=f"{n:032x}", body=f"article {n}", language="en")


@pytest.fixture
def search(agent: IndexWorker, monkeypatch: pytest.MonkeyPatch) -> FakeSearch:
    fake = FakeSearch()
    monkeypatch.setattr(agent, "_es", fake)
    return fake


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    fake = FakeBroker()
    monkeypatch.setattr(streaming, "deliver", fake.deliver)
    return fake


async def test_an_item_the_search_server_rejects_is_dead_lettered_alone(
    agent: IndexWorker, search: FakeSearch, broker: FakeBroker
) -> None:
    articles = [_article(n) for n in range(3)]
    values = [encode_event(article) for article in articles]
    error = {"type": "mapper_parsing_exception", "reason": "failed to parse field [published_at]"}
    search.reject[articles[1].id] = (400, error)

    await agent.write_batch([_event(value, offset=10 + n) for n, value in enumerate(values)])

    assert search.indexed == [articles[0].id, articles[2].id]
    [letter] = broker.letters()
    assert [topic for topic, _ in broker.sent] == [agent.settings.topics.dlq]
    assert letter.original() == values[1]
    assert (letter.stage, letter.topic, letter.partition, letter.offset) == (
        "index",
        "articles.enriched",
        1,
        11,
    )
    assert letter.error_type == error["type"]
    assert letter.error == error["reason"]
    assert letter.article_id == articles[1].id


async def test_an_item_rejected_without_an_error_body_still_names_a_type(
    agent: IndexWorker, search: FakeSearch, broker: FakeBroker
) -> None:
    article = _article(5)
    search.reject[article.id] = (409, {})
    await agent.write_batch([_event(encode_event(article), offset=3)])
    [letter] = broker.letters()
    assert letter.error_type == "bulk_item_error"
    assert letter.error and letter.offset == 3


@pytest.mark.parametrize(
    "junk", [b"", b"\xff\xfe not utf-8", b"{}", b'{"id": 3}', b"[1, 2]"], ids=repr
)
async def test_a_message_that_is_not_an_enriched_article_is_dead_lettered(
    agent: IndexWorker, search: FakeSearch, broker: FakeBroker, junk: bytes
) -> None:
    good = _article(7)
    await agent.write_batch([_event(junk, offset=20), _event(encode_event(good), offset=21)])
    [letter] = broker.letters()
    assert letter.original() == junk
    assert (letter.stage, letter.topic, letter.partition, letter.offset) == (
        "index",
        "articles.enriched",
        1,
        20,
    )
    assert letter.error and letter.error_type in {"ValidationError", "ValueError"}
    assert search.indexed == [good.id]  # the rest of the batch is written


async def test_with_stories_off_each_article_is_its_own_story_and_nothing_is_encoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker: FakeBroker
) -> None:
    def no_encoder(threads: int = 1) -> object:
        raise AssertionError("stories are off: the headline encoder must not load")

    monkeypatch.setattr(index_app, "shared_story_encoder", no_encoder)
    worker = IndexWorker(IndexSettings(data_dir=tmp_path, trace_store="none", index_stories=False))
    fake = FakeSearch()
    monkeypatch.setattr(worker, "_es", fake)
    articles = [_article(n) for n in range(3)]

    await worker.write_batch([_event(encode_event(a), offset=n) for n, a in enumerate(articles)])

    assert fake.indexed == [a.id for a in articles]
    assert [d["story_id"] for d in fake.documents] == [a.id for a in articles]
    assert not any("story_vector" in d for d in fake.documents)
    assert fake.searched == 0 and broker.sent == []
