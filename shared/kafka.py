"""Small Kafka helpers shared by the services, the API and the CLI.

Producers are idempotent and wait for all in-sync replicas (``acks=all``); topics are created
with the configured partitions and replication factor. Errors from aiokafka are wrapped in
:class:`shared.errors.BrokerError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from shared.events import article_headers
from shared.models import EnrichedArticle, KhabarModel, RawArticle
from shared.settings import KhabarSettings

log = logging.getLogger(__name__)

JSON = b"application/json"


def client_options(settings: KhabarSettings) -> dict[str, Any]:
    """Connection options common to producers, consumers and admin clients.

    Over TLS the broker's certificate is checked against ``KHABAR_KAFKA_SSL_CAFILE`` (the
    system's trust store when unset) and its host name against the bootstrap address.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_username
        options["sasl_plain_password"] = (
            settings.kafka_password.get_secret_value() if settings.kafka_password else None
        )
    if settings.kafka_security_protocol.endswith("SSL"):
        from aiokafka.helpers import create_ssl_context

        cafile = settings.kafka_ssl_cafile
        options["ssl_context"] = create_ssl_context(cafile=str(cafile) if cafile else None)
    return options


def faust_broker_url(settings: KhabarSettings) -> str:
    """The bootstrap servers as a faust broker URL list."""
    return ";".join(f"kafka://{host.strip()}" for host in settings.kafka_bootstrap.split(","))


def make_producer(settings: KhabarSettings, **overrides: Any) -> AIOKafkaProducer:
    """A producer for JSON events: idempotent, acknowledged by all in-sync replicas."""
    options: dict[str, Any] = {
        **client_options(settings),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_request_size": 4 * 1024 * 1024,
        "request_timeout_ms": 30_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def event_headers(
    extra: Mapping[str, str] | None = None, *, article: RawArticle | EnrichedArticle | None = None
) -> list[tuple[str, bytes]]:
    """Headers for a JSON event, as the list aiokafka's producer (and the Kafka
    instrumentation, which appends ``traceparent``) takes.

    With ``article``: its CloudEvents attributes (:func:`shared.events.article_headers`), the
    envelope every record on Khabar's topics carries; without, only the content type.
    """
    envelope = article_headers(article) if article is not None else {"content-type": JSON}
    headers = list(envelope.items())
    headers.extend((key, value.encode()) for key, value in (extra or {}).items())
    return headers


def decode_headers(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None,
) -> dict[str, str]:
    """Headers as text, for logs and dead letters."""
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {key: value.decode("utf-8", "replace") for key, value in items if value is not None}


def encode_event(event: KhabarModel) -> bytes:
    """An event as UTF-8 JSON bytes."""
    return event.model_dump_json().encode("utf-8")


async def ensure_topics(settings: KhabarSettings, topics: Sequence[str] | None = None) -> None:
    """Create missing topics (idempotent; retried while the broker starts)."""
    names = list(topics or settings.topics.all())
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((KafkaError, OSError)),
        wait=wait_exponential(multiplier=0.2, max=2),
        stop=stop_after_delay(60),
        reraise=True,
    ):
        with attempt:
            admin = AIOKafkaAdminClient(**client_options(settings))
            await admin.start()
            try:
                existing = set(await admin.list_topics())
                missing = [name for name in names if name not in existing]
                if missing:
                    try:
                        await admin.create_topics(
                            [
                                NewTopic(
                                    name,
                                    settings.topic_partitions,
                                    settings.topic_replication_factor,
                                )
                                for name in missing
                            ]
                        )
                    except TopicAlreadyExistsError:
                        pass
                    log.info("created topics", extra={"topics": missing})
            finally:
                await admin.close()


async def topic_partitions(admin: AIOKafkaAdminClient, topic: str) -> list[TopicPartition]:
    """A topic's partitions as the cluster reports them; none when the topic does not exist.

    Asked of the cluster, not read from a consumer's metadata: a consumer that subscribes to
    nothing holds no metadata for any topic, and its ``topics()`` does not fill it in.
    """
    for described in await admin.describe_topics([topic]):
        if described["topic"] == topic and described["error_code"] == 0:
            numbers = sorted(p["partition"] for p in described["partitions"])
            return [TopicPartition(topic, number) for number in numbers]
    return []


async def broker_reachable(producer: AIOKafkaProducer, timeout: float = 3.0) -> bool:
    """True when the producer's broker answers a metadata request in time."""
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout)
    except Exception:  # noqa: BLE001 - readiness must answer, whatever the failure
        return False
    return True
