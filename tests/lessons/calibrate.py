"""Calibrate the thresholds of the graded checks that measure an accuracy after a short training run.

Each such check module names its measurement in ``CALIBRATED = {"N.M name": function}``, a function of
``(lesson, imdb, seed, workdir)`` that returns the accuracy. The check runs it with seed 0 (the seed also
draws the data subsets and their order); this script runs the reference solution with seeds 0..N-1 and
writes, per measurement, every accuracy, their mean, standard deviation and minimum, and the threshold
that follows: ``floor(min(mean - 3.5 sd, minimum - 0.01), 2 decimals)``. A correct solution then passes
essentially always: none of the calibration runs fails, and the threshold is 3.5 standard deviations
below the mean.

    python tests/lessons/calibrate.py --lesson 3 [--seeds 10]

Run it with the lesson's backend (the script sets it) and the real data (IMDB_DATA_DIR).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CALIBRATION = HERE / "calibration.json"
TABLE = HERE / "CALIBRATION.md"
SIGMAS = 3.5


def threshold_from(accuracies: list[float]) -> dict:
    """The summary of one measurement's calibration runs and the threshold that follows from it."""
    accuracies = [round(a, 4) for a in accuracies]  # the table keeps 4 decimals: compute from what it keeps
    mean = sum(accuracies) / len(accuracies)
    sd = math.sqrt(sum((a - mean) ** 2 for a in accuracies) / (len(accuracies) - 1))
    threshold = math.floor(100 * min(mean - SIGMAS * sd, min(accuracies) - 0.01)) / 100
    return {"accuracies": accuracies, "mean": round(mean, 4), "sd": round(sd, 4),
            "min": round(min(accuracies), 4), "threshold": threshold}


def render(table: dict) -> str:
    lines = ["# Calibration of the accuracy checks",
             "",
             "Written by `python tests/lessons/calibrate.py --lesson N` on the reference solutions: each check's",
             "measurement over seeds (which also draw the data subsets and their order). Threshold =",
             f"floor(min(mean - {SIGMAS} sd, minimum - 0.01)); the checks read it from `calibration.json`.",
             "",
             "| check | runs | mean | sd | minimum | threshold |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, row in sorted(table.items()):
        lines.append(f"| {name} | {len(row['accuracies'])} | {row['mean']:.3f} | {row['sd']:.3f} | {row['min']:.3f} "
                     f"| {row['threshold']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lesson", required=True, help="the lesson number, e.g. 3")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT), str(HERE)]
    from shared.grading.lessons import find_lesson, lesson_backend

    solution = find_lesson(args.lesson, "solutions")
    os.environ["KERAS_BACKEND"] = lesson_backend(solution)
    if os.environ["KERAS_BACKEND"] == "torch":  # one thread, as the checks run (tests/lessons/conftest.py)
        import torch

        torch.set_num_threads(1)
    from shared.data import load_imdb
    from shared.grading.lessons import import_lesson

    spec = importlib.util.spec_from_file_location("checks", HERE / f"test_{solution.stem}.py")
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    lesson, imdb = import_lesson(solution), load_imdb()
    for name, measure in checks.CALIBRATED.items():
        accuracies = []
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as workdir:
                accuracies.append(float(measure(lesson, imdb, seed, Path(workdir))))
            print(f"{name} seed {seed}: {accuracies[-1]:.4f}", flush=True)
        table = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else {}  # read late: others write too
        table[name] = threshold_from(accuracies)
        print(name, table[name], flush=True)
        CALIBRATION.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
        TABLE.write_text(render(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
