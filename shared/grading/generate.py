"""Write the exercises (``lessons/``) from the reference solutions (``solutions/``), the one source.

Each block between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` becomes its ``# HINT:`` lines (if any) and
``raise NotImplementedError("Exercise N.M: <title>")``, where N.M and the title come from the nearest
``## Exercise N.M — title`` heading above it. Everything else is copied unchanged. The cells tagged ``save``
are exported, answers included, into ``shared/lessons/`` (``shared.grading.export``). The list of the checks
(``tests/lessons/checks.json``, ``shared.grading.checks_index``) and the checks' sha256 are written last.

    python -m shared.grading.generate          # write lessons/ and shared/lessons/
    python -m shared.grading.generate --check  # exit 1 if either is out of date
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path

from shared.grading import checks_index, export, manifest
from shared.grading.lessons import ROOT, lesson_files

BEGIN, END, HINT = "# BEGIN SOLUTION", "# END SOLUTION", "# HINT:"
HEADING = re.compile(r"^# ## Exercise (\d+\.\d+)\s*[—:-]\s*(.+?)\s*$", re.MULTILINE)


class MarkerError(ValueError):
    """A solution file's markers are malformed; the message names the file and line."""


def make_exercise(source: str, name: str = "<solution>") -> str:
    """The exercise version of one solution file's text."""
    output: list[str] = []
    exercise = None
    block_start = None
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        stripped = line.strip()
        if heading := HEADING.match(line):
            exercise = f"Exercise {heading[1]}: {heading[2]}"
        if stripped.startswith(BEGIN):
            if block_start is not None:
                raise MarkerError(f"{name}:{number}: {BEGIN} inside the block opened at line {block_start}")
            indent = line[: len(line) - len(line.lstrip())]
            if not indent:
                raise MarkerError(f"{name}:{number}: a solution block must sit inside a function, or the "
                                  "exercise file would not import")
            if exercise is None:
                raise MarkerError(f"{name}:{number}: no '## Exercise N.M — title' heading above this block")
            block_start = number
        elif stripped.startswith(END):
            if block_start is None:
                raise MarkerError(f"{name}:{number}: {END} without {BEGIN}")
            output.append(f"{indent}raise NotImplementedError({json.dumps(exercise, ensure_ascii=False)})\n")
            block_start = None
        elif block_start is None:
            output.append(line)
        elif stripped.startswith(HINT):
            output.append(line)
    if block_start is not None:
        raise MarkerError(f"{name}:{block_start}: {BEGIN} is never closed")
    return "".join(output)


@functools.lru_cache(maxsize=16)
def course_cells(name: str) -> frozenset[str] | None:
    """The code cells the course wrote for lesson ``name`` (its solution's and its exercise's), stripped: a cell
    of a learner's lesson that is neither is the learner's own. None for a lesson the course does not have."""
    import jupytext  # the grade extra, as for import_lesson

    solution = ROOT / "solutions" / name
    if not solution.exists():
        return None
    text = solution.read_text(encoding="utf-8")
    return frozenset(cell.source.strip() for version in (text, make_exercise(text, name))
                     for cell in jupytext.reads(version, fmt="py:percent").cells if cell.cell_type == "code")


def expected_lessons() -> dict[Path, str]:
    """Each lesson file as the generator would write it."""
    return {ROOT / "lessons" / path.name: make_exercise(path.read_text(encoding="utf-8"), str(path.name))
            for path in lesson_files("solutions")}


def stale_lessons() -> list[str]:
    """Lesson files that differ from what the solutions generate, or should not exist."""
    expected = expected_lessons()
    stale = [path.name for path, text in expected.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    return stale + [path.name for path in lesson_files("lessons") if path not in expected]


def stale_exports() -> list[str]:
    """Exported modules that differ from what the solutions' saved cells generate, or should not exist."""
    expected = export.expected_modules()
    present = set(export.PACKAGE.glob("*.py"))
    return sorted(path.relative_to(ROOT).as_posix() for path in expected.keys() | present
                  if path not in expected or not path.exists() or path.read_text(encoding="utf-8") != expected[path])


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that lessons/ is up to date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_lessons()
        if stale:
            print(f"lessons/ is out of date ({', '.join(stale)}): run python -m shared.grading.generate")
        if exports := stale_exports():
            print(f"shared/lessons/ is out of date ({', '.join(exports)}): run python -m shared.grading.generate")
        if index := (checks_index.text(checks_index.collected()) != _read(checks_index.INDEX)):
            print(f"{checks_index.INDEX.name} is out of date: run python -m shared.grading.generate")
        if changed := manifest.changed_files():
            print(f"{manifest.MANIFEST.name} is out of date ({', '.join(changed)}): run python -m shared.grading.generate")
        return int(bool(stale or exports or index or changed))
    expected = expected_lessons()
    for path in lesson_files("lessons"):
        if path not in expected:
            path.unlink()
    for path, text in expected.items():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    modules = export.expected_modules()
    for path in set(export.PACKAGE.glob("*.py")) - modules.keys():
        path.unlink()
    export.PACKAGE.mkdir(exist_ok=True)
    for path, text in modules.items():
        path.write_text(text, encoding="utf-8")
    checks_index.INDEX.write_text(checks_index.text(checks_index.collected()), encoding="utf-8")
    manifest.MANIFEST.write_text(manifest.expected_manifest())
    print(f"wrote {len(expected)} exercise files to lessons/, {len(modules) - 1} modules to shared/lessons/, the list of the checks to "
          f"{checks_index.INDEX.name} and their sha256 to {manifest.MANIFEST.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
