from __future__ import annotations

import pytest

from services.api.resolve import QueryTooLongError, name_key_ids, resolve_query
from shared.kb import KnowledgeBase
from shared.names import entity_id, name_key


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _read(text: str, kb: KnowledgeBase) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.text, c.via, c.entity_ids) for c in resolve_query(text, kb).clauses]


def test_country_names_resolve_in_every_script(kb: KnowledgeBase) -> None:
    for text in ("Pakistan", "pakistan", "پاکستان", "पाकिस्तान", "پاكستان"):
        assert _read(text, kb) == [(text, "kb", ("geo:PK",))], text


def test_words_outside_the_kb_keep_their_text_and_name_key_ids(kb: KnowledgeBase) -> None:
    clauses = resolve_query("پاکستان روس talks", kb).clauses
    assert [c.entity_ids[:1] for c in clauses[:2]] == [("geo:PK",), ("geo:RU",)]
    assert clauses[2].text == "talks" and clauses[2].via == "name_key"
    assert all(i.endswith(":" + name_key("talks")) for i in clauses[2].entity_ids)


def test_a_multi_word_name_matches_through_its_cross_script_key(kb: KnowledgeBase) -> None:
    key = name_key("نبیل منیر")
    assert key == name_key("Nabil Munir")
    for clause in resolve_query("Nabil Munir", kb).clauses:
        assert f"per:{key}" in clause.entity_ids


def test_case_rules_and_small_cities_are_respected(kb: KnowledgeBase) -> None:
    assert _read("US", kb)[0][2] == ("geo:US",)
    assert "geo:US" not in _read("us", kb)[0][2]  # a pronoun, not the United States
    assert all(via != "kb" for _, via, _ in _read("metro", kb))
    assert _read("karachi", kb)[0][1] == "kb"  # prominent cities resolve in lowercase


def test_highlight_terms_carry_names_in_every_script(kb: KnowledgeBase) -> None:
    terms = resolve_query("Russia", kb).highlight_terms
    assert {"Russia", "روس", "रूस"} <= set(terms)


def test_short_keys_give_no_ids_and_long_queries_are_refused(kb: KnowledgeBase) -> None:
    assert name_key_ids("the") == ()
    with pytest.raises(QueryTooLongError, match="limit is 5"):
        resolve_query("a b c d e f", kb, max_words=5)
    assert resolve_query("", kb).clauses == ()


def test_other_scripts_match_as_text_only(kb: KnowledgeBase) -> None:
    # No cross-script key for scripts our news is not written in (that would need uroman).
    assert _read("Москва", kb) == [("Москва", "text", ())]
    assert name_key_ids("123") == ()


def test_the_resolver_remembers_answers_and_forgets_the_least_recent(kb: KnowledgeBase) -> None:
    from services.api.resolve import QueryResolver

    resolver = QueryResolver(kb, max_entries=2)
    first = resolver.resolve("پاکستان روس")
    assert first == resolve_query("پاکستان روس", kb)
    assert resolver.resolve("پاکستان روس") is first  # the remembered (frozen) answer
    assert (resolver.hits, resolver.misses) == (1, 1)

    resolver.resolve("Nabil Munir")
    resolver.resolve("پاکستان روس")  # now the most recent again
    resolver.resolve("US")  # evicts "Nabil Munir", the least recently used
    assert len(resolver) == 2
    misses = resolver.misses
    assert resolver.resolve("پاکستان روس") is first and resolver.misses == misses
    resolver.resolve("Nabil Munir")
    assert resolver.misses == misses + 1


def test_the_resolver_keys_on_the_word_limit_and_never_caches_a_refusal(kb: KnowledgeBase) -> None:
    from services.api.resolve import QueryResolver

    resolver = QueryResolver(kb)
    with pytest.raises(QueryTooLongError):
        resolver.resolve("a b c", max_words=2)
    assert len(resolver) == 0
    assert resolver.resolve("a b c", max_words=3).raw == "a b c"
    with pytest.raises(QueryTooLongError):
        resolver.resolve("a b c", max_words=2)  # the larger limit's answer is not reused


@pytest.mark.parametrize("words", ["Foreign Office", "President Arif Alvi", "نبیل منیر"])
def test_name_key_ids_are_the_ids_enrichment_gives(words: str) -> None:
    ids = name_key_ids(words)
    for kind in ("PER", "ORG", "LOC", "MISC"):
        assert entity_id(words, kind) in ids
