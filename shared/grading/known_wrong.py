"""Known-wrong solutions: the mistakes learners make, kept as small patches of the reference solutions.

A check that has never failed a wrong answer has not been shown to check anything. Each lesson's
``tests/known_wrong/NN_topic.py`` lists ``KNOWN_WRONG``: realistic mistakes (test data used for a choice,
a sigmoid on logits, padding not masked, best weights not restored...), each a text patch of
``solutions/NN_topic.py``, with a pattern its feedback must show. ``./course grade --known-wrong`` grades
every one of them and says which the checks catch; ``tests/test_autograder.py`` requires all of them caught.

A patch changes behaviour, never a name the checks look for: the checks call the patched functions and
judge what they return.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from shared.grading.lessons import ROOT

KNOWN_WRONG_DIR = ROOT / "tests" / "known_wrong"
UNTOUCHED = "untouched exercise"  # the variant that grades lessons/NN_topic.py as generated


@dataclass(frozen=True)
class Wrong:
    """One mistake: ``exercise`` it belongs to, a ``name`` saying what it does, the ``patch`` (pairs of
    old and new text, each old text found exactly once in the solution) and ``feedback``, a regular
    expression the feedback line of a failed check of that exercise must match."""

    exercise: str
    name: str
    patch: tuple[tuple[str, str], ...]
    feedback: str


def wrong(exercise: str, name: str, *patch: tuple[str, str], feedback: str) -> Wrong:
    return Wrong(exercise, name, tuple(patch), feedback)


class PatchError(ValueError):
    """A known-wrong patch no longer applies to its solution; the message says which and why."""


def apply(source: str, mistake: Wrong) -> str:
    """The solution text with the mistake's patch applied."""
    for old, new in mistake.patch:
        count = source.count(old)
        if count != 1:
            raise PatchError(f"known-wrong {mistake.name!r}: {old!r} occurs {count} times in the solution, "
                             "not once; update the patch")
        source = source.replace(old, new)
    return source


def known_wrong(lesson: Path) -> list[Wrong]:
    """The known-wrong solutions of a lesson (``solutions/NN_topic.py``), in file order."""
    path = KNOWN_WRONG_DIR / lesson.name
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"known_wrong_{lesson.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.KNOWN_WRONG)


def caught(mistake: Wrong, feedback_lines: list[str]) -> bool:
    """Whether one of the failed checks' feedback lines names the mistake."""
    return any(re.search(mistake.feedback, line) for line in feedback_lines)
