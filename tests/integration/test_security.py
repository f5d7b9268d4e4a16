"""Locked doors on the real servers: Kafka with SASL/SCRAM-SHA-512 over TLS, Elasticsearch with
TLS and per-service users whose role descriptors Elasticsearch itself enforces.

The module starts its own stack (one Kafka node, one Elasticsearch) with certificates made here
by a throw-away CA, a SCRAM user created when Kafka's storage is formatted, and two search
users: the indexer's (writes the article and span indices, nothing else) and the gateway's
(reads them). They are file-realm users with roles in ``roles.yml`` rather than API keys: the
integration-test distribution cannot create the ``.security`` index that API keys live in (see
``services.runtime.ElasticsearchSecurity``); the role descriptors are the ones an API key would
carry. The chain then runs with those credentials, and the tests check that each door refuses
what it should — refused by the server, not by our code.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trustme
from aiokafka.admin import AIOKafkaAdminClient
from cryptography.hazmat.primitives import serialization

from services.localstack import LocalStack, StackPorts, StackSecurity, free_port, port_open
from services.runtime import ElasticsearchSecurity, ElasticsearchUser, KafkaSecurity
from shared.kafka import client_options, ensure_topics
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

ALIAS = "khabar-articles"
SPANS = "khabar-spans"
KAFKA_USER = "khabar"


@dataclass(frozen=True)
class Secured:
    """The running secured stack and the credentials made for it."""

    stack: LocalStack
    ca_file: Path
    indexer: tuple[str, str]
    reader: tuple[str, str]
    gateway_key: str  # the gateway's own X-API-Key for writes


def _write_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and one certificate for 127.0.0.1 that both servers present: (ca, chain, key).

    Kafka's PEM key store takes PKCS#8 keys only, so the key is written in that form."""
    ca = trustme.CA(organization_name="Khabar test CA")
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, chain, key = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca.cert_pem.write_to_path(str(ca_file))
    chain.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    private = serialization.load_pem_private_key(server.private_key_pem.bytes(), password=None)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, chain, key


#: What the indexer may do: manage and write the versioned article indices behind the alias
#: (``ensure_index`` creates them and the alias; story lookups read them), and create and write
#: the span index. Cluster ``monitor`` is the readiness probe's ``_cluster/health``.
INDEXER_ROLE = {
    "cluster": ["monitor"],
    "indices": [
        {"names": [f"{ALIAS}*"], "privileges": ["manage", "write", "read"]},
        {"names": [f"{SPANS}*"], "privileges": ["create_index", "write", "read"]},
    ],
}
#: The gateway reads articles and spans, and nothing else.
READER_ROLE = {
    "cluster": ["monitor"],
    "indices": [
        {"names": [f"{ALIAS}*", f"{SPANS}*"], "privileges": ["read", "view_index_metadata"]}
    ],
}


def _search_security(chain: Path, key: Path, ca_file: Path) -> ElasticsearchSecurity:
    return ElasticsearchSecurity(
        chain,
        key,
        ca_file,
        username="khabar-admin",
        password=secrets.token_urlsafe(18),
        users={
            "khabar-index": ElasticsearchUser(secrets.token_urlsafe(18), "khabar_indexer"),
            "khabar-api": ElasticsearchUser(secrets.token_urlsafe(18), "khabar_reader"),
        },
        roles={"khabar_indexer": INDEXER_ROLE, "khabar_reader": READER_ROLE},
    )


def _login(security: ElasticsearchSecurity, name: str) -> dict[str, str]:
    return {
        "KHABAR_ELASTICSEARCH_USERNAME": name,
        "KHABAR_ELASTICSEARCH_PASSWORD": security.users[name].password,
    }


@pytest.fixture(scope="module")
def secured() -> Iterator[Secured]:
    """Kafka and Elasticsearch locked, enrich + index + api running with their credentials.

    Its folder is made directly under the system's temporary folder, not pytest's: every pytest
    session started on the machine resets ``/tmp/pytest-of-<user>`` to 0700, which would lock
    the search server's user (``khabar-es``) out of its files halfway through a start.
    """
    directory = Path(tempfile.mkdtemp(prefix="khabar-secured-"))
    ca_file, chain, key = _write_certificates(directory)
    search = _search_security(chain, key, ca_file)
    security = StackSecurity(
        kafka=KafkaSecurity(chain, key, users={KAFKA_USER: secrets.token_urlsafe(18)}),
        elasticsearch=search,
        ca_file=ca_file,
        kafka_user=KAFKA_USER,
    )
    gateway_key = secrets.token_urlsafe(18)
    stack = LocalStack(
        directory / "stack",
        StackPorts.free(),
        extra_env={"KHABAR_INDEX_BATCH_SECONDS": "0.3", "KHABAR_TOPIC_PARTITIONS": "2"},
        security=security,
    )
    try:
        stack.start_infrastructure()
        # Topics first, over the secured listener: a worker whose topic appears only after its
        # group's first assignment waits for a metadata refresh (minutes) to consume it.
        topics = stack.kafka_client_settings().model_copy(update={"topic_partitions": 2})
        asyncio.run(ensure_topics(topics))
        writer = _login(search, "khabar-index")
        stack.start_children(
            [
                stack.service_child("enrich", writer),  # its spans go to the span index
                stack.service_child("index", writer),
                stack.service_child(
                    "api", {**_login(search, "khabar-api"), "KHABAR_API_KEYS": gateway_key}
                ),
            ]
        )
        users = search.users
        yield Secured(
            stack,
            ca_file,
            ("khabar-index", users["khabar-index"].password),
            ("khabar-api", users["khabar-api"].password),
            gateway_key,
        )
    except Exception:
        for child in stack.children.values():
            print(f"--- {child.name}\n{child.tail(60)}")
        raise
    finally:
        stack.stop()
        if not os.environ.get("KHABAR_TEST_KEEP_STACK"):
            shutil.rmtree(directory, ignore_errors=True)


def _es(secured: Secured, login: tuple[str, str] | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=secured.stack.elasticsearch_url,
        verify=str(secured.ca_file),
        auth=login,
        timeout=30,
    )


def test_an_article_posted_to_the_api_is_indexed_and_searchable(secured: Secured) -> None:
    source = f"secured-{uuid.uuid4().hex[:10]}"
    with httpx.Client(base_url=secured.stack.api_url, timeout=30) as api:
        response = api.post(
            "/articles",
            json={
                "title": "Locked doors hold on the real servers",
                "body": "KARACHI: The broker asked for a SCRAM login over TLS and the search "
                "server for an API key, and the article still went through the chain.",
                "source": source,
            },
            headers={"X-API-Key": secured.gateway_key},
        )
        assert response.status_code == 202, response.text
        article_id = response.json()["id"]

        def found() -> bool:
            response = api.get("/search", params={"q": "SCRAM", "source": source})
            assert response.status_code == 200, response.text
            return [hit["id"] for hit in response.json()["hits"]] == [article_id]

        wait_for(found, timeout=120)


def test_elasticsearch_refuses_a_write_with_the_gateways_credentials(secured: Secured) -> None:
    with _es(secured, secured.reader) as es:
        assert es.get(f"/{ALIAS}/_count").status_code == 200  # it may read
        for index in (ALIAS, SPANS):
            response = es.post(f"/{index}/_doc", json={"title": "not allowed"})
            assert response.status_code == 403, response.text
            assert response.json()["error"]["type"] == "security_exception"
            assert "khabar-api" in response.json()["error"]["reason"]


def test_the_indexer_writes_only_the_article_and_span_indices(secured: Secured) -> None:
    with _es(secured, secured.indexer) as es:
        response = es.post(f"/{SPANS}/_doc", json={"name": "probe"})
        assert response.status_code == 201, response.text
        response = es.post("/someone-elses-index/_doc", json={"title": "not allowed"})
        assert response.status_code == 403, response.text
        assert response.json()["error"]["type"] == "security_exception"


def test_elasticsearch_refuses_requests_without_credentials(secured: Secured) -> None:
    with _es(secured) as es:
        response = es.get("/_cluster/health")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "security_exception"
    with pytest.raises(httpx.RemoteProtocolError):  # plain http: the server hangs up
        httpx.get(secured.stack.elasticsearch_url.replace("https", "http") + "/", timeout=5)


def _stack_state(secured: Secured, prefix: str) -> tuple[list[str], list[str]]:
    """Topics with ``prefix`` and consumer groups ending in it, as the broker reports them."""

    async def ask() -> tuple[list[str], list[str]]:
        admin = AIOKafkaAdminClient(**client_options(secured.stack.kafka_client_settings()))
        await admin.start()
        try:
            topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
            groups = [g[0] for g in await admin.list_consumer_groups() if prefix in g[0]]
            return topics, groups
        finally:
            await admin.close()

    return asyncio.run(ask())


def test_a_wrong_kafka_password_stops_the_worker_with_one_clear_line(secured: Secured) -> None:
    prefix = f"wrongpw{uuid.uuid4().hex[:6]}."
    port = free_port()
    env = {
        **secured.stack.service_env(),
        "KHABAR_KAFKA_PASSWORD": "not-the-password",
        "KHABAR_ELASTICSEARCH_USERNAME": secured.indexer[0],
        "KHABAR_ELASTICSEARCH_PASSWORD": secured.indexer[1],
        "KHABAR_TOPIC_PREFIX": prefix,
        "KHABAR_ENRICH_PORT": str(port),
    }
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "services.cli", "serve", "enrich"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert elapsed < 60, elapsed
    assert "Traceback" not in output
    refusals = [json.loads(line) for line in output.splitlines() if "refusing to start" in line]
    assert len(refusals) == 1, output
    assert refusals[0]["level"] == "CRITICAL"
    assert "authentication failed" in refusals[0]["message"].lower()
    assert "KHABAR_KAFKA_PASSWORD" in refusals[0]["message"]
    assert not port_open(port)
    assert _stack_state(secured, prefix) == ([], [])  # no topics declared, no group joined
