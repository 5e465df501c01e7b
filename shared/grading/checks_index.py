"""The list of every lesson's graded checks, ``tests/lessons/checks.json``: lesson -> its checks' names,
exercises and points, in the order they run.

``python -m shared.grading.generate`` writes it by collecting the checks, in a pytest process per Keras backend
as the grade imports them; the grade reads it to report an exercise not started without loading its checks
(``shared.grading.untouched``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from shared.grading.lessons import ROOT, checks_file, lesson_backend, lesson_files

INDEX = ROOT / "tests" / "lessons" / "checks.json"


def collected() -> dict[str, list[dict]]:
    """The index as the checks are now: collected, not run."""
    by_backend: dict[str, list[Path]] = {}
    for solution in lesson_files("solutions"):
        by_backend.setdefault(lesson_backend(solution), []).append(solution)
    found: dict[str, list[dict]] = {}
    for backend, solutions in by_backend.items():
        with tempfile.TemporaryDirectory() as scratch:
            listing = Path(scratch) / "checks.json"
            command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                       *(str(checks_file(solution)) for solution in solutions), "--target=solutions",
                       "-p", "shared.grading.plugin", f"--list-checks={listing}"]
            done = subprocess.run(command, cwd=ROOT, env=os.environ | {"KERAS_BACKEND": backend},
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"collecting the checks failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            found |= json.loads(listing.read_text())
    return {solution.stem: found.get(solution.stem, []) for solution in lesson_files("solutions")}


def text(index: dict[str, list[dict]]) -> str:
    """The index file's text: a line per check, so that a change to the checks reads as a small diff."""
    lessons = (f' "{lesson}": [\n' + ",\n".join(f"  {json.dumps(check)}" for check in checks) + "\n ]"
               for lesson, checks in index.items())
    return "{\n" + ",\n".join(lessons) + "\n}\n"


def checks_of(lesson: Path) -> list[dict]:
    """The checks of ``lesson`` (found by its file's name) as the index lists them; [] if it lists none."""
    if not INDEX.exists():
        return []
    return json.loads(INDEX.read_text(encoding="utf-8")).get(lesson.stem, [])
