"""The entry point answers every command line: unknown commands and lesson numbers get a clear error."""

import subprocess
import sys
from pathlib import Path

import pytest

from shared.grading import report
from shared.grading.lessons import find_lesson
from shared.train_command import main as train

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("given", [3, "3", "03", "03_lstm", " 3 "])
def test_a_lesson_is_found_by_number_or_name(given):
    assert find_lesson(given).name == "03_lstm.py"


@pytest.mark.parametrize("given, message", [
    ("abc", "'abc' is not a lesson number"),
    ("012", "'012' is not a lesson number"),  # not lesson 1
    ("3.5", "'3.5' is not a lesson number"),
    ("99", "No lesson 99 in solutions/"),
    ("03_data", "No lesson 03_data in solutions/"),
])
def test_anything_else_is_refused_naming_the_lessons(given, message):
    with pytest.raises(ValueError, match=message) as error:
        find_lesson(given)
    assert "00_setup, 01_data" in str(error.value)


def test_grade_with_a_bad_lesson_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        report.main(["--lesson", "abc"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "./course grade: error: 'abc' is not a lesson number" in err


@pytest.mark.parametrize("argv, environment, message", [
    (["--reviews", "50"], {}, "argument --reviews: expected a whole number of at least 100, got '50'"),
    (["--epochs", "-1"], {}, "argument --epochs: expected a whole number of at least 1, got '-1'"),
    (["--config", "huge"], {}, "--config (or LSTM_CONFIG) is 'huge', none of quick, full"),
    ([], {"LSTM_CONFIG": "Full"}, "--config (or LSTM_CONFIG) is 'Full', none of quick, full"),
], ids=["too few reviews", "negative epochs", "unknown configuration", "unknown LSTM_CONFIG"])
def test_train_refuses_bad_arguments_before_training(argv, environment, message, monkeypatch, capsys):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("shared.train_command.load_imdb", lambda: None)  # no data: the arguments alone are wrong
    monkeypatch.setattr("shared.lessons.lstm.run_experiment", lambda *args: pytest.fail("a model was trained"))
    with pytest.raises(SystemExit) as stopped:
        train(argv)
    assert stopped.value.code == 2 and f"./course train: error: {message}" in capsys.readouterr().err


def test_train_without_data_says_how_to_provide_it_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMDB_DATA_DIR", str(tmp_path / "nowhere"))
    assert train(["--reviews", "100"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("./course train: error: ") and "IMDB_DATA_DIR" in error and "Traceback" not in error


def test_an_unknown_command_says_so_and_shows_the_usage():
    done = subprocess.run([str(ROOT / "course"), "nonsense"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "unknown command 'nonsense'" in done.stderr and "./course setup" in done.stderr


def test_help_shows_every_command():
    done = subprocess.run([str(ROOT / "course"), "help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    for command in ("setup", "train", "test", "grade", "demo"):
        assert f"./course {command}" in done.stdout


def fake_python(folder: Path, name: str, version: str) -> Path:
    """A stand-in interpreter: reports ``version`` to the course's version check, logs any other call and fails."""
    major, minor, micro = map(int, version.split("."))
    path = folder / name
    path.write_text(f"""#!/bin/sh
if [ "$1" = -c ]; then exec {sys.executable} -c "import sys; sys.version_info = ({major}, {minor}, {micro}); $2"; fi
echo "{name} $*" >> "{folder}/calls.log"
exit 1
""")
    path.chmod(0o755)
    return path


def setup_with(tmp_path: Path, pythons: dict[str, str], **env: str) -> subprocess.CompletedProcess:
    """./course setup into a new environment folder, with only the fake ``pythons`` (name: version) on PATH."""
    folder = tmp_path / "bin"
    folder.mkdir(parents=True)
    for name, version in pythons.items():
        fake_python(folder, name, version)
    environment = {"PATH": f"{folder}:/usr/bin:/bin", "COURSE_VENV": str(tmp_path / "venv")} | env
    return subprocess.run([str(ROOT / "course"), "setup"], capture_output=True, text=True, timeout=30, env=environment)


def test_without_a_supported_python_setup_says_what_to_install(tmp_path):
    done = setup_with(tmp_path, {"python3.11": "3.11.0", "python3": "3.10.12"})  # Ubuntu 22.04's python3.11
    assert done.returncode == 1
    assert "needs Python 3.11.5 to 3.13, and none was found" in done.stderr
    assert "sudo apt install python3.12-venv" in done.stderr and "use WSL" in done.stderr
    assert not (tmp_path / "bin" / "calls.log").exists()


def test_setup_takes_the_first_supported_python(tmp_path):
    done = setup_with(tmp_path, {"python3.11": "3.11.4", "python3.12": "3.12.3", "python3": "3.13.0"})
    assert done.returncode == 1  # the stand-in cannot make an environment
    assert (tmp_path / "bin" / "calls.log").read_text() == f"python3.12 -m venv {tmp_path / 'venv'}\n"


def test_PYTHON_wins_and_is_refused_when_unsupported(tmp_path):
    fake_python(tmp_path, "old", "3.14.0")
    done = setup_with(tmp_path / "again", {"python3.12": "3.12.3"}, PYTHON=str(tmp_path / "old"))
    assert done.returncode == 1 and f"PYTHON={tmp_path / 'old'} is not Python 3.11.5 to 3.13" in done.stderr
    assert not (tmp_path / "again" / "bin" / "calls.log").exists()
