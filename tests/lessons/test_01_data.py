"""Graded checks of lesson 1: split counts, cleaning, lengths, the vocabulary, id sequences."""

import numpy as np
import pytest

from shared import text
from shared.data import Imdb, Reviews

LESSON = "01"


def reviews_of(texts: list[str]) -> Reviews:
    return Reviews(texts, np.arange(len(texts)) % 2, np.ones(len(texts), dtype=np.int64))


@pytest.mark.exercise("1.1", points=2)
def test_describe_split_counts_the_real_data(lesson, imdb):
    expected = {"train": {"reviews": 25_000, "positive": 12_500, "negative": 12_500, "with_html_breaks": 14_665},
                "test": {"reviews": 25_000, "positive": 12_500, "negative": 12_500, "with_html_breaks": 14_535}}
    for name in expected:
        found = lesson.describe_split(getattr(imdb, name))
        assert found == expected[name], f"expected {expected[name]} for the {name} split, got {found}"


@pytest.mark.exercise("1.2", points=1)
@pytest.mark.parametrize("raw, clean", [
    ("Great!<br /><br />10/10", "great"),
    ("It's <i>SO</i> good...  really", "it s so good really"),
    ("Line one.<br/>Line two.", "line one line two"),
])
def test_clean_review(lesson, raw, clean):
    found = lesson.clean_review(raw)
    assert found == clean, f"expected clean_review({raw!r}) == {clean!r}, got {found!r}"


@pytest.mark.exercise("1.2", points=1)
def test_cleaning_removes_every_html_break(lesson, small_imdb):
    cleaned = [lesson.clean_review(t) for t in small_imdb.train.texts]
    left = [c for c in cleaned if "br" in c.split() or "<" in c]
    assert not left, f"expected no '<br />' (or the word 'br') after cleaning, found it in {len(left)} reviews"


@pytest.mark.exercise("1.3", points=1)
def test_review_lengths(lesson, small_imdb):
    found = lesson.review_lengths(small_imdb.test.texts[:50])
    expected = np.array([len(text.words(t)) for t in small_imdb.test.texts[:50]])
    assert isinstance(found, np.ndarray) and found.shape == (50,), f"expected an array of shape (50,), got {found!r}"
    assert np.array_equal(found, expected), f"expected lengths {expected[:5]}..., got {found[:5]}..."


@pytest.mark.exercise("1.4", points=2)
def test_vocabulary_matches_the_seed_recipe(lesson, small_imdb):
    found = lesson.build_vocabulary(small_imdb.train.texts, max_words=2_000, min_count=5)
    expected = text.build_vocabulary(small_imdb.train.texts, max_words=2_000, min_count=5)
    assert (found.get("<PAD>"), found.get("<UNK>")) == (0, 1), "expected <PAD> = 0 and <UNK> = 1"
    assert len(found) == len(expected), f"expected {len(expected)} ids (2,000 words + 2 specials), got {len(found)}"
    assert found == expected, "expected ids in order of frequency, most frequent word = 2"


@pytest.mark.exercise("1.4", points=1)
def test_vocabulary_respects_min_count(lesson):
    texts = ["good good good bad"] * 2 + ["rare"]
    found = lesson.build_vocabulary(texts, max_words=10, min_count=2)
    assert found == {"<PAD>": 0, "<UNK>": 1, "good": 2, "bad": 3}, f"expected good=2, bad=3 and no 'rare', got {found}"


@pytest.mark.exercise("1.5", points=2)
def test_sequences_have_the_right_shape_dtype_and_ids(lesson, small_imdb):
    vocabulary, train_ids, test_ids = lesson.vectorize_splits(small_imdb, max_words=3_000, length=64)
    assert train_ids.shape == (2_000, 64) and test_ids.shape == (1_000, 64), (
        f"expected shapes (2000, 64) and (1000, 64), got {train_ids.shape} and {test_ids.shape}")
    assert train_ids.dtype == np.int32, f"expected int32 ids, got {train_ids.dtype}"
    expected = text.encode(small_imdb.test.texts, vocabulary, length=64)
    assert np.array_equal(test_ids, expected), "expected the first 64 word ids, <UNK> = 1, padded with 0 at the end"


@pytest.mark.exercise("1.5", points=2)
def test_vocabulary_comes_from_the_training_split_only(lesson):
    train = reviews_of(["a fine film indeed"] * 6)
    test = reviews_of(["zebra zebra zebra zebra zebra zebra film"] * 6)
    vocabulary, _, test_ids = lesson.vectorize_splits(Imdb(train, test), min_count=5, length=8)
    assert "zebra" not in vocabulary, "expected the vocabulary to ignore words seen only in the test split"
    assert test_ids[0].tolist() == [1] * 6 + [vocabulary["film"], 0], (
        f"expected test words unseen in training to become <UNK> (1), got {test_ids[0].tolist()}")
