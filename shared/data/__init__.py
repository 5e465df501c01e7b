"""The IMDB Large Movie Review Dataset (Maas et al., 2011): find it, fetch it, read it, split it.

Where the data comes from, first match wins:

1. the ``path`` argument of :func:`load_imdb`;
2. the ``IMDB_DATA_DIR`` environment variable;
3. the user cache (``~/.cache/imdb-course``, or ``IMDB_CACHE_DIR``);
4. a download of the official ``aclImdb_v1.tar.gz`` into that cache, checked against its sha256.

The string ``"tfds"``, as the path or ``IMDB_DATA_DIR``, asks for TensorFlow Datasets' ``imdb_reviews`` instead, as
TensorFlow's tutorials load it: tfds downloads the same official archive, checks it against the size and sha256 it
registers for it, and prepares its own records in the cache. Its reviews and labels are those of every other
source, but it keeps no file names, so they come without ratings or movies (both None), sorted by label then text.

A path may be an extracted ``aclImdb/`` folder (or a folder holding one), the ``.tar.gz`` archive (or the plain
``.tar`` some browsers save), or a folder with ``train.jsonl.gz`` and ``test.jsonl.gz`` (one
``{"id", "rating", "label", "movie", "text"}`` per line). Anything malformed in them raises :class:`DataError`
naming the file and line or the archive member, and saying how to fix it.

Every review also carries its movie, the IMDb title id (``"tt0453418"``): the ``movie`` key of a jsonl line, or, in
the tree and the archive, line *i* of ``<split>/urls_<pos|neg>.txt`` for review id *i* (the URL of its IMDb page).
Up to 30 reviews share a movie, so :func:`validation_split` holds out whole movies, as the official train/test
split does. A copy without movies still loads, with a warning, and its validation sets are drawn review by review.

One job a module: ``dataset`` (what the data is: the official archive, the types, the errors), ``locate`` (where
it is), ``download`` (fetching it), ``archive`` (recognising and extracting the archive safely), ``read``
(reading a copy), ``tfds`` (TensorFlow Datasets) and ``splits`` (validation splits and samples). This module
ties them into :func:`load_imdb` and names what lessons import: ``from shared.data import load_imdb``.
"""

from __future__ import annotations

import os
from pathlib import Path

from shared.data.archive import ARCHIVE_NAME, safe_extract
from shared.data.dataset import (LABEL_NAMES, LABELS, OFFICIAL_SHA256, OFFICIAL_SIZE, OFFICIAL_URL, SPLIT_SIZE, SPLITS,
                                 DataError, Imdb, NoMoviesWarning, Reviews)
from shared.data.download import download_imdb
from shared.data.locate import _HOW_TO_PROVIDE, default_cache_dir, locate_imdb
from shared.data.read import read_imdb
from shared.data.splits import stratified_sample, validation_indices, validation_method, validation_split
from shared.data.tfds import TFDS_NAME, TFDS_SOURCE, _asks_for_tfds, _read_tfds

__all__ = ["ARCHIVE_NAME", "LABELS", "LABEL_NAMES", "OFFICIAL_SHA256", "OFFICIAL_SIZE", "OFFICIAL_URL", "SPLITS",
           "SPLIT_SIZE", "TFDS_NAME", "TFDS_SOURCE", "DataError", "Imdb", "NoMoviesWarning", "Reviews",
           "default_cache_dir", "download_imdb", "load_imdb", "locate_imdb", "read_imdb", "safe_extract",
           "stratified_sample", "validation_indices", "validation_method", "validation_split"]


def load_imdb(
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    check_counts: bool = True,
) -> Imdb:
    """The official train and test splits, from the first source found, or from tfds if ``path`` is ``"tfds"``
    (see the module docstring)."""
    if _asks_for_tfds(path):
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        return _read_tfds(cache, download=download, check_counts=check_counts)
    source = locate_imdb(path, cache_dir=cache_dir)
    if source is None:
        if not download:
            cache = Path(cache_dir) if cache_dir else default_cache_dir()
            raise DataError(f"No IMDB data found: no path given, IMDB_DATA_DIR unset, nothing in {cache}.\n"
                            f"{_HOW_TO_PROVIDE}")
        source = download_imdb(cache_dir)
    return read_imdb(source, check_counts=check_counts)
