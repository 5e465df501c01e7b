"""Graded checks of lesson 0: versions, label counts on the real data, a tiny forward pass."""

from importlib.metadata import version

import keras
import numpy as np
import pytest

LESSON = "00"


@pytest.mark.exercise("0.1", points=1)
def test_versions_name_the_installed_libraries_and_backend(lesson):
    found = lesson.versions()
    expected = {name: version(name) for name in ("keras", "keras-hub", "torch", "tensorflow")}
    expected["backend"] = keras.backend.backend()
    assert found == expected, f"expected {expected}, got {found}"


@pytest.mark.exercise("0.2", points=2)
def test_label_counts_on_the_real_splits(lesson, imdb):
    for name, split in (("train", imdb.train), ("test", imdb.test)):
        counts = lesson.label_counts(split)
        assert counts == {"positive": 12_500, "negative": 12_500}, (
            f"expected 12,500 of each label in the {name} split, got {counts}")


@pytest.mark.exercise("0.2", points=1)
def test_label_counts_on_an_unbalanced_subset(lesson, imdb):
    subset = imdb.train.take(np.r_[0:3, 20_000:20_010])  # 3 negative, then 10 positive reviews
    counts = lesson.label_counts(subset)
    assert counts == {"positive": 10, "negative": 3}, f"expected 10 positive and 3 negative, got {counts}"


@pytest.mark.exercise("0.3", points=1)
def test_tiny_model_outputs_one_probability_per_review(lesson):
    model = lesson.tiny_model(vocabulary_size=50, embedding_dim=4)
    probabilities = keras.ops.convert_to_numpy(model(np.array([[1, 2, 3], [4, 5, 0]], dtype="int32")))
    assert probabilities.shape == (2, 1), f"expected output shape (2, 1), got {probabilities.shape}"
    assert np.all((probabilities >= 0) & (probabilities <= 1)), f"expected values in [0, 1], got {probabilities}"


@pytest.mark.exercise("0.3", points=1)
def test_tiny_model_has_the_described_layers(lesson):
    model = lesson.tiny_model(vocabulary_size=50, embedding_dim=4)
    expected = 50 * 4 + 4 + 1  # embedding table, then the dense unit's weights and bias
    assert model.count_params() == expected, (
        f"expected {expected} parameters (Embedding 50x4 + Dense 4->1), got {model.count_params()}")
