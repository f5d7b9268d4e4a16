"""Faults on the real local chain: every article indexed exactly once, whatever we break.

One stack of its own (Apache Kafka with a single KRaft broker, Elasticsearch, the four services;
four partitions, small index batches) is shared by the scenarios to save start-up time; they run
in file order and each publishes its own tagged articles — half before the fault and half while
it lasts or once it is over, so the fault always meets outstanding work. Losing a broker for
good needs a cluster of three: the last test runs on a second stack of its own (three brokers,
replication factor 3, ``min.insync.replicas`` 2; no API), which pytest starts once
the first is stopped. The scenario drivers live in ``tools/chaos.py`` (``make chaos`` runs them
at a larger N); the exact counts are read from the search server by id and by the run's tag.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from services.cli import app as cli
from services.dlq import list_dead_letters
from services.localstack import SERVICES
from shared.kafka import encode_event, make_producer
from shared.models import DeadLetter
from tools.chaos import (
    CLUSTER_SERVICES,
    FaultLab,
    FaultResult,
    broker_loss,
    broker_restart,
    clean_exit,
    kill_workers,
    search_outage,
    sigterm,
    takeover,
    terminate_gateways,
)

pytestmark = pytest.mark.integration

N = 300
#: The cluster's scenario pays for a stack of its own; its N only needs to keep work in flight.
N_CLUSTER = 150


@pytest.fixture(scope="module")
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultLab]:
    """A stack only these tests break: one broker, or a cluster of as many as the test's
    parameter says (without the API). A module fixture with another parameter is a new
    instance, and pytest stops the old one first: never two stacks at once."""
    nodes: int = getattr(request, "param", 1)
    directory: Path = tmp_path_factory.mktemp(f"khabar-faults-{nodes}")
    with FaultLab.running(directory, nodes, SERVICES if nodes == 1 else CLUSTER_SERVICES) as faults:
        yield faults


def _exactly_once(result: FaultResult) -> None:
    assert (result.indexed, result.missing, result.duplicated) == (result.sent, 0, 0), result
    assert result.dead_lettered == 0, result


def test_workers_killed_and_restarted_lose_and_duplicate_nothing(lab: FaultLab) -> None:
    result = kill_workers(lab, N)
    _exactly_once(result)


def test_search_server_outage_pauses_indexing_without_committing(lab: FaultLab) -> None:
    result = search_outage(lab, N, outage=20.0)
    _exactly_once(result)
    early, late = result.details["committed_offsets_during_outage"]
    assert early == late, "index committed offsets while Elasticsearch was down"
    assert result.details["index_alive_after_outage"]
    assert result.details["retries"] > 0, "the outage never reached the bulk writer"
    assert not result.details["search_answered_during_outage"]


def test_search_server_killed_keeps_what_it_acknowledged(lab: FaultLab) -> None:
    result = search_outage(lab, N, outage=5.0, crash=True)
    _exactly_once(result)
    # Documents written before the kill are back from the translog as soon as it serves again.
    before = result.details["indexed_before_fault"]
    assert result.details["of_those_after_restart"] == before > 0, result.details
    early, late = result.details["committed_offsets_during_outage"]
    assert early == late, "index committed offsets while Elasticsearch was dead"
    assert result.details["retries"] > 0, "the crash never reached the bulk writer"


def test_poison_messages_are_dead_lettered_and_fixed_ones_replay_through_the_cli(
    lab: FaultLab,
) -> None:
    settings = lab.settings
    poison = b"\xff\xfe not an article \x00" + uuid.uuid4().bytes
    good = lab.articles(f"replay-{uuid.uuid4().hex[:8]}", 1)[0]

    async def send() -> None:
        producer = make_producer(settings)
        await producer.start()
        try:
            await producer.send_and_wait(settings.topics.raw, poison, key=b"poison")
            # A valid article whose failure was transient (its cause since fixed), as the
            # enrich stage would have dead-lettered it.
            letter = DeadLetter.from_bytes(
                encode_event(good),
                stage="enrich",
                error="broker refused the output",
                error_type="KafkaError",
                key=good.id,
                topic=settings.topics.raw,
                partition=0,
                offset=0,
            )
            await producer.send_and_wait(
                settings.topics.dlq, encode_event(letter), key=good.id.encode()
            )
        finally:
            await producer.stop()

    asyncio.run(send())

    def letters() -> dict[bytes, Any]:
        found = asyncio.run(list_dead_letters(settings, stage="enrich"))
        return {s.letter.original(): s for s in found if s.letter is not None}

    lab.wait("poison dead-lettered", lambda: poison in letters(), timeout=60)
    letter = letters()[poison].letter
    assert (letter.topic, letter.error_type) == (settings.topics.raw, "ValidationError")
    assert letter.partition is not None and letter.offset is not None

    env = {"KHABAR_KAFKA_BOOTSTRAP": lab.stack.kafka_bootstrap}
    listed = CliRunner().invoke(cli, ["dlq", "list", "--stage", "enrich", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    assert {good.id, "poison"} <= {row.get("key") for row in rows}

    replayed = CliRunner().invoke(cli, ["dlq", "replay", "--id", good.id], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert settings.topics.raw in replayed.stdout
    lab.wait_indexed([good.id], timeout=60)

    unknown = CliRunner().invoke(cli, ["dlq", "replay", "--offset", "0:999999"], env=env)
    assert unknown.exit_code == 1


def test_surviving_enrich_worker_takes_over_the_partitions_of_a_killed_one(
    lab: FaultLab,
) -> None:
    result = takeover(lab, N)
    _exactly_once(result)
    # Both workers owned partitions before the kill, and the survivor alone enriched what was
    # published after it (plus whatever of the dead worker's uncommitted work it redelivered).
    assert all(count > 0 for count in result.details["warmup_enriched"].values()), result.details
    after = result.details["survivor_enriched_after_kill"]
    assert after >= result.details["published_after_kill"] > 0, result.details


def test_sigterm_hands_back_in_flight_work_and_exits_cleanly(lab: FaultLab) -> None:
    result = sigterm(lab, N, grace=10.0)
    _exactly_once(result)
    exits = result.details["exits"]
    assert {"index", "enrich-2"} <= set(exits), exits
    # stop() sends SIGKILL after the 10 s grace: exit code 0 means it left on its own in time.
    assert all(e["code"] == 0 for e in exits.values()), exits


def test_broker_killed_and_restarted_loses_and_duplicates_nothing(lab: FaultLab) -> None:
    result = broker_restart(lab, N, down=5.0)
    _exactly_once(result)
    # Every service found the broker again by itself (the API and ingest included).
    assert all(result.details["ready_after"].values()), result.details


def test_http_services_shut_down_gracefully_on_sigterm(lab: FaultLab) -> None:
    api = httpx.get(f"{lab.stack.api_url}/readyz", timeout=5)
    assert api.status_code == 200, api.text
    exits = terminate_gateways(lab, grace=10.0)
    for name, exit_ in exits.items():
        assert exit_["code"] != -signal.SIGKILL, f"{name} needed SIGKILL: {exit_}"
        assert clean_exit(exit_["code"], exit_["log"]), (name, exit_)


# Last: the one-broker stack is stopped before this parameter's cluster starts.
@pytest.mark.parametrize("lab", [3], indirect=True)
def test_losing_one_of_three_brokers_loses_and_duplicates_nothing(lab: FaultLab) -> None:
    result = broker_loss(lab, N_CLUSTER)
    _exactly_once(result)
    details = result.details
    assert details["replication_factor"] == 3, details
    # The dead node leads nothing and left every ISR; two in sync still satisfy min.insync 2.
    assert details["victim"]["node"] not in details["leaders_after"], details
    assert details["smallest_isr_after"] == 2, details
    assert all(details["ready_after"].values()), details
