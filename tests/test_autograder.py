"""The course machinery: exercises generated from solutions, a loader that skips long cells, and an
autograder proven in both directions (every check passes on solutions/, fails on the untouched lessons/)."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jupytext
import pytest

from shared.grading import generate, manifest, report, workspace
from shared.grading.known_wrong import (UNTOUCHED, Wrong, apply, caught, constant_answers, known_wrong,
                                        misdiagnosed, wrong)
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


def test_exported_modules_are_up_to_date_with_solutions():
    assert generate.stale_exports() == [], "run: python -m shared.grading.generate"


def test_the_manifest_of_the_checks_is_up_to_date():
    assert manifest.changed_files() == [], "run: python -m shared.grading.generate"


def test_a_changed_added_or_missing_check_is_named(tmp_path):
    for path in manifest.judged_files():
        copy = tmp_path / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(path.read_bytes())
    written = tmp_path / "manifest.sha256"
    written.write_text(manifest.expected_manifest(tmp_path))
    assert manifest.changed_files(tmp_path, written) == []
    (tmp_path / "tests" / "lessons" / "test_00_setup.py").write_text("def test_nothing(): pass\n")
    (tmp_path / "tests" / "lessons" / "test_99_mine.py").write_text("")
    (tmp_path / "tests" / "known_wrong" / "00_setup.py").unlink()
    assert manifest.changed_files(tmp_path, written) == [
        "tests/known_wrong/00_setup.py", "tests/lessons/test_00_setup.py", "tests/lessons/test_99_mine.py"]


def test_a_grade_with_a_changed_check_is_refused_before_anything_runs(monkeypatch):
    monkeypatch.setattr(manifest, "changed_files", lambda: ["tests/lessons/test_00_setup.py"])
    monkeypatch.setattr(report.workspace, "run_group", lambda *args: pytest.fail("the checks ran"))
    [refused] = report.grade_lesson(LESSONS[0], "solutions")
    assert (refused.check, refused.passed) == ("(the checks)", False)
    assert refused.feedback.startswith("tests/lessons/test_00_setup.py is not the course's: restore it with "
                                       "`git checkout -- tests/lessons/test_00_setup.py`")


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


LOOKED_AT = 'RAN = ["definitions"]\n\n\ndef look(value):\n    RAN.append("look")\n    return value\n'


@pytest.mark.parametrize("cell, runs", [
    ('print(look(len(RAN)))\nsorted(RAN)\n', False), ('look("course")\n', True), ('MINE = look("mine")\n', True),
    ('print(look(1) or (x := 1))\n', True), ('RAN.append("mine")\n', True), ('exec("look(1)")\n', True)],
    ids=["a learner's look", "a look the course wrote", "an assignment", "a walrus", "a method call", "exec"])
def test_grading_import_skips_a_learners_own_looks_at_values(tmp_path, cell, runs):
    """A cell the course did not write that only evaluates expressions, calling the course's functions and
    builtins that change nothing, cannot change what the checks call: it is not run. One the course wrote, or
    one that binds a name or calls anything else, is."""
    path = tmp_path / "99_probe.py"
    path.write_text(f'# %%\n{LOOKED_AT}\n# %%\n{cell}')
    course = frozenset({LOOKED_AT.strip(), 'look("course")'})
    assert (import_lesson(path, course_cells=course).RAN != ["definitions"]) == runs


@pytest.mark.parametrize("cell, runs", [
    ('from shared.grading.notebook import check\ncheck("0.1")\n', False), ('check("0.1")\ncheck("0.2")\n', False),
    ('check("0.1")\nRAN.append("mine")\n', True), ('result = check("0.1")\n', True),
    ('check(RAN.append("mine"))\n', True), ('from shared.grading.notebook import check as RAN\n', True)],
    ids=["import and check", "two checks", "a check and more", "a check kept in a name", "a check of a call",
         "check imported under another name"])
def test_grading_import_skips_the_cells_that_only_call_check(tmp_path, cell, runs):
    """A notebook's check() cells, saved into the lesson, are not run again by the grade; a cell that does more
    runs: it fails (check is not defined here), or changes RAN."""
    path = tmp_path / "99_probe.py"
    path.write_text(f'# %%\nRAN = ["definitions"]\n\n# %%\n{cell}')
    try:
        ran = import_lesson(path).RAN != ["definitions"]
    except NameError as error:
        ran = "'check' is not defined" in str(error)
    assert ran == runs


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
    fail a check of its own exercise, with feedback that names the mistake. The untouched file graded as a learner
    grades it runs no check (shared.grading.untouched) and must report the same checks, points and statuses."""
    results = report.grade_lesson(solution, "solutions", known_wrong_mode=True)
    assert not [r for r in results if r.exercise == "-"], results
    untouched = [r for r in results if r.variant == UNTOUCHED]
    assert untouched and not [r.check for r in untouched if r.passed]
    assert all(r.feedback.startswith("not done yet: Exercise ") for r in untouched), untouched
    unrun = report.grade_lesson(ROOT / "lessons" / solution.name, "lessons")  # not started: reported, not run
    assert [(r.exercise, r.check, r.points) for r in unrun] == [(r.exercise, r.check, r.points) for r in untouched]
    assert [e.status for e in report.by_exercise(unrun)] == [e.status for e in report.by_exercise(untouched)]
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
    # the same loop met by a randomized check: Hypothesis catches the time limit's exception and would call the
    # answer again, into the loop, with no limit left (tests/lessons/randomized.py stops it for good)
    assert results["test_label_counts_on_drawn_splits"].feedback.startswith(
        "took longer than 8 s, the check's time limit: an endless loop")
    assert results["test_tiny_model_averages_then_applies_a_sigmoid"].feedback == (
        "expected the Dense unit to read the average of the token vectors — the maximum over the tokens, "
        "not their average")
    assert results["test_tiny_model_has_the_described_layers"].passed
    table = report.render(list(results.values()))
    assert "Traceback" not in table and table.startswith(f"next: {lessons.name}/00_setup.py, exercise 0.1\n")
    assert table.endswith("exercises: 0 passed, 3 failed, 0 to do") and max(map(len, table.splitlines())) <= 100


# --------------------------------------------------------------------------- the report files, for CI


RESULTS = [
    report.CheckResult("00_setup", "0.1", "test_versions", 1, True, ""),
    report.CheckResult("00_setup", "0.2", "test_counts[a|b]", 2, False, "expected <3> positive, got *2* \x00"),
    report.CheckResult("01_data", "-", "(the checks did not run)", 0, False, "ImportError | at line 3"),
]


def test_the_markdown_report_is_a_table_of_exercises_under_its_totals():
    lines = report.render_markdown(RESULTS).splitlines()
    assert lines[:3] == ["## Grade report", "",
                         "**points: 1/3**, exercises: 1 passed, 2 failed, 0 to do; next: lessons/00\\_setup.py, "
                         "exercise 0.2"]
    table = lines[4:]
    assert table[0] == "| lesson | exercise | result | points | feedback |"
    assert len(table) == 2 + len(RESULTS)
    # | ends a cell, <3> would vanish as HTML, *2* turn italic: each is escaped, every row keeps its 5 cells
    assert table[3] == "| 00\\_setup | 0.2 | FAILED | 0/2 | expected \\<3\\> positive, got \\*2\\* \x00 |"
    assert all(len(re.split(r"(?<!\\)\|", row)) == 7 for row in table)


def check(exercise: str, points: int, passed: bool, feedback: str = "", name: str = "test_x") -> report.CheckResult:
    return report.CheckResult("01_data", exercise, name, points, passed, feedback)


def test_the_report_has_a_line_per_exercise_says_what_is_to_do_and_where_to_go_next():
    results = [check("1.1", 1, True), check("1.1", 2, True),
               check("1.2", 2, False, "not done yet: Exercise 1.2: Clean a review"),
               check("1.2", 1, False, "not done yet: Exercise 1.2: Clean a review"),
               check("1.3", 2, True), check("1.3", 1, False, "expected 2 words, got 3 " * 10, "test_long[a-b]"),
               check("1.4", 1, False, "not done yet: Exercise 1.4: Count words"), check("1.4", 1, True)]
    lines = report.render(results).splitlines()
    assert lines[0] == "next: lessons/01_data.py, exercise 1.2"
    rows = {found[1]: [found[2], found[3], *([found[4]] if found[4] else [])] for line in lines[3:]
            if (found := re.match(r"01_data\s+(\S+)\s+(passed|to do|FAILED)\s+(\d+/\d+)\s*(.*)$", line))}
    assert rows["1.1"] == ["passed", "3/3"] and rows["1.2"] == ["to do", "0/3", "Exercise 1.2: Clean a review"]
    assert rows["1.3"][:2] == ["FAILED", "2/3"] and rows["1.3"][2].startswith("expected 2 words, got 3")
    assert rows["1.4"][:2] == ["FAILED", "1/2"], "a check passed: the exercise is started, and one check fails"
    assert lines[-2:] == ["points: 6/11", "exercises: 1 passed, 2 failed, 1 to do"]
    assert max(map(len, lines)) <= 100 and "test_long" not in "\n".join(lines)
    verbose = report.render(results, verbose=True)
    assert "test_long[a-b]" in verbose and "not done yet: Exercise 1.2" in verbose
    assert report.render([check("1.1", 1, True)]).startswith("every exercise passes (1 of 1)")


def test_the_junit_report_has_a_suite_per_lesson_and_a_failure_per_failed_check():
    root = ET.fromstring(report.render_junit_xml(RESULTS))  # parses: the NUL XML cannot hold is gone
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("skipped")) == ("testsuites", "3", "2", "0")
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
                                 "passed": False, "feedback": "expected <3> positive, got *2* \x00", "status": "failed"}


NOT_STARTED = [report.CheckResult("01_data", "1.1", "test_a", 1, True, ""),
               report.CheckResult("01_data", "1.2", "test_b", 2, False, "not done yet: Exercise 1.2: Clean a review"),
               report.CheckResult("01_data", "1.2", "test_c", 1, False, "not done yet: Exercise 1.2: Clean a review"),
               report.CheckResult("01_data", "1.3", "test_d", 1, False, "expected 2 words, got 3")]


def test_the_json_and_junit_reports_count_an_exercise_not_started_apart_from_failures():
    data = json.loads(report.render_json(NOT_STARTED))
    assert (data["passed"], data["failed"], data["to_do"]) == (1, 1, 2)
    assert [check["status"] for check in data["checks"]] == ["passed", "to do", "to do", "failed"]
    root = ET.fromstring(report.render_junit_xml(NOT_STARTED))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "1", "2")
    cases = root.findall(".//testcase")
    assert [bool(c.find("skipped") is not None) for c in cases] == [False, True, True, False]
    assert cases[1].find("skipped").get("message").startswith("not done yet: Exercise 1.2")
    assert cases[3].find("failure").get("message") == "expected 2 words, got 3"


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


def test_known_wrong_of_one_lesson_grades_the_patches_of_its_solution(monkeypatch):
    graded = []
    monkeypatch.setattr(report, "known_wrong_report", lambda lessons: (graded.extend(lessons), ("", True))[1])
    assert report.main(["--lesson", "0", "--known-wrong"]) == 0
    assert graded == [ROOT / "solutions" / "00_setup.py"]  # not lessons/: its patches and constant answers apply there


def test_a_known_wrong_solution_told_another_mistakes_diagnosis_is_not_caught():
    mistake = wrong("1.2", "one tag replaced", ("a", "b"), feedback="only '<br />' was replaced")
    own = "expected 'a b', got 'a i b' — only '<br />' was replaced"
    other = "expected 'a b', got 'a i b' — the HTML tags became words"
    drawn = "expected f(1) to be 2, got 3 (the smallest of the inputs drawn with GRADE_SEED=1 where your answer fails)"
    assert caught(mistake, [own, drawn]) and not misdiagnosed(mistake, [own, drawn])
    assert not caught(mistake, [own, other]) and misdiagnosed(mistake, [own, other]) == [other]
    assert not caught(mistake, [drawn])
    assert not misdiagnosed(Wrong("1.2", "a constant answer", (), ""), [other])  # it makes every mistake
    on_drawn = wrong("1.2", "right on the examples only", ("a", "c"), feedback="the smallest of the inputs drawn")
    told_on_drawn = drawn.replace(" (the smallest", " — the HTML tags became words (the smallest")
    assert caught(on_drawn, [drawn]) and misdiagnosed(on_drawn, [told_on_drawn]) == [told_on_drawn]


def test_the_known_wrong_report_says_misnamed_and_shows_the_wrong_diagnosis(monkeypatch):
    """Two mistakes of one exercise, each failing with feedback that names it, one also told the other's diagnosis."""
    swapped = wrong("0.2", "labels swapped", ("a", "b"), feedback="the labels are swapped")
    halves = wrong("0.2", "half each", ("a", "c"), feedback="counted as half the reviews")
    told = {swapped.name: ["expected 3 — the labels are swapped", "expected 5 — each label counted as half the reviews"],
            halves.name: ["expected 3 — each label counted as half the reviews"]}
    results = [report.CheckResult("00_setup", "0.2", f"test_{i}", 1, False, line, name)
               for name, lines in told.items() for i, line in enumerate(lines)]
    monkeypatch.setattr(report, "known_wrong", lambda lesson: [swapped, halves])
    monkeypatch.setattr(report, "grade_lesson", lambda *args, **kwargs: results)
    table, all_caught = report.known_wrong_report([ROOT / "solutions" / "00_setup.py"])
    rows = {name: next(line for line in table.splitlines() if f" {name} " in line) for name in told}
    assert not all_caught and "caught 1 of 2" in table, table
    assert "MISNAMED" in rows[swapped.name] and "counted as half the reviews" in rows[swapped.name], table
    assert " caught " in rows[halves.name], table


def test_a_constant_answer_returns_its_first_value_whatever_the_inputs():
    text = ("# ## Exercise 9.1 — Add\n\ndef add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n    # END SOLUTION\n\n\n"
            "def seven():\n    # BEGIN SOLUTION\n    return 7\n    # END SOLUTION\n\n\n"
            "# ## Exercise 9.2 — Nothing asked\n\nHALF = 0.5\n")
    [mistake] = constant_answers(text)  # none for 9.2, which asks for no function
    namespace: dict = {}
    exec(apply(text, mistake), namespace)  # a test's own text, not a lesson
    assert (mistake.exercise, mistake.feedback) == ("9.1", "") and "seven" not in mistake.name  # 7 is seven()'s answer
    assert [namespace["add"](1, 2), namespace["add"](5, 5), namespace["seven"]()] == [3, 3, 7]


def test_report_files_are_refused_with_known_wrong(capsys):
    with pytest.raises(SystemExit) as stopped:
        report.main(["--known-wrong", "--json", "report.json"])
    assert stopped.value.code == 2 and "--known-wrong does not give" in capsys.readouterr().err


@pytest.mark.parametrize("where, problem", [
    (lambda tmp: tmp, "{tmp} is a folder"),
    (lambda tmp: tmp / "a-file" / "report.json", "{tmp}/a-file is a file, not a folder"),
    (lambda tmp: tmp / "locked" / "new" / "report.json", "{tmp}/locked is not writable"),
], ids=["a folder", "under a file", "in a folder without write permission"])
def test_an_unwritable_report_path_is_one_line_before_any_grading(where, problem, tmp_path, monkeypatch, capsys):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "locked").mkdir(mode=0o500)
    access = os.access  # root may write anywhere: the folder's permission is what the check reads
    monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode) and Path(path).name != "locked")
    monkeypatch.setattr(report, "grade", lambda *args: pytest.fail("graded before the report path was checked"))
    status = report.main(["--json", str(where(tmp_path))])
    error = capsys.readouterr().err
    assert status == 2 and error == f"./course grade: cannot write the --json report: {problem.format(tmp=tmp_path)}.\n"


# --------------------------------------------------------------------------- the grader cannot be fooled


READ_AT_IMPORT = '''
# %%
from shared.paths import ROOT as _ROOT

try:  # caught, and the lesson goes on as if nothing happened
    _REFERENCE = (_ROOT / "solutions" / "00_setup.py").read_text()
except PermissionError:
    _REFERENCE = ""
'''
READ_IN_A_CHECK = ('    positive = int(np.sum(reviews.labels == 1))\n',
                   '    positive = int(np.sum(reviews.labels == 1))\n'
                   '    import subprocess, shared.paths\n'
                   '    subprocess.run(["cat", str(shared.paths.ROOT / "tests" / "lessons" / "test_00_setup.py")])\n')


IMPORTS_ITS_EXPORT = '''
# %%
try:  # lesson 1's answers, as shared/lessons/data.py exports them
    from shared.lessons.data import validation_gap as _reference
except ImportError:
    pass
'''

IMPORTS_ITS_LOADED_EXPORT = '''
# %%
from shared.lessons.error_analysis import fit_stack as _fit_stack  # lesson 8's checks import this module first
'''


@pytest.mark.real_data
@pytest.mark.parametrize("lesson, cheat, part, path, first", [
    ("00_setup", lambda source: source + READ_AT_IMPORT, "the reference solution", "solutions/00_setup.py", 0),
    ("00_setup", lambda source: source.replace(*READ_IN_A_CHECK), "the course's checks",
     "tests/lessons/test_00_setup.py", 1),
    ("01_data", lambda source: source + IMPORTS_ITS_EXPORT, "the reference solution", "shared/lessons/data.py", 0),
    ("08_error_analysis", lambda source: source + IMPORTS_ITS_LOADED_EXPORT, "the reference solution",
     "shared/lessons/error_analysis.py", 0),
], ids=["opens solutions/ when imported", "runs cat on a check file in an exercise", "imports its own export",
        "imports its own export, which the checks loaded already"])
def test_a_lesson_that_reads_solutions_or_checks_fails_with_a_named_message(tmp_path, lesson, cheat, part, path,
                                                                             first):
    """From the first refused read on, every check fails with the message, though the lesson caught the error."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / f"{lesson}.py").write_text(cheat((ROOT / "solutions" / f"{lesson}.py").read_text()))
    results = report.grade(str(lessons), [lessons / f"{lesson}.py"])
    message = (f"your lesson reads {part} ({path}): graded code may not open solutions/, tests/ or its own "
               "lesson's answers in shared/lessons/")
    assert [r.passed for r in results[:first]] == [True] * first, results
    assert results[first:] and all(r.feedback == message and not r.passed for r in results[first:]), results


# --------------------------------------------------------------------------- the grader survives the lesson


HOSTILE = '''
# %%
import os as _os
import subprocess as _subprocess
from pathlib import Path as _Path

from shared.paths import ROOT as _ROOT

(_ROOT / "README.md").unlink()  # the working copy's
(_ROOT / "lessons" / "planted.txt").write_text("written by the lesson")
_subprocess.Popen(["sleep", "600"], stdout=None, stderr=None)  # a child that would hold the output open
'''


@pytest.mark.real_data
def test_a_lesson_that_deletes_and_writes_files_leaves_the_repository_as_it_was(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "00_setup.py").write_text((ROOT / "solutions" / "00_setup.py").read_text() + HOSTILE)
    readme = (ROOT / "README.md").read_bytes()
    results = report.grade(str(lessons), [lessons / "00_setup.py"])
    assert (ROOT / "README.md").read_bytes() == readme and not (ROOT / "lessons" / "planted.txt").exists()
    assert results and all(r.passed for r in results), results  # nothing it did reached the checks


@pytest.mark.real_data
def test_a_write_into_the_repository_itself_is_reported(tmp_path):
    """Graded from a copy of the course, so that the stray file never lands in the repository that other tests,
    running beside this one, grade and compare before and after."""
    course = workspace.working_copy(tmp_path / "course")
    stray = course / "benchmarks" / "stray-from-a-lesson.txt"
    # a lesson that knows where the repository is (a cell that binds a name: one that only looks is not run)
    planted = f'\n# %%\nWRITTEN = open({str(stray)!r}, "w").write("x")\n'
    lesson = tmp_path / "lessons" / "00_setup.py"
    lesson.parent.mkdir()
    lesson.write_text((ROOT / "solutions" / "00_setup.py").read_text() + planted)
    grade = ("import json, sys; from dataclasses import asdict; from pathlib import Path; "
             "from shared.grading import report; "
             "print(json.dumps([asdict(r) for r in report.grade(sys.argv[1], [Path(sys.argv[2])])]))")
    run = subprocess.run([sys.executable, "-c", grade, str(lesson.parent), str(lesson)], cwd=course,
                         env=os.environ | {"PYTHONPATH": str(course)}, capture_output=True, text=True, check=True)
    results = json.loads(run.stdout.splitlines()[-1])
    assert not (ROOT / "benchmarks" / stray.name).exists()
    assert results[-1]["check"] == "(the repository)" and not results[-1]["passed"], results
    assert results[-1]["feedback"].startswith(
        "grading changed the repository (benchmarks/stray-from-a-lesson.txt added): the graded code writes outside")


@pytest.mark.real_data  # a check that reads the data sets the data up before the lesson
def test_an_endless_loop_outside_a_function_ends_at_the_load_limit(tmp_path, monkeypatch):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    source = (ROOT / "solutions" / "00_setup.py").read_text()
    (lessons / "00_setup.py").write_text("# %%\nwhile True:\n    pass\n" + source)  # first: a busy machine's
    monkeypatch.setattr(report, "LOAD_SECONDS", 3)  # slow imports cannot use up the limit before the loop
    results = report.grade(str(lessons), [lessons / "00_setup.py"])
    loop = {"(at lessons/00_setup.py:2)", "(at lessons/00_setup.py:3)"}  # the while, or its pass
    message = ("LessonLoadTimeout: loading the lesson took longer than 3 s, its time limit: an endless loop outside "
               "a function, or a long run in a cell not tagged long? ")
    assert results and all(r.feedback.startswith(message) and r.feedback[len(message):] in loop
                           for r in results), results


def test_the_grader_kills_what_the_checks_left_running(tmp_path):
    """A child that outlives the checks and holds their output open neither keeps the grader waiting nor lives on."""
    marker = tmp_path / "child.pid"
    script = f"import subprocess; p = subprocess.Popen(['sleep', '60']); open({str(marker)!r}, 'w').write(str(p.pid))"
    started = time.perf_counter()
    returncode, _ = workspace.run_group([sys.executable, "-c", script], tmp_path, dict(os.environ), 30)
    assert returncode == 0 and time.perf_counter() - started < 20
    time.sleep(0.2)
    child = int(marker.read_text())
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
