"""How long the course's own tests take as CI runs them: `.ci/run` in a fresh clone (the set-up, the whole suite
on the first Python it finds, the fast tests again on the newest), timed from outside.

    git clone . ../fresh && CI=true python -m benchmarks.suite_time --checkout ../fresh [--note "..."]

The clone needs the IMDB data where `.ci/run` points IMDB_DATA_DIR. Appends one object to
benchmarks/suite_time.json here: the commit, each pytest run's tests passed and minutes, the whole run's minutes,
the machine; RESULTS.md shows the newest, and the README's row for `./course test` points there.
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.run import hardware
from shared.records import BENCHMARKS, append_record

SUITE_TIME = BENCHMARKS / "suite_time.json"
SUMMARY = re.compile(r"^=+ (\d+) passed.*? in ([\d.]+)s", re.MULTILINE)  # pytest's last line


def runs_of(output: str) -> list[dict]:
    """Each pytest run of ``output``: its tests passed and its minutes."""
    return [{"passed": int(passed), "minutes": round(float(seconds) / 60, 1)}
            for passed, seconds in SUMMARY.findall(output)]


def timed_ci(checkout: Path) -> tuple[int, str, float]:
    """`.ci/run` in ``checkout``, its output shown as it comes: the exit status, the output, the minutes."""
    start, lines = time.monotonic(), []
    with subprocess.Popen([str(checkout / ".ci" / "run")], cwd=checkout, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            lines.append(line)
    return process.returncode, "".join(lines), (time.monotonic() - start) / 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite_time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", type=Path, required=True, help="a fresh clone of the commit to time")
    parser.add_argument("--note", help="conditions worth knowing beside the numbers (e.g. a shared CPU)")
    args = parser.parse_args(argv)
    if not (args.checkout / ".ci" / "run").is_file():
        parser.error(f"{args.checkout} holds no .ci/run: give a clone of the course")
    commit = subprocess.run(["git", "-C", str(args.checkout), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    status, output, minutes = timed_ci(args.checkout.resolve())
    if status != 0:
        print(f"\n.ci/run failed (exit {status}): nothing recorded", file=sys.stderr)
        return status
    record = {"commit": commit, "runs": runs_of(output), "minutes": round(minutes, 1), "hardware": hardware(),
              "note": args.note, "command": "CI=true python -m benchmarks.suite_time --checkout <a fresh clone>",
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    append_record(record, SUITE_TIME)
    from benchmarks.report import render_all

    render_all()
    print(f"{minutes:.1f} min in all; " + "; ".join(f"{run['passed']} passed in {run['minutes']} min"
                                                  for run in record["runs"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
