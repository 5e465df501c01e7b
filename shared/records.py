"""The benchmark records: the runs ``benchmarks/`` measured, and the predictions each training run saved.

``benchmarks/results.json`` holds one object per run of a track (``python -m benchmarks.run``); beside it,
``predictions/`` holds each run's probability of "positive" for every validation and test review, so that
lesson 8 and the ensembles analyse the models without training them again. The other benchmarks keep lists
of their own there (``throughput.json``, ``mutation.json``, ...). Whoever reads or writes them, the benchmarks
or lesson 8, does it here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from shared.data import Imdb, validation_indices
from shared.paths import ROOT

BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results.json"
PREDICTIONS = BENCHMARKS / "predictions"


def read_records(path: Path = RESULTS) -> list[dict]:
    """The objects of one benchmark's list, oldest first; none if it never ran."""
    return json.loads(path.read_text()) if path.exists() else []


def append_record(record: dict, path: Path = RESULTS) -> None:
    """Add one run's object to the end of its benchmark's list, with the commit of the code that measured it
    (this checkout's, unless the record names one: a run that timed another clone)."""
    path.write_text(json.dumps([*read_records(path), {"commit": source_commit(), **record}], indent=1) + "\n")


def source_commit(checkout: Path | None = None) -> str | None:
    """The commit (short) of the course, or of another clone of it, with "+changes" if tracked files differ from
    it (the records and saved predictions aside: a run writes them); None outside a git checkout."""
    def git(*arguments: str) -> str:
        return subprocess.run(["git", "-C", str(checkout or ROOT), *arguments], capture_output=True, text=True,
                              check=True, timeout=30).stdout.strip()
    try:
        head = git("rev-parse", "--short=12", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks/*.json",
                      ":(exclude)benchmarks/predictions", ":(exclude)benchmarks/RESULTS.md")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+changes" if changed else head


def save_predictions(probabilities: dict[str, np.ndarray], imdb: Imdb, run: str, folder: Path = PREDICTIONS) -> dict:
    """Save a run's probabilities of "positive" on the validation split (``validation_split(imdb.train)``, the
    split every lesson validates on) and on the test split, as float16. Returns the fields the run's record
    gains: the file, relative to the records, and the validation accuracy on the whole split."""
    held_out = validation_indices(imdb.train)[1]
    if (len(probabilities["validation"]), len(probabilities["test"])) != (len(held_out), len(imdb.test)):
        raise ValueError(f"expected {len(held_out)} validation and {len(imdb.test)} test probabilities, got "
                         f"{len(probabilities['validation'])} and {len(probabilities['test'])}.")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run.replace(':', '')}.npz"
    np.savez_compressed(path, validation_index=held_out.astype(np.int32),
                        validation=np.asarray(probabilities["validation"], np.float16),
                        test=np.asarray(probabilities["test"], np.float16))
    accuracy = np.mean((np.asarray(probabilities["validation"]) > 0.5) == imdb.train.labels[held_out])
    return {"predictions": path.relative_to(folder.parent).as_posix(), "validation_accuracy": float(accuracy)}


def newest_with_predictions(records: list[dict]) -> dict[str, dict]:
    """``"track/config"`` -> the newest of its runs that saved predictions."""
    return {f"{record['track']}/{record['config']}": record for record in records if record.get("predictions")}


def load_predictions(record: dict, imdb: Imdb, folder: Path = BENCHMARKS) -> tuple[np.ndarray, np.ndarray]:
    """A run's saved probabilities on the validation and the test reviews, as float64; an error that names the
    command to run again if the file is missing or was saved for another validation split."""
    path = folder / record["predictions"]
    name = f"{record['track']}/{record['config']}"
    if not path.is_file():
        raise FileNotFoundError(f"{path} holds {name}'s saved predictions and is missing: run it again "
                                f"({record['command']})")
    saved = np.load(path)
    if not np.array_equal(saved["validation_index"], validation_indices(imdb.train)[1]):
        raise ValueError(f"{name}'s validation reviews are not this data's validation split: run it again "
                         f"({record['command']})")
    return saved["validation"].astype(np.float64), saved["test"].astype(np.float64)
