"""The local stack's servers: Apache Kafka and Elasticsearch from Maven Central, as processes.

Production runs Apache Kafka (KRaft) and Elasticsearch 8 (``docker-compose.yml``, ``deploy/``);
the local stack runs the same servers, at the same versions, without Docker:

- ``deploy/local/pom.xml`` declares them: ``org.apache.kafka:kafka_2.13`` with its runtime
  dependencies and an slf4j/reload4j binding, and Elasticsearch's integration-test
  distribution (``org.elasticsearch.distribution.integ-test-zip:elasticsearch:…:zip``, the real
  server with the HTTP transport, x-pack core and security, but few modules: no
  analysis-common, painless or reindex, and no ``GET /`` handler).
- :func:`ensure_runtime` has Maven copy the Kafka jars and unpack the Elasticsearch zip into an
  ignored folder (``.khabar/runtime``) once per version of the pom; Maven's own cache keeps
  later fetches offline.
- :func:`kafka_node_files` writes one KRaft node's ``server.properties`` and formats its log
  directory; :func:`elasticsearch_files` writes a node's configuration (explicit heap, security
  settings, data and logs under the stack's folder).
- Both take an optional security configuration (:class:`KafkaSecurity`,
  :class:`ElasticsearchSecurity`): the same servers with the doors production has locked —
  SASL/SCRAM-SHA-512 over TLS for Kafka's clients, TLS and authentication on Elasticsearch's
  HTTP — so the credentials settings are exercised against servers that check them.

Elasticsearch refuses to run as root: when we are root (CI is), the server runs as the system
user ``khabar-es``, created on first use, which owns the node's folders.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET  # noqa: S405 - our own pom, not untrusted XML
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import StackError

ROOT = Path(__file__).resolve().parent.parent
POM = ROOT / "deploy" / "local" / "pom.xml"
log = logging.getLogger(__name__)

ES_USER = "khabar-es"
_MAVEN_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
#: Elasticsearch 8.15 needs the Security Manager, which Java 24+ removed; Kafka 3.9 runs on 17.
_JAVA_MAJORS = (17, 21)


def pom_versions(pom: Path = POM) -> dict[str, str]:
    """The versions the pom pins (``kafka``, ``elasticsearch``, …)."""
    properties = ET.parse(pom).getroot().find("m:properties", _MAVEN_NS)  # noqa: S314
    if properties is None:
        raise StackError(f"{pom} has no <properties>")
    return {
        child.tag.split("}")[1].removesuffix(".version"): (child.text or "").strip()
        for child in properties
        if child.tag.endswith(".version")
    }


@dataclass(frozen=True)
class Runtime:
    """Where the servers' files were unpacked, and the Java that runs them."""

    root: Path
    kafka_version: str
    elasticsearch_version: str
    java_home: Path

    @property
    def kafka_libs(self) -> Path:
        """The broker's class path folder."""
        return self.root / "kafka" / "libs"

    @property
    def elasticsearch_home(self) -> Path:
        """The unpacked Elasticsearch distribution."""
        return self.root / "elasticsearch" / f"elasticsearch-{self.elasticsearch_version}"


DEFAULT_RUNTIME_DIR = ROOT / ".khabar" / "runtime"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock, so two stacks starting at once do not unpack over each other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _maven(*goal: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) is not installed: run `make java` (apt) or install it")
    result = subprocess.run(  # noqa: S603 - fixed argv
        [mvn, "-B", "-q", "-f", str(POM), *goal],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"mvn {goal[0]} failed:\n{(result.stdout + result.stderr)[-3000:]}")


def ensure_runtime(root: Path = DEFAULT_RUNTIME_DIR, java: Path | None = None) -> Runtime:
    """The servers' files, fetched by Maven on first use (and again when the pom changes)."""
    versions = pom_versions()
    runtime = Runtime(root, versions["kafka"], versions["elasticsearch"], java_home(java))
    stamp = root / "pom.sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    with _locked(root.parent / f".{root.name}.lock"):
        if stamp.exists() and stamp.read_text() == digest and runtime.elasticsearch_home.exists():
            return runtime
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        _maven(
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            "-DexcludeTypes=zip",
            f"-DoutputDirectory={runtime.kafka_libs}",
        )
        _maven(
            "dependency:unpack-dependencies",
            "-DincludeTypes=zip",
            f"-DoutputDirectory={root / 'elasticsearch'}",
            # Otherwise markers under deploy/local/target claim a past unpack was this one.
            f"-Dmdep.markersDirectory={root / 'markers'}",
        )
        if not (runtime.elasticsearch_home / "bin" / "elasticsearch").exists():
            raise StackError(f"Elasticsearch was not unpacked into {runtime.elasticsearch_home}")
        stamp.write_text(digest)
    return runtime


def _java_major(java: Path) -> int | None:
    try:
        result = subprocess.run(  # noqa: S603 - a JDK's own binary
            [str(java), "-version"], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)', result.stderr)
    return int(found.group(1)) if found else None


def java_home(configured: Path | None = None) -> Path:
    """A Java 17 or 21 home: the configured one, ``JAVA_HOME``, the JVMs under
    ``/usr/lib/jvm``, then the ``java`` on ``PATH``."""
    candidates = [str(configured) if configured else None, os.environ.get("JAVA_HOME")]
    candidates += [str(p) for p in sorted(Path("/usr/lib/jvm").glob("*")) if not p.is_symlink()]
    on_path = shutil.which("java")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent.parent))
    for candidate in filter(None, candidates):
        java = Path(candidate) / "bin" / "java"
        if java.exists() and _java_major(java) in _JAVA_MAJORS:
            return Path(candidate)
    raise StackError(
        "no Java 17 or 21 found (Elasticsearch 8.15 does not run on newer ones): run `make java`"
        " or set KHABAR_STACK_JAVA_HOME"
    )


# ---------------------------------------------------------------------------- Kafka


@dataclass(frozen=True)
class KafkaNode:
    """One combined broker + controller of a KRaft cluster."""

    node_id: int
    port: int
    controller_port: int
    directory: Path
    #: The inter-broker listener's port when the client listener (``port``) is secured: the
    #: brokers keep talking PLAINTEXT among themselves on loopback, as the controllers do.
    internal_port: int | None = None

    @property
    def properties(self) -> Path:
        """The node's ``server.properties``."""
        return self.directory / "server.properties"


_KAFKA_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


@dataclass(frozen=True)
class KafkaSecurity:
    """SASL/SCRAM-SHA-512 over TLS on the brokers' client listener.

    The certificate files are PEM (the chain with the broker's own certificate first, an
    unencrypted PKCS#8 key); they are inlined into ``server.properties`` as Kafka's PEM key store
    (``ssl.keystore.type=PEM``), which needs no key-store password. The SCRAM users are created
    when the storage is formatted (``--add-scram``), so they exist before the first client
    connects; a KRaft cluster has no ZooKeeper to add them to later.
    """

    certificate_chain: Path
    private_key: Path
    users: Mapping[str, str] = field(default_factory=dict)
    mechanism: str = "SCRAM-SHA-512"

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments that create every user."""
        return [
            argument
            for name, password in self.users.items()
            for argument in ("--add-scram", f"{self.mechanism}=[name={name},password={password}]")
        ]


def _property_value(text: str) -> str:
    """A multi-line value as one ``.properties`` line (``\\n`` is read back as a newline)."""
    return text.strip().replace("\\", "\\\\").replace("\n", "\\n")


def _secured_listener(node: KafkaNode, security: KafkaSecurity) -> dict[str, object]:
    """The settings that lock the client listener (``SASL_SSL``)."""
    if node.internal_port is None:
        raise StackError(f"Kafka node {node.node_id} needs an internal_port when secured")
    prefix = f"listener.name.sasl_ssl.{security.mechanism.lower()}"
    return {
        "listeners": f"SASL_SSL://127.0.0.1:{node.port},PLAINTEXT://127.0.0.1:{node.internal_port},"
        f"CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{node.port},"
        f"PLAINTEXT://127.0.0.1:{node.internal_port}",
        "listener.security.protocol.map": "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,"
        "CONTROLLER:PLAINTEXT",
        "sasl.enabled.mechanisms": security.mechanism,
        f"{prefix}.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule"
        " required;",
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.certificate.chain": _property_value(
            security.certificate_chain.read_text()
        ),
        "listener.name.sasl_ssl.ssl.keystore.key": _property_value(
            security.private_key.read_text()
        ),
    }


def kafka_properties(
    node: KafkaNode, cluster: list[KafkaNode], security: KafkaSecurity | None = None
) -> str:
    """One node's ``server.properties``: every node a broker and a controller voter; up to
    three replicas of everything, two of them in sync for a write to count. With ``security``
    the client listener takes SASL/SCRAM over TLS only; the controller and inter-broker
    listeners stay PLAINTEXT on loopback."""
    replicas = min(3, len(cluster))
    in_sync = max(1, replicas - 1)
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in cluster)
    settings: dict[str, object] = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": node.directory / "data",
        "auto.create.topics.enable": "false",
        "default.replication.factor": replicas,
        "min.insync.replicas": in_sync,
        "offsets.topic.replication.factor": replicas,
        "offsets.topic.num.partitions": 8,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": in_sync,
        "transaction.state.log.num.partitions": 8,
        # A consumer group starts at once instead of waiting 3 s for more members.
        "group.initial.rebalance.delay.ms": 0,
        "unclean.leader.election.enable": "false",
    }
    if security is not None:
        settings.update(_secured_listener(node, security))
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def kafka_node_files(
    runtime: Runtime,
    node: KafkaNode,
    cluster: list[KafkaNode],
    cluster_id: str,
    security: KafkaSecurity | None = None,
) -> None:
    """Write the node's configuration and format its log directory (once), creating the
    SCRAM users of ``security`` in the same step."""
    node.directory.mkdir(parents=True, exist_ok=True)
    node.properties.write_text(kafka_properties(node, cluster, security))
    if security is not None:
        node.properties.chmod(0o600)  # it holds the broker's private key
    (node.directory / "log4j.properties").write_text(_KAFKA_LOG4J)
    if (node.directory / "data" / "meta.properties").exists():
        return
    result = subprocess.run(  # noqa: S603 - fixed argv
        [
            *kafka_java(runtime, node, "kafka.tools.StorageTool"),
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(node.properties),
            "--ignore-formatted",
            *(security.scram_arguments() if security else ()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"formatting Kafka's storage failed:\n{result.stdout}{result.stderr}")


def kafka_java(runtime: Runtime, node: KafkaNode, main: str, heap: str = "256m") -> list[str]:
    """The ``java`` command line running one of Kafka's main classes for this node."""
    return [
        str(runtime.java_home / "bin" / "java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{node.directory / 'log4j.properties'}",
        f"-Dkafka.logs.dir={node.directory / 'logs'}",
        "-cp",
        f"{runtime.kafka_libs}/*",
        main,
    ]


def kafka_cluster_id() -> str:
    """A new cluster id (22 characters of URL-safe base64, as ``StorageTool random-uuid``).

    Never one that starts with "-": the storage tool would read it as an option and refuse to
    format (one id in 64; Kafka's own ``Uuid.randomUuid`` draws again for the same reason)."""
    import base64
    import uuid

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


# ---------------------------------------------------------------------------- Elasticsearch


@dataclass(frozen=True)
class ElasticsearchNode:
    """One single-node Elasticsearch cluster's folders and ports."""

    directory: Path
    port: int
    transport_port: int

    @property
    def config(self) -> Path:
        """``ES_PATH_CONF``."""
        return self.directory / "config"


@dataclass(frozen=True)
class ElasticsearchUser:
    """A file-realm user and the one role it has."""

    password: str
    role: str


@dataclass(frozen=True)
class ElasticsearchSecurity:
    """Security on, with TLS on HTTP, and users and roles in files.

    Users and roles live in the file realm (``config/users``, ``config/roles.yml``) because the
    integration-test distribution cannot hold the ``.security`` index that API keys and the
    native realm are stored in: that index's mapping needs the ``pattern_capture`` filter of the
    analysis-common module, which the distribution leaves out. A role in ``roles.yml`` is the
    same role descriptor an API key carries, and Elasticsearch enforces it the same way.
    ``username`` is a superuser for the stack's own readiness probe; the services get ``users``.
    """

    certificate_chain: Path
    private_key: Path
    certificate_authority: Path
    username: str
    password: str
    users: Mapping[str, ElasticsearchUser] = field(default_factory=dict)
    #: Role descriptors by name (``cluster``, ``indices`` …), as the security API takes them.
    roles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    #: Where the node reads its TLS files: the server may only read files under its config.
    TLS_FOLDER = "tls"

    def settings(self) -> list[str]:
        """``elasticsearch.yml`` lines."""
        tls = self.TLS_FOLDER
        return [
            "xpack.security.enabled: true",
            "xpack.security.http.ssl.enabled: true",
            f"xpack.security.http.ssl.certificate: {tls}/http.crt",
            f"xpack.security.http.ssl.key: {tls}/http.key",
            f"xpack.security.http.ssl.certificate_authorities: [{tls}/ca.crt]",
            # One node on loopback: nothing else joins its transport, which TLS would guard.
            "xpack.security.transport.ssl.enabled: false",
        ]

    def install(self, runtime: Runtime, node: ElasticsearchNode) -> None:
        """Copy the TLS files into the node's config, write the roles, create the users."""
        tls = node.config / self.TLS_FOLDER
        tls.mkdir(exist_ok=True)
        for source, name in (
            (self.certificate_chain, "http.crt"),
            (self.private_key, "http.key"),
            (self.certificate_authority, "ca.crt"),
        ):
            shutil.copyfile(source, tls / name)
        (tls / "http.key").chmod(0o600)
        # JSON is YAML: one flow mapping per role.
        roles = "".join(f"{name}: {json.dumps(role)}\n" for name, role in self.roles.items())
        (node.config / "roles.yml").write_text(roles)
        users = {self.username: ElasticsearchUser(self.password, "superuser"), **self.users}
        for name, user in users.items():
            self._add_user(runtime, node, name, user)

    def _add_user(
        self, runtime: Runtime, node: ElasticsearchNode, name: str, user: ElasticsearchUser
    ) -> None:
        existing = node.config / "users"
        if existing.exists() and any(
            line.startswith(f"{name}:") for line in existing.read_text().splitlines()
        ):
            return
        tool = runtime.elasticsearch_home / "bin" / "elasticsearch-users"
        result = subprocess.run(  # noqa: S603 - the distribution's own tool
            [str(tool), "useradd", name, "-p", user.password, "-r", user.role],
            env=elasticsearch_environment(runtime, node),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"elasticsearch-users failed:\n{result.stdout}{result.stderr}")


def elasticsearch_files(
    runtime: Runtime,
    node: ElasticsearchNode,
    heap: str,
    security: ElasticsearchSecurity | None = None,
) -> None:
    """Write the node's configuration; data and logs stay under its folder. Without
    ``security`` the node runs with security off (explicitly: otherwise its first start
    auto-configures TLS and a random password)."""
    config, data, logs = node.config, node.directory / "data", node.directory / "logs"
    for folder in (data, logs, node.directory / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    if not config.exists():
        shutil.copytree(runtime.elasticsearch_home / "config", config)
    # The shipped jvm.options write GC logs and crash files relative to the working directory.
    options = (runtime.elasticsearch_home / "config" / "jvm.options").read_text()
    (config / "jvm.options").write_text(options.replace("logs/", f"{logs}/"))
    (config / "jvm.options.d" / "heap.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")
    security_lines = security.settings() if security else ["xpack.security.enabled: false"]
    (config / "elasticsearch.yml").write_text(
        "\n".join(
            [
                "cluster.name: khabar-local",
                "node.name: khabar-local",
                "discovery.type: single-node",
                "network.host: 127.0.0.1",
                f"http.port: {node.port}",
                f"transport.port: {node.transport_port}",
                f"path.data: {data}",
                f"path.logs: {logs}",
                *security_lines,
                # A nearly full disk must not make the local node refuse to allocate shards.
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "action.destructive_requires_name: false",
                "",
            ]
        )
    )
    if security is not None:
        security.install(runtime, node)
    if os.geteuid() == 0:
        uid, gid = elasticsearch_user()
        for path in (node.directory, *node.directory.rglob("*")):
            os.chown(path, uid, gid)


def elasticsearch_user() -> tuple[int, int]:
    """The unprivileged user Elasticsearch runs as when we are root (created when missing)."""
    try:
        entry = pwd.getpwnam(ES_USER)
    except KeyError:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [  # noqa: S607 - the system's useradd, as root
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                ES_USER,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"could not create the user {ES_USER}: {result.stderr}") from None
        entry = pwd.getpwnam(ES_USER)
    return entry.pw_uid, entry.pw_gid


def make_reachable(path: Path, uid: int, gid: int) -> None:
    """Let the search server's user reach ``path``: each folder on the way that it may not pass
    gets the search bit for others (o+x: pass through, not list), and the change is logged.

    A checkout under ``/root`` or pytest's private temporary folders would otherwise keep
    Elasticsearch from its own files.
    """
    for folder in [*reversed(path.parents), path]:
        info = folder.stat()
        if not stat.S_ISDIR(info.st_mode):
            continue
        if info.st_uid == uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            folder.chmod(info.st_mode | stat.S_IXOTH)
            log.warning("made %s passable (o+x) for %s", folder, ES_USER)
    result = subprocess.run(  # noqa: S603 - fixed argv
        ["test", "-r", str(path)],  # noqa: S607 - coreutils' test
        user=uid,
        group=gid,
        extra_groups=[],
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"Elasticsearch runs as {ES_USER}, who cannot read {path}")


def elasticsearch_environment(runtime: Runtime, node: ElasticsearchNode) -> dict[str, str]:
    """The launcher's environment: which Java, which configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "JAVA_"))}
    env.update(
        ES_JAVA_HOME=str(runtime.java_home),
        ES_PATH_CONF=str(node.config),
        ES_TMPDIR=str(node.directory / "tmp"),
    )
    if os.geteuid() == 0:
        env["HOME"] = str(node.directory)
    return env
