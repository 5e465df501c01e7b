"""Saved model folders whose files are known to belong together: ``seal`` records each file's sha256 in
``manifest.json``, ``open_sealed`` refuses a folder whose files are not the ones recorded. No Keras here: the demo
checks a folder before it starts, and loads the model later.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

from shared.digest import sha256_of

MANIFEST = "manifest.json"
MANIFEST_BYTES = 65_536  # far more than the digests of a model's files take
GET_A_GOOD_ONE = "Copy the whole folder again from where it was saved, or save the model again."


class SavedModelError(ValueError):
    """A saved model folder that cannot be used as it is; the message names the file, what is wrong with it
    and how to get a good one."""


class UnsealedFolderWarning(UserWarning):
    """A saved model folder without manifest.json (saved before folders were sealed): it loads unchecked."""


def seal(folder: str | Path, files: Sequence[str]) -> Path:
    """Record the sha256 of each of ``files`` in ``folder/manifest.json``, so that open_sealed can tell they
    were saved together; return the folder."""
    folder = Path(folder)
    manifest = {"sha256": {name: sha256_of(folder / name) for name in files}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return folder


def open_sealed(folder: str | Path, files: Sequence[str]) -> Path:
    """``folder`` as a Path once each of ``files`` is there and is the file seal() recorded, or a
    SavedModelError that names the file at fault. A folder saved before sealing existed (no manifest.json)
    cannot be checked: it only warns."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SavedModelError(f"{folder} is not a folder: give the folder the model was saved in.")
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise SavedModelError(f"{folder} has no {' and no '.join(missing)}: a saved model is {', '.join(files)}, "
                              f"together. {GET_A_GOOD_ONE}")
    recorded = _recorded_digests(folder)
    if recorded is None:
        warnings.warn(f"{folder} has no {MANIFEST}, so nothing tells that {', '.join(files)} were saved together: "
                      "save the model again to seal them.", UnsealedFolderWarning, stacklevel=2)
        return folder
    changed = [name for name in files if recorded.get(name) != sha256_of(folder / name)]
    if changed:
        others = [name for name in files if name not in changed]
        raise SavedModelError(
            f"{folder}: {' and '.join(changed)} {'is' if len(changed) == 1 else 'are'} not what was saved"
            f"{' with ' + ' and '.join(others) if others else ''} (the sha256 differs from {MANIFEST}'s): damaged, "
            f"edited or copied from another saved model, and a model must read with its own vocabulary. "
            f"{GET_A_GOOD_ONE}")
    return folder


def _recorded_digests(folder: Path) -> dict | None:
    """The digests in ``folder``'s manifest; None when it has none."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    if not path.is_file():  # a named pipe would wait for a writer, a link to /dev/zero never end
        raise SavedModelError(f"{path} is not a regular file. {GET_A_GOOD_ONE}")
    if path.stat().st_size > MANIFEST_BYTES:
        raise SavedModelError(f"{path} is damaged: {path.stat().st_size:,} bytes, where a manifest takes a few "
                              f"hundred. {GET_A_GOOD_ONE}")
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["sha256"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise SavedModelError(f"{path} is damaged ({type(error).__name__}: {error}). {GET_A_GOOD_ONE}") from error
    if not isinstance(recorded, dict):
        raise SavedModelError(f"{path} is damaged: its sha256 entry is not a table of files. {GET_A_GOOD_ONE}")
    return recorded


def check_recorded(folder: str | Path) -> None:
    """open_sealed's check of every file ``folder``'s manifest records, for a caller that does not know which
    files the model has (the demo, before it starts); a folder without a manifest is left to the loader."""
    if recorded := _recorded_digests(Path(folder)):
        open_sealed(folder, list(recorded))
