"""End to end through the real broker and search server: API → ingest → enrich → index → API."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.localstack import LocalStack
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _article(api: httpx.Client, article_id: str) -> dict[str, Any] | None:
    response = api.get(f"/articles/{article_id}")
    return response.json() if response.status_code == 200 else None


def _post(api: httpx.Client, payload: dict[str, Any]) -> str:
    response = api.post("/articles", json=payload)
    assert response.status_code == 202, response.text
    article_id: str = response.json()["id"]
    return article_id


def test_every_service_is_ready(stack: LocalStack) -> None:
    for name in ("api", "ingest", "enrich", "index"):
        port = getattr(stack.ports, name)
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert response.status_code == 200, (name, response.text)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert metrics.status_code == 200 and "# TYPE" in metrics.text


@pytest.mark.parametrize(
    ("language", "script", "payload", "entity_id"),
    [
        (
            "ur",
            "Arab",
            {
                "title": "پاکستان اور ترکی کے درمیان تجارتی معاہدہ",
                "body": "انقرہ، 4 مارچ 2025: پاکستان اور ترکی نے تجارت بڑھانے کے ایک نئے معاہدے پر"
                " دستخط کیے۔ دونوں ممالک کے وزرا نے کہا کہ اس سے برآمدات میں اضافہ ہو گا۔",
            },
            "geo:PK",
        ),
        (
            "hi",
            "Deva",
            {
                "title": "भारत और नेपाल के बीच नई रेल सेवा शुरू",
                "body": "काठमांडू, 9 अप्रैल 2025: भारत और नेपाल के बीच एक नई रेल सेवा शुरू हुई। अधिकारियों"
                " ने कहा कि इससे दोनों देशों के लोगों को यात्रा में सुविधा होगी।",
            },
            "geo:IN",
        ),
        (
            "en",
            "Latn",
            {
                "title": "Japan and Pakistan agree on new fisheries partnership",
                "body": "TOKYO, 5 May 2025: Japan and Pakistan agreed on a fisheries partnership that"
                " officials said would modernise ports and cold storage over five years.",
            },
            "geo:JP",
        ),
    ],
)
def test_article_becomes_searchable_with_language_and_entities(
    api: httpx.Client, language: str, script: str, payload: dict[str, Any], entity_id: str
) -> None:
    marker = _unique()
    payload = {**payload, "url": f"https://test.khabar.example/{marker}", "source": "it-test"}
    article_id = _post(api, payload)

    doc = wait_for(lambda: _article(api, article_id))
    assert doc["language"] == language
    assert doc["script"] == script
    assert doc["published_at"] is not None
    assert doc["trace_id"]
    ids = {entity["id"] for entity in doc["entities"]}
    assert entity_id in ids, doc["entities"]
    for entity in doc["entities"]:
        for mention in entity["mentions"]:
            assert doc[mention["field"]][mention["start"] : mention["end"]] == mention["text"]

    def found() -> bool:
        result = api.get("/search", params={"q": payload["title"], "lang": language}).json()
        return any(hit["id"] == article_id for hit in result["hits"])

    wait_for(found, timeout=30)
    by_entity = api.get(
        "/search", params={"entity": entity_id, "lang": language, "size": 100}
    ).json()
    assert any(hit["id"] == article_id for hit in by_entity["hits"])


def test_same_article_twice_is_one_document(api: httpx.Client) -> None:
    marker = _unique()
    payload = {
        "title": f"Duplicate check {marker}",
        "body": f"The same article {marker} is submitted twice and must be indexed once.",
        "source": "it-test",
    }
    first = _post(api, payload)
    second = _post(api, payload)
    assert first == second
    wait_for(lambda: _article(api, first))

    def exactly_one() -> bool:
        result = api.get("/search", params={"q": marker, "size": 10}).json()
        return result["total"] == 1

    wait_for(exactly_one, timeout=30)


def _consume_dlq(stack: LocalStack, marker: bytes, timeout: float = 60.0) -> dict[str, Any] | None:
    async def run() -> dict[str, Any] | None:
        consumer = AIOKafkaConsumer(
            "articles.dlq",
            bootstrap_servers=stack.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                batches = await consumer.getmany(timeout_ms=1000)
                for messages in batches.values():
                    for message in messages:
                        letter: dict[str, Any] = json.loads(message.value)
                        if marker in base64.b64decode(letter["original_b64"]):
                            return letter
            return None
        finally:
            await consumer.stop()

    return asyncio.run(run())


def test_malformed_message_goes_to_dead_letters_and_pipeline_continues(
    stack: LocalStack, api: httpx.Client
) -> None:
    marker = _unique().encode()
    poison = b'{"schema_version": 1, "id": "not-an-id", "body": 42, "marker": "' + marker + b'"}'

    async def publish() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=True
        )
        await producer.start()
        try:
            await producer.send_and_wait("articles.raw", poison, key=b"poison")
            await producer.send_and_wait("articles.raw", b"\xff\xfe not json at all " + marker)
        finally:
            await producer.stop()

    asyncio.run(publish())
    letter = _consume_dlq(stack, marker)
    assert letter is not None, "poison message never reached articles.dlq"
    assert letter["stage"] == "enrich"
    assert letter["topic"] == "articles.raw"
    assert letter["offset"] is not None and letter["error"]

    # the pipeline keeps going after poison
    follow_up = _unique()
    article_id = _post(
        api,
        {
            "title": f"After poison {follow_up}",
            "body": f"Still flowing {follow_up}.",
            "source": "it-test",
        },
    )
    assert wait_for(lambda: _article(api, article_id))
    assert httpx.get(f"http://127.0.0.1:{stack.ports.enrich}/readyz", timeout=5).status_code == 200


def test_drop_folder_ingest_of_text_page(stack: LocalStack, api: httpx.Client) -> None:
    marker = _unique()
    page = (
        "Skip to content\nHome\nWorld\nSport\n\n"
        f"Floods close schools across Sindh province {marker}\n\n"
        "KARACHI, 14 August 2024: Heavy floods closed hundreds of schools across Sindh province on"
        " Wednesday, provincial officials said, as rescue teams moved families to higher ground.\n\n"
        "Share this article\nFacebook\nTwitter\n© 2024 Example News. All rights reserved.\n"
    )
    inbox = stack.directory / "inbox"
    (inbox / f"page-{marker}.txt").write_text(page, encoding="utf-8")

    def indexed() -> list[dict[str, Any]]:
        hits: list[dict[str, Any]] = api.get("/search", params={"q": marker}).json()["hits"]
        return hits

    hits = wait_for(indexed, timeout=60)
    doc = _article(api, hits[0]["id"])
    assert doc is not None
    assert marker in (doc["title"] or "")
    assert "Skip to content" not in doc["body"]
    assert (inbox / "done" / f"page-{marker}.txt").exists()


def test_invalid_payload_is_rejected_with_reason(api: httpx.Client) -> None:
    response = api.post("/articles", json={"title": "no body"})
    assert response.status_code == 422
    assert "body" in response.text
    # a cursor outside its documented base64url pattern is refused by validation, naming it
    response = api.get("/search", params={"cursor": "%%%not-a-cursor"})
    assert response.status_code == 422
    assert "cursor" in response.text
    assert api.get("/articles/not-an-id").status_code == 422


def test_cli_ingest_and_search_against_running_stack(stack: LocalStack, tmp_path: Any) -> None:
    marker = _unique()
    source = tmp_path / "articles.jsonl"
    source.write_text(
        json.dumps(
            {
                "title": f"CLI article {marker}",
                "body": f"Submitted by the CLI {marker} about Nepal.",
            }
        )
        + "\nnot json\n",
        encoding="utf-8",
    )
    env = {**os.environ, "KHABAR_API_PORT": str(stack.ports.api)}
    ingest = subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest", str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ingest.returncode == 0, ingest.stderr
    assert "accepted 1" in ingest.stderr and "skipped 1" in ingest.stderr

    def searched() -> bool:
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "search", marker, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.returncode == 0 and json.loads(result.stdout)["total"] == 1

    wait_for(searched, timeout=60, interval=1.0)
