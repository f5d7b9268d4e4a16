"""The event contract on the real chain: what another team's consumer sees on ``articles.enriched``.

An article posted through the gateway is read back from the broker twice: by Khabar's own
topic reader (its headers must carry the CloudEvents attributes, ``ce_id`` = article id, and a
valid ``traceparent`` of the article's trace), and by ``examples/consumer.py`` — plain aiokafka
and the CloudEvents SDK — run as a separate process against the stack's broker, which must
print the article's line. The gateway serves the contract it was built with.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.dlq import read_topic
from services.localstack import LocalStack
from shared.events import ASYNCAPI_PATH, ENRICHED_ARTICLE, read_attributes
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consumer.py"


def _indexed(api: httpx.Client, article_id: str) -> dict[str, Any] | None:
    response = api.get(f"/articles/{article_id}")
    return response.json() if response.status_code == 200 else None


def test_an_outside_consumer_reads_enriched_articles_by_the_contract(
    api: httpx.Client, stack: LocalStack
) -> None:
    marker = uuid.uuid4().hex[:12]
    title = f"Pakistan and Japan sign a port agreement ({marker})"
    payload = {
        "title": title,
        "body": "KARACHI, 2 December 2026: Pakistan and Japan signed an agreement to modernise "
        "the container terminals of Karachi, officials of both governments said.",
        "url": f"https://test.khabar.example/contract/{marker}",
        "source": "it-test",
    }
    response = api.post("/articles", json=payload)
    assert response.status_code == 202, response.text
    article_id: str = response.json()["id"]
    document = wait_for(lambda: _indexed(api, article_id))  # enriched, so the record exists

    settings = stack.kafka_client_settings()
    records = asyncio.run(read_topic(settings, settings.topics.enriched))
    mine = [record for record in records if record.key == article_id.encode()]
    assert mine, "the enriched record is on the topic"
    attributes = read_attributes(mine[-1].headers)
    assert attributes is not None, mine[-1].headers
    assert attributes.id == article_id
    assert (attributes.type, attributes.source) == (ENRICHED_ARTICLE.type, "/khabar/enrich")
    assert attributes.specversion == "1.0" and attributes.datacontenttype == "application/json"
    assert attributes.time is not None and attributes.time.tzinfo is not None
    assert attributes.traceparent is not None, "the Kafka instrumentation wrote traceparent"
    assert attributes.traceparent.split("-")[1] == document["trace_id"]  # the article's trace

    example = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--bootstrap",
            stack.kafka_bootstrap,
            "--topic",
            settings.topics.enriched,
            "--from-beginning",
            "--idle-exit",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert example.returncode == 0, example.stderr
    lines = [line.split("\t") for line in example.stdout.splitlines()]
    printed = [line for line in lines if line[0] == article_id]
    assert printed, example.stdout[-2000:]
    _, language, printed_title, names = printed[-1]
    assert (language, printed_title) == ("en", title)
    assert {"Pakistan", "Japan"} <= set(names.split(", ")), names


def test_the_gateway_serves_the_committed_contract(api: httpx.Client) -> None:
    response = api.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(ASYNCAPI_PATH.read_text(encoding="utf-8"))
