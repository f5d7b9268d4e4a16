"""``GET /asyncapi.json``: the contract of Khabar's Kafka topics, for the teams that consume them.

The document is generated from the models by ``make contract`` (``tools/build_contract.py``)
and shipped as package data (``shared/data/asyncapi.json``), so the gateway serves exactly what
the tests validated with the AsyncAPI parser. A deployment with a topic prefix gets the channel
addresses it really uses. Open like ``/openapi.json``: it describes data, it holds none.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response

from services.api.deps import ResourcesDep
from shared.events import ASYNCAPI_PATH

router = APIRouter(tags=["contract"])


def with_topic_prefix(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The document with every channel's address (and its Kafka binding's topic) prefixed, as
    :class:`shared.topics.Topics` names a prefixed deployment's topics."""
    if not prefix:
        return document
    prefixed: dict[str, Any] = json.loads(json.dumps(document))
    for channel in prefixed["channels"].values():
        channel["address"] = f"{prefix}{channel['address']}"
        kafka = channel.get("bindings", {}).get("kafka")
        if kafka is not None:
            kafka["topic"] = channel["address"]
    return prefixed


@lru_cache(maxsize=4)
def asyncapi_bytes(prefix: str = "", path: Path = ASYNCAPI_PATH) -> bytes:
    """The served document's bytes, read and rendered once per process and prefix."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps(with_topic_prefix(document, prefix), ensure_ascii=False).encode()


@router.get(
    "/asyncapi.json",
    response_class=Response,
    responses={
        200: {
            "description": "The AsyncAPI 3.0 document of articles.raw, articles.enriched and "
            "articles.dlq.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def get_asyncapi(resources: ResourcesDep) -> Response:
    """The AsyncAPI document of the Kafka topics: keys, CloudEvents headers, payload schemas."""
    body = asyncapi_bytes(resources.settings.topic_prefix)
    return Response(body, media_type="application/json")
