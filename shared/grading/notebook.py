"""Check an exercise where it is written: in the notebook (or IPython session) that defines it.

    from shared.grading.notebook import check
    check("3.2")

runs exercise 3.2's checks, with the points and feedback lines of ``./course grade``, against the
definitions the kernel holds now (``__main__``'s globals, or a namespace you pass), prints one line per
check and returns a ``Verdict``. It runs in the kernel itself: no lesson imported again, no other
exercise's checks, so it takes seconds.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import sys
import threading
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.grading import plugin
from shared.grading.lessons import ROOT, checks_file, find_lesson, lesson_backend, lesson_files
from shared.grading.report import CHECK_SECONDS, WIDTH, CheckResult, by_exercise, score, wrapped

KERNEL_LESSON = pytest.StashKey[types.ModuleType]()  # the lesson fixture of the checks returns it when set
_EXERCISE = re.compile(r"(\d+)\.\d+")
_MARKER = re.compile(r'@pytest\.mark\.exercise\("([^"]+)"')


@dataclass(frozen=True, repr=False)
class Verdict:
    """The checks of one exercise, graded in the kernel: ``results`` (as ``./course grade`` reports them),
    ``points`` earned of ``total``, ``passed`` when every check passed."""

    exercise: str
    results: tuple[CheckResult, ...]

    @property
    def points(self) -> int:
        return score(list(self.results))[0]

    @property
    def total(self) -> int:
        return score(list(self.results))[1]

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def summary(self) -> str:
        failed = sum(not r.passed for r in self.results)
        if not self.results:
            return f"Exercise {self.exercise}: no check ran"
        if all(e.status == "to do" for e in by_exercise(list(self.results))):
            return f"Exercise {self.exercise}: to do, 0/{self.total} points (it still raises NotImplementedError)"
        outcome = f"{failed} of {len(self.results)} checks failed" if failed else "every check passed"
        return f"Exercise {self.exercise}: {self.points}/{self.total} points, {outcome}"

    def __str__(self) -> str:
        """The summary, then the exercise's line of the grade report (its first failing check's feedback)."""
        failing = [e for e in by_exercise(list(self.results)) if e.status != "passed"]
        rows = [(e.status, f"{e.earned}/{e.points}", e.feedback) for e in failing]
        return "\n".join([self.summary(), *(f"  {line}" for line in (wrapped(rows, WIDTH - 2) if rows else []))])

    def _ipython_display_(self) -> None:
        """check() has printed the verdict already: returned to a notebook cell, it is not shown again."""

    def __repr__(self) -> str:
        return f"<Verdict {self.summary()}>"


def check(exercise: str, namespace: Mapping[str, object] | types.ModuleType | None = None) -> Verdict:
    """Grade ``exercise`` ("3.2") on the definitions in ``namespace`` (by default ``__main__``'s: a notebook's
    own), with the checks, points and feedback of ``./course grade``; print the verdict and return it."""
    exercise = str(exercise).strip()
    lesson = lesson_of(exercise)
    require_backend(lesson)
    namespace = sys.modules["__main__"] if namespace is None else namespace
    verdict = run_checks(exercise, lesson, kernel_lesson(namespace, lesson))
    print(verdict)
    return verdict


def exercises(lesson: Path) -> list[str]:
    """The exercises the checks of ``lesson`` grade, in the order of its checks file."""
    return list(dict.fromkeys(_MARKER.findall(checks_file(lesson).read_text(encoding="utf-8"))))


def lesson_of(exercise: str) -> Path:
    """The lesson file (in lessons/) of ``exercise``; ValueError naming the exercises there are."""
    number = _EXERCISE.fullmatch(exercise)
    if number is None:
        ranges = ", ".join(f"{found[0]}–{found[-1]}" for found in map(exercises, lesson_files("lessons")))
        raise ValueError(f'{exercise!r} is not an exercise number such as "3.2"; the exercises are {ranges}')
    lesson = find_lesson(number[1], "lessons")
    if exercise not in exercises(lesson):
        raise ValueError(f"No exercise {exercise} in lesson {lesson.stem}; its exercises are "
                         f"{', '.join(exercises(lesson))}")
    return lesson


def kernel_backend() -> str | None:
    """This process's Keras backend: Keras's own once it is imported, else the one chosen for it, if any."""
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None else os.environ.get("KERAS_BACKEND")


def require_backend(lesson: Path) -> None:
    """Make sure the checks meet the backend the lesson declares, as ./course grade does; RuntimeError if this
    kernel's Keras already runs on another (a backend is chosen once, before Keras is imported)."""
    wanted, found = lesson_backend(lesson), kernel_backend()
    if found is None:
        os.environ["KERAS_BACKEND"] = wanted
    elif found != wanted:
        raise RuntimeError(f"Lesson {lesson.stem} runs Keras on the {wanted} backend, and this kernel's Keras runs "
                           f"on {found}: restart the kernel and run the lesson from its first cell, which chooses "
                           f"{wanted}, then check again")


def kernel_lesson(namespace: Mapping[str, object] | types.ModuleType, lesson: Path) -> types.ModuleType:
    """A module holding a copy of ``namespace``, filed under the lesson's path as the grader's import is. A copy:
    the learner's own namespace keeps no ``__file__`` of ours."""
    module = types.ModuleType(f"lesson_{lesson.stem}")
    module.__dict__.update(vars(namespace) if isinstance(namespace, types.ModuleType) else namespace)
    module.__file__ = str(lesson)
    return module


class OneExercise:
    """A pytest plugin: the checks of one exercise, on the kernel's definitions."""

    def __init__(self, exercise: str, lesson: types.ModuleType) -> None:
        self.exercise, self.lesson = exercise, lesson
        self.config: pytest.Config | None = None
        self.interrupted = False

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        config.stash[KERNEL_LESSON] = self.lesson

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        chosen, others = [], []
        for item in items:
            marker = item.get_closest_marker("exercise")
            (chosen if marker and marker.args[0] == self.exercise else others).append(item)
        config.hook.pytest_deselected(items=others)
        items[:] = chosen

    @pytest.hookimpl(tryfirst=True)
    def pytest_timeout_set_timer(self) -> bool | None:
        """pytest-timeout's SIGALRM reaches the main thread only; its other method, a thread, ends the whole
        process when a check runs out of time: the learner's kernel, with everything in it. So no time limit
        off the main thread (an IPython subshell, say): the learner can still interrupt the kernel."""
        if hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread():
            return None  # pytest-timeout sets its alarm, as under ./course grade
        return True

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True


def run_checks(exercise: str, lesson: Path, module: types.ModuleType) -> Verdict:
    """Run the checks of ``exercise`` in this process, with the grader's plugin and options, on ``module``."""
    chosen = OneExercise(exercise, module)
    output = io.StringIO()  # pytest's own report: only its last lines matter, should the checks not run
    # the grade report's options; tests/ collects the checks only with a --target, which the lesson fixture
    # then leaves aside for the kernel's module
    arguments = [str(checks_file(lesson)), "--target=lessons", f"--timeout={CHECK_SECONDS}",
                 "-o", "timeout_func_only=true", "-q", "--no-header", "-p", "no:cacheprovider",
                 "-p", "no:faulthandler", "--capture=sys", "-W", "ignore"]
    with left_as_found(), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main(arguments, plugins=[plugin, chosen])
    if chosen.interrupted:
        raise KeyboardInterrupt
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        tail = " | ".join(output.getvalue().strip().splitlines()[-3:])
        raise RuntimeError(f"The checks of exercise {exercise} did not run: {tail}")
    results = [CheckResult(lesson=lesson.stem, **{key: value for key, value in result.items() if key != "skipped"})
               for result in plugin.graded_results(chosen.config) if not result["skipped"]]
    return Verdict(exercise, tuple(results))


@contextlib.contextmanager
def left_as_found() -> Iterator[None]:
    """Give the kernel back its sys.path and the modules it had: pytest puts the checks' folders on sys.path,
    and a checks module left in sys.modules would carry its state into the next check. Libraries the checks
    imported stay imported."""
    path, modules = list(sys.path), dict(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path
        replaced = [name for name, module in sys.modules.items()
                    if modules.get(name) is not module and loaded_from(module, ROOT / "tests")]
        for name in replaced:
            del sys.modules[name]
        sys.modules.update({name: modules[name] for name in replaced if name in modules})


def loaded_from(module: object, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return bool(file) and Path(file).is_relative_to(folder)
