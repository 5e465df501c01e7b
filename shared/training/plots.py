"""Learning curves: a run's loss and accuracy per epoch, training beside validation, drawn side by side and saved
as a PNG (shown inline in a notebook), so that a learner sees where a model starts to overfit."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import matplotlib.pyplot as plt

from shared.figures import show_and_save


def plot_history(history: keras.callbacks.History | dict, path: str | os.PathLike, title: str = "") -> Path:
    """Plot loss and accuracy, training against validation, per epoch; write a PNG to ``path`` (and show it, in
    a notebook)."""
    curves = history.history if hasattr(history, "history") else history
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "o-"), ("val_", "s--")):
            if prefix + metric in curves:
                values = curves[prefix + metric]
                axis.plot(range(1, len(values) + 1), values, style, label=(prefix or "train_") + metric)
        axis.set(xlabel="epoch", ylabel=metric, title=f"{title} {metric}".strip())
        axis.grid(alpha=0.3)
        axis.legend()
    show_and_save(figure, path)
    return Path(path)
