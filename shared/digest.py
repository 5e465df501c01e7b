"""The sha256 of a file, read a megabyte at a time: what the data download, the pretrained weights, a saved
model's seal and the grader's manifest of checks all compare."""

import hashlib
from pathlib import Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
