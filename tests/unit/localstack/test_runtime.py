"""The local stack's server configuration, written without starting a server."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from services import runtime
from services.localstack import (
    LocalStack,
    StackPorts,
    StackSecurity,
    StackSettings,
    free_ports,
)
from services.runtime import (
    POM,
    ElasticsearchNode,
    ElasticsearchSecurity,
    ElasticsearchUser,
    KafkaNode,
    KafkaSecurity,
    Runtime,
    elasticsearch_files,
    java_home,
    kafka_cluster_id,
    kafka_java,
    kafka_properties,
    pom_versions,
)
from shared.errors import StackError


def test_pom_pins_the_compose_lines() -> None:
    versions = pom_versions()
    assert re.fullmatch(r"3\.9\.\d+", versions["kafka"])
    assert re.fullmatch(r"8\.15\.\d+", versions["elasticsearch"])
    assert "<type>zip</type>" in POM.read_text()


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_free_ports_are_all_different_and_avoid_the_ones_chosen_before() -> None:
    for _ in range(50):
        ports = free_ports(8)
        assert len(set(ports)) == 8
        assert not set(free_ports(8, avoid=ports)) & set(ports)


def test_every_port_of_a_cluster_is_its_own(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, StackPorts.free(), kafka_nodes=3)
    nodes = stack.kafka  # the first node listens on the stack's own Kafka port
    node_ports = [*(n.controller_port for n in nodes), *(n.port for n in nodes[1:])]
    stack.search_child()
    assert stack._search is not None
    everything = [*dataclasses.astuple(stack.ports), *node_ports, stack._search.transport_port]
    assert len(set(everything)) == len(everything)


def test_three_node_cluster_replicates_and_needs_two_in_sync(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path, StackPorts.free(), kafka_nodes=3)
    nodes = stack.kafka
    assert [n.node_id for n in nodes] == [1, 2, 3]
    assert len({n.port for n in nodes} | {n.controller_port for n in nodes}) == 6
    assert stack.kafka_bootstrap == ",".join(f"127.0.0.1:{n.port}" for n in nodes)
    assert stack.service_env()["KHABAR_TOPIC_REPLICATION_FACTOR"] == "3"
    text = kafka_properties(nodes[1], nodes)
    props = _properties(text)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == ",".join(
        f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes
    )
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(nodes[1].directory / "data")


def test_single_node_replicates_once(tmp_path: Path) -> None:
    node = KafkaNode(1, 9092, 9093, tmp_path / "node-1")
    props = _properties(kafka_properties(node, [node]))
    assert (props["default.replication.factor"], props["min.insync.replicas"]) == ("1", "1")
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"


def test_cluster_ids_are_kafka_shaped_and_fresh() -> None:
    first, second = kafka_cluster_id(), kafka_cluster_id()
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", first)
    # one random id in 64 starts with "-", which the storage tool would take for an option
    drawn = [kafka_cluster_id() for _ in range(2_000)]
    assert not [cluster_id for cluster_id in drawn if cluster_id.startswith("-")]
    assert len({cluster_id[0] for cluster_id in drawn}) == 63


def _fake_runtime(tmp_path: Path) -> Runtime:
    runtime = Runtime(tmp_path / "runtime", "3.9.1", "8.15.3", Path("/opt/java"))
    config = runtime.elasticsearch_home / "config"
    (config / "jvm.options.d").mkdir(parents=True)
    (config / "jvm.options").write_text(
        "-XX:ErrorFile=logs/hs_err_pid%p.log\n-Xlog:gc*:file=logs/gc.log:utctime\n"
    )
    (config / "log4j2.properties").write_text("status = error\n")
    return runtime


def test_elasticsearch_config_is_explicit_and_stays_in_the_node_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # not root: no user switch, no chown
    runtime = _fake_runtime(tmp_path)
    node = ElasticsearchNode(tmp_path / "es", 19200, 19300)
    elasticsearch_files(runtime, node, "256m")
    yml = (node.config / "elasticsearch.yml").read_text()
    for line in (
        "discovery.type: single-node",
        "http.port: 19200",
        "transport.port: 19300",
        "xpack.security.enabled: false",
        f"path.data: {node.directory / 'data'}",
        f"path.logs: {node.directory / 'logs'}",
    ):
        assert line in yml.splitlines()
    options = (node.config / "jvm.options").read_text()
    assert "=logs/" not in options and f"file={node.directory / 'logs'}/gc.log" in options
    heap = (node.config / "jvm.options.d" / "heap.options").read_text().split()
    assert heap == ["-Xms256m", "-Xmx256m"]
    assert (node.config / "log4j2.properties").exists()  # the rest of the shipped config


def test_kafka_runs_on_the_runtime_java_with_its_jars(tmp_path: Path) -> None:
    runtime = Runtime(tmp_path, "3.9.1", "8.15.3", Path("/opt/java"))
    node = KafkaNode(1, 9092, 9093, tmp_path / "node-1")
    argv = kafka_java(runtime, node, "kafka.Kafka", heap="300m")
    assert argv[0] == "/opt/java/bin/java"
    assert {"-Xms300m", "-Xmx300m"} <= set(argv)
    assert argv[argv.index("-cp") + 1] == f"{runtime.kafka_libs}/*"
    assert argv[-1] == "kafka.Kafka"


def test_stack_ports_come_from_the_stack_and_service_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "KHABAR_STACK_KAFKA_PORT": "19092",
        "KHABAR_STACK_ELASTICSEARCH_PORT": "19200",
        "KHABAR_API_PORT": "18000",
        "KHABAR_ENRICH_PORT": "18002",
    }.items():
        monkeypatch.setenv(name, value)
    ports = StackPorts.from_environment()
    assert (ports.kafka, ports.elasticsearch, ports.api, ports.enrich) == (
        19092,
        19200,
        18000,
        18002,
    )
    assert ports.ingest == 8001 and ports.index == 8003


def test_stack_heap_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_STACK_ELASTICSEARCH_HEAP", "lots")
    with pytest.raises(ValueError, match="elasticsearch_heap"):
        StackSettings()


def test_no_suitable_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_java_major", lambda java: 25)
    with pytest.raises(StackError, match="Java 17 or 21"):
        java_home(Path("/usr/lib/jvm/temurin-25-jdk-amd64"))


# ----------------------------------------------------------------------------- security


def _pem_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    chain, key, ca = tmp_path / "chain.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    chain.write_text("-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nR0hJ\n-----END PRIVATE KEY-----\n")
    ca.write_text("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n")
    return chain, key, ca


def test_a_secured_kafka_node_takes_only_scram_over_tls_from_clients(tmp_path: Path) -> None:
    chain, key, _ = _pem_files(tmp_path)
    security = KafkaSecurity(chain, key, users={"khabar": "pw-1", "ops": "pw-2"})
    node = KafkaNode(1, 9094, 9093, tmp_path / "node-1", internal_port=9095)
    props = _properties(kafka_properties(node, [node], security))
    assert props["listeners"] == (
        "SASL_SSL://127.0.0.1:9094,PLAINTEXT://127.0.0.1:9095,CONTROLLER://127.0.0.1:9093"
    )
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:9094,PLAINTEXT://127.0.0.1:9095"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"  # loopback, as the controller
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert (
        "ScramLoginModule required"
        in props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    )
    assert props["listener.name.sasl_ssl.ssl.keystore.type"] == "PEM"
    # One line each; Java's Properties reads the \n escapes back as the PEM's newlines.
    inlined = props["listener.name.sasl_ssl.ssl.keystore.certificate.chain"]
    assert inlined.replace("\\n", "\n") == chain.read_text().strip()
    assert props["listener.name.sasl_ssl.ssl.keystore.key"].replace("\\n", "\n") == (
        key.read_text().strip()
    )
    assert security.scram_arguments() == [
        "--add-scram",
        "SCRAM-SHA-512=[name=khabar,password=pw-1]",
        "--add-scram",
        "SCRAM-SHA-512=[name=ops,password=pw-2]",
    ]


def test_a_secured_kafka_node_needs_its_inter_broker_port(tmp_path: Path) -> None:
    chain, key, _ = _pem_files(tmp_path)
    node = KafkaNode(1, 9094, 9093, tmp_path / "node-1")
    with pytest.raises(StackError, match="internal_port"):
        kafka_properties(node, [node], KafkaSecurity(chain, key))


def test_a_secured_stack_gives_each_node_an_internal_port_and_the_services_a_login(
    tmp_path: Path,
) -> None:
    chain, key, ca = _pem_files(tmp_path)
    security = StackSecurity(
        kafka=KafkaSecurity(chain, key, users={"khabar": "pw-1"}),
        elasticsearch=ElasticsearchSecurity(chain, key, ca, "admin", "admin-pw"),
        ca_file=ca,
        kafka_user="khabar",
    )
    stack = LocalStack(tmp_path, StackPorts.free(), security=security)
    assert stack.kafka[0].internal_port is not None
    assert stack.elasticsearch_url.startswith("https://127.0.0.1:")
    env = stack.service_env()
    assert env["KHABAR_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert (env["KHABAR_KAFKA_USERNAME"], env["KHABAR_KAFKA_PASSWORD"]) == ("khabar", "pw-1")
    assert env["KHABAR_KAFKA_SSL_CAFILE"] == env["KHABAR_ELASTICSEARCH_CA_CERTS"] == str(ca)
    assert "KHABAR_ELASTICSEARCH_PASSWORD" not in env  # each service gets its own user


def test_secured_elasticsearch_has_tls_on_http_and_users_with_file_roles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    calls: list[list[str]] = []

    def useradd(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(subprocess, "run", useradd)  # the one module object runtime uses
    chain, key, ca = _pem_files(tmp_path)
    role = {"cluster": ["monitor"], "indices": [{"names": ["a*"], "privileges": ["read"]}]}
    security = ElasticsearchSecurity(
        chain,
        key,
        ca,
        "admin",
        "admin-pw",
        users={"reader": ElasticsearchUser("reader-pw", "khabar_reader")},
        roles={"khabar_reader": role},
    )
    node = ElasticsearchNode(tmp_path / "es", 19200, 19300)
    elasticsearch_files(_fake_runtime(tmp_path), node, "256m", security)
    yml = (node.config / "elasticsearch.yml").read_text().splitlines()
    assert "xpack.security.enabled: true" in yml
    assert "xpack.security.http.ssl.enabled: true" in yml
    assert "xpack.security.http.ssl.certificate: tls/http.crt" in yml
    assert "xpack.security.enabled: false" not in yml
    assert (node.config / "tls" / "http.key").read_text() == key.read_text()
    assert (node.config / "tls" / "ca.crt").read_text() == ca.read_text()
    # One flow mapping a role: JSON, which YAML reads as it is.
    name, descriptor = (node.config / "roles.yml").read_text().split(": ", 1)
    assert (name, json.loads(descriptor)) == ("khabar_reader", role)
    assert [argv[1:] for argv in calls] == [
        ["useradd", "admin", "-p", "admin-pw", "-r", "superuser"],
        ["useradd", "reader", "-p", "reader-pw", "-r", "khabar_reader"],
    ]
