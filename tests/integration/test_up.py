"""``khabar up --demo`` as a new user runs it: everything starts, demo data is searchable,
Ctrl-C (SIGINT) stops every child process and leaves nothing listening."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.localstack import StackPorts, port_open

pytestmark = pytest.mark.integration


def test_up_with_demo_then_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    ports = StackPorts.free()
    env = {
        **os.environ,
        "KHABAR_STACK_KAFKA_PORT": str(ports.kafka),
        "KHABAR_STACK_ELASTICSEARCH_PORT": str(ports.elasticsearch),
        "KHABAR_API_PORT": str(ports.api),
        "KHABAR_INGEST_PORT": str(ports.ingest),
        "KHABAR_ENRICH_PORT": str(ports.enrich),
        "KHABAR_INDEX_PORT": str(ports.index),
        "KHABAR_INDEX_BATCH_SECONDS": "0.3",
    }
    log = (tmp_path / "up.log").open("w+b")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.cli",
            "up",
            "--demo",
            "--directory",
            str(tmp_path / "stack"),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        output = ""
        while time.monotonic() < deadline and "Khabar is running" not in output:
            assert process.poll() is None, Path(log.name).read_text(errors="replace")
            time.sleep(1)
            output = Path(log.name).read_text(errors="replace")
        assert "Khabar is running" in output, output
        assert f"http://127.0.0.1:{ports.api}/docs" in output
        demo_lines = sum(1 for _ in (Path(__file__).parents[2] / "demo" / "articles.jsonl").open())
        total = httpx.get(f"http://127.0.0.1:{ports.api}/search", params={"size": 1}).json()[
            "total"
        ]
        assert total >= demo_lines
        assert httpx.get(f"http://127.0.0.1:{ports.api}/docs").status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
        log.close()
    assert code == 0, Path(log.name).read_text(errors="replace")
    for port in (
        ports.kafka,
        ports.elasticsearch,
        ports.api,
        ports.ingest,
        ports.enrich,
        ports.index,
    ):
        assert not port_open(port), f"port {port} still open after Ctrl-C"
