"""The course machinery: exercises generated from solutions, a loader that skips long cells, and an
autograder proven in both directions (every check passes on solutions/, fails on the untouched lessons/)."""

import importlib.util
import json
import re
import textwrap
import xml.etree.ElementTree as ET

import jupytext
import pytest

from shared.grading import generate, report
from shared.grading.known_wrong import UNTOUCHED, apply, known_wrong
from shared.grading.lessons import ROOT, import_lesson, lesson_backend, lesson_files

LESSONS = lesson_files("solutions")
EXERCISE_HEADING = re.compile(r"^# ## Exercise (\d+\.\d+)", re.MULTILINE)
EXERCISE_MARK = re.compile(r'@pytest\.mark\.exercise\("(\d+\.\d+)"')


# --------------------------------------------------------------------------- the generator


SOLUTION = textwrap.dedent('''\
    # %% [markdown]
    # ## Exercise 7.1 — Double it

    # %%
    def double(x: int) -> int:
        """Twice x."""
        # BEGIN SOLUTION
        # HINT: multiply.
        y = x * 2
        return y
        # END SOLUTION
    ''')


def test_a_solution_block_becomes_its_hint_and_a_raise():
    exercise = generate.make_exercise(SOLUTION)
    assert "x * 2" not in exercise and "BEGIN SOLUTION" not in exercise
    assert '    # HINT: multiply.\n    raise NotImplementedError("Exercise 7.1: Double it")\n' in exercise
    assert exercise.startswith(SOLUTION.split("# BEGIN")[0])  # everything outside the block is kept


@pytest.mark.parametrize("broken, problem", [
    (SOLUTION.replace("    # END SOLUTION\n", ""), "never closed"),
    (SOLUTION.replace("    # BEGIN SOLUTION\n", ""), "without # BEGIN SOLUTION"),
    (SOLUTION.replace("# ## Exercise 7.1 — Double it", "# ## Doubling"), "no '## Exercise N.M"),
    ("# ## Exercise 1.1 — x\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "inside a function"),
])
def test_malformed_markers_are_reported_with_their_line(broken, problem):
    with pytest.raises(generate.MarkerError, match=problem):
        generate.make_exercise(broken, "lesson.py")


def test_lessons_are_up_to_date_with_solutions():
    assert generate.stale_lessons() == [], "run: python -m shared.grading.generate"


# --------------------------------------------------------------------------- lesson files


@pytest.mark.parametrize("solution", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_is_a_notebook_with_prose_and_a_backend(solution):
    notebook = jupytext.read(solution)
    kinds = {cell.cell_type for cell in notebook.cells}
    assert kinds == {"markdown", "code"}
    assert notebook.cells[0].source.startswith("# Lesson ")
    assert lesson_backend(solution) in ("torch", "tensorflow")


def test_grading_import_skips_long_cells(tmp_path):
    path = tmp_path / "99_probe.py"
    path.write_text('# %%\nRAN = ["definitions"]\n\n# %% tags=["long"]\nRAN.append("long")\n')
    assert import_lesson(path).RAN == ["definitions"]


@pytest.mark.parametrize("solution", LESSONS, ids=lambda p: p.stem)
def test_every_exercise_has_a_graded_check(solution):
    exercises = set(EXERCISE_HEADING.findall(solution.read_text()))
    checked = set(EXERCISE_MARK.findall(report.checks_file(solution).read_text()))
    assert exercises and exercises == checked


def test_every_accuracy_threshold_follows_from_its_calibration():
    """tests/lessons/calibrate.py ran the reference solution over 10 seeds or more; each threshold sits
    at least 3.5 standard deviations below the mean and below every run, and the checks read it from there."""
    lessons_tests = ROOT / "tests" / "lessons"
    table = json.loads((lessons_tests / "calibration.json").read_text())
    calibrate = importlib.util.spec_from_file_location("calibrate", lessons_tests / "calibrate.py")
    module = importlib.util.module_from_spec(calibrate)
    calibrate.loader.exec_module(module)
    for name, row in table.items():
        assert len(row["accuracies"]) >= 10, f"{name}: {len(row['accuracies'])} calibration runs"
        assert row == module.threshold_from(row["accuracies"]), f"{name}: the table is not what its runs give"
        assert row["threshold"] <= row["mean"] - module.SIGMAS * row["sd"] + 1e-9, name
        assert row["threshold"] < row["min"], name
    calibrated = {name for path in lessons_tests.glob("test_*.py")
                  for block in re.findall(r"^CALIBRATED = \{(.*?)\}$", path.read_text(), re.MULTILINE | re.DOTALL)
                  for name in re.findall(r'"([^"]+)":', block)}
    assert calibrated and calibrated <= set(table), f"checks without a calibration: {calibrated - set(table)}"


# --------------------------------------------------------------------------- both directions


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("solution", LESSONS, ids=lambda p: p.stem)
def test_every_check_passes_on_the_solution(solution):
    results = report.grade("solutions", [solution])
    failures = [f"{r.check}: {r.feedback}" for r in results if not r.passed]
    assert results and not failures, failures


@pytest.mark.parametrize("solution", LESSONS, ids=lambda p: p.stem)
def test_every_exercise_has_three_known_wrong_solutions_that_apply(solution):
    mistakes = known_wrong(solution)
    for mistake in mistakes:
        assert apply(solution.read_text(), mistake) != solution.read_text()
    assert len({mistake.name for mistake in mistakes}) == len(mistakes), "known-wrong names must be unique"
    counts = {exercise: sum(m.exercise == exercise for m in mistakes)
              for exercise in EXERCISE_HEADING.findall(solution.read_text())}
    assert all(count >= 3 for count in counts.values()), f"known-wrong solutions per exercise: {counts}"


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("solution", LESSONS, ids=lambda p: p.stem)
def test_untouched_exercises_and_known_wrong_solutions_fail(solution):
    """One process per lesson grades the untouched exercise file and every known-wrong solution: each must
    fail a check of its own exercise, with feedback that names the mistake."""
    results = report.grade_lesson(solution, "solutions", known_wrong_mode=True)
    assert not [r for r in results if r.exercise == "-"], results
    untouched = [r for r in results if r.variant == UNTOUCHED]
    assert untouched and not [r.check for r in untouched if r.passed]
    assert all(r.feedback.startswith("not done yet: Exercise ") for r in untouched), untouched
    missed = [f"{mistake.exercise} {mistake.name!r}: {failed or 'passed every check'}"
              for mistake, failed, found in report.known_wrong_verdicts(solution, results) if not found]
    assert not missed, "\n".join(missed)


# --------------------------------------------------------------------------- the report


@pytest.mark.real_data
def test_report_teaches_points_at_the_learners_line_and_stops_a_runaway_check(tmp_path, monkeypatch):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    source = (ROOT / "solutions" / "00_setup.py").read_text()
    planted = 'found["backend"] = keras.backend.backend()'
    line = source[: source.index(planted)].count("\n") + 1
    wrong = (source.replace(planted, 'found["backend"] = keras.backend.name()')
             .replace("positive = int(np.sum(reviews.labels == 1))", "while True:\n        pass")
             .replace("x = keras.layers.GlobalAveragePooling1D()(x)", "x = keras.layers.GlobalMaxPooling1D()(x)"))
    (lessons / "00_setup.py").write_text(wrong)
    monkeypatch.setattr(report, "CHECK_SECONDS", 8)  # time enough for the other checks on a busy machine
    results = {r.check: r for r in report.grade(str(lessons), [lessons / "00_setup.py"])}
    assert results["test_versions_name_the_installed_libraries_and_backend"].feedback == (
        f"AttributeError: module 'keras.backend' has no attribute 'name' (at lessons/00_setup.py:{line})")
    assert results["test_label_counts_on_an_unbalanced_subset"].feedback.startswith(
        "took longer than 8 s, the check's time limit: an endless loop")
    assert results["test_tiny_model_averages_then_applies_a_sigmoid"].feedback == (
        "expected the Dense unit to read the average of the token vectors — the maximum over the tokens, "
        "not their average")
    assert results["test_tiny_model_has_the_described_layers"].passed
    table = report.render(list(results.values()))
    assert "Traceback" not in table
    assert table.endswith("1 passed, 4 failed")


# --------------------------------------------------------------------------- the report files, for CI


RESULTS = [
    report.CheckResult("00_setup", "0.1", "test_versions", 1, True, ""),
    report.CheckResult("00_setup", "0.2", "test_counts[a|b]", 2, False, "expected <3> positive, got *2* \x00"),
    report.CheckResult("01_data", "-", "(the checks did not run)", 0, False, "ImportError | at line 3"),
]


def test_the_markdown_report_is_a_table_under_its_total():
    lines = report.render_markdown(RESULTS).splitlines()
    assert lines[:3] == ["## Grade report", "", "**points: 1/3**, 1 passed, 2 failed"]
    table = lines[4:]
    assert table[0] == "| lesson | exercise | check | result | points | feedback |"
    assert len(table) == 2 + len(RESULTS)
    # | ends a cell, <3> would vanish as HTML, *2* turn italic: each is escaped, every row keeps its 6 cells
    assert table[3] == ("| 00\\_setup | 0.2 | test\\_counts\\[a\\|b\\] | FAILED | 0/2 | "
                        "expected \\<3\\> positive, got \\*2\\* \x00 |")
    assert all(len(re.split(r"(?<!\\)\|", row)) == 8 for row in table)


def test_the_junit_report_has_a_suite_per_lesson_and_a_failure_per_failed_check():
    root = ET.fromstring(report.render_junit_xml(RESULTS))  # parses: the NUL XML cannot hold is gone
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "3", "2")
    assert [(s.get("name"), s.get("tests"), s.get("failures")) for s in root] == [
        ("00_setup", "2", "1"), ("01_data", "1", "1")]
    cases = root.findall(".//testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("00_setup", "0.1 test_versions"), ("00_setup", "0.2 test_counts[a|b]"),
        ("01_data", "- (the checks did not run)")]
    assert [c.find("properties/property[@name='points']").get("value") for c in cases] == ["1", "2", "0"]
    failure = cases[1].find("failure")
    assert failure.get("message") == failure.text == "expected <3> positive, got *2* ?"
    assert cases[0].find("failure") is None


def test_the_json_report_holds_the_totals_and_every_check():
    data = json.loads(report.render_json(RESULTS))
    assert (data["points"], data["possible"], data["passed"], data["failed"]) == (1, 3, 1, 2)
    assert data["checks"][1] == {"lesson": "00_setup", "exercise": "0.2", "check": "test_counts[a|b]", "points": 2,
                                 "passed": False, "feedback": "expected <3> positive, got *2* \x00"}


@pytest.mark.parametrize("results, status", [(RESULTS, 1), (RESULTS[:1], 0)])
def test_grade_writes_the_report_files_and_keeps_its_table_and_exit_status(results, status, tmp_path, monkeypatch,
                                                                           capsys):
    monkeypatch.setattr(report, "grade", lambda target, lessons: results)
    files = {option: tmp_path / "report" / name for option, name in
             [("--json", "r.json"), ("--junit-xml", "r.xml"), ("--markdown", "r.md")]}
    assert report.main([part for option, path in files.items() for part in (option, str(path))]) == status
    assert capsys.readouterr().out == report.render(results) + "\n"
    assert len(json.loads(files["--json"].read_text())["checks"]) == len(results)
    assert len(ET.parse(files["--junit-xml"]).getroot().findall(".//testcase")) == len(results)
    assert files["--markdown"].read_text() == report.render_markdown(results)


def test_report_files_are_refused_with_known_wrong(capsys):
    with pytest.raises(SystemExit) as stopped:
        report.main(["--known-wrong", "--json", "report.json"])
    assert stopped.value.code == 2 and "--known-wrong does not give" in capsys.readouterr().err
