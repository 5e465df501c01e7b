"""What every training run needs: seeds, curve plots, and a look at the machine it ran on."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")  # no screen needed: curves are written to PNG
import matplotlib.pyplot as plt  # noqa: E402


def plot_history(history: keras.callbacks.History | dict, path: str | os.PathLike, title: str = "") -> Path:
    """Plot loss and accuracy, training against validation, per epoch; write a PNG to ``path``."""
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
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
