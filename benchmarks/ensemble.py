"""The ensemble track: lesson 8's ways of combining saved predictions, run on the newest saved runs and recorded.

    python -m benchmarks.run --track ensemble                  # every configuration below
    python -m benchmarks.run --track ensemble --config stack   # one

An ensemble trains nothing: it combines the probabilities its members saved (``shared.records``), fitted on
the validation reviews alone, and its training time is its members' added up plus its fitting. The validation
probabilities it saves are out of fold: each fifth of the validation reviews (whole movies) is predicted by an
ensemble fitted on the other four, so the validation accuracy beside the run is not measured on the reviews
its weights were fitted on.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from shared.data import Imdb, validation_indices
from shared.lessons.error_analysis import (WITHIN_TWO_HOURS, Labels, Run, accuracy, combine,
                                           expected_calibration_error, labels_of, load_runs)

CONFIGS = {
    "stack": {"members": WITHIN_TWO_HOURS, "combine": "stack"},
    "stack-nonnegative": {"members": WITHIN_TWO_HOURS, "combine": "stack-nonnegative"},
    "mean": {"members": WITHIN_TWO_HOURS, "combine": "mean"},
    "nbsvm+finetune": {"members": ["classical/nbsvm", "finetune/windows-full"], "combine": "stack"},
    "nbsvm+lstm": {"members": ["classical/nbsvm", "lstm/quick"], "combine": "stack"},  # n-grams and word order
}


def out_of_fold(runs: list[Run], labels: Labels, method: str, movies: np.ndarray, folds: int = 5) -> np.ndarray:
    """The ensemble's validation probabilities, each fold (whole movies) predicted by an ensemble fitted on the
    others: the fold plays the part of the test reviews."""
    found = np.zeros(len(labels.validation))
    for fit_rows, predict_rows in GroupKFold(folds).split(movies, groups=movies):
        fold_runs = [Run(run.name, run.validation[fit_rows], run.validation[predict_rows]) for run in runs]
        fold_labels = Labels(labels.validation[fit_rows], labels.validation[predict_rows])
        found[predict_rows] = combine(fold_runs, fold_labels, method)[0].test
    return found


def run_experiment(imdb: Imdb, config: dict) -> dict:
    """Combine the newest saved predictions of the configuration's members; fit on validation, test once."""
    runs, labels = load_runs(imdb, config["members"]), labels_of(imdb)
    if len(runs) < 2:
        raise ValueError(f"an ensemble needs two runs with saved predictions, found {[run.name for run in runs]}")
    started = time.perf_counter()
    ensemble, fitted = combine(runs, labels, config["combine"])
    fit_seconds = time.perf_counter() - started
    movies = imdb.train.movies[validation_indices(imdb.train)[1]]
    # Members run one after another on each review: their times per review add up.
    seconds_per_review = sum(1 / run.record["infer_reviews_per_s"] for run in runs)
    return {"test_accuracy": accuracy(labels.test, ensemble.test),
            "train_seconds": sum(run.record["train_seconds"] for run in runs) + fit_seconds,
            "fit_seconds": fit_seconds, "infer_reviews_per_s": 1 / seconds_per_review,
            "members": [{"run": run.name, "predictions": run.record["predictions"], "date": run.record["date"],
                         "test_accuracy": run.record["test_accuracy"], "train_seconds": run.record["train_seconds"]}
                        for run in runs],
            **fitted, "test_ece": expected_calibration_error(labels.test, ensemble.test),
            "test_auc": float(roc_auc_score(labels.test, ensemble.test)),
            "probabilities": {"validation": out_of_fold(runs, labels, config["combine"], movies),
                              "test": ensemble.test}}
