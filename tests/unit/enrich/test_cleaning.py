"""Page cleaning: furniture removal, headline and dateline, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.enrich.cleaning import CleanedPage, clean_page
from tests.unit.enrich.pages import PAGES

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"
KNOWN_FLAGS = {
    "empty_body",
    "furniture_only",
    "truncated",
    "binary_junk",
    "title_inferred",
    "no_title",
}
SENTENCE_END = tuple(".!?۔।؟\"'”)")


def check_page(page: CleanedPage, max_chars: int = 200_000) -> None:
    """Invariants of every result."""
    assert set(page.flags) <= KNOWN_FLAGS
    assert len(set(page.flags)) == len(page.flags)
    assert isinstance(page.body, str)
    assert "\n\n\n" not in page.body
    assert page.body == page.body.strip()
    assert len(page.body) <= max_chars
    paragraphs = page.body.split("\n\n") if page.body else []
    assert all(p.strip() == p and p for p in paragraphs)
    assert all(isinstance(r, str) and r for r in page.removed)
    if not page.body:
        assert "empty_body" in page.flags
    if page.title is not None:
        assert page.title.strip() == page.title and page.title
    for text in (page.body, page.title or "", page.dateline or "", *page.removed):
        text.encode("utf-8")  # no lone surrogates leak out


@pytest.mark.parametrize("lang", ["ur", "hi", "en"])
def test_written_pages(lang: str) -> None:
    page_text, title, furniture, starts, ends = PAGES[lang]
    page = clean_page(page_text)
    check_page(page)
    assert page.title == title
    assert "title_inferred" in page.flags
    paragraphs = page.body.split("\n\n")
    survivors = [line for line in furniture if line in paragraphs]
    assert survivors == []
    assert page.body.startswith(starts)
    assert page.body.endswith(ends)
    assert title not in paragraphs  # the headline (and its repeat) is not body text
    assert page.dateline is not None
    assert page.dateline not in paragraphs
    # every real paragraph (long, sentence-final) survived
    for line in page_text.splitlines():
        line = line.strip()
        if len(line.split()) >= 15 and line.endswith(("۔", "।", ".")) and "cookie" not in line:
            assert line in paragraphs


def test_given_title_is_kept_and_its_repeat_dropped() -> None:
    page_text, title, *_ = PAGES["en"]
    page = clean_page(page_text, title="Floods displace thousands after record rain")
    check_page(page)
    assert page.title == "Floods displace thousands after record rain"
    assert "title_inferred" not in page.flags
    assert title not in page.body.split("\n\n")
    assert "Accessibility links" in page.removed


def test_given_title_equal_to_the_headline() -> None:
    page_text, title, *_ = PAGES["ur"]
    page = clean_page(page_text, title=title)
    assert page.title == title
    assert title not in page.body


def test_headline_after_section_label_and_accessibility_links() -> None:
    text = "\n\n".join(
        [
            "Accessibility links",
            "Business",
            "Central bank holds interest rate steady for third month",
            "The central bank left its key rate unchanged on Monday, saying inflation was "
            "easing but remained above target, and signalled cuts later in the year.",
            "Analysts had expected the decision after last week's data showed prices rising "
            "more slowly than forecast.",
        ]
    )
    page = clean_page(text)
    assert page.title == "Central bank holds interest rate steady for third month"
    assert "Business" in page.removed and "Accessibility links" in page.removed


def test_repeated_headline_is_preferred() -> None:
    text = "\n".join(
        [
            "Tech",
            "Latest updates from the team",
            "Local startup raises funds to expand solar business",
            "Jane Doe",
            "Local startup raises funds to expand solar business",
            "A local solar startup said on Tuesday it had raised new funding to expand into "
            "three more provinces, creating hundreds of jobs.",
        ]
    )
    page = clean_page(text)
    assert page.title == "Local startup raises funds to expand solar business"


def test_font_size_switcher_and_menu_runs_are_removed() -> None:
    text = "\n".join(
        [
            "Headline of a short report on local elections",
            "",
            "Voting was peaceful in most districts, the election commission said in a "
            "statement late on Sunday evening.",
            "",
            "XS",
            "SM",
            "MD",
            "LG",
        ]
    )
    page = clean_page(text)
    assert page.body.startswith("Voting was peaceful")
    assert {"XS", "SM", "MD", "LG"} <= set(page.removed)


def test_lines_of_several_furniture_phrases_are_not_the_headline() -> None:
    text = "\n".join(
        [
            "صفحہ اول",
            "فونٹ سائز: A+ A-",
            "فیس بک ٹوئٹر واٹس ایپ",
            "Share Facebook Twitter",
            "لاہور میں کتاب میلہ شروع، ہزاروں شہریوں کی شرکت",
            "لاہور میں تین روزہ کتاب میلہ آج شروع ہو گیا جس میں ملک بھر سے ناشرین نے اپنی کتابیں"
            " پیش کیں اور پہلے ہی دن ہزاروں شہری آئے۔",
        ]
    )
    page = clean_page(text)
    assert page.title == "لاہور میں کتاب میلہ شروع، ہزاروں شہریوں کی شرکت"
    assert page.body.startswith("لاہور میں تین روزہ")
    assert {"فونٹ سائز: A+ A-", "فیس بک ٹوئٹر واٹس ایپ", "Share Facebook Twitter"} <= set(
        page.removed
    )


def test_a_headline_made_of_ordinary_words_is_not_a_phrase_run() -> None:
    text = "Video games and live music\n\n" + (
        "Young people in the city now spend more evenings at concerts than at home, a survey"
        " published on Tuesday found."
    )
    assert clean_page(text).title == "Video games and live music"


@pytest.mark.parametrize("stamp", ["Updated 5 hours ago", "3 گھنٹے پہلے", "अपडेटेड 2 घंटे पहले"])
def test_relative_time_stamps_and_credit_lines_are_removed(stamp: str) -> None:
    text = "\n".join(
        [
            "Flood waters recede in the river valley towns",
            stamp,
            "Flood waters began to recede on Tuesday in the valley towns, officials said, as"
            " relief teams reached villages cut off for a week.",
            "Reporting by A. Writer; Editing by B. Editor",
            "Schools will reopen next week once the buildings have been inspected, the district"
            " administration said in a statement.",
        ]
    )
    page = clean_page(text)
    assert page.title == "Flood waters recede in the river valley towns"
    assert stamp in page.removed and "Reporting by A. Writer; Editing by B. Editor" in page.removed
    assert page.body.startswith("Flood waters began") and "Schools will reopen" in page.body


def test_print_edition_note_and_social_prompt_are_furniture_and_the_note_dates() -> None:
    text = "\n".join(
        [
            "City council approves new bus routes for the eastern districts",
            "The city council approved six new bus routes on Monday after a year of complaints"
            " from residents of the eastern districts about long waits.",
            "Published in Dawn, November 26th, 2024",
            "Like us on Facebook, follow @ExampleNews on Twitter to stay informed.",
        ]
    )
    page = clean_page(text)
    assert page.body.startswith("The city council") and page.body.endswith("long waits.")
    assert "Published in Dawn, November 26th, 2024" in page.removed
    assert page.dateline == "Published in Dawn, November 26th, 2024"


def test_inline_also_read_inside_the_article() -> None:
    text = "\n\n".join(
        [
            "سرکاری ملازمین کی تنخواہوں میں اضافے کا اعلان",
            "وفاقی حکومت نے سرکاری ملازمین کی تنخواہوں میں دس فیصد اضافے کا اعلان کیا ہے جس کا "
            "اطلاق اگلے ماہ سے ہوگا۔",
            "یہ بھی پڑھیں: پنشن کے نئے قواعد جاری",
            "وزیر خزانہ نے کہا کہ اس اضافے کے لیے بجٹ میں رقم مختص کر دی گئی ہے اور اس سے "
            "مہنگائی کے بوجھ میں کمی آئے گی۔",
        ]
    )
    page = clean_page(text)
    assert "یہ بھی پڑھیں: پنشن کے نئے قواعد جاری" in page.removed
    assert len(page.body.split("\n\n")) == 2


def test_dateline_embedded_in_lead_is_kept_in_body() -> None:
    text = "\n\n".join(
        [
            "Talks between neighbours resume after long pause",
            "ISLAMABAD, March 3, 2024 (Reuters) - Officials from both countries met on Sunday "
            "for the first time in two years, according to a statement.",
            "The two sides agreed to meet again next month, the statement said.",
        ]
    )
    page = clean_page(text)
    assert page.dateline is not None and "March 3, 2024" in page.dateline
    assert page.body.startswith("ISLAMABAD, March 3, 2024 (Reuters)")


def test_empty_input() -> None:
    for text in ("", "   ", "\n\n\n", "\x00\x01"):
        page = clean_page(text)
        check_page(page)
        assert page.body == ""
        assert "empty_body" in page.flags
        assert page.title is None


def test_furniture_only() -> None:
    page = clean_page("Skip to content\nMenu\nHome\nShare\nFacebook\n© 2024 All rights reserved")
    check_page(page)
    assert page.body == ""
    assert {"empty_body", "furniture_only"} <= set(page.flags)


@pytest.mark.parametrize(
    "text",
    [
        "کراچی بندرگاہ",  # a place and a noun: a flash, a label on a photo
        "नई दिल्ली, उत्तर प्रदेश",
        "15 مارچ 2024 کراچی میں بارش",  # a date in front: the dateline is also all the text
        "Budget 2025\nTax slabs unchanged",  # two short lines, neither a known label
    ],
)
def test_a_short_item_with_no_paragraph_is_all_text(text: str) -> None:
    """Labels and footers are placed by the paragraphs; without one, a short line is text."""
    page = clean_page(text)
    check_page(page)
    assert sorted((page.title or "").split() + page.body.split()) == sorted(text.split())
    assert "furniture_only" not in page.flags and page.removed == ()


def test_a_short_line_before_the_article_is_still_a_label() -> None:
    article = (
        "کراچی بندرگاہ\n"
        "کراچی میں آج صبح شدید بارش ہوئی جس سے شہر کی کئی سڑکیں پانی میں ڈوب گئیں اور ٹریفک رک گئی۔"
    )
    page = clean_page(article, title="کراچی میں بارش")
    check_page(page)
    assert page.body.startswith("کراچی میں آج صبح") and "کراچی بندرگاہ" in page.removed


def test_binary_junk_is_flagged_not_raised() -> None:
    junk = bytes(range(256)).decode("latin-1") * 20
    page = clean_page(junk)
    check_page(page)
    assert "binary_junk" in page.flags
    surrogates = (b"\xff\xfe\x00\x01garbage\x80\x81" * 50).decode("utf-8", "surrogateescape")
    page = clean_page(surrogates)
    check_page(page)
    assert "binary_junk" in page.flags


def test_truncation_at_a_paragraph_boundary() -> None:
    paragraph = "This is a sentence of the article that goes on for a while. " * 5
    text = "A headline for a very long article\n\n" + "\n\n".join([paragraph.strip()] * 200)
    page = clean_page(text, max_chars=5_000)
    check_page(page, max_chars=5_000)
    assert "truncated" in page.flags
    assert page.body.endswith("for a while.")
    assert page.title == "A headline for a very long article"


def test_crlf_nbsp_and_zero_width_are_normalised() -> None:
    text = (
        "Headline\u00a0with odd\u200b spaces in it\r\n\r\n"
        "First paragraph of the story is long enough to count as article text, it says.\r\n"
    )
    page = clean_page(text)
    assert page.title == "Headline with odd spaces in it"
    assert "\r" not in page.body and "\u00a0" not in page.body


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000), st.one_of(st.none(), st.text(max_size=100)))
def test_property_any_text(text: str, title: str | None) -> None:
    check_page(clean_page(text, title=title))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "Share",
                    "شیئر کریں",
                    "मुख्य सामग्री पर जाएं",
                    "A+ A-",
                    "",
                    "© 2024",
                    "Related posts",
                    "22 نومبر 2021",
                    "This is a full sentence of article text that ends properly here.",
                    "یہ ایک مکمل جملہ ہے جو خبر کے متن کا حصہ ہے اور یہاں ختم ہوتا ہے۔",
                ]
            ),
            st.text(max_size=80),
        ),
        max_size=40,
    ),
    st.integers(min_value=1, max_value=3000),
)
def test_property_line_soup(lines: list[str], max_chars: int) -> None:
    text = "\n".join(lines)
    page = clean_page(text, max_chars=max_chars)
    check_page(page, max_chars=max_chars)
    body = set(page.body.split("\n\n"))
    assert not body & {"Share", "شیئر کریں", "मुख्य सामग्री पर जाएं", "A+ A-", "Related posts"}
    if len(text) > max_chars:
        assert "truncated" in page.flags


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_property_bytes(data: bytes) -> None:
    check_page(clean_page(data.decode("utf-8", "surrogateescape")))


# --------------------------------------------------------------------------- real samples

needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"sample pages not found at {SAMPLES} (../shared is absent)"
)
# Whole-line labels that must never be chosen as a headline nor survive in a body.
LABEL_WORDS = {
    "accessibility links", "رسائی کے لنکس", "next story", "related posts", "xs", "sm", "md", "lg",
    "x", "سب سے زیادہ مقبول خبریں", "विश्व",
}  # fmt: skip


def sample_pages() -> list[tuple[str, str]]:
    return [
        (p.name, p.read_text(encoding="utf-8", errors="surrogateescape"))
        for p in sorted(SAMPLES.glob("*.txt"))
    ]


@pytest.mark.shared_data
@needs_samples
def test_samples_headlines_are_real_headlines() -> None:
    for name, text in sample_pages():
        page = clean_page(text)
        check_page(page)
        assert page.title is not None, name
        assert page.title.casefold() not in LABEL_WORDS, name
        assert len(page.title.split()) >= 4, name
        assert not page.title.endswith(("۔", "।", ".")), name
        assert not page.title.isascii(), name  # these pages are in Urdu and Hindi
        # the headline is one of the first lines of the page, not something from further down
        head = [line.strip() for line in text.splitlines() if line.strip()][:4]
        assert page.title in head, name


@pytest.mark.shared_data
@needs_samples
def test_samples_no_furniture_survives() -> None:
    for name, text in sample_pages():
        page = clean_page(text)
        paragraphs = page.body.split("\n\n")
        assert paragraphs and all(paragraphs), name
        for paragraph in paragraphs:
            assert paragraph.casefold() not in LABEL_WORDS, (name, paragraph)
            assert "©" not in paragraph and "copyright" not in paragraph.casefold(), name
            assert " | " not in paragraph, (name, paragraph)
            # no short non-sentence line (menus, bylines, labels) survives
            words = len(paragraph.split())
            assert words > 3 or paragraph.endswith(SENTENCE_END), (name, paragraph)
        assert page.title not in paragraphs, name
        assert len(paragraphs) == len(set(paragraphs)), name  # no repeated lines
        # most of the page's text is kept
        long_lines = [" ".join(ln.split()) for ln in text.splitlines() if len(ln.split()) >= 25]
        assert all(line in paragraphs for line in long_lines), name
