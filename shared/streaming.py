"""The faust runtime every streaming service shares.

One factory builds a faust ``App`` with the settings Khabar runs with on Apache Kafka (an
idempotent producer waiting for all in-sync replicas, short session timeouts so a restarted
worker rejoins quickly, in-memory stores because the chain is stateless), registers the HTTP
endpoints every service must have — ``/healthz``, ``/readyz``, ``/metrics`` — on faust's own
web server, and wires OpenTelemetry (``shared.telemetry.instrument_streams``) so each consumed
message's ``traceparent`` becomes the parent of the agent's work.

A service module then only declares its topics and agents and calls :func:`run_worker`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.web import Request, Response, View
from opentelemetry import trace

from shared.events import dead_letter_headers
from shared.http import ReadinessCheck, run_checks
from shared.kafka import client_options, decode_headers, faust_broker_url
from shared.models import DeadLetter, Stage
from shared.settings import KhabarSettings
from shared.telemetry import (
    CURRENT_EVENT,
    StreamTracingSensor,
    configure_logging,
    configure_telemetry,
    instrument_streams,
    render_metrics,
    shutdown_tracing,
)

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


class ServiceState:
    """Liveness and readiness of one service process."""

    def __init__(self) -> None:
        self.started = False
        self.stopping = False
        self.checks: list[ReadinessCheck] = []
        self.on_started: list[Hook] = []
        self.on_stopping: list[Hook] = []

    async def readiness(self) -> tuple[bool, dict[str, bool]]:
        """Whether the service can do its work now, and each dependency's state."""
        return await run_checks(self.checks, {"worker": self.started and not self.stopping})


def app_id(service: str, settings: KhabarSettings) -> str:
    """The faust app id, i.e. the consumer group: one per service (and per topic prefix)."""
    suffix = f"-{settings.topic_prefix.strip('.')}" if settings.topic_prefix else ""
    return f"khabar-{service}{suffix}"


class _IdempotentProducer(aiokafka_driver.Producer):
    """faust's producer with idempotence on, as every Khabar producer has.

    faust turns idempotence on only inside transactions (``processing_guarantee=exactly_once``)
    and has no setting for it otherwise; ``_settings_extra`` is the driver's hook for exactly
    these options. With it a producer retry after a lost acknowledgement cannot write an
    enriched article twice.
    """

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class _Transport(aiokafka_driver.Transport):
    Producer = _IdempotentProducer


class KhabarApp(faust.App):
    """A faust app on the aiokafka transport whose producer is idempotent."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self, loop=self.loop)


def make_app(
    service: str, settings: KhabarSettings, web_port: int
) -> tuple[faust.App, ServiceState]:
    """A faust app for one Khabar service, with health, readiness and metrics endpoints."""
    configure_telemetry(service, settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = KhabarApp(app_id(service, settings), **_faust_options(settings, web_port))
    instrument_streams(app, service)
    state = ServiceState()
    _add_pages(app, service, state)
    _add_lifecycle(app, service, state)
    return app, state


def _faust_credentials(settings: KhabarSettings) -> faust.auth.Credentials | None:
    """The Kafka login as faust takes it: the same TLS context and SASL user as every other
    client (``shared.kafka.client_options``). faust's aiokafka transport hands these to its
    consumers and producers (``credentials_to_aiokafka_auth``), SCRAM-SHA-512 included."""
    ssl_context = client_options(settings).get("ssl_context")
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_password.get_secret_value() if settings.kafka_password else None
        return faust.SASLCredentials(
            username=settings.kafka_username,
            password=password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=ssl_context,
        )
    if ssl_context is not None:
        return faust.SSLCredentials(ssl_context)
    return None


def _faust_options(settings: KhabarSettings, web_port: int) -> dict[str, Any]:
    """faust's settings as Khabar runs it on Apache Kafka."""
    return {
        "broker": faust_broker_url(settings),
        "broker_credentials": _faust_credentials(settings),
        "store": "memory://",
        "datadir": str(settings.data_dir / "{conf.name}"),
        "autodiscover": False,
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication_factor,
        "topic_allow_declare": True,
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": 10.0,
        "broker_heartbeat_interval": 1.0,
        "broker_request_timeout": 40.0,
        "broker_commit_interval": 1.0,
        "broker_max_poll_interval": 300.0,
        "producer_acks": -1,
        # Room for the largest enriched article (the 1 MB default refuses some on send).
        "producer_max_request_size": 4 * 1024 * 1024,
        # Backpressure: a full buffer pauses fetching, so a stalled agent holds bounded memory.
        "stream_buffer_maxsize": settings.stream_buffer_maxsize,
        "stream_wait_empty": False,
        "web_enabled": True,
        "web_bind": settings.bind_host,
        "web_port": web_port,
        "web_host": settings.bind_host,
    }


def _add_pages(app: faust.App, service: str, state: ServiceState) -> None:
    """``/healthz``, ``/readyz`` and ``/metrics`` on faust's own web server."""

    @app.page("/healthz")
    class Health(View):
        """Liveness: the process and its event loop answer."""

        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok", "service": service})

    @app.page("/readyz")
    class Ready(View):
        """Readiness: 200 only while the worker runs and its dependencies answer."""

        async def get(self, request: Request) -> Response:
            ready, details = await state.readiness()
            return self.json(
                {"status": "ready" if ready else "not ready", "checks": details},
                status=200 if ready else 503,
            )

    @app.page("/metrics")
    class Metrics(View):
        """Prometheus metrics of this process."""

        async def get(self, request: Request) -> Response:
            body, content_type = render_metrics()
            return self.bytes(body, content_type=content_type.split(";")[0])


def _add_lifecycle(app: faust.App, service: str, state: ServiceState) -> None:
    """Run the service's start hooks once the worker is up, its stop hooks before shutdown."""

    async def _started() -> None:
        for hook in state.on_started:
            await hook()
        state.started = True
        log.info("service ready", extra={"service": service})

    async def _stopping(*_: Any, **__: Any) -> None:
        state.stopping = True
        for hook in state.on_stopping:
            await hook()
        shutdown_tracing()

    # faust's Worker owns ``on_startup_finished``; an app task runs at the same point.
    app.task(_started)
    app.on_before_shutdown.connect(_stopping)


def bytes_topic(app: faust.App, name: str) -> Any:
    """A topic whose keys and values stay bytes: services decode them with the pydantic
    contract themselves, so an undecodable record reaches the agent and is dead-lettered."""
    return app.topic(name, value_serializer="raw", key_serializer="raw")


@contextmanager
def working_on(stream: Any, event: Any) -> Iterator[None]:
    """Work done inside is for this one event of a batching stream: it runs in the article's
    consumer span (so what it sends joins the article's trace) and its log lines name the
    message, as they do for events faust hands over one at a time."""
    span = next(
        (
            sensor.span_for(stream, event)
            for sensor in stream.app.sensors
            if isinstance(sensor, StreamTracingSensor)
        ),
        None,
    )
    token = CURRENT_EVENT.set(event)
    try:
        if span is None:
            yield
        else:
            with trace.use_span(span, end_on_exit=False):
                yield
    finally:
        CURRENT_EVENT.reset(token)


def hand_back(events: Iterable[Any]) -> None:
    """Make sure these events' offsets are never committed by this process.

    faust acks the events of a ``take_events`` batch (and the current event of ``events()``) in
    the generator's ``finally`` — also when the agent body raised or was cancelled, e.g. on
    SIGTERM while Elasticsearch is down — and then commits on shutdown or on the task error,
    which would skip unwritten articles. Marking the message acked *without* telling the
    consumer keeps its offset out of the committable set, so the committed offset stops before
    it and the next owner of the partition receives it again (at-least-once).
    """
    for event in events:
        event.message.acked = True


class _Worker(faust.Worker):
    """faust's worker with our JSON logging instead of mode's console format."""

    service_name = "khabar"
    log_level = "INFO"

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        configure_logging(self.service_name, self.log_level)


def run_worker(app: faust.App, state: ServiceState, service: str, settings: KhabarSettings) -> None:
    """Run the service until SIGTERM/SIGINT; faust drains, commits and stops cleanly."""

    worker = _Worker(app, loglevel=settings.log_level, redirect_stdouts=False)
    worker.service_name = service
    worker.log_level = settings.log_level
    worker.execute_from_commandline()


async def send(
    topic: Any, *, key: bytes | None, value: bytes, headers: dict[str, bytes]
) -> Awaitable[Any]:
    """Hand a message to the producer; the returned awaitable resolves on the broker's ack.

    Await that before the input event is acked: faust only logs a failed delivery and its
    commit flush does not raise, so without waiting an input offset could be committed for an
    output that never arrived. The producer retries transient broker errors itself (with
    backoff, up to ``producer_request_timeout``).
    """
    return cast(Awaitable[Any], await topic.send(key=key, value=value, headers=headers))


async def deliver(
    topic: Any, *, key: bytes | None, value: bytes, headers: dict[str, bytes]
) -> None:
    """Send and wait for the broker's acknowledgement (see :func:`send`)."""
    await (await send(topic, key=key, value=value, headers=headers))


async def dead_letter(
    dlq_topic: Any,
    message: Any,
    *,
    stage: Stage,
    error_type: str,
    error: str,
    article_id: str | None = None,
) -> DeadLetter:
    """Publish a consumed message's original bytes with its error to the dead-letter topic.

    Waits for the broker: the input is acked after this returns, and a dead letter that never
    arrived would be an article lost without a trace.
    """
    letter = DeadLetter.from_bytes(
        message.value,
        stage=stage,
        error=error[:2000] or error_type,
        error_type=error_type,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key.decode("utf-8", "replace") if message.key else None,
        article_id=article_id,
        headers=decode_headers(message.headers),
    )
    log.warning(
        "dead-lettered message",
        extra={
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "error": letter.error[:300],
        },
    )
    await deliver(
        dlq_topic,
        key=message.key,
        value=letter.model_dump_json().encode(),
        headers={**dead_letter_headers(letter), "khabar-stage": stage.encode()},
    )
    return letter
