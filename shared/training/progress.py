"""Progress while a run works: Keras's ``verbose`` for fit and predict, and a progress bar for the loops Keras does
not show, each a bar with an ETA in a notebook or a terminal and one line per epoch or loop under CI, where every
redraw of a bar would be a line of log."""

from __future__ import annotations

import os
from collections.abc import Callable

import keras


def fit_verbosity() -> int:
    """Keras's ``verbose`` for a run's fit and predict: 1, a progress bar with an ETA, in a notebook or a terminal;
    2, one line per epoch, under CI (the CI variable set), where every redraw of a bar would be a line of log."""
    return 2 if os.environ.get("CI", "").lower() not in ("", "0", "false") else 1


def progress_bar(total: int, unit_name: str = "step") -> keras.utils.Progbar:
    """Keras's progress bar over ``total`` units, with an ETA; under CI one line when it is done."""
    return keras.utils.Progbar(total, verbose=fit_verbosity(), unit_name=unit_name)


def with_progress(predict: Callable, batches: int) -> Callable:
    """``predict`` (a model's ``predict_on_batch``) advancing a progress bar at each of ``batches`` calls: for the
    loops that predict batch by batch, where Keras shows no bar."""
    bar = progress_bar(batches, "batch")

    def predict_and_count(inputs):
        outputs = predict(inputs)
        bar.add(1)
        return outputs

    return predict_and_count
