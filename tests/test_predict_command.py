"""./course predict, run as a subprocess on tiny lesson-3 classifiers saved here: reviews from the arguments,
a file or stdin, one line or one JSON object per review and model, and errors in one line with the right exit
status."""

import json
import os
import shutil
import subprocess
import sys

import keras
import pytest

from shared import predict_command
from shared.lessons import lstm as lesson
from shared.paths import ROOT
from shared.text import build_vocabulary

TRAINING_TEXTS = ["a great film", "a dull film", "great cast"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two tiny untrained lesson-3 classifiers, saved by the lesson."""
    vocabulary = build_vocabulary(TRAINING_TEXTS, max_words=10, min_count=1)
    saved = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        model = lesson.build_fast_lstm(len(vocabulary), embedding_dim=4, units=4, num_layers=1, dropout=0.0)
        saved.append(lesson.save_classifier(model, vocabulary, tmp_path_factory.mktemp(f"model{seed}") / "lstm"))
    return saved


def predict(*arguments: str, stdin: bytes = b"", cwd=ROOT) -> subprocess.CompletedProcess:
    environment = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "shared.predict_command", *arguments], input=stdin, cwd=cwd,
                          capture_output=True, env=environment, timeout=600)


def error_line(run: subprocess.CompletedProcess) -> str:
    """The one error line on stderr (library logs may come before it), with no traceback."""
    err = run.stderr.decode()
    errors = [line for line in err.splitlines() if line.startswith(f"{predict_command.PROG}: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


@pytest.mark.slow  # a subprocess that loads Keras and a model
def test_reviews_from_arguments_stdin_and_a_file_get_one_json_line_per_review_and_model(folders, tmp_path):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("a dull film\n\n😀\n", encoding="utf-8")
    run = predict("--model", str(folders[0]), "--model", str(folders[1]), "--json", "A great film!", "-",
                  "--file", str(reviews), stdin=b'{"text": "great cast", "id": 7}\n{"text": ""}\n')
    assert run.returncode == 0, run.stderr.decode()
    answers = [json.loads(line) for line in run.stdout.decode().splitlines()]
    texts = ["A great film!", "great cast", "", "a dull film", "😀"]
    assert [(a["index"], a["text"], a["model"]) for a in answers] == [
        (index, text, str(folder)) for index, text in enumerate(texts) for folder in folders]
    for answer in answers:
        if answer["text"] in ("", "😀"):
            assert answer["label"] == "unreadable" and answer["confidence"] is None and answer["reason"]
        else:
            assert answer["label"] in ("positive", "negative") and 0.5 <= answer["confidence"] <= 1
            assert answer["reason"] is None


@pytest.mark.slow  # a subprocess that loads Keras and a model
def test_the_saved_models_answer_by_default_one_line_each(folders, tmp_path):
    shutil.copytree(folders[0], tmp_path / "artifacts" / "lesson03" / "classifier")
    run = predict("A great film!", "", cwd=tmp_path)
    assert run.returncode == 0, run.stderr.decode()
    first, second = run.stdout.decode().splitlines()
    assert first.split()[0] in ("positive", "negative") and first.endswith("%  lstm  A great film!")
    assert second == "unreadable      -  lstm    (it is empty)"


def test_without_a_saved_model_it_says_how_to_train_one(tmp_path):
    run = predict("A great film!", cwd=tmp_path)
    assert run.returncode == 2 and "no saved model yet" in error_line(run)
    assert "lstm: ./course train" in run.stderr.decode()


@pytest.mark.parametrize("arguments, stdin, error", [
    ([], b"", "no reviews"),
    (["-"], b"a great film\n\xff\n", r"stdin, line 2: not UTF-8 text"),
    (["-"], b'{"text": "a great film"}\nnot json\n', r"stdin, line 2: not JSON"),
    (["--model", "bert", "A great film!"], b"", "no bert model saved in artifacts/lesson05/classifier yet"),
], ids=["no reviews", "not UTF-8", "broken JSON lines", "a model not trained yet"])
def test_bad_usage_or_input_exits_with_2_and_one_error_line(folders, tmp_path, arguments, stdin, error):
    model = [] if "--model" in arguments else ["--model", str(folders[0])]
    run = predict(*model, *arguments, stdin=stdin, cwd=tmp_path)
    assert run.returncode == 2 and error in error_line(run)


def test_an_unknown_option_is_argparses_usage_error():
    run = predict("--modle", "lstm", "A great film!")
    assert run.returncode == 2 and "unrecognized arguments: --modle" in run.stderr.decode()


@pytest.mark.slow  # a subprocess that loads Keras and a model
def test_a_damaged_model_exits_with_1_naming_it(folders, tmp_path):
    folder = shutil.copytree(folders[0], tmp_path / "lstm")
    (folder / "model.keras").write_bytes((folder / "model.keras").read_bytes()[:1000])
    run = predict("--model", str(folder), "A great film!")
    assert run.returncode == 1 and f"cannot load the {folder} model: {folder}: model.keras is not what was saved" \
        in error_line(run)


def test_the_course_script_lists_the_command():
    run = subprocess.run([str(ROOT / "course"), "help"], capture_output=True, text=True, timeout=60)
    assert "./course predict REVIEW..." in run.stdout


@pytest.mark.slow  # the entry point, which loads Keras and a model
def test_through_the_course_script_paths_are_the_callers(folders, tmp_path):
    shutil.copytree(folders[0], tmp_path / "mine")
    (tmp_path / "reviews.txt").write_text("a dull film\n", encoding="utf-8")
    run = subprocess.run([str(ROOT / "course"), "predict", "--model", "mine", "--file", "reviews.txt", "--json"],
                         cwd=tmp_path, capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr.decode()
    (answer,) = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert (answer["text"], answer["model"]) == ("a dull film", "mine")


@pytest.mark.parametrize("reader", ["--file", "stdin"])
def test_an_endless_line_is_refused_after_a_megabyte(reader, monkeypatch):
    zeros = open("/dev/zero", "rb")
    if reader == "stdin":
        monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": zeros})())
    where = "stdin" if reader == "stdin" else "--file /dev/zero"
    with pytest.raises(predict_command.UsageError, match=rf"^{where}, line 1: longer than 1,048,576 bytes"):
        list(predict_command.all_reviews(["-"] if reader == "stdin" else [], None if reader == "stdin"
                                         else predict_command.Path("/dev/zero")))
    zeros.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_named_pipe_no_program_writes_to_reads_as_empty_at_once(tmp_path):
    fifo = tmp_path / "reviews"
    os.mkfifo(fifo)
    assert list(predict_command.all_reviews(["A great film!"], fifo)) == ["A great film!"]
