"""Lesson 3's classifier exported to ONNX answers as the Keras model does, is exported again whenever it is not
the graph of the model saved beside it, and asks for neither Keras nor PyTorch when it answers."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from shared import onnx_lstm
from shared.answers import load_predictor
from shared.lessons import lstm as lesson
from shared.paths import ROOT
from shared.sealed import MANIFEST
from shared.text import build_vocabulary

WORDS = [f"word{i}" for i in range(40)]


def saved_classifier(folder, seed: int):
    """A small untrained two-layer classifier, saved by the lesson: the export must keep both layers and both
    directions."""
    vocabulary = build_vocabulary([" ".join(WORDS)], max_words=len(WORDS), min_count=1)
    keras.utils.set_random_seed(seed)
    model = lesson.build_fast_lstm(len(vocabulary), embedding_dim=8, units=6, num_layers=2, dropout=0.0)
    return model, vocabulary, lesson.save_classifier(model, vocabulary, folder)


def drawn_reviews(seed: int, count: int = 300) -> list[str]:
    """Reviews of 0 to 400 words (past the 256 the model reads, so which end it keeps matters), known and unknown
    words mixed; more of them than one batch of the graph holds."""
    rng = np.random.default_rng(seed)
    pool = [*WORDS, "unknown", "<br />", "!"]
    return [" ".join(rng.choice(pool, size=rng.integers(0, 401))) for _ in range(count)]


def assert_same_answers(found, expected):
    assert [p.label for p in found] == [p.label for p in expected]
    assert [p.reason for p in found] == [p.reason for p in expected]
    readable = [(a.confidence, b.confidence) for a, b in zip(found, expected) if b.readable]
    assert np.allclose(*zip(*readable), atol=1e-5), max(abs(a - b) for a, b in readable)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_graph_answers_as_the_keras_model_does(tmp_path, seed):
    model, vocabulary, folder = saved_classifier(tmp_path / "lstm", seed)
    reviews = drawn_reviews(seed)
    assert_same_answers(onnx_lstm.onnx_predictor(folder)(reviews), lesson.predict_sentiment(model, vocabulary, reviews))
    sealed = json.loads((folder / MANIFEST).read_text())["sha256"]
    assert set(sealed) == {*lesson.CLASSIFIER_FILES, onnx_lstm.ONNX_FILE}


def test_a_folder_saved_again_or_a_graph_swapped_is_exported_again(tmp_path):
    _, _, folder = saved_classifier(tmp_path / "lstm", 0)
    first_graph = onnx_lstm.export_onnx(folder).read_bytes()
    model, vocabulary, _ = saved_classifier(folder, 1)  # another model saved over it: its manifest has no graph
    reviews = drawn_reviews(2, count=40)
    expected = lesson.predict_sentiment(model, vocabulary, reviews)
    assert_same_answers(onnx_lstm.onnx_predictor(folder)(reviews), expected)

    (folder / onnx_lstm.ONNX_FILE).write_bytes(first_graph)  # the graph of the model saved before
    assert_same_answers(onnx_lstm.onnx_predictor(folder)(reviews), expected)


def test_a_graph_that_disagrees_with_keras_is_not_kept(tmp_path, monkeypatch):
    _, _, folder = saved_classifier(tmp_path / "lstm", 0)
    manifest = (folder / MANIFEST).read_text()
    monkeypatch.setattr(onnx_lstm, "TOLERANCE", -1.0)  # every difference, even none, too large
    with pytest.raises(RuntimeError, match="gives logits .* away from the Keras model's .*: not kept"):
        onnx_lstm.export_onnx(folder)
    assert sorted(path.name for path in folder.iterdir()) == sorted([*lesson.CLASSIFIER_FILES, MANIFEST])
    assert (folder / MANIFEST).read_text() == manifest


def test_the_graph_keeps_the_length_and_end_predict_sentiment_reads(tmp_path):
    import onnx

    _, _, folder = saved_classifier(tmp_path / "lstm", 0)
    graph = onnx.load(onnx_lstm.export_onnx(folder))
    assert {(prop.key, prop.value) for prop in graph.metadata_props} >= {("length", "256"), ("keep", "tail")}


def test_the_files_sealed_together_are_the_lessons():
    assert onnx_lstm.CLASSIFIER_FILES == lesson.CLASSIFIER_FILES


def test_an_unsealed_folder_is_left_to_keras(tmp_path):
    _, _, folder = saved_classifier(tmp_path / "lstm", 0)
    (folder / MANIFEST).unlink()
    assert not onnx_lstm.can_answer(folder)


@pytest.mark.slow  # a subprocess
def test_asking_the_lstm_loads_neither_keras_nor_pytorch(tmp_path):
    model, vocabulary, folder = saved_classifier(tmp_path / "lstm", 0)
    onnx_lstm.export_onnx(folder)
    code = ("import json, sys; from shared.answers import load_predictor; "
            f"predict = load_predictor('shared.lessons.lstm', 'load_classifier', {str(folder)!r}); "
            "answers = predict(['word1 word2', '']); "
            "print(json.dumps([[a.label, a.confidence] for a in answers])); "
            "print(sorted({'keras', 'torch', 'tensorflow'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    answers, loaded = done.stdout.splitlines()
    assert loaded == "[]", done.stderr
    expected = lesson.predict_sentiment(model, vocabulary, ["word1 word2", ""])
    assert json.loads(answers)[1] == ["unreadable", None]
    assert json.loads(answers)[0][0] == expected[0].label
    assert abs(json.loads(answers)[0][1] - expected[0].confidence) < 1e-5


def test_load_predictor_takes_the_graph_for_a_sealed_lstm_folder(tmp_path):
    _, _, folder = saved_classifier(tmp_path / "lstm", 0)
    predictor = load_predictor("shared.lessons.lstm", "load_classifier", folder)
    assert predictor.func is onnx_lstm._predict and (folder / onnx_lstm.ONNX_FILE).is_file()
