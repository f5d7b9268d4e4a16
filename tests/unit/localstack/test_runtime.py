"""The local stack's server configuration, written without starting a server."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from services import runtime
from services.localstack import LocalStack, StackPorts, StackSettings
from services.runtime import (
    POM,
    ElasticsearchNode,
    KafkaNode,
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
