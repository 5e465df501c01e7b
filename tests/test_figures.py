"""Every percentage the course's prose quotes is one a benchmark recorded, or a published anchor.

Figures typed by hand drift from the runs they report. Each "NN.NN%" in the README, a lesson or RESULTS.md must
be, at the decimals it shows, a number of a record in ``benchmarks/*.json`` (an accuracy, a share, the mean of a
list of runs), or the figure of a published anchor (``benchmarks/report.py``'s ANCHORS). A time, a speed or a
test accuracy that names its run is checked against that run's newest record: the README's table of runs row by
row, and the sentences of ``QUOTED``, each with the run it quotes.
"""

import functools
import json
import re
from pathlib import Path

import pytest

from benchmarks.report import ANCHORS
from shared.paths import ROOT
from shared.records import read_records

PERCENTAGE = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,2})%")
PROSE = [ROOT / "README.md", ROOT / "benchmarks" / "RESULTS.md", *sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))]


def recorded_numbers() -> list[float]:
    """Every number of every benchmark record, and the mean of each list of numbers (runs over seeds)."""
    found: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
            if value and all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in value):
                found.append(sum(value) / len(value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append(value)

    for path in (ROOT / "benchmarks").glob("*.json"):
        walk(json.loads(path.read_text()))
    return found


def anchor_figures() -> set[str]:
    return {figure for _, quoted, _ in ANCHORS for figure in PERCENTAGE.findall(quoted.lstrip("~"))}


def is_recorded(figure: str, numbers: list[float]) -> bool:
    decimals, value = len(figure.split(".")[1]), float(figure)
    return any(round(100 * number, decimals) == value or round(number, decimals) == value for number in numbers)


@pytest.mark.parametrize("path", PROSE, ids=lambda path: path.name)
def test_every_percentage_in_the_prose_is_a_recorded_figure(path):
    numbers, anchors = recorded_numbers(), anchor_figures()
    figures = PERCENTAGE.findall(path.read_text(encoding="utf-8"))
    unrecorded = sorted({figure for figure in figures if figure not in anchors and not is_recorded(figure, numbers)})
    assert not unrecorded, (f"{path.relative_to(ROOT)} quotes {', '.join(f'{f}%' for f in unrecorded)}, which no "
                            "record in benchmarks/*.json holds: render it from the record, or run the benchmark")


def test_a_figure_typed_by_hand_is_caught():
    assert not is_recorded("99.97", recorded_numbers())  # no run came near it
    assert is_recorded(f"{100 * json.loads((ROOT / 'benchmarks' / 'results.json').read_text())[0]['test_accuracy']:.2f}",
                       recorded_numbers())


# file, the sentence (its figure as a group), the run it quotes, what of the record (a key of MEASURES). A run is
# "track/config", its newest record; "track/config by review" is its newest with validation drawn review by review,
# for a sentence that quotes the older protocol by name.
QUOTED = [
    ("solutions/02_classical.py", r"reading 128 tokens of\s+# each review, reaches ([\d.]+)%", "finetune/head+tail-full",
     "percent"),
    ("solutions/02_classical.py", r"after ([\d.]+) minutes of training, where NB-SVM", "finetune/head+tail-full",
     "minutes"),
    ("solutions/02_classical.py", r"where NB-SVM reaches ([\d.]+)% in half a minute", "classical/nbsvm", "percent"),
    ("solutions/02_classical.py", r"takes the same model past it, to ([\d.]+)%", "finetune/windows-full", "percent"),
    ("README.md", r"test on 25,000 reviews: \*\*([\d.]+)%\*\*", "lstm/quick", "percent"),
    ("README.md", r"\| ([\d.]+) min of training alone \(`python -m benchmarks.run --track lstm --config quick`",
     "lstm/quick", "minutes"),
    ("README.md", r"reads [\d.]+% against ([\d.]+)% on the test split", "lstm/quick", "percent"),
    ("README.md", r"drawn review by review had read [\d.]+%\s+against ([\d.]+)%", "lstm/quick by review", "percent"),
    ("README.md", r"validated at [\d.]+% and tested at ([\d.]+)%", "finetune/head+tail-4k", "percent"),
    ("README.md", r"review-drawn validation\s+had read [\d.]+% against ([\d.]+)%", "finetune/head+tail-4k by review",
     "percent"),
    ("README.md", r"\(([\d.]+) min alone when drawn by review: [\d.]+%\)", "finetune/head+tail-full by review",
     "minutes"),
    ("README.md", r"\([\d.]+ min alone when drawn by review: ([\d.]+)%\)", "finetune/head+tail-full by review",
     "percent"),
    ("README.md", r"and scores ([\d.]+)% instead of", "classical/nbsvm", "percent"),
    ("README.md", r"and scores [\d.]+% instead of ([\d.]+)%", "classical/nbsvm by review", "percent"),
    ("README.md", r"the whole training split \(([\d.]+)% after 2 epochs", "finetune/head+tail-full", "percent"),
    ("README.md", r"on 4,000 reviews it stays at ([\d.]+)%", "finetune/head+tail-4k", "percent"),
    ("README.md", r"\(([\d.]+)%\s+with validation drawn review by review\)", "finetune/head+tail-4k by review",
     "percent"),
    ("README.md", r"one epoch on the whole training split took ([\d.]+) min", "small-bert/full-1-epoch", "minutes"),
    ("README.md", r"one epoch on the whole training split took [\d.]+ min instead of ([\d.]+)\.",
     "small-bert/full-1-epoch by review", "minutes"),
    ("README.md", r"read 128 tokens of each review \(([\d.]+)%\)", "finetune/head+tail-full", "percent"),
    ("README.md", r"at prediction time and reaches \*\*([\d.]+)%\*\*", "finetune/windows-full", "percent"),
    ("README.md", r"past NB-SVM \(([\d.]+)%\)", "classical/nbsvm", "percent"),
    ("README.md", r"so it predicts ([\d.]+) reviews/s instead of", "finetune/windows-full", "reviews/s"),
    ("README.md", r"so it predicts [\d.]+ reviews/s instead of ([\d.]+)\.", "finetune/head+tail-full", "reviews/s"),
    ("README.md", r"eight runs whose training sums to ([\d.]+) minutes", "ensemble/stack", "minutes"),
    ("README.md", r"stack to \*\*([\d.]+)%\*\*", "ensemble/stack", "percent"),
    ("README.md", r"changes little: ([\d.]+)%", "ensemble/stack-nonnegative", "percent"),
    ("solutions/01_data.py", r"the frozen-embedding head, [\d.]+% against ([\d.]+)%", "frozen/mean-128 by review",
     "percent"),
    ("solutions/03_lstm.py", r"the quick configuration trains in ([\d.]+) minutes", "lstm/quick", "minutes"),
    ("solutions/04_small_bert.py", r"`subset-4k` ([\d.]+)%;", "small-bert/subset-4k", "percent"),
    ("solutions/04_small_bert.py", r"`full-1-epoch` ([\d.]+)% after", "small-bert/full-1-epoch", "percent"),
    ("solutions/04_small_bert.py", r"`full-1-epoch` [\d.]+% after ([\d.]+) minutes", "small-bert/full-1-epoch",
     "minutes"),
    ("solutions/05_finetune.py", r"test reviews: head ([\d.]+)%", "finetune/head-4k by review", "percent"),
    ("solutions/05_finetune.py", r"test reviews: head [\d.]+%, tail ([\d.]+)%", "finetune/tail-4k by review",
     "percent"),
    ("solutions/05_finetune.py", r"# head\+tail ([\d.]+)%, with validation drawn review by review",
     "finetune/head+tail-4k by review", "percent"),
    ("solutions/05_finetune.py", r"head\+tail again with validation drawn by movie:\s+# ([\d.]+)%",
     "finetune/head+tail-4k", "percent"),
    ("solutions/05_finetune.py", r"read whole: ([\d.]+)% on the test reviews", "finetune/windows-full", "percent"),
    ("solutions/05_finetune.py", r"instead of ([\d.]+)%, past NB-SVM's", "finetune/head+tail-full", "percent"),
    ("solutions/05_finetune.py", r"past NB-SVM's ([\d.]+)%", "classical/nbsvm", "percent"),
    ("solutions/05_finetune.py", r"so ([\d.]+) reviews/s instead of", "finetune/windows-full", "reviews/s"),
    ("solutions/05_finetune.py", r"reviews/s instead of ([\d.]+)\.", "finetune/head+tail-full", "reviews/s"),
    ("solutions/05_finetune.py", r"Lesson 8 stacks it with NB-SVM: ([\d.]+)%", "ensemble/nbsvm+finetune", "percent"),
    ("solutions/05_finetune.py", r"`head\+tail-4k` ([\d.]+)% after [\d.]+ min of training",
     "finetune/head+tail-4k by review", "percent"),
    ("solutions/05_finetune.py", r"`head\+tail-4k` [\d.]+% after ([\d.]+) min of training",
     "finetune/head+tail-4k by review", "minutes"),
    ("solutions/05_finetune.py", r"\(([\d.]+)% after [\d.]+ min with validation by", "finetune/head+tail-4k",
     "percent"),
    ("solutions/05_finetune.py", r"\([\d.]+% after ([\d.]+) min with validation by", "finetune/head+tail-4k",
     "minutes"),
    ("solutions/05_finetune.py", r"training reviews\) ([\d.]+)% after [\d.]+ min", "finetune/head+tail-full by review",
     "percent"),
    ("solutions/05_finetune.py", r"training reviews\) [\d.]+% after ([\d.]+) min", "finetune/head+tail-full by review",
     "minutes"),
    ("solutions/05_finetune.py", r"([\d.]+)% after [\d.]+ min with validation drawn by movie",
     "finetune/head+tail-full", "percent"),
    ("solutions/05_finetune.py", r"[\d.]+% after ([\d.]+) min with validation drawn by movie",
     "finetune/head+tail-full", "minutes"),
    ("solutions/07_distributed.py", r"Fine-tuning MiniLM on the whole training split took ([\d.]+) minutes",
     "finetune/head+tail-full", "minutes"),
    ("solutions/02_classical.py", r"the one on characters in ([\d.]+)\s+# minutes", "classical/nbsvm-chars",
     "minutes"),
    ("solutions/05_finetune.py", r"1,408 steps in\s+# ([\d.]+) min\)", "finetune/head+tail-full", "minutes"),
    ("README.md", r"\(([\d.]+) min when drawn by review, alone\)", "finetune/head-4k by review", "minutes"),
    ("README.md", r"peaked at ([\d.]+) GB \(4,000 reviews\)", "small-bert/subset-4k by movie", "GB"),
    ("README.md", r"and ([\d.]+) GB \(all of them\)", "small-bert/full-1-epoch by movie", "GB"),
    ("README.md", r"of memory\s+instead of ([\d.]+) and", "small-bert/subset-4k by review", "GB"),
    ("README.md", r"of memory\s+instead of [\d.]+ and ([\d.]+) GB", "small-bert/full-1-epoch by review", "GB"),
    ("solutions/08_error_analysis.py", r"the stack of the \w+ runs below, trained in ([\d.]+) minutes",
     "ensemble/stack", "minutes"),
    ("solutions/08_error_analysis.py", r"reaches ([\d.]+)% on the test reviews, the same stack", "ensemble/stack",
     "percent"),
    ("solutions/08_error_analysis.py", r"\(`stack-nonnegative`\) ([\d.]+)%", "ensemble/stack-nonnegative", "percent"),
    ("solutions/08_error_analysis.py", r"mean of the same runs ([\d.]+)%", "ensemble/mean", "percent"),
    ("solutions/08_error_analysis.py", r"NB-SVM with the fine-tune read in windows ([\d.]+)%",
     "ensemble/nbsvm+finetune", "percent"),
    ("solutions/08_error_analysis.py", r"the best run alone \(that\s+# fine-tune\) ([\d.]+)%", "finetune/windows-full",
     "percent"),
]
TABLE_ROW = re.compile(r"^\|.*`--track (\S+) --config (\S+?)`.*?\| (?:by movie|by review) \| \**([\d.]+)%\** \| ([\d.]+) min",
                       re.MULTILINE)


def newest_runs() -> dict[str, dict]:
    """"track/config" -> its newest record, and "track/config by review" (or "by movie") -> its newest with that
    validation."""
    runs = {}
    for record in read_records():
        run = f"{record['track']}/{record['config']}"
        runs[run] = runs[f"{run} {record['validation']}"] = record
    return runs


# what a quoted figure is, in the unit the prose quotes it in
MEASURES = {
    "minutes": lambda record: record["train_seconds"] / 60,
    "reviews/s": lambda record: record["infer_reviews_per_s"],
    "percent": lambda record: 100 * record["test_accuracy"],
    "GB": lambda record: record["peak_memory_mb"] / 1000,  # of memory at the run's peak
}


def test_each_row_of_the_readmes_table_of_runs_is_its_newest_record():
    rows = TABLE_ROW.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(rows) >= 15, "the README's table of runs is no longer found"
    runs = newest_runs()
    for track, config, accuracy, minutes in rows:
        record = runs[f"{track}/{config}"]
        assert (float(accuracy), float(minutes)) == (round(100 * record["test_accuracy"], 2),
                                                     round(record["train_seconds"] / 60, 1)), f"{track}/{config}"


def newest(benchmark: str, **fields) -> dict:
    """The newest record of ``benchmarks/<benchmark>.json`` whose ``fields`` have these values."""
    return [record for record in read_records(ROOT / "benchmarks" / f"{benchmark}.json")
            if all(record.get(key) == value for key, value in fields.items())][-1]


def newest_run(run: str) -> dict:
    return newest_runs()[run]


def fastest(track: str, config: str) -> float:
    """The shortest training, in seconds, of any run of ``track``/``config`` validated by movie."""
    return min(record["train_seconds"] for record in read_records()
               if (record["track"], record["config"], record["validation"]) == (track, config, "by movie"))


def throughput(run: str) -> dict:
    """The newest throughput measurement of the model ``run`` trained."""
    return [record for record in read_records(ROOT / "benchmarks" / "throughput.json") if f"({run})" in record["model"]][-1]


FUSED, TRANSFORMERS = ("the same from load_finetuned (for_inference: fused attention)",
                       "transformers BertForSequenceClassification")

# file, the sentence (its figure as a group), what it quotes, and that figure from its benchmark's newest record
QUOTED_ELSEWHERE = [
    ("README.md", r"`predict_sentiment` answers ([\d,]+) short reviews/s", "prediction_speed, sorted batches",
     lambda: newest("prediction_speed")["texts_per_s"]["after: predict_sentiment, length-sorted batches of 256"]),
    ("README.md", r"against ([\d,]+)/s padded to 256", "prediction_speed, padded",
     lambda: newest("prediction_speed")["texts_per_s"]["before: ids padded to 256, model.predict at batch 32"]),
    ("README.md", r"trains in ([\d.]+) min on 1 process", "distributed, 1 process, minutes",
     lambda: newest("distributed", processes=1)["train_seconds"] / 60),
    ("README.md", r"and in ([\d.]+) min on 2\s+processes", "distributed, 2 processes, minutes",
     lambda: newest("distributed", processes=2)["train_seconds"] / 60),
    ("README.md", r"gradients takes ([\d.]+) ms of its", "distributed, all-reduce ms a step",
     lambda: 1000 * newest("distributed", processes=2)["all_reduce_seconds_per_step"]),
    ("README.md", r"ms of its ([\d.]+) ms", "distributed, ms a step",
     lambda: 1000 * newest("distributed", processes=2)["seconds_per_step"]),
    ("README.md", r"ms of its [\d.]+ ms\s+\((\d+)%\)", "distributed, communication share",
     lambda: 100 * newest("distributed", processes=2)["communication_share"]),
    ("README.md", r"model predicts ([\d.]+) test reviews/s as lesson 5 reloads it", "throughput, full fine-tune, Keras",
     lambda: throughput("finetune/head+tail-full")["reviews_per_s"][FUSED]),
    ("README.md", r"against ([\d.]+) for the same weights", "throughput, full fine-tune, transformers",
     lambda: throughput("finetune/head+tail-full")["reviews_per_s"][TRANSFORMERS]),
    ("README.md", r"model measured ([\d.]+) against", "throughput, 4k fine-tune, Keras",
     lambda: throughput("finetune/head+tail-4k")["reviews_per_s"][FUSED]),
    ("README.md", r"model measured [\d.]+ against ([\d.]+)", "throughput, 4k fine-tune, transformers",
     lambda: throughput("finetune/head+tail-4k")["reviews_per_s"][TRANSFORMERS]),
    ("README.md", r"The full build took ([\d.]+) min", "site_build, minutes", lambda: newest("site_build")["seconds"] / 60),
    ("README.md", r"The full build took [\d.]+ min \((\d+) s,", "site_build, seconds",
     lambda: newest("site_build")["seconds"]),
    ("README.md", r"s, ([\d.]+) MB of HTML", "site_build, size", lambda: newest("site_build")["megabytes"]),
    ("README.md", r"all 50,000 reviews, (\d+) s of it", "site_build, lesson 1",
     lambda: newest("site_build")["lessons_run"]["01_data"]),
    ("README.md", r"\| ([\d.]+) s on Python 3.11 with PyTorch's CPU build", "setup_time, seconds",
     lambda: newest("setup_time")["seconds"]),
    ("README.md", r"s on Python (3\.\d+) with PyTorch's CPU build", "setup_time, the Python",
     lambda: float(".".join(newest("setup_time")["python"].split(".")[:2]))),
    ("README.md", r"the environment takes ([\d.]+) GB", "setup_time, the environment's size",
     lambda: newest("setup_time")["venv_gigabytes"]),
    ("solutions/00_setup.py", r"the script runs in (\d+) seconds as a notebook", "site_build, lesson 0",
     lambda: newest("site_build")["lessons_run"]["00_setup"]),
    ("solutions/01_data.py", r"the script runs in (\d+) seconds as a notebook", "site_build, lesson 1",
     lambda: newest("site_build")["lessons_run"]["01_data"]),
    ("solutions/07_distributed.py", r"the graded checks take ([\d.]+) s on two CPU cores", "grade_time, lesson 7",
     lambda: newest("grade_time")["seconds"]["07_distributed"]),
    ("solutions/03_lstm.py", r"\(its newest run; ([\d.]+) on a faster day\)", "lstm/quick, its fastest run",
     lambda: fastest("lstm", "quick") / 60),
    ("README.md", r"the same configuration trained in ([\d.]+) min on an earlier one", "lstm/quick, its fastest run",
     lambda: fastest("lstm", "quick") / 60),
    ("solutions/03_lstm.py", r"full model takes ([\d.]+) s per training step", "step_times, FastLSTM",
     lambda: newest("step_times")["seconds_per_step"]["Keras model, FastLSTM (course default)"]),
    ("solutions/05_finetune.py", r"takes about ([\d.]+) s on two CPU cores \(`head\+tail-full`: 1,408 steps",
     "finetune/head+tail-full, seconds a step", lambda: newest_run("finetune/head+tail-full")["train_seconds"] / 1408),
    ("README.md", r"\(([\d.]+) min of it embedding the 25,000", "frozen/mean-128, embedding minutes",
     lambda: newest_run("frozen/mean-128")["embed_seconds"] / 60),
    ("README.md", r"had stacked to 93.69% in ([\d.]+) minutes", "the stack that reached 93.69%, minutes",
     lambda: next(r for r in read_records() if r["config"] == "stack" and round(100 * r["test_accuracy"], 2) == 93.69)[
         "train_seconds"] / 60),
]


EVERY_QUOTE = [(path, sentence, f"{path}: {run} {what}", functools.partial(lambda run, what: MEASURES[what](
    newest_run(run)), run, what)) for path, sentence, run, what in QUOTED] + QUOTED_ELSEWHERE


@pytest.mark.parametrize("path, sentence, what, recorded", EVERY_QUOTE, ids=[q[2] for q in EVERY_QUOTE])
def test_a_figure_quoted_is_the_newest_record_of_what_it_quotes(path, sentence, what, recorded):
    found = list(re.finditer(sentence, (ROOT / path).read_text(encoding="utf-8")))
    assert found, f"{path} no longer says {sentence!r}: update the table with the sentence that quotes {what}"
    assert len(found) == 1, f"{path} says {sentence!r} {len(found)} times: make the table name one sentence"
    figure = found[0][1].replace(",", "")
    expected = round(recorded(), len(figure.partition(".")[2]))
    assert float(figure) == expected, f"{path} quotes {found[0][1]} for {what}; its newest record says {expected}"
