"""Search by meaning and stories on the real chain: an English word finds Urdu and Hindi
coverage, the versions of one story share a ``story_id`` and list each other as related, and
junk queries fall back to words.

The articles are written for this test: one story (floods in Sindh) in three languages, another
(a cricket series) in two, with no word in common across scripts, so only meaning links them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.localstack import LocalStack
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

FLOODS = {
    "en": (
        "Floods force thousands from their homes in Sindh",
        "Heavy monsoon rain flooded villages across Sindh province on Tuesday, forcing thousands "
        "of families to leave their homes. Rescue teams used boats to reach people stranded on "
        "rooftops, and schools were turned into relief camps.",
    ),
    "ur": (
        "سندھ میں سیلاب، ہزاروں افراد گھر چھوڑنے پر مجبور",
        "منگل کو مون سون کی شدید بارشوں سے صوبہ سندھ کے دیہات میں سیلاب آ گیا اور ہزاروں "
        "خاندانوں کو اپنے گھر چھوڑنے پڑے۔ امدادی ٹیموں نے چھتوں پر پھنسے لوگوں تک پہنچنے کے لیے "
        "کشتیاں استعمال کیں اور اسکولوں کو امدادی کیمپوں میں بدل دیا گیا۔",
    ),
    "hi": (
        "सिंध में बाढ़, हज़ारों लोग घर छोड़ने को मजबूर",
        "मंगलवार को मानसून की भारी बारिश से सिंध प्रांत के गाँवों में बाढ़ आ गई और हज़ारों परिवारों "
        "को अपने घर छोड़ने पड़े। बचाव दलों ने छतों पर फँसे लोगों तक पहुँचने के लिए नावों का "
        "इस्तेमाल किया और स्कूलों को राहत शिविरों में बदल दिया गया।",
    ),
}
CRICKET = {
    "en": (
        "Cricket board announces squad for the winter series",
        "The national selectors named a young squad for the five-match one-day series, with "
        "two fast bowlers called up for the first time and the captain rested for the opener.",
    ),
    "hi": (
        "क्रिकेट बोर्ड ने सर्दियों की सीरीज़ के लिए टीम घोषित की",
        "राष्ट्रीय चयनकर्ताओं ने पाँच मैचों की एकदिवसीय सीरीज़ के लिए युवा टीम चुनी, जिसमें दो तेज़ "
        "गेंदबाज़ों को पहली बार बुलाया गया और पहले मैच के लिए कप्तान को आराम दिया गया।",
    ),
}


@pytest.fixture(scope="module")
def posted(stack: LocalStack, api: httpx.Client) -> dict[str, dict[str, str]]:
    """Both stories submitted under one fresh source name; ids per story and language."""
    source = f"xl-{uuid.uuid4().hex[:8]}"
    published = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    ids: dict[str, dict[str, str]] = {}
    for name, story in (("floods", FLOODS), ("cricket", CRICKET)):
        payload = [
            {"title": title, "body": body, "source": source, "published_at": published}
            for title, body in story.values()
        ]
        response = api.post("/articles/batch", json=payload)
        assert response.status_code == 202, response.text
        ids[name] = dict(zip(story, response.json()["ids"], strict=True))
    ids["_source"] = {"name": source}
    total = len(FLOODS) + len(CRICKET)
    wait_for(lambda: _search(api, source, mode="lexical")["total"] == total, timeout=90)
    return ids


def _search(api: httpx.Client, source: str, **params: Any) -> dict[str, Any]:
    response = api.get("/search", params={"source": source, "facets": "false", **params})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_every_article_gets_a_vector_and_a_story(
    api: httpx.Client, posted: dict[str, dict[str, str]]
) -> None:
    for name in ("floods", "cricket"):
        for article_id in posted[name].values():
            article = api.get(f"/articles/{article_id}").json()
            assert "no_vector" not in article["flags"] and article["story_id"]
            assert article["vector"] is None  # stored, but not sent to readers


def test_an_english_word_finds_urdu_and_hindi_coverage(
    api: httpx.Client, posted: dict[str, dict[str, str]]
) -> None:
    source = posted["_source"]["name"]
    floods = posted["floods"]
    lexical = _search(api, source, q="flood", lang=["ur", "hi"], mode="lexical")
    assert lexical["total"] == 0  # no English word in Urdu or Hindi text
    hybrid = _search(api, source, q="flood", lang=["ur", "hi"])
    assert hybrid["mode"] == "hybrid"
    assert {floods["ur"], floods["hi"]} <= {hit["id"] for hit in hybrid["hits"]}
    assert hybrid["hits"][0]["id"] in (floods["ur"], floods["hi"])


def test_a_hindi_query_finds_urdu_coverage(
    api: httpx.Client, posted: dict[str, dict[str, str]]
) -> None:
    source = posted["_source"]["name"]
    answer = _search(api, source, q=FLOODS["hi"][0], lang="ur", mode="semantic")
    assert answer["hits"][0]["id"] == posted["floods"]["ur"]


def _stories(api: httpx.Client, posted: dict[str, dict[str, str]]) -> dict[str, str]:
    return {
        article_id: api.get(f"/articles/{article_id}").json()["story_id"]
        for name in ("floods", "cricket")
        for article_id in posted[name].values()
    }


def test_a_storys_versions_join_and_other_stories_stay_apart(
    api: httpx.Client, posted: dict[str, dict[str, str]]
) -> None:
    """The Urdu and Hindi flood headlines are close (story-vector cosine ~0.9), the two stories
    far apart (~0.1): whatever else the thresholds decide, these two facts hold."""
    stories = _stories(api, posted)
    floods, cricket = posted["floods"], posted["cricket"]
    assert stories[floods["ur"]] == stories[floods["hi"]]
    assert not {stories[i] for i in floods.values()} & {stories[i] for i in cricket.values()}


def test_related_lists_the_storys_other_versions_first(
    api: httpx.Client, posted: dict[str, dict[str, str]]
) -> None:
    """Whether two versions are linked into one story depends on the thresholds (chosen for
    precision); what is related, and in which order, is checked against the stories given."""
    stories = _stories(api, posted)
    floods = posted["floods"]
    related = api.get(f"/articles/{floods['ur']}/related", params={"size": 10}).json()
    assert related["story_id"] == stories[floods["ur"]]
    hits = related["hits"]
    assert {floods["hi"], floods["en"]} <= {hit["id"] for hit in hits}  # by meaning, at least
    order = {"story_other_language": 0, "story_same_language": 1, "close_coverage": 2}
    assert [order[h["relation"]] for h in hits] == sorted(order[h["relation"]] for h in hits)
    for hit in hits:
        in_story = stories.get(hit["id"]) == related["story_id"]
        assert hit["relation"].startswith("story_") == in_story, hit
    close = [h["id"] for h in hits if h["relation"] == "close_coverage"]
    cricket = set(posted["cricket"].values())
    flood_versions = [i for i in close if i in floods.values()]
    if flood_versions and cricket & set(close):  # the flood versions come before cricket
        assert max(close.index(i) for i in flood_versions) < min(
            close.index(i) for i in cricket & set(close)
        )


def test_hits_carry_their_story_and_collapse_gives_one_per_story(
    api: httpx.Client, posted: dict[str, dict[str, str]]
) -> None:
    stories = _stories(api, posted)
    source = posted["_source"]["name"]
    for hit in _search(api, source, mode="lexical", size=10)["hits"]:
        members = [i for i, story in stories.items() if story == hit["story_id"]]
        assert hit["story"]["id"] == hit["story_id"] and hit["story"]["articles"] == len(members)
        assert {v["id"] for v in hit["story"]["versions"]} <= set(members)
    collapsed = _search(api, source, collapse="story", mode="lexical", size=10)
    assert collapsed["total"] == len(set(stories.values())) == len(collapsed["hits"])
    assert len({hit["story_id"] for hit in collapsed["hits"]}) == len(collapsed["hits"])
    only_hindi = _search(api, source, collapse="story", lang="hi", size=10)
    assert only_hindi["hits"] and {hit["language"] for hit in only_hindi["hits"]} == {"hi"}


@pytest.mark.parametrize("q", ["!!!", "😀🙏", "12345", "؟؟"])
def test_a_query_with_nothing_to_place_runs_lexically(
    api: httpx.Client, posted: dict[str, dict[str, str]], q: str
) -> None:
    answer = _search(api, posted["_source"]["name"], q=q)
    assert answer["mode"] == "lexical"


def test_stats_count_stories_beside_articles(
    api: httpx.Client, posted: dict[str, dict[str, str]]
) -> None:
    rows = api.get("/stats").json()["per_language_per_day"]
    assert rows and all(0 < row["stories"] <= row["count"] for row in rows)
