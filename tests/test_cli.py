"""The entry point answers every command line: unknown commands and lesson numbers get a clear error."""

import subprocess
from pathlib import Path

import pytest

from shared.grading import report
from shared.grading.lessons import find_lesson

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


def test_an_unknown_command_says_so_and_shows_the_usage():
    done = subprocess.run([str(ROOT / "course"), "nonsense"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "unknown command 'nonsense'" in done.stderr and "./course setup" in done.stderr


def test_help_shows_every_command():
    done = subprocess.run([str(ROOT / "course"), "help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    for command in ("setup", "train", "test", "grade", "demo"):
        assert f"./course {command}" in done.stdout
