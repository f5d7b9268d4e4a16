"""The entity step stage by stage (``Enricher.entity_stages``) and the product evaluation built on
it (``tools/eval_ner.py --through product``): offsets mapped back, losses blamed on a stage."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from services.enrich.ner import NerSpan
from services.enrich.ner.corpus import GoldSentence
from services.enrich.ner.tagger import EntityType
from services.enrich.pipeline import Enricher
from shared.ids import article_id
from shared.models import RawArticle
from tests.unit.enrich.fakes import TaggerFake

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))

import eval_ner  # noqa: E402

BASE = Enricher()


class _FixedTagger(TaggerFake):
    def __init__(self, *spans: tuple[str, EntityType]) -> None:
        self.spans = spans

    def tag(self, text: str, language: str) -> list[NerSpan]:
        found = []
        for surface, kind in self.spans:
            start = text.find(surface)
            if start >= 0:
                found.append(NerSpan(start, start + len(surface), kind, 0.9, surface))
        return found


def _enricher(*spans: tuple[str, EntityType]) -> Enricher:
    return Enricher(kb=BASE.kb, tagger=_FixedTagger(*spans))  # type: ignore[arg-type]


def _raw(body: str, title: str | None = None) -> RawArticle:
    return RawArticle(id=article_id(url=None, title=title, body=body), title=title, body=body)


def test_stages_end_in_what_enrich_returns() -> None:
    enricher = _enricher(("نعیم اختر", "PER"), ("لاہور", "LOC"))
    raw = _raw(
        "لاہور میں نعیم اختر نے پاکستان اور چین کے تعلقات پر بات کی۔ نعیم اختر نے کہا کہ بات چیت جاری ہے۔",
        "لاہور میں ایک اجلاس",
    )
    stages = enricher.entity_stages(raw)
    article = enricher.enrich(raw)
    assert (stages.title, stages.body, stages.language) == (
        article.title,
        article.body,
        article.language,
    )
    assert list(stages.entities) == article.entities
    assert set(stages.kept) <= set(stages.voted)
    assert {c.source for c in stages.proposed} == {"kb", "model"}
    kept_spans = {(c.field, c.start, c.end) for c in stages.kept}
    mentions = {(m.field, m.start, m.end) for e in article.entities for m in e.mentions}
    assert kept_spans == mentions


def test_offsets_map_back_to_the_sentence() -> None:
    same = eval_ner.offset_map("ab cd", "ab cd")
    assert same(3, 5) == (3, 5)
    inside = eval_ner.offset_map("cd ef", "ab cd ef")
    assert inside(0, 2) == (3, 5)
    changed = eval_ner.offset_map("ab  cd ef", "ab cd ef")  # the cleaner collapsed a space
    assert changed(4, 6) == (3, 5)
    assert changed(0, 6) is None  # a span over changed text maps nowhere


def test_bootstrap_interval_is_fixed_and_holds_the_score() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 3, size=(200, 3, 3))
    low, high = eval_ner.bootstrap_interval(counts)
    assert eval_ner.bootstrap_interval(counts) == [low, high]
    f1 = float(eval_ner._f1(counts.sum(axis=0)))
    assert low <= f1 <= high and high - low < 0.2


def _cause(enricher: Enricher, text: str, gold: tuple[int, int, str]) -> str:
    sentence = GoldSentence(text, (gold,), len(text.split()))
    stages = enricher.entity_stages(eval_ner.sentence_article(sentence, "ur"))
    return eval_ner.loss_cause(enricher, stages, sentence, gold, "ur")


def test_a_lost_name_is_blamed_on_the_stage_that_lost_it() -> None:
    text = "کل وزیر اعظم نے لاہور میں خطاب کیا اور عوام سے ملاقات کی۔"
    title_only = (text.index("وزیر"), text.index(" نے"), "PER")
    assert _cause(_enricher(("وزیر اعظم", "PER")), text, title_only) == "title_trimming"
    # the tagger's person is a place the knowledge base knows: its type wins
    lahore = (text.index("لاہور"), text.index("لاہور") + 5, "PER")
    assert _cause(_enricher(("لاہور", "PER")), text, lahore) == "knowledge_base"


def test_product_spans_keep_only_entity_types_in_sentence_offsets() -> None:
    fields = {"title": "", "body": "xx Ali Raza yy"}
    found = eval_ner.product_spans(
        fields, [("body", 3, 11, "PER"), ("body", 0, 2, "MISC")], "xx Ali Raza yy"
    )
    assert found == {(3, 11, "PER"): ("body", 3, 11)}
