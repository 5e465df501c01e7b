"""Lesson files: find them, read their declared backend, import their definitions without the long cells.

A lesson is a Jupytext percent-format script. Cells tagged ``long`` (``# %% tags=["long"]``) train on the
full data or draw plots: they run when the lesson runs as a script or notebook, never when it is graded. Nor
do the cells that only call ``check(...)``, a learner's look at the grade from the notebook.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import threading
import types
from collections.abc import Collection
from pathlib import Path

from shared.paths import ROOT

LONG_TAG = "long"
LOOKING_BUILTINS = {"print", "display", "len", "repr", "str", "int", "float", "round", "abs", "sorted", "list",
                    "tuple", "set", "dict", "type", "sum", "min", "max", "any", "all", "zip", "enumerate", "range",
                    "isinstance"}  # they read their arguments and change nothing
_BACKEND = re.compile(r'^os\.environ\["KERAS_BACKEND"\] = "(\w+)"', re.MULTILINE)
_TITLE = re.compile(r"^# # (.+)$", re.MULTILINE)
_CELL_HEADER = re.compile(r"^# %%.*$", re.MULTILINE)


def lesson_files(folder: str | Path = "solutions") -> list[Path]:
    """The lesson files of ``folder`` (``solutions`` or ``lessons``), in lesson order."""
    return sorted((ROOT / folder).glob("[0-9][0-9]_*.py"))


def checks_file(lesson: Path) -> Path:
    """The graded checks of ``lesson``, in whichever folder the lesson is: ``tests/lessons/test_NN_topic.py``."""
    return ROOT / "tests" / "lessons" / f"test_{lesson.stem}.py"


def find_lesson(number: int | str, folder: str | Path = "solutions") -> Path:
    """The file of lesson ``number`` (``3``, ``"03"`` or ``"03_lstm"``) in ``folder``.

    Raises ValueError for anything else, naming the lessons there are."""
    known = ", ".join(path.stem for path in lesson_files(folder))
    given = re.fullmatch(r"(\d{1,2})(_\w+)?", str(number).strip())
    if not given:
        raise ValueError(f"{number!r} is not a lesson number; the lessons are: {known}")
    prefix = f"{int(given[1]):02d}_"
    matches = [path for path in lesson_files(folder) if path.name.startswith(prefix)
               and (given[2] is None or path.stem == f"{int(given[1]):02d}{given[2]}")]
    if not matches:
        raise ValueError(f"No lesson {number} in {folder}/; the lessons are: {known}")
    return matches[0]


def lesson_backend(path: Path) -> str:
    """The Keras backend the lesson declares with ``os.environ["KERAS_BACKEND"] = "..."``."""
    match = _BACKEND.search(path.read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f'{path} does not declare its backend: add os.environ["KERAS_BACKEND"] = "torch"')
    return match[1]


def lesson_title(path: Path) -> str:
    match = _TITLE.search(path.read_text(encoding="utf-8"))
    return match[1] if match else path.stem


def import_lesson(path: Path, source: str | None = None, course_cells: frozenset[str] | None = None
                  ) -> types.ModuleType:
    """Run every cell of the lesson but the ``long`` ones, in a fresh module, and return that module.

    ``source`` replaces the file's text (a known-wrong solution). Each cell is compiled at its own line
    of the file, so tracebacks and the grade report point at the line the learner sees. Given the cells the
    course wrote (``shared.grading.generate.course_cells``), a learner's own cell that only looks at values
    (``only_looks``) is skipped too: it cannot change what the checks call, only the grade's time."""
    text = path.read_text(encoding="utf-8") if source is None else source
    import jupytext  # the grade extra: running a lesson does not need it

    notebook = jupytext.reads(text, fmt="py:percent")
    module = types.ModuleType(f"lesson_{path.stem}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # dataclasses and pickling look modules up by name
    headers = [match.end() for match in _CELL_HEADER.finditer(text)]
    if len(headers) != len(notebook.cells):  # code before the first "# %%": line numbers may be off, no more
        headers = [0] * len(notebook.cells)
    for cell, header in zip(notebook.cells, headers):  # percent-format cells start at their "# %%" lines
        if cell.cell_type != "code":
            continue
        found = text.find(cell.source, header)
        learners_look = course_cells is not None and is_learners_look(cell.source, course_cells)
        if LONG_TAG not in cell.metadata.get("tags", []) and not only_checks(cell.source) and not learners_look:
            padding = "\n" * text.count("\n", 0, found) if found >= 0 else ""
            exec(compile(padding + cell.source, str(path), "exec"), module.__dict__)
    return module


_PARSING = threading.Lock()  # Python 3.11's parser is not thread-safe (CPython gh-106905); grades run in threads


def parse(source: str) -> ast.Module:
    """``ast.parse``, one thread at a time."""
    with _PARSING:
        return ast.parse(source)


def only_checks(code: str) -> bool:
    """Whether ``code`` does nothing but call ``check("N.M")`` (and import it from shared.grading.notebook)."""
    try:
        statements = parse(code).body
    except SyntaxError:
        return False
    return bool(statements) and all(_is_check(statement) for statement in statements)


def only_looks(code: str, functions: Collection[str]) -> bool:
    """Whether ``code`` only evaluates expressions that call nothing but ``functions``, by their plain names
    (``print(clean_review(text))``): it binds no name, not even through ``:=``, and calls no method that could
    change what an answer reads (``STOP.add("br")``, ``np.random.seed(0)``)."""
    try:
        tree = parse(code)
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(statement, ast.Expr) for statement in tree.body) and not any(
        isinstance(node, ast.NamedExpr) or isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in functions) for node in ast.walk(tree))


@functools.lru_cache(maxsize=16)
def course_functions(course_cells: frozenset[str]) -> frozenset[str]:
    """What a learner's look at values may call: the functions and classes the course's cells define, and the
    builtins that change nothing."""
    names = set(LOOKING_BUILTINS)
    for cell in course_cells:
        try:
            names |= {node.name for node in parse(cell).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        except SyntaxError:  # a cell of magics: it defines nothing
            continue
    return frozenset(names)


def is_learners_look(code: str, course_cells: frozenset[str]) -> bool:
    """Whether a cell is a learner's own look at values: not one the course wrote, and ``only_looks``, calling
    the course's functions and builtins alone."""
    return code.strip() not in course_cells and only_looks(code, course_functions(course_cells))


def _is_check(statement: ast.stmt) -> bool:
    """``from shared.grading.notebook import check``, or ``check("N.M")``: nothing else happens in either."""
    if isinstance(statement, ast.ImportFrom):
        return statement.module == "shared.grading.notebook" and all(
            alias.name == "check" and alias.asname in (None, "check") for alias in statement.names)
    call = statement.value if isinstance(statement, ast.Expr) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "check"
            and not call.keywords and all(isinstance(argument, ast.Constant) for argument in call.args))
