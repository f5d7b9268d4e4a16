"""The faust app every streaming service is built on."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from shared import streaming
from shared.settings import EnrichSettings
from shared.streaming import KhabarApp, make_app


async def test_worker_producer_is_idempotent_and_waits_for_all_replicas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """faust enables idempotence only inside transactions; ours is on for every send, so a
    retried produce after a lost acknowledgement cannot write an output twice."""
    # process-wide logging and tracing set-up is not what this test is about
    monkeypatch.setattr(streaming, "configure_telemetry", lambda *_: None)
    monkeypatch.setattr(streaming, "instrument_streams", lambda *_: None)
    settings = EnrichSettings(data_dir=tmp_path, topic_replication_factor=3)
    app, _state = make_app("idempotence", settings, 65000)
    assert isinstance(app, KhabarApp)
    assert app.conf.topic_replication_factor == 3
    producer = app.producer._new_producer()
    assert isinstance(producer, AIOKafkaProducer)
    assert producer._txn_manager is not None  # aiokafka's idempotent-producer state
    assert producer.client._bootstrap_servers == ["127.0.0.1:9092"]
    assert producer._sender._acks == -1
    producer._closed = True  # never started: nothing to close
