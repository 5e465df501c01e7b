"""The same splits through TensorFlow Datasets' ``imdb_reviews``, as TensorFlow's tutorials load them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shared.data.dataset import DataError, Imdb, Reviews, SPLITS
from shared.data.download import _download_workspace
from shared.data.locate import _HOW_TO_PROVIDE
from shared.data.read import _check_counts, _warn_no_movies


if TYPE_CHECKING:
    from tensorflow_datasets.core import DatasetBuilder
TFDS_SOURCE = "tfds"  # as the path or IMDB_DATA_DIR: read through TensorFlow Datasets; a folder so named is "./tfds"
TFDS_NAME = "imdb_reviews"  # the tfds dataset of TensorFlow's tutorials, prepared from the official archive


def _asks_for_tfds(path: str | os.PathLike | None) -> bool:
    """Whether the path argument, or without one IMDB_DATA_DIR, is the string "tfds"."""
    given = path if path else os.environ.get("IMDB_DATA_DIR")
    return isinstance(given, str) and given == TFDS_SOURCE


def _prepare_tfds(builder: DatasetBuilder, cache: Path, download: bool) -> None:
    """Have tfds download the official archive, check it and write its records, unless it did so before.

    The archive goes to a temporary folder: the records are all that is read later, and a failed download then
    leaves nothing behind."""
    if builder.is_prepared():
        return
    if not download:
        raise DataError(f"TensorFlow Datasets has not prepared {TFDS_NAME} in {builder.data_dir_root} yet. Load it "
                        "once with download=True (it downloads the official archive, 84 MB), or use another source."
                        f"\n{_HOW_TO_PROVIDE}")
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    # no GCS: tfds would fetch its own prepared copy from there instead of the official archive it checks
    config = tfds.download.DownloadConfig(try_download_gcs=False)
    with _download_workspace(cache) as work:
        try:
            builder.download_and_prepare(download_dir=work, download_config=config)
        except NonMatchingChecksumError as error:
            found = "; ".join(line[2:] for line in str(error).splitlines() if line.startswith("* "))  # Expected, Got
            raise DataError(f"The archive TensorFlow Datasets downloaded for {TFDS_NAME} does not have the size and "
                            f"sha256 it registers for it ({found}). It is damaged or not the official file; nothing "
                            "was kept. Try again, or use another source.") from error
        except (OSError, tfds.download.DownloadError) as error:  # requests' errors are OSErrors
            raise DataError(f"TensorFlow Datasets could not download {TFDS_NAME}: {error}\nNothing was kept in "
                            f"{cache}. Try again, or use another source.\n{_HOW_TO_PROVIDE}") from error


def _reviews_from_tfds(builder: DatasetBuilder, split: str) -> Reviews:
    """One split of imdb_reviews, sorted by label then text: tfds keeps no review ids to sort by."""
    import tensorflow_datasets as tfds

    pairs = sorted((int(label), text.decode("utf-8"))
                   for text, label in tfds.as_numpy(builder.as_dataset(split=split, as_supervised=True)))
    return Reviews(texts=[text for _, text in pairs], labels=np.array([label for label, _ in pairs], dtype=np.int64),
                   ratings=None, movies=None)


def _read_tfds(cache: Path, *, download: bool, check_counts: bool) -> Imdb:
    """Both splits of TensorFlow Datasets' imdb_reviews, prepared in ``cache/tensorflow_datasets``."""
    import tensorflow_datasets as tfds  # here, not at the top: it brings TensorFlow, which no other source needs

    builder = tfds.builder(TFDS_NAME, data_dir=str(cache / "tensorflow_datasets"))
    _prepare_tfds(builder, cache, download)
    _warn_no_movies(f"TensorFlow Datasets' {TFDS_NAME} names no movies (it keeps each review's text and label, not "
                    "its file name or URL)")
    splits = {split: _reviews_from_tfds(builder, split) for split in SPLITS}
    if check_counts:
        for split, reviews in splits.items():
            _check_counts(split, reviews, f"TensorFlow Datasets' {TFDS_NAME} in {builder.data_dir}")
    return Imdb(**splits)
