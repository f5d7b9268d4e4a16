"""Fault injection on the real local chain: kill and starve services and servers, then count.

``make chaos`` runs every scenario at a larger N than the integration tests and writes
``bench/chaos.json`` plus a Markdown table for the README; ``tests/integration/test_faults.py``
runs the same scenarios at a small N and asserts the counts. The servers are the real ones
(Apache Kafka in KRaft mode and Elasticsearch 8, ``services/localstack.py``): most scenarios
share one stack with a single broker; losing one broker for good needs a cluster of three
(replication factor 3, ``min.insync.replicas`` 2, producers with ``acks=all``), a stack of its
own. Each scenario publishes its own tagged articles straight to ``articles.raw`` — half before
the fault, half while it lasts or once it is over, so the fault always meets work in flight —
and ends with exact counts read from the search server itself (by id, and by the run's
``source`` tag):

- ``indexed``: expected ids present; ``duplicated``: documents of the run beyond its distinct ids;
- ``redelivered``: ``articles.enriched`` records beyond one per article — at-least-once
  redeliveries that the idempotent ``_id`` absorbed;
- ``dead_lettered``: the run's records in ``articles.dlq`` (a fault must never create one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from aiokafka.admin import AIOKafkaAdminClient

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.dlq import decode_letter, read_topic  # noqa: E402
from services.localstack import SERVICES, Child, LocalStack, StackPorts, free_port  # noqa: E402
from services.runtime import pom_versions  # noqa: E402
from shared.ids import article_id  # noqa: E402
from shared.kafka import client_options, encode_event, event_headers, make_producer  # noqa: E402
from shared.models import RawArticle  # noqa: E402
from shared.settings import KhabarSettings  # noqa: E402
from shared.streaming import app_id  # noqa: E402

T = TypeVar("T")

DEMO = REPO / "demo" / "articles.jsonl"
WORKERS = ("enrich", "index")
#: The cluster's stack: the workers, and ingest because it creates the topics (with the stack's
#: replication factor) as it does in production; the API has no part in the broker-loss run.
CLUSTER_SERVICES = ("ingest", *WORKERS)
#: What the stack runs with in every fault scenario: small batches so a kill meets a batch in
#: flight, four partitions so two enrich workers share the topic.
STACK_ENV = {
    "KHABAR_TOPIC_PARTITIONS": "4",
    "KHABAR_INDEX_BATCH_SIZE": "50",
    "KHABAR_INDEX_BATCH_SECONDS": "0.3",
    "KHABAR_LOG_LEVEL": "INFO",
}


@dataclass
class FaultResult:
    """What one scenario sent and what came out the other end."""

    fault: str
    sent: int
    indexed: int = 0
    missing: int = 0
    duplicated: int = 0
    dead_lettered: int = 0
    redelivered: int = 0
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


class FaultLab:
    """A local stack plus the probes a fault scenario needs: publish, count, kill, restart."""

    def __init__(
        self, directory: Path, extra_env: dict[str, str] | None = None, kafka_nodes: int = 1
    ) -> None:
        self.stack = LocalStack(
            directory,
            StackPorts.free(),
            {**STACK_ENV, **(extra_env or {})},
            kafka_nodes=kafka_nodes,
        )
        self.settings = KhabarSettings(
            kafka_bootstrap=self.stack.kafka_bootstrap,
            elasticsearch_url=self.stack.elasticsearch_url,
        )
        self.http = httpx.Client(base_url=self.stack.elasticsearch_url, timeout=30)
        self.alias = self.settings.index_alias

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    @contextlib.contextmanager
    def running(
        cls,
        directory: Path,
        kafka_nodes: int = 1,
        services: Sequence[str] = SERVICES,
    ) -> Iterator[FaultLab]:
        """A started lab, stopped on exit; a failure prints the end of every child's log."""
        lab = cls(directory, kafka_nodes=kafka_nodes)
        try:
            lab.start(services)
            yield lab
        except BaseException:
            for child in lab.stack.children.values():
                print(f"--- {child.name}\n{child.tail(60)}", file=sys.stderr)
            raise
        finally:
            lab.close()

    def start(self, services: Sequence[str] = SERVICES) -> None:
        """Broker(s), search server and the services, ready."""
        self.stack.start_infrastructure()
        self.stack.start_services(tuple(services), timeout=240)

    def close(self) -> dict[str, int | None]:
        """Stop everything."""
        self.http.close()
        return self.stack.stop()

    def child(self, name: str) -> Child:
        """A running child by name (``enrich``, ``enrich-2``, ``elasticsearch``…)."""
        return self.stack.children[name]

    def kill(self, *names: str) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        for name in names:
            self.child(name).kill()

    def restart(self, name: str, env: dict[str, str] | None = None, suffix: str = "") -> float:
        """Start a service process again; returns seconds until it answered ``/readyz``."""
        return self._start(self.stack.service_child(name, env, suffix), timeout=240)

    def broker_name(self, node_id: int) -> str:
        """The child name of a Kafka node (``kafka``, or ``kafka-N`` in a cluster)."""
        return self.stack.kafka_name(self.stack.kafka[node_id - 1])

    def restart_broker(self, node_id: int = 1) -> float:
        """Start a killed Kafka node again (same port, same log directory); seconds until it
        answered metadata requests with the whole cluster registered."""
        return self._start(self.stack.broker_child(node_id), timeout=120)

    def restart_search(self) -> float:
        """Start the search server again (same port, same data); seconds until it is yellow."""
        return self._start(self.stack.search_child(), timeout=120)

    def _start(self, child: Child, timeout: float) -> float:
        started = time.monotonic()
        self.stack.start_child(child, timeout=timeout)
        return time.monotonic() - started

    def enrichments(self) -> float:
        """Articles the ``enrich`` process has enriched since it started.

        Over a run in which it lives on, this minus N is how many inputs it enriched again
        (redelivered after an uncommitted offset); when that equals ``redelivered``, every
        extra record in ``articles.enriched`` is such a re-enrichment and none a duplicate
        written by a producer retry.
        """
        return self.metric(self.stack.ports.enrich, "enrich_articles_total")

    def ready(self) -> dict[str, bool]:
        """Whether each running service (on its usual port) answers ``/readyz`` with 200."""
        answers = {}
        for name in SERVICES:
            if name in self.stack.children and self.child(name).alive():
                port = getattr(self.stack.ports, name)
                try:
                    status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code
                except httpx.HTTPError:
                    status = 0
                answers[name] = status == 200
        return answers

    def terminate(self, name: str, grace: float = 10.0) -> tuple[int | None, float]:
        """SIGTERM, SIGKILL if still alive after ``grace``; the exit code and seconds taken."""
        started = time.monotonic()
        code = self.child(name).stop(grace)
        return code, time.monotonic() - started

    def rss_mb(self, name: str) -> float:
        """Resident memory of a child process, MB."""
        process = self.child(name).process
        assert process is not None
        return float(psutil.Process(process.pid).memory_info().rss) / 1024**2

    def metric(self, port: int, name: str) -> float:
        """Sum of a Prometheus counter over its labels, scraped from a service."""
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith("#")
        )

    # ------------------------------------------------------------------ articles

    def articles(self, tag: str, n: int) -> list[RawArticle]:
        """N distinct, realistic articles (demo texts in three languages), tagged by source."""
        templates = [json.loads(line) for line in DEMO.read_text().splitlines() if line.strip()]
        made = []
        for i in range(n):
            template = templates[i % len(templates)]
            url = f"https://chaos.example/{tag}/{i}"
            made.append(
                RawArticle(
                    id=article_id(url=url, title=None, body=""),
                    url=url,
                    source=tag,
                    title=template.get("title"),
                    body=f"{template['body']}\n\n{tag} {i}",
                )
            )
        return made

    def publish(self, articles: Sequence[RawArticle]) -> None:
        """Publish to ``articles.raw`` the way ingest does (key = id, acks from all)."""

        async def send() -> None:
            producer = make_producer(self.settings)
            await producer.start()
            try:
                for article in articles:
                    await producer.send(
                        self.settings.topics.raw,
                        encode_event(article),
                        key=article.id.encode(),
                        headers=event_headers(article=article),
                    )
                await producer.flush()
            finally:
                await producer.stop()

        asyncio.run(send())

    # ------------------------------------------------------------------ counting

    def search_up(self) -> bool:
        """True while the search server answers (this distribution has no ``GET /``)."""
        try:
            return self.http.get("/_cluster/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def found(self, ids: Sequence[str]) -> set[str]:
        """Which of these ids the search server holds (after a refresh)."""
        self.http.post(f"/{self.alias}/_refresh")
        response = self.http.post(
            f"/{self.alias}/_search",
            json={"query": {"ids": {"values": list(ids)}}, "size": len(ids), "_source": False},
        )
        response.raise_for_status()
        return {hit["_id"] for hit in response.json()["hits"]["hits"]}

    def documents_tagged(self, tag: str) -> int:
        """Documents of one run, whatever their ids (duplicates would show up here)."""
        response = self.http.post(
            f"/{self.alias}/_count", json={"query": {"term": {"source": tag}}}
        )
        response.raise_for_status()
        count: int = response.json()["count"]
        return count

    def wait(self, what: str, predicate: Callable[[], Any], timeout: float) -> Any:
        """Poll until the predicate is truthy; fail with the last value after ``timeout``."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
            except httpx.HTTPError as exc:
                value = exc
            else:
                if value:
                    return value
            time.sleep(0.5)
        raise TimeoutError(f"{what}: not reached within {timeout:.0f}s (last: {value!r})")

    def wait_indexed(self, ids: Sequence[str], at_least: int | None = None, timeout: float = 240):
        """Wait until ``at_least`` (default: all) of the ids are searchable."""
        goal = len(ids) if at_least is None else at_least
        return self.wait(
            f"{goal} of {len(ids)} indexed", lambda: len(self.found(ids)) >= goal, timeout
        )

    def deliveries(self, ids: set[str]) -> Counter[str]:
        """How many times each article reached ``articles.enriched``."""
        records = asyncio.run(read_topic(self.settings, self.settings.topics.enriched))
        keys = (record.key.decode() for record in records if record.key)
        return Counter(key for key in keys if key in ids)

    def dead_letters(self, ids: set[str]) -> int:
        """The run's records in ``articles.dlq``."""
        records = asyncio.run(read_topic(self.settings, self.settings.topics.dlq))
        return sum(1 for record in records if decode_letter(record).article_id in ids)

    def admin(self, ask: Callable[[AIOKafkaAdminClient], Awaitable[T]]) -> T:
        """One question to the cluster, asked with a short-lived admin client."""

        async def run() -> T:
            admin = AIOKafkaAdminClient(**client_options(self.settings))
            await admin.start()
            try:
                return await ask(admin)
            finally:
                await admin.close()

        return asyncio.run(run())

    def committed(self, group: str, topic: str) -> int:
        """Sum of a consumer group's committed offsets on a topic (how far it acknowledged)."""

        async def fetch(admin: AIOKafkaAdminClient) -> int:
            # No partitions named: the coordinator answers for every one the group committed,
            # so the sum never rests on a guess of how many partitions the topic has.
            offsets = await admin.list_consumer_group_offsets(group)
            return sum(m.offset for tp, m in offsets.items() if tp.topic == topic and m.offset > 0)

        return self.admin(fetch)

    def coordinator(self, group: str) -> int:
        """The node id of the broker that coordinates a consumer group."""

        return self.admin(lambda admin: admin.find_coordinator(group))

    def partitions(self) -> dict[str, list[dict[str, Any]]]:
        """Each chain topic's partitions as the cluster reports them: leader, replicas, ISR."""
        keys = ("partition", "leader", "replicas", "isr")

        async def describe(admin: AIOKafkaAdminClient) -> dict[str, list[dict[str, Any]]]:
            described = await admin.describe_topics(list(self.settings.topics.all()))
            return {
                topic["topic"]: sorted(
                    ({key: part[key] for key in keys} for part in topic["partitions"]),
                    key=lambda part: part["partition"],
                )
                for topic in described
            }

        return self.admin(describe)

    def tally(self, result: FaultResult, tag: str, articles: Sequence[RawArticle]) -> FaultResult:
        """Fill in the exact counts of a finished run."""
        ids = [article.id for article in articles]
        present = self.found(ids)
        result.indexed = len(present)
        result.missing = len(ids) - len(present)
        result.duplicated = self.documents_tagged(tag) - len(present)
        delivered = self.deliveries(set(ids))
        result.redelivered = sum(delivered.values()) - len(delivered)
        result.dead_lettered = self.dead_letters(set(ids))
        return result


# ---------------------------------------------------------------------- scenarios


@dataclass
class Run:
    """One scenario's articles, tag and clock; its first half is published on creation."""

    lab: FaultLab
    result: FaultResult
    tag: str = ""
    articles: list[RawArticle] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def begin(cls, lab: FaultLab, name: str, fault: str, n: int, warm: bool = True) -> Run:
        """Tagged articles; with ``warm``, publish half and wait until some are indexed."""
        tag = f"{name}-{int(time.time())}"
        articles = lab.articles(tag, n)
        run = cls(lab, FaultResult(fault, n), tag, articles, [a.id for a in articles])
        if warm:
            lab.publish(articles[: n // 2])
            lab.wait_indexed(run.ids[: n // 2], at_least=max(1, n // 10))
        return run

    @property
    def rest(self) -> list[RawArticle]:
        """The second half, published once the fault has struck."""
        return self.articles[len(self.articles) // 2 :]

    def resume(self, since: float, timeout: float = 240) -> dict[str, float]:
        """Publish the second half in the background while the chain recovers from a fault
        struck at ``since``; seconds from ``since`` until the broker acknowledged all of it and
        until the first of it was searchable (produce, enrich, produce again, index: the whole
        chain moving again)."""
        ids = [article.id for article in self.rest]
        with ThreadPoolExecutor(1) as pool:
            published = pool.submit(self._publish, self.rest, since)

            def first_indexed() -> set[str]:
                if published.done():
                    published.result()  # a failed publish fails now, not at the timeout
                return self.lab.found(ids)

            self.lab.wait("a new article indexed", first_indexed, timeout)
            indexed = time.monotonic() - since
            acknowledged = published.result(timeout)
        return {"published": round(acknowledged, 1), "first_new_indexed": round(indexed, 1)}

    def _publish(self, articles: Sequence[RawArticle], since: float) -> float:
        self.lab.publish(articles)
        return time.monotonic() - since

    def finish(self) -> FaultResult:
        """Wait until every article is indexed, then count exactly."""
        self.lab.wait_indexed(self.ids)
        self.result.seconds = round(time.monotonic() - self.started, 1)
        return self.lab.tally(self.result, self.tag, self.articles)


def kill_workers(lab: FaultLab, n: int) -> FaultResult:
    """SIGKILL enrich and index mid-run, publish more while they are dead, restart them."""
    run = Run.begin(lab, "kill", "enrich + index SIGKILLed and restarted", n)
    lab.kill(*WORKERS)
    run.result.details["indexed_at_kill"] = len(lab.found(run.ids))
    lab.publish(run.articles[n // 2 :])
    restarts = {name: round(lab.restart(name), 1) for name in WORKERS}
    run.result.details["restart_seconds"] = restarts
    return run.finish()


def search_outage(lab: FaultLab, n: int, outage: float = 20.0, crash: bool = False) -> FaultResult:
    """Stop the search server for ``outage`` seconds mid-run, same data dir and port after.

    With ``crash`` it is SIGKILLed instead of stopped: what it had acknowledged comes back from
    its translog (fsynced before each bulk is answered) when it starts again, and the index
    service commits offsets only after a bulk was acknowledged, so the rest is redelivered.
    """
    if crash:
        run = Run.begin(lab, "crash", f"search server SIGKILLed, restarted after {outage:.0f} s", n)
    else:
        run = Run.begin(lab, "outage", f"search server down {outage:.0f} s", n)
    group, topic = app_id("index", lab.settings), lab.settings.topics.enriched
    retries = lab.metric(lab.stack.ports.index, "index_bulk_retries_total")
    acknowledged = sorted(lab.found(run.ids))
    if crash:
        lab.kill("elasticsearch")
    else:
        lab.child("elasticsearch").stop()
    down_at = time.monotonic()
    lab.publish(run.articles[n // 2 :])
    rss_before = lab.rss_mb("index")
    time.sleep(min(3.0, outage))  # the last in-flight commit lands within the commit interval
    committed_early = lab.committed(group, topic)
    time.sleep(max(0.0, outage - (time.monotonic() - down_at)))
    run.result.details.update(
        committed_offsets_during_outage=[committed_early, lab.committed(group, topic)],
        index_alive_after_outage=lab.child("index").alive(),
        index_rss_mb=[round(rss_before, 1), round(lab.rss_mb("index"), 1)],
        search_answered_during_outage=lab.search_up(),
    )
    restart = lab.restart_search()
    # Read at once: documents the index service wrote before the fault and will not send again
    # (their offsets were committed) are there only if the server itself kept them.
    run.result.details.update(
        restart_seconds=round(restart, 1),
        indexed_before_fault=len(acknowledged),
        of_those_after_restart=len(lab.found(acknowledged)) if acknowledged else 0,
    )
    result = run.finish()
    result.details["retries"] = (
        lab.metric(lab.stack.ports.index, "index_bulk_retries_total") - retries
    )
    return result


def takeover(lab: FaultLab, n: int) -> FaultResult:
    """Two enrich workers in one group; SIGKILL one with work in flight; the survivor finishes.

    Warm-up chunks go out until both workers have enriched some of them (so both own
    partitions); then half the rest is published and the first worker killed at once, and the
    last part published while it is dead — only the survivor can enrich that.
    """
    run = Run.begin(lab, "takeover", "2 enrich workers, one SIGKILLed", n, warm=False)
    articles, ids = run.articles, run.ids
    ports = {"enrich": lab.stack.ports.enrich, "enrich-2": free_port()}
    lab.restart("enrich", {"KHABAR_ENRICH_PORT": str(ports["enrich-2"])}, suffix="-2")

    def enriched() -> dict[str, float]:
        return {name: lab.metric(port, "enrich_articles_total") for name, port in ports.items()}

    baseline, sent, chunk = enriched(), 0, max(1, n // 20)
    while sent < n // 2:
        lab.publish(articles[sent : sent + chunk])
        sent += chunk
        lab.wait_indexed(ids[:sent])
        if all(enriched()[name] > baseline[name] for name in ports):
            break
    before_kill = enriched()
    rest = n - sent
    lab.publish(articles[sent : sent + rest // 2])
    lab.kill("enrich")
    killed_at = time.monotonic()
    lab.publish(articles[sent + rest // 2 :])
    lab.wait_indexed(ids)
    run.result.details.update(
        warmup_enriched={name: before_kill[name] - baseline[name] for name in ports},
        published_after_kill=n - sent - rest // 2,
        survivor_enriched_after_kill=lab.metric(ports["enrich-2"], "enrich_articles_total")
        - before_kill["enrich-2"],
        takeover_seconds=round(time.monotonic() - killed_at, 1),
    )
    return run.finish()


def sigterm(lab: FaultLab, n: int, grace: float = 10.0) -> FaultResult:
    """SIGTERM every worker mid-run (each must exit within ``grace`` and hand work back)."""
    run = Run.begin(lab, "sigterm", "SIGTERM mid-run, restarted", n)
    workers = [
        name
        for name, child in lab.stack.children.items()
        if child.alive() and name.split("-")[0] in WORKERS
    ]
    exits = {}
    for name in workers:
        code, seconds = lab.terminate(name, grace)
        exits[name] = {"code": code, "seconds": round(seconds, 2)}
    run.result.details["exits"] = exits
    run.result.details["indexed_at_sigterm"] = len(lab.found(run.ids))
    lab.publish(run.articles[n // 2 :])
    for name in WORKERS:
        if not (name in lab.stack.children and lab.child(name).alive()):
            lab.restart(name)
    return run.finish()


def broker_restart(lab: FaultLab, n: int, down: float = 5.0) -> FaultResult:
    """SIGKILL the only broker mid-run and start it again after ``down`` seconds, same log.

    What it acknowledged was written to its log files (the page cache outlives the process),
    the groups' committed offsets too; every client must reconnect and carry on where it was.
    """
    enrichments = lab.enrichments()
    run = Run.begin(lab, "broker-kill", f"broker SIGKILLed, restarted after {down:.0f} s", n)
    run.result.details["indexed_at_kill"] = len(lab.found(run.ids))
    lab.kill(lab.broker_name(1))
    time.sleep(down)
    run.result.details["restart_seconds"] = round(lab.restart_broker(1), 1)
    # From the moment the broker serves again: how long the clients take to find it.
    run.result.details["seconds_after_restart"] = run.resume(time.monotonic())
    result = run.finish()
    result.details.update(
        reprocessed=int(lab.enrichments() - enrichments) - n, ready_after=lab.ready()
    )
    return result


def broker_loss(lab: FaultLab, n: int) -> FaultResult:
    """SIGKILL one broker of a three-node cluster mid-run and never bring it back.

    The victim is the enrich group's coordinator, so the group's coordination moves as well as
    the leadership of the partitions it led. With replication factor 3, ``min.insync.replicas``
    2 and ``acks=all``, every acknowledged record is on a survivor: the controllers fence the
    dead node, its partitions get leaders among the in-sync survivors, the clients follow.
    ``seconds_after_kill`` is how long the chain stood still.
    """
    # Chosen before the run starts, so that the kill follows the warm-up at once.
    coordinators = {
        group: lab.coordinator(group) for group in (app_id(w, lab.settings) for w in WORKERS)
    }
    victim = coordinators[app_id("enrich", lab.settings)]
    before = lab.partitions()
    enrichments = lab.enrichments()
    run = Run.begin(lab, "broker-loss", "1 of 3 brokers SIGKILLed, never restarted", n)
    lab.kill(lab.broker_name(victim))
    killed_at = time.monotonic()
    run.result.details["seconds_after_kill"] = run.resume(killed_at)
    result = run.finish()
    after = [part for parts in lab.partitions().values() for part in parts]
    result.details.update(
        victim={
            "node": victim,
            "coordinated": [group for group, node in coordinators.items() if node == victim],
            "led": {
                t: [p["partition"] for p in ps if p["leader"] == victim] for t, ps in before.items()
            },
        },
        reprocessed=int(lab.enrichments() - enrichments) - n,
        replication_factor=min(len(p["replicas"]) for ps in before.values() for p in ps),
        leaders_after=sorted({part["leader"] for part in after}),
        smallest_isr_after=min(len(part["isr"]) for part in after),
        ready_after=lab.ready(),
    )
    return result


def terminate_gateways(lab: FaultLab, grace: float = 10.0) -> dict[str, dict[str, Any]]:
    """SIGTERM the HTTP services (api, ingest); exit codes, seconds and the shutdown log."""
    exits: dict[str, dict[str, Any]] = {}
    for name in ("ingest", "api"):
        code, seconds = lab.terminate(name, grace)
        exits[name] = {"code": code, "seconds": round(seconds, 2), "log": lab.child(name).tail(5)}
    return exits


def clean_exit(code: int | None, log: str = "") -> bool:
    """Exit 0, or death by the SIGTERM we sent after a completed graceful shutdown.

    uvicorn re-raises the signal once its shutdown finished (so a parent sees why it ended);
    that is clean. A SIGKILL from the grace timeout, a crash or a traceback is not.
    """
    if code == 0:
        return True
    return code == -signal.SIGTERM and "Traceback" not in log


# ---------------------------------------------------------------------- report


def table(results: Sequence[FaultResult]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| fault | sent | indexed | missing | duplicated | dead-lettered | redelivered | time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.fault} | {r.sent} | {r.indexed} | {r.missing} | {r.duplicated} | "
            f"{r.dead_lettered} | {r.redelivered} | {r.seconds:.0f} s |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every scenario at ``--n`` articles and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="articles per scenario")
    parser.add_argument("--outage", type=float, default=20.0, help="search outage, seconds")
    parser.add_argument(
        "--crash-outage", type=float, default=5.0, help="search server killed, seconds"
    )
    parser.add_argument("--broker-down", type=float, default=5.0, help="broker killed, seconds")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "chaos.json")
    args = parser.parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="khabar-chaos-"))
    results: list[FaultResult] = []
    started = time.monotonic()

    def record(result: FaultResult) -> None:
        results.append(result)
        print(table(results[-1:]).splitlines()[-1], flush=True)

    print(f"starting the local stack (one broker) in {directory} …", flush=True)
    with FaultLab.running(directory / "one-broker") as lab:
        for scenario in (
            lambda: kill_workers(lab, args.n),
            lambda: search_outage(lab, args.n, args.outage),
            lambda: search_outage(lab, args.n, args.crash_outage, crash=True),
            lambda: takeover(lab, args.n),
            lambda: sigterm(lab, args.n),
            lambda: broker_restart(lab, args.n, args.broker_down),
        ):
            record(scenario())
        gateways = terminate_gateways(lab)
    # One stack at a time: the cluster starts once the single-broker stack is gone.
    print("starting a three-broker cluster …", flush=True)
    with FaultLab.running(
        directory / "three-brokers", kafka_nodes=3, services=CLUSTER_SERVICES
    ) as lab:
        record(broker_loss(lab, args.n))
    versions = pom_versions()
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "runtime": (
            f"Apache Kafka {versions['kafka']} (KRaft; one broker, three for the broker-loss "
            f"scenario) + Elasticsearch {versions['elasticsearch']}, services as local processes"
        ),
        "articles_per_scenario": args.n,
        "total_seconds": round(time.monotonic() - started, 1),
        "scenarios": [asdict(r) for r in results],
        "gateway_sigterm": {
            name: {
                "code": e["code"],
                "seconds": e["seconds"],
                "clean": clean_exit(e["code"], e["log"]),
            }
            for name, e in gateways.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{table(results)}\n\nwritten to {args.out}")
    ok = all(r.missing == 0 and r.duplicated == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
