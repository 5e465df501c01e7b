"""On a machine without a GPU the commands that run on PyTorch print what they were asked for, not TensorFlow's,
absl's or CUDA's start-up lines ("failed call to cuInit" reads as broken to a beginner): they never load
TensorFlow. What needs it (the BERT tokenizer, the TF-Hub lesson) imports it where it is used."""

import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from shared.paths import ROOT
from shared.ports import free_port
from test_predict_command import folders  # noqa: F401  two tiny lesson-3 classifiers, saved by the lesson

LIBRARY_LINES = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ |WARNING: All log messages before absl)|cuInit|"
                           r"oneDNN custom operations|TensorFlow binary is optimized|cuda_(?:platform|dnn|blas)",
                           re.MULTILINE)
RUNTIME = ("shared.predict_command", "shared.prediction", "demo.app", "shared.lessons.lstm",
           "shared.lessons.distributed", "shared.lessons.data", "shared.lessons.error_analysis")


def test_the_pattern_knows_tensorflows_start_up_lines():
    lines = ["I0000 00:00:1796632739.836420    9122 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
             "E0000 00:00:1796632746.954065    9122 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error",
             "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"]
    assert all(LIBRARY_LINES.search(line) for line in lines)
    assert not LIBRARY_LINES.search("lessons/00_setup.py  0.1  passed  1/1\nWARNING: the data is not found")


@pytest.mark.slow
def test_the_pytorch_runtime_never_loads_tensorflow(tmp_path):
    """Nor does seeding the LSTM's run (./course train; keras.utils.set_random_seed would), or saving a model
    (Keras's serializer would, to ask whether a value is one of TensorFlow's types)."""
    code = (f"import sys, keras, {', '.join(RUNTIME)}; from shared.training import set_random_seed; "
            "set_random_seed(0); keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(sys.argv[1]); "
            "print('tensorflow' in sys.modules, 'keras_hub' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "tiny.keras")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.split() == ["False", "False"], done.stdout + done.stderr
    assert not LIBRARY_LINES.search(done.stderr), done.stderr


@pytest.mark.slow
@pytest.mark.real_data
def test_train_prints_its_run_alone(tmp_path):
    """A tiny run of the real thing: 100 reviews of each split, one epoch, saved and exported for ONNX Runtime."""
    done = subprocess.run([str(ROOT / "course"), "train", "--config", "quick", "--reviews", "100", "--epochs", "1", "--output",
                           str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "quick: test accuracy " in done.stdout and (tmp_path / "classifier" / "model.onnx").is_file(), done.stdout
    assert not LIBRARY_LINES.search(done.stdout + done.stderr), done.stdout + done.stderr


@pytest.mark.slow
def test_predict_with_the_lstm_prints_its_answers_alone(folders, tmp_path):  # noqa: F811
    shutil.copytree(folders[0], tmp_path / "mine")
    done = subprocess.run([str(ROOT / "course"), "predict", "--model", "mine", "This movie was great"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.count("\n") == 1, done.stdout + done.stderr
    assert not LIBRARY_LINES.search(done.stdout + done.stderr), done.stderr


@pytest.mark.slow
@pytest.mark.real_data
def test_grading_a_pytorch_lesson_prints_the_report_alone():
    done = subprocess.run([str(ROOT / "course"), "grade", "--lesson", "0", "--target", "solutions"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not LIBRARY_LINES.search(done.stdout + done.stderr), done.stdout + done.stderr


def wait_for_page(port: int, server: subprocess.Popen, seconds: float = 120) -> None:
    """Return once the demo's page answers on ``port``; fail if the server stops or never answers."""
    deadline = time.monotonic() + seconds
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return
        except OSError:  # not listening yet
            time.sleep(0.2)
    pytest.fail(f"./course demo served no page (exit status {server.poll()})")


@pytest.mark.slow
def test_the_demo_starts_and_answers_with_no_library_lines(folders, tmp_path):  # noqa: F811
    """Started as a student starts it, and asked about a review through its page's API."""
    from gradio_client import Client

    folder = shutil.copytree(folders[0], tmp_path / "lstm")
    port, log = free_port(), tmp_path / "demo.log"
    with open(log, "w") as output:
        server = subprocess.Popen([str(ROOT / "course"), "demo", "--lstm", str(folder), "--port", str(port)],
                                  stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_page(port, server)
        answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict("A great film.", api_name="/classify")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert answer["label"] in {"positive", "negative"}, log.read_text()
    assert not LIBRARY_LINES.search(log.read_text()), log.read_text()
