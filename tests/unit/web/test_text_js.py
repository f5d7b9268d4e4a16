"""The pages' pure text functions (static/js/text.js), run in headless Chromium.

Expectations come from Python itself: mention offsets are Python code-point indices, so the text
JavaScript marks must equal Python's slice — including after astral characters, which are two
UTF-16 units in JavaScript. Prometheus parsing is checked against prometheus_client's own output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

#: Characters from every script the pages show, plus astral ones (emoji, math bold, CJK ext. B).
ALPHABET = list("پاکستان روس ") + list("भारत नेपाल ") + list("Pakistan ") + ["😀", "𝐁", "𠀀", "\n"]


@pytest.fixture(scope="module")
def text_js(browser: Any, ui_server: str) -> Any:
    """Call an exported function of text.js in the browser: text_js("name", *args)."""
    browser.get(f"{ui_server}/ui/static/fonts/OFL.txt")  # any same-origin document will do

    def call(name: str, *args: Any) -> Any:
        return browser.execute_async_script(
            """
            const [name, args, done] = [arguments[0], JSON.parse(arguments[1]), arguments[2]];
            import("/ui/static/js/text.js")
              .then((m) => done({ok: m[name](...args)}))
              .catch((e) => done({error: String(e)}));
            """,
            name,
            json.dumps(list(args)),
        )["ok"]

    return call


@st.composite
def text_with_spans(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    text = draw(st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=40))
    spans = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        spans.append({"start": start, "end": end, "text": text[start:end]})
    return text, spans


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=text_with_spans())
def test_marked_text_is_exactly_the_python_slice(text_js: Any, case: Any) -> None:
    text, spans = case
    result = text_js("segmentBySpans", text, spans)
    segments = result["segments"]
    assert "".join(s["text"] for s in segments) == text  # nothing lost or duplicated
    kept = [s for s in segments if s["span"] is not None]
    for segment in kept:
        span = segment["span"]
        assert segment["text"] == text[span["start"] : span["end"]]
    assert len(kept) + len(result["skipped"]) == len(spans)
    # kept spans never overlap (each starts at or after the previous one ends)
    ends = [(s["span"]["start"], s["span"]["end"]) for s in kept]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(ends, ends[1:], strict=False))


def test_a_mention_whose_text_does_not_match_is_not_marked(text_js: Any) -> None:
    text = "😀 Karachi and Lahore"
    good = {"start": text.index("Lahore"), "end": text.index("Lahore") + 6, "text": "Lahore"}
    stale = {"start": 2, "end": 9, "text": "Quetta"}
    result = text_js("segmentBySpans", text, [good, stale])
    assert [s["text"] for s in result["segments"] if s["span"]] == ["Lahore"]
    assert result["skipped"] == [stale]


def test_highlights_are_text_except_mark(text_js: Any) -> None:
    fragment = "a <mark>پاکستان</mark> <script>alert(1)</script> <b>x</b> <mark>भारत</mark>"
    segments = text_js("highlightSegments", fragment)
    assert [s["text"] for s in segments if s["marked"]] == ["پاکستان", "भारत"]
    plain = "".join(s["text"] for s in segments if not s["marked"])
    assert "<script>alert(1)</script>" in plain and "<b>x</b>" in plain


@pytest.mark.parametrize(
    ("language", "script", "direction"),
    [
        ("ur", "Arab", "rtl"),
        ("ur", None, "rtl"),
        ("und", "Arab", "rtl"),
        ("hi", "Deva", "ltr"),
        ("en", "Latn", "ltr"),
    ],
)
def test_direction_follows_language_or_script(
    text_js: Any, language: str, script: str | None, direction: str
) -> None:
    assert text_js("directionOf", language, script) == direction


def test_prometheus_text_parses_like_prometheus_client(text_js: Any) -> None:
    registry = CollectorRegistry()
    requests = Counter("api_requests", "r", ["method", "route", "status"], registry=registry)
    requests.labels("GET", "/search", "200").inc(7)
    requests.labels("GET", '/we"ird\\path', "500").inc(2)
    Gauge("index_search_backend_up", "up", registry=registry).set(1)
    Histogram("api_request_seconds", "s", ["route"], registry=registry).labels("/search").observe(
        0.2
    )
    body = generate_latest(registry).decode()
    expected = sorted(
        (sample.name, json.dumps(sample.labels, sort_keys=True), sample.value)
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    )
    parsed = sorted(
        (s["name"], json.dumps(s["labels"], sort_keys=True), s["value"])
        for s in text_js("parsePrometheus", body)
    )
    assert parsed == expected


def test_date_buckets_are_regrouped_without_losing_counts(text_js: Any) -> None:
    days = [
        {"date": f"2025-{month:02d}-{day:02d}T00:00:00Z", "count": month + day}
        for month in range(1, 13)
        for day in (1, 15, 28)
    ]
    result = text_js("rebucket", days)
    assert result["unit"] == "month"
    assert len(result["buckets"]) == 12
    assert sum(b["count"] for b in result["buckets"]) == sum(d["count"] for d in days)
    short = text_js("rebucket", days[:2])
    assert short["unit"] == "day" and short["buckets"] == [
        {"date": d["date"].replace("Z", ".000Z"), "count": d["count"]} for d in days[:2]
    ]
