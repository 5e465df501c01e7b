"""The IMDB loaders: every format, every source, every way the data can be wrong, and the real data."""

import gzip
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_archive_members, write_jsonl, write_tarball, write_tree

from shared import data
from shared.data import DataError, download, load_imdb


def assert_tiny(imdb: data.Imdb, movies: bool = True) -> None:
    assert len(imdb.train) == len(imdb.test) == 4
    assert imdb.train.labels.tolist() == [0, 0, 1, 1]  # sorted by (label, id)
    assert imdb.train.ratings.tolist() == [2, 4, 9, 7]
    assert imdb.train.texts[0] == "Dull and far too long.<br />Skip it."
    assert "café" in imdb.test.texts[3]  # read as UTF-8
    if movies:  # TINY_MOVIES in the same order: neg 0, neg 1, pos 0, pos 1
        assert imdb.train.movies.tolist() == ["tt0000001", "tt0000003", "tt0000001", "tt0000002"]
        assert imdb.test.movies.tolist() == ["tt0000012", "tt0000013", "tt0000011", "tt0000012"]
    else:
        assert imdb.train.movies is None and imdb.test.movies is None


def write_without_movies(fmt: str, tmp_path: Path) -> Path:
    """The tiny data in format ``fmt`` with no URL lists / no "movie" key."""
    if fmt == "tree":
        return write_tree(tmp_path, movies=False)
    if fmt == "archive":
        return write_tarball(tmp_path / "aclImdb_v1.tar.gz", tiny_archive_members(movies=False))
    return write_jsonl(tmp_path / "jsonl", movies=False)


# --------------------------------------------------------------------------- formats and sources


@pytest.mark.parametrize("fixture", ["tiny_tree", "tiny_tarball", "tiny_jsonl"])
def test_every_format_reads_the_same_reviews_and_movies(fixture, request, no_env_data):
    assert_tiny(load_imdb(request.getfixturevalue(fixture), check_counts=False))


def test_a_folder_holding_aclimdb_is_found(tiny_tree, no_env_data):
    assert_tiny(load_imdb(tiny_tree.parent, check_counts=False))


def test_unlabelled_reviews_are_never_read(tiny_tree, no_env_data):
    imdb = load_imdb(tiny_tree, check_counts=False)
    assert not any("unlabelled" in text for text in imdb.train.texts)


def test_explicit_path_wins_over_environment(tiny_tree, tiny_jsonl, monkeypatch):
    monkeypatch.setenv("IMDB_DATA_DIR", str(tiny_jsonl))
    assert data.locate_imdb(tiny_tree) == tiny_tree
    assert data.locate_imdb() == tiny_jsonl


def test_environment_wins_over_cache(tiny_jsonl, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    from conftest import write_tree

    write_tree(cache)
    monkeypatch.setenv("IMDB_CACHE_DIR", str(cache))
    monkeypatch.setenv("IMDB_DATA_DIR", str(tiny_jsonl))
    assert data.locate_imdb() == tiny_jsonl
    monkeypatch.delenv("IMDB_DATA_DIR")
    assert data.locate_imdb() == cache


def test_missing_data_says_where_it_looked_and_how_to_fix(no_env_data):
    with pytest.raises(DataError) as error:
        load_imdb(download=False)
    message = str(error.value)
    assert str(no_env_data) in message and "IMDB_DATA_DIR" in message and "load_imdb(" in message


@pytest.mark.parametrize("where", ["argument", "environment"])
def test_a_wrong_path_is_an_error_not_a_fall_through(where, tmp_path, no_env_data, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    if where == "environment":
        monkeypatch.setenv("IMDB_DATA_DIR", str(empty))
    with pytest.raises(DataError, match="holds no IMDB data"):
        load_imdb(empty if where == "argument" else None)
    with pytest.raises(DataError, match="does not exist"):
        load_imdb(tmp_path / "nowhere")


def test_wrong_counts_are_reported(tiny_tree, no_env_data):
    with pytest.raises(DataError, match=r"has 4 reviews .* official split has 25,000"):
        load_imdb(tiny_tree)


# --------------------------------------------------------------------------- damaged files


def test_truncated_gzip_is_reported(tiny_jsonl, no_env_data):
    train = tiny_jsonl / "train.jsonl.gz"
    train.write_bytes(train.read_bytes()[:-20])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_imdb(tiny_jsonl, check_counts=False)


def test_truncated_archive_is_reported(tiny_tarball, no_env_data):
    tiny_tarball.write_bytes(tiny_tarball.read_bytes()[:200])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_imdb(tiny_tarball, check_counts=False)


def test_invalid_json_line_is_reported(tiny_jsonl, no_env_data):
    with gzip.open(tiny_jsonl / "test.jsonl.gz", "at") as f:
        f.write("{not json\n")
    with pytest.raises(DataError, match="line 5, is not valid JSON"):
        load_imdb(tiny_jsonl, check_counts=False)


@pytest.mark.parametrize("hostile", ["../escaped.txt", "aclImdb/../../escaped.txt", "/var/escaped.txt"])
def test_hostile_archive_is_refused_and_writes_nothing(hostile, tmp_path):
    members = tiny_archive_members() | {hostile: b"gotcha"}
    archive = write_tarball(tmp_path / "hostile.tar.gz", members)
    target = tmp_path / "deep" / "target"
    with pytest.raises(DataError, match="unsafe to extract"):
        data.safe_extract(archive, target)
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not list(target.rglob("*.txt"))


def test_link_out_of_the_target_is_refused(tmp_path):
    import tarfile

    archive = tmp_path / "links.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(DataError, match="unsafe to extract"):
        data.safe_extract(archive, tmp_path / "target")


def test_safe_extract_keeps_only_labelled_reviews_and_their_url_lists(tiny_tree, tmp_path):
    import tarfile

    archive = tmp_path / "full.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tiny_tree, arcname="aclImdb")
    data.safe_extract(archive, tmp_path / "out")
    extracted = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.txt"))
    assert len(extracted) == 8 + 4 and not any("unsup" in p for p in extracted)
    assert "aclImdb/train/urls_pos.txt" in extracted
    assert not (tmp_path / "out" / "aclImdb" / "imdb.vocab").exists()


# --------------------------------------------------------------------------- movies


@pytest.mark.parametrize("fmt", ["tree", "archive", "jsonl"])
def test_a_copy_without_movies_loads_with_one_warning(fmt, tmp_path, no_env_data):
    with pytest.warns(data.NoMoviesWarning, match="review by review.*flatters") as caught:
        imdb = load_imdb(write_without_movies(fmt, tmp_path), check_counts=False)
    assert len(caught) == 1 and "aclImdb_v1.tar.gz" in str(caught[0].message)
    assert_tiny(imdb, movies=False)
    assert data.validation_method(imdb.train) == "by review"


def test_one_missing_url_list_drops_the_movies_and_names_it(tiny_tree, no_env_data):
    (tiny_tree / "test" / "urls_neg.txt").unlink()
    with pytest.warns(data.NoMoviesWarning, match=r"missing: test/urls_neg\.txt\)"):
        assert_tiny(load_imdb(tiny_tree, check_counts=False), movies=False)


def test_a_short_url_list_is_an_error_naming_file_and_line(tiny_tree, no_env_data):
    url_list = tiny_tree / "train" / "urls_neg.txt"
    url_list.write_text(url_list.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match=r"train/urls_neg\.txt ends at line 1, but review id 1 needs line 2.*official"):
        load_imdb(tiny_tree, check_counts=False)


def test_a_short_url_list_in_the_archive_is_an_error(tmp_path, no_env_data):
    members = tiny_archive_members() | {"aclImdb/test/urls_pos.txt": b""}
    archive = write_tarball(tmp_path / "aclImdb_v1.tar.gz", members)
    with pytest.raises(DataError, match=r"aclImdb/test/urls_pos\.txt in .*aclImdb_v1\.tar\.gz ends at line 0"):
        load_imdb(archive, check_counts=False)


def test_a_url_without_title_id_is_an_error_naming_file_and_line(tiny_tree, no_env_data):
    url_list = tiny_tree / "test" / "urls_pos.txt"
    first = url_list.read_text().splitlines()[0]
    url_list.write_text(f"{first}\nhttp://www.imdb.com/title/unknown/usercomments\n")
    with pytest.raises(DataError, match=r"test/urls_pos\.txt, line 2 \(review id 1\), has no IMDb title id"):
        load_imdb(tiny_tree, check_counts=False)


def test_a_jsonl_line_without_movie_among_lines_with_one_is_an_error(tiny_jsonl, no_env_data):
    with gzip.open(tiny_jsonl / "train.jsonl.gz", "at") as f:
        f.write('{"id": 2, "rating": 8, "label": 1, "text": "No movie here."}\n')
    with pytest.raises(DataError, match=r"train\.jsonl\.gz, line 5: \"movie\" is None"):
        load_imdb(tiny_jsonl, check_counts=False)


def test_take_carries_the_movies(tiny_jsonl, no_env_data):
    train = load_imdb(tiny_jsonl, check_counts=False).train
    picked = train.take(np.array([3, 0]))
    assert picked.movies.tolist() == ["tt0000002", "tt0000001"] and picked.labels.tolist() == [1, 0]


# --------------------------------------------------------------------------- download over HTTP on 127.0.0.1


class ArchiveServer:
    """Serves one archive on 127.0.0.1; ``cut_after`` bytes makes it drop the connection mid-way."""

    def __init__(self, payload: bytes, cut_after: int | None = None):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: cut_after] if cut_after is not None else payload)

            def log_message(self, *args):
                pass

        self.requests = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/aclImdb_v1.tar.gz"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(payload: bytes, cut_after: int | None = None) -> ArchiveServer:
        servers.append(ArchiveServer(payload, cut_after))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def cache_is_clean(cache: Path) -> bool:
    """Nothing half-written: no temporary download folders, no partial aclImdb."""
    return not cache.exists() or not any(cache.iterdir())


def test_download_verifies_and_extracts(tiny_tarball, serve, no_env_data):
    payload = tiny_tarball.read_bytes()
    server = serve(payload)
    cache = data.download_imdb(url=server.url, sha256=hashlib.sha256(payload).hexdigest())
    assert cache == no_env_data
    assert sorted(p.name for p in cache.iterdir()) == ["aclImdb"]
    assert_tiny(load_imdb(check_counts=False, download=False))
    data.download_imdb(url=server.url, sha256="unused when the cache is full")
    assert server.requests == 1  # the second call found the cache


def test_load_imdb_downloads_when_nothing_is_found(tiny_tarball, serve, no_env_data, monkeypatch):
    payload = tiny_tarball.read_bytes()
    server = serve(payload)
    monkeypatch.setattr(download, "OFFICIAL_URL", server.url)  # where download_imdb reads them
    monkeypatch.setattr(download, "OFFICIAL_SHA256", hashlib.sha256(payload).hexdigest())
    assert_tiny(load_imdb(check_counts=False))


def test_wrong_checksum_keeps_nothing(tiny_tarball, serve, no_env_data):
    server = serve(tiny_tarball.read_bytes())
    with pytest.raises(DataError, match="expected 0+ .*nothing was kept"):
        data.download_imdb(url=server.url, sha256="0" * 64)
    assert cache_is_clean(no_env_data)


def test_connection_cut_midway_keeps_nothing(tiny_tarball, serve, no_env_data):
    payload = tiny_tarball.read_bytes()
    server = serve(payload, cut_after=len(payload) // 2)
    with pytest.raises(DataError, match="Downloading .* failed"):
        data.download_imdb(url=server.url, sha256=hashlib.sha256(payload).hexdigest())
    assert cache_is_clean(no_env_data)


def test_unreachable_server_is_reported(no_env_data):
    with pytest.raises(DataError, match="Nothing was kept"):
        data.download_imdb(url="http://127.0.0.1:9/aclImdb_v1.tar.gz")
    assert cache_is_clean(no_env_data)


# --------------------------------------------------------------------------- splits


def test_validation_split_is_stratified_deterministic_and_disjoint(tiny_tree, no_env_data):
    reviews = data.Reviews([f"review {i}" for i in range(100)], np.arange(100) % 2, np.ones(100, dtype=np.int64))
    train, validation = data.validation_split(reviews, 0.2, seed=3)
    again, _ = data.validation_split(reviews, 0.2, seed=3)
    other, _ = data.validation_split(reviews, 0.2, seed=4)
    assert (len(train), len(validation)) == (80, 20)
    assert validation.labels.sum() == 10
    assert train.texts == again.texts and train.texts != other.texts
    assert not set(train.texts) & set(validation.texts)


def reviews_of_movies(seed: int = 0) -> data.Reviews:
    """Reviews of 100 movies with 1 to 12 reviews each, every movie leaning to one label as real movies do."""
    rng = np.random.default_rng(seed)
    movie_ids = rng.permutation(np.repeat(np.arange(100), rng.integers(1, 13, 100)))
    labels = (rng.random(len(movie_ids)) < rng.choice([0.2, 0.8], 100)[movie_ids]).astype(np.int64)
    movies = np.array([f"tt{m:07d}" for m in movie_ids])
    texts = [f"review {i}" for i in range(len(labels))]
    return data.Reviews(texts, labels, np.where(labels == 1, 8, 2), movies)


def test_split_by_movie_keeps_every_movie_on_one_side_and_is_stratified():
    reviews = reviews_of_movies()
    train, validation = data.validation_split(reviews, 0.2, seed=0)
    assert not set(train.movies) & set(validation.movies)
    assert sorted(train.texts + validation.texts) == sorted(reviews.texts)
    assert 0.15 <= len(validation) / len(reviews) <= 0.25
    assert abs(validation.labels.mean() - reviews.labels.mean()) < 0.05
    assert data.validation_method(reviews) == data.validation_method(reviews, by="movie") == "by movie"


def test_split_by_movie_is_reproducible_with_the_seed():
    reviews = reviews_of_movies()
    splits = [data.validation_split(reviews, 0.2, seed=seed)[1].texts for seed in (5, 5, 6)]
    assert splits[0] == splits[1] and splits[0] != splits[2]


def test_split_by_review_is_the_old_split_and_mixes_movies():
    from sklearn.model_selection import train_test_split

    reviews = reviews_of_movies()
    train, validation = data.validation_split(reviews, 0.2, seed=3, by="review")
    _, old = train_test_split(np.arange(len(reviews)), test_size=0.2, stratify=reviews.labels, random_state=3)
    assert validation.texts == [reviews.texts[i] for i in sorted(old)]
    assert set(train.movies) & set(validation.movies)  # the leak that splitting by movie avoids
    assert data.validation_method(reviews, by="review") == "by review"


def test_split_by_movie_needs_movies_and_a_sensible_fraction():
    reviews = reviews_of_movies()
    no_movies = data.Reviews(reviews.texts, reviews.labels, reviews.ratings)
    with pytest.raises(DataError, match="name no movies.*by=\"review\""):
        data.validation_split(no_movies, by="movie")
    with pytest.raises(DataError, match="name no movies"):
        data.validation_method(no_movies, by="movie")
    with pytest.raises(ValueError, match="by must be"):
        data.validation_method(reviews, by="film")
    with pytest.raises(ValueError, match="between 0 and 0.5"):
        data.validation_split(reviews, 0.9)
    with pytest.raises(ValueError, match="cannot hold out 1/10 of the movies"):
        data.validation_split(reviews.take(np.flatnonzero(np.isin(reviews.movies, reviews.movies[:3]))), 0.1)


def test_stratified_sample_keeps_the_balance():
    reviews = data.Reviews([str(i) for i in range(100)], np.arange(100) % 2, np.ones(100, dtype=np.int64))
    sample = data.stratified_sample(reviews, 10, seed=0)
    assert len(sample) == 10 and sample.labels.sum() == 5
    assert data.stratified_sample(reviews, 1000) is reviews


# --------------------------------------------------------------------------- the real data


@pytest.mark.slow
@pytest.mark.real_data
def test_real_imdb_has_the_official_split():
    imdb = load_imdb()
    for reviews in (imdb.train, imdb.test):
        assert len(reviews) == 25_000
        assert np.bincount(reviews.labels).tolist() == [12_500, 12_500]
        assert set(reviews.ratings[reviews.labels == 1]) <= {7, 8, 9, 10}
        assert set(reviews.ratings[reviews.labels == 0]) <= {1, 2, 3, 4}
    assert sum("<br />" in text for text in imdb.train.texts) == 14_665


@pytest.mark.slow
@pytest.mark.real_data
def test_real_imdb_names_the_movies_and_splits_by_them():
    imdb = load_imdb()
    assert (len(set(imdb.train.movies)), len(set(imdb.test.movies))) == (3_456, 3_581)
    assert len(set(imdb.train.movies) & set(imdb.test.movies)) == 1  # the official splits are disjoint in movies
    train, validation = data.validation_split(imdb.train, 0.1, seed=0)
    assert 0.09 <= len(validation) / len(imdb.train) <= 0.11
    assert not set(train.movies) & set(validation.movies)
    assert abs(validation.labels.mean() - 0.5) < 0.03 and abs(train.labels.mean() - 0.5) < 0.03
    assert data.validation_method(imdb.train) == "by movie"
