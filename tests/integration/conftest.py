"""The real local stack for integration tests: Apache Kafka, Elasticsearch and the four services.

Started once per session on free ports in a temporary directory and torn down after. Tests use
the same clients production uses (httpx against the API, aiokafka against the broker); nothing
between the services and the infrastructure is mocked. Each test isolates its data by unique
article content/URLs rather than by separate topics, because the services are shared.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.localstack import LocalStack, StackPorts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole chain, running."""
    directory: Path = tmp_path_factory.mktemp("khabar-stack")
    local = LocalStack(
        directory,
        StackPorts.free(),
        extra_env={
            "KHABAR_INDEX_BATCH_SECONDS": "0.3",
            "KHABAR_LOG_LEVEL": "INFO",
            "KHABAR_TOPIC_PARTITIONS": "2",
        },
    )
    try:
        local.start_infrastructure()
        local.start_services()
        yield local
    except Exception:
        for child in local.children.values():
            print(f"--- {child.name}\n{child.tail(60)}")
        raise
    finally:
        codes = local.stop()
        if not os.environ.get("KHABAR_TEST_KEEP_STACK"):  # keep the logs for a post-mortem
            local.clean()
        os.environ.pop("KHABAR_API_PORT", None)
        assert all(code is not None for code in codes.values()), codes


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    """An HTTP client for the running API."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.5) -> Any:
    """Poll until the predicate returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
