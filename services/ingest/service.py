"""The ingest service: a drop folder and RSS/Atom feeds, published to ``articles.raw``.

Files put in ``KHABAR_INGEST_WATCH_DIR`` are read (text pages, JSON Lines, feeds), published,
and moved to ``done/`` (or ``failed/`` with an ``.error.json`` beside them when nothing in them
could be read). Feeds in ``KHABAR_INGEST_FEEDS`` are polled every ``KHABAR_INGEST_POLL_SECONDS``;
stable ids make re-reading a feed harmless. The CLI and the API publish through the same
:class:`Publisher`. Health, readiness and metrics are served on ``KHABAR_INGEST_PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from opentelemetry import trace
from prometheus_client import Counter

from services.ingest.sources import SourceItem, read_path, read_url
from shared.errors import BrokerError
from shared.http import operational_router, serve
from shared.kafka import ensure_topics
from shared.models import RawArticle
from shared.process import check_kafka_login, refuse_on_startup_errors
from shared.publisher import Publisher
from shared.settings import IngestSettings
from shared.telemetry import configure_telemetry, shutdown_tracing

log = logging.getLogger(__name__)
tracer = trace.get_tracer("khabar.ingest")
SOURCE_ERRORS = Counter(
    "ingest_source_errors_total", "Input items that could not be read", ["kind"]
)


def _articles(items: list[SourceItem]) -> list[RawArticle]:
    for item in items:
        if item.error is not None:
            SOURCE_ERRORS.labels("file" if "://" not in item.origin else "url").inc()
            log.warning("input rejected", extra={"origin": item.origin, "error": item.error.error})
    return [item.article for item in items if item.article is not None]


class IngestService:
    """Polls the drop folder and the feeds."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.publisher = Publisher(settings, origin="ingest")

    async def ingest_file(self, path: Path) -> int:
        """Publish every article in one file, then move it out of the drop folder.

        The file's span is no article's parent: each article's trace is its own, linked to it.
        """
        with tracer.start_as_current_span(
            "ingest file", attributes={"file.name": path.name}
        ) as span:
            items = list(read_path(path))
            good = _articles(items)
            count = await self.publisher.publish_many(good)
            span.set_attribute("khabar.batch_size", count)
        target = path.parent / ("done" if good or not items else "failed")
        target.mkdir(exist_ok=True)
        if not good and items:
            errors = [item.error.model_dump() for item in items if item.error]
            (target / f"{path.name}.error.json").write_text(
                json.dumps(errors, ensure_ascii=False, indent=1)
            )
        shutil.move(str(path), target / path.name)
        log.info(
            "ingested file",
            extra={"path": str(path), "articles": count, "rejected": len(items) - len(good)},
        )
        return count

    async def watch(self, folder: Path) -> None:
        """Ingest files that appear in the drop folder (polled every second)."""
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            for path in sorted(
                p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
            ):
                try:
                    await self.ingest_file(path)
                except BrokerError:
                    log.exception(
                        "broker unavailable; will retry the file", extra={"path": str(path)}
                    )
                    await asyncio.sleep(2)
                    break
            await asyncio.sleep(1.0)

    async def ingest_feed(self, url: str) -> int:
        """Publish every article of one read of a feed, each in its own trace linked to it."""
        with tracer.start_as_current_span("ingest feed", attributes={"url.full": url}) as span:
            count = await self.publisher.publish_many(_articles(await read_url(url)))
            span.set_attribute("khabar.batch_size", count)
        return count

    async def poll_feeds(self) -> None:
        """Read every configured feed, forever."""
        while True:
            for url in self.settings.ingest_feeds:
                try:
                    await self.ingest_feed(url)
                except BrokerError:
                    log.exception("broker unavailable while publishing a feed", extra={"url": url})
            await asyncio.sleep(self.settings.ingest_poll_seconds)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """The ingest service's HTTP app; background tasks run in its lifespan."""
    settings = settings or IngestSettings()
    configure_telemetry("ingest", settings)
    service = IngestService(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings)
        await service.publisher.start()
        tasks = []
        if settings.ingest_watch_dir:
            tasks.append(asyncio.create_task(service.watch(settings.ingest_watch_dir)))
        if settings.ingest_feeds:
            tasks.append(asyncio.create_task(service.poll_feeds()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await service.publisher.stop()
            shutdown_tracing()

    app = FastAPI(title="Khabar ingest", lifespan=lifespan)
    app.include_router(operational_router("ingest", [service.publisher.ready]))
    return app


def main() -> None:
    """Run the ingest service until SIGTERM."""
    with refuse_on_startup_errors("ingest"):
        settings = IngestSettings()
        check_kafka_login(settings)
    serve(create_app(settings), settings.bind_host, settings.ingest_port)
