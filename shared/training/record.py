"""A run's record: what a lesson's ``run_experiment`` returns for ``python -m benchmarks.run`` to record (test
accuracy, training time, prediction speed, the curve of validation accuracy against minutes of training and each
review's probabilities), built from the fit's history and the times measured around it."""

from __future__ import annotations

import keras
import numpy as np


def run_record(history: keras.callbacks.History, fit_seconds: float, predict_seconds: float, predicted: int,
               test_accuracy: float, probabilities: dict[str, np.ndarray], prepare_seconds: float = 0.0,
               **extra) -> dict:
    """What a lesson's ``run_experiment`` returns for ``python -m benchmarks.run`` to record: the test accuracy, the
    training time (``prepare_seconds``, such as embedding before the fit, plus ``fit_seconds``), reviews
    predicted per second, the curve of validation accuracy against minutes of training (every epoch taken as
    long as the mean) and each review's probability of "positive" on the validation and test splits; then
    ``extra``, the lesson's own measures."""
    accuracies = history.history["val_accuracy"]
    curve = [[(prepare_seconds + fit_seconds * epoch / len(accuracies)) / 60, accuracy]
             for epoch, accuracy in enumerate(accuracies, 1)]
    return {"test_accuracy": float(test_accuracy), "train_seconds": prepare_seconds + fit_seconds,
            "infer_reviews_per_s": predicted / predict_seconds, "curve": curve, "probabilities": probabilities,
            **extra}
