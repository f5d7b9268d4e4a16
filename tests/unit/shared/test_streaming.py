"""The faust app every streaming service is built on."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from shared import streaming
from shared.settings import EnrichSettings
from shared.streaming import KhabarApp, make_app


async def test_worker_consumers_wait_for_records_as_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """faust fixes fetch_max_wait_ms at 1,500 ms; ours comes from the settings and reaches the
    consumer's fetcher (which reads it when the consumer starts)."""
    # process-wide logging and tracing set-up is not what this test is about
    monkeypatch.setattr(streaming, "configure_telemetry", lambda *_: None)
    monkeypatch.setattr(streaming, "instrument_streams", lambda *_: None)
    settings = EnrichSettings(data_dir=tmp_path, consumer_fetch_max_wait_ms=123)
    app, _state = make_app("fetchwait", settings, 65000)
    assert isinstance(app, KhabarApp)
    thread = app.consumer._new_consumer_thread()
    consumer = thread._create_worker_consumer(app.transport)
    assert isinstance(consumer, AIOKafkaConsumer)
    assert consumer._fetch_max_wait_ms == 123


def test_default_fetch_wait_is_short() -> None:
    assert EnrichSettings().consumer_fetch_max_wait_ms <= 500
