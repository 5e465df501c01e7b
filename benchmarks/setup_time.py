"""How long a first set-up takes and how much it installs: `./course setup` in a fresh clone, uv's cache empty.

    git clone . ../fresh && python -m benchmarks.setup_time --checkout ../fresh [--python python3.12] [--note "..."]

The clone's ``./course setup`` runs as a student's first command does (with PYTHON set when ``--python`` is
given), with an empty, temporary uv cache, so that every package is downloaded or taken from where pip is told
to find wheels (PIP_FIND_LINKS), as on the student's machine. Appends one object to benchmarks/setup_time.json:
the seconds, the size of the environment, the Python and the PyTorch build it chose, and what set-up said.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.run import hardware
from shared.records import BENCHMARKS, append_record, source_commit

SETUP_TIME = BENCHMARKS / "setup_time.json"


def size_in_gigabytes(folder: Path) -> float:
    """The bytes of the files under ``folder`` (links not followed), in GB (10**9)."""
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink()) / 1e9


def timed_setup(checkout: Path, python: str | None) -> dict:
    """`./course setup` in ``checkout``, which must not hold an environment yet: seconds, size, what it chose."""
    if (checkout / ".venv").exists():
        raise ValueError(f"{checkout / '.venv'} exists already: give a fresh clone")
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "UV_CACHE_DIR": cache, **({"PYTHON": python} if python else {})}
        environment.pop("COURSE_VENV", None)
        started = time.perf_counter()
        done = subprocess.run([str(checkout / "course"), "setup"], env=environment, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"./course setup failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    versions = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-c", "import platform; from importlib."
                               "metadata import version; print(platform.python_version(), version('torch'))"],
                              capture_output=True, text=True, check=True).stdout.split()
    return {"seconds": round(seconds, 1), "venv_gigabytes": round(size_in_gigabytes(checkout / ".venv"), 2),
            "python": versions[0], "torch": versions[1], "said": done.stderr.strip().splitlines()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.setup_time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", type=Path, required=True, help="a fresh clone of the course")
    parser.add_argument("--python", help="the Python set-up is given (PYTHON=...); by default the one it finds")
    parser.add_argument("--note", help="conditions worth knowing beside the numbers (e.g. a shared CPU)")
    args = parser.parse_args(argv)
    if not (args.checkout / "course").is_file():
        parser.error(f"{args.checkout} holds no ./course: give a clone of the course")
    try:
        measured = timed_setup(args.checkout.resolve(), args.python)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    record = {**measured, "pip_find_links": bool(os.environ.get("PIP_FIND_LINKS")), "hardware": hardware(),
              "note": args.note, "commit": source_commit(args.checkout),
              "command": "python -m benchmarks.setup_time --checkout <a fresh clone>",
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    append_record(record, SETUP_TIME)
    print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
