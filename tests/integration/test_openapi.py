"""The OpenAPI document against the servers it describes: ``schemathesis run --checks all``.

A client generator trusts ``/openapi.json``; schemathesis tries it the same way — examples,
boundary values (coverage), random valid and invalid requests (fuzzing) and chains of calls
along the document's links (stateful) — and checks every answer against the document: status
codes and bodies declared, invalid input refused, keys enforced exactly where required. Each
run must end with 0 failures.

Three gateway configurations, because the document is built per ``ApiSettings``:

- the session stack's own gateway: no keys, everything open (``/stream`` left out: its streams
  last ``KHABAR_API_STREAM_MAX_SECONDS``, ten minutes there, by design);
- writes locked, reads open (keys optional on reads), and everything locked: the same code
  served by uvicorn in a subprocess against the stack's Elasticsearch and Kafka, with short
  streams so ``/stream`` is tested too, and a topic prefix nobody consumes so generated
  articles stay out of the shared index.

The CLI runs as a subprocess and writes its JSON report, whose counts are asserted and printed.
The budget is bounded (examples per operation, ``--max-time``) so the file takes a few minutes.

Two things JSON Schema cannot say are told to schemathesis instead (:func:`issued_values_only`,
:data:`CONFIG`): a page cursor is valid only if this gateway issued it for the same search, and
``from`` must not be after ``to`` — generated "valid" values of either get the declared 400, so
valid-data cases leave them out (invalid-data cases keep them); and a body over the byte limit
is refused with 413 (411 without a length) before it is parsed, a rejection as good as a 422.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case, GenerationMode, HookContext

from services.localstack import LocalStack, gateway_argv

pytestmark = pytest.mark.integration

KEY = "openapi-test-key-0123456789"
#: Cases per operation and phase, and the wall-clock bound of one run (fuzzing and stateful
#: repeat until it is spent, so it is also the run's length once examples are exhausted).
#: OPENAPI_MAX_EXAMPLES / OPENAPI_MAX_SECONDS / OPENAPI_SEED widen a run by hand (e.g. 30 / 90 / 7).
MAX_EXAMPLES = int(os.environ.get("OPENAPI_MAX_EXAMPLES", "10"))
MAX_SECONDS = int(os.environ.get("OPENAPI_MAX_SECONDS", "25"))
SEED = int(os.environ.get("OPENAPI_SEED", "20"))
PHASES = ("examples", "coverage", "fuzzing", "stateful")
#: The schemathesis hooks module: this one (its hooks register only in the CLI's process).
HOOKS_MODULE = __name__
REPO = Path(__file__).resolve().parents[2]
#: Default statuses that count as refusing invalid data, plus the admission checks' 411 and 413.
CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "411", "413", "415",
                     "422", "428", "429", "5xx"]
"""


def issued_values_only(context: HookContext, case: Case[Any]) -> Case[Any]:
    """A valid-data case without a made-up cursor and with ``from`` ≤ ``to``.

    Only the server issues cursors (``next_cursor``, an event's ``id``), and JSON Schema cannot
    relate two parameters; a generated value of either is refused with the declared 400, which
    the invalid-data cases and ``test_api`` still exercise.
    """
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return case
    if isinstance(case.query, MutableMapping):
        case.query.pop("cursor", None)
        _ordered_range(case.query)
    if isinstance(case.headers, MutableMapping):
        for name in [n for n in case.headers if n.lower() == "last-event-id"]:
            del case.headers[name]
    return case


def _ordered_range(query: MutableMapping[str, Any]) -> None:
    start, end = query.get("from"), query.get("to")
    if not (isinstance(start, str) and isinstance(end, str)):
        return
    try:
        reversed_range = datetime.fromisoformat(start.upper()) > datetime.fromisoformat(end.upper())
    except ValueError:
        return
    if reversed_range:
        query["from"], query["to"] = end, start


def no_null_ids(context: HookContext, case: Case[Any]) -> bool:
    """Leave out valid-data cases whose path carries a JSON null as an id.

    Schemathesis reuses values from answers as inputs, and a null one too: ``GET /traces/{id}``
    answers ``article_id: null`` for a trace of no article, which then comes back as
    ``/articles/null/trace`` labelled valid. No client would send it; the 422 it gets is right.
    """
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return True
    values = (case.path_parameters or {}).values()
    return not any(value is None or value == "null" for value in values)


if os.environ.get("SCHEMATHESIS_HOOKS") == HOOKS_MODULE:
    schemathesis.hook("map_case")(issued_values_only)
    schemathesis.hook("filter_case")(no_null_ids)


def run_schemathesis(url: str, out: Path, *options: str) -> dict[str, Any]:
    """``schemathesis run URL/openapi.json --checks all`` and its JSON report."""
    report = out / "schemathesis.json"
    config = out / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        ",".join(PHASES),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        *options,
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS_MODULE,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command,
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS * 3 + 60,
        check=False,
    )
    assert report.exists(), result.stdout[-4000:] + result.stderr[-4000:]
    data: dict[str, Any] = json.loads(report.read_text())
    data["output"] = result.stdout
    return data


def assert_clean(label: str, report: dict[str, Any], operations: int) -> None:
    """0 failures and 0 errors, every phase run, at least ``operations`` operations tested."""
    cases = report["test_cases"]
    print(
        f"\nschemathesis [{label}]: {cases['generated']} cases, "
        f"{cases['unique_failures']} unique failures, {len(report['errors'])} errors, "
        f"{report['operations']['tested']} operations, {report['running_time']:.0f} s"
    )
    summary = report["output"][-6000:]
    assert cases["unique_failures"] == 0, summary
    assert report["errors"] == [], summary
    assert report["operations"]["tested"] >= operations, summary
    statuses = {phase: report["phases"][phase]["status"] for phase in PHASES}
    assert set(statuses.values()) == {"success"}, (statuses, summary)
    assert cases["generated"] >= 20 * operations, summary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def gateway(stack: LocalStack, directory: Path, **settings: str) -> Iterator[str]:
    """This code's gateway under uvicorn with ``settings`` (``KHABAR_*``) on a free port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHABAR_")}
    env.update(
        KHABAR_KAFKA_BOOTSTRAP=stack.kafka_bootstrap,
        KHABAR_ELASTICSEARCH_URL=stack.elasticsearch_url,
        KHABAR_TOPIC_PREFIX="openapi-test.",
        KHABAR_TOPIC_PARTITIONS="1",
        KHABAR_TRACE_STORE="none",
        KHABAR_API_STREAM_MAX_SECONDS="1",
        KHABAR_API_STREAM_POLL_SECONDS="0.2",
        KHABAR_API_STREAM_SETTLE_SECONDS="0",
        **{f"KHABAR_{name.upper()}": value for name, value in settings.items()},
    )
    log = (directory / f"gateway-{port}.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        gateway_argv(port),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (directory / f"gateway-{port}.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the gateway did not become ready"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        finally:
            log.close()


def _security(document: dict[str, Any], path: str, method: str) -> Any:
    return document["paths"][path][method].get("security")


def test_the_stack_gateway_matches_its_document(
    stack: LocalStack, api: httpx.Client, tmp_path: Path
) -> None:
    document = api.get("/openapi.json").json()
    # no keys configured: the document names none, and no operation answers 401
    assert "securitySchemes" not in document["components"]
    assert all(
        "401" not in op["responses"] for item in document["paths"].values() for op in item.values()
    )
    report = run_schemathesis(stack.api_url, tmp_path, "--exclude-path", "/stream")
    assert_clean("stack gateway, no keys", report, operations=12)


def test_writes_locked_reads_open(stack: LocalStack, tmp_path: Path) -> None:
    with gateway(stack, tmp_path, api_keys=KEY) as url:
        document = httpx.get(f"{url}/openapi.json").json()
        assert _security(document, "/articles", "post") == [{"ApiKey": []}]
        assert _security(document, "/search", "get") == [{}, {"ApiKey": []}]
        report = run_schemathesis(url, tmp_path, "--header", f"X-API-Key: {KEY}")
    assert_clean("writes locked, reads open", report, operations=13)


def test_everything_locked(stack: LocalStack, tmp_path: Path) -> None:
    with gateway(stack, tmp_path, api_keys=KEY, api_keys_for_reads="true") as url:
        document = httpx.get(f"{url}/openapi.json").json()
        assert _security(document, "/search", "get") == [{"ApiKey": []}]
        assert httpx.get(f"{url}/search").status_code == 401
        report = run_schemathesis(url, tmp_path, "--header", f"X-API-Key: {KEY}")
    assert_clean("everything locked", report, operations=13)
