"""Exercises not started are found by reading the lesson (shared.grading.untouched) and reported without running
their checks; a started exercise, however small the change, runs its checks."""

import ast
import json
import re
from pathlib import Path

import jupytext
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.grading import checks_index, report, untouched
from shared.grading.lessons import ROOT, lesson_files

LESSONS = lesson_files("lessons")
EXERCISE_MARK = re.compile(r'@pytest\.mark\.exercise\("(\d+\.\d+)"')


def exercises_of(lesson) -> set[str]:
    return {check["exercise"] for check in checks_index.checks_of(lesson)}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_exercise_of_a_generated_lesson_is_not_started(lesson):
    waiting = untouched.not_started(lesson)
    assert set(waiting) == exercises_of(lesson) and exercises_of(lesson)
    assert all(message.startswith(f"Exercise {number}: ") for number, message in waiting.items())


def saved_with_another_kernel(text: str) -> str:
    """The lesson as JupyterLab saves it through jupytext when it ran another kernel: the header changes."""
    notebook = jupytext.reads(text, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"display_name": "Python 3.12 (my own)", "language": "python", "name": "mine"}
    return jupytext.writes(notebook, fmt="py:percent")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_saved_by_jupyterlab_keeps_every_exercise_not_started(tmp_path, lesson):
    """JupyterLab saves a lesson through jupytext, which may rewrite its header: no exercise's part changes."""
    saved = edited(tmp_path, lesson, saved_with_another_kernel)
    assert saved.read_text() != lesson.read_text()
    assert set(untouched.not_started(saved)) == exercises_of(lesson)


def test_solutions_have_every_exercise_started():
    assert not any(untouched.not_started(solution) for solution in lesson_files("solutions"))


def test_the_index_lists_the_checks_of_every_lesson_and_exercise():
    index = json.loads(checks_index.INDEX.read_text())
    assert list(index) == [lesson.stem for lesson in LESSONS]
    for lesson in LESSONS:
        assert set(EXERCISE_MARK.findall(report.checks_file(lesson).read_text())) == exercises_of(lesson)
        assert all(check["points"] >= 1 and check["check"].startswith("test_") for check in index[lesson.stem])


def edited(tmp_path: Path, lesson: Path, change) -> Path:
    copy = tmp_path / lesson.name
    copy.write_text(change(lesson.read_text()))
    return copy


@settings(max_examples=60, deadline=None)
@given(lesson=st.sampled_from(LESSONS), data=st.data())
def test_any_line_changed_inside_an_exercise_starts_that_exercise_alone(tmp_path_factory, lesson, data):
    text = lesson.read_text()
    parts = untouched.sections(text)
    number, _, start, end = data.draw(st.sampled_from(parts), label="exercise")
    line = data.draw(st.integers(start, end - 2), label="line")  # the heading, the stub, the code of its cells
    lines = text.splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].rstrip("\n") + "  # changed\n"
    copy = edited(tmp_path_factory.mktemp("lesson"), lesson, lambda _: "".join(lines))
    assert set(untouched.not_started(copy)) == {n for n, *_ in parts} - {number}


@pytest.mark.parametrize("code, started", [
    ("def clean_review(text):\n    return text.lower()\n", {"1.2"}),
    ("clean_review = str.lower\n", {"1.2"}),
    ("from shared.text import clean_review\n", {"1.2"}),
    ("def patch():\n    global clean_review\n    clean_review = str.lower\n", {"1.2"}),
    ("for clean_review in [str.lower]:\n    pass\n", {"1.2"}),
    ("try:\n    pass\nexcept ValueError as clean_review:\n    pass\n", {"1.2"}),
    ("del clean_review\n", {"1.2"}),
    ("clean = 1  # a name of its own\n", set()),
], ids=["a def", "an assignment", "an import", "a global in a function", "a loop variable", "an except name",
        "a del", "a new name"])
def test_a_function_bound_again_elsewhere_starts_its_exercise(tmp_path, code, started):
    """The code goes in a cell before the first exercise, a part of no exercise."""
    lesson = ROOT / "lessons" / "01_data.py"
    copy = edited(tmp_path, lesson, lambda text: f"# %%\n{code}\n" + text)
    assert exercises_of(lesson) - set(untouched.not_started(copy)) == started


LEARNER_CELLS = {
    "check cells": lambda number: ["from shared.grading.notebook import check\n", f'check("{number}")\n'],
    "looks at values": lambda number: [f'print("trying {number}")\n', "len(str(3))\n"],
}


@pytest.mark.parametrize("cell", LEARNER_CELLS)
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_learners_cells_below_each_exercise_leave_it_not_started(tmp_path, lesson, cell):
    """A notebook saves a learner's check("N.M") cells, and the cells where they try things, into the lesson:
    grading skips those that only call check() or only look at values, and so does this."""
    lines = lesson.read_text().splitlines(keepends=True)
    for number, _, start, end in reversed(untouched.sections(lesson.read_text())):
        last_cell = max(i for i in range(start - 1, min(end - 1, len(lines))) if lines[i].startswith("# %%"))
        lines[last_cell:last_cell] = ["# %%\n", *LEARNER_CELLS[cell](number), "\n"]
    copy = edited(tmp_path, lesson, lambda _: "".join(lines))
    added = copy.read_text().count("\n# %%\n") - lesson.read_text().count("\n# %%\n")
    assert added == len(untouched.sections(lesson.read_text()))
    assert set(untouched.not_started(copy)) == exercises_of(lesson)


@pytest.mark.parametrize("code", ["from my_answers import *\n", 'exec("def clean_review(text): return text")\n',
                                  'globals()["clean_review"] = str.lower\n', "setattr(sys, 'x', 1)\n"],
                         ids=["a star import", "exec", "globals()", "setattr"])
def test_a_lesson_that_may_bind_names_unseen_runs_every_check(tmp_path, code):
    copy = edited(tmp_path, ROOT / "lessons" / "01_data.py", lambda text: f"# %%\n{code}\n" + text)
    assert untouched.not_started(copy) == {}


def test_an_exercise_whose_heading_appears_twice_runs_its_checks(tmp_path):
    """A copy of 1.2's untouched part, kept in a string at the end, must not hide the answer above it."""
    lesson = ROOT / "lessons" / "01_data.py"
    text = lesson.read_text()
    _, _, start, end = next(part for part in untouched.sections(text) if part[0] == "1.2")
    part = "".join(text.splitlines(keepends=True)[start - 1:end - 1])
    copy = edited(tmp_path, lesson, lambda text: text + f"\n# %%\nNOTES = \'\'\'\n{part}\'\'\'\n")
    assert "1.2" not in untouched.not_started(copy)


@pytest.mark.parametrize("separator", ["\x0c", "\u2028", "\x85"], ids=["form feed", "line separator", "NEL"])
def test_a_character_that_python_reads_as_a_line_break_shifts_nothing(tmp_path, separator):
    copy = edited(tmp_path, ROOT / "lessons" / "01_data.py", lambda text: f"# a note{separator}more\n" + text)
    assert set(untouched.not_started(copy)) == exercises_of(ROOT / "lessons" / "01_data.py")


def test_a_cell_magic_is_no_cell_of_its_own(tmp_path):
    """jupytext reads "# %%capture" as a line of the cell above: the stub's cell is changed, so 1.1 is started."""
    lesson = ROOT / "lessons" / "01_data.py"
    text = lesson.read_text()
    _, _, start, end = untouched.sections(text)[0]
    lines = text.splitlines(keepends=True)
    last_cell = max(i for i in range(start - 1, end - 1) if lines[i].startswith("# %%"))
    lines[last_cell:last_cell] = ["# %%capture\n", 'check("1.1")\n', "\n"]
    assert "1.1" not in untouched.not_started(edited(tmp_path, lesson, lambda _: "".join(lines)))


@pytest.mark.parametrize("code", ["MINE = print('mine')", "print(mine := 1)"], ids=["an assignment", "a walrus"])
def test_a_cell_added_at_the_end_that_binds_a_name_starts_the_last_exercise(tmp_path, code):
    copy = edited(tmp_path, ROOT / "lessons" / "01_data.py", lambda text: text + f"\n# %%\n{code}\n")
    assert set(untouched.not_started(copy)) == {"1.1", "1.2", "1.3", "1.4", "1.5"}


def test_a_lesson_that_does_not_parse_runs_every_check(tmp_path):
    copy = edited(tmp_path, ROOT / "lessons" / "01_data.py", lambda text: text + "\n# %%\ndef broken(:\n")
    assert untouched.not_started(copy) == {}


def test_an_exercise_renumbered_runs_its_checks(tmp_path):
    copy = edited(tmp_path, ROOT / "lessons" / "01_data.py", lambda text: text.replace("## Exercise 1.1", "## Exercise 1.9"))
    assert set(untouched.not_started(copy)) == {"1.2", "1.3", "1.4", "1.5", "1.6"}


def test_a_lesson_the_course_does_not_know_runs_every_check(tmp_path):
    copy = edited(tmp_path, ROOT / "lessons" / "01_data.py", str).rename(tmp_path / "09_mine.py")
    assert untouched.not_started(copy) == {}


def test_an_untouched_lesson_is_graded_without_running_a_check(monkeypatch):
    monkeypatch.setattr(report, "_run_checks", lambda *args, **kwargs: pytest.fail("ran the checks"))
    results = report.grade_lesson(ROOT / "lessons" / "02_classical.py", "lessons")
    assert [(r.exercise, r.check, r.points) for r in results] == [
        (c["exercise"], c["check"], c["points"]) for c in checks_index.checks_of(ROOT / "lessons" / "02_classical.py")]
    assert all(e.status == "to do" for e in report.by_exercise(results))
    assert results[0].feedback == "not done yet: Exercise 2.1: " + untouched.sections(
        (ROOT / "lessons" / "02_classical.py").read_text())[0][1]


def test_a_started_exercise_alone_runs_and_the_report_keeps_the_index_order(tmp_path, monkeypatch):
    lesson = ROOT / "lessons" / "02_classical.py"
    _, _, start, end = untouched.sections(lesson.read_text())[1]
    name = next(node.name for node in ast.parse(lesson.read_text()).body
                if isinstance(node, ast.FunctionDef) and start <= node.lineno < end)
    copy = edited(tmp_path, lesson, lambda text: f"# %%\ndef {name}():\n    pass\n\n" + text)
    started = sorted(set(exercises_of(lesson)) - set(untouched.not_started(copy)))
    checks = checks_index.checks_of(lesson)
    calls = []

    def ran(lesson, target, known_wrong_mode, mutants, seconds, exercises=None):
        calls.append(exercises)
        return [report.CheckResult(lesson.stem, c["exercise"], c["check"], c["points"], True, "")
                for c in checks if c["exercise"] in exercises]
    monkeypatch.setattr(report, "_run_checks", ran)
    results = report.grade_lesson(copy, str(tmp_path))
    assert calls == [started] and len(started) == 1
    assert [(r.exercise, r.check) for r in results] == [(c["exercise"], c["check"]) for c in checks]
    assert [r.passed for r in results] == [c["exercise"] in started for c in checks]


def test_known_wrong_grading_never_takes_the_shortcut(monkeypatch):
    monkeypatch.setattr(report, "_run_checks", lambda *args, **kwargs: [])
    monkeypatch.setattr(untouched, "not_started", lambda lesson: pytest.fail("looked for exercises not started"))
    assert report.grade_lesson(ROOT / "solutions" / "00_setup.py", "solutions", known_wrong_mode=True) == []


@pytest.mark.real_data
def test_the_checks_of_a_started_exercise_run_and_the_rest_are_to_do(tmp_path):
    """A real grade: exercise 0.1 answered, 0.2 and 0.3 untouched; only 0.1's check runs, and passes. A cell where
    the learner tries 0.2 before answering it is not run: it would raise NotImplementedError as the lesson loads."""
    solution, lesson = (ROOT / folder / "00_setup.py" for folder in ("solutions", "lessons"))
    answer = {number: (start, end) for number, _, start, end in untouched.sections(solution.read_text())}["0.1"]
    stub = {number: (start, end) for number, _, start, end in untouched.sections(lesson.read_text())}["0.1"]
    lines, answers = lesson.read_text().splitlines(keepends=True), solution.read_text().splitlines(keepends=True)
    copy = tmp_path / "lessons" / lesson.name
    copy.parent.mkdir()
    trying = ["# %%\n", "print(label_counts(None))\n", "\n"]
    copy.write_text("".join(lines[:stub[0] - 1] + answers[answer[0] - 1:answer[1] - 1] + trying + lines[stub[1] - 1:]))
    results = report.grade_lesson(copy, str(copy.parent))
    assert [e.status for e in report.by_exercise(results)] == ["passed", "to do", "to do"], results
