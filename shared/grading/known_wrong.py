"""Known-wrong solutions: the mistakes learners make, kept as small patches of the reference solutions.

A check that has never failed a wrong answer has not been shown to check anything. Each lesson's
``tests/known_wrong/NN_topic.py`` lists ``KNOWN_WRONG``: realistic mistakes (test data used for a choice,
a sigmoid on logits, padding not masked, best weights not restored...), each a text patch of
``solutions/NN_topic.py``, with a pattern its feedback must show. ``./course grade --known-wrong`` grades
every one of them and says which the checks catch; ``tests/test_autograder.py`` requires all of them caught.
A diagnosis (a feedback line's "— looks like this mistake") must fit: each listed mistake is a near miss of the
others of its exercise, and one told a diagnosis its own pattern does not match is not caught.

A patch changes behaviour, never a name the checks look for: the checks call the patched functions and
judge what they return. Beside the listed mistakes, every exercise has one made for it: the answer that
hard-codes a value (``constant_answers``), which its checks must fail too.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from shared.grading.generate import BEGIN
from shared.grading.lessons import ROOT, parse
from shared.grading.untouched import sections

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
    """The known-wrong solutions of a lesson (``solutions/NN_topic.py``), in file order; then, for each exercise,
    its constant answer."""
    path = KNOWN_WRONG_DIR / lesson.name
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"known_wrong_{lesson.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [*module.KNOWN_WRONG, *constant_answers(lesson.read_text(encoding="utf-8"))]


_CONSTANT = '''
def _constant_answer(function):  # a known-wrong answer: what its first call returned, whatever the inputs
    answers = []

    @__import__("functools").wraps(function)
    def constant(*args, **kwargs):
        if not answers:
            answers.append(function(*args, **kwargs))
        return answers[0]
    return constant


@_constant_answer'''


def constant_answers(source: str) -> list[Wrong]:
    """For each exercise, the answer that hard-codes one value: each of the functions it asks for returns, from
    its second call on, what its first call returned (in a check, the worked example's answer). An answer right
    on one example only is not right: every exercise must fail it, whatever its list of mistakes. A function of
    no arguments is left out: one value is its right answer."""
    lines, tree = source.splitlines(), parse(source)
    mistakes = []
    for exercise, _, first, end in sections(source):
        names = [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and first <= node.lineno < end
                 and any(line.strip() == BEGIN for line in lines[node.lineno - 1 : node.end_lineno])
                 and (node.args.posonlyargs or node.args.args or node.args.kwonlyargs or node.args.vararg)]
        if names:
            mistakes.append(Wrong(exercise, f"a constant answer ({', '.join(names)}: the first call's value, "
                                            "whatever the inputs)",
                                  tuple((f"\ndef {name}(", f"\n{_CONSTANT}\ndef {name}(") for name in names), ""))
    return mistakes


_DRAWN_NOTE = re.compile(r" \(the smallest of the .*\)$")  # which drawn case failed: a fact, no diagnosis


def diagnosis(line: str) -> str:
    """What a failed check's feedback line says the mistake looks like: its text after " — ", but for the note
    naming a drawn case; or ""."""
    return _DRAWN_NOTE.sub("", line.partition(" — ")[2])


def misdiagnosed(mistake: Wrong, feedback_lines: list[str]) -> list[str]:
    """The feedback lines whose diagnosis the mistake's own pattern does not match: a near miss of another mistake,
    named as it. A constant answer's are left out: it makes every mistake of its exercise at once."""
    return [line for line in feedback_lines
            if mistake.feedback and diagnosis(line) and not re.search(mistake.feedback, diagnosis(line))]


def caught(mistake: Wrong, feedback_lines: list[str]) -> bool:
    """Whether one of the failed checks' feedback lines names the mistake, and none names another one."""
    return any(re.search(mistake.feedback, line) for line in feedback_lines) and \
        not misdiagnosed(mistake, feedback_lines)
