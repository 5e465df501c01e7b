"""Where the IMDB data is: the path given, IMDB_DATA_DIR, or the user cache (see ``shared.data``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from shared.data.dataset import DataError, LABELS, SPLITS
from shared.shown import shown


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
    if path is not None and not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"the IMDB path must be a str or a pathlib.Path, not {type(path).__name__} {shown(path)}.")
    for given, origin in ((path, "the path argument"), (os.environ.get("IMDB_DATA_DIR"), "IMDB_DATA_DIR")):
        if given:
            given = Path(os.fsdecode(given)).expanduser()
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
