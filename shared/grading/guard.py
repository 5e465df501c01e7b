"""While a lesson is graded, its code may not read the reference solutions or the checks.

An audit hook (``sys.addaudithook``) sees every file Python opens and every command it starts. When the
code asking is the graded lesson's (a frame of its file is on the stack) and the file is under
``solutions/`` or ``tests/``, or is the graded lesson's own exported module in ``shared/lessons/`` (which
holds its reference answers; other lessons' exports it may import), the open is refused with
``ReadsReference`` and the refusal is kept: every check from then on fails with it, even if the lesson caught
the error and went on. A module imported before (by the checks) opens no file again, so the loaded lesson's
names are also looked at: one that comes from its own export is refused the same way. What it cannot see: a
lesson that copied the solution's text, or a program started under another name that reads the files itself
(README, "What the grader can and cannot prevent").
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

from shared.grading.export import module_name
from shared.paths import ROOT

PROTECTED = {"solutions": "the reference solution", "tests": "the course's checks"}
_COMMANDS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen")
_graded: set[str] = set()  # the files whose code is the learner's
_refusal: list[str] = []  # the first refusal's message, once there is one


class ReadsReference(PermissionError):
    """The graded lesson opened, or started a command on, a file of solutions/ or tests/."""


def watch(lesson: Path) -> None:
    """Treat the code of ``lesson`` as the learner's from now on (the hook is added once per process)."""
    if not _graded:
        sys.addaudithook(_hook)
    _graded.add(str(lesson))


def refusal() -> str:
    """The message of the first refusal in this process, or ""."""
    return _refusal[0] if _refusal else ""


def protected_part(path: object) -> str:
    """What of the course ``path`` holds ("the reference solution", "the course's checks"), or ""."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        return ""
    try:
        parts = Path(os.fsdecode(path)).resolve().relative_to(ROOT).parts
    except (ValueError, OSError):
        return ""
    if parts[:2] == ("shared", "lessons") and parts[-1].split(".")[0] in _graded_exports():  # .py, or its .pyc
        return "the reference solution"
    return PROTECTED.get(parts[0], "") if parts else ""


def refuse_borrowed_answers(module: types.ModuleType, lesson: Path) -> None:
    """Refuse a lesson whose names come from its own exported module: one the checks imported already is
    imported again without opening a file, so the hook alone would not see it."""
    own = f"shared.lessons.{module_name(lesson)}"
    exported = sys.modules.get(own)
    for value in vars(module).values():
        try:
            borrowed = (exported is not None and value is exported) or getattr(value, "__module__", None) == own
        except Exception:  # an object of the learner's whose attributes raise: not the export's
            borrowed = False
        if borrowed:
            _refuse("the reference solution", ROOT / "shared" / "lessons" / f"{module_name(lesson)}.py")


def _refuse(part: str, path: Path) -> None:
    message = (f"your lesson reads {part} ({path.relative_to(ROOT)}): graded code may not open solutions/, "
               "tests/ or its own lesson's answers in shared/lessons/")
    _refusal.append(message)
    raise ReadsReference(message)


def _graded_exports() -> set[str]:
    """The exported modules' names of the lessons graded here (``03_lstm.py`` -> ``lstm``)."""
    return {module_name(Path(lesson)) for lesson in _graded}


def _from_learner() -> str:
    """The learner's file on the stack, nearest first, or ""."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename in _graded:
            return frame.f_code.co_filename
        frame = frame.f_back
    return ""


def _targets(event: str, args: tuple) -> list[object]:
    if event == "open":
        return [args[0]]
    if event.startswith(_COMMANDS):  # the words of a command: any one of them may name a file
        words = [word for arg in args if isinstance(arg, (list, tuple)) for word in arg]
        return [*words, *(word for arg in args if isinstance(arg, str) for word in arg.split())]
    return []


def _hook(event: str, args: tuple) -> None:
    if event != "open" and not event.startswith(_COMMANDS):
        return
    for target in _targets(event, args):
        part = protected_part(target)
        if not part or not (lesson := _from_learner()):
            continue
        path = Path(os.fsdecode(target)).resolve()
        if path.parent.name == "__pycache__":  # a module's compiled copy: name the source a learner knows
            path = path.parent.parent / f"{path.name.split('.')[0]}.py"
        if path != Path(lesson).resolve():  # its own file it may read (inspect.getsource does)
            _refuse(part, path)
