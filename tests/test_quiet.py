"""On a machine without a GPU the commands that run on PyTorch print what they were asked for, not TensorFlow's,
absl's or CUDA's start-up lines ("failed call to cuInit" reads as broken to a beginner): they never load
TensorFlow. What needs it (the BERT tokenizer, the TF-Hub lesson) imports it where it is used."""

import re
import shutil
import subprocess
import sys

import pytest

from shared.paths import ROOT
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
def test_the_pytorch_runtime_never_loads_tensorflow():
    """Nor does seeding the LSTM's run (./course train): keras.utils.set_random_seed would."""
    code = (f"import sys, {', '.join(RUNTIME)}; from shared.training import set_random_seed; set_random_seed(0); "
            "print('tensorflow' in sys.modules, 'keras_hub' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["False", "False"], done.stdout + done.stderr
    assert not LIBRARY_LINES.search(done.stderr), done.stderr


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
