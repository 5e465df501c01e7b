"""Exercises a learner has not started, found by reading the lesson rather than running it.

An exercise is not started when its part of the lesson (from its ``## Exercise N.M`` heading to the next
exercise's) is still the text the generator wrote from the solution, but for cells that only call
``check(...)``, and no other part binds the name of a function or class it defines: its functions still raise NotImplementedError, so each of its checks would say "not done yet". The
grade reports those checks so without loading Keras, the data or the lesson, and runs only the others: an
untouched lesson is graded in a second.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from shared.grading.generate import HEADING, course_cells, make_exercise
from shared.grading.lessons import ROOT, is_learners_look, only_checks, parse


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_CELL = re.compile(r"# %%(\s|$)")  # a cell's first line, as jupytext reads it (not "# %%capture")
_DYNAMIC = {"exec", "eval", "globals", "vars", "locals", "setattr", "__import__"}  # names bound unseen


def sections(text: str) -> list[tuple[str, str, int, int]]:
    """Each exercise's part of a lesson: (number, title, first line, line after its last), lines counted from 1."""
    headings = list(HEADING.finditer(text))
    lines = [text.count("\n", 0, heading.start()) + 1 for heading in headings] + [text.count("\n") + 2]
    return [(heading[1], heading[2], start, end) for heading, start, end in zip(headings, lines, lines[1:])]


def without_unrun_cells(lines: list[str], course: frozenset[str]) -> list[str]:
    """``lines`` of a lesson without the cells grading does not run: those that only call check(), and the
    learner's own looks at values (``course``: the cells the course wrote)."""
    starts = [i for i, line in enumerate(lines) if _CELL.match(line)]
    kept = list(lines[:starts[0]] if starts else lines)
    for start, end in zip(starts, [*starts[1:], len(lines)]):
        body = "\n".join(lines[start + 1:end])
        if not only_checks(body) and not is_learners_look(body, course):
            kept += lines[start:end]
    return kept


def bindings(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, line) for each name the module's top level binds, and each name a function declares global."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found += [(name, node.lineno) for name in node.names]
    stack: list[ast.AST] = list(tree.body)
    while stack:  # the top level, with its if/for/with/try blocks, but no function's or class's body
        node = stack.pop()
        if isinstance(node, _DEFINITIONS):
            found.append((node.name, node.lineno))
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.append((node.id, node.lineno))
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            found.append((node.name, node.lineno))
        elif isinstance(node, ast.alias):
            found.append(((node.asname or node.name).split(".")[0], node.lineno))
        elif not isinstance(node, ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return found


def binds_unseen(tree: ast.Module) -> bool:
    """Whether the module may bind names that ``bindings`` cannot list: a star import, exec, globals()..."""
    return any(isinstance(node, ast.alias) and node.name == "*" or isinstance(node, ast.Name) and node.id in _DYNAMIC
               or isinstance(node, ast.MatchMapping) and node.rest for node in ast.walk(tree))


def not_started(lesson: Path) -> dict[str, str]:
    """The exercises of ``lesson`` not started, each with what its stub raises ("Exercise 1.2: Clean a review");
    {} when the course has no solution of that name, or the lesson does not parse or may bind names unseen (its
    checks run and say why)."""
    solution = ROOT / "solutions" / lesson.name
    text = lesson.read_text(encoding="utf-8")
    try:
        tree = parse(text)
    except SyntaxError:
        return {}
    if not solution.exists() or binds_unseen(tree):
        return {}
    generated = make_exercise(solution.read_text(encoding="utf-8"), solution.name).split("\n")
    course = course_cells(lesson.name)
    learner = text.split("\n")
    parts = {number: (start, end) for number, _, start, end in sections("\n".join(generated))}
    bound = bindings(tree)
    numbers = [number for number, *_ in sections(text)]
    found = {}
    for number, title, start, end in sections(text):
        first, after = parts.get(number, (0, 0))
        if (without_unrun_cells(learner[start - 1:end - 1], course) != generated[first - 1:after - 1] or not first
                or numbers.count(number) > 1):  # a heading written twice: which part is the answer?
            continue
        own = {node.name for node in tree.body if isinstance(node, _DEFINITIONS) and start <= node.lineno < end}
        if not any(name in own and not start <= line < end for name, line in bound):
            found[number] = f"Exercise {number}: {title}"
    return found
