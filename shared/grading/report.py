"""Grade the lessons and print a report: lesson, exercise, result, points, and what to fix.

    ./course grade               # every lesson in lessons/
    ./course grade --lesson 1    # one lesson, quickly
    ./course grade --target solutions
    ./course grade --known-wrong # for instructors: which known-wrong solutions the checks catch
    ./course grade --json report.json --junit-xml report.xml --markdown report.md  # the report for CI too

Each lesson is graded in its own process, with the Keras backend it declares set before Keras is
imported. The exit status is 1 when any check fails, so the command works in CI for your own fork.
A check has a time limit (CHECK_SECONDS unless it sets its own): past it, it fails and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.grading.known_wrong import Wrong, caught, known_wrong
from shared.grading.lessons import ROOT, find_lesson, lesson_backend, lesson_files

CHECK_SECONDS = 120  # the default time limit of one graded check
LESSON_SECONDS = 1_800  # a last resort, should a lesson's checks hang where no time limit reaches


@dataclass
class CheckResult:
    lesson: str
    exercise: str
    check: str
    points: int
    passed: bool
    feedback: str
    variant: str = ""


def checks_file(lesson: Path) -> Path:
    return ROOT / "tests" / "lessons" / f"test_{lesson.stem}.py"


def grade_lesson(lesson: Path, target: str, known_wrong_mode: bool = False) -> list[CheckResult]:
    """Run one lesson's graded checks against ``target`` (``lessons`` or ``solutions``) in a new process;
    with ``known_wrong_mode``, against the untouched exercise and each known-wrong solution instead."""
    environment = os.environ | {"KERAS_BACKEND": lesson_backend(lesson), "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as scratch:
        results_file = Path(scratch) / "results.json"
        command = [sys.executable, "-m", "pytest", str(checks_file(lesson)), f"--target={target}",
                   "-p", "shared.grading.plugin", f"--grade-json={results_file}", f"--timeout={CHECK_SECONDS}",
                   "-o", "timeout_func_only=true",
                   "-q", "--no-header", "-p", "no:cacheprovider", "-W", "ignore"]
        if known_wrong_mode:
            command.append("--known-wrong")
        try:
            run = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True,
                                 timeout=LESSON_SECONDS)
        except subprocess.TimeoutExpired:
            return [CheckResult(lesson.stem, "-", "(the checks did not finish)", 0, False,
                                f"stopped after {LESSON_SECONDS} s")]
        if run.returncode not in (0, 1) or not results_file.exists():
            tail = (run.stdout + run.stderr).strip().splitlines()[-3:]
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


def totals(results: list[CheckResult]) -> tuple[str, str]:
    """The report's last two lines: the points earned, then how many checks passed and failed."""
    earned, possible, passed = score(results)
    return f"points: {earned}/{possible}", f"{passed} passed, {len(results) - passed} failed"


def render(results: list[CheckResult]) -> str:
    """The report as a plain-text table, then a total line."""
    lines = columns([HEADER, *table_rows(results)])
    lines.insert(1, "-" * min(120, len(lines[0])))
    lines += ["", *totals(results)]
    return "\n".join(line.rstrip() for line in lines)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def markdown_cell(text: str) -> str:
    """``text`` shown as it is in a Markdown table cell: a ``|`` would end the cell, ``<x>`` vanish as HTML,
    ``__init__`` turn bold."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def render_markdown(results: list[CheckResult]) -> str:
    """The report as a Markdown table under its total, for a CI job's summary page."""
    points, counts = totals(results)
    lines = ["## Grade report", "", f"**{points}**, {counts}", "",
             "| " + " | ".join(HEADER) + " |", "| --- | --- | --- | --- | ---: | --- |"]
    lines += ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in table_rows(results)]
    return "\n".join(lines) + "\n"


def render_json(results: list[CheckResult]) -> str:
    """The report as JSON: the totals, then every check (``variant`` is for --known-wrong only)."""
    earned, possible, passed = score(results)
    report = {"points": earned, "possible": possible, "passed": passed, "failed": len(results) - passed,
              "checks": [{k: v for k, v in asdict(r).items() if k != "variant"} for r in results]}
    return json.dumps(report, indent=1) + "\n"


# Characters XML 1.0 cannot hold, even escaped: an exception message may carry one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_junit_xml(results: list[CheckResult]) -> str:
    """The report in JUnit XML, which most CI systems display: a test suite per lesson, a test case per check
    (its points as a property), and for a failed check a failure carrying its feedback."""
    by_lesson: dict[str, list[CheckResult]] = {}
    for result in results:
        by_lesson.setdefault(result.lesson, []).append(result)
    root = ET.Element("testsuites", name="grade", tests=str(len(results)),
                      failures=str(sum(not r.passed for r in results)))
    for lesson, checks in by_lesson.items():
        suite = ET.SubElement(root, "testsuite", name=lesson, tests=str(len(checks)),
                              failures=str(sum(not r.passed for r in checks)))
        for r in checks:
            case = ET.SubElement(suite, "testcase", classname=lesson, name=f"{r.exercise} {r.check}")
            ET.SubElement(ET.SubElement(case, "properties"), "property", name="points", value=str(r.points))
            if not r.passed:
                feedback = _NOT_XML.sub("?", r.feedback)
                ET.SubElement(case, "failure", message=feedback).text = feedback
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# The report files ./course grade can write besides its table, by option.
REPORT_FILES: dict[str, Callable[[list[CheckResult]], str]] = {
    "json": render_json, "junit_xml": render_junit_xml, "markdown": render_markdown}


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
            rows.append((lesson.stem, mistake.exercise, mistake.name, "caught" if found else "MISSED",
                         failed[0] if failed else "not graded" if broken else "passed every check"))
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
    args = parser.parse_args(argv)
    report_files = {option: path for option in REPORT_FILES if (path := getattr(args, option))}
    if args.known_wrong and report_files:
        parser.error("--json, --junit-xml and --markdown write the grade report, which --known-wrong does not give")
    try:
        lessons = [find_lesson(args.lesson, args.target)] if args.lesson is not None else None
    except ValueError as error:
        parser.error(str(error))
    if args.known_wrong:
        table, all_caught = known_wrong_report(lessons or lesson_files("solutions"))
        print(table)
        return 0 if all_caught else 1
    results = grade(args.target, lessons)
    print(render(results))
    for option, path in report_files.items():
        write_report(path, REPORT_FILES[option](results))
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
