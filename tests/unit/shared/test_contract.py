"""The published AsyncAPI document: current, valid to the AsyncAPI parser, true to the records.

Current: regenerated in memory by ``tools/build_contract.py`` and compared with the committed
``shared/data/asyncapi.json``. Valid: ``@asyncapi/parser`` (npm, ``tools/asyncapi``) run with
the machine's Node.js. True: the document's own header and payload schemas accept its examples
and every fixture record in ``tests/fixtures/events/`` (the parser does not check examples).
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.api.app import create_app
from services.api.contract_route import asyncapi_bytes, with_topic_prefix
from shared.events import ASYNCAPI_PATH, KINDS
from shared.settings import ApiSettings

ROOT = Path(__file__).resolve().parents[3]
VALIDATOR = ROOT / "tools" / "asyncapi" / "validate.mjs"
FIXTURES = ROOT / "tests" / "fixtures" / "events"
MESSAGE_OF_TOPIC = {
    "articles.raw": "rawArticle",
    "articles.enriched": "enrichedArticle",
    "articles.dlq": "deadLetter",
}


@pytest.fixture(scope="module")
def build_contract() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_contract", ROOT / "tools" / "build_contract.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ASYNCAPI_PATH.read_text(encoding="utf-8"))
    return loaded


def test_the_committed_document_is_what_the_models_generate(build_contract: ModuleType) -> None:
    generated = build_contract.render(build_contract.build_document())
    assert ASYNCAPI_PATH.read_text(encoding="utf-8") == generated, (
        "shared/data/asyncapi.json is out of date with the models: run make contract"
    )


@pytest.fixture(scope="module")
def parsed(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """The parser's verdicts on the committed document and on a broken copy (one Node run):
    the copy shows the check means something — a message moved out of its channel is an error.
    """
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the AsyncAPI parser (npm) cannot run")
    parser = ROOT / "tools" / "asyncapi" / "node_modules" / "@asyncapi" / "parser"
    assert parser.is_dir(), "the AsyncAPI parser is not installed: run make asyncapi-tools"
    broken = json.loads(json.dumps(document))
    broken["operations"]["indexEnrichedArticle"]["messages"] = [
        {"$ref": "#/channels/articlesRaw/messages/rawArticle"}
    ]
    broken_path = tmp_path_factory.mktemp("asyncapi") / "broken.json"
    broken_path.write_text(json.dumps(broken), encoding="utf-8")
    done = subprocess.run(
        ["node", str(VALIDATOR), str(ASYNCAPI_PATH), str(broken_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(reports) == 2, done.stderr
    return [done.returncode, *reports]


def test_the_asyncapi_parser_finds_no_error_in_the_document(parsed: list[Any]) -> None:
    _, report, _ = parsed
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert report["parsed"] and errors == [], errors
    assert report["counts"]["warning"] == 0, report["diagnostics"]


def test_the_parser_run_does_catch_a_broken_document(parsed: list[Any]) -> None:
    code, _, broken = parsed
    assert code == 1 and broken["counts"]["error"] >= 1
    assert any("does not belong" in d["message"] for d in broken["diagnostics"])


def _checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def rfc3339(value: object) -> bool:
        # RFC 3339 has a "T" and an offset; fromisoformat alone accepts a date without them.
        return not isinstance(value, str) or (
            "T" in value and datetime.fromisoformat(value).tzinfo is not None
        )

    return checker


def _schema(document: dict[str, Any], pointer: str) -> Draft202012Validator:
    """A validator for one schema of the document, resolving its ``#/components`` refs."""
    return Draft202012Validator({**document, "$ref": pointer}, format_checker=_checker())


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.mark.parametrize("message", sorted(MESSAGE_OF_TOPIC.values()))
def test_each_message_example_matches_its_own_schemas(
    document: dict[str, Any], message: str
) -> None:
    pointer = f"#/components/messages/{message}"
    [example] = document["components"]["messages"][message]["examples"]
    assert _errors(_schema(document, f"{pointer}/headers"), example["headers"]) == []
    assert _errors(_schema(document, f"{pointer}/payload"), example["payload"]) == []


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_record_ever_written_matches_the_document(
    document: dict[str, Any], path: Path
) -> None:
    """Payloads of every shape validate; headers validate where the record has the envelope."""
    record = json.loads(path.read_text(encoding="utf-8"))
    pointer = f"#/components/messages/{MESSAGE_OF_TOPIC[record['topic']]}"
    assert _errors(_schema(document, f"{pointer}/payload"), record["value"]) == []
    if "ce_type" in record["headers"]:
        assert _errors(_schema(document, f"{pointer}/headers"), record["headers"]) == []
    key = document["components"]["messages"][MESSAGE_OF_TOPIC[record["topic"]]]["bindings"]
    if record["key"] is not None:
        assert _errors(Draft202012Validator(key["kafka"]["key"]), record["key"]) == []


def test_headers_schemas_name_every_event_type(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"].values()
    types = {m["headers"]["properties"]["ce_type"]["const"] for m in messages}
    assert types == set(KINDS)


def test_a_prefixed_deployment_documents_its_real_topics(
    build_contract: ModuleType, document: dict[str, Any]
) -> None:
    """The generator's --prefix and the gateway's rewrite of the committed file agree."""
    prefixed = build_contract.build_document("staging.")
    addresses = {c["address"] for c in prefixed["channels"].values()}
    assert addresses == {
        "staging.articles.raw",
        "staging.articles.enriched",
        "staging.articles.dlq",
    }
    assert with_topic_prefix(document, "staging.") == prefixed
    assert json.loads(asyncapi_bytes("staging.")) == prefixed


def test_the_gateway_serves_the_document_for_its_topics() -> None:
    settings = ApiSettings(
        topic_prefix="t1.", elasticsearch_url="http://127.0.0.1:9", trace_store="none"
    )
    app = create_app(settings)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/asyncapi.json")

    response = asyncio.run(get())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    assert served["asyncapi"].startswith("3.")
    assert served["channels"]["articlesRaw"]["address"] == "t1.articles.raw"
    assert served["channels"]["articlesRaw"]["bindings"]["kafka"]["topic"] == "t1.articles.raw"


def test_the_example_consumer_needs_no_khabar_code() -> None:
    """examples/consumer.py is what another team writes: the standard library, aiokafka and
    the CloudEvents SDK, nothing of ours."""
    tree = ast.parse((ROOT / "examples" / "consumer.py").read_text(encoding="utf-8"))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - sys.stdlib_module_names == {"aiokafka", "cloudevents"}
