"""The web interface in a real browser (headless Chromium) against the running stack.

Articles are posted through the API with a nonce word written in their own script, so each search
can only be answered by this test's article; the pages are then driven like a person would:
typing into the box, clicking facets, reading the computed layout. Screenshots of every page go to
``tests/artifacts/web/``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from services.localstack import LocalStack
from tests.integration.conftest import wait_for
from tests.unit.web.browser import chromium, console_errors, screenshot

pytestmark = pytest.mark.integration

#: One letter per hex digit, per script: a nonce word that is plainly Urdu, Hindi or English.
LETTERS = {
    "ur": "بپتٹجچدڈرڑسشفکگل",
    "hi": "कखगचजटडतदनपबमरलस",
    "en": "bcdfghjklmnprstv",
}


def nonce(language: str) -> str:
    """A word nobody else's article contains, in the language's own script."""
    return "".join(LETTERS[language][int(digit, 16)] for digit in uuid.uuid4().hex[:10])


def articles_for(words: dict[str, str]) -> dict[str, dict[str, Any]]:
    """One article per language, each carrying its nonce word and a few known entities."""
    return {
        "ur": {
            "title": f"پاکستان اور چین کے درمیان {words['ur']} تعاون کا معاہدہ",
            "body": f"اسلام آباد، 14 مئی 2025: پاکستان اور چین نے {words['ur']} کے شعبے میں تعاون"
            " بڑھانے کے ایک نئے معاہدے پر دستخط کیے۔ دونوں ممالک کے وزرا نے کہا کہ اس سے لاہور اور"
            " کراچی میں روزگار کے مواقع بڑھیں گے۔",
            "source": "web-test",
        },
        "hi": {
            "title": f"भारत और नेपाल के बीच {words['hi']} समझौता",
            "body": f"काठमांडू, 14 मई 2025: भारत और नेपाल ने {words['hi']} के क्षेत्र में सहयोग बढ़ाने"
            " के लिए एक नए समझौते पर हस्ताक्षर किए। अधिकारियों ने कहा कि इससे दोनों देशों के लोगों को"
            " लाभ होगा।",
            "source": "web-test",
        },
        "en": {
            "title": f"Floods 🌊 reach Karachi as {words['en']} warning issued",
            "body": f"KARACHI, 14 May 2025: 🌊🌊 Heavy rain flooded Karachi and Hyderabad, officials"
            f" in Pakistan said on Thursday, issuing a {words['en']} warning. 😀 Lahore was spared.",
            "source": "web-test",
        },
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for this module (skips, with the reason, when none can be had)."""
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def posted(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """language → {word, id, article}: one indexed article per script."""
    words = {language: nonce(language) for language in LETTERS}
    result: dict[str, dict[str, Any]] = {}
    for language, payload in articles_for(words).items():
        response = api.post("/articles", json=payload)
        assert response.status_code == 202, response.text
        result[language] = {"word": words[language], "id": response.json()["id"]}
    for entry in result.values():
        entry["article"] = wait_for(lambda e=entry: _indexed(api, e["id"], e["word"]), timeout=90)
    return result


def _indexed(api: httpx.Client, article_id: str, word: str) -> dict[str, Any] | None:
    """The article once search finds it by its nonce word."""
    hits = api.get("/search", params={"q": word}).json().get("hits", [])
    if not any(hit["id"] == article_id for hit in hits):
        return None
    response = api.get(f"/articles/{article_id}")
    return response.json() if response.status_code == 200 else None


def _api_marks(api: httpx.Client, query: str, article_id: str) -> set[str]:
    """The words the API's highlight marks for one hit."""
    hits = api.get("/search", params={"q": query}).json()["hits"]
    fragments = [
        f for hit in hits if hit["id"] == article_id for f in sum(hit["highlight"].values(), [])
    ]
    return {word for fragment in fragments for word in re.findall(r"<mark>(.*?)</mark>", fragment)}


def _stages(api: httpx.Client, article_id: str) -> list[str]:
    """The stage names of an article's stored journey, empty until the API calls it complete
    (each service exports its spans on its own schedule; the page waits the same way)."""
    response = api.get(f"/articles/{article_id}/trace")
    trace = response.json() if response.status_code == 200 else {}
    return [s["stage"] for s in trace["stages"]] if trace.get("complete") else []


def _shown_languages(driver: Any) -> list[str]:
    """The language of every result card on the page, read in one script call."""
    languages: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('article.result')].map((c) => c.dataset.language)"
    )
    return languages


def _direction(driver: Any, element: Any) -> str:
    """The element's computed writing direction, as the browser laid it out."""
    direction: str = driver.execute_script(
        "return getComputedStyle(arguments[0]).direction", element
    )
    return direction


def _paths(api: httpx.Client) -> set[str]:
    return set(api.get("/openapi.json").json()["paths"])


def _wait_css(driver: Any, selector: str, timeout: float = 30) -> Any:
    return wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, selector), timeout=timeout)[0]


def _search(driver: Any, stack: LocalStack, text: str) -> None:
    """Type a query into the search page's box and submit it, as a person would."""
    driver.get(f"{stack.api_url}/ui/")
    _wait_css(driver, '#results[data-query=""]')  # the opening list of latest articles
    box = driver.find_element(By.ID, "q")
    box.send_keys(text, Keys.ENTER)


def _result(driver: Any, query: str, article_id: str) -> Any:
    """The result card for an article, once the list shows this query's results."""
    return _wait_css(
        driver, f'#results[data-query="{query}"] article.result[data-id="{article_id}"]'
    )


@pytest.mark.parametrize(("language", "direction"), [("ur", "rtl"), ("hi", "ltr"), ("en", "ltr")])
def test_search_in_each_script_finds_the_article_laid_out_in_its_direction(
    browser: Any,
    stack: LocalStack,
    api: httpx.Client,
    posted: dict[str, dict[str, Any]],
    language: str,
    direction: str,
) -> None:
    entry = posted[language]
    _search(browser, stack, entry["word"])
    card = _result(browser, entry["word"], entry["id"])
    assert card.get_attribute("lang") == language
    assert _direction(browser, card) == direction
    title = card.find_element(By.CSS_SELECTOR, "h3")
    assert _direction(browser, title) == direction
    # what the API highlighted is highlighted, and entity chips link to entity pages
    assert _api_marks(api, entry["word"], entry["id"]) <= {
        mark.text for mark in card.find_elements(By.CSS_SELECTOR, "mark")
    }
    chips = card.find_elements(By.CSS_SELECTOR, "a.chip")
    assert chips and all("/ui/entity?id=" in chip.get_attribute("href") for chip in chips)
    # the state is in the URL: opening it afresh gives the same search
    shared_url = browser.current_url
    assert "q=" in shared_url
    browser.get(shared_url)
    _result(browser, entry["word"], entry["id"])
    assert browser.find_element(By.ID, "q").get_attribute("value") == entry["word"]
    screenshot(browser, f"search-{language}")
    assert console_errors(browser) == []


def test_urdu_text_uses_the_shipped_nastaliq_font(
    browser: Any, stack: LocalStack, posted: dict[str, dict[str, Any]]
) -> None:
    _search(browser, stack, posted["ur"]["word"])
    _result(browser, posted["ur"]["word"], posted["ur"]["id"])
    loaded = wait_for(
        lambda: browser.execute_async_script(
            "const done = arguments[0];"
            "document.fonts.ready.then(() => done("
            "[...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family)))"
        ),
        timeout=30,
    )
    assert any("Nastaliq" in family for family in loaded), loaded
    family = browser.execute_script(
        "return getComputedStyle(document.querySelector('article.result[lang=ur] h3')).fontFamily"
    )
    assert "Khabar Nastaliq" in family


def test_facets_filter_and_keep_the_state_in_the_url(
    browser: Any, stack: LocalStack, api: httpx.Client, posted: dict[str, dict[str, Any]]
) -> None:
    # the Urdu and English test articles both mention Pakistan, so both languages are facets
    browser.get(f"{stack.api_url}/ui/?q=Pakistan")
    _wait_css(browser, '#results[data-query="Pakistan"] article.result')
    assert {"ur", "en"} <= set(_shown_languages(browser))
    browser.find_element(By.CSS_SELECTOR, '#facet-language a[data-value="ur"]').click()
    wait_for(lambda: "lang=ur" in browser.current_url)
    # one atomic read per poll: the list is re-rendered under us while the new search lands
    assert wait_for(lambda: set(_shown_languages(browser)) == {"ur"})
    expected = api.get("/search", params={"q": "Pakistan", "lang": "ur"}).json()["total"]
    wait_for(lambda: browser.find_element(By.ID, "summary").text.startswith(f"{expected:,} "))
    assert browser.find_elements(By.CSS_SELECTOR, "#histogram canvas, #histogram p")
    screenshot(browser, "search-facets")
    assert console_errors(browser) == []


def test_article_page_marks_every_mention_at_its_offsets(
    browser: Any, stack: LocalStack, api: httpx.Client, posted: dict[str, dict[str, Any]]
) -> None:
    for language in ("en", "ur"):  # English has emoji (astral) before its mentions
        article = posted[language]["article"]
        browser.get(f"{stack.api_url}/ui/article?id={article['id']}")
        _wait_css(browser, "#body")
        marks = browser.find_elements(By.CSS_SELECTOR, "a.mention[data-start]")
        assert marks, "no mention was marked"
        for mark in marks:
            field = "title" if mark.find_elements(By.XPATH, "ancestor::h1") else "body"
            start, end = int(mark.get_attribute("data-start")), int(mark.get_attribute("data-end"))
            assert mark.text == article[field][start:end]
            assert mark.get_attribute("data-entity") in {e["id"] for e in article["entities"]}
        mentions = [m for e in article["entities"] for m in e["mentions"]]
        assert len(marks) <= len(mentions)
        reader = browser.find_element(By.CSS_SELECTOR, "article.reader")
        direction = "rtl" if language == "ur" else "ltr"
        assert _direction(browser, reader) == direction
        if "/articles/{article_id}/trace" in _paths(api):
            # spans are exported in batches: the page waits for them, and so does the test
            stages = wait_for(lambda a=article: _stages(api, a["id"]))
            rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#stages .stage"))
            assert [row.get_attribute("data-stage") for row in rows] == stages
        screenshot(browser, f"article-{language}")
        assert console_errors(browser) == []


def test_entity_page_shows_names_in_each_script_and_related(
    browser: Any, stack: LocalStack, posted: dict[str, dict[str, Any]]
) -> None:
    article = posted["ur"]["article"]
    entities = {e["id"]: e for e in article["entities"]}
    assert "geo:PK" in entities, entities
    entity = entities["geo:PK"]
    browser.get(f"{stack.api_url}/ui/entity?id=geo:PK")
    _wait_css(browser, "#names .name-card")
    shown = {
        card.get_attribute("data-lang"): card.find_element(By.CSS_SELECTOR, ".name").text
        for card in browser.find_elements(By.CSS_SELECTOR, "#names .name-card")
    }
    for language, name in entity["names"].items():
        assert shown.get(language) == name
    urdu = browser.find_element(By.CSS_SELECTOR, '#names .name-card[data-lang="ur"] .name')
    assert _direction(browser, urdu) == "rtl"
    assert browser.find_elements(By.CSS_SELECTOR, "#co-occurring a.chip")
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#timeline canvas"))
    assert browser.find_elements(By.CSS_SELECTOR, "#latest li[data-id]")
    screenshot(browser, "entity")
    assert console_errors(browser) == []


def test_dashboard_updates_without_reload(
    browser: Any, stack: LocalStack, api: httpx.Client, posted: dict[str, dict[str, Any]]
) -> None:
    browser.get(f"{stack.api_url}/ui/dashboard")
    browser.execute_script("window.__sameDocument = true")

    def total() -> int | None:
        tiles = browser.find_elements(By.CSS_SELECTOR, "#tile-total .value")  # built by a module
        text = tiles[0].text.replace(",", "") if tiles else ""
        return int(text) if text.isdigit() else None

    before = wait_for(total)
    word = nonce("en")
    response = api.post(
        "/articles",
        json={
            "title": f"Dashboard check {word} in Islamabad",
            "body": f"ISLAMABAD, 15 May 2025: a {word} article for the dashboard test arrived today.",
            "source": "web-test",
        },
    )
    assert response.status_code == 202
    wait_for(lambda: (total() or 0) > before, timeout=90)
    assert browser.execute_script("return window.__sameDocument === true")
    assert int(browser.find_element(By.ID, "updated-at").get_attribute("data-updates")) > 1
    # the bars are redrawn on every poll: read them in one script call, not element by element
    languages = browser.execute_script(
        "return [...document.querySelectorAll('#languages .hbar')].map((b) => b.dataset.key)"
    )
    assert {"ur", "hi", "en"} <= set(languages)
    if "/stats" in _paths(api):
        assert browser.find_element(By.CSS_SELECTOR, "#tile-dead-letters .value").text != "—"
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#throughput-chart canvas"))
    screenshot(browser, "dashboard")
    assert console_errors(browser) == []
