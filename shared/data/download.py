"""Downloading the official archive into the cache, checked against its sha256, all or nothing."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shared.data.archive import ARCHIVE_NAME, safe_extract
from shared.data.dataset import DataError, OFFICIAL_SHA256, OFFICIAL_SIZE, OFFICIAL_URL
from shared.data.locate import _HOW_TO_PROVIDE, _aclimdb_root, _missing_parts, default_cache_dir
from shared.digest import sha256_of


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
