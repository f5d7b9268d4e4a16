"""``khabar enrich``: one output line per input article, in order, errors in place."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from services.cli import app

runner = CliRunner()


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_jsonl_file_gives_one_object_per_line_with_errors_in_place(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "title": "پاکستان اور ایران کے درمیان تجارت",
                        "body": "اسلام آباد، 3 مئی 2024: پاکستان اور ایران نے تجارت بڑھانے پر اتفاق کیا۔",
                    }
                ),
                "{broken json",
                json.dumps(
                    {"title": "Nepal floods", "body": "KATHMANDU, 1 July 2024: Floods hit Nepal."}
                ),
                json.dumps({"title": "no body"}),
            ]
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["enrich", str(source)])
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert len(lines) == 4
    assert lines[0]["language"] == "ur" and lines[0]["script"] == "Arab"
    assert any(e["id"] == "geo:PK" for e in lines[0]["entities"])  # type: ignore[index, union-attr]
    assert "error" in lines[1] and lines[1]["input"].endswith(":2")  # type: ignore[union-attr]
    assert lines[2]["language"] == "en"
    assert "error" in lines[3] and "body" in str(lines[3]["error"])


def test_text_files_and_stdin(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(
        "भारत और नेपाल के बीच नई बस सेवा\n\nकाठमांडू, 2 मार्च 2024: भारत और नेपाल के बीच नई बस सेवा शुरू हुई।",
        encoding="utf-8",
    )
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01\x02\x03")
    result = runner.invoke(
        app,
        ["enrich", str(page), str(junk), "-"],
        input=json.dumps(
            {
                "body": "Officials in Kabul said on Monday that the new road to the border would open next month."
            }
        )
        + "\n",
    )
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert len(lines) == 3
    assert lines[0]["language"] == "hi"
    body = str(lines[0]["body"])
    for entity in lines[0]["entities"]:  # type: ignore[attr-defined]
        for mention in entity["mentions"]:
            field = str(lines[0][mention["field"]])
            assert field[mention["start"] : mention["end"]] == mention["text"]
    assert body
    assert "error" in lines[1]
    assert lines[2]["language"] == "en"
