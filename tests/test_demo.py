"""The demo page answers with every saved model, keeps within its limits, and says in one line why it cannot start."""

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from contextlib import contextmanager

import gradio as gr
import httpx
import pytest

from demo import app
from demo.same_origin import SameOrigin, served_hosts
from shared.lessons import lstm as lesson
from shared.prediction import load_predictor
from shared.ports import free_port
from shared.text import build_vocabulary
from shared.training import SAMPLE_REVIEWS


@pytest.fixture(scope="module")
def lstm_folder(tmp_path_factory):
    """A tiny untrained lesson-3 classifier saved the way the lesson saves it, knowing the words of the page's
    examples."""
    vocabulary = build_vocabulary(["a great film", "a dull film", *SAMPLE_REVIEWS], max_words=40, min_count=1)
    model = lesson.build_fast_lstm(len(vocabulary), embedding_dim=4, units=4, num_layers=1, dropout=0.0)
    return lesson.save_classifier(model, vocabulary, tmp_path_factory.mktemp("lstm"))


@pytest.fixture(scope="module")
def predictors(lstm_folder):
    return {"BiLSTM (lesson 3)": load_predictor("shared.lessons.lstm", "load_classifier", lstm_folder)}



@contextmanager
def serving(predictors):
    """The demo page served as main serves it, on a free local port; yields its address."""
    port = free_port()
    page = app.build_demo(predictors)
    app.serve(page, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        page.close(verbose=False)


def upload(address: str, content: bytes) -> httpx.Response:
    return httpx.post(f"{address}gradio_api/upload", files={"files": ("review.txt", content)}, timeout=30)


def stopped_with_one_error_line(capsys, monkeypatch, tmp_path, argv: list[str]) -> str:
    """main's exit code must be 2, and stderr argparse's usage and one error line: no traceback."""
    monkeypatch.chdir(tmp_path)  # away from the models the lessons saved, which would load too
    with pytest.raises(SystemExit) as stopped:
        app.main(argv)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "Traceback" not in err
    error_lines = [line for line in err.splitlines() if line.startswith("python -m demo.app: error:")]
    assert len(error_lines) == 1 and err.rstrip().endswith(error_lines[0]), err
    return error_lines[0]


def test_each_model_answers_with_both_labels_summing_to_one(predictors):
    answer = app.classify(predictors, "A great film.")
    assert set(answer) == {"positive", "negative"}
    assert sum(answer.values()) == pytest.approx(1.0) and max(answer.values()) >= 0.5


def test_two_models_give_two_answers(predictors):
    answers = app.classify({**predictors, "again": predictors["BiLSTM (lesson 3)"]}, "A dull film.")
    assert isinstance(answers, list) and len(answers) == 2 and answers[0] == answers[1]


def test_a_review_the_model_cannot_read_gets_the_reason_not_a_guess(predictors):
    answer = app.classify(predictors, "😀 🎬 👍")
    assert isinstance(answer, str) and answer.startswith("cannot read it: ")


def test_an_empty_review_is_refused(predictors):
    with pytest.raises(gr.Error, match="Type or paste a review"):
        app.classify(predictors, "   ")


def test_a_review_over_the_cap_is_refused_with_the_limit(predictors):
    longest = "A great film.".ljust(app.MAX_REVIEW_CHARS)  # few words: the model's time is not what is tested
    assert set(app.classify(predictors, longest)) == {"positive", "negative"}
    with pytest.raises(gr.Error, match="at most 20,000"):
        app.classify(predictors, longest + "!")


def test_without_a_saved_model_it_says_how_to_train_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        app.main([])
    assert stopped.value.code == 2 and "./course train" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="holds no model.keras"):
        app.find_models(tmp_path, None)


def test_the_page_serves_predictions_over_http(predictors):
    from gradio_client import Client

    with serving(predictors) as address:
        answer = Client(address, verbose=False).predict("A great film.", api_name="/classify")
    assert answer["label"] in {"positive", "negative"}
    assert {c["label"] for c in answer["confidences"]} == {"positive", "negative"}


def test_the_page_answers_its_own_names_and_refuses_other_hosts_and_pages_elsewhere(predictors):
    with serving(predictors) as address:
        port = address.rstrip("/").rsplit(":", 1)[1]
        own = httpx.get(address, headers={"Origin": address.rstrip("/")}, timeout=30)
        by_name = httpx.get(address, headers={"Host": f"localhost:{port}"}, timeout=30)
        rebound = httpx.get(address, headers={"Host": f"attacker.example:{port}"}, timeout=30)
        elsewhere = httpx.post(f"{address}gradio_api/queue/join", headers={"Origin": "https://attacker.example"},
                               json={}, timeout=30)
    assert own.status_code == by_name.status_code == 200
    assert rebound.status_code == 421 and rebound.text == (
        f"This demo serves 127.0.0.1:{port} or [::1]:{port} or localhost:{port}, not attacker.example:{port}.")
    assert elsewhere.status_code == 403 and "its own page only" in elsewhere.text


def test_a_call_of_a_function_the_page_does_not_have_is_refused_with_those_it_has(predictors):
    """Gradio answers an unknown fn_index with a KeyError's 500 and a traceback; the page's own still work."""
    page_functions = set(app.build_demo(predictors).fns)
    join = {"data": ["A great film."], "session_hash": "a-session"}
    with serving(predictors) as address:
        unknown = httpx.post(f"{address}gradio_api/queue/join", json=join | {"fn_index": 999}, timeout=30)
        known = httpx.post(f"{address}gradio_api/queue/join", json=join | {"fn_index": min(page_functions)},
                           timeout=30)
        malformed = httpx.post(f"{address}gradio_api/queue/join", json=join | {"fn_index": "one"}, timeout=30)
        huge = httpx.post(f"{address}gradio_api/queue/join", json=join | {"data": ["x" * 2_000_000]}, timeout=30)
    assert unknown.status_code == 404 and unknown.json()["detail"] == (
        f"this page has no function 999; it has {sorted(page_functions)}")
    assert known.status_code == 200 and "event_id" in known.json()
    assert malformed.status_code == 422  # Gradio's own answer to a body it cannot read
    assert huge.status_code == 413


def test_served_to_other_machines_any_host_answers_but_not_a_page_elsewhere():
    guard = SameOrigin(app=None, hosts=served_hosts("0.0.0.0", 7860))
    assert guard.refusal({b"host": b"10.0.0.5:7860", b"origin": b"http://10.0.0.5:7860"}) is None
    assert guard.refusal({b"host": b"10.0.0.5:7860"}) is None  # no Origin: not sent by a page's script
    assert guard.refusal({b"host": b"10.0.0.5:7860", b"origin": b"http://attacker.example"})[0] == 403


def test_a_websocket_from_another_host_is_closed_before_it_reaches_the_page():
    sent, reached = [], []

    async def page(scope, receive, send):
        reached.append(scope["type"])

    async def send(message):
        sent.append(message)

    guard = SameOrigin(app=page, hosts=served_hosts("127.0.0.1", 7860))
    for host in (b"attacker.example:7860", b"localhost:7860"):
        asyncio.run(guard({"type": "websocket", "headers": [(b"host", host)]}, None, send))
    assert sent == [{"type": "websocket.close", "code": 1008}] and reached == ["websocket"]


def test_an_uploaded_file_is_refused_over_http(predictors, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    with serving(predictors) as address:
        refused = upload(address, b"x" * 1024)
    assert refused.status_code == 413 and "maximum allowed size" in refused.text
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_temporary_files_are_gone_after_close(predictors, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    with serving(predictors) as address:
        kept = upload(address, b"")  # the one upload within the cap of none: an empty file
        kept.raise_for_status()
        (saved,) = kept.json()
        assert os.path.isfile(saved) and saved.startswith(str(tmp_path))
    assert not os.path.exists(saved)


@pytest.mark.parametrize("damage", [lambda data: os.urandom(len(data)), lambda data: data[:len(data) // 2]],
                         ids=["random-bytes", "truncated"])
def test_a_damaged_model_stops_start_up_with_one_line(lstm_folder, tmp_path, capsys, monkeypatch, damage):
    folder = shutil.copytree(lstm_folder, tmp_path / "classifier")
    (folder / "model.keras").write_bytes(damage((folder / "model.keras").read_bytes()))
    error = stopped_with_one_error_line(capsys, monkeypatch, tmp_path, ["--lstm", str(folder)])
    assert f"cannot load the BiLSTM (lesson 3) model from {folder}" in error and "./course train" in error


def test_the_models_load_beside_the_page_and_the_first_review_waits_for_them(lstm_folder, predictors):
    loading = app.LoadingPredictors({"BiLSTM (lesson 3)": ("shared.lessons.lstm", "load_classifier", lstm_folder)})
    page = app.build_demo(loading)  # names the models and those not trained, loading none
    assert list(loading) == ["BiLSTM (lesson 3)"] and loading._loading is None and "Not trained" in page.description
    assert app.classify(loading, "A great film.") == app.classify(predictors, "A great film.")


def test_a_model_that_loads_badly_after_start_up_says_why_on_the_page(lstm_folder, tmp_path, capsys):
    folder = shutil.copytree(lstm_folder, tmp_path / "classifier")
    (folder / "manifest.json").unlink()  # unsealed: nothing to check before start-up
    (folder / "model.keras").write_bytes(b"not a model")
    app.check_folders({"BiLSTM (lesson 3)": ("shared.lessons.lstm", "load_classifier", folder)})
    loading = app.LoadingPredictors({"BiLSTM (lesson 3)": ("shared.lessons.lstm", "load_classifier", folder)})
    with pytest.raises(gr.Error, match=f"cannot load the BiLSTM \\(lesson 3\\) model from {folder}: .*model.keras"):
        app.classify(loading, "A great film.")
    assert f"python -m demo.app: cannot load the BiLSTM (lesson 3) model from {folder}" in capsys.readouterr().err


def test_the_page_starts_without_importing_keras():
    imported = subprocess.run([sys.executable, "-c", "import sys, demo.app; print(sorted(name for name in "
                               "('keras', 'torch', 'tensorflow', 'shared.prediction') if name in sys.modules))"],
                              capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


def test_a_model_never_trained_is_named_with_the_command_that_trains_it(predictors, lstm_folder):
    command = app.MODELS["fine-tuned BERT (lesson 5)"][3]
    said = app.not_trained(predictors)
    assert said == f"Not trained yet, so not asked: fine-tuned BERT (lesson 5) (train it: `{command}`)."
    assert said in app.build_demo(predictors).description
    both = predictors | {"fine-tuned BERT (lesson 5)": predictors["BiLSTM (lesson 3)"]}
    assert app.not_trained(both) == "" and "Not trained" not in app.build_demo(both).description


def test_a_port_in_use_stops_start_up_with_one_line_naming_the_flag(lstm_folder, tmp_path, capsys, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["--lstm", str(lstm_folder), "--port", str(port)]
        error = stopped_with_one_error_line(capsys, monkeypatch, tmp_path, argv)
    assert f"cannot serve on 127.0.0.1:{port}" in error and "--port" in error


@pytest.mark.parametrize("argv, environment", [(["--port", "99999"], {}), ([], {"GRADIO_SERVER_PORT": "99999"})],
                         ids=["flag", "GRADIO_SERVER_PORT"])
def test_a_port_out_of_range_stops_start_up_with_one_line(tmp_path, capsys, monkeypatch, argv, environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    error = stopped_with_one_error_line(capsys, monkeypatch, tmp_path, argv)
    assert "'99999' is not a port: choose one from 1 to 65535" in error
