"""Fixtures of the graded checks: the lesson under test (from --target) and real data subsets."""

import types

import pytest

from shared.data import Imdb, load_imdb, stratified_sample
from shared.grading.lessons import find_lesson, import_lesson


@pytest.fixture(scope="module")
def lesson(request: pytest.FixtureRequest) -> types.ModuleType:
    """The lesson named by the test module's LESSON, imported from --target without its long cells."""
    return import_lesson(find_lesson(request.module.LESSON, request.config.getoption("target")))


@pytest.fixture(scope="session")
def imdb() -> Imdb:
    """The real data, found as the course always finds it (IMDB_DATA_DIR, the cache, or a download)."""
    return load_imdb()


@pytest.fixture(scope="session")
def small_imdb(imdb: Imdb) -> Imdb:
    """2,000 training and 1,000 test reviews, balanced, always the same: enough for a short seeded run."""
    return Imdb(stratified_sample(imdb.train, 2_000, seed=0), stratified_sample(imdb.test, 1_000, seed=0))
