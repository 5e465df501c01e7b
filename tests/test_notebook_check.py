"""Checking one exercise where it is written (shared.grading.notebook): in a notebook's kernel, the verdict
./course grade gives the same source, again after each fix; and clear errors for what it cannot check."""

import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

from shared.grading import notebook
from shared.grading.known_wrong import apply, known_wrong
from shared.grading.lessons import LONG_TAG, ROOT, find_lesson
from shared.grading.report import grade_lesson

EXERCISE = "8.1"  # its checks take a second: crafted inputs, no data
MISTAKE = "rows are the predictions"


def cells_through(source: str, exercise: str) -> list:
    """The lesson's cells but the long ones, up to and including the code cell of ``exercise``."""
    cells = [cell for cell in jupytext.reads(source, fmt="py:percent").cells
             if LONG_TAG not in cell.metadata.get("tags", [])]
    heading = next(i for i, cell in enumerate(cells) if cell.cell_type == "markdown"
                   and re.search(rf"^## Exercise {re.escape(exercise)}\b", cell.source, re.MULTILINE))
    return cells[: next(i for i in range(heading, len(cells)) if cells[i].cell_type == "code") + 1]


def printed(cell) -> str:
    return "".join(output.text for output in cell.outputs if output.get("name") == "stdout")


def expected_verdict(source: str, folder: Path) -> str:
    """What ./course grade says of ``source``'s exercise, as check() prints it."""
    (folder / "lessons").mkdir(parents=True)
    lesson = folder / "lessons" / find_lesson("08").name
    lesson.write_text(source, encoding="utf-8")
    results = [r for r in grade_lesson(lesson, str(folder / "lessons")) if r.exercise == EXERCISE]
    return f"{notebook.Verdict(EXERCISE, tuple(results))}\n"


@pytest.mark.slow
def test_a_notebook_checks_its_exercise_as_the_grader_does_after_each_fix(tmp_path):
    """A learner runs the lesson up to the exercise, checks it undone, writes a known-wrong answer, checks,
    fixes it, checks again: each verdict is ./course grade's for the same source."""
    solution = find_lesson("08").read_text(encoding="utf-8")
    mistake = next(m for m in known_wrong(find_lesson("08")) if m.name == MISTAKE)
    sources = {"untouched": find_lesson("08", "lessons").read_text(encoding="utf-8"),
               "wrong": apply(solution, mistake), "right": solution}
    check_cell = nbformat.v4.new_code_cell(f'from shared.grading.notebook import check\ncheck("{EXERCISE}")')
    cells = cells_through(sources["untouched"], EXERCISE) + [check_cell]
    for name in ("wrong", "right"):  # the learner's answer, then a check of it
        cells += [cells_through(sources[name], EXERCISE)[-1], nbformat.v4.new_code_cell(check_cell.source)]
    notebook_node = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(notebook_node, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "lessons")}}).execute()  # where Jupyter starts it
    checks = [cell for cell in notebook_node.cells if cell.source == check_cell.source]
    with ThreadPoolExecutor() as pool:  # three grader processes at once, on a machine's every core
        expected = list(pool.map(lambda item: expected_verdict(item[1], tmp_path / item[0]), sources.items()))
    for name, cell, verdict in zip(sources, checks, expected):
        assert printed(cell) == verdict, name
    assert printed(checks[0]).startswith("Exercise 8.1: to do") and "rows are the predictions" in printed(checks[1])
    assert re.match(r"Exercise 8\.1: (\d+)/\1 points, every check passed\n$", printed(checks[2]))


@pytest.mark.parametrize("exercise, message", [
    ("8.9", "No exercise 8.9 in lesson 08_error_analysis; its exercises are 8.1, 8.2, 8.3, 8.4, 8.5, 8.6, 8.7, 8.8"),
    ("abc", "'abc' is not an exercise number such as \"3.2\"; the exercises are 0.1–0.3, 1.1–1.6, "),
    ("9.1", "No lesson 9 in lessons/; the lessons are: 00_setup, "),
])
def test_an_unknown_exercise_is_refused_naming_the_exercises(exercise, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        notebook.check(exercise, {})


def test_a_kernel_on_another_backend_is_refused(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as in a kernel that has not imported Keras yet
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(RuntimeError, match="04_small_bert runs Keras on the tensorflow backend, and this kernel's "
                                           "Keras runs on torch: restart the kernel"):
        notebook.check("4.1", {})


def test_a_kernel_with_no_backend_yet_gets_the_lessons(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    notebook.require_backend(find_lesson("04"))
    assert notebook.kernel_backend() == "tensorflow"
