"""Follow Khabar's enriched articles with nothing but aiokafka and the CloudEvents SDK.

What a team that consumes Khabar writes: no Khabar code, only the published contract (the
AsyncAPI document at the gateway's ``/asyncapi.json``) and the CloudEvents specification. Each
record is read with the SDK's Kafka binding (binary content mode: attributes in ``ce_`` headers,
the JSON article in the value); one line is printed per enriched article::

    <ce_id>  <language>  <title>  <entity names, comma-separated>

Records are routed on ``ce_type``: the types this consumer understands are listed in
``ACCEPTED``; during a migration to a new schema version it lists both, and anything else
(or a record written before Khabar added the CloudEvents headers) is reported on stderr and
skipped. Delivery is at least once, so the same ``ce_id`` may be printed twice.

    pip install aiokafka 'cloudevents>=2.2,<3'
    python examples/consumer.py --bootstrap 127.0.0.1:9092 --from-beginning

A locked cluster needs aiokafka's ``security_protocol``/``sasl_*``/``ssl_context`` options in
:func:`follow`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat

ACCEPTED = {"org.khabar.article.enriched.v1"}


def describe(record: Any) -> str | None:
    """One line for an enriched-article record; None (and a note on stderr) for anything else."""
    headers = {name: value for name, value in record.headers if value is not None}
    if not any(name.startswith("ce_") for name in headers):
        sys.stderr.write(f"skipped {record.partition}:{record.offset}: no CloudEvents headers\n")
        return None
    message = KafkaMessage(headers=headers, key=record.key, value=record.value)
    try:
        event = from_binary(message, JSONFormat())
    except (BaseCloudEventException, ValueError) as exc:  # not a valid CloudEvent: say so, go on
        sys.stderr.write(f"skipped {record.partition}:{record.offset}: {exc}\n")
        return None
    if event.get_type() not in ACCEPTED:
        sys.stderr.write(f"skipped {record.partition}:{record.offset}: {event.get_type()}\n")
        return None
    article = event.get_data()
    if not isinstance(article, dict):
        sys.stderr.write(f"skipped {record.partition}:{record.offset}: the body is not JSON\n")
        return None
    names = ", ".join(entity["name"] for entity in article.get("entities", []))
    title = " ".join((article.get("title") or "").split())
    return f"{event.get_id()}\t{article.get('language', 'und')}\t{title}\t{names}"


async def follow(bootstrap: str, topic: str, from_beginning: bool, idle: float | None) -> int:
    """Print each article as it arrives; stop after ``idle`` seconds without one (if given)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,  # a reader, not a member of anybody's consumer group
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
    )
    printed = 0
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int((idle or 1.0) * 1000))
            if not batch and idle is not None:
                return printed
            for records in batch.values():
                for record in records:
                    line = describe(record)
                    if line is not None:
                        sys.stdout.write(line + "\n")
                        sys.stdout.flush()
                        printed += 1
    finally:
        await consumer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="Print Khabar's enriched articles.")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    parser.add_argument("--topic", default="articles.enriched", help="the enriched topic's name")
    parser.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    parser.add_argument(
        "--idle-exit", type=float, default=None, metavar="SECONDS", help="stop when idle this long"
    )
    args = parser.parse_args()
    asyncio.run(follow(args.bootstrap, args.topic, args.from_beginning, args.idle_exit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
