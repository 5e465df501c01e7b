"""Randomized checks: the lesson's answer against the reference solution's, on inputs drawn at grade time.

A worked example checks one input; an answer can be right on it and wrong elsewhere, or simply return its
expected value. Hypothesis draws many inputs of every size and argument, finds one on which the two answers
differ, shrinks it to the smallest it can, and the failure names that input and the seed that draws it again:

    GRADE_SEED=1234 ./course grade --lesson 5

Where more than one answer is right (a random split), ``check_holds`` searches instead for the smallest input
on which the answer breaks a property every right answer keeps.
"""

from __future__ import annotations

import os
import random
import reprlib
from collections.abc import Callable
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample
from hypothesis.internal.conjecture import engine

_SHORT = reprlib.Repr()  # short enough for one line of the report (set one by one: Python 3.11 takes no arguments)
_SHORT.maxlist, _SHORT.maxstring, _SHORT.maxother = 12, 60, 80
SEED = int(os.environ.get("GRADE_SEED") or random.SystemRandom().randrange(10_000))  # one per grading process
SHRINK_SECONDS = 3  # how long the first difference is shrunk: Hypothesis's own limit is five minutes


def comparable(value: object) -> object:
    """A value that compares by content: arrays by dtype, shape and items; containers item by item."""
    if isinstance(value, np.ndarray):
        return "array", value.dtype.str, value.shape, value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return "dict", sorted((key, comparable(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [comparable(item) for item in value]
    return value


def outcome(function: Callable, case: tuple) -> tuple[str, object]:
    """("returns", value) or ("raises", the error): raising is an answer too, for bad arguments. An exercise not
    started yet (NotImplementedError) is no answer: that is raised, and the check reports it as not done."""
    try:
        return "returns", function(*case)
    except NotImplementedError:
        raise
    except Exception as error:  # any error of the learner's is reported, not raised
        return "raises", error


def close(a: object, b: object, atol: float) -> bool:
    """``comparable`` equality, but numbers to ``atol``: float arrays of any precision agree on close items."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype.kind == b.dtype.kind == "f":
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=atol, equal_nan=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= atol or (np.isnan(a) and np.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[key], b[key], atol) for key in a)
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(close(x, y, atol) for x, y in zip(a, b))
    return comparable(a) == comparable(b)


def same_outcome(a: tuple[str, object], b: tuple[str, object], atol: float | None = None) -> bool:
    if a[0] == "raises" or b[0] == "raises":
        return a[0] == b[0] and type(a[1]) is type(b[1])
    return comparable(a[1]) == comparable(b[1]) if atol is None else close(a[1], b[1], atol)


def plain(value: object) -> object:
    """``value`` with its arrays, however deep, as lists and NumPy scalars as Python's: an array's repr spans
    lines, and feedback is one line."""
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)  # float noise would hide what differs
    if isinstance(value, (np.ndarray, np.generic)):
        return plain(value.tolist())
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(plain(item) for item in value)
    return value


def said(result: tuple[str, object]) -> str:
    kind, value = result
    if kind == "raises":
        return f"raise {type(value).__name__}"
    return f"return {_SHORT.repr(plain(value))}"


def stopping_for_good(fails: Callable[[tuple], bool]) -> Callable[[tuple], bool]:
    """``fails``, but once the check's time limit has stopped it, every later call stops at once the same way.
    The limit (pytest-timeout) raises a BaseException, once: Hypothesis would catch it and call an answer with
    an endless loop again, with no limit left to stop it."""
    stopped: list[BaseException] = []

    def guarded(case: tuple) -> bool:
        if stopped:
            raise stopped[0]
        try:
            return fails(case)
        except Exception:
            raise
        except BaseException as error:  # the time limit, or an interrupt
            stopped.append(error)
            raise
    return guarded


def smallest(cases: st.SearchStrategy, fails: Callable[[tuple], bool], examples: int) -> tuple | None:
    """The smallest drawn case that ``fails``, drawn with GRADE_SEED; None if none of ``examples`` does."""
    try:  # MAX_SHRINKING_SECONDS is an internal of the pinned Hypothesis
        with mock.patch.object(engine, "MAX_SHRINKING_SECONDS", SHRINK_SECONDS):
            return find(cases, stopping_for_good(fails), random=random.Random(SEED), settings=settings(
                max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck),
                phases=[Phase.generate, Phase.shrink]))  # the other phases only cost time here: 80 calls, not 3
    except NoSuchExample:
        return None


def arguments_of(case: tuple) -> str:
    return ", ".join(_SHORT.repr(plain(argument)) for argument in case)


def check_agrees_with_reference(name: str, answer: Callable, reference: Callable, cases: st.SearchStrategy,
                                examples: int = 300, atol: float | None = None) -> None:
    """Fail with the smallest drawn ``case`` (a tuple of arguments) on which ``answer`` and ``reference`` differ;
    with ``atol``, float results agree to within it, whatever their precision (float32 or float64)."""
    case = smallest(cases, lambda case: not same_outcome(outcome(answer, case), outcome(reference, case), atol),
                    examples)
    if case is not None:
        fail_on(name, answer, reference, case)


def check_close_to_reference(name: str, answer: Callable, reference: Callable, cases: st.SearchStrategy,
                             close: Callable[[tuple, object, object], bool], examples: int = 300) -> None:
    """check_agrees_with_reference for numbers that two right answers may round differently: they differ where
    ``close(case, the reference's value, the answer's value)`` is false."""
    def differs(case: tuple) -> bool:
        expected, found = outcome(reference, case), outcome(answer, case)
        if "raises" in (expected[0], found[0]):
            return not same_outcome(expected, found)
        try:
            return not close(case, expected[1], found[1])
        except Exception:  # an answer that cannot be compared (a string, the wrong shape) is not the reference's
            return True

    case = smallest(cases, differs, examples)
    if case is not None:
        fail_on(name, answer, reference, case)


def fail_on(name: str, answer: Callable, reference: Callable, case: tuple) -> None:
    expected, got = said(outcome(reference, case)), said(outcome(answer, case))
    if expected == got:  # what differs does not show in the values
        got += " (the same values, of other types: compare the dtypes)"
    raise AssertionError(
        f"expected {name}({arguments_of(case)}) to {expected}, got {got} (the smallest of the inputs drawn with "
        f"GRADE_SEED={SEED} where your answer differs from the reference)")


def check_holds(name: str, broken: Callable[..., str], cases: st.SearchStrategy, examples: int = 300) -> None:
    """Fail with the smallest drawn ``case`` for which ``broken(*case)`` says what the answer got wrong ("" when
    nothing): for answers that may differ from the reference's yet be right, if they keep its properties."""
    def problem(case: tuple) -> str:
        try:
            return broken(*case)
        except NotImplementedError:  # not started: reported as not done, not as a failure on this input
            raise
        except Exception as error:  # the learner's answer raised: that is what it got wrong
            return f"to run, got {type(error).__name__}: {_SHORT.repr(str(error))}"

    case = smallest(cases, lambda case: bool(problem(case)), examples)
    if case is not None:
        raise AssertionError(f"expected {name}({arguments_of(case)}) {problem(case)} (the smallest of the inputs "
                             f"drawn with GRADE_SEED={SEED} where your answer fails)")


def token_ids(max_size: int = 60) -> st.SearchStrategy[list[int]]:
    """A review's WordPiece ids, none of them padding: distinct, so that a slice shows which ids it took."""
    return st.lists(st.integers(1000, 30_000), max_size=max_size, unique=True)
