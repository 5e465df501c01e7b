"""The official archive: what a file that should be it is instead, and extracting it safely."""

from __future__ import annotations

import gzip
import re
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from shared.data.dataset import DataError, OFFICIAL_URL
from shared.data.locate import _aclimdb_root


ARCHIVE_NAME = "aclImdb_v1.tar.gz"
# aclImdb/<split>/<pos|neg>/<id>_<rating>.txt; train/unsup is unlabelled and never read.
_REVIEW_PATH = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
# aclImdb/<split>/urls_<pos|neg>.txt: line i is the IMDb page of review id i, e.g. .../title/tt0453418/usercomments
_URL_LIST_PATH = re.compile(r"(?:^|/)(train|test)/urls_(pos|neg)\.txt$")
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


def _unsafe_member(name: str) -> bool:
    """An absolute path or one with ``..``: safe_extract refuses them, so reading must too."""
    return name.startswith("/") or ".." in PurePosixPath(name).parts
