"""Publication dates from datelines in Urdu, Hindi and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.enrich.cleaning import clean_page
from services.enrich.dates import date_span, extract_published_at
from services.enrich.language import detect_language
from tests.unit.enrich.pages import PAGES

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("22 نومبر 2021", "ur", utc(2021, 11, 22)),
        ("22\u00a0 نومبر\u00a0 2021", "ur", utc(2021, 11, 22)),
        ("۲۲ نومبر ۲۰۲۱", "ur", utc(2021, 11, 22)),
        ("اسلام آباد (نمائندہ خصوصی) 5 جنوری 2022ء", "ur", utc(2022, 1, 5)),
        ("3 مئی 2020", "ur", utc(2020, 5, 3)),
        ("14 جولائی 2019", "ur", utc(2019, 7, 14)),
        ("14 Feb 2023 1:55 PM GMT", "hi", utc(2023, 2, 14, 13, 55)),
        ("Updated: 3 March 2024", "en", utc(2024, 3, 3)),
        ("Posted on March 3rd, 2024 at 10:30 am", "en", utc(2024, 3, 3, 10, 30)),
        ("September 9, 2021", "en", utc(2021, 9, 9)),
        ("2024-03-03T10:00:00+05:00", "en", utc(2024, 3, 3, 5, 0)),
        ("2024-03-03T10:00:00Z", None, utc(2024, 3, 3, 10, 0)),
        ("2024-03-03", None, utc(2024, 3, 3)),
        ("17 नवंबर 2022", "hi", utc(2022, 11, 17)),
        ("17 नवम्बर 2022", "hi", utc(2022, 11, 17)),
        ("३ फ़रवरी २०२४", "hi", utc(2024, 2, 3)),
        ("3 फरवरी 2024", "hi", utc(2024, 2, 3)),
        ("10 सितंबर 2020", "hi", utc(2020, 9, 10)),
        ("10 अक्तूबर 2020", "hi", utc(2020, 10, 10)),
        ("मुंबई, 1 जनवरी 2023 (भाषा)", "hi", utc(2023, 1, 1)),
        ("12/05/2020", "en", utc(2020, 5, 12)),
        ("Published 04.08.2022 10:15", "en", utc(2022, 8, 4, 10, 15)),
    ],
)
def test_datelines(text: str, language: str | None, expected: datetime) -> None:
    assert extract_published_at(text, language, NOW) == expected


def test_all_urdu_and_hindi_month_names() -> None:
    urdu = "جنوری فروری مارچ اپریل مئی جون جولائی اگست ستمبر اکتوبر نومبر دسمبر".split()
    hindi = "जनवरी फ़रवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर अक्टूबर नवंबर दिसंबर".split()
    for month, (ur, hi) in enumerate(zip(urdu, hindi, strict=True), start=1):
        assert extract_published_at(f"15 {ur} 2020", "ur", NOW) == utc(2020, month, 15)
        assert extract_published_at(f"15 {hi} 2020", "hi", NOW) == utc(2020, month, 15)


def test_time_without_zone_uses_the_language_zone() -> None:
    # Urdu: Pakistan (UTC+5); Hindi: India (UTC+5:30); otherwise UTC.
    assert extract_published_at("22 نومبر 2021 10:00", "ur", NOW) == utc(2021, 11, 22, 5, 0)
    assert extract_published_at("5 नवंबर 2023, 10:30", "hi", NOW) == utc(2023, 11, 5, 5, 0)
    assert extract_published_at("5 November 2023 10:30", "en", NOW) == utc(2023, 11, 5, 10, 30)


def test_stated_zone_wins() -> None:
    assert extract_published_at("5 November 2023 10:30 IST", "en", NOW) == utc(2023, 11, 5, 5, 0)
    assert extract_published_at("5 November 2023 10:30 PKT", "hi", NOW) == utc(2023, 11, 5, 5, 30)


def test_date_only_is_midnight_utc_of_that_day() -> None:
    result = extract_published_at("22 نومبر 2021", "ur", NOW)
    assert result is not None
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
    assert (result.hour, result.minute) == (0, 0)


def test_no_year_gives_none() -> None:
    assert extract_published_at("इस्लामाबाद, 17 नवंबर", "hi", NOW) is None
    assert extract_published_at("ISLAMABAD, Nov 17 (Reuters) - Talks ended.", "en", NOW) is None
    assert extract_published_at("لاہور، 5 جنوری", "ur", NOW) is None


def test_year_alone_is_not_a_date() -> None:
    text = "Talks\n\nThe next meeting will be held in 2019 in Moscow, officials said."
    assert extract_published_at(text, "en", NOW) is None


def test_future_dates_are_rejected() -> None:
    assert extract_published_at("11 December 2030", "en", NOW) is None
    tomorrow = NOW + timedelta(hours=20)
    text = f"{tomorrow:%d %B %Y %H:%M} GMT"
    assert extract_published_at(text, "en", NOW) is not None  # inside the 1-day tolerance
    later = NOW + timedelta(days=3)
    assert extract_published_at(f"{later:%d %B %Y}", "en", NOW) is None


def test_future_date_falls_back_to_the_next_candidate() -> None:
    text = "Conference: 11 December 2030\n3 March 2024"
    assert extract_published_at(text, "en", NOW) == utc(2024, 3, 3)


def test_published_label_beats_updated_and_earlier_position() -> None:
    text = "Updated: 4 August 2022\nPublished: 3 August 2022"
    assert extract_published_at(text, "en", NOW) == utc(2022, 8, 3)


def test_top_of_page_beats_dates_in_the_body() -> None:
    body = "\n\n".join(
        [
            "Headline about talks",
            "12 March 2024",
            "The treaty signed on 5 March 2019 was discussed at length by the delegations. " * 5,
        ]
        + ["More text without dates, but long enough to push things down. " * 4] * 10
    )
    assert extract_published_at(body, "en", NOW) == utc(2024, 3, 12)


def test_body_dates_are_not_publication_dates() -> None:
    body = "\n\n".join(
        ["Headline about talks"]
        + ["Long paragraph of article text without any date in it at all. " * 4] * 20
        + ["The treaty was signed on 5 March 2019 by both sides. " * 3]
        + ["Long paragraph of article text without any date in it at all. " * 4] * 10
    )
    assert extract_published_at(body, "en", NOW) is None


def test_footer_and_labelled_dates_are_found() -> None:
    filler = ["Long paragraph of article text without any date in it at all. " * 4] * 30
    assert extract_published_at("\n\n".join([*filler, "Published on 2 May 2023"]), "en", NOW) == (
        utc(2023, 5, 2)
    )


def test_naive_now_is_treated_as_utc() -> None:
    naive = datetime(2025, 6, 1, 12, 0)  # noqa: DTZ001 - the function must cope with it
    assert extract_published_at("3 March 2024", "en", naive) == utc(2024, 3, 3)


def test_impossible_dates_are_skipped() -> None:
    assert extract_published_at("31 February 2024", "en", NOW) is None
    assert extract_published_at("2024-13-45", "en", NOW) is None


def test_date_span_marks_datelines() -> None:
    assert date_span("इस्लामाबाद, 17 नवंबर") is not None
    assert date_span("14 Feb 2023 1:55 PM GMT") == (0, 23)
    assert date_span("No date in this headline from 2019") is None


@pytest.mark.parametrize("lang", ["ur", "hi", "en"])
def test_written_pages(lang: str) -> None:
    page = PAGES[lang][0]
    expected = {
        "ur": utc(2024, 1, 12),
        "hi": utc(2023, 11, 5, 5, 0),
        "en": utc(2022, 8, 3, 4, 15),
    }[lang]
    assert extract_published_at(page, lang, NOW) == expected
    cleaned = clean_page(page)
    text = f"{cleaned.dateline or ''}\n{cleaned.body}"
    assert extract_published_at(text, lang, NOW) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=500),
    st.sampled_from([None, "ur", "hi", "en", "fa", "xx"]),
    st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5))]),
    ),
)
def test_property_never_crashes_never_future(
    text: str, language: str | None, now: datetime
) -> None:
    result = extract_published_at(text, language, now)
    if result is not None:
        assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
        assert result <= now + timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=datetime(1950, 1, 1).date(), max_value=datetime(2025, 5, 1).date()),
    st.sampled_from(["%d %B %Y", "%B %d, %Y", "%Y-%m-%d", "%d %b %Y", "%d/%m/%Y"]),
)
def test_property_formatted_english_dates_round_trip(day: object, fmt: str) -> None:
    text = f"Headline\n{day:{fmt}}\nBody text."
    result = extract_published_at(text, "en", NOW)
    assert result is not None and result.date() == day


# --------------------------------------------------------------------------- real samples

needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"sample pages not found at {SAMPLES} (../shared is absent)"
)


@pytest.mark.shared_data
@needs_samples
def test_samples_dates_are_sane() -> None:
    found = 0
    for path in sorted(SAMPLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        cleaned = clean_page(text)
        language = detect_language(cleaned.body).language
        result = extract_published_at(f"{cleaned.dateline or ''}\n{cleaned.body}", language, NOW)
        raw = extract_published_at(text, language, NOW)
        assert result == raw
        if result is not None:
            found += 1
            assert datetime(2000, 1, 1, tzinfo=UTC) <= result <= NOW
    assert found >= 2  # the pages with a full dated dateline
