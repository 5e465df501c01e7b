"""Fixtures of the graded checks: the lesson under test (from --target) and real data subsets.

With ``--known-wrong``, the ``lesson`` fixture is instead each known-wrong solution of the check's own
exercise (``tests/known_wrong/``) and the untouched exercise file: one process grades them all. Once a
known-wrong solution has failed a check with feedback that names its mistake, its slow checks are
skipped: it is caught already.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jupytext  # noqa: F401  (import_lesson's reader, imported before a lesson's time limit starts: seconds)
import pytest

from shared.data import Imdb, load_imdb, stratified_sample
from shared.grading import guard
from shared.grading.generate import course_cells
from shared.grading.known_wrong import UNTOUCHED, apply, known_wrong
from shared.grading.lessons import ROOT, find_lesson, import_lesson
from shared.grading.notebook import KERNEL_LESSON
from shared.grading.plugin import teaching_line, variant_of

_CAUGHT = pytest.StashKey[set]()


@dataclass(frozen=True)
class Variant:
    """A version of the lesson to grade: the untouched exercise, or the solution with one mistake."""

    name: str
    path: Path
    source: str | None = None
    feedback: str = ""  # the pattern the feedback of a check that catches this variant shows


def variants(lesson_number: str, exercise: str, mutants: str | None = None) -> list[Variant]:
    solution = find_lesson(lesson_number, "solutions")
    if mutants:  # any failed check kills a mutant: the empty pattern matches every feedback
        return [Variant(mutant["name"], solution, mutant["source"])
                for mutant in json.loads(Path(mutants).read_text()) if mutant["exercise"] == exercise]
    text = solution.read_text(encoding="utf-8")
    return [Variant(UNTOUCHED, ROOT / "lessons" / solution.name)] + [
        Variant(mistake.name, solution, apply(text, mistake), mistake.feedback)
        for mistake in known_wrong(solution) if mistake.exercise == exercise]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("exercise")
    if metafunc.config.getoption("known_wrong") and "lesson" in metafunc.fixturenames and marker:
        found = variants(metafunc.module.LESSON, marker.args[0], metafunc.config.getoption("mutants"))
        metafunc.parametrize("lesson", found, indirect=True, ids=[v.name for v in found], scope="module")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CAUGHT] = set()


def pytest_runtest_setup(item: pytest.Item) -> None:
    variant = variant_of(item)
    if variant and variant.name in item.config.stash[_CAUGHT] and item.get_closest_marker("slow"):
        pytest.skip("caught by an earlier check")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = (yield).get_result()
    variant = variant_of(item)
    if report.failed and variant and variant.name != UNTOUCHED and call.excinfo is not None \
            and re.search(variant.feedback, teaching_line(call.excinfo)):
        item.config.stash[_CAUGHT].add(variant.name)


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """PyTorch on one thread while grading: the checks' models are small, and on a CPU shared with another
    job two threads waiting for each other made a 6-step LSTM a hundred times slower than one thread.
    Restored afterwards: a notebook that checks an exercise in its kernel trains on after it."""
    if os.environ.get("KERAS_BACKEND") != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def lesson(request: pytest.FixtureRequest) -> types.ModuleType:
    """The lesson named by the test module's LESSON, imported from --target without its long cells; or, when an
    exercise is checked in a notebook (shared.grading.notebook), the definitions its kernel holds."""
    if (kernel_lesson := request.config.stash.get(KERNEL_LESSON, None)) is not None:
        return kernel_lesson
    variant = getattr(request, "param", None)
    path = variant.path if variant is not None else find_lesson(request.module.LESSON, request.config.getoption("target"))
    guard.watch(path)  # from here on, this file's code may not read solutions/ or tests/
    with time_limit(float(os.environ.get("LESSON_LOAD_SECONDS", "120"))):
        module = import_lesson(path, variant.source if variant is not None else None, course_cells(path.name))
    guard.refuse_borrowed_answers(module, path)
    return module


class LessonLoadTimeout(TimeoutError):
    """Loading the lesson (its cells but the long ones) ran past its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise LessonLoadTimeout in the code running after ``seconds``: a check's own limit (pytest-timeout)
    covers the check, not the fixture that loads the lesson."""
    def stop(signum, frame):
        raise LessonLoadTimeout(f"loading the lesson took longer than {seconds:g} s, its time limit: an endless "
                                "loop outside a function, or a long run in a cell not tagged long?")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def reference(request: pytest.FixtureRequest) -> types.ModuleType:
    """The reference solution of the test module's lesson, which randomized checks compare the lesson with."""
    path = find_lesson(request.module.LESSON, "solutions")
    graded = sys.modules.get(f"lesson_{path.stem}")
    module = import_lesson(path)
    if graded is not None:  # the graded lesson keeps its name: its classes pickle by it
        sys.modules[graded.__name__] = graded
    return module


@pytest.fixture(scope="session")
def imdb() -> Imdb:
    """The real data, found as the course always finds it (IMDB_DATA_DIR, the cache, or a download)."""
    return load_imdb()


@pytest.fixture(scope="session")
def small_imdb(imdb: Imdb) -> Imdb:
    """2,000 training and 1,000 test reviews, balanced, always the same: enough for a short seeded run."""
    return Imdb(stratified_sample(imdb.train, 2_000, seed=0), stratified_sample(imdb.test, 1_000, seed=0))
