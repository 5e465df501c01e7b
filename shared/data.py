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
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import stat
import tarfile
import tempfile
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tensorflow_datasets.core import DatasetBuilder

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
# Caps on what is read into memory, far above the real data (longest review ~14 KB, a URL list ~0.6 MB), so a
# damaged or hostile copy (a gzip bomb: 300 KB that inflate to 300 MB) is refused instead of filling the memory.
_MAX_REVIEW_BYTES = 1 << 20  # a review file, archive member or jsonl line
_MAX_URL_LIST_BYTES = 16 << 20
_REPLACE_COPY = "Replace the copy with the official aclImdb_v1.tar.gz or the course's jsonl copy."


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


# --------------------------------------------------------------------------- where the data is


def default_cache_dir() -> Path:
    """Where downloads are kept: ``$IMDB_CACHE_DIR``, else ``~/.cache/imdb-course``."""
    return Path(os.environ.get("IMDB_CACHE_DIR") or Path.home() / ".cache" / "imdb-course")


def _check(path: Path, test: Callable[[Path], bool]) -> bool:
    """``test(path)``, Path.is_dir or Path.is_file: False for a missing path, a DataError naming the path when
    pathlib may not look (it raises then)."""
    try:
        return test(path)
    except OSError as error:
        raise DataError(f"{path} cannot be checked ({error.strerror}): a folder above it is unreadable. "
                        "Fix the permissions, or point to another copy.") from error


def _recognised(path: Path) -> bool:
    if path.is_file():
        return path.name.endswith((".tar.gz", ".tgz", ".tar"))
    return _jsonl_files(path) is not None or _aclimdb_root(path) is not None


def _jsonl_files(folder: Path) -> dict[str, Path] | None:
    files = {split: folder / f"{split}.jsonl.gz" for split in SPLITS}
    return files if all(_check(f, Path.is_file) for f in files.values()) else None


def _aclimdb_root(folder: Path) -> Path | None:
    for root in (folder, folder / "aclImdb"):
        if all(_check(root / split / label, Path.is_dir) for split in SPLITS for label in LABELS):
            return root
    return None


def _missing_from_tree(root: Path) -> list[str]:
    missing = []
    for split in SPLITS:
        absent = [label for label in LABELS if not _check(root / split / label, Path.is_dir)]
        if len(absent) == len(LABELS):
            missing.append(f"the {split} split is missing (no {root / split}/pos/ or neg/ folder)")
        elif absent:
            missing.append(f"the {split} split has no {absent[0]}/ folder ({root / split / absent[0]})")
    return missing


def _missing_parts(folder: Path) -> str:
    """What a folder holding some of the IMDB data but not all of it lacks; empty if it holds all or none."""
    jsonl = {split: folder / f"{split}.jsonl.gz" for split in SPLITS}
    if any(_check(file, Path.is_file) for file in jsonl.values()):
        return "; ".join(f"the {split} split is missing (no {file})"
                         for split, file in jsonl.items() if not _check(file, Path.is_file))
    for root in (folder, folder / "aclImdb"):
        if any(_check(root / split / label, Path.is_dir) for split in SPLITS for label in LABELS):
            return "; ".join(_missing_from_tree(root))
    return ""


def _holds(folder: Path) -> str:
    """What ``folder``, which is no IMDB copy, holds instead, for messages."""
    missing = _missing_parts(folder)
    return f"holds only part of the IMDB data: {missing}" if missing else "holds no IMDB data"


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
                raise DataError(f"{origin} points to {given}, which {_holds(given)}.\n{_HOW_TO_PROVIDE}")
            return given
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    return cache if _aclimdb_root(cache) else None


_HOW_TO_PROVIDE = """Provide the data in one of these ways:
  - pass a path: load_imdb("path/to/aclImdb") (an extracted aclImdb/ folder, aclImdb_v1.tar.gz,
    or a folder with train.jsonl.gz and test.jsonl.gz);
  - set IMDB_DATA_DIR to such a path;
  - or let the course download the official archive (84 MB) into the cache, which needs internet
    (load_imdb("tfds") has TensorFlow Datasets download and prepare it instead)."""


# --------------------------------------------------------------------------- download and extract


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _why_unusable(cache: Path, error: OSError) -> str:
    blocker = next((folder for folder in (cache, *cache.parents) if folder.is_file()), None)
    return f"{blocker} is a file, not a folder" if blocker else error.strerror or str(error)


def _download_workspace(cache: Path) -> tempfile.TemporaryDirectory:
    """A temporary folder inside ``cache`` (created if need be) to assemble a download in."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(dir=cache, prefix=".download-")
    except OSError as error:
        raise DataError(
            f"Cannot download into the cache {cache}: {_why_unusable(cache, error)}. Set IMDB_CACHE_DIR (or pass "
            f"cache_dir=) to a folder you can write to, or provide the data yourself.\n{_HOW_TO_PROVIDE}"
        ) from error


def download_imdb(
    cache_dir: str | os.PathLike | None = None, *, url: str | None = None, sha256: str | None = None
) -> Path:
    """Download the archive, check its sha256, extract it into ``cache_dir/aclImdb``; return ``cache_dir``.

    Everything is written under a temporary name inside the cache and renamed into place only once it is
    whole, so an interrupted or failed download leaves the cache as it was.
    """
    url, sha256 = url or OFFICIAL_URL, sha256 or OFFICIAL_SHA256
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if _aclimdb_root(cache):
        return cache
    if missing := _missing_parts(cache):  # the download could not be renamed onto it
        raise DataError(f"The cache {cache} holds only part of the IMDB data: {missing}. Delete that data (its "
                        "aclImdb/ folder) to download it again, or set IMDB_CACHE_DIR to another folder.")
    with _download_workspace(cache) as work:
        from keras.utils import get_file  # imported here: importing keras fixes the backend

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


_GZIP_MAGIC = b"\x1f\x8b"
_TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)
# How files begin that are sometimes saved under the archive's or a jsonl file's name, for messages.
_FILE_KINDS = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
)


def _head(path: Path) -> bytes:
    """The first bytes of ``path``: enough to tell what kind of file it is."""
    with open(path, "rb") as f:
        return f.read(512)


def _file_kind(head: bytes) -> str | None:
    if not head:
        return "empty (0 bytes)"
    if head[257:262] == b"ustar":
        return "an uncompressed tar archive"
    for magic, kind in _FILE_KINDS:
        if head.startswith(magic):
            return kind
    start = head.lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "an HTML page (a web page saved in place of the file?)"
    if start.startswith((b"{", b"[")):
        return "uncompressed JSON text"
    return None


def _not_gzip(path: Path, head: bytes, expected: str, fix: str) -> DataError:
    kind = _file_kind(head)
    said = f"is {kind}, not {expected}" if kind else f"is not {expected} (it starts with {head[:16]!r})"
    return DataError(f"{path} {said}. {fix}")


def _tar_mode(archive: Path) -> str:
    """How to open ``archive``: gzip-compressed as published, or plain (as some browsers save it); else a DataError
    saying what the file is."""
    head = _head(archive)
    if head.startswith(_GZIP_MAGIC):
        return "r:gz"
    if head[257:262] == b"ustar":
        return "r:"
    raise _not_gzip(archive, head, "a gzip-compressed tar archive",
                    f"It is not {ARCHIVE_NAME}: download it again from {OFFICIAL_URL}.")


def _damaged_archive(archive: Path, error: Exception) -> DataError:
    return DataError(f"{archive} is truncated or corrupt ({error}). Delete it and download it again.")


def _cannot_read(path: Path | str, error: OSError, detail: str = "") -> DataError:
    return DataError(f"{path} cannot be read ({error.strerror or error}{detail}). Check its permissions, "
                     "or replace the copy.")


def _wanted_member(name: str) -> bool:
    return bool(_REVIEW_PATH.search(name) or _URL_LIST_PATH.search(name))


def safe_extract(archive: Path, target: Path) -> None:
    """Extract the labelled reviews of ``archive`` and their URL lists (which name the movies) into ``target``.

    Every member is first checked with Python's ``data`` extraction filter, so an archive with absolute
    paths, ``..`` or links pointing out of ``target`` is refused whole before anything is written.
    """
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, _tar_mode(archive)) as tar:
            members = tar.getmembers()
            for member in members:
                if member.name.startswith("/"):  # the data filter would only strip the slash
                    raise tarfile.AbsolutePathError(member)
                tarfile.data_filter(member, str(target))
            wanted = [m for m in members if m.isfile() and _wanted_member(m.name)]
            tar.extractall(target, members=wanted, filter="data")
    except tarfile.FilterError as error:
        raise DataError(f"{archive} is unsafe to extract ({error}); it is not the official archive.") from error
    except _TAR_ERRORS as error:
        raise _damaged_archive(archive, error) from error
    if _aclimdb_root(target) is None:
        raise DataError(f"{archive} has no aclImdb/{{train,test}}/{{pos,neg}}/ folders; it is not the IMDB archive.")


# --------------------------------------------------------------------------- read

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


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _check_record(record: object, where: str) -> dict:
    """``record`` if it is a well-formed review (``movie`` is optional), else a DataError naming ``where``."""
    if not isinstance(record, dict):
        raise DataError(f"{where} is {_show(record)}, not a JSON object with {', '.join(_REQUIRED)}. {_REPLACE_COPY}")
    if missing := [key for key in _REQUIRED if key not in record]:
        raise DataError(f'{where} has no "{missing[0]}"; every review needs {", ".join(_REQUIRED)}. {_REPLACE_COPY}')
    for key, (valid, expected) in _FIELDS.items():
        if key in record and not valid(record[key]):
            raise DataError(f'{where}: "{key}" is {_show(record[key])}, not {expected}. {_REPLACE_COPY}')
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
    return {"id": int(match[3]), "rating": int(match[4]), "label": LABELS[match[2]], "text": text}


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


def _unsafe_member(name: str) -> bool:
    """An absolute path or one with ``..``: safe_extract refuses them, so reading must too."""
    return name.startswith("/") or ".." in PurePosixPath(name).parts


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


# --------------------------------------------------------------------------- TensorFlow Datasets

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

