"""The course's website (./course site): built by the Pages workflow's own build step (.github/workflows/site.yml)
run here as a runner runs it, then read in a real browser (Debian's Chromium, driven by Playwright) as a visitor
reads it. The build here runs lessons 0 and 8 (SITE_RUN); the full build's time is in the README."""

import functools
import http.server
import os
import re
import subprocess
import threading
from pathlib import Path
from urllib.parse import urljoin

import jupytext
import nbformat
import pytest
from playwright.sync_api import Page, expect

from shared.paths import ROOT
from shared.records import read_records
from test_demo_browser import ARTIFACTS, browser  # noqa: F401  Debian's Chromium, as the demo's browser test
from test_workflow import load, validate
from website import build
from website.lesson_page import (NEEDS_THE_MODEL, CellFailed, build_page, curve_png, newest_record,
                                 recorded_outputs, recorded_runs)

RUN = {0, 8}  # the lessons this build runs: a minute; the others show their recorded cells alone
LESSONS = [solution.stem for solution, _ in build.lesson_files()]
WORKFLOW = ROOT / ".github" / "workflows" / "site.yml"
BUILD_STEP = "Build the site"


def steps(job: str) -> list[dict]:
    return load(WORKFLOW)["jobs"][job]["steps"]


def quiet_handler(folder: Path):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # the test's output is the failures, not every request
            pass
    return functools.partial(Handler, directory=str(folder))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("site")
    script = next(step["run"] for step in steps("build") if step.get("name") == BUILD_STEP)
    environment = os.environ | {"SITE_OUTPUT": str(output), "SITE_RUN": " ".join(map(str, sorted(RUN)))}
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    upload = next(step for step in steps("build") if step.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "${{ env.SITE_OUTPUT }}/html"  # what Pages serves is what the step built
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), quiet_handler(output / "html"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture
def page(browser, site):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    page.close()


def crawl(page: Page, start: str) -> dict[str, list[str]]:
    """Every page of the site reachable from ``start``: its URL -> the console errors it logged."""
    seen, queue, statuses = {}, [start], {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        page.errors.clear()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        links = page.locator("a[href]").evaluate_all("links => links.map(link => link.href)")
        broken = [href for href in links if href.startswith(start) and not resolves(page, href, statuses)]
        images = page.locator("img").evaluate_all("images => images.filter(i => !i.complete || !i.naturalWidth)"
                                                  ".map(i => i.src)")
        seen[url] = list(page.errors) + [f"broken link {href}" for href in broken] + [
            f"broken image {src}" for src in images]
        queue += [href.split("#")[0] for href in links if href.startswith(start) and href.split("#")[0].endswith(".html")]
    return seen


def resolves(page: Page, href: str, statuses: dict[str, int]) -> bool:
    """Whether ``href`` (its fragment aside) answers 200; each address is asked once per crawl."""
    url = href.split("#")[0]
    if url not in statuses:
        statuses[url] = page.request.get(url).status
    return statuses[url] == 200


@pytest.mark.slow
@pytest.mark.real_data
def test_every_page_loads_with_no_console_error_broken_link_or_image(page, site):
    pages = crawl(page, site)
    expected = {urljoin(site, path) for path in ("index.html", "learn.html", "results.html",
                                                 *(f"lessons/{name}.html" for name in LESSONS))}
    assert expected <= set(pages), sorted(expected - set(pages))
    assert not {url: problems for url, problems in pages.items() if problems}


@pytest.mark.slow
@pytest.mark.real_data
def test_every_lesson_page_shows_its_outputs_and_figures(page, site):
    page.goto(site + "index.html")
    page.screenshot(path=str(ARTIFACTS / "site-start.png"), full_page=True)
    for name in LESSONS:
        page.goto(f"{site}lessons/{name}.html")
        outputs, figures = page.locator(".cell_output"), page.locator(".cell_output img")
        if int(name[:2]) in RUN:
            assert outputs.count() >= 1 and figures.count() >= 1, name
            expect(page.get_by_text("This build did not run this lesson")).to_have_count(0)
        else:
            expect(page.get_by_text("This build did not run this lesson")).to_be_visible()
        recorded = [run for run in lesson_runs(name) if run != NEEDS_THE_MODEL]
        for run in recorded:
            record = newest_record(run)
            shown = f"{record['test_accuracy']:.2%}" if record else "not run yet"
            expect(page.get_by_text(re.compile(re.escape(shown))).first).to_be_visible()
        curves = [run for run in recorded if (record := newest_record(run)) and curve_png(run, record)]
        assert figures.count() >= len(curves), name
    page.goto(f"{site}lessons/08_error_analysis.html")
    page.screenshot(path=str(ARTIFACTS / "site-lesson.png"), full_page=False)


def lesson_runs(name: str) -> list[str]:
    return [run for cell in jupytext.read(ROOT / "solutions" / f"{name}.py").cells for run in recorded_runs(cell)]


@pytest.mark.slow
@pytest.mark.real_data
def test_search_finds_nb_svm(page, site):
    page.goto(site + "search.html?q=NB-SVM")
    results = page.locator("#search-results li")
    expect(results.first).to_be_visible(timeout=20_000)
    assert "Lesson 2" in " ".join(results.all_inner_texts())


@pytest.mark.slow
@pytest.mark.real_data
def test_the_reference_code_is_folded_until_asked_for(page, site):
    page.goto(site + "lessons/00_setup.html")
    solution = page.locator("details").filter(has_text="Show the solution").first
    code = solution.get_by_text("keras.backend.backend()")
    expect(code).to_be_hidden()
    expect(page.get_by_text('raise NotImplementedError("Exercise 0.1').first).to_be_visible()  # the starting point
    solution.locator("summary").click()
    expect(code).to_be_visible()


# --------------------------------------------------------------------------- what every full build shows


@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_draws_a_figure_on_a_full_build(name):
    """A cell that runs on the site draws with show_and_save, or a recorded run has a curve to draw."""
    cells = jupytext.read(ROOT / "solutions" / f"{name}.py").cells
    drawn = any("show_and_save(" in cell.source for cell in cells if cell.cell_type == "code" and not recorded_runs(cell))
    curves = [run for run in lesson_runs(name) if run != NEEDS_THE_MODEL and (record := newest_record(run))
              and curve_png(run, record)]
    assert drawn or curves, f"{name} shows no figure on the site"


def test_the_readme_quotes_the_newest_full_build():
    record = read_records(build.RECORDS)[-1]
    sentence = re.search(r"The full build took ([\d.]+) min \((\d+) s, ([\d.]+) MB of HTML; lesson 1, which reads all "
                         r"50,000 reviews, (\d+) s of it\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert sentence, "the README no longer quotes the full build's time: update this test with its sentence"
    assert sentence.groups() == (f"{record['seconds'] / 60:.1f}", f"{record['seconds']:.0f}", f"{record['megabytes']:.1f}",
                                 f"{record['lessons_run']['01_data']:.0f}"), record


# --------------------------------------------------------------------------- bad input


def test_a_failing_cell_fails_the_build_naming_the_lesson_the_cell_and_the_error(tmp_path):
    solution, exercise = tmp_path / "solutions" / "09_broken.py", tmp_path / "lessons" / "09_broken.py"
    for path in (solution, exercise):
        path.parent.mkdir()
        path.write_text("# %% [markdown]\n# # Lesson 9\n\n# %%\nx = 1\n\n# %%\nraise ValueError('no such column: stars')\n")
    with pytest.raises(CellFailed, match=r"09_broken.py, cell 2 \(raise ValueError.*\): ValueError: no such column"):
        build_page(solution, exercise, execute=True, workdir=tmp_path, cell_seconds=60)


def test_a_missing_or_unreadable_figure_is_named_with_the_command_that_makes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "ROOT", tmp_path)
    for content in (None, b"not a png"):
        figure = tmp_path / "time_to_accuracy.png"
        if content is not None:
            figure.write_bytes(content)
        with pytest.raises(build.BuildError, match=r"time_to_accuracy.png is missing or unreadable .*"
                                                   r"`python -m benchmarks.report` makes it"):
            build.readable_figure(figure, "python -m benchmarks.report")


def test_a_run_never_recorded_shows_the_command_that_records_it():
    cell = nbformat.v4.new_code_cell("run()", metadata={"recorded": "classical/no-such-config"})
    text = recorded_outputs(cell)[0]["data"]["text/markdown"]
    assert "not run yet" in text and "`python -m benchmarks.run --track classical --config no-such-config`" in text


def test_links_to_the_repository_s_files_become_their_names():
    markdown = "see [`tests/x.md`](tests/x.md), [the docs](https://example.org) and [below](#below)"
    assert build.repository_links_as_text(markdown) == \
        "see `tests/x.md`, [the docs](https://example.org) and [below](#below)"


# --------------------------------------------------------------------------- the Pages workflow


def test_the_pages_workflow_is_valid_for_github(tmp_path):
    done = validate(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "site.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: build", "needs: [build, 3]"))
    assert validate(broken).returncode == 1


def test_the_course_publishes_from_main_and_only_the_deployment_may_write():
    workflow = load(WORKFLOW)
    assert workflow["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    build_job, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert "permissions" not in build_job and "fork" in build_job["if"]
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    uses = [step["uses"] for job in ("build", "deploy") for step in steps(job) if "uses" in step]
    assert all(re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})", action) for action in uses), uses
