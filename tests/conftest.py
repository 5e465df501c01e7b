"""Fixtures shared by the course's own tests: small IMDB copies in every format the loaders read."""

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from shared.data import locate_imdb

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--target", help="run the graded checks in tests/lessons/ against this folder: "
                     "lessons (your exercises), solutions, or a path")
    parser.addoption("--known-wrong", action="store_true",
                     help="grade the untouched exercises and every known-wrong solution (tests/known_wrong/) "
                          "instead of --target")
    parser.addoption("--mutants", help="with --known-wrong: grade the mutants of this JSON file (benchmarks/"
                                       "mutation.py writes it) instead of the known-wrong solutions")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The graded checks run only when asked for with --target: each lesson needs a process of its own
    (its Keras backend), which the grade report and tests/test_autograder.py give it."""
    if collection_path.name == "lessons" and config.getoption("target") is None:
        return True
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("real_data") and locate_imdb() is None:
        pytest.skip("no IMDB data found: set IMDB_DATA_DIR (see the README)")

# (split, label folder, id, rating, text): a miniature IMDB, two reviews per split and label.
TINY_REVIEWS = [
    ("train", "pos", 0, 9, "A wonderful film.<br /><br />I loved it."),
    ("train", "pos", 1, 7, "Good acting, fine plot."),
    ("train", "neg", 0, 2, "Dull and far too long.<br />Skip it."),
    ("train", "neg", 1, 4, "Not great, not terrible, mostly boring."),
    ("test", "pos", 0, 10, "Brilliant! A masterpiece."),
    ("test", "pos", 1, 8, "Charming and funny, with a café scene."),
    ("test", "neg", 0, 1, "The worst film I have seen."),
    ("test", "neg", 1, 3, "Weak script, wooden actors."),
]
# The movie of each review, by (split, label folder, id); some movies have several reviews, of both labels.
TINY_MOVIES = {
    ("train", "pos", 0): "tt0000001", ("train", "pos", 1): "tt0000002",
    ("train", "neg", 0): "tt0000001", ("train", "neg", 1): "tt0000003",
    ("test", "pos", 0): "tt0000011", ("test", "pos", 1): "tt0000012",
    ("test", "neg", 0): "tt0000012", ("test", "neg", 1): "tt0000013",
}


def tiny_url_lists() -> dict[str, str]:
    """``<split>/urls_<label>.txt`` as in the official archive: line i is the IMDb page of review id i."""
    lists = {}
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            ids = sorted(i for s, lab, i in TINY_MOVIES if (s, lab) == (split, label))
            lines = [f"http://www.imdb.com/title/{TINY_MOVIES[split, label, i]}/usercomments\n" for i in ids]
            lists[f"{split}/urls_{label}.txt"] = "".join(lines)
    lists["train/urls_unsup.txt"] = "http://www.imdb.com/title/tt0000099/usercomments\n"  # never read
    return lists


def write_tree(root: Path, movies: bool = True) -> Path:
    """Write TINY_REVIEWS as an extracted ``aclImdb/`` tree under ``root``, with its URL lists if ``movies``;
    return the aclImdb folder."""
    for split, label, review_id, rating, text in TINY_REVIEWS:
        path = root / "aclImdb" / split / label / f"{review_id}_{rating}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for name, content in tiny_url_lists().items() if movies else ():
        (root / "aclImdb" / name).write_text(content)
    (root / "aclImdb" / "train" / "unsup").mkdir()
    (root / "aclImdb" / "train" / "unsup" / "0_0.txt").write_text("unlabelled, never read")
    (root / "aclImdb" / "imdb.vocab").write_text("the\nfilm\n")
    return root / "aclImdb"


def write_tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def tiny_archive_members(movies: bool = True) -> dict[str, bytes]:
    members = {f"aclImdb/{s}/{lab}/{i}_{r}.txt": t.encode() for s, lab, i, r, t in TINY_REVIEWS}
    lists = {f"aclImdb/{name}": content.encode() for name, content in tiny_url_lists().items()}
    return members | lists if movies else members


def write_jsonl(folder: Path, movies: bool = True) -> Path:
    """Write TINY_REVIEWS as ``train.jsonl.gz`` and ``test.jsonl.gz`` in ``folder``, with "movie" if ``movies``."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        with gzip.open(folder / f"{split}.jsonl.gz", "wt", encoding="utf-8") as f:
            for s, label, review_id, rating, text in TINY_REVIEWS:
                if s == split:
                    record = {"id": review_id, "rating": rating, "label": int(label == "pos"), "text": text}
                    if movies:
                        record["movie"] = TINY_MOVIES[s, label, review_id]
                    f.write(json.dumps(record) + "\n")
    return folder


@pytest.fixture
def tiny_tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path)


@pytest.fixture
def tiny_tarball(tmp_path: Path) -> Path:
    return write_tarball(tmp_path / "aclImdb_v1.tar.gz", tiny_archive_members())


@pytest.fixture
def tiny_jsonl(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "jsonl")


@pytest.fixture
def no_env_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No IMDB_DATA_DIR and an empty cache: only explicit paths or a download can provide data."""
    monkeypatch.delenv("IMDB_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("IMDB_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="module")
def lesson3():
    """Lesson 3's reference code, as the lesson exports it."""
    from shared.lessons import lstm

    return lstm


@pytest.fixture(scope="module")
def one_thread():
    """A tiny model gains nothing from threads, and on a CPU busy with other jobs, threads waiting for each
    other make every call last seconds."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
