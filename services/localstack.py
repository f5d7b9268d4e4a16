"""The local runtime: Apache Kafka, Elasticsearch and the four services as processes.

``khabar up``, the integration tests, ``make bench`` and ``make chaos`` all use this module. The
servers are the ones production runs (``services/runtime.py`` fetches them from Maven Central):
a KRaft Kafka of one combined broker + controller (or three, for the fault suite) and a
single-node Elasticsearch 8, started in parallel on loopback with readiness checks.

Each child runs in its own session (so a kill reaches the whole process group, e.g. the
Elasticsearch launcher and its server JVM) with a parent-death signal, logs to
``<dir>/logs``, and is stopped with SIGTERM, then SIGKILL after a grace period: services first,
in reverse start order, then the servers together.

With a :class:`StackSecurity` the same servers start locked (``services.runtime``'s
:class:`~services.runtime.KafkaSecurity` and :class:`~services.runtime.ElasticsearchSecurity`):
the services' environment then carries the Kafka user, the CA file and ``https://``, and the
readiness probes log in as a client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime import (
    DEFAULT_RUNTIME_DIR,
    ElasticsearchNode,
    ElasticsearchSecurity,
    KafkaNode,
    KafkaSecurity,
    Runtime,
    elasticsearch_environment,
    elasticsearch_files,
    elasticsearch_user,
    ensure_runtime,
    kafka_cluster_id,
    kafka_java,
    kafka_node_files,
    make_reachable,
)
from shared.errors import StackError
from shared.settings import (
    ApiSettings,
    EnrichSettings,
    IndexSettings,
    IngestSettings,
    KhabarSettings,
)

SERVICES = ("enrich", "index", "ingest", "api")
_PR_SET_PDEATHSIG = 1


def gateway_argv(port: int, *options: str) -> list[str]:
    """uvicorn serving the gateway's app factory on ``127.0.0.1:port`` (warnings only), plus
    ``options`` (``--workers N``, ...): for runs that need uvicorn's own switches."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "services.api.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *options,
    ]


def free_port(avoid: Collection[int] = ()) -> int:
    """A TCP port nobody listens on right now, and not one of ``avoid``."""
    return free_ports(1, avoid)[0]


def free_ports(count: int, avoid: Collection[int] = ()) -> list[int]:
    """``count`` different TCP ports nobody listens on right now, none of ``avoid`` (ports
    chosen earlier but not listened on yet): each socket stays bound until all are chosen (one
    at a time, the kernel may hand out the same port twice — a stack once got its search
    server's port for ingest too)."""
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        while len(ports) < count:
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in avoid:
                ports.append(port)
        return ports


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """Runs in the child before exec (after any change of user): get SIGTERM when the parent
    dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One process of the stack (the leader of its own process group)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], bool]
    #: uid and gid to run as (Elasticsearch refuses root); None = ours.
    user: tuple[int, int] | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process, logging to its file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        uid, gid = self.user or (None, None)
        self.process = subprocess.Popen(  # noqa: S603 - argv is built here, not from user text
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=uid,
            group=gid,
            extra_groups=[] if self.user else None,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for the parent-death signal
        )
        log.close()

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM) without waiting."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, wait, then SIGKILL the process group; returns the exit code."""
        if self.process is None:
            return None
        self.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
        self._kill_group()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self._kill_group()
            self.process.wait(10)

    def _kill_group(self) -> None:
        # Also what the leader left behind (Elasticsearch's server JVM is its launcher's child).
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        """The end of the process's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def http_ready(
    url: str, *, verify: str | bool = True, auth: tuple[str, str] | None = None
) -> Callable[[], bool]:
    """A readiness probe: GET answers 200 (``verify``: a CA file for an ``https://`` URL)."""

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=5.0, verify=verify, auth=auth).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def kafka_ready(
    bootstrap: str, brokers: int, options: Mapping[str, Any] | None = None
) -> Callable[[], bool]:
    """A readiness probe: the cluster answers metadata requests and has all its brokers.

    An open port is not enough: a KRaft node binds its listener long before it serves.
    ``options`` are the client's connection options (``shared.kafka.client_options``) for a
    secured listener.
    """

    async def describe() -> int:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(
            **{"bootstrap_servers": bootstrap, **(options or {})}, request_timeout_ms=3_000
        )
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return len(cluster["brokers"])
        finally:
            await admin.close()

    def probe() -> bool:
        if not port_open(int(bootstrap.split(",")[0].rsplit(":", 1)[1])):  # cheap first look
            return False
        # A thread of its own: the caller may already run an event loop (pytest-asyncio).
        with ThreadPoolExecutor(1) as pool:
            try:
                return pool.submit(asyncio.run, describe()).result(timeout=15) >= brokers
            except Exception:  # noqa: BLE001 - not ready, whatever the reason
                return False

    return probe


class StackSettings(BaseSettings):
    """``khabar up``'s own settings (``KHABAR_STACK_*``): the servers' ports and heaps."""

    model_config = SettingsConfigDict(env_prefix="KHABAR_STACK_", extra="ignore", frozen=True)

    kafka_port: int = Field(default=9092, ge=1, le=65535)
    elasticsearch_port: int = Field(default=9200, ge=1, le=65535)
    kafka_heap: str = Field(default="384m", pattern=r"^\d+[mg]$")
    elasticsearch_heap: str = Field(default="512m", pattern=r"^\d+[mg]$")
    runtime_dir: Path = Field(
        default=DEFAULT_RUNTIME_DIR, description="Where Maven unpacks Kafka and Elasticsearch."
    )
    java_home: Path | None = Field(default=None, description="A Java 17 or 21 to run them.")


def _default(settings: type[BaseSettings], name: str) -> int:
    value = settings.model_fields[name].default
    assert isinstance(value, int)
    return value


@dataclass
class StackPorts:
    """Where each part of the stack listens (by default, the settings classes' defaults)."""

    kafka: int = _default(StackSettings, "kafka_port")
    elasticsearch: int = _default(StackSettings, "elasticsearch_port")
    api: int = _default(ApiSettings, "api_port")
    ingest: int = _default(IngestSettings, "ingest_port")
    enrich: int = _default(EnrichSettings, "enrich_port")
    index: int = _default(IndexSettings, "index_port")

    @classmethod
    def free(cls) -> StackPorts:
        """Free ports for everything (tests)."""
        return cls(*free_ports(6))

    @classmethod
    def from_environment(cls) -> StackPorts:
        """The ports ``khabar up`` uses: ``KHABAR_STACK_*_PORT`` and the services' settings."""
        stack = StackSettings()
        return cls(
            kafka=stack.kafka_port,
            elasticsearch=stack.elasticsearch_port,
            api=ApiSettings().api_port,
            ingest=IngestSettings().ingest_port,
            enrich=EnrichSettings().enrich_port,
            index=IndexSettings().index_port,
        )


@dataclass(frozen=True)
class StackSecurity:
    """A locked stack: SASL/SCRAM over TLS on Kafka, TLS and authentication on Elasticsearch.

    ``kafka_user`` (one of ``kafka.users``) is the login every service gets; Elasticsearch
    credentials are not given to the services by default — each gets its own file-realm user
    whose role allows only what it needs (``elasticsearch.users``, see
    ``tests/integration/test_security.py``), and the superuser only serves the stack itself.
    """

    kafka: KafkaSecurity
    elasticsearch: ElasticsearchSecurity
    #: The CA that signed both servers' certificates (what clients trust).
    ca_file: Path
    kafka_user: str

    def kafka_env(self) -> dict[str, str]:
        """The ``KHABAR_KAFKA_*`` variables of a client logging in as ``kafka_user``."""
        return {
            "KHABAR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KHABAR_KAFKA_SASL_MECHANISM": self.kafka.mechanism,
            "KHABAR_KAFKA_USERNAME": self.kafka_user,
            "KHABAR_KAFKA_PASSWORD": self.kafka.users[self.kafka_user],
            "KHABAR_KAFKA_SSL_CAFILE": str(self.ca_file),
        }


@dataclass
class LocalStack:
    """Starts and stops the broker(s), the search server and the services."""

    directory: Path
    ports: StackPorts = field(default_factory=StackPorts)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)
    #: KRaft nodes, each broker and controller; three give replication factor 3 and
    #: ``min.insync.replicas`` 2 (the fault suite's cluster).
    kafka_nodes: int = 1
    settings: StackSettings = field(default_factory=StackSettings)
    #: Lock the servers (None: plaintext, no authentication — the development stack).
    security: StackSecurity | None = None
    _runtime: Runtime | None = field(default=None, repr=False)
    _nodes: list[KafkaNode] = field(default_factory=list, repr=False)
    _search: ElasticsearchNode | None = field(default=None, repr=False)

    @property
    def runtime(self) -> Runtime:
        """The servers' files (fetched by Maven on first use)."""
        if self._runtime is None:
            self._runtime = ensure_runtime(self.settings.runtime_dir, self.settings.java_home)
        return self._runtime

    def _taken_ports(self) -> list[int]:
        """Ports this stack has chosen and will listen on (none can be chosen again)."""
        search = [self._search.transport_port] if self._search is not None else []
        nodes = [
            port
            for node in self._nodes
            for port in (node.port, node.controller_port, node.internal_port)
            if port is not None
        ]
        return [*dataclasses.astuple(self.ports), *search, *nodes]

    @property
    def kafka(self) -> list[KafkaNode]:
        """The KRaft nodes: the first on ``ports.kafka``, the others on free ports."""
        if not self._nodes:
            n = self.kafka_nodes
            extra = free_ports((n - 1) + n + (n if self.security else 0), self._taken_ports())
            ports = [self.ports.kafka, *extra[: n - 1]]
            controllers = extra[n - 1 : 2 * n - 1]
            internal: list[int | None] = [*extra[2 * n - 1 :]] or [None] * n
            self._nodes = [
                KafkaNode(
                    i + 1,
                    port,
                    controllers[i],
                    self.directory / "kafka" / f"node-{i + 1}",
                    internal_port=internal[i],
                )
                for i, port in enumerate(ports)
            ]
        return self._nodes

    @property
    def kafka_bootstrap(self) -> str:
        """Bootstrap addresses of the local brokers."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.kafka)

    @property
    def elasticsearch_url(self) -> str:
        """URL of the local search server (``https://`` when secured)."""
        scheme = "https" if self.security else "http"
        return f"{scheme}://127.0.0.1:{self.ports.elasticsearch}"

    def kafka_client_settings(self) -> KhabarSettings:
        """A client's settings for the local brokers (logged in as the services are)."""
        env = self.security.kafka_env() if self.security else {}
        return KhabarSettings.model_validate(
            {
                "kafka_bootstrap": self.kafka_bootstrap,
                **{k.removeprefix("KHABAR_").lower(): v for k, v in env.items()},
            }
        )

    @property
    def api_url(self) -> str:
        """URL of the API."""
        return f"http://127.0.0.1:{self.ports.api}"

    def service_env(self) -> dict[str, str]:
        """Environment for the services: everything through KHABAR_* variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KHABAR_")}
        env.update(
            KHABAR_KAFKA_BOOTSTRAP=self.kafka_bootstrap,
            KHABAR_ELASTICSEARCH_URL=self.elasticsearch_url,
            KHABAR_TOPIC_REPLICATION_FACTOR=str(min(3, self.kafka_nodes)),
            KHABAR_API_PORT=str(self.ports.api),
            KHABAR_INGEST_PORT=str(self.ports.ingest),
            KHABAR_ENRICH_PORT=str(self.ports.enrich),
            KHABAR_INDEX_PORT=str(self.ports.index),
            KHABAR_DATA_DIR=str(self.directory / "data"),
            KHABAR_INGEST_WATCH_DIR=str(self.directory / "inbox"),
            PYTHONUNBUFFERED="1",
        )
        if self.security:
            env.update(self.security.kafka_env())
            env["KHABAR_ELASTICSEARCH_CA_CERTS"] = str(self.security.ca_file)
        env.update(
            {k: v for k, v in os.environ.items() if k.startswith("KHABAR_") and k not in env}
        )
        env.update(self.extra_env)
        return env

    # ------------------------------------------------------------------ infrastructure

    def kafka_name(self, node: KafkaNode) -> str:
        """``kafka``, or ``kafka-N`` in a cluster."""
        return "kafka" if self.kafka_nodes == 1 else f"kafka-{node.node_id}"

    def broker_child(self, node_id: int = 1) -> Child:
        """One Kafka node's process (its storage formatted on first use)."""
        node = self.kafka[node_id - 1]
        id_file = self.directory / "kafka" / "cluster.id"
        if not id_file.exists():
            id_file.parent.mkdir(parents=True, exist_ok=True)
            id_file.write_text(kafka_cluster_id())
        kafka_node_files(
            self.runtime,
            node,
            self.kafka,
            id_file.read_text().strip(),
            self.security.kafka if self.security else None,
        )
        argv = kafka_java(self.runtime, node, "kafka.Kafka", heap=self.settings.kafka_heap)
        name = self.kafka_name(node)
        return Child(
            name,
            [*argv, str(node.properties)],
            dict(os.environ),
            self.directory / "logs" / f"{name}.log",
            # A cluster serves once every broker has registered with the controller quorum.
            kafka_ready(f"127.0.0.1:{node.port}", self.kafka_nodes, self._kafka_probe_options()),
        )

    def _kafka_probe_options(self) -> dict[str, Any]:
        from shared.kafka import client_options

        options = client_options(self.kafka_client_settings())
        options.pop("bootstrap_servers")
        return options

    def search_child(self) -> Child:
        """The Elasticsearch process (as ``khabar-es`` when we are root)."""
        if self._search is None:
            transport = free_port(self._taken_ports())
            self._search = ElasticsearchNode(
                self.directory / "elasticsearch", self.ports.elasticsearch, transport
            )
        node = self._search
        security = self.security.elasticsearch if self.security else None
        elasticsearch_files(self.runtime, node, self.settings.elasticsearch_heap, security)
        user = None
        if os.geteuid() == 0:
            user = elasticsearch_user()
            make_reachable(self.runtime.elasticsearch_home / "lib", *user)
            make_reachable(node.config / "elasticsearch.yml", *user)
        return Child(
            "elasticsearch",
            [str(self.runtime.elasticsearch_home / "bin" / "elasticsearch")],
            elasticsearch_environment(self.runtime, node),
            self.directory / "logs" / "elasticsearch.log",
            http_ready(
                f"{self.elasticsearch_url}/_cluster/health?wait_for_status=yellow&timeout=1s",
                verify=str(self.security.ca_file) if self.security else True,
                auth=(security.username, security.password) if security else None,
            ),
            user=user,
        )

    def service_child(
        self, name: str, env: Mapping[str, str] | None = None, suffix: str = ""
    ) -> Child:
        """One Khabar service process (``khabar serve NAME``)."""
        port = getattr(self.ports, name)
        merged = {**self.service_env(), **(env or {})}
        port = int(merged.get(f"KHABAR_{name.upper()}_PORT", port))
        return Child(
            f"{name}{suffix}",
            [sys.executable, "-m", "services.cli", "serve", name],
            merged,
            self.directory / "logs" / f"{name}{suffix}.log",
            http_ready(f"http://127.0.0.1:{port}/readyz"),
        )

    # ------------------------------------------------------------------ lifecycle

    def _await_ready(self, children: list[Child], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for child in children:
            while not child.ready():
                if not child.alive():
                    raise StackError(f"{child.name} exited during start-up:\n{child.tail()}")
                if time.monotonic() > deadline:
                    raise StackError(
                        f"{child.name} not ready after {timeout:.0f}s:\n{child.tail()}"
                    )
                time.sleep(0.25)

    def start_children(self, children: list[Child], timeout: float = 120.0) -> None:
        """Start children together, then wait until each is ready (or fail with its log)."""
        for child in children:
            if child.name in self.children and self.children[child.name].alive():
                raise StackError(f"{child.name} is already running")
        for child in children:
            child.start()
            self.children[child.name] = child
        self._await_ready(children, timeout)

    def start_child(self, child: Child, timeout: float = 120.0) -> Child:
        """Start one child and wait until it is ready."""
        self.start_children([child], timeout)
        return child

    def start_infrastructure(self, timeout: float = 180.0) -> None:
        """Start the Kafka node(s) and Elasticsearch side by side; wait for both."""
        for port, what in (
            *((node.port, "Kafka") for node in self.kafka),
            (self.ports.elasticsearch, "Elasticsearch"),
        ):
            if port_open(port):
                raise StackError(
                    f"port {port} for {what} is taken; set KHABAR_STACK_*_PORT or stop it"
                )
        self.directory.mkdir(parents=True, exist_ok=True)
        brokers = [self.broker_child(node.node_id) for node in self.kafka]
        self.start_children([*brokers, self.search_child()], timeout)

    def start_services(self, names: tuple[str, ...] = SERVICES, timeout: float = 120.0) -> None:
        """Start services; they start in parallel and are then awaited in order."""
        for port, name in ((getattr(self.ports, n), n) for n in names):
            if port_open(port):
                raise StackError(f"port {port} for {name} is taken")
        self.start_children([self.service_child(name) for name in names], timeout)

    def stop(self, grace: float = 15.0) -> dict[str, int | None]:
        """Stop every child: services in reverse start order, then the servers together
        (a Kafka node waits for its quorum when stopped alone)."""
        codes: dict[str, int | None] = {}
        servers = [c for c in self.children.values() if c.name.startswith(("kafka", "elastic"))]
        for child in reversed([c for c in self.children.values() if c not in servers]):
            codes[child.name] = child.stop(grace)
        for child in servers:
            child.terminate()
        for child in servers:
            codes[child.name] = child.stop(grace)
        self.children.clear()
        return codes

    def clean(self) -> None:
        """Remove the stack's directory."""
        shutil.rmtree(self.directory, ignore_errors=True)
