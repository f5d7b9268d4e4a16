"""Process-wide settings a long-running service applies once it has loaded what it keeps.

The enrich worker and the API hold large, long-lived heaps (the knowledge base, the taggers'
tables, routes and schemas) and allocate many short-lived containers per article or request.
CPython's cyclic collector then rescans the long-lived part again and again: measured on the
enrichment, ~6% of its time went to collections. :func:`settle_heap` moves everything allocated
so far into the permanent generation (``gc.freeze``) and lets the youngest generation grow
larger before a collection, which brought that share to ~2%. Reference counting still frees
almost everything at once; only cycles wait a little longer.

A service also refuses to start the same way everywhere (:func:`refuse_on_startup_errors`):
settings production does not accept, or a Kafka login the broker rejects
(:func:`check_kafka_login`), end the process with one log line that names the cause and exit
code 2 — before any server, consumer group or producer exists, so nothing is half-started and
an orchestrator sees a clear crash instead of a hang or a traceback.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from shared.errors import ConfigurationError
from shared.settings import KhabarSettings

__all__ = ["EXIT_CONFIGURATION", "check_kafka_login", "refuse_on_startup_errors", "settle_heap"]

log = logging.getLogger("khabar.startup")

#: The exit code of a service that refused its configuration (sysexits' EX_USAGE is 64; 2 is
#: what command-line tools, and typer, use for "bad usage").
EXIT_CONFIGURATION = 2

#: Allocations (minus deallocations) of container objects before a young collection.
YOUNG_THRESHOLD = 20_000


def settle_heap(young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze what survives, and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, young_threshold), middle, old)


@contextmanager
def refuse_on_startup_errors(service: str) -> Iterator[None]:
    """A :class:`ConfigurationError` raised inside becomes one JSON log line and exit code 2."""
    try:
        yield
    except ConfigurationError as exc:
        from shared.telemetry import configure_logging

        configure_logging(service)
        log.critical("refusing to start: %s", exc, extra={"service": service})
        raise SystemExit(EXIT_CONFIGURATION) from None


def check_kafka_login(settings: KhabarSettings, timeout: float = 20.0) -> None:
    """Log in to a bootstrap broker once, before anything else starts.

    aiokafka logs a rejected login and then reports only "unable to bootstrap", which faust
    retries for ever; a first connection made here sees the broker's answer itself. A refused
    password or an untrusted certificate is a :class:`ConfigurationError`; a broker that does
    not answer is not (the clients wait for it, as they always have).
    """
    if settings.kafka_security_protocol == "PLAINTEXT":
        return
    with ThreadPoolExecutor(1) as pool:  # own event loop: the caller's may not exist yet
        pool.submit(asyncio.run, _login(settings, timeout)).result()


async def _login(settings: KhabarSettings, timeout: float) -> None:
    from aiokafka.conn import create_conn
    from aiokafka.errors import AuthenticationFailedError, KafkaError, SaslAuthenticationFailed

    from shared.kafka import client_options

    options = client_options(settings)
    options.pop("bootstrap_servers")
    who = f"KHABAR_KAFKA_USERNAME={settings.kafka_username}"
    for address in settings.kafka_bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            async with asyncio.timeout(timeout):
                conn = await create_conn(host, int(port), **options)
        except (AuthenticationFailedError, SaslAuthenticationFailed) as exc:
            raise ConfigurationError(
                f"Kafka at {address} refused the {settings.kafka_sasl_mechanism} login of {who}"
                f" (authentication failed: {exc}); check KHABAR_KAFKA_PASSWORD"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise ConfigurationError(
                f"Kafka at {address} presented a certificate that is not trusted "
                f"({exc.verify_message}); set KHABAR_KAFKA_SSL_CAFILE to its CA"
            ) from exc
        except (OSError, TimeoutError, KafkaError) as exc:
            log.warning("Kafka login check could not reach %s: %r", address, exc)
            continue
        conn.close()
        return
