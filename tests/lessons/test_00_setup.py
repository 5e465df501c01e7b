"""Graded checks of lesson 0: versions, label counts on the real data, a tiny forward pass; label counts and the
tiny model's sizes also against the reference on inputs drawn at grade time (tests/lessons/randomized.py)."""

from importlib.metadata import version

import keras
import numpy as np
import pytest
from checking import dict_difference, output_kind, output_layer, to_numpy, which_mistake
from hypothesis import strategies as st
from randomized import check_agrees_with_reference

from shared.data import Reviews

LESSON = "00"


@pytest.mark.exercise("0.1", points=1)
def test_versions_name_the_installed_libraries_and_backend(lesson):
    found = lesson.versions()
    expected = {name: version(name) for name in ("keras", "keras-hub", "torch", "tensorflow")}
    expected["backend"] = keras.backend.backend()
    assert found == expected, f"expected {expected}; {dict_difference(expected, found)}"


@pytest.mark.exercise("0.2", points=2)
def test_label_counts_on_the_real_splits(lesson, imdb):
    for name, split in (("train", imdb.train), ("test", imdb.test)):
        counts = lesson.label_counts(split)
        assert counts == {"positive": 12_500, "negative": 12_500}, (
            f"expected 12,500 of each label in the {name} split, got {counts}")


@pytest.mark.exercise("0.2", points=1)
def test_label_counts_on_an_unbalanced_subset(lesson):
    labels = np.array([0, 0, 0] + [1] * 10)
    counts = lesson.label_counts(Reviews(["a review"] * 13, labels, np.where(labels == 1, 8, 2)))
    expected = {"positive": 10, "negative": 3}
    mistake = which_mistake([counts.get("positive"), counts.get("negative")] if isinstance(counts, dict) else None,
                            {"the labels are swapped: 1 is positive": [3, 10],
                             "each label counted as half the reviews: count the labels": [6, 7],
                             "fractions, not counts": [10 / 13, 3 / 13]})
    assert counts == expected, f"expected {expected} for 10 positive and 3 negative reviews, got {counts}{mistake}"


class ShownReviews(Reviews):
    """Reviews that a failed drawn check shows by what exercise 0.2 reads of them: the labels."""

    def __repr__(self) -> str:
        return f"Reviews(labels={self.labels.tolist()})"


def drawn_splits() -> st.SearchStrategy[Reviews]:
    """Splits of 0 to 40 reviews with any labels: none, all positive, all negative, unbalanced either way."""
    return st.lists(st.integers(0, 1), max_size=40).map(lambda labels: ShownReviews(
        [f"review {i}" for i in range(len(labels))], np.array(labels, dtype=np.int64), np.where(labels, 8, 2)))


@pytest.mark.exercise("0.2", points=1)
def test_label_counts_on_drawn_splits(lesson, reference):
    check_agrees_with_reference("label_counts", lesson.label_counts, reference.label_counts, st.tuples(drawn_splits()))


def model_sizes(build):
    """What tiny_model's arguments decide, read from the model built with them: its parameters and the shape of
    its output for a batch of 3 reviews of 5 ids."""
    def sizes(vocabulary_size: int, embedding_dim: int) -> tuple:
        model = build(vocabulary_size=vocabulary_size, embedding_dim=embedding_dim)
        ids = (np.arange(15).reshape(3, 5) % vocabulary_size).astype("int32")
        return model.count_params(), tuple(to_numpy(model(ids)).shape)
    return sizes


@pytest.mark.exercise("0.3", points=1)
def test_tiny_model_sizes_follow_its_arguments(lesson, reference):
    check_agrees_with_reference("(parameters, output shape) of tiny_model", model_sizes(lesson.tiny_model),
                                model_sizes(reference.tiny_model), st.tuples(st.integers(2, 300), st.integers(1, 24)),
                                examples=40)


@pytest.mark.exercise("0.3", points=1)
def test_tiny_model_averages_then_applies_a_sigmoid(lesson):
    # unseeded on purpose: the check compares the model with its own weights, and seeding Keras imports
    # TensorFlow, for seconds of this check's time
    model = lesson.tiny_model(vocabulary_size=50, embedding_dim=4)
    ids = np.array([[1, 2, 3, 7], [4, 5, 6, 9]], dtype="int32")
    kind, probabilities, logits = output_kind(model, ids)
    assert probabilities.shape == (2, 1), f"expected output shape (2, 1), one probability per review, " \
                                          f"got {probabilities.shape}"
    assert kind == "probabilities", (
        f"expected probabilities, the sigmoid of the Dense unit's output ({logits[:, 0]}), got "
        f"{probabilities[:, 0]}" + (" — no sigmoid on the output: add activation='sigmoid'" if kind == "logits" else ""))
    embeddings = [layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    assert embeddings, "expected an Embedding layer that turns token ids into vectors, found none"
    vectors = to_numpy(embeddings[0].embeddings)[ids]
    features = to_numpy(keras.Model(model.input, output_layer(model).input)(ids))
    mistake = which_mistake(features, {"the maximum over the tokens, not their average": vectors.max(axis=1)})
    assert np.allclose(features, vectors.mean(axis=1), atol=1e-6), (
        f"expected the Dense unit to read the average of the token vectors{mistake}")


@pytest.mark.exercise("0.3", points=1)
def test_tiny_model_has_the_described_layers(lesson):
    model = lesson.tiny_model(vocabulary_size=50, embedding_dim=4)
    expected = 50 * 4 + 4 + 1  # embedding table, then the dense unit's weights and bias
    assert model.count_params() == expected, (
        f"expected {expected} parameters (Embedding 50x4 + Dense 4->1), got {model.count_params()}")
