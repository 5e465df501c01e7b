"""Malformed IMDB copies: each gives a DataError naming the file and the line or archive member and saying how
to fix it (or, for a plain tar, the right reviews), and a failed download leaves nothing half-written."""

import ctypes
import gzip
import json
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_archive_members, write_jsonl, write_tarball, write_tree

from shared import data
from shared.data import DataError, load_imdb

UNREACHABLE = "http://127.0.0.1:9/aclImdb_v1.tar.gz"  # the discard port: nothing is downloaded
TOO_LARGE = b"a" * (2**20 + 1)  # one byte over the cap on a review: 1 MB, 70 times the longest real one
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def drop_file_privileges() -> None:
    """Let permission bits bind root in the calling thread, as they bind everyone else: Linux keeps capabilities per
    thread, and root reads and writes whatever it likes only through CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Sets(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, sets = Header(0x20080522, 0), (Sets * 2)()  # _LINUX_CAPABILITY_VERSION_3; pid 0 is this thread
    if libc.capget(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    sets[0].effective &= ~(1 << 1 | 1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(header), sets) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def run(call: Callable[[], object], *, unprivileged: bool = False, timeout: float = 5.0) -> object:
    """``call()`` in a thread, so that a loader that hangs fails the test instead of stalling it; ``unprivileged``:
    with file permissions binding even root (see drop_file_privileges)."""
    if unprivileged and is_root() and sys.platform != "linux":
        pytest.skip("root may read any file here, and only Linux lets a thread give that up")
    outcome = {}

    def target():
        try:
            if unprivileged and is_root():
                drop_file_privileges()
            outcome["result"] = call()
        except BaseException as error:  # handed to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"still running after {timeout} s: the loader hangs")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def raises_naming(source: Path, pattern: str, **how) -> str:
    """The message of the DataError that loading ``source`` raises; it must match ``pattern``."""
    with pytest.raises(DataError, match=pattern) as error:
        run(lambda: load_imdb(source, check_counts=False), **how)
    return str(error.value)


# --------------------------------------------------------------------------- jsonl lines

GOOD_LINE = {"id": 2, "rating": 8, "label": 1, "movie": "tt0000002", "text": "Fine."}
MISSING = object()


def line(**changes) -> bytes:
    """GOOD_LINE with ``changes``; a key changed to MISSING is left out."""
    record = {key: value for key, value in (GOOD_LINE | changes).items() if value is not MISSING}
    return json.dumps(record).encode()


def field(key: str, value: object) -> str:
    """The start of the message for a line whose ``key`` holds ``value``."""
    return rf'line 5: "{key}" is {re.escape(repr(value))}, not '


BAD_LINES = [
    pytest.param(line(label=MISSING), r'line 5 has no "label"; every review needs id, rating, label, text',
                 id="label-missing"),
    pytest.param(line(text=MISSING), r'line 5 has no "text"', id="text-missing"),
    pytest.param(line(rating=MISSING), r'line 5 has no "rating"', id="rating-missing"),
    pytest.param(line(id=MISSING), r'line 5 has no "id"', id="id-missing"),
    pytest.param(line(label="pos"), field("label", "pos") + r"0 \(negative\) or 1 \(positive\)", id="label-pos"),
    pytest.param(line(label="1"), field("label", "1"), id="label-string-1"),
    pytest.param(line(label=None), field("label", None), id="label-null"),
    pytest.param(line(label=-1), field("label", -1), id="label-minus-1"),
    pytest.param(line(label=2), field("label", 2), id="label-2"),
    pytest.param(line(label=0.7), field("label", 0.7), id="label-0.7"),
    pytest.param(line(label=1.0), field("label", 1.0), id="label-1.0"),
    pytest.param(line(label=True), field("label", True), id="label-true"),
    pytest.param(line(rating="x"), field("rating", "x") + "a whole number of stars from 1 to 10", id="rating-x"),
    pytest.param(line(rating=2**70), field("rating", 2**70), id="rating-2**70"),
    pytest.param(line(rating=0), field("rating", 0), id="rating-0"),
    pytest.param(line(rating=11), field("rating", 11), id="rating-11"),
    pytest.param(line(rating=8.0), field("rating", 8.0), id="rating-8.0"),
    pytest.param(line(id=-1), field("id", -1), id="id-minus-1"),
    pytest.param(line(id="2"), field("id", "2"), id="id-string"),
    pytest.param(line(text=None), field("text", None) + "a string", id="text-null"),
    pytest.param(line(text=5), field("text", 5), id="text-number"),
    pytest.param(b"[1, 2]", r"line 5 is \[1, 2\], not a JSON object", id="line-is-a-list"),
    pytest.param(b"5", r"line 5 is 5, not a JSON object", id="line-is-a-number"),
    pytest.param(b"[" * 100_000, r"line 5, is not valid JSON", id="line-nested-too-deep"),
    pytest.param(line(text="cafe").replace(b"cafe", b"caf\xe9"), r"line 5, is not valid UTF-8 \(byte 0xe9\)",
                 id="line-not-utf8"),
    pytest.param(line(text=TOO_LARGE.decode()), r"line 5 is larger than 1,048,576 bytes", id="line-over-1-MB"),
]


@pytest.mark.parametrize("check_counts", [True, False], ids=["counts-checked", "counts-unchecked"])
@pytest.mark.parametrize("bad_line, pattern", BAD_LINES)
def test_a_malformed_jsonl_line_is_refused_naming_file_and_line(bad_line, pattern, check_counts, tiny_jsonl,
                                                                no_env_data):
    train = tiny_jsonl / "train.jsonl.gz"
    with gzip.open(train, "ab") as f:
        f.write(bad_line + b"\n")
    with pytest.raises(DataError, match=pattern) as error:
        load_imdb(tiny_jsonl, check_counts=check_counts)
    assert f"{train}, line 5" in str(error.value)


def test_a_good_line_is_accepted(tiny_jsonl, no_env_data):
    with gzip.open(tiny_jsonl / "train.jsonl.gz", "ab") as f:
        f.write(line() + b"\n")
    assert len(load_imdb(tiny_jsonl, check_counts=False).train) == 5  # so the lines above fail for their fault


@pytest.mark.parametrize("content, pattern", [
    pytest.param(lambda plain: plain, "is uncompressed JSON text, not gzip-compressed JSON lines. Compress it",
                 id="uncompressed-jsonl"),
    pytest.param(lambda plain: b"\x89PNG\r\n\x1a\n" + bytes(64), "is a PNG image, not gzip", id="png-renamed"),
    pytest.param(lambda plain: b"", r"is empty \(0 bytes\), not gzip", id="empty"),
])
def test_a_jsonl_file_that_is_not_gzip_says_what_it_is(content, pattern, tiny_jsonl, no_env_data):
    train = tiny_jsonl / "train.jsonl.gz"
    train.write_bytes(content(gzip.decompress(train.read_bytes())))
    message = raises_naming(tiny_jsonl, pattern)
    assert str(train) in message


# --------------------------------------------------------------------------- the extracted tree


def review(tree: Path, name: str = "train/pos/2_8.txt") -> Path:
    return tree / name


def unreadable(path: Path) -> Path:
    path.chmod(0)
    return path


def fifo(path: Path) -> Path:
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


def symlink(path: Path, target: Path) -> Path:
    path.unlink(missing_ok=True)
    path.symlink_to(target)
    return path


def write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


# (damage the tree, returning the path the message must name; what the message says; run without root's rights)
BAD_TREES = [
    pytest.param(lambda tree: folder(review(tree)), "is a folder, not a file. Move it out of",
                 False, id="review-is-a-folder"),
    pytest.param(lambda tree: symlink(review(tree), tree / "train/pos/gone.txt"),
                 r"cannot be read \(No such file or directory; it is a link to .*gone\.txt\)", False,
                 id="review-is-a-broken-link"),
    pytest.param(lambda tree: symlink(review(tree), write(tree.parent / "secret.txt", b"not a review")),
                 r"is a link to .*secret\.txt, outside .*, and is not read", False, id="review-links-out-of-the-tree"),
    pytest.param(lambda tree: fifo(review(tree)), r"is a named pipe \(FIFO\), not a regular file", False,
                 id="review-is-a-fifo", marks=needs_fifo),
    pytest.param(lambda tree: fifo(tree / "test/urls_pos.txt"), r"is a named pipe \(FIFO\)", False,
                 id="url-list-is-a-fifo", marks=needs_fifo),
    pytest.param(lambda tree: unreadable(write(review(tree), b"Fine.")), r"cannot be read \(Permission denied\)",
                 True, id="review-unreadable"),
    pytest.param(lambda tree: unreadable(tree / "train/neg"), r"cannot be read \(Permission denied\)", True,
                 id="label-folder-unreadable"),
    pytest.param(lambda tree: unreadable(tree), r"cannot be checked \(Permission denied\): a folder above it is",
                 True, id="data-folder-unreadable"),
    pytest.param(lambda tree: write(review(tree), b"Fine.\nThen caf\xe9."), r"line 2, is not valid UTF-8 \(byte 0xe9\)",
                 False, id="review-not-utf8"),
    pytest.param(lambda tree: write(tree / "train/urls_neg.txt", (tree / "train/urls_neg.txt").read_bytes() + b"\xff"),
                 r"urls_neg\.txt, line 3, is not valid UTF-8", False, id="url-list-not-utf8"),
    pytest.param(lambda tree: write(review(tree), TOO_LARGE), "is larger than 1,048,576 bytes", False,
                 id="review-over-1-MB"),
    pytest.param(lambda tree: write(review(tree, "train/pos/2_11.txt"), b"Fine."),
                 r'2_11\.txt: "rating" is 11, not a whole number of stars from 1 to 10', False, id="rating-11-in-name"),
    pytest.param(lambda tree: write(review(tree, "test/neg/2_0.txt"), b"Dull."), r'2_0\.txt: "rating" is 0, not',
                 False, id="rating-0-in-name"),
]


@pytest.mark.parametrize("damage, pattern, unprivileged", BAD_TREES)
def test_a_malformed_tree_is_refused_naming_the_file(damage, pattern, unprivileged, tmp_path, no_env_data):
    tree = write_tree(tmp_path / "copy")
    named = damage(tree)
    assert str(named) in raises_naming(tree, pattern, unprivileged=unprivileged)


# --------------------------------------------------------------------------- the archive

# (member to add or replace, its content, what the message says)
BAD_MEMBERS = [
    pytest.param("aclImdb/train/pos/0_9.txt", b"Good.\n\xff", r"line 2, is not valid UTF-8 \(byte 0xff\)",
                 id="review-not-utf8"),
    pytest.param("aclImdb/test/urls_neg.txt", tiny_archive_members()["aclImdb/test/urls_neg.txt"] + b"\xfe\n",
                 r"line 3, is not valid UTF-8", id="url-list-not-utf8"),
    pytest.param("aclImdb/train/pos/5_9.txt", TOO_LARGE, "is larger than 1,048,576 bytes", id="review-over-1-MB"),
    pytest.param("aclImdb/train/pos/5_11.txt", b"Fine.", r'"rating" is 11, not', id="rating-11-in-name"),
    pytest.param("/aclImdb/train/pos/5_9.txt", b"Fine.", "whose path is absolute or leads out", id="absolute-path"),
    pytest.param("../aclImdb/train/pos/5_9.txt", b"Fine.", "whose path is absolute or leads out", id="dotdot-path"),
    pytest.param("aclImdb/../../aclImdb/train/pos/5_9.txt", b"Fine.", "whose path is absolute or leads out",
                 id="dotdot-inside-path"),
]


@pytest.mark.parametrize("member, content, pattern", BAD_MEMBERS)
def test_a_malformed_archive_member_is_refused_naming_it(member, content, pattern, tmp_path, no_env_data):
    archive = write_tarball(tmp_path / "aclImdb_v1.tar.gz", tiny_archive_members() | {member: content})
    message = raises_naming(archive, pattern)
    assert f"{member} in {archive}" in message or repr(member) in message


@pytest.mark.parametrize("content, pattern", [
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(600), "is a PNG image, not a gzip-compressed tar archive", id="png"),
    pytest.param(b"<!DOCTYPE html><html><body>Not Found</body></html>", "is an HTML page", id="html-error-page"),
    pytest.param(b"PK\x03\x04" + bytes(600), "is a ZIP archive", id="zip"),
    pytest.param(b"", r"is empty \(0 bytes\)", id="empty"),
    pytest.param(b"\x00\x01junk", r"is not a gzip-compressed tar archive \(it starts with b'\\x00\\x01junk'\)",
                 id="unknown"),
])
def test_an_archive_that_is_not_gzip_says_what_it_is(content, pattern, tmp_path, no_env_data):
    archive = write(tmp_path / "aclImdb_v1.tar.gz", content)
    assert f"{archive} " in raises_naming(archive, pattern + ".* download it again")
    with pytest.raises(DataError, match=pattern):
        data.safe_extract(archive, tmp_path / "out")


@pytest.mark.parametrize("name", ["aclImdb_v1.tar.gz", "aclImdb_v1.tar"])
def test_an_uncompressed_tar_reads_like_the_archive(name, tiny_tarball, tmp_path, no_env_data):
    plain = write(tmp_path / "plain" / name, gzip.decompress(tiny_tarball.read_bytes()))
    expected, read = load_imdb(tiny_tarball, check_counts=False), load_imdb(plain, check_counts=False)
    for split in ("train", "test"):
        got, want = getattr(read, split), getattr(expected, split)
        assert len(got) == 4 and got.texts == want.texts and got.movies.tolist() == want.movies.tolist()
        assert got.labels.tolist() == want.labels.tolist() and got.ratings.tolist() == want.ratings.tolist()
    data.safe_extract(plain, tmp_path / "out")
    assert len(list((tmp_path / "out" / "aclImdb").glob("*/*/*.txt"))) == 8  # <split>/<label>/<id>_<rating>.txt


@pytest.mark.parametrize("fixture, file", [("tiny_jsonl", "train.jsonl.gz"), ("tiny_tarball", "")])
def test_an_unreadable_jsonl_file_or_archive_is_named(fixture, file, request, no_env_data):
    source = request.getfixturevalue(fixture)
    named = unreadable(source / file)  # the archive itself when file is ""
    assert str(named) in raises_naming(source, r"cannot be read \(Permission denied\)", unprivileged=True)


# --------------------------------------------------------------------------- one split only


def without(copy: Path, part: str) -> Path:
    """``copy`` with its file or folder ``part`` deleted."""
    shutil.rmtree(copy / part) if (copy / part).is_dir() else (copy / part).unlink()
    return copy


def only_train_in_archive(tmp_path: Path) -> Path:
    members = {name: content for name, content in tiny_archive_members().items() if "/test/" not in name}
    return write_tarball(tmp_path / "aclImdb_v1.tar.gz", members)


def empty_test_folders(tree: Path) -> Path:
    for review_file in (tree / "test").glob("*/*.txt"):
        review_file.unlink()
    return tree


# (build a copy lacking a split, returning it; what the message says)
PARTIAL_COPIES = [
    pytest.param(lambda tmp: without(write_tree(tmp), "test").parent,  # the folder holding aclImdb/
                 "holds only part of the IMDB data: the test split is missing", id="tree-without-test"),
    pytest.param(lambda tmp: without(write_tree(tmp), "train"),
                 "holds only part of the IMDB data: the train split is missing", id="tree-without-train"),
    pytest.param(lambda tmp: without(write_tree(tmp), "test/neg"),
                 "the test split has no neg/ folder", id="tree-without-test-neg"),
    pytest.param(lambda tmp: without(write_jsonl(tmp / "jsonl"), "test.jsonl.gz"),
                 r"the test split is missing \(no .*test\.jsonl\.gz\)", id="jsonl-without-test"),
    pytest.param(lambda tmp: without(write_jsonl(tmp / "jsonl"), "train.jsonl.gz"),
                 r"the train split is missing \(no .*train\.jsonl\.gz\)", id="jsonl-without-train"),
    pytest.param(only_train_in_archive, "holds no test reviews: the test split is missing", id="archive-without-test"),
    pytest.param(lambda tmp: empty_test_folders(write_tree(tmp)), "holds no test reviews: the test split is missing",
                 id="tree-with-empty-test"),
]


@pytest.mark.parametrize("build, pattern", PARTIAL_COPIES)
def test_a_copy_with_one_split_says_which_is_missing(build, pattern, tmp_path, no_env_data):
    copy = build(tmp_path)
    assert str(copy) in raises_naming(copy, pattern)


# --------------------------------------------------------------------------- the download cache


def read_only(folder: Path) -> Path:
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def partial_cache(cache: Path) -> Path:
    without(write_tree(cache), "test")
    return cache


# (make the cache unusable, returning it; what the message says; run without root's rights)
BAD_CACHES = [
    pytest.param(lambda tmp: write(tmp / "cache", b"a file"), r"cache is a file, not a folder", False,
                 id="cache-is-a-file"),
    pytest.param(lambda tmp: write(tmp / "file", b"a file") / "cache", r"file is a file, not a folder", False,
                 id="cache-inside-a-file"),
    pytest.param(lambda tmp: read_only(tmp / "cache"), r"Permission denied", True, id="cache-read-only"),
    pytest.param(lambda tmp: partial_cache(tmp / "cache"),
                 "holds only part of the IMDB data: the test split is missing.*Delete", False, id="cache-partial"),
]


def snapshot(path: Path) -> list:
    """Everything at and under ``path``, to tell that nothing was written."""
    if not path.exists():
        return []
    if path.is_file():
        return [path.read_bytes()]
    return sorted(str(p) for p in path.rglob("*"))


@pytest.mark.parametrize("spoil, pattern, unprivileged", BAD_CACHES)
def test_an_unusable_cache_is_named_with_the_fix_and_left_as_it_was(spoil, pattern, unprivileged, tmp_path,
                                                                    no_env_data):
    cache = spoil(tmp_path)
    before = snapshot(cache)
    with pytest.raises(DataError, match=pattern) as error:
        run(lambda: data.download_imdb(cache, url=UNREACHABLE), unprivileged=unprivileged)
    message = str(error.value)
    assert str(cache) in message and "IMDB_CACHE_DIR" in message
    assert snapshot(cache) == before


# --------------------------------------------------------------------------- arguments out of their range


REVIEWS = data.Reviews([f"review {i}" for i in range(40)], np.array([0, 1] * 20), np.array([2, 9] * 20),
                       np.array([f"tt{i // 2:07d}" for i in range(40)]))


@pytest.mark.parametrize("fraction", [0, 0.0, 1, 1.5, -0.1, True, "0.1", None], ids=repr)
@pytest.mark.parametrize("by", ["movie", "review"])
def test_a_fraction_outside_0_to_1_is_refused_in_one_line(fraction, by):
    with pytest.raises(ValueError, match=r"^fraction is the share of the reviews held out, between 0 and 1 "
                                         rf"\(0\.1 holds out 10%\), not {re.escape(repr(fraction))}\.$"):
        data.validation_split(REVIEWS, fraction=fraction, by=by)


def test_a_fraction_above_a_half_is_refused_by_movie_and_drawn_by_review():
    with pytest.raises(ValueError, match="fraction must lie between 0 and 0.5 to hold out whole movies, not 0.7"):
        data.validation_split(REVIEWS, fraction=0.7, by="movie")
    assert [len(part) for part in data.validation_split(REVIEWS, fraction=0.7, by="review")] == [12, 28]


@pytest.mark.parametrize("size", [1, 0, -3, 2.5, True, "10"], ids=repr)
def test_a_sample_size_below_one_review_per_label_is_refused(size):
    with pytest.raises(ValueError, match=rf"^size is a number of reviews, at least 2 \(one of each label\), "
                                         rf"not {re.escape(repr(size))}\.$"):
        data.stratified_sample(REVIEWS, size)


@pytest.mark.parametrize("path", [3, 2.5, ["aclImdb"]], ids=repr)
def test_a_path_that_is_not_a_path_is_refused(path, no_env_data):
    with pytest.raises(TypeError, match=rf"^the IMDB path must be a str or a pathlib.Path, not {type(path).__name__} "):
        load_imdb(path)


def test_a_path_given_as_bytes_is_read_as_a_path(tiny_jsonl, no_env_data):
    assert len(load_imdb(os.fsencode(tiny_jsonl), check_counts=False).train) == 4


def test_a_review_id_of_5000_digits_is_damage_not_a_crash(tmp_path, no_env_data):
    member = f"aclImdb/train/pos/{'9' * 5000}_9.txt"
    archive = write_tarball(tmp_path / "aclImdb_v1.tar.gz", tiny_archive_members() | {member: b"Fine."})
    message = raises_naming(archive, r'"id" is')
    assert member[:40] in message or "99999" in message
