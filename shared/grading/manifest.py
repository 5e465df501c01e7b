"""The sha256 of every file that judges a lesson: the checks, their fixtures, the known-wrong list, the grader.

``python -m shared.grading.generate`` writes ``shared/grading/checks.sha256`` beside the lessons it generates
(and ``--check``, in the course's CI, says when it is stale); ``./course grade`` compares the files with it
before anything runs and refuses a changed one, naming the command that restores it. A grade then means
the course's checks passed, not checks edited to pass.
"""

from __future__ import annotations

from pathlib import Path

from shared.digest import sha256_of
from shared.paths import ROOT

MANIFEST = ROOT / "shared" / "grading" / "checks.sha256"
JUDGES = ("tests/conftest.py", "tests/lessons/*.py", "tests/lessons/*.json", "tests/known_wrong/*.py",
          "shared/grading/*.py")


def judged_files(root: Path = ROOT) -> list[Path]:
    return sorted({path for pattern in JUDGES for path in root.glob(pattern)})


def expected_manifest(root: Path = ROOT) -> str:
    """The manifest's text: "sha256  path" per file, as sha256sum writes it (``sha256sum -c`` reads it)."""
    return "".join(f"{sha256_of(path)}  {path.relative_to(root).as_posix()}\n" for path in judged_files(root))


def changed_files(root: Path = ROOT, manifest: Path = MANIFEST) -> list[str]:
    """The judging files that differ from the manifest, were added, or are missing."""
    if not manifest.exists():
        return [manifest.relative_to(root).as_posix()]
    recorded = {name: digest for digest, name in (line.split("  ", 1) for line in manifest.read_text().splitlines())}
    present = {path.relative_to(root).as_posix(): path for path in judged_files(root)}
    return sorted(name for name in recorded.keys() | present.keys()
                  if name not in present or name not in recorded or sha256_of(present[name]) != recorded[name])
