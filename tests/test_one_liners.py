"""The library one-liners the lessons show after a hand-written exercise do what the reference solutions do:
lesson 2's GridSearchCV with PredefinedSplit chooses the C of choose_c, lesson 6's joblib.Memory caches the
embeddings of embed_reviews, under the same key."""

import dataclasses
import functools
from types import ModuleType

import keras
import keras_hub
import numpy as np
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from shared.encoders import Encoder
from shared.grading.lessons import ROOT, import_lesson


@functools.cache
def solution(name: str) -> ModuleType:
    return import_lesson(ROOT / "solutions" / f"{name}.py")


# --------------------------------------------------------------------------- lesson 2: GridSearchCV


def choices(x_train, y_train, x_valid, y_valid, candidates: list[float], make_model) -> tuple[float, float]:
    """(choose_c's C, grid_search_c's C) for models made by ``make_model(C)``."""
    lesson = solution("02_classical")
    return (lesson.choose_c(make_model, x_train, y_train, x_valid, y_valid, candidates),
            lesson.grid_search_c(make_model(candidates[0]), x_train, y_train, x_valid, y_valid, candidates))


# Accuracy of TableClassifier per C: on validation, two candidates tie for best; on training, another is best.
CANDIDATES = [0.01, 0.1, 1.0, 10.0, 100.0]
ACCURACY = {"validation": dict(zip(CANDIDATES, [0.5, 0.25, 0.75, 0.75, 0.5])),
            "training": dict(zip(CANDIDATES, [0.25, 0.5, 0.5, 0.5, 1.0]))}


class TableClassifier(ClassifierMixin, BaseEstimator):
    """A classifier as accurate on a split as ACCURACY says for its C, whatever it was fitted on. Each row says
    where it belongs: its first feature is 1 on validation rows, its second is its true label."""

    def __init__(self, C: float = 1.0):  # noqa: N803 - scikit-learn's name
        self.C = C

    def fit(self, x, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, x):
        x = x.toarray() if sparse.issparse(x) else np.asarray(x)
        truth = x[:, 1].astype(int)
        split = "validation" if x[:, 0].all() else "training"
        wrong = round((1 - ACCURACY[split][self.C]) * len(truth))
        return np.where(np.arange(len(truth)) < wrong, 1 - truth, truth)


def table_rows(labels: list[int], validation: bool) -> tuple[sparse.csr_matrix, np.ndarray]:
    return sparse.csr_matrix([[float(validation), label] for label in labels]), np.array(labels)


def test_grid_search_keeps_the_first_of_the_best_on_validation_as_choose_c_does():
    found = choices(*table_rows([0, 1, 0, 1, 1, 0, 0, 1], False), *table_rows([1, 0, 1, 0], True), CANDIDATES,
                    TableClassifier)
    assert found == (1.0, 1.0)  # not 10.0, the other best; not 100.0, the best on training


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grid_search_chooses_the_c_of_choose_c_for_logistic_regressions(seed):
    rng = np.random.default_rng(seed)
    x = sparse.csr_matrix(rng.normal(size=(400, 30)) * (rng.random((400, 30)) < 0.3))  # sparse, as TF-IDF is
    y = (x[:, :3].sum(axis=1).A.ravel() + rng.normal(scale=0.5, size=400) > 0).astype(int)
    candidates = [1e-3, 1e-2, 0.1, 1.0, 10.0]
    by_hand, by_library = choices(x[:300], y[:300], x[300:], y[300:], candidates,
                                  lambda c: LogisticRegression(C=c, solver="liblinear"))
    assert by_hand == by_library and by_hand != candidates[0]


# --------------------------------------------------------------------------- lesson 6: joblib.Memory

WORDS = ["a", "wonderful", "film", "dull", "far", "too", "long", "i", "would", "watch", "it", "again", "."]


def tiny_encoder(sequence_length: int = 16) -> Encoder:
    """A one-layer BERT with random weights: real KerasHub parts, small enough to build in a moment."""
    keras.utils.set_random_seed(0)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=sequence_length)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=5 + len(WORDS), num_layers=1, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=32)
    return Encoder("tiny-bert", backbone, preprocessor)


class CountingBackbone:
    """Stands in for a backbone and counts its runs."""

    def __init__(self, backbone: keras.Model):
        self.backbone, self.runs = backbone, 0

    def predict_on_batch(self, inputs):
        self.runs += 1
        return self.backbone.predict_on_batch(inputs)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return tiny_encoder()


def counted(encoder: Encoder, **changes) -> tuple[Encoder, CountingBackbone]:
    backbone = CountingBackbone(encoder.backbone)
    return dataclasses.replace(encoder, backbone=backbone, **changes), backbone


def key(encoder: Encoder, texts: list[str]) -> tuple:
    """The arguments of joblib_embedder's function, as the lesson calls it."""
    return encoder, encoder.name, encoder.preprocessor.sequence_length, texts


TEXTS = ["A wonderful film.<br /><br />I would watch it again.", "Dull, far too long."]


def test_joblib_serves_the_embeddings_of_embed_reviews_from_its_cache(encoder, tmp_path):
    lesson = solution("06_frozen_embeddings")
    by_hand = lesson.embed_reviews(encoder, TEXTS, tmp_path / "by-hand")
    embed = lesson.joblib_embedder(tmp_path / "joblib")
    session, backbone = counted(tiny_encoder())  # a model that has never run: running it changes its pickle
    assert not embed.check_call_in_cache(*key(session, TEXTS))
    first = embed(*key(session, TEXTS))
    runs = backbone.runs
    again = embed(*key(session, TEXTS))
    later_session, later_backbone = counted(encoder)  # another Encoder object, as a new session would load
    later = embed(*key(later_session, TEXTS))
    assert runs > 0 and backbone.runs == runs and later_backbone.runs == 0  # both read joblib's cache
    assert again.dtype == by_hand.dtype == np.float32 and np.allclose(again, by_hand, atol=1e-6)
    assert np.array_equal(again, first) and np.array_equal(later, first)


def test_joblib_keys_by_encoder_name_sequence_length_and_texts_as_embed_reviews_does(encoder, tmp_path):
    lesson = solution("06_frozen_embeddings")
    embed = lesson.joblib_embedder(tmp_path)
    embed(*key(encoder, TEXTS))
    short_preprocessor = keras_hub.models.BertTextClassifierPreprocessor(encoder.preprocessor.tokenizer,
                                                                         sequence_length=4)
    for changes, texts in (({"name": "another-encoder"}, TEXTS), ({"preprocessor": short_preprocessor}, TEXTS),
                           ({}, TEXTS[:1])):
        other, backbone = counted(encoder, **changes)
        found = embed(*key(other, texts))
        assert backbone.runs > 0, f"read from the cache after {changes or 'other texts'}"
        assert np.allclose(found, lesson.embed_reviews(other, texts, tmp_path / "by-hand"), atol=1e-6)
