"""Validation splits, held out by movie where the copy names movies, and stratified samples."""

from __future__ import annotations

import numpy as np

from shared.data.dataset import DataError, Reviews


def _stratified_indices(labels: np.ndarray, size: float | int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    rest, picked = train_test_split(np.arange(len(labels)), test_size=size, stratify=labels, random_state=seed)
    return np.sort(rest), np.sort(picked)


def _grouped_indices(labels: np.ndarray, movies: np.ndarray, fraction: float, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """One fold of round(1 / fraction) folds that are stratified by label and keep each movie in one fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    folds = round(1 / fraction) if 0 < fraction <= 0.5 else 0
    if folds < 2:
        raise ValueError(f"fraction must lie between 0 and 0.5 to hold out whole movies, not {fraction}.")
    if (count := len(np.unique(movies))) < folds:
        raise ValueError(f"{len(labels)} reviews of {count} movies cannot hold out 1/{folds} of the movies: "
                         'use more reviews, a larger fraction, or by="review".')
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    keep, held_out = next(splitter.split(np.zeros((len(labels), 1)), labels, groups=movies))
    return np.sort(keep), np.sort(held_out)


def _split_by(reviews: Reviews, by: str | None) -> str:
    if by is None:  # the default: by movie whenever the reviews know their movies
        return "review" if reviews.movies is None else "movie"
    if by not in ("movie", "review"):
        raise ValueError(f'by must be "movie", "review" or None, not {by!r}.')
    if by == "movie" and reviews.movies is None:
        raise DataError('These reviews name no movies, so they cannot be split by movie. Load a copy that names '
                        "them (the official aclImdb_v1.tar.gz or the course's jsonl copy), or pass by=\"review\".")
    return by


def validation_method(reviews: Reviews, by: str | None = None) -> str:
    """``"by movie"`` or ``"by review"``: how ``validation_split(reviews, by=by)`` draws its validation set, for
    benchmark records. Raises as validation_split would for a ``by`` it cannot honour."""
    return f"by {_split_by(reviews, by)}"


def validation_split(
    reviews: Reviews, fraction: float = 0.1, seed: int = 0, *, by: str | None = None
) -> tuple[Reviews, Reviews]:
    """Carve a validation set stratified by label out of ``reviews``; the same seed gives the same split.

    ``by="movie"`` holds out whole movies, as the official train/test split does, so no movie is on both sides;
    the share held out is then about 1 / round(1 / fraction) (10% for 0.1). ``by="review"`` draws review by
    review, exactly ``fraction``, and flatters validation accuracy as reviews of one movie land on both sides.
    The default, None, splits by movie when the reviews name their movies and by review otherwise (the load
    warned about it); see :func:`validation_method`.
    """
    keep, held_out = validation_indices(reviews, fraction, seed, by=by)
    return reviews.take(keep), reviews.take(held_out)


def validation_indices(
    reviews: Reviews, fraction: float = 0.1, seed: int = 0, *, by: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The sorted positions in ``reviews`` of the two parts :func:`validation_split` returns."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(f"fraction is the share of the reviews held out, between 0 and 1 (0.1 holds out 10%), "
                         f"not {fraction!r}.")
    if _split_by(reviews, by) == "movie":
        return _grouped_indices(reviews.labels, reviews.movies, fraction, seed)
    return _stratified_indices(reviews.labels, fraction, seed)


def stratified_sample(reviews: Reviews, size: int, seed: int = 0) -> Reviews:
    """``size`` reviews with the labels in the same proportion, drawn with ``seed`` (for quick runs)."""
    labels = len(np.unique(reviews.labels))
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < labels:
        raise ValueError(f"size is a number of reviews, at least {labels} (one of each label), not {size!r}.")
    if size >= len(reviews):
        return reviews
    return reviews.take(_stratified_indices(reviews.labels, size, seed)[1])
