"""Figures that every run saves as PNG and a notebook also shows below the cell.

matplotlib picks its backend: Jupyter's inline one in a notebook, Agg when there is no display (a script on
a server, CI). Saving never depends on it.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt


def show_and_save(figure: plt.Figure, path: str | os.PathLike, dpi: int = 100) -> None:
    """Write ``figure`` to ``path`` as a PNG, then show it where figures are shown as they come (a notebook, an
    interactive session); elsewhere (a script) close it, so a run never waits on a window nor piles up figures.
    It returns nothing, so that a notebook cell ending with it shows the figure and no path below it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    if plt.isinteractive():
        plt.show()
    else:
        plt.close(figure)
