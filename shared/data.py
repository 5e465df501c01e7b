"""The IMDB Large Movie Review Dataset (Maas et al., 2011): find it, fetch it, read it, split it.

Where the data comes from, first match wins:

1. the ``path`` argument of :func:`load_imdb`;
2. the ``IMDB_DATA_DIR`` environment variable;
3. the user cache (``~/.cache/imdb-course``, or ``IMDB_CACHE_DIR``);
4. a download of the official ``aclImdb_v1.tar.gz`` into that cache, checked against its sha256.

A path may be an extracted ``aclImdb/`` folder (or a folder holding one), the ``.tar.gz`` archive, or a
folder with ``train.jsonl.gz`` and ``test.jsonl.gz`` (one ``{"id", "rating", "label", "movie", "text"}`` per line).

Every review also carries its movie, the IMDb title id (``"tt0453418"``): the ``movie`` key of a jsonl line, or, in
the tree and the archive, line *i* of ``<split>/urls_<pos|neg>.txt`` for review id *i* (the URL of its IMDb page).
Up to 30 reviews share a movie, so :func:`validation_split` holds out whole movies, as the official train/test
split does. A copy without movies still loads, with a warning, and its validation sets are drawn review by review.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tarfile
import tempfile
import warnings
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
LABEL_NAMES = {value: name for name, value in LABELS.items()}
# aclImdb/<split>/<pos|neg>/<id>_<rating>.txt; train/unsup is unlabelled and never read.
_REVIEW_PATH = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
# aclImdb/<split>/urls_<pos|neg>.txt: line i is the IMDb page of review id i, e.g. .../title/tt0453418/usercomments
_URL_LIST_PATH = re.compile(r"(?:^|/)(train|test)/urls_(pos|neg)\.txt$")
_MOVIE = re.compile(r"\btt\d+")


class DataError(RuntimeError):
    """The IMDB data is missing, damaged or not what it should be; the message says how to fix it."""


class NoMoviesWarning(UserWarning):
    """The copy names no movies, so validation sets are drawn review by review."""


@dataclass(frozen=True)
class Reviews:
    """One split: review texts with their labels (1 = positive), star ratings (1-10) and movies (IMDb title ids
    such as ``"tt0453418"``, or None when the copy names no movies)."""

    texts: list[str]
    labels: np.ndarray
    ratings: np.ndarray
    movies: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: np.ndarray) -> Reviews:
        """The reviews at ``indices``, in that order."""
        movies = None if self.movies is None else self.movies[indices]
        return Reviews([self.texts[i] for i in indices], self.labels[indices], self.ratings[indices], movies)


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


def _wanted_member(name: str) -> bool:
    return bool(_REVIEW_PATH.search(name) or _URL_LIST_PATH.search(name))


def safe_extract(archive: Path, target: Path) -> None:
    """Extract the labelled reviews of ``archive`` and their URL lists (which name the movies) into ``target``.

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
            wanted = [m for m in members if m.isfile() and _wanted_member(m.name)]
            tar.extractall(target, members=wanted, filter="data")
    except tarfile.FilterError as error:
        raise DataError(f"{archive} is unsafe to extract ({error}); it is not the official archive.") from error
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{archive} is truncated or corrupt ({error}). Delete it and download it again.") from error
    if _aclimdb_root(target) is None:
        raise DataError(f"{archive} has no aclImdb/{{train,test}}/{{pos,neg}}/ folders; it is not the IMDB archive.")


# --------------------------------------------------------------------------- read

# Which movie: line i of <split>/urls_<label>.txt for review id i; the key is (split, label name).
UrlLists = dict[tuple[str, str], tuple[str, list[str]]]  # -> (file name for messages, its lines)


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


def _jsonl_names_movies(path: Path, records: list[dict]) -> bool:
    """True if every line of ``path`` names its movie, False if none does; some but not all is damage."""
    if not any("movie" in record for record in records):
        return False
    for number, record in enumerate(records, 1):  # one record per line
        movie = record.get("movie")
        if not (isinstance(movie, str) and _MOVIE.fullmatch(movie)):
            raise DataError(f'{path}, line {number}: "movie" is {movie!r}, not an IMDb title id like "tt0453418", '
                            "while other lines have one. The file is damaged: copy or export it again.")
    return True


def _record(match: re.Match, text: str) -> dict:
    return {"id": int(match[3]), "rating": int(match[4]), "label": LABELS[match[2]], "text": text}


def _records_from_folder(root: Path, split: str) -> Iterator[dict]:
    for path in sorted((root / split).glob("*/*.txt")):
        match = _REVIEW_PATH.search(path.as_posix())
        if match:
            yield _record(match, path.read_text(encoding="utf-8"))


def _url_lists_from_folder(root: Path) -> UrlLists:
    lists: UrlLists = {}
    for split in SPLITS:
        for label in LABELS:
            path = root / split / f"urls_{label}.txt"
            if path.is_file():
                lists[split, label] = (str(path), path.read_text(encoding="utf-8").splitlines())
    return lists


def _records_from_archive(archive: Path) -> tuple[dict[str, list[dict]], UrlLists]:
    """Read the reviews and URL lists straight out of the archive: nothing is extracted, so nothing can escape."""
    records: dict[str, list[dict]] = {split: [] for split in SPLITS}
    lists: UrlLists = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                if match := _REVIEW_PATH.search(member.name):
                    text = tar.extractfile(member).read().decode("utf-8")
                    records[match[1]].append(_record(match, text))
                elif match := _URL_LIST_PATH.search(member.name):
                    lines = tar.extractfile(member).read().decode("utf-8").splitlines()
                    lists[match[1], match[2]] = (f"{member.name} in {archive}", lines)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{archive} is truncated or corrupt ({error}). Delete it and download it again.") from error
    return records, lists


def _movie_on_line(name: str, lines: list[str], review_id: int) -> str:
    fix = ("The list is damaged: replace the copy with the official aclImdb_v1.tar.gz or the course's jsonl copy "
           "with movies (or delete the URL lists to load without movies, validating review by review).")
    if review_id >= len(lines):
        raise DataError(f"{name} ends at line {len(lines):,}, but review id {review_id} needs line {review_id + 1}. "
                        f"{fix}")
    if not (movie := _MOVIE.search(lines[review_id])):
        raise DataError(f"{name}, line {review_id + 1} (review id {review_id}), has no IMDb title id (tt…): "
                        f"{lines[review_id][:100]!r}. {fix}")
    return movie[0]


def _attach_movies(records: dict[str, list[dict]], lists: UrlLists) -> list[str]:
    """Give every record the movie on line ``id`` of its URL list; return the lists missing (then no movies)."""
    missing = [f"{split}/urls_{label}.txt" for split in SPLITS for label in LABELS if (split, label) not in lists]
    if not missing:
        for split in SPLITS:
            for record in records[split]:
                name, lines = lists[split, LABEL_NAMES[record["label"]]]
                record["movie"] = _movie_on_line(name, lines, record["id"])
    return missing


def _read_records(source: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """The records of both splits, and what movie information the source lacks (empty: every record has one)."""
    if source.is_file():
        records, lists = _records_from_archive(source)
        return records, _attach_movies(records, lists)
    if files := _jsonl_files(source):
        records = {split: list(_records_from_jsonl(file)) for split, file in files.items()}
        missing = [f'"movie" in {file.name}' for split, file in files.items()
                   if not _jsonl_names_movies(file, records[split])]
        return records, missing
    if root := _aclimdb_root(source):
        records = {split: list(_records_from_folder(root, split)) for split in SPLITS}
        return records, _attach_movies(records, _url_lists_from_folder(root))
    raise DataError(f"{source} holds no IMDB data.\n{_HOW_TO_PROVIDE}")


def _to_reviews(records: list[dict], with_movies: bool) -> Reviews:
    records = sorted(records, key=lambda r: (r["label"], r["id"]))
    return Reviews(
        texts=[r["text"] for r in records],
        labels=np.array([r["label"] for r in records], dtype=np.int64),
        ratings=np.array([r["rating"] for r in records], dtype=np.int64),
        movies=np.array([r["movie"] for r in records], dtype=str) if with_movies else None,
    )


def _check_counts(split: str, reviews: Reviews, source: Path) -> None:
    counts = np.bincount(reviews.labels, minlength=2)
    if len(reviews) != SPLIT_SIZE or counts[0] != counts[1]:
        raise DataError(
            f"The {split} split read from {source} has {len(reviews):,} reviews ({counts[1]:,} positive, "
            f"{counts[0]:,} negative); the official split has {SPLIT_SIZE:,}, half of each. The copy is "
            "incomplete: replace it, or pass check_counts=False to load a deliberate subset."
        )


def _warn_no_movies(source: Path, missing: list[str]) -> None:
    warnings.warn(
        f"{source} names no movies (missing: {', '.join(missing)}), so validation sets will be drawn review by "
        "review: reviews of one movie then land on both sides, which flatters validation accuracy. To hold out "
        "whole movies, use the official aclImdb_v1.tar.gz (its urls_pos.txt/urls_neg.txt name them; a cache "
        "downloaded by an older version of the course lacks them: delete its aclImdb/ folder to download again) "
        'or the course\'s jsonl copy, whose lines carry "movie".',
        NoMoviesWarning,
        stacklevel=4,  # the caller of load_imdb
    )


def read_imdb(source: Path, *, check_counts: bool = True) -> Imdb:
    """Read both splits from a folder (aclImdb or jsonl.gz) or a ``.tar.gz`` archive."""
    records, missing = _read_records(source)
    if missing:
        _warn_no_movies(source, missing)
    splits = {split: _to_reviews(records[split], with_movies=not missing) for split in SPLITS}
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
    if _split_by(reviews, by) == "movie":
        return _grouped_indices(reviews.labels, reviews.movies, fraction, seed)
    return _stratified_indices(reviews.labels, fraction, seed)


def stratified_sample(reviews: Reviews, size: int, seed: int = 0) -> Reviews:
    """``size`` reviews with the labels in the same proportion, drawn with ``seed`` (for quick runs)."""
    if size >= len(reviews):
        return reviews
    return reviews.take(_stratified_indices(reviews.labels, size, seed)[1])

