"""Timing a step of a run: the seconds a ``with`` block took, measured on the monotonic performance clock, for the
training and prediction times a run reports."""

from __future__ import annotations

import time


class Timer:
    """The seconds a ``with`` block took: ``with Timer() as fitting: model.fit(...)``, then ``fitting.seconds``."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exception) -> None:
        self.seconds = time.perf_counter() - self.started
