"""load_imdb("tfds"): TensorFlow Datasets' imdb_reviews, offline, through tfds's own download and checksum code.

tfds checks a download against the size and sha256 a dataset registers for its URL in the ``checksums.tsv`` beside
its code. The tests' archive is not the official one, so the tests register it the way tfds documents for a dataset
of one's own: a dataset folder, ``tiny_imdb_reviews/``, whose builder is imdb_reviews' own, unchanged, and whose
``checksums.tsv`` gives the tests' archive for imdb_reviews' URL. A server on 127.0.0.1, set as the HTTP proxy,
answers tfds's request for that URL (an http:// one) with the archive. Everything else is tfds's real code.
"""

import hashlib
import importlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import tiny_archive_members, write_tarball, write_tree
from tensorflow_datasets.datasets.imdb_reviews import imdb_reviews_dataset_builder

from shared import data
from shared.data import DataError, load_imdb, tfds

IMDB_REVIEWS = imdb_reviews_dataset_builder.Builder
(OFFICIAL_URL,) = IMDB_REVIEWS.url_infos  # the one URL imdb_reviews downloads
TINY_NAME = "tiny_imdb_reviews"
# tfds also prepares imdb_reviews' unlabelled split, and refuses an empty one
UNLABELLED = {"aclImdb/train/unsup/0_0.txt": b"An unlabelled review, never read by the course."}
BUILDER_CODE = '''"""imdb_reviews itself: only the checksums.tsv beside this file differs."""

from tensorflow_datasets.datasets.imdb_reviews import imdb_reviews_dataset_builder


class Builder(imdb_reviews_dataset_builder.Builder):
    pass
'''


def tiny_archive(path: Path, movies: bool = True) -> bytes:
    return write_tarball(path, tiny_archive_members(movies) | UNLABELLED).read_bytes()


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Register the tiny_imdb_reviews dataset with tfds; return the archive registered for imdb_reviews' URL.

    tfds reads a dataset's checksums once per process, so the one archive serves the whole module."""
    root = tmp_path_factory.mktemp("tfds_datasets")
    payload = tiny_archive(root / "aclImdb_v1.tar.gz")
    folder = root / TINY_NAME
    folder.mkdir()
    (folder / f"{TINY_NAME}_dataset_builder.py").write_text(BUILDER_CODE)
    (folder / "checksums.tsv").write_text(
        f"{OFFICIAL_URL}\t{len(payload)}\t{hashlib.sha256(payload).hexdigest()}\taclImdb_v1.tar.gz\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        importlib.import_module(f"{TINY_NAME}.{TINY_NAME}_dataset_builder")  # tfds registers it by this name
    return payload


class Proxy:
    """An HTTP proxy on 127.0.0.1 that answers every request with ``payload`` (its first ``cut_after`` bytes, then
    a dropped connection, if set) and records the URLs asked for."""

    def __init__(self):
        proxy = self
        self.payload, self.cut_after, self.requested = b"", None, []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                proxy.requested.append(self.path)  # a proxy is asked for the whole URL
                self.send_response(200)
                self.send_header("Content-Length", str(len(proxy.payload)))
                self.end_headers()
                self.wfile.write(proxy.payload[: proxy.cut_after])

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch, tiny_dataset: bytes, no_env_data: Path):
    """load_imdb("tfds") reads tiny_imdb_reviews, whose download of imdb_reviews' URL this proxy answers with the
    registered archive; nothing is found anywhere else (no_env_data)."""
    server = Proxy()
    server.payload = tiny_dataset
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, server.url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tfds, "TFDS_NAME", TINY_NAME)  # where the tfds reader reads it
    yield server
    server.close()


def pairs(reviews: data.Reviews) -> list[tuple[int, str]]:
    return list(zip(reviews.labels.tolist(), reviews.texts))


def archives_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".tar.gz")]


def test_tfds_checks_the_archive_the_course_checks():
    info = IMDB_REVIEWS.url_infos[OFFICIAL_URL]
    assert (info.checksum, int(info.size)) == (data.OFFICIAL_SHA256, data.OFFICIAL_SIZE)
    assert OFFICIAL_URL.split("://")[1] == data.OFFICIAL_URL.split("://")[1]


@pytest.mark.slow  # reading the records imports TensorFlow: 10 s the first time
def test_tfds_gives_the_reviews_and_labels_of_the_archive(proxy, no_env_data, tmp_path):
    with pytest.warns(data.NoMoviesWarning, match="imdb_reviews names no movies .*review by review"):
        imdb = load_imdb("tfds", check_counts=False)
    archive = tmp_path / "aclImdb_v1.tar.gz"
    archive.write_bytes(proxy.payload)
    expected = load_imdb(archive, check_counts=False)
    for split in data.SPLITS:
        found = getattr(imdb, split)
        assert pairs(found) == sorted(pairs(getattr(expected, split)))  # the same, sorted by label then text
        assert found.ratings is None and found.movies is None
    assert data.validation_method(imdb.train) == "by review"
    assert proxy.requested == [OFFICIAL_URL]
    assert not archives_in(no_env_data)  # only the prepared records are kept
    with pytest.warns(data.NoMoviesWarning):
        again = load_imdb("tfds", check_counts=False, download=False)
    assert pairs(again.test) == pairs(imdb.test) and len(proxy.requested) == 1  # prepared once


@pytest.mark.slow  # reading the records imports TensorFlow: 10 s the first time
def test_tfds_reviews_are_counted_like_the_others(proxy):
    with pytest.warns(data.NoMoviesWarning), pytest.raises(DataError, match=r"has 4 reviews .* official split has"):
        load_imdb("tfds")


def test_an_archive_with_another_checksum_is_refused_and_nothing_is_kept(proxy, no_env_data, tmp_path):
    proxy.payload = tiny_archive(tmp_path / "other.tar.gz", movies=False)
    with pytest.raises(DataError, match=r"not have the size and sha256 it registers .*\(Expected: .*; Got: .*kept"):
        load_imdb("tfds")
    assert proxy.requested == [OFFICIAL_URL]
    assert not archives_in(no_env_data)
    with pytest.raises(DataError, match="has not prepared"):
        load_imdb("tfds", download=False)


def test_a_download_cut_midway_is_an_error_and_nothing_is_kept(proxy, no_env_data):
    proxy.cut_after = len(proxy.payload) // 2
    with pytest.raises(DataError, match="(?s)could not download .*Nothing was kept"):
        load_imdb("tfds")
    assert not archives_in(no_env_data)


def test_without_download_tfds_needs_prepared_records(proxy, no_env_data):
    with pytest.raises(DataError, match=r"has not prepared .* in .*tensorflow_datasets yet.*download=True") as error:
        load_imdb("tfds", download=False)
    assert str(no_env_data) in str(error.value) and "IMDB_DATA_DIR" in str(error.value)
    assert proxy.requested == []


def test_imdb_data_dir_can_name_tfds_and_a_path_argument_still_wins(proxy, tmp_path, monkeypatch):
    monkeypatch.setenv("IMDB_DATA_DIR", "tfds")
    with pytest.raises(DataError, match="has not prepared"):
        load_imdb(download=False)
    tree = write_tree(tmp_path)
    assert load_imdb(tree, check_counts=False).train.movies is not None  # read from the folder, not from tfds
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="does not exist"):  # a Path is a path, even one called tfds
        load_imdb(Path("tfds"))
    assert proxy.requested == []
