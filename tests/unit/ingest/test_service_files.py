"""The ingest service's drop-folder file handling: what it cannot read is reported, not lost.

Ingest has no dead-letter topic: a file none of whose records can be read is moved to
``failed/`` beside a ``.error.json`` naming each record's error; a file with some good records
publishes those and moves to ``done/``. A fake publisher stands in for the broker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services.ingest.service import IngestService
from shared.models import RawArticle
from shared.settings import IngestSettings


@dataclass
class FakePublisher:
    published: list[RawArticle] = field(default_factory=list)

    async def publish_many(self, articles: list[RawArticle]) -> int:
        self.published.extend(articles)
        return len(articles)


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[IngestService, FakePublisher]:
    monkeypatch.setenv("KHABAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KHABAR_TRACE_STORE", "none")
    ingest = IngestService(IngestSettings())
    fake = FakePublisher()
    ingest.publisher = fake  # type: ignore[assignment]
    return ingest, fake


async def test_a_file_with_no_readable_record_moves_to_failed_with_its_errors(
    service: tuple[IngestService, FakePublisher], tmp_path: Path
) -> None:
    ingest, publisher = service
    path = tmp_path / "drop" / "bad.jsonl"
    path.parent.mkdir()
    path.write_text('{"body": ""}\nnot json at all\n')

    assert await ingest.ingest_file(path) == 0

    assert publisher.published == []
    assert not path.exists()
    assert (path.parent / "failed" / "bad.jsonl").read_text() == '{"body": ""}\nnot json at all\n'
    errors = json.loads((path.parent / "failed" / "bad.jsonl.error.json").read_text())
    assert len(errors) == 2 and all(error["error"] for error in errors)


async def test_a_file_with_some_good_records_publishes_them_and_moves_to_done(
    service: tuple[IngestService, FakePublisher], tmp_path: Path
) -> None:
    ingest, publisher = service
    path = tmp_path / "drop" / "mixed.jsonl"
    path.parent.mkdir()
    path.write_text('{"body": "a readable article"}\nnot json at all\n')

    assert await ingest.ingest_file(path) == 1

    assert [article.body for article in publisher.published] == ["a readable article"]
    assert (path.parent / "done" / "mixed.jsonl").exists()
    assert not (path.parent / "failed").exists()
