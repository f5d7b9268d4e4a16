"""The compiled CRF decoder must give CRFsuite's own answer: same labels, same marginals.

Two levels: a small model trained here on made-up sequences (decoder against CRFsuite on random
feature sequences, sentences of every length from 1), and the bundled Hindi and Urdu models on
sentences written for this test (the tagger's emission tables and post-processing against the
plain CRFsuite path that training uses).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pycrfsuite
import pytest

from services.enrich.ner.crf import CompiledCrf, decode
from services.enrich.ner.tagger import O_THRESHOLD, NerTagger
from services.enrich.ner.tokenize import sentences, tokenize

ATTRIBUTES = [f"a{i}" for i in range(12)]
LABELS = ["O", "B-X", "I-X", "B-Y"]


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    trainer = pycrfsuite.Trainer(verbose=False)
    for _ in range(200):
        length = rng.randint(1, 9)
        xseq = [rng.sample(ATTRIBUTES, 3) for _ in range(length)]
        # labels depend on the attributes and on the previous label, so transitions matter
        yseq: list[str] = []
        for attrs in xseq:
            if "a1" in attrs or "a2" in attrs:
                yseq.append("I-X" if yseq and yseq[-1] in ("B-X", "I-X") else "B-X")
            elif "a3" in attrs:
                yseq.append("B-Y")
            else:
                yseq.append("O")
        trainer.append(xseq, yseq)
    trainer.set_params({"c1": 0.01, "c2": 0.01, "max_iterations": 60})
    path = tmp_path_factory.mktemp("crf") / "toy.crfsuite"
    trainer.train(str(path))
    return path


def test_decoder_matches_crfsuite_on_random_sequences(toy_model: Path) -> None:
    reference = pycrfsuite.Tagger()
    reference.open(str(toy_model))
    compiled = CompiledCrf(reference)
    rng = random.Random(11)
    sequences = [
        [rng.sample(ATTRIBUTES, rng.randint(0, 4)) for _ in range(rng.randint(1, 12))]
        for _ in range(60)
    ]
    # all sequences decoded in one call, as the tagger does with a text's sentences
    emissions = np.vstack([compiled.score(attrs) for xseq in sequences for attrs in xseq])
    starts = np.cumsum([0] + [len(x) for x in sequences])
    best, marginals = decode(emissions, starts, compiled.transitions)
    for s, xseq in enumerate(sequences):
        reference.set(xseq)
        expected = reference.tag()
        rows = range(starts[s], starts[s + 1])
        assert [compiled.labels[best[r]] for r in rows] == expected
        for t, r in enumerate(rows):
            for j, label in enumerate(compiled.labels):
                assert marginals[r, j] == pytest.approx(reference.marginal(label, t), abs=1e-5)
            assert marginals[r].sum() == pytest.approx(1.0)


def test_decode_of_nothing_is_empty(toy_model: Path) -> None:
    reference = pycrfsuite.Tagger()
    reference.open(str(toy_model))
    compiled = CompiledCrf(reference)
    best, marginals = decode(np.zeros((0, 4)), np.array([0]), compiled.transitions)
    assert best.shape == (0,) and marginals.shape == (0, 4)
    assert compiled.score([]).tolist() == [0.0] * len(compiled.labels)
    assert compiled.score(["never-seen"]).tolist() == [0.0] * len(compiled.labels)


TEXTS = {
    "hi": (
        "प्रधानमंत्री नरेंद्र मोदी ने मंगलवार को नई दिल्ली में जापान के विदेश मंत्री से मुलाकात की। "
        "बैठक के बाद भारतीय जनता पार्टी के प्रवक्ता सुधीर वर्मा ने कहा कि लखनऊ और पटना में भी "
        "कार्यक्रम होंगे।\nसंयुक्त राष्ट्र ने बयान जारी किया"
    ),
    "ur": (
        "وزیر اعظم شہباز شریف نے منگل کو اسلام آباد میں چین کے سفیر سے ملاقات کی۔ "
        "پاکستان مسلم لیگ کے رہنما احمد رضا نے کہا کہ لاہور اور کراچی میں بھی اجلاس ہوں گے۔\n"
        "اقوام متحدہ نے بیان جاری کیا"
    ),
}


@pytest.mark.parametrize("language", sorted(TEXTS))
def test_bundled_models_tag_as_crfsuite_does(language: str) -> None:
    model = NerTagger()._model(language)
    model_bytes = (
        Path(__file__).resolve().parents[3] / "services/enrich/ner/models" / f"{language}.crfsuite"
    ).read_bytes()
    reference = pycrfsuite.Tagger()
    reference.open_inmemory(model_bytes)
    text = TEXTS[language]
    groups = sentences(text, tokenize(text))
    words = [text[s:e] for group in groups for s, e in group]
    starts = np.cumsum([0] + [len(g) for g in groups])
    labels, probs = model.tag(words, starts)
    entity_labels = [x for x in model.labels if x != "O"]
    assert any(label != "O" for label in labels)
    for s, group in enumerate(groups):
        reference.set(model.features.sentence_features([text[a:b] for a, b in group]))
        expected = reference.tag()
        for t, label in enumerate(expected):
            got, prob = labels[starts[s] + t], probs[starts[s] + t]
            if label != "O":
                assert (got, prob) == (label, pytest.approx(reference.marginal(label, t), abs=1e-5))
            elif reference.marginal("O", t) >= O_THRESHOLD:
                assert (got, prob) == ("O", 1.0)
            else:  # the likeliest entity label replaces an unsure O
                best = max(entity_labels, key=lambda x: reference.marginal(x, t))
                assert got == best
                assert prob == pytest.approx(reference.marginal(best, t), abs=1e-5)
