"""``make eval-stories``: the index stage's story assigner over many arrival orders, on a tiny
parallel corpus written for this test (two stories, each in English, Urdu and Hindi)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tools"))

import eval_stories  # noqa: E402

STORIES = {
    "floods": {
        "en": "Floods close schools across Punjab for a week",
        "ur": "پنجاب بھر میں سیلاب کے باعث اسکول ایک ہفتے کے لیے بند",
        "hi": "बाढ़ के कारण पूरे पंजाब में स्कूल एक सप्ताह के लिए बंद",
    },
    "captain": {
        "en": "Cricket board names a new captain before the Asia Cup",
        "ur": "ایشیا کپ سے پہلے کرکٹ بورڈ نے نئے کپتان کا اعلان کر دیا",
        "hi": "एशिया कप से पहले क्रिकेट बोर्ड ने नए कप्तान की घोषणा की",
    },
}


def test_pair_scores_count_pairs_of_articles() -> None:
    story = {"a": "s1", "b": "s1", "c": "s1", "d": "s2"}
    truth = {"a": "x", "b": "x", "c": "y", "d": "y"}
    # linked: ab (right), ac, bc (wrong); missed: cd
    assert eval_stories.pair_scores(story, truth) == {
        "precision": round(1 / 3, 3),
        "recall": 0.5,
        "linked_pairs": 3,
    }


def test_events_split_into_two_halves_of_similar_size() -> None:
    halves = [eval_stories.half(f"event-{n}") for n in range(200)]
    assert set(halves) == {"choose", "hold"}
    assert 70 <= halves.count("choose") <= 130


def test_events_group_documents_of_one_event() -> None:
    rows = [{"doc_id": d} for d in ("a", "b", "c")]
    assert eval_stories.events(rows, [["b", "a"]]) == ["b", "b", "c"]


def test_an_unknown_policy_name_is_refused() -> None:
    assert eval_stories.parse_policy(["min_similarity=0.7"]).min_similarity == 0.7
    with pytest.raises(SystemExit, match="not one of"):
        eval_stories.parse_policy(["threshold=0.7"])


def test_every_order_is_placed_and_reported(tmp_path: Path) -> None:
    for language, name in eval_stories.FILES.items():
        lines = [
            json.dumps({"doc_id": doc, "title": titles[language], "body": titles[language]})
            for doc, titles in STORIES.items()
        ]
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "orders.json"
    code = eval_stories.main(
        ["--data", str(tmp_path), "--groups", str(tmp_path / "none.json"), "--orders", "3"]
        + ["--batch", "2", "--half", "all", "--out", str(out)]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert report["orders"] == 3 and report["policy"]["min_similarity"] == 0.60
    whole = report["all"]
    assert (whole["articles"], whole["events"]) == (6, 2)
    for measure in ("precision", "recall"):
        spread = whole[measure]
        assert 0.0 <= spread["min"] <= spread["median"] <= spread["max"] <= 1.0
    for merge in whole["wrong_merges"]:
        assert 1 <= merge["orders"] <= 3 and len(merge["events"]) >= 2
