"""The IMDB Large Movie Review Dataset (Maas et al., 2011): find it, fetch it, read it, split it.

Where the data comes from, first match wins:

1. the ``path`` argument of :func:`load_imdb`;
2. the ``IMDB_DATA_DIR`` environment variable;
3. the user cache (``~/.cache/imdb-course``, or ``IMDB_CACHE_DIR``);
4. a download of the official ``aclImdb_v1.tar.gz`` into that cache, checked against its sha256.

A path may be an extracted ``aclImdb/`` folder (or a folder holding one), the ``.tar.gz`` archive, or a
folder with ``train.jsonl.gz`` and ``test.jsonl.gz`` (one ``{"id", "rating", "label", "text"}`` per line).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
OFFICIAL_SIZE = 84_125_825
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
SPLITS = ("train", "test")
SPLIT_SIZE = 25_000  # official size of each split, half positive, half negative
LABELS = {"neg": 0, "pos": 1}
# aclImdb/<split>/<pos|neg>/<id>_<rating>.txt; train/unsup is unlabelled and never read.
_REVIEW_PATH = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


class DataError(RuntimeError):
    """The IMDB data is missing, damaged or not what it should be; the message says how to fix it."""


@dataclass(frozen=True)
class Reviews:
    """One split: review texts with their labels (1 = positive) and star ratings (1-10)."""

    texts: list[str]
    labels: np.ndarray
    ratings: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: np.ndarray) -> Reviews:
        """The reviews at ``indices``, in that order."""
        return Reviews([self.texts[i] for i in indices], self.labels[indices], self.ratings[indices])


@dataclass(frozen=True)
class Imdb:
    train: Reviews
    test: Reviews


# --------------------------------------------------------------------------- where the data is


def default_cache_dir() -> Path:
    """Where downloads are kept: ``$IMDB_CACHE_DIR``, else ``~/.cache/imdb-course``."""
    return Path(os.environ.get("IMDB_CACHE_DIR") or Path.home() / ".cache" / "imdb-course")


def _recognised(path: Path) -> bool:
    if path.is_file():
        return path.name.endswith((".tar.gz", ".tgz"))
    return _jsonl_files(path) is not None or _aclimdb_root(path) is not None


def _jsonl_files(folder: Path) -> dict[str, Path] | None:
    files = {split: folder / f"{split}.jsonl.gz" for split in SPLITS}
    return files if all(f.is_file() for f in files.values()) else None


def _aclimdb_root(folder: Path) -> Path | None:
    for root in (folder, folder / "aclImdb"):
        if all((root / split / label).is_dir() for split in SPLITS for label in LABELS):
            return root
    return None


def locate_imdb(path: str | os.PathLike | None = None, *, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The first IMDB source found (see the module docstring), or None if only a download would do.

    An explicit ``path`` or ``IMDB_DATA_DIR`` that holds no IMDB data is an error, not a fall-through:
    the user asked for that place.
    """
    for given, origin in ((path, "the path argument"), (os.environ.get("IMDB_DATA_DIR"), "IMDB_DATA_DIR")):
        if given:
            given = Path(given).expanduser()
            if not given.exists():
                raise DataError(f"{origin} points to {given}, which does not exist.\n{_HOW_TO_PROVIDE}")
            if not _recognised(given):
                raise DataError(f"{origin} points to {given}, which holds no IMDB data.\n{_HOW_TO_PROVIDE}")
            return given
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    return cache if _aclimdb_root(cache) else None


_HOW_TO_PROVIDE = """Provide the data in one of these ways:
  - pass a path: load_imdb("path/to/aclImdb") (an extracted aclImdb/ folder, aclImdb_v1.tar.gz,
    or a folder with train.jsonl.gz and test.jsonl.gz);
  - set IMDB_DATA_DIR to such a path;
  - or let the course download the official archive (84 MB) into the cache, which needs internet."""


# --------------------------------------------------------------------------- download and extract


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_imdb(
    cache_dir: str | os.PathLike | None = None, *, url: str | None = None, sha256: str | None = None
) -> Path:
    """Download the archive, check its sha256, extract it into ``cache_dir/aclImdb``; return ``cache_dir``.

    Everything is written under a temporary name inside the cache and renamed into place only once it is
    whole, so an interrupted or failed download leaves the cache as it was.
    """
    from keras.utils import get_file  # imported here: importing keras fixes the backend

    url, sha256 = url or OFFICIAL_URL, sha256 or OFFICIAL_SHA256
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    if _aclimdb_root(cache):
        return cache
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as work:
        try:
            archive = Path(get_file(ARCHIVE_NAME, url, cache_dir=work, cache_subdir="."))
        except Exception as error:  # keras wraps network errors in plain Exceptions
            raise DataError(
                f"Downloading {url} failed: {error}\nNothing was kept in {cache}. "
                f"Try again, or download the archive yourself and point IMDB_DATA_DIR to it.\n{_HOW_TO_PROVIDE}"
            ) from error
        found = sha256_of(archive)
        if found != sha256:
            raise DataError(
                f"The archive downloaded from {url} has sha256 {found}, expected {sha256} "
                f"({archive.stat().st_size:,} bytes; the official archive has {OFFICIAL_SIZE:,}). "
                "It is damaged or not the official file; nothing was kept. Download it again."
            )
        extracted = Path(work) / "extracted"
        safe_extract(archive, extracted)
        (extracted / "aclImdb").rename(cache / "aclImdb")
    return cache


def safe_extract(archive: Path, target: Path) -> None:
    """Extract the labelled reviews of ``archive`` into ``target``.

    Every member is first checked with Python's ``data`` extraction filter, so an archive with absolute
    paths, ``..`` or links pointing out of ``target`` is refused whole before anything is written.
    """
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                if member.name.startswith("/"):  # the data filter would only strip the slash
                    raise tarfile.AbsolutePathError(member)
                tarfile.data_filter(member, str(target))
            reviews = [m for m in members if m.isfile() and _REVIEW_PATH.search(m.name)]
            tar.extractall(target, members=reviews, filter="data")
    except tarfile.FilterError as error:
        raise DataError(f"{archive} is unsafe to extract ({error}); it is not the official archive.") from error
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{archive} is truncated or corrupt ({error}). Delete it and download it again.") from error
    if _aclimdb_root(target) is None:
        raise DataError(f"{archive} has no aclImdb/{{train,test}}/{{pos,neg}}/ folders; it is not the IMDB archive.")


# --------------------------------------------------------------------------- read


def _records_from_jsonl(path: Path) -> Iterator[dict]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{path}, line {number}, is not valid JSON ({error}).") from error
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{path} is truncated or corrupt ({error}). Copy or export it again.") from error


def _record(match: re.Match, text: str) -> dict:
    return {"id": int(match[3]), "rating": int(match[4]), "label": LABELS[match[2]], "text": text}


def _records_from_folder(root: Path, split: str) -> Iterator[dict]:
    for path in sorted((root / split).glob("*/*.txt")):
        match = _REVIEW_PATH.search(path.as_posix())
        if match:
            yield _record(match, path.read_text(encoding="utf-8"))


def _records_from_archive(archive: Path) -> dict[str, list[dict]]:
    """Read the reviews straight out of the archive: nothing is extracted, so nothing can escape."""
    records: dict[str, list[dict]] = {split: [] for split in SPLITS}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                match = _REVIEW_PATH.search(member.name)
                if match and member.isfile():
                    text = tar.extractfile(member).read().decode("utf-8")
                    records[match[1]].append(_record(match, text))
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{archive} is truncated or corrupt ({error}). Delete it and download it again.") from error
    return records


def _to_reviews(records: list[dict]) -> Reviews:
    records = sorted(records, key=lambda r: (r["label"], r["id"]))
    return Reviews(
        texts=[r["text"] for r in records],
        labels=np.array([r["label"] for r in records], dtype=np.int64),
        ratings=np.array([r["rating"] for r in records], dtype=np.int64),
    )


def _check_counts(split: str, reviews: Reviews, source: Path) -> None:
    counts = np.bincount(reviews.labels, minlength=2)
    if len(reviews) != SPLIT_SIZE or counts[0] != counts[1]:
        raise DataError(
            f"The {split} split read from {source} has {len(reviews):,} reviews ({counts[1]:,} positive, "
            f"{counts[0]:,} negative); the official split has {SPLIT_SIZE:,}, half of each. The copy is "
            "incomplete: replace it, or pass check_counts=False to load a deliberate subset."
        )


def read_imdb(source: Path, *, check_counts: bool = True) -> Imdb:
    """Read both splits from a folder (aclImdb or jsonl.gz) or a ``.tar.gz`` archive."""
    if source.is_file():
        records = _records_from_archive(source)
    elif files := _jsonl_files(source):
        records = {split: list(_records_from_jsonl(file)) for split, file in files.items()}
    elif root := _aclimdb_root(source):
        records = {split: list(_records_from_folder(root, split)) for split in SPLITS}
    else:
        raise DataError(f"{source} holds no IMDB data.\n{_HOW_TO_PROVIDE}")
    splits = {split: _to_reviews(records[split]) for split in SPLITS}
    if check_counts:
        for split, reviews in splits.items():
            _check_counts(split, reviews, source)
    return Imdb(**splits)


def load_imdb(
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    check_counts: bool = True,
) -> Imdb:
    """The official train and test splits, from the first source found (see the module docstring)."""
    source = locate_imdb(path, cache_dir=cache_dir)
    if source is None:
        if not download:
            cache = Path(cache_dir) if cache_dir else default_cache_dir()
            raise DataError(f"No IMDB data found: no path given, IMDB_DATA_DIR unset, nothing in {cache}.\n"
                            f"{_HOW_TO_PROVIDE}")
        source = download_imdb(cache_dir)
    return read_imdb(source, check_counts=check_counts)


# --------------------------------------------------------------------------- split and sample


def _stratified_indices(labels: np.ndarray, size: float | int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    rest, picked = train_test_split(np.arange(len(labels)), test_size=size, stratify=labels, random_state=seed)
    return np.sort(rest), np.sort(picked)


def validation_split(reviews: Reviews, fraction: float = 0.1, seed: int = 0) -> tuple[Reviews, Reviews]:
    """Carve a stratified validation set out of ``reviews``; the same seed gives the same split."""
    keep, held_out = _stratified_indices(reviews.labels, fraction, seed)
    return reviews.take(keep), reviews.take(held_out)


def stratified_sample(reviews: Reviews, size: int, seed: int = 0) -> Reviews:
    """``size`` reviews with the labels in the same proportion, drawn with ``seed`` (for quick runs)."""
    if size >= len(reviews):
        return reviews
    return reviews.take(_stratified_indices(reviews.labels, size, seed)[1])

