"""./course site: the course as a static website, built with Sphinx and myst-nb (website/conf.py).

    python -m website.build                 every lesson run on the real data (minutes: see the README)
    python -m website.build --run 0 8       only lessons 0 and 8 run; the others show their recorded cells alone
    python -m website.build --record        a full build, its time and size added to benchmarks/site_build.json
    SITE_RUN="0 8" python -m website.build  the same, as the tests run the Pages workflow's build step

The build stages its sources in website/_build/source: the pages of website/pages, one notebook per lesson
(website/lesson_page.py), each lesson's exercise notebook to download, the benchmark report with its plot, and
the tables it generates from the lessons and the records. Sphinx writes the site to website/_build/html.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from PIL import Image

from benchmarks.run import hardware
from shared.paths import ROOT
from shared.records import BENCHMARKS, append_record
from website.lesson_page import CellFailed, LessonPage, build_page, curve_png, describe, newest_record

HERE = Path(__file__).resolve().parent
BUILD = HERE / "_build"
READING_WORDS_PER_MINUTE = 200
FIGURE = BENCHMARKS / "time_to_accuracy.png"
RECORDS = BENCHMARKS / "site_build.json"
CURVE_RUN = "finetune/windows-full"  # the start page's learning curve


class BuildError(RuntimeError):
    """Something the site needs is missing or broken: the message names it and what makes it."""


def lesson_files() -> list[tuple[Path, Path]]:
    return [(path, ROOT / "lessons" / path.name) for path in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))]


def readable_figure(path: Path, command: str) -> None:
    try:
        with Image.open(path) as image:
            image.verify()
    except (OSError, SyntaxError) as error:
        raise BuildError(f"{path.relative_to(ROOT)} is missing or unreadable ({error}): `{command}` makes it") from None


def title(notebook: nbformat.NotebookNode) -> str:
    """The lesson's first heading."""
    return next(line.lstrip("# ").strip() for line in notebook.cells[0].source.splitlines() if line.startswith("#"))


def reading_minutes(notebook: nbformat.NotebookNode) -> int:
    words = sum(len(cell.source.split()) for cell in notebook.cells)
    return max(1, round(words / READING_WORDS_PER_MINUTE))


def recorded_minutes(runs: list[str]) -> str:
    found = [(run, record) for run in runs if (record := newest_record(run)) and "train_seconds" in record]
    return "; ".join(f"{run}: {record['train_seconds'] / 60:.1f} min" for run, record in found) or "none"


def lessons_table(pages: dict[str, LessonPage]) -> str:
    rows = ["| lesson | exercises | reading | runs on this build | long runs, recorded |",
            "| --- | --- | --- | --- | --- |"]
    for name, page in pages.items():
        exercises = sum("hide-input" in cell.metadata.get("tags", []) for cell in page.notebook.cells)
        ran = f"{page.executed_seconds:.0f} s" if page.executed else "not run"
        rows.append(f"| [{title(page.notebook)}](lessons/{name}.ipynb) | {exercises} | "
                    f"{reading_minutes(page.notebook)} min | {ran} | {recorded_minutes(page.recorded)} |")
    return "\n".join(rows) + (
        f"\n\nReading time counts the words of each page at {READING_WORDS_PER_MINUTE} a minute; the exercises take "
        "longer. *Runs on this build* is how long the lesson's cells ran in a kernel when this site was built, on "
        "the machine that built it; the long runs are the recorded training runs of the benchmark report.\n")


def learning_curve(folder: Path) -> str:
    """The start page's learning curve, drawn from its record into ``folder``, with the record's figures."""
    record = newest_record(CURVE_RUN)
    if record is not None and (png := curve_png(CURVE_RUN, record)):
        (folder / "learning_curve.png").write_bytes(png)
        return f"![Validation accuracy of {CURVE_RUN} against minutes of training](learning_curve.png)\n\n" \
               f"{describe(CURVE_RUN, record)}\n"
    return describe(CURVE_RUN, record) + "\n"


def repository_links_as_text(markdown: str) -> str:
    """Links to files of the repository become their names in code: the site does not hold those files."""
    return re.sub(r"\[([^\]]+)\]\((?!https?://|#)[^)]+\)", r"\1", markdown)


def download_cell(name: str, executed: bool) -> nbformat.NotebookNode:
    note = "" if executed else (" This build did not run this lesson: its cells show no outputs but those of the "
                                "recorded runs (`./course site` runs every lesson).")
    return nbformat.v4.new_markdown_cell(
        f"Take it away: {{download}}`this page as a notebook <{name}.ipynb>` (with the outputs shown here), or "
        f"{{download}}`the exercise notebook <../downloads/{name}.ipynb>` to fill in. Both run inside a clone of the "
        f"course (`./course lab`); elsewhere (Colab, a bare Jupyter) they have not been tried.{note}")


def stage(source: Path, run: set[int] | None, cell_seconds: float) -> dict[str, LessonPage]:
    shutil.copytree(HERE / "pages", source)
    generated, results, lessons, downloads = (source / name for name in ("_generated", "results", "lessons", "downloads"))
    for folder in (generated, results, lessons, downloads):
        folder.mkdir(exist_ok=True)
    readable_figure(FIGURE, "python -m benchmarks.report")
    shutil.copy(FIGURE, results)
    for page, into in ((BENCHMARKS / "RESULTS.md", results), (ROOT / "README.md", generated)):
        (into / page.name).write_text(repository_links_as_text(page.read_text(encoding="utf-8")), encoding="utf-8")
    (generated / "learning_curve.md").write_text(learning_curve(generated))
    pages = {}
    with tempfile.TemporaryDirectory() as workdir:
        for solution, exercise in lesson_files():
            name = solution.stem
            execute = run is None or int(name[:2]) in run
            started = time.perf_counter()
            page = build_page(solution, exercise, execute, Path(workdir), cell_seconds)
            page.notebook.cells.insert(1, download_cell(name, execute))
            nbformat.write(page.notebook, lessons / f"{name}.ipynb")
            jupytext.write(jupytext.read(exercise), downloads / f"{name}.ipynb")
            print(f"{name}: {'ran' if execute else 'staged'} in {time.perf_counter() - started:.0f} s", flush=True)
            pages[name] = page
    (generated / "lessons.md").write_text(lessons_table(pages))
    return pages


def sphinx(source: Path, html: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-c", str(HERE), "-q", "-W", "--keep-going",
                           str(source), str(html)], capture_output=True, text=True)
    if done.returncode:
        raise BuildError("Sphinx could not build the site:\n" + (done.stderr or done.stdout).strip())


def build(run: set[int] | None = None, output: Path = BUILD, cell_seconds: float = 900) -> tuple[Path, dict]:
    """Stage the sources and build the site: the folder of its index.html, and the build's record."""
    source, html = output / "source", output / "html"
    shutil.rmtree(source, ignore_errors=True)
    shutil.rmtree(html, ignore_errors=True)
    started = time.perf_counter()
    pages = stage(source, run, cell_seconds)
    sphinx(source, html)
    record = {"seconds": time.perf_counter() - started,
              "megabytes": sum(path.stat().st_size for path in html.rglob("*") if path.is_file()) / 1e6,
              "lessons_run": {name: round(page.executed_seconds, 1) for name, page in pages.items() if page.executed},
              "hardware": hardware(), "command": "./course site --record",
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    return html, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./course site", description=__doc__.splitlines()[0])
    parser.add_argument("--run", nargs="+", type=int, metavar="N", default=os.environ.get("SITE_RUN", "").split() or None,
                        help="run only these lessons (numbers; or the variable SITE_RUN, '0 8'); default: all")
    parser.add_argument("--cell-seconds", type=float, default=900, help="a cell's time limit (default 900)")
    parser.add_argument("--output", type=Path, default=BUILD, help="where to build (default website/_build)")
    parser.add_argument("--record", action="store_true", help=f"add a full build's time and size to {RECORDS.name}")
    arguments = parser.parse_args(argv)
    if arguments.record and arguments.run:
        parser.error("--record records a full build: leave out --run (and SITE_RUN)")
    try:
        html, record = build({int(number) for number in arguments.run} if arguments.run else None, arguments.output,
                             arguments.cell_seconds)
    except (BuildError, CellFailed) as error:
        print(f"./course site: {error}", file=sys.stderr)
        return 1
    if arguments.record:
        append_record(record, RECORDS)
    print(f"Built in {record['seconds']:.0f} s: {html / 'index.html'} ({record['megabytes']:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
