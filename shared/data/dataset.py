"""What the IMDB data is: the official archive and splits, the types a split is read into, the errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
OFFICIAL_SIZE = 84_125_825
SPLITS = ("train", "test")
SPLIT_SIZE = 25_000  # official size of each split, half positive, half negative
LABELS = {"neg": 0, "pos": 1}
LABEL_NAMES = {value: name for name, value in LABELS.items()}


class DataError(RuntimeError):
    """The IMDB data is missing, damaged or not what it should be; the message says how to fix it."""


class NoMoviesWarning(UserWarning):
    """The copy names no movies, so validation sets are drawn review by review."""


@dataclass(frozen=True)
class Reviews:
    """One split: review texts with their labels (1 = positive), star ratings (1-10, or None from tfds, which keeps
    none) and movies (IMDb title ids such as ``"tt0453418"``, or None when the source names no movies)."""

    texts: list[str]
    labels: np.ndarray
    ratings: np.ndarray | None
    movies: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: np.ndarray) -> Reviews:
        """The reviews at ``indices``, in that order."""
        ratings = None if self.ratings is None else self.ratings[indices]
        movies = None if self.movies is None else self.movies[indices]
        return Reviews([self.texts[i] for i in indices], self.labels[indices], ratings, movies)


@dataclass(frozen=True)
class Imdb:
    train: Reviews
    test: Reviews
