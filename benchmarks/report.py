"""Render benchmarks/results.json as RESULTS.md (a table beside the published anchors) and as a
time-to-accuracy plot. ``python -m benchmarks.report`` renders without running anything."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from shared.records import RESULTS, read_records  # noqa: E402

HERE = Path(__file__).resolve().parent
ANCHORS = [  # published figures the course measures itself against
    ("NB-SVM bigrams (Wang & Manning, 2012)", "91.22%", "classical"),
    ("NB-SVM uni-, bi- and trigrams (Mesnil et al., 2015)", "91.87%", "classical"),
    ("BiLSTM of a PyTorch sentiment project (5 epochs)", "85.19%", "lstm"),
    ("Small BERT, TensorFlow's \"classify text with BERT\" tutorial", "~85.5%", "small-bert"),
    ("bert-base-uncased fine-tuned, a BERT fine-tuning project", "~93%", "finetune"),
]


def latest_runs(records: list[dict]) -> list[dict]:
    """The newest run of each (track, config), in the order tracks first appear."""
    latest: dict[tuple[str, str], dict] = {}
    for record in records:
        latest[(record["track"], record["config"])] = record
    return list(latest.values())


def render_table(records: list[dict]) -> str:
    header = ("| track | config | validation | test accuracy | training time | inference (reviews/s) | peak memory "
              "| date | command |\n|---|---|---|---|---|---|---|---|---|")
    rows = [
        f"| {r['track']} | {r['config']} | {r['validation']} | {r['test_accuracy']:.2%} "
        f"| {r['train_seconds'] / 60:.1f} min "
        f"| {r['infer_reviews_per_s']:,.0f} | {r['peak_memory_mb']:,.0f} MB | {r['date'][:10]} | `{r['command']}` |"
        for r in latest_runs(records)
    ]
    notes = [f"- {r['track']} / {r['config']}: {r['note']}" for r in latest_runs(records) if r.get("note")]
    members = render_members(records)
    return "\n".join([header, *rows, *(["", "Conditions of some runs:", "", *notes] if notes else []),
                      *(["", "Members of each ensemble (the runs whose saved predictions it combined):", "", *members]
                        if members else [])])


def render_members(records: list[dict]) -> list[str]:
    """One line per ensemble row: its members, each with its test accuracy, training time and predictions file."""
    return [f"- {r['track']} / {r['config']}: " + "; ".join(
                f"{m['run']} ({m['test_accuracy']:.2%}, {m['train_seconds'] / 60:.1f} min, `{m['predictions']}`)"
                for m in r["members"]) + f"; fitted in {r['fit_seconds']:.1f} s"
            for r in latest_runs(records) if r.get("members")]


def way_table(column: str, values: dict[str, float], fmt: str) -> str:
    """A two-column markdown table: one row per way of running the same model."""
    rows = [f"| {way} | {value:{fmt}} |" for way, value in values.items()]
    return "\n".join([f"| way | {column} |", "|---|---|", *rows])


def render_step_times(step_times: list[dict]) -> str:
    """The newest side-by-side LSTM step measurement, as a table."""
    if not step_times:
        return "No step-time measurement yet: `python -m benchmarks.lstm_step_time`."
    newest = step_times[-1]
    return (f"{newest['model']}, one training step at batch {newest['batch']} and length {newest['length']} "
            f"(real reviews, {newest['mean_real_tokens']:.0f} real tokens on average), {newest['date'][:10]}, "
            f"`{newest['command']}`:\n\n{way_table('seconds per step', newest['seconds_per_step'], '.2f')}\n\n"
            f"The course's Keras model takes {newest['keras_over_plain_pytorch']:.2f}x the time of the same "
            "model in plain PyTorch.")


def render_throughput(throughput: list[dict]) -> str:
    """The newest inference comparison of the fine-tuned classifier against transformers, as a table."""
    if not throughput:
        return "No measurement yet: `python -m benchmarks.finetune_throughput` (after the finetune track)."
    newest = throughput[-1]
    return (f"{newest['model']}, {newest['reviews']:,} test reviews in dynamically padded batches of "
            f"{newest['batch']} (at most {newest['max_length']} tokens), {newest['torch_threads']} PyTorch "
            f"threads, {newest['date'][:10]}, `{newest['command']}`:\n\n"
            f"{way_table('reviews/s', newest['reviews_per_s'], ',.1f')}\n\n"
            f"The course's Keras model takes {newest['keras_over_transformers_time']:.2f}x the time of "
            f"transformers; the two agree on {newest['prediction_agreement']:.2%} of the predictions, with logits "
            f"at most {newest['max_logit_difference']:.1e} apart.")


def render_cold_start(cold_start: list[dict]) -> str:
    """The newest timing of a student's first commands, each started cold, beside the first one recorded."""
    if not cold_start:
        return "No measurement yet: `python -m benchmarks.cold_start` (after `./course train`)."
    first, newest = cold_start[0], cold_start[-1]

    def before(name: str) -> str:
        return f"{first['commands'][name]['median_s']:.1f} s" if name in first["commands"] else "not measured"

    rows = "\n".join(f"| {name} | {before(name)} | {timing['median_s']:.1f} s | "
                     f"{', '.join(f'{s:.1f}' for s in timing['seconds'])} |"
                     for name, timing in newest["commands"].items())
    note = f"\n\n{newest['note']}" if newest.get("note") else ""
    return (f"{newest['hardware']}, {newest['date'][:10]}, `{newest['command']}`; the first record, of "
            f"{first['date'][:10]}, beside it:\n\n| command | first record | median now | each run now (s) |\n"
            f"|---|---|---|---|\n{rows}{note}")


def render_grade_time(grade_time: list[dict]) -> str:
    """The newest time to grade each lesson on its reference solution, beside the first record's."""
    if not grade_time:
        return "No measurement yet: `python -m benchmarks.grade_time`."
    first, newest = grade_time[0], grade_time[-1]
    rows = "\n".join(f"| {lesson} | {first['seconds'][lesson]:.1f} s | {seconds:.1f} s |" if lesson in first["seconds"]
                     else f"| {lesson} | not measured | {seconds:.1f} s |" for lesson, seconds in newest["seconds"].items())
    note = f"\n\n{newest['note']}" if newest.get("note") else ""
    return (f"`./course grade --lesson N --target solutions`, every check run: {newest['hardware']}, "
            f"{newest['date'][:10]} (commit {newest.get('commit', 'not recorded')}), `{newest['command']}`; the first "
            f"record, of {first['date'][:10]} (commit {first.get('commit', 'not recorded')}), beside it:\n\n"
            f"| lesson | first record | now |\n|---|---|---|\n{rows}{note}")


def render_suite_time(suite_time: list[dict]) -> str:
    """The newest timing of `.ci/run` in a fresh clone: each pytest run, and the whole."""
    if not suite_time:
        return "No measurement yet: `python -m benchmarks.suite_time --checkout <a fresh clone>`."
    newest = suite_time[-1]
    runs = "; ".join(f"{run['passed']} tests passed in {run['minutes']} min" for run in newest["runs"])
    note = f" {newest['note']}" if newest.get("note") else ""
    return (f"{newest['hardware']}, {newest['date'][:10]}, commit {newest['commit'][:7]}, `{newest['command']}`: "
            f"{runs} (the whole suite on the first Python, then the fast tests on the newest); "
            f"{newest['minutes']} min in all, the set-up of both environments included.{note}")


def newest_of_each(runs: list[dict], key: str) -> list[tuple[object, dict]]:
    """(key, the newest run with it) for each value of ``key``, sorted by it."""
    return sorted({run[key]: run for run in runs}.items())


def table_with_notes(header: str, rows: list[str], notes: list[str], footer: str) -> str:
    """A Markdown table (``header`` is its first line, columns split by " | "), its runs' notes, then ``footer``."""
    rule = "|" + "---|" * header.count(" | ") + "---|"
    return "\n".join([header, rule, *rows, *(["", *notes] if notes else []), "", footer])


def render_distributed(runs: list[dict]) -> str:
    """Lesson 7's data-parallel runs, the newest for each number of processes, as a table."""
    if not runs:
        return "No measurement yet: `python -m benchmarks.distributed`."
    newest = newest_of_each(runs, "processes")
    rows = [f"| {n} | {r['device']} | {r['batch_per_process']} | {r['train_seconds'] / 60:.2f} min | "
            f"{r['seconds_per_step'] * 1000:.0f} ms | {r['all_reduce_seconds_per_step'] * 1000:.2f} ms "
            f"({r['communication_share']:.1%}) | {r['test_accuracy']:.2%} | {r['date'][:10]} | `{r['command']}` |"
            for n, r in newest]
    return table_with_notes("| processes | device | batch per process | training | per step | all-reduce per step "
                            "(share) | test accuracy | date | command |", rows,
                            [f"- {n} process(es): {r['note']}" for n, r in newest if r.get("note")],
                            "GPU and several machines: not measured.")


def render_mutation(runs: list[dict]) -> str:
    """The newest mutation-testing run of each lesson, as a table: how many automatic mistakes the checks catch."""
    if not runs:
        return "No measurement yet: `python -m benchmarks.mutation --lesson N`."
    newest = newest_of_each(runs, "lesson")
    rows = [f"| {lesson} | {r['mutants']} | {r['killed']} | {r['survived']} | {len(r['equivalent'])} | "
            f"{r['score']:.1%} | {r['seconds'] / 60:.0f} min | {r['date'][:10]} | `{r['command']}` |"
            for lesson, r in newest]
    return table_with_notes("| lesson | mutants | killed | survived | equivalent | score | time | date | command |",
                            rows, [f"- {lesson}: {r['note']}" for lesson, r in newest if r.get("note")],
                            "The score is the share of the non-equivalent mutants killed; `mutation.json` lists the "
                            "survivors and, for each mutant judged equivalent, why. Lessons without a row: not "
                            "measured.")


def render_markdown(records: list[dict], step_times: list[dict] = (), throughput: list[dict] = (),
                    distributed: list[dict] = (), mutation: list[dict] = (), cold_start: list[dict] = (),
                    suite_time: list[dict] = (), grade_time: list[dict] = ()) -> str:
    runs = latest_runs(records)
    machines = sorted({r["hardware"] for r in runs})
    stacks = sorted({", ".join(f"{k} {v}" for k, v in r["versions"].items()) for r in runs})
    anchors = "\n".join(f"| {name} | {figure} | {track} |" for name, figure, track in ANCHORS)
    return f"""# Benchmark results

Every row is a measured run: it trains on the official training split (25,000 reviews) or on the subset its
configuration names (`-4k`: 4,000 of them), with 10% of the training split held out for validation (the
Small BERT and fine-tune tracks validate on 1,000 of them), drawn as the validation column says (by movie,
as the official test split was; the older runs drew it review by review, which flatters validation
accuracy), and it is tested on all 25,000 test reviews. Rendered from `results.json`: the newest run of each
track and configuration; older runs stay in the JSON. Re-run a row with its command; render this page again
with `python -m benchmarks.report`.

{render_table(records)}

Training time is wall-clock time of training. What it includes differs by track: the classical track counts
its feature extraction, Small BERT its tokenization (a layer of the model) and the frozen track its
embedding; the LSTM and fine-tune tracks start the clock after the reviews are encoded; an ensemble adds up its
members' training and its own fitting on the validation split (it trains nothing else). Inference is the
test split's throughput, encoding and prediction included, in every track (an ensemble's, its members run one
after another).

Hardware: {"; ".join(machines) or "none yet"}.
Versions: {"; ".join(stacks) or "none yet"}.

## LSTM training step, side by side

{render_step_times(list(step_times))}

## Fine-tuned BERT inference against transformers

{render_throughput(list(throughput))}

## Data-parallel training (lesson 7)

{render_distributed(list(distributed))}

## A student's first commands, started cold

{render_cold_start(list(cold_start))}

## Grading a lesson

{render_grade_time(list(grade_time))}

## The course's own tests, as CI runs them

{render_suite_time(list(suite_time))}

## Mutation testing of the graded checks

Small mistakes made automatically in each reference solution's exercise code (an operator, a comparison or a
constant changed, a call or a keyword argument dropped, two arguments swapped: `benchmarks/mutation.py`), each
graded with its exercise's checks.

{render_mutation(list(mutation))}

## Published anchors

| model | reported test accuracy | course track |
|---|---|---|
{anchors}

![Test accuracy against training minutes](time_to_accuracy.png)
"""


def plot_time_to_accuracy(records: list[dict], path: Path) -> None:
    """One line per run: validation accuracy per epoch against training minutes, test accuracy as a star."""
    figure, axis = plt.subplots(figsize=(11, 5))
    colors = plt.get_cmap("tab20").colors  # one colour per run: tab10 repeats after ten
    for index, record in enumerate(latest_runs(records)):
        label, color = f"{record['track']} / {record['config']}", colors[index % len(colors)]
        curve = record.get("curve") or []
        if curve:
            minutes, accuracy = zip(*curve)
            axis.plot(minutes, accuracy, "o-", alpha=0.6, color=color, label=f"{label} (validation)")
        members = record.get("members")  # an ensemble: a diamond, at its members' summed training time
        axis.plot(record["train_seconds"] / 60, record["test_accuracy"], "D" if members else "*",
                  markersize=9 if members else 14, color=color,
                  label=f"{label}{f' ({len(members)} runs)' if members else ''}: test {record['test_accuracy']:.2%}")
    axis.set(xlabel="training time (minutes, 2 CPU cores)", ylabel="accuracy", title="IMDB: accuracy vs time")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def render_all(results: Path = RESULTS, output: Path = HERE) -> None:
    records = read_records(results)
    extras = [read_records(path) for path in (results.parent / "step_times.json", results.parent / "throughput.json",
                           results.parent / "distributed.json", results.parent / "mutation.json",
                           results.parent / "cold_start.json", results.parent / "suite_time.json",
                           results.parent / "grade_time.json")]
    (output / "RESULTS.md").write_text(render_markdown(records, *extras))
    plot_time_to_accuracy(records, output / "time_to_accuracy.png")


if __name__ == "__main__":
    render_all()
