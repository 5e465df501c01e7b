"""The benchmark records are complete and reproducible, and the report renders them."""

import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import cold_start, grade_time, report, run, setup_time, suite_time
from shared.paths import ROOT
from shared.records import BENCHMARKS, read_records

FIELDS = {"track", "config", "validation", "test_accuracy", "train_seconds", "infer_reviews_per_s", "peak_memory_mb",
          "hardware", "versions", "command", "date"}
RECORDS = read_records()


def track_source(track: str) -> str:
    """The source of the module a track runs, read, not imported: each lesson has its own Keras backend."""
    return (ROOT / f"{run.TRACKS[track].replace('.', '/')}.py").read_text()


def record(track: str, config: str, accuracy: float, **extra) -> dict:
    return {"track": track, "config": config, "validation": "by movie", "test_accuracy": accuracy,
            "train_seconds": 90.0,
            "infer_reviews_per_s": 1234.5, "peak_memory_mb": 512.0, "hardware": "2 CPU cores, no GPU",
            "versions": {"keras": "3"}, "command": f"python -m benchmarks.run --track {track} --config {config}",
            "date": "2026-01-02T03:04:05+00:00", **extra}


def test_results_file_is_a_list_of_complete_records():
    assert isinstance(RECORDS, list) and RECORDS
    for entry in RECORDS:
        assert FIELDS <= set(entry), f"{entry.get('track')}: missing {FIELDS - set(entry)}"
        assert 0.5 < entry["test_accuracy"] <= 1.0 and entry["train_seconds"] > 0


@pytest.mark.parametrize("entry", RECORDS, ids=lambda r: f"{r['track']}-{r['config']}")
def test_each_record_names_a_configuration_that_exists(entry):
    assert f'"{entry["config"]}"' in track_source(entry["track"]), \
        f"{entry['config']} is not a configuration of {run.TRACKS[entry['track']]}"
    assert entry["command"] == f"python -m benchmarks.run --track {entry['track']} --config {entry['config']}"


@pytest.mark.parametrize("entry", [r for r in RECORDS if "predictions" in r], ids=lambda r: r["predictions"])
def test_each_saved_prediction_file_is_there_with_one_probability_per_review(entry):
    path = BENCHMARKS / entry["predictions"]
    assert path.is_file(), f"{entry['predictions']} is named by a record but missing: commit it or run it again"
    saved = np.load(path)
    assert len(saved["test"]) == 25_000 and len(saved["validation"]) == len(saved["validation_index"]) > 2_000
    assert ((saved["test"] >= 0) & (saved["test"] <= 1)).all()


def test_the_newest_run_of_a_configuration_wins():
    runs = report.latest_runs([record("lstm", "quick", 0.80), record("classical", "nbsvm", 0.91),
                               record("lstm", "quick", 0.87)])
    assert [(r["track"], r["test_accuracy"]) for r in runs] == [("lstm", 0.87), ("classical", 0.91)]


def test_markdown_shows_numbers_commands_and_anchors():
    page = report.render_markdown([record("lstm", "quick", 0.8712)])
    assert "| lstm | quick | by movie | 87.12% | 1.5 min | 1,234 | 512 MB | 2026-01-02 |" in page
    assert "`python -m benchmarks.run --track lstm --config quick`" in page
    assert "85.19%" in page and "91.22%" in page


def test_a_run_note_is_shown_under_the_table():
    page = report.render_markdown([record("lstm", "full", 0.86, note="shared the CPU with another run")])
    assert "- lstm / full: shared the CPU with another run" in page


def test_an_ensemble_lists_its_member_runs_under_the_table():
    members = [{"run": "classical/nbsvm", "test_accuracy": 0.9128, "train_seconds": 24.0,
                "predictions": "predictions/classical-nbsvm.npz"},
               {"run": "lstm/quick", "test_accuracy": 0.8564, "train_seconds": 126.0,
                "predictions": "predictions/lstm-quick.npz"}]
    page = report.render_markdown([record("ensemble", "nbsvm+lstm", 0.9152, members=members, fit_seconds=1.25)])
    assert ("- ensemble / nbsvm+lstm: classical/nbsvm (91.28%, 0.4 min, `predictions/classical-nbsvm.npz`); "
            "lstm/quick (85.64%, 2.1 min, `predictions/lstm-quick.npz`); fitted in 1.2 s") in page


def test_markdown_shows_the_newest_data_parallel_run_of_each_size():
    def run_of(processes, seconds, note=None):
        return {"processes": processes, "device": "cpu (1 thread)", "batch_per_process": 64 // processes,
                "train_seconds": seconds, "seconds_per_step": 0.5, "all_reduce_seconds_per_step": 0.002,
                "communication_share": 0.004, "test_accuracy": 0.8512, "date": "2026-01-02T03:04:05+00:00",
                "command": f"python -m benchmarks.distributed --processes {processes}",
                **({"note": note} if note else {})}

    page = report.render_markdown([], distributed=[run_of(2, 600.0), run_of(1, 300.0), run_of(2, 240.0, "shared")])
    rows = [line for line in page.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert rows == ["| 1 | cpu (1 thread) | 64 | 5.00 min | 500 ms | 2.00 ms (0.4%) | 85.12% | 2026-01-02 | "
                    "`python -m benchmarks.distributed --processes 1` |",
                    "| 2 | cpu (1 thread) | 32 | 4.00 min | 500 ms | 2.00 ms (0.4%) | 85.12% | 2026-01-02 | "
                    "`python -m benchmarks.distributed --processes 2` |"]
    assert "- 2 process(es): shared" in page and "GPU and several machines: not measured." in page


def test_markdown_shows_the_inference_comparison():
    measured = {"model": "fine-tuned", "reviews": 2000, "batch": 32, "max_length": 128, "torch_threads": 2,
                "reviews_per_s": {"Keras": 50.0, "transformers": 60.0}, "keras_over_transformers_time": 1.2,
                "prediction_agreement": 0.999, "max_logit_difference": 2e-5, "command": "python -m x",
                "date": "2026-01-02T03:04:05+00:00"}
    page = report.render_markdown([], throughput=[measured])
    assert "| Keras | 50.0 |" in page and "1.20x" in page and "99.90%" in page


def test_markdown_shows_the_newest_cold_start_with_each_run_beside_the_first_record():
    timing = {"median_s": 6.2, "seconds": [6.0, 6.2, 7.5]}
    measured = {"commands": {"`./course predict`": timing, "`./course demo`": timing}, "hardware": "2 CPU cores",
                "note": "alone", "command": "python -m benchmarks.cold_start", "date": "2026-01-02T03:04:05+00:00"}
    first = {**measured, "commands": {"`./course predict`": {"median_s": 20.5, "seconds": [20.5]}}, "note": None,
             "date": "2025-12-31T00:00:00+00:00"}
    page = report.render_markdown([], cold_start=[first, {**measured, "note": None}, measured])
    assert "| `./course predict` | 20.5 s | 6.2 s | 6.0, 6.2, 7.5 |" in page and "\n\nalone" in page
    assert "| `./course demo` | not measured | 6.2 s |" in page and "the first record, of 2025-12-31" in page
    assert "No measurement yet: `python -m benchmarks.cold_start`" in report.render_markdown([])


def test_cold_start_times_a_command_to_its_exit_and_refuses_a_failure():
    assert 0 < cold_start.seconds_to_exit([sys.executable, "-c", "pass"]) < 30
    with pytest.raises(RuntimeError, match=r"failed \(3\): no luck"):
        cold_start.seconds_to_exit([sys.executable, "-c", "import sys; print('no luck', file=sys.stderr); sys.exit(3)"])


def test_cold_start_refuses_no_repeats_in_one_line(capsys):
    with pytest.raises(SystemExit):
        cold_start.main(["--repeats", "0"])
    assert capsys.readouterr().err.strip().endswith("error: --repeats must be 1 or more, not 0")


def test_markdown_shows_each_lessons_newest_grade_time_beside_the_first_record():
    first = {"seconds": {"00_setup": 12.0}, "hardware": "2 CPU cores", "command": "python -m benchmarks.grade_time",
             "date": "2025-12-31T00:00:00+00:00", "commit": "abc"}
    newest = {**first, "seconds": {"00_setup": 13.5, "07_distributed": 40.0}, "date": "2026-01-02T03:04:05+00:00",
              "commit": "def", "note": "alone"}
    page = report.render_markdown([], grade_time=[first, newest])
    assert "| 00_setup | 12.0 s | 13.5 s |" in page and "| 07_distributed | not measured | 40.0 s |" in page
    assert "2026-01-02 (commit def)" in page and "of 2025-12-31 (commit abc)" in page and "\n\nalone" in page
    assert "No measurement yet: `python -m benchmarks.grade_time`" in report.render_markdown([])


def test_grade_time_refuses_a_lesson_the_course_has_not_in_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit):
        grade_time.main(["--lessons", "0", "42"])
    assert capsys.readouterr().err.strip().endswith("error: no lesson 42 in " + str(ROOT / "solutions"))
    with pytest.raises(SystemExit):
        grade_time.main(["--checkout", str(tmp_path)])
    assert capsys.readouterr().err.strip().endswith(f"error: {tmp_path} holds no ./course: give a clone of the course")


def test_setup_time_refuses_a_checkout_that_is_no_fresh_clone_in_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit):
        setup_time.main(["--checkout", str(tmp_path)])
    assert capsys.readouterr().err.strip().endswith(f"error: {tmp_path} holds no ./course: give a clone of the course")
    (tmp_path / "course").write_text("#!/bin/sh\n")
    (tmp_path / ".venv").mkdir()
    with pytest.raises(SystemExit):
        setup_time.main(["--checkout", str(tmp_path)])
    assert capsys.readouterr().err.strip().endswith(f"error: {tmp_path / '.venv'} exists already: give a fresh clone")


def test_setup_time_counts_the_environments_files_once(tmp_path):
    folder = tmp_path
    (folder / "a").write_bytes(b"x" * 1000)
    (folder / "sub").mkdir()
    (folder / "sub" / "b").write_bytes(b"x" * 500)
    (folder / "link").symlink_to(folder / "a")
    assert setup_time.size_in_gigabytes(folder) == 1500 / 1e9


def stand_in_checkout(folder, output: str, status: int):
    """A git checkout whose .ci/run prints ``output`` and exits with ``status``."""
    (folder / ".ci").mkdir(parents=True)
    (folder / ".ci" / "run").write_text(f"#!/bin/sh\ncat <<'END'\n{output}END\nexit {status}\n")
    (folder / ".ci" / "run").chmod(0o755)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run(["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "a"], check=True)
    return folder


SUMMARIES = ("..... [100%]\n============ 858 passed, 1 warning in 1361.23s (0:22:41) ============\n"
             "fast again\n======== 791 passed in 264.00s (0:04:24) ========\n")


def test_suite_time_records_each_pytest_run_and_the_whole(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(suite_time, "SUITE_TIME", tmp_path / "suite_time.json")
    rendered = []
    monkeypatch.setattr(report, "render_all", lambda: rendered.append(True))  # not the repository's RESULTS.md
    checkout = stand_in_checkout(tmp_path / "clone", SUMMARIES, 0)
    assert suite_time.main(["--checkout", str(checkout), "--note", "alone"]) == 0
    (record,) = read_records(tmp_path / "suite_time.json")
    assert record["runs"] == [{"passed": 858, "minutes": 22.7}, {"passed": 791, "minutes": 4.4}]
    assert record["note"] == "alone" and len(record["commit"]) == 40 and record["minutes"] < 1
    page = report.render_markdown([], suite_time=[record])
    assert "858 tests passed in 22.7 min; 791 tests passed in 4.4 min" in page and "commit " + record["commit"][:7] in page
    assert "passed in 22.7 min" in capsys.readouterr().out and rendered == [True]


def test_suite_time_records_nothing_when_ci_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(suite_time, "SUITE_TIME", tmp_path / "suite_time.json")
    monkeypatch.setattr(report, "render_all", lambda: pytest.fail("rendered a failed run"))
    checkout = stand_in_checkout(tmp_path / "clone", "===== 1 failed, 9 passed in 3.00s =====\n", 1)
    assert suite_time.main(["--checkout", str(checkout)]) == 1
    assert not (tmp_path / "suite_time.json").exists() and "nothing recorded" in capsys.readouterr().err


def test_suite_time_refuses_a_folder_that_is_no_course(tmp_path, capsys):
    with pytest.raises(SystemExit):
        suite_time.main(["--checkout", str(tmp_path)])
    assert capsys.readouterr().err.strip().endswith(f"error: {tmp_path} holds no .ci/run: give a clone of the course")


def test_render_writes_the_page_and_the_plot(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps([record("classical", "nbsvm", 0.91),
                                   record("lstm", "quick", 0.87, curve=[[1.0, 0.84], [2.0, 0.87]])]))
    report.render_all(results, tmp_path)
    assert "87.00%" in (tmp_path / "RESULTS.md").read_text()
    assert (tmp_path / "time_to_accuracy.png").read_bytes()[:4] == b"\x89PNG"


def test_lessons_with_a_track_define_their_configurations():
    for track, module in run.TRACKS.items():
        source = track_source(track)
        assert "CONFIGS = {" in source and "def run_experiment(" in source, f"{module}: tag its cells 'save'"


def test_the_transformers_reference_computes_the_fine_tuned_classifier():
    """The throughput comparison is fair only if both sides compute one function with one set of weights."""
    import keras
    import keras_hub
    import numpy as np

    from benchmarks.finetune_throughput import reference_logits, to_transformers
    from shared.encoders import Encoder
    from shared.lessons import finetune as lesson

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=8,
                                             intermediate_dim=16, max_sequence_length=12)
    classifier = lesson.build_classifier(Encoder("tiny", backbone, None), total_steps=10)
    token_ids = np.random.default_rng(0).integers(1, 50, size=(3, 12))
    padding_mask = np.arange(12) < np.array([[12], [7], [2]])
    inputs = {"token_ids": token_ids * padding_mask, "segment_ids": np.zeros_like(token_ids),
              "padding_mask": padding_mask}
    ours = classifier.predict_on_batch(inputs)
    theirs = reference_logits(to_transformers(classifier), inputs)
    np.testing.assert_allclose(theirs, ours, atol=1e-5)


@pytest.mark.parametrize("platform, divisor", [("linux", 2**10), ("darwin", 2**20)])
def test_peak_memory_reads_kilobytes_on_linux_and_bytes_on_macos(monkeypatch, platform, divisor):
    monkeypatch.setattr(run.sys, "platform", platform)
    monkeypatch.setattr(run.resource, "getrusage", lambda who: type("Usage", (), {"ru_maxrss": 3 * 2**30})())
    assert run.peak_memory_mb() == 3 * 2**30 / divisor


def small_imdb(movies_seed: int = 0):
    from shared.data import Imdb, Reviews

    rng = np.random.default_rng(movies_seed)
    def split(size: int) -> Reviews:
        labels = np.arange(size) % 2
        return Reviews([f"review {i}" for i in range(size)], labels, None, rng.permutation(size).astype(str))
    return Imdb(split(60), split(20))


def test_a_record_names_the_commit_of_the_code_that_measured_it(tmp_path, monkeypatch):
    import shared.records
    from shared.records import append_record, source_commit

    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    found = source_commit()
    assert found and head.startswith(found.removesuffix("+changes")), (found, head)
    append_record({"track": "a"}, tmp_path / "runs.json")
    append_record({"track": "b", "commit": "given"}, tmp_path / "runs.json")  # a run measured elsewhere keeps its own
    monkeypatch.setattr(shared.records, "ROOT", tmp_path)  # no git checkout: no commit, no error
    append_record({"track": "c"}, tmp_path / "runs.json")
    assert [record.get("commit") for record in read_records(tmp_path / "runs.json")] == [found, "given", None]


def test_saved_predictions_load_back_and_refuse_another_validation_split(tmp_path):
    """What a run saves, lesson 8 and the ensembles load: the same probabilities, only for the same split."""
    from shared.data import validation_indices
    from shared.records import append_record, load_predictions, newest_with_predictions, save_predictions

    imdb = small_imdb()
    held_out = validation_indices(imdb.train)[1]
    probabilities = {"validation": np.linspace(0, 1, len(held_out)), "test": np.linspace(1, 0, 20)}
    results = tmp_path / "results.json"
    for accuracy in (0.8, 0.9):  # the second run of the same configuration is the newest
        saved = save_predictions(probabilities, imdb, f"classical-nbsvm-{accuracy}", tmp_path / "predictions")
        append_record(record("classical", "nbsvm", accuracy, **saved), results)
    newest = newest_with_predictions(read_records(results))["classical/nbsvm"]
    assert newest["test_accuracy"] == 0.9 and newest["predictions"] == "predictions/classical-nbsvm-0.9.npz"
    validation, test = load_predictions(newest, imdb, tmp_path)
    assert np.allclose(validation, probabilities["validation"], atol=1e-3) and np.allclose(test, probabilities["test"],
                                                                                             atol=1e-3)
    with pytest.raises(ValueError, match="not this data's validation split: run it again"):
        load_predictions(newest, small_imdb(movies_seed=1), tmp_path)
    (tmp_path / newest["predictions"]).unlink()
    with pytest.raises(FileNotFoundError, match="missing: run it again"):
        load_predictions(newest, imdb, tmp_path)
    with pytest.raises(ValueError, match="expected 6 validation and 20 test probabilities"):
        save_predictions({"validation": [0.5], "test": [0.5] * 20}, imdb, "short", tmp_path)
