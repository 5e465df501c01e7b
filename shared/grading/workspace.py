"""Where graded code runs: a disposable copy of the course, a process group the grader ends, and a check that
the repository came out of the grade as it went in.

A learner's answer is code, and code can delete files, rewrite the checks for the next grade, or leave a child
process behind that holds the grader's output open. The checks run in a copy of the folders grading needs
(the learner's code writes there, and the copy is thrown away), in a session of their own whose every process
is killed when the checks end, and the repository's files are compared before and after.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

COPIED = ("shared", "tests", "solutions", "lessons", "benchmarks", "pyproject.toml", "README.md")
_SKIPPED = {".git", "__pycache__", "artifacts", ".hypothesis", ".pytest_cache", ".ipynb_checkpoints",
            "node_modules", "test-artifacts", "_build", "site"}


def working_copy(folder: Path, root: Path | None = None) -> Path:
    """``folder`` holding a copy of what grading needs from ``root`` (the repository): returns ``folder``."""
    from shared.paths import ROOT

    root = root or ROOT
    folder.mkdir(parents=True)
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns(*_SKIPPED, "*.pyc"))
        elif source.exists():
            shutil.copy2(source, folder / name)
    return folder


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Each file of ``root`` but environments, caches and artifacts, by path: its size and modification time."""
    found = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in _SKIPPED and not name.startswith(".venv")
                         and not name.endswith(".egg-info")]
        for name in files:
            path = Path(folder) / name
            try:
                status = path.lstat()
            except OSError:  # gone between the listing and now
                continue
            found[path.relative_to(root).as_posix()] = (status.st_size, status.st_mtime_ns)
    return found


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """What differs between two snapshots, one phrase per file: "README.md deleted", "x.py written"."""
    return ([f"{path} deleted" for path in sorted(before.keys() - after.keys())]
            + [f"{path} added" for path in sorted(after.keys() - before.keys())]
            + [f"{path} written" for path in sorted(before.keys() & after.keys()) if before[path] != after[path]])


def run_group(command: list[str], cwd: Path, environment: dict[str, str], seconds: float) -> tuple[int | None, str]:
    """Run ``command`` in a session of its own; when it ends or runs out of ``seconds``, kill every process of
    that session. Returns the exit status (None past the limit) and the output. The output goes to a file, not
    a pipe: a child left behind holding a pipe would keep the grader waiting for its end."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as output:
        process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            returncode: int | None = process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):  # every process of the group has ended already
                pass
            process.wait()
        output.seek(0)
        return returncode, output.read()
