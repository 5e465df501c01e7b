"""Grade the lessons and print a report: lesson, exercise, result, points, and what to fix.

    ./course grade               # every lesson in lessons/
    ./course grade --lesson 1    # one lesson, quickly
    ./course grade --target solutions
    ./course grade --known-wrong # for instructors: which known-wrong solutions the checks catch
    ./course grade --json report.json --junit-xml report.xml --markdown report.md  # the report for CI too
    ./course grade --verbose     # a line per check, not per exercise

The report's first line says where to go next; then one line per exercise: passed, to do (not started) or
FAILED, its points, and the first failing check's feedback, within 100 columns. Each lesson is graded in its own process, with the Keras backend it declares set before Keras is
imported. The exit status is 1 when any check fails, so the command works in CI for your own fork.
A check has a time limit (CHECK_SECONDS unless it sets its own): past it, it fails and the others still run.
An exercise not started (its part of the lesson as generated, ``shared.grading.untouched``) is reported "to do"
from the list of checks without running them; only the started exercises' checks run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.grading import checks_index, manifest, untouched, workspace
from shared.grading.known_wrong import Wrong, caught, known_wrong, misdiagnosed
from shared.grading.lessons import ROOT, checks_file, find_lesson, lesson_backend, lesson_files

CHECK_SECONDS = 120  # the default time limit of one graded check
LOAD_SECONDS = 120  # the time limit of loading a lesson (its cells but the long ones)
LESSON_SECONDS = 1_800  # a last resort, should a lesson's checks hang where no time limit reaches
WIDTH = 100  # the report's columns: a notebook's output and a terminal show it without wrapping mid-word
NOT_DONE = "not done yet: "  # the feedback of a check whose exercise still raises NotImplementedError


@dataclass
class CheckResult:
    lesson: str
    exercise: str
    check: str
    points: int
    passed: bool
    feedback: str
    variant: str = ""


def grade_lesson(lesson: Path, target: str, known_wrong_mode: bool = False,
                 mutants: Path | None = None, seconds: float = LESSON_SECONDS) -> list[CheckResult]:
    """Run one lesson's graded checks against ``target`` (``lessons`` or ``solutions``) in a new process;
    with ``known_wrong_mode``, against the untouched exercise and each known-wrong solution instead, or the
    mutants listed in the file ``mutants`` (benchmarks/mutation.py).

    The graded code runs in a disposable working copy of the course, and the repository is compared with
    what it was before: a change is reported as a failed row of its own."""
    if changed := manifest.changed_files():  # checks edited to pass would grade nothing
        return [CheckResult(lesson.stem, "-", "(the checks)", 0, False,
                            f"{name} is not the course's: restore it with `git checkout -- {name}` (instructors "
                            "who changed it: python -m shared.grading.generate)") for name in changed]
    before = workspace.snapshot(ROOT)
    checks = [] if known_wrong_mode else checks_index.checks_of(lesson)
    waiting = untouched.not_started(lesson) if checks else {}
    started = {check["exercise"] for check in checks} - waiting.keys()
    results = _run_checks(lesson, target, known_wrong_mode, mutants, seconds,
                          sorted(started) if waiting else None) if started or not waiting else []
    results = with_not_started(lesson, checks, waiting, results)
    if changed := workspace.changes(before, workspace.snapshot(ROOT)):
        results.append(CheckResult(lesson.stem, "-", "(the repository)", 0, False,
                                   f"grading changed the repository ({'; '.join(changed[:4])}): the graded code "
                                   "writes outside its working copy; `git status` shows what to restore"))
    return results


def with_not_started(lesson: Path, checks: list[dict], waiting: dict[str, str],
                     results: list[CheckResult]) -> list[CheckResult]:
    """The checks that ran, with those of the exercises not started (``waiting``: exercise -> what its stub
    raises) reported "not done yet" in between, in the order of the index's ``checks``."""
    if not waiting:
        return results
    ran: dict[str, list[CheckResult]] = {}
    for result in results:
        ran.setdefault(result.exercise, []).append(result)
    ordered = []
    for exercise in dict.fromkeys(check["exercise"] for check in checks):
        ordered += ([CheckResult(lesson.stem, exercise, check["check"], check["points"], False,
                                 NOT_DONE + waiting[exercise]) for check in checks if check["exercise"] == exercise]
                    if exercise in waiting else ran.pop(exercise, []))
    return ordered + [result for rest in ran.values() for result in rest]


def _run_checks(lesson: Path, target: str, known_wrong_mode: bool, mutants: Path | None,
                seconds: float, exercises: list[str] | None = None) -> list[CheckResult]:
    with tempfile.TemporaryDirectory() as scratch:
        copy = workspace.working_copy(Path(scratch) / "course")
        results_file = Path(scratch) / "results.json"
        environment = os.environ | {"KERAS_BACKEND": lesson_backend(lesson), "PYTHONPATH": str(copy),
                                    "COURSE_ROOT": str(copy), "PWD": str(copy),
                                    "LESSON_LOAD_SECONDS": str(LOAD_SECONDS)}
        graded = target if Path(target).is_absolute() else str(copy / target)
        command = [sys.executable, "-m", "pytest", str(copy / checks_file(lesson).relative_to(ROOT)),
                   f"--target={graded}", "-p", "shared.grading.plugin", f"--grade-json={results_file}",
                   f"--timeout={CHECK_SECONDS}", "-o", "timeout_func_only=true",
                   "-q", "--no-header", "-p", "no:cacheprovider", "-W", "ignore"]
        if exercises is not None:
            command.append(f"--exercises={','.join(exercises)}")
        if known_wrong_mode:
            command += ["--known-wrong", *([f"--mutants={mutants}"] if mutants else [])]
        returncode, output = workspace.run_group(command, copy, environment, seconds)
        if returncode is None:
            return [CheckResult(lesson.stem, "-", "(the checks did not finish)", 0, False,
                                f"stopped after {seconds:g} s")]
        if returncode not in (0, 1) or not results_file.exists():
            tail = output.strip().splitlines()[-3:]
            return [CheckResult(lesson.stem, "-", "(the checks did not run)", 0, False, " | ".join(tail))]
        return [CheckResult(lesson=lesson.stem, **{k: v for k, v in result.items() if k != "skipped"})
                for result in json.loads(results_file.read_text()) if not result["skipped"]]


def grade(target: str = "lessons", lessons: list[Path] | None = None) -> list[CheckResult]:
    return [result for lesson in (lessons or lesson_files(target)) for result in grade_lesson(lesson, target)]


def columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as lines of aligned columns; the last column, free text, is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows]


HEADER = ("lesson", "exercise", "check", "result", "points", "feedback")


def table_rows(results: list[CheckResult]) -> list[tuple[str, ...]]:
    """One row per check, with the cells of HEADER."""
    return [(r.lesson, r.exercise, r.check, "passed" if r.passed else "FAILED",
             f"{r.points if r.passed else 0}/{r.points}", r.feedback) for r in results]


def score(results: list[CheckResult]) -> tuple[int, int, int]:
    """The points earned, the points there are, and the number of checks passed."""
    return (sum(r.points for r in results if r.passed), sum(r.points for r in results),
            sum(r.passed for r in results))


@dataclass
class ExerciseResult:
    """One exercise's checks together: ``status`` is "passed", "to do" (not started) or "FAILED"."""

    lesson: str
    exercise: str
    earned: int
    points: int
    status: str
    feedback: str


def by_exercise(results: list[CheckResult]) -> list[ExerciseResult]:
    """The checks grouped by lesson and exercise, in their order; an exercise whose every check says it is not
    done yet is "to do", and a failed one shows its first failing check's feedback."""
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for result in results:
        groups.setdefault((result.lesson, result.exercise), []).append(result)
    found = []
    for (lesson, exercise), checks in groups.items():
        failed = [r for r in checks if not r.passed]
        to_do = bool(failed) and len(failed) == len(checks) and all(r.feedback.startswith(NOT_DONE) for r in failed)
        status = "passed" if not failed else "to do" if to_do else "FAILED"
        feedback = failed[0].feedback.removeprefix(NOT_DONE) if failed else ""
        found.append(ExerciseResult(lesson, exercise, *score(checks)[:2], status, feedback))
    return found


def next_step(exercises: list[ExerciseResult], folder: str = "lessons") -> str:
    """The report's first line: the first exercise not passed yet, and its file."""
    left = [e for e in exercises if e.status != "passed"]
    if not left:
        return f"every exercise passes ({len(exercises)} of {len(exercises)})" if exercises else "no check ran"
    first = left[0]
    where = f"{Path(folder).name}/{first.lesson}.py"
    return f"next: {where}, exercise {first.exercise}" if first.exercise != "-" else f"next: {where}"


def wrapped(rows: list[tuple[str, ...]], width: int = WIDTH) -> list[str]:
    """``columns(rows)`` with the last column wrapped under itself, so that no line passes ``width``."""
    lines = columns([(*row[:-1], "") for row in rows])
    indent = max(len(line) for line in lines)
    text = []
    for line, row in zip(lines, rows):
        parts = textwrap.wrap(row[-1], max(width - indent, 30), break_long_words=True) or [""]
        text += [line.ljust(indent) + parts[0], *(" " * indent + part for part in parts[1:])]
    return [line.rstrip() for line in text]


def totals(results: list[CheckResult]) -> tuple[str, str]:
    """The report's last two lines: the points earned, then how many exercises passed, failed, are to do."""
    exercises = by_exercise(results)
    counts = {status: sum(e.status == status for e in exercises) for status in ("passed", "FAILED", "to do")}
    return (f"points: {score(results)[0]}/{score(results)[1]}",
            f"exercises: {counts['passed']} passed, {counts['FAILED']} failed, {counts['to do']} to do")


def render(results: list[CheckResult], verbose: bool = False, folder: str = "lessons") -> str:
    """The report as text: where to go next, a line per exercise (per check with ``verbose``), the totals."""
    exercises = by_exercise(results)
    if verbose:  # full check names, unwrapped: as wide as they are
        lines = [line.rstrip() for line in columns([HEADER, *table_rows(results)])]
    else:
        lines = wrapped([("lesson", "exercise", "result", "points", "feedback"),
                         *((e.lesson, e.exercise, e.status, f"{e.earned}/{e.points}", e.feedback) for e in exercises)])
    lines.insert(1, "-" * min(WIDTH, max(len(line) for line in lines)))
    return "\n".join([next_step(exercises, folder), "", *lines, "", *totals(results)])


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def markdown_cell(text: str) -> str:
    """``text`` shown as it is in a Markdown table cell: a ``|`` would end the cell, ``<x>`` vanish as HTML,
    ``__init__`` turn bold."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def render_markdown(results: list[CheckResult]) -> str:
    """The report as a Markdown table, a row per exercise, under its totals and next step: a CI job's summary."""
    points, counts = totals(results)
    exercises = by_exercise(results)
    lines = ["## Grade report", "", f"**{points}**, {counts}; {markdown_cell(next_step(exercises))}", "",
             "| lesson | exercise | result | points | feedback |", "| --- | --- | --- | ---: | --- |"]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in (e.lesson, e.exercise, e.status,
                                                                   f"{e.earned}/{e.points}", e.feedback)) + " |"
              for e in exercises]
    return "\n".join(lines) + "\n"


def check_statuses(results: list[CheckResult]) -> list[str]:
    """Each check's status, as the table counts its exercise: "passed", "to do" (the exercise is not started)
    or "failed"."""
    waiting = {(e.lesson, e.exercise) for e in by_exercise(results) if e.status == "to do"}
    return ["passed" if r.passed else "to do" if (r.lesson, r.exercise) in waiting else "failed" for r in results]


def render_json(results: list[CheckResult]) -> str:
    """The report as JSON: the totals, then every check with its status (``variant`` is for --known-wrong only)."""
    earned, possible, passed = score(results)
    statuses = check_statuses(results)
    report = {"points": earned, "possible": possible, "passed": passed, "failed": statuses.count("failed"),
              "to_do": statuses.count("to do"),
              "checks": [{**{k: v for k, v in asdict(r).items() if k != "variant"}, "status": status}
                         for r, status in zip(results, statuses)]}
    return json.dumps(report, indent=1) + "\n"


# Characters XML 1.0 cannot hold, even escaped: an exception message may carry one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit_xml(results: list[CheckResult]) -> str:
    """The report in JUnit XML, which most CI systems display: a test suite per lesson, a test case per check
    (its points as a property); a failed check carries a failure with its feedback, a check of an exercise not
    started is skipped."""
    by_lesson: dict[str, list[tuple[CheckResult, str]]] = {}
    for result, status in zip(results, check_statuses(results)):
        by_lesson.setdefault(result.lesson, []).append((result, status))

    def counts(checks: list[tuple[CheckResult, str]]) -> dict[str, str]:
        statuses = [status for _, status in checks]
        return {"tests": str(len(checks)), "failures": str(statuses.count("failed")),
                "skipped": str(statuses.count("to do"))}

    root = ET.Element("testsuites", name="grade", **counts([c for checks in by_lesson.values() for c in checks]))
    for lesson, checks in by_lesson.items():
        suite = ET.SubElement(root, "testsuite", name=lesson, **counts(checks))
        for r, status in checks:
            case = ET.SubElement(suite, "testcase", classname=lesson, name=f"{r.exercise} {r.check}")
            ET.SubElement(ET.SubElement(case, "properties"), "property", name="points", value=str(r.points))
            if status != "passed":
                feedback = _NOT_XML.sub("?", r.feedback)
                ET.SubElement(case, "failure" if status == "failed" else "skipped", message=feedback).text = feedback
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# The report files ./course grade can write besides its table, by option.
REPORT_FILES: dict[str, Callable[[list[CheckResult]], str]] = {
    "json": render_json, "junit_xml": render_junit_xml, "markdown": render_markdown}


def unwritable(path: Path) -> str:
    """Why the report cannot be written to ``path`` ("" if it can), found before the grade, not after it."""
    if path.is_dir():
        return f"{path} is a folder"
    folder = path.parent
    while not folder.exists():  # write_report makes the missing folders
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        return f"{target} is not writable"
    return ""


def write_report(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def known_wrong_verdicts(lesson: Path, results: list[CheckResult]) -> list[tuple[Wrong, list[str], bool]]:
    """For each known-wrong solution of ``lesson``: the feedback of the checks it failed, and whether one of
    them names its mistake (it is caught)."""
    verdicts = []
    for mistake in known_wrong(lesson):
        failed = [r.feedback for r in results if r.variant == mistake.name and not r.passed]
        verdicts.append((mistake, failed, caught(mistake, failed)))
    return verdicts


def known_wrong_report(lessons: list[Path]) -> tuple[str, bool]:
    """For each lesson: every known-wrong solution, whether a check of its exercise caught it, and the first
    feedback it got; then how many the lesson's checks caught."""
    rows, all_caught = [("lesson", "exercise", "known-wrong solution", "result", "feedback")], True
    for lesson in lessons:
        results = grade_lesson(lesson, "solutions", known_wrong_mode=True)
        broken = [r for r in results if r.exercise == "-"]  # the checks did not run at all
        rows += [(lesson.stem, "-", r.check, "ERROR", r.feedback) for r in broken]
        verdicts = known_wrong_verdicts(lesson, results)
        for mistake, failed, found in verdicts:
            misnamed = misdiagnosed(mistake, failed)
            rows.append((lesson.stem, mistake.exercise, mistake.name,
                         "caught" if found else "MISNAMED" if misnamed else "MISSED",
                         (misnamed or failed)[0] if failed else "not graded" if broken else "passed every check"))
        score = sum(found for _, _, found in verdicts)
        rows.append((lesson.stem, "", f"caught {score} of {len(verdicts)}", "", ""))
        all_caught &= not broken and score == len(verdicts)
    return "\n".join(line.rstrip() for line in columns(rows)), all_caught


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./course grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", help="grade only this lesson (its number, e.g. 1)")
    parser.add_argument("--target", choices=("lessons", "solutions"), default="lessons",
                        help="grade your exercises (default) or the reference solutions")
    parser.add_argument("--known-wrong", action="store_true",
                        help="for instructors: grade every known-wrong solution and say which the checks catch")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report to FILE as JSON")
    parser.add_argument("--junit-xml", type=Path, metavar="FILE",
                        help="also write the report to FILE as JUnit XML (a test case per check), for any CI")
    parser.add_argument("--markdown", type=Path, metavar="FILE",
                        help="also write the report to FILE as a Markdown table, e.g. for a CI job's summary")
    parser.add_argument("--verbose", action="store_true", help="a line per check, with its full name")
    args = parser.parse_args(argv)
    report_files = {option: path for option in REPORT_FILES if (path := getattr(args, option))}
    if args.known_wrong and report_files:
        parser.error("--json, --junit-xml and --markdown write the grade report, which --known-wrong does not give")
    for option, path in report_files.items():
        if problem := unwritable(path):
            print(f"./course grade: cannot write the --{option.replace('_', '-')} report: {problem}.", file=sys.stderr)
            return 2
    try:
        folder = "solutions" if args.known_wrong else args.target  # known-wrong answers patch the solutions
        lessons = [find_lesson(args.lesson, folder)] if args.lesson is not None else None
    except ValueError as error:
        parser.error(str(error))
    if args.known_wrong:
        table, all_caught = known_wrong_report(lessons or lesson_files("solutions"))
        print(table)
        return 0 if all_caught else 1
    results = grade(args.target, lessons)
    print(render(results, args.verbose, args.target))
    for option, path in report_files.items():
        try:
            write_report(path, REPORT_FILES[option](results))
        except OSError as error:  # the table above still holds the grade
            print(f"./course grade: cannot write the --{option.replace('_', '-')} report to {path}: "
                  f"{error.strerror or error}.", file=sys.stderr)
            return 2
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
