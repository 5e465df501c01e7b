"""Reading both splits from an aclImdb/ folder, the archive or the course's jsonl copy, with their movies."""

from __future__ import annotations

import gzip
import json
import os
import re
import stat
import tarfile
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from shared.data.archive import (ARCHIVE_NAME, _GZIP_MAGIC, _REVIEW_PATH, _TAR_ERRORS, _URL_LIST_PATH, _cannot_read,
                                  _damaged_archive, _head, _not_gzip, _tar_mode, _unsafe_member)
from shared.data.dataset import LABEL_NAMES, LABELS, SPLIT_SIZE, SPLITS, DataError, Imdb, NoMoviesWarning, Reviews
from shared.data.locate import _HOW_TO_PROVIDE, _aclimdb_root, _holds, _jsonl_files
from shared.shown import shown


_MOVIE = re.compile(r"\btt\d+")
# Caps on what is read into memory, far above the real data (longest review ~14 KB, a URL list ~0.6 MB), so a
# damaged or hostile copy (a gzip bomb: 300 KB that inflate to 300 MB) is refused instead of filling the memory.
_MAX_REVIEW_BYTES = 1 << 20  # a review file, archive member or jsonl line
_MAX_URL_LIST_BYTES = 16 << 20
_REPLACE_COPY = "Replace the copy with the official aclImdb_v1.tar.gz or the course's jsonl copy."
# Which movie: line i of <split>/urls_<label>.txt for review id i; the key is (split, label name).
UrlLists = dict[tuple[str, str], tuple[str, list[str]]]  # -> (file name for messages, its lines)
# What every review holds: key -> (test, what it must be). type() rather than isinstance: True is an int too.
_REQUIRED = ("id", "rating", "label", "text")
_FIELDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "id": (lambda v: type(v) is int and v >= 0, "a whole number, 0 or more"),
    "rating": (lambda v: type(v) is int and 1 <= v <= 10, "a whole number of stars from 1 to 10"),
    "label": (lambda v: type(v) is int and v in (0, 1), "0 (negative) or 1 (positive)"),
    "text": (lambda v: isinstance(v, str), "a string"),
    "movie": (lambda v: isinstance(v, str) and _MOVIE.fullmatch(v) is not None, 'an IMDb title id like "tt0453418"'),
}


def _check_record(record: object, where: str) -> dict:
    """``record`` if it is a well-formed review (``movie`` is optional), else a DataError naming ``where``."""
    if not isinstance(record, dict):
        raise DataError(f"{where} is {shown(record)}, not a JSON object with {', '.join(_REQUIRED)}. {_REPLACE_COPY}")
    if missing := [key for key in _REQUIRED if key not in record]:
        raise DataError(f'{where} has no "{missing[0]}"; every review needs {", ".join(_REQUIRED)}. {_REPLACE_COPY}')
    for key, (valid, expected) in _FIELDS.items():
        if key in record and not valid(record[key]):
            raise DataError(f'{where}: "{key}" is {shown(record[key])}, not {expected}. {_REPLACE_COPY}')
    return record


def _decode(raw: bytes, name: str, first_line: int = 1) -> str:
    """``raw`` as UTF-8, or a DataError naming ``name`` and the line of the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = first_line + raw.count(b"\n", 0, error.start)
        raise DataError(f"{name}, line {line}, is not valid UTF-8 (byte {raw[error.start]:#04x}); the IMDB data is "
                        f"UTF-8 throughout, so the file was re-encoded or damaged. {_REPLACE_COPY}") from error


def _too_large(name: str, limit: int) -> DataError:
    return DataError(f"{name} is larger than {limit:,} bytes, far larger than anything in the IMDB data (its "
                     f"longest review is about 14 KB). {_REPLACE_COPY}")


def _jsonl_record(line: bytes, path: Path, number: int) -> dict:
    where = f"{path}, line {number}"
    if len(line) > _MAX_REVIEW_BYTES:
        raise _too_large(where, _MAX_REVIEW_BYTES)
    try:
        record = json.loads(_decode(line, str(path), number))
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError; deep nesting recurses
        raise DataError(f"{where}, is not valid JSON ({error}).") from error
    return _check_record(record, where)


def _records_from_jsonl(path: Path) -> Iterator[dict]:
    try:
        if not (head := _head(path)).startswith(_GZIP_MAGIC):
            raise _not_gzip(path, head, "gzip-compressed JSON lines", "Compress it with gzip, or copy it again.")
        with gzip.open(path, "rb") as f:
            # a limit on each line, so that no line, however long, is read whole
            for number, line in enumerate(iter(lambda: f.readline(_MAX_REVIEW_BYTES + 1), b""), 1):
                yield _jsonl_record(line, path, number)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{path} is truncated or corrupt ({error}). Copy or export it again.") from error
    except OSError as error:
        raise _cannot_read(path, error) from error


def _jsonl_names_movies(path: Path, records: list[dict]) -> bool:
    """True if every line of ``path`` names its movie, False if none does; some but not all is damage."""
    if not any("movie" in record for record in records):
        return False
    for number, record in enumerate(records, 1):  # one record per line
        if "movie" not in record:
            raise DataError(f'{path}, line {number}: "movie" is None (the key is missing), while other lines name '
                            "their movie. The file is damaged: copy or export it again.")
    return True


def _record(match: re.Match, text: str) -> dict:
    return {"id": _whole(match[3]), "rating": _whole(match[4]), "label": LABELS[match[2]], "text": text}


def _whole(digits: str) -> int | str:
    # Digits no review number needs stay a string, which _check_record refuses as damage (int() of 5,000 digits
    # would raise Python's own limit error instead)
    return int(digits) if len(digits) <= 18 else digits


def _open_nonblocking(name: str, flags: int) -> int:
    # Opening a FIFO for reading waits for a writer, maybe forever; O_NONBLOCK returns at once, and fstat refuses it.
    return os.open(name, flags | getattr(os, "O_NONBLOCK", 0))


def _require_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise DataError(f"{path} is {kind}, not a regular file, and is not read. Remove it from {path.parent}.")


def _read_tree_file(path: Path, root: Path, limit: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes inside ``root``."""
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(os.path.realpath(root)):
        raise DataError(f"{path} is a link to {real}, outside {root}, and is not read. Replace the link with the "
                        "file itself.")
    try:
        with open(real, "rb", opener=_open_nonblocking) as f:
            _require_regular(path, os.fstat(f.fileno()).st_mode)
            content = f.read(limit + 1)
    except IsADirectoryError as error:
        raise DataError(f"{path} is a folder, not a file. Move it out of {path.parent}.") from error
    except OSError as error:
        raise _cannot_read(path, error, f"; it is a link to {real}" if path.is_symlink() else "") from error
    if len(content) > limit:
        raise _too_large(str(path), limit)
    return content


def _names_in(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError as error:
        raise _cannot_read(folder, error) from error


def _records_from_folder(root: Path, split: str) -> Iterator[dict]:
    for label in LABELS:
        folder = root / split / label
        for name in _names_in(folder):
            if match := _REVIEW_PATH.search(f"{split}/{label}/{name}"):
                path = folder / name
                text = _decode(_read_tree_file(path, root, _MAX_REVIEW_BYTES), str(path))
                yield _check_record(_record(match, text), str(path))


def _url_lists_from_folder(root: Path) -> UrlLists:
    lists: UrlLists = {}
    for split in SPLITS:
        for label in LABELS:
            path = root / split / f"urls_{label}.txt"
            if os.path.lexists(path):  # a broken link or a folder by that name is damage, not a missing list
                content = _read_tree_file(path, root, _MAX_URL_LIST_BYTES)
                lists[split, label] = (str(path), _decode(content, str(path)).splitlines())
    return lists


def _member_text(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, limit: int) -> str:
    if member.size > limit:  # checked before reading: the size is in the member's header
        raise _too_large(name, limit)
    return _decode(tar.extractfile(member).read(), name)


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, archive: Path,
                 records: dict[str, list[dict]], lists: UrlLists) -> None:
    """Add ``member`` to ``records`` if it is a review, to ``lists`` if it is a URL list."""
    name = f"{member.name} in {archive}"
    if _unsafe_member(member.name):
        raise DataError(f"{archive} holds {member.name!r}, whose path is absolute or leads out of the archive's "
                        f"folder with '..'. It is not the official archive: download {ARCHIVE_NAME} again.")
    if not member.isfile():
        return
    if match := _REVIEW_PATH.search(member.name):
        text = _member_text(tar, member, name, _MAX_REVIEW_BYTES)
        records[match[1]].append(_check_record(_record(match, text), name))
    elif match := _URL_LIST_PATH.search(member.name):
        lists[match[1], match[2]] = (name, _member_text(tar, member, name, _MAX_URL_LIST_BYTES).splitlines())


def _records_from_archive(archive: Path) -> tuple[dict[str, list[dict]], UrlLists]:
    """Read the reviews and URL lists straight out of the archive: nothing is extracted, so nothing can escape."""
    records: dict[str, list[dict]] = {split: [] for split in SPLITS}
    lists: UrlLists = {}
    try:
        with tarfile.open(archive, _tar_mode(archive)) as tar:
            for member in tar:
                _read_member(tar, member, archive, records, lists)
    except _TAR_ERRORS as error:
        raise _damaged_archive(archive, error) from error
    except OSError as error:
        raise _cannot_read(archive, error) from error
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
    raise DataError(f"{source} {_holds(source)}.\n{_HOW_TO_PROVIDE}")


def _to_reviews(records: list[dict], with_movies: bool) -> Reviews:
    records = sorted(records, key=lambda r: (r["label"], r["id"]))
    return Reviews(
        texts=[r["text"] for r in records],
        labels=np.array([r["label"] for r in records], dtype=np.int64),
        ratings=np.array([r["rating"] for r in records], dtype=np.int64),
        movies=np.array([r["movie"] for r in records], dtype=str) if with_movies else None,
    )


def _check_counts(split: str, reviews: Reviews, source: Path | str) -> None:
    counts = np.bincount(reviews.labels, minlength=2)
    if len(reviews) != SPLIT_SIZE or counts[0] != counts[1]:
        raise DataError(
            f"The {split} split read from {source} has {len(reviews):,} reviews ({counts[1]:,} positive, "
            f"{counts[0]:,} negative); the official split has {SPLIT_SIZE:,}, half of each. The copy is "
            "incomplete: replace it, or pass check_counts=False to load a deliberate subset."
        )


def _warn_no_movies(lack: str) -> None:
    """Warn that the source whose ``lack`` is said names no movies."""
    warnings.warn(
        f"{lack}, so validation sets will be drawn review by review: reviews of one movie then land on both sides, "
        "which flatters validation accuracy. To hold out whole movies, use the official aclImdb_v1.tar.gz, which "
        "load_imdb() downloads (its urls_pos.txt/urls_neg.txt name them; a cache downloaded by an older version of "
        "the course lacks them: delete its aclImdb/ folder to download again), or the course's jsonl copy, whose "
        'lines carry "movie".',
        NoMoviesWarning,
        stacklevel=4,  # the caller of load_imdb
    )


def read_imdb(source: Path, *, check_counts: bool = True) -> Imdb:
    """Read both splits from a folder (aclImdb or jsonl.gz) or a ``.tar.gz`` (or plain ``.tar``) archive."""
    records, missing = _read_records(source)
    for split in SPLITS:
        if not records[split]:
            raise DataError(f"{source} holds no {split} reviews: the {split} split is missing. {_REPLACE_COPY}")
    if missing:
        _warn_no_movies(f"{source} names no movies (missing: {', '.join(missing)})")
    splits = {split: _to_reviews(records[split], with_movies=not missing) for split in SPLITS}
    if check_counts:
        for split, reviews in splits.items():
            _check_counts(split, reviews, source)
    return Imdb(**splits)
