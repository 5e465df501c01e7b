"""A pytest plugin for the grade report: each graded check's outcome, points and one teaching line.

Loaded with ``-p shared.grading.plugin --grade-json=FILE``; a graded check is a test marked
``@pytest.mark.exercise("N.M", points=P)``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.grading import guard

_RESULTS = pytest.StashKey[dict]()
_TIMEOUT_MESSAGE = re.compile(r"Timeout \(>([\d.]+)s\) from pytest-timeout")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--grade-json", help="write the graded checks' results to this JSON file")
    parser.addoption("--exercises", help="run the graded checks of these exercises only (e.g. 1.2,1.5)")
    parser.addoption("--list-checks", help="with --collect-only: write each lesson's graded checks to this JSON "
                                           "file (shared.grading.checks_index)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not (wanted := config.getoption("exercises")):
        return
    exercises = set(wanted.split(","))
    keep = [item for item in items if (marker := item.get_closest_marker("exercise")) is None
            or marker.args[0] in exercises]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    if not (path := session.config.getoption("list_checks")):
        return
    index: dict[str, list[dict]] = {}
    for item in session.items:
        if marker := item.get_closest_marker("exercise"):
            index.setdefault(item.path.stem.removeprefix("test_"), []).append(
                {"check": item.name, "exercise": marker.args[0], "points": marker.kwargs.get("points", 1)})
    Path(path).write_text(json.dumps(index))


def teaching_line(excinfo: pytest.ExceptionInfo) -> str:
    """One line that says what went wrong, and where in the lesson file, instead of a traceback."""
    error = excinfo.value
    first_line = (str(error).strip().splitlines() or [""])[0]
    if isinstance(error, NotImplementedError):
        return f"not done yet: {first_line}"
    if isinstance(error, (AssertionError, guard.ReadsReference)):
        return first_line or "a check failed without a message"
    if timeout := _TIMEOUT_MESSAGE.match(first_line):
        return f"took longer than {float(timeout[1]):g} s, the check's time limit: an endless loop, or far " \
               f"more work than asked?{where_in_lesson(excinfo)}"
    return f"{type(error).__name__}: {first_line[:160]}{where_in_lesson(excinfo)}"


def is_lesson_file(path: Path) -> bool:
    """A file of lessons/ or solutions/, not of tests/lessons/."""
    return path.parent.name in ("lessons", "solutions") and path.parent.parent.name != "tests"


def where_in_lesson(excinfo: pytest.ExceptionInfo) -> str:
    """" (at lessons/NN_topic.py:LINE)" for the innermost frame in a lesson file, or ""."""
    for entry in reversed(excinfo.traceback):
        path = Path(str(entry.path))
        if is_lesson_file(path):
            return f" (at {path.parent.name}/{path.name}:{entry.lineno + 1})"
    return ""


def variant_of(item: pytest.Item):
    """The version of the lesson a check grades under --known-wrong (it has a ``name``), else None."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("lesson") if callspec else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = (yield).get_result()
    refused = guard.refusal()
    if refused and report.when != "teardown" and not report.failed:  # the lesson caught it and went on
        report.outcome, report.longrepr = "failed", refused
    marker = item.get_closest_marker("exercise")
    if marker is None or (report.when != "call" and not report.failed):
        return
    variant = getattr(variant_of(item), "name", "")
    check = item.name
    if variant:  # the check's own name, without the variant's id
        check = check.replace(f"[{variant}]", "").replace(f"[{variant}-", "[").replace(f"-{variant}]", "]")
    result = {
        "check": check,
        "variant": variant,
        "exercise": marker.args[0],
        "points": marker.kwargs.get("points", 1),
        "passed": report.passed,
        "skipped": report.skipped,
        "feedback": refused or (teaching_line(call.excinfo) if call.excinfo and report.failed else ""),
    }
    item.config.stash[_RESULTS].setdefault(item.nodeid, result)


def graded_results(config: pytest.Config) -> list[dict]:
    """The graded checks' results of a session, in the order they ran: what --grade-json writes."""
    return list(config.stash[_RESULTS].values())


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("grade_json")
    if path:
        Path(path).write_text(json.dumps(graded_results(session.config), indent=1))
