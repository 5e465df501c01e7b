"""One lesson as a page of the site: its prose, its code and the outputs of a real run.

The page is the lesson's notebook (``solutions/``, read with jupytext) run in a Jupyter kernel, as a learner's
notebook runs, on the real data. Each exercise first shows the learner's starting point (its cell in
``lessons/``), then the reference code folded under "Show the solution". A cell tagged ``long`` that names a
run (``recorded="track/config ..."``) does not run: training it takes up to an hour on a CPU. It shows what
the benchmark runs recorded instead (each number with its command and date, the learning curve drawn from the
record), or "not run yet" with the command that records it.
"""

from __future__ import annotations

import base64
import io
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import matplotlib
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from shared.records import BENCHMARKS, read_records

matplotlib.use("Agg")  # the figures of recorded runs are drawn here, never shown
import matplotlib.pyplot as plt  # noqa: E402

SOLUTION_MARKERS = ("# BEGIN SOLUTION", "# END SOLUTION", "# HINT:")
NEEDS_THE_MODEL = "model"  # recorded="model": the cell loads the model that the recorded run above saved


class CellFailed(RuntimeError):
    """A cell of a lesson failed while the site was built."""


@dataclass
class LessonPage:
    """A lesson's page notebook and what its build measured."""

    notebook: nbformat.NotebookNode
    executed_seconds: float = 0.0
    executed: bool = False
    recorded: list[str] = field(default_factory=list)


def recorded_runs(cell: nbformat.NotebookNode) -> list[str]:
    return cell.metadata.get("recorded", "").split()


def newest_record(run: str) -> dict | None:
    """The newest record of ``track/config``: results.json's runs, or distributed.json's for the track
    "distributed"."""
    track, config = run.split("/", 1)
    if track == "distributed":
        records = [r for r in read_records(BENCHMARKS / "distributed.json") if r.get("config") == config]
    else:
        records = [r for r in read_records() if (r.get("track"), r.get("config")) == (track, config)]
    return max(records, key=lambda r: r["date"], default=None)


def command_of(run: str) -> str:
    track, config = run.split("/", 1)
    if track == "distributed":
        return "python -m benchmarks.distributed --processes 2"
    return f"python -m benchmarks.run --track {track} --config {config}"


def describe(run: str, record: dict | None) -> str:
    """One paragraph of Markdown: the record's figures with their command and date, or "not run yet"."""
    if record is None:
        return f"**{run}: not run yet.** `{command_of(run)}` runs it and records it."
    figures = [f"test accuracy **{record['test_accuracy']:.2%}**"]
    if "train_seconds" in record:
        figures.append(f"{record['train_seconds'] / 60:.1f} min of training")
    if "infer_reviews_per_s" in record:
        figures.append(f"{record['infer_reviews_per_s']:.1f} reviews/s at inference")
    where = record.get("hardware", "")
    return (f"**{run}**, recorded on {record['date'][:10]} by `{record['command']}`: {', '.join(figures)}"
            + (f" ({where})." if where else ".") + (f" {record['note']}" if record.get("note") else ""))


def curve_png(run: str, record: dict) -> bytes | None:
    """The record's learning curve as PNG: validation accuracy against minutes of training, or the training loss
    per epoch where that is what the run kept (distributed runs); None if it kept neither."""
    if record.get("curve"):
        x, y = zip(*record["curve"])  # the records keep (minutes of training, validation accuracy)
        labels = ("minutes of training", "validation accuracy")
    elif record.get("losses"):
        x, y = range(1, len(record["losses"]) + 1), record["losses"]
        labels = ("epoch", "training loss")
    else:
        return None
    figure, axis = plt.subplots(figsize=(6, 3.2))
    axis.plot(x, y, marker="o")
    axis.set(xlabel=labels[0], ylabel=labels[1], title=f"{run}, recorded {record['date'][:10]}")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def recorded_outputs(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    runs = recorded_runs(cell)
    if runs == [NEEDS_THE_MODEL]:
        return [markdown_output("*Not run for this page: this cell uses the model that the run above trains and "
                                "saves. Run the lesson to see it.*")]
    records = {run: newest_record(run) for run in runs}
    outputs = [markdown_output("*Recorded, not run for this page:* " + " ".join(
        describe(run, record) for run, record in records.items()))]
    for run, record in records.items():
        if record and (png := curve_png(run, record)):
            outputs.append(nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode()}))
    return outputs


def markdown_output(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": text})


def without_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if not line.strip().startswith(SOLUTION_MARKERS))


def fold_solutions(solution: nbformat.NotebookNode, exercise: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The solution's cells, each exercise cell preceded by the learner's version of it and folded."""
    cells = []
    for ours, theirs in zip(solution.cells, exercise.cells, strict=True):
        if ours.cell_type == "code" and "# BEGIN SOLUTION" in ours.source:
            cells.append(nbformat.v4.new_markdown_cell("Your starting point, in `lessons/`:\n\n```python\n"
                                                       f"{theirs.source}\n```"))
            ours.source = without_markers(ours.source)
            ours.metadata["tags"] = [*ours.metadata.get("tags", []), "hide-input"]
        cells.append(ours)
    solution.cells = cells
    return solution


def read_lesson(solution: Path, exercise: Path) -> nbformat.NotebookNode:
    notebook = fold_solutions(jupytext.read(solution), jupytext.read(exercise))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def build_page(solution: Path, exercise: Path, execute: bool, workdir: Path, cell_seconds: float) -> LessonPage:
    """The lesson's page notebook: recorded cells filled from the records, the others run in a kernel started in
    ``workdir`` when ``execute`` (a quick build leaves them without outputs). A failing cell raises CellFailed
    naming the lesson, the cell and the error."""
    page = LessonPage(read_lesson(solution, exercise), executed=execute)
    for cell in page.notebook.cells:
        if cell.cell_type == "code" and recorded_runs(cell):
            cell.outputs = recorded_outputs(cell)
            page.recorded += [run for run in recorded_runs(cell) if run != NEEDS_THE_MODEL]
    if execute:
        started = time.perf_counter()
        run_cells(page.notebook, solution.name, workdir, cell_seconds)
        page.executed_seconds = time.perf_counter() - started
    return page


def run_cells(notebook: nbformat.NotebookNode, name: str, workdir: Path, cell_seconds: float) -> None:
    client = NotebookClient(notebook, timeout=cell_seconds, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # the libraries' start-up lines; errors come as messages
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or recorded_runs(cell):
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                raise CellFailed(f"{name}, cell {index} ({first_line(cell)}): {error.ename}: {error.evalue}") from None
            except CellTimeoutError:
                raise CellFailed(f"{name}, cell {index} ({first_line(cell)}): still running after {cell_seconds:g} s; "
                                 "a cell that trains for long names its recorded run (recorded=...)") from None


def first_line(cell: nbformat.NotebookNode) -> str:
    return next((line.strip() for line in cell.source.splitlines() if line.strip()), "an empty cell")[:80]
