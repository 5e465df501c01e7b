"""The demo page answers with every saved model, and says what to do when there is none."""

import socket

import gradio as gr
import pytest

from demo import app
from shared.grading.lessons import find_lesson, import_lesson
from shared.text import build_vocabulary


@pytest.fixture(scope="module")
def lstm_folder(tmp_path_factory):
    """A tiny untrained lesson-3 classifier saved the way the lesson saves it."""
    lesson = import_lesson(find_lesson("03", "solutions"))
    vocabulary = build_vocabulary(["a great film", "a dull film"], max_words=10, min_count=1)
    model = lesson.build_fast_lstm(len(vocabulary), embedding_dim=4, units=4, num_layers=1, dropout=0.0)
    return lesson.save_classifier(model, vocabulary, tmp_path_factory.mktemp("lstm"))


@pytest.fixture(scope="module")
def predictors(lstm_folder):
    return {"BiLSTM (lesson 3)": app.load_predictor("03", "load_classifier", lstm_folder)}


def test_each_model_answers_with_both_labels_summing_to_one(predictors):
    answer = app.classify(predictors, "A great film.")
    assert set(answer) == {"positive", "negative"}
    assert sum(answer.values()) == pytest.approx(1.0) and max(answer.values()) >= 0.5


def test_two_models_give_two_answers(predictors):
    answers = app.classify({**predictors, "again": predictors["BiLSTM (lesson 3)"]}, "A dull film.")
    assert isinstance(answers, list) and len(answers) == 2 and answers[0] == answers[1]


def test_an_empty_review_is_refused(predictors):
    with pytest.raises(gr.Error, match="Type or paste a review"):
        app.classify(predictors, "   ")


def test_without_a_saved_model_it_says_how_to_train_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        app.main([])
    assert stopped.value.code == 2 and "./course train" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="holds no model.keras"):
        app.find_models(tmp_path, None)


def test_the_page_serves_predictions_over_http(predictors):
    from gradio_client import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    page = app.build_demo(predictors)
    page.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict("A great film.", api_name="/classify")
    finally:
        page.close()
    assert answer["label"] in {"positive", "negative"}
    assert {c["label"] for c in answer["confidences"]} == {"positive", "negative"}
