"""How long grading a whole lesson takes: `./course grade --lesson N --target solutions`, lesson by lesson.

    python -m benchmarks.grade_time [--lessons 0 1 ...] [--checkout PATH] [--note "..."]

Every check of the lesson runs, on the reference solution, in a new process for each lesson, one lesson after
another: what a learner who has answered every exercise waits for. ``--checkout`` times another clone of the
course (an older commit, to compare) with its own checks. Appends one object to benchmarks/grade_time.json;
RESULTS.md shows the newest beside the first.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
from pathlib import Path

from benchmarks.cold_start import seconds_to_exit
from benchmarks.run import hardware
from shared.paths import ROOT
from shared.records import BENCHMARKS, append_record, source_commit

GRADE_TIME = BENCHMARKS / "grade_time.json"


def grade_seconds(checkout: Path, lessons: list[str]) -> dict[str, float]:
    """Each lesson's file name (its stem) -> seconds for its grade; a lesson whose checks fail is an error."""
    names = {path.stem[:2]: path.stem for path in sorted((checkout / "solutions").glob("[0-9][0-9]_*.py"))}
    if unknown := [lesson for lesson in lessons if lesson.zfill(2) not in names]:
        raise ValueError(f"no lesson {', '.join(unknown)} in {checkout / 'solutions'}")
    subprocess.run([str(checkout / "course"), "setup"], check=True, capture_output=True)  # pins installed: not timed
    return {names[lesson.zfill(2)]: round(seconds_to_exit(
        [str(checkout / "course"), "grade", "--lesson", lesson, "--target", "solutions"]), 1) for lesson in lessons}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grade_time", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", nargs="+", default=[str(n) for n in range(9)], help="lesson numbers")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the clone of the course to time")
    parser.add_argument("--note", help="conditions worth knowing beside the numbers (e.g. a shared CPU)")
    args = parser.parse_args(argv)
    if not (args.checkout / "course").is_file():
        parser.error(f"{args.checkout} holds no ./course: give a clone of the course")
    try:
        seconds = grade_seconds(args.checkout.resolve(), args.lessons)
    except (ValueError, RuntimeError) as error:
        parser.error(str(error))
    record = {"seconds": seconds, "hardware": hardware(), "note": args.note, "commit": source_commit(args.checkout),
              "command": "python -m benchmarks.grade_time",
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    append_record(record, GRADE_TIME)
    print(json.dumps(seconds))
    from benchmarks.report import render_all

    render_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
