"""Story vectors: the headline's contextual vector, language-centred, through the real encoder."""

from __future__ import annotations

import numpy as np
import pytest

from shared.story_vectors import HEADLINE_CHARS, STORY_DIMS, StoryEncoder, headline

# Written for this test: one story in three languages, and an unrelated English one.
FLOODS_EN = "Floods in Karachi: army joins relief work as thousands leave their homes"
FLOODS_UR = "کراچی میں سیلاب: فوج امدادی کاموں میں شامل، ہزاروں افراد گھر چھوڑ گئے"
FLOODS_HI = "कराची में बाढ़: सेना राहत कार्य में शामिल, हज़ारों लोग घर छोड़कर गए"
CRICKET_EN = "India beat Australia by six wickets to win the one-day series in Perth"


@pytest.fixture(scope="module")
def encoder() -> StoryEncoder:
    return StoryEncoder.load()


def test_the_headline_is_the_title_or_else_the_first_line_of_the_body() -> None:
    assert headline("  Floods   in\nKarachi ", "body") == "Floods in Karachi"
    assert headline(None, "\n\n  First line here \nsecond") == "First line here"
    assert headline("", "") == ""
    assert len(headline("x" * 1000, "")) == HEADLINE_CHARS


def test_vectors_are_unit_length_and_finite(encoder: StoryEncoder) -> None:
    vectors = encoder.encode([FLOODS_EN, FLOODS_UR, FLOODS_HI], ["en", "ur", "hi"])
    for vector in vectors:
        assert vector is not None and vector.shape == (STORY_DIMS,)
        assert np.isfinite(vector).all()
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_text_without_letters_gets_no_vector(encoder: StoryEncoder) -> None:
    assert encoder.encode(["", "!!! 123 ... 😀😀", FLOODS_EN], ["en", "ur", "en"])[:2] == [
        None,
        None,
    ]


def test_a_headline_is_closer_to_its_translations_than_to_another_story(
    encoder: StoryEncoder,
) -> None:
    en, ur, hi, other = encoder.encode(
        [FLOODS_EN, FLOODS_UR, FLOODS_HI, CRICKET_EN], ["en", "ur", "hi", "en"]
    )
    assert en is not None and ur is not None and hi is not None and other is not None
    unrelated = float(en @ other)
    assert float(en @ ur) > unrelated + 0.2
    assert float(en @ hi) > unrelated + 0.2
    assert float(ur @ hi) > unrelated + 0.2


def test_a_language_without_a_centroid_is_centred_on_the_others(encoder: StoryEncoder) -> None:
    (vector,) = encoder.encode([FLOODS_EN], ["pa"])
    assert vector is not None and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_centroids_of_another_length_are_refused() -> None:
    with pytest.raises(ValueError, match="384 dimensions"):
        StoryEncoder({"en": np.zeros(10, dtype=np.float32)})
