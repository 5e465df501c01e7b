"""The lessons as notebooks: ./course lab serves the .py files as notebooks through jupytext, and a lesson run as
a notebook from lessons/ shows its figure below the cell and writes it to the repository's artifacts/."""

import contextlib
import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from shared.grading.lessons import lesson_files
from shared.lab.contents import LANGUAGE_INFO
from shared.paths import ROOT
from shared.ports import free_port

LONG_NOTE = "# Long: `./course grade` skips this cell"

SPLIT_SIZE = 12_500  # reviews of each label in each split: load_imdb() checks the official counts
WORDS = {1: ["great", "wonderful", "moving", "superb", "charming", "funny"],
         0: ["dull", "boring", "awful", "wooden", "weak", "tedious"]}
NEUTRAL = ["the", "film", "plot", "actors", "scene", "story", "music", "ending", "was", "and", "a", "it"]


def write_synthetic_imdb(folder: Path, seed: int = 0) -> Path:
    """``train.jsonl.gz`` and ``test.jsonl.gz`` with the official counts of short made-up reviews (load_imdb()
    checks the counts), each with its rating and movie: every cell of lesson 1 runs on them in seconds."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, first_movie in (("train", 0), ("test", 5_000)):
        with gzip.open(folder / f"{split}.jsonl.gz", "wt", encoding="utf-8") as lines:
            for label in (1, 0):
                for review_id in range(SPLIT_SIZE):
                    words = rng.choice(NEUTRAL + WORDS[label] * 2, size=rng.integers(5, 40))
                    rating = int(rng.integers(7, 11) if label else rng.integers(1, 5))
                    movie = f"tt{first_movie + int(rng.integers(0, 2_000)):07d}"
                    record = {"id": review_id, "rating": rating, "label": label, "movie": movie,
                              "text": " ".join(words[:3]) + ".<br /><br />" + " ".join(words[3:]) + "."}
                    lines.write(json.dumps(record) + "\n")
    return folder


@pytest.fixture
def review_lengths_png():
    """Lesson 1's histogram in the repository's artifacts/, as it was before the test (if it was there)."""
    path = ROOT / "artifacts" / "lesson01" / "review_lengths.png"
    kept = (path.read_bytes(), path.stat()) if path.exists() else None
    yield path
    if kept is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(kept[0])
        os.utime(path, ns=(kept[1].st_atime_ns, kept[1].st_mtime_ns))


@pytest.mark.slow
def test_a_lesson_run_as_a_notebook_in_lessons_shows_its_figure_and_saves_it_at_the_root(
        tmp_path, monkeypatch, review_lengths_png):
    import jupytext
    from nbclient import NotebookClient

    monkeypatch.setenv("IMDB_DATA_DIR", str(write_synthetic_imdb(tmp_path / "imdb")))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel picks Jupyter's inline backend, as in JupyterLab
    monkeypatch.delenv("COURSE_ROOT", raising=False)  # the repository's own artifacts/
    stray = ROOT / "lessons" / "artifacts" / "lesson01" / "review_lengths.png"
    stray_before = stray.stat().st_mtime if stray.exists() else None
    started = time.time()
    notebook = jupytext.read(ROOT / "solutions" / "01_data.py")
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "lessons")}}).execute()  # the kernel's working folder

    histogram = next(cell for cell in notebook.cells if "review_lengths.png" in cell.source)
    shown = [output for output in histogram.outputs if "image/png" in output.get("data", {})]
    assert shown, f"expected the histogram below its cell, got outputs {[o.output_type for o in histogram.outputs]}"
    assert review_lengths_png.read_bytes()[:4] == b"\x89PNG" and review_lengths_png.stat().st_mtime >= started, (
        f"expected the histogram written to {review_lengths_png}")
    assert (stray.stat().st_mtime if stray.exists() else None) == stray_before, "written under lessons/ instead"


def test_no_lesson_writes_to_a_folder_relative_to_where_it_runs():
    for path in lesson_files("solutions"):
        assert 'Path("artifacts' not in path.read_text(encoding="utf-8"), (
            f"{path.name}: write under shared.paths.ARTIFACTS, the repository's artifacts/")


@pytest.mark.parametrize("course_root", [None, "elsewhere"])
def test_artifacts_are_the_repository_s_wherever_python_starts(tmp_path, course_root):
    env = {key: value for key, value in os.environ.items() if key != "COURSE_ROOT"}
    env["PYTHONPATH"] = str(ROOT)
    if course_root:
        env["COURSE_ROOT"] = str(tmp_path / course_root)
    found = subprocess.run([sys.executable, "-c", "from shared.paths import ARTIFACTS; print(ARTIFACTS)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found) == (tmp_path / course_root if course_root else ROOT) / "artifacts"



@pytest.mark.parametrize("path", lesson_files(ROOT / "lessons"), ids=lambda path: path.name)
def test_every_long_cell_says_so_on_its_first_line(path):
    """A cell's tags are hidden in JupyterLab: a learner learns that the grader skips a cell from its first line."""
    import jupytext

    long_cells = [cell for cell in jupytext.read(path).cells if "long" in cell.metadata.get("tags", [])]
    silent = [cell.source.splitlines()[0] for cell in long_cells if not cell.source.startswith(LONG_NOTE)]
    assert long_cells and not silent, f"long cells whose first line is not {LONG_NOTE!r}: {silent}"


@pytest.mark.parametrize("path", lesson_files(ROOT / "lessons"), ids=lambda path: path.name)
def test_saving_a_lesson_from_jupyterlab_changes_nothing(path):
    """JupyterLab saves the kernel it ran (the course's, as its kernel.json names it) and its language details,
    and jupytext its version: the header already holds the first and the last, and jupytext leaves the language
    out, so a learner's diff shows their work alone."""
    import jupytext
    from jupyter_client.kernelspec import KernelSpecManager

    text = path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="py:percent")
    spec = KernelSpecManager().get_kernel_spec("python3")
    notebook.metadata["kernelspec"] = {"display_name": spec.display_name, "language": spec.language,
                                       "name": "python3"}
    notebook.metadata["language_info"] = dict(LANGUAGE_INFO)  # the kernel's, which the lab gives (shared/lab)
    assert jupytext.writes(notebook, fmt="py:percent") == text


def get_json(url: str, token: str, server: subprocess.Popen, timeout: float = 120.0) -> dict:
    """The JSON at ``url`` once the server answers; fails if the server stops or never answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError):
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_course_lab_serves_the_lessons_as_notebooks(tmp_path):
    port, token = free_port(), "course-test"
    # as root too: ./course lab itself lets Jupyter start (this test runs as root in a container)
    command = [str(ROOT / "course"), "lab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}"]
    # no user configuration at all, and the caller anywhere: ./course lab brings what it needs
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "run")}
    env.pop("JUPYTER_CONFIG_PATH", None)
    with open(tmp_path / "lab.log", "wb") as log:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        lesson = get_json(f"{base}/api/contents/lessons/01_data.py?type=notebook&content=1", token, server)
        settings = get_json(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin", token, server)
        notices = get_json(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification", token, server)
        tab = lesson_tab_once_its_kernel_is_idle(f"{base}/lab/tree/lessons/01_data.py?token={token}")
    except (urllib.error.URLError, ConnectionError) as error:
        pytest.fail(f"./course lab did not serve the lesson ({error}):\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    cells = lesson["content"]["cells"]
    assert lesson["type"] == "notebook" and cells[0]["source"].startswith("# Lesson 1"), "not read as a notebook"
    assert any("long" in cell["metadata"].get("tags", []) for cell in cells), "the cells lost their long tags"
    viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
    assert viewers.get("python") == "Jupytext Notebook", f"a .py file opens with {viewers.get('python')}"
    defaults = {name: value["default"] for name, value in notices["schema"]["properties"].items()}
    assert (defaults["fetchNews"], defaults["checkForUpdates"]) == ("false", False), "Jupyter's news pop-up is on"
    assert lesson["content"]["metadata"].get("language_info") == LANGUAGE_INFO, "the lesson opens without its language"
    assert tab is None or "jp-mod-dirty" not in tab, f"the lesson's tab shows unsaved changes on opening: {tab}"


def lesson_tab_once_its_kernel_is_idle(url: str) -> str | None:
    """The classes of the lesson's tab in Chromium, once its kernel has started and is idle (None where there is
    no Chromium, outside CI)."""
    from playwright.sync_api import expect, sync_playwright
    from test_demo_browser import CHROMIUM, CHROMIUM_FLAGS

    if not CHROMIUM.is_file():
        assert os.environ.get("CI") != "true", f"CI has no {CHROMIUM}: .ci/run installs Debian's chromium"
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_function("() => document.querySelector('.jp-Notebook .jp-Cell') && [...document"
                                   ".querySelectorAll('[data-status]')].some(e => e.dataset.status === 'idle')")
            tab = page.locator(".lm-TabBar-tab.jp-mod-current").first
            with contextlib.suppress(AssertionError):  # it may take a moment to settle; a dirty tab stays dirty
                expect(tab).not_to_have_class(re.compile("jp-mod-dirty"), timeout=10_000)
            return tab.get_attribute("class")
        finally:
            browser.close()
