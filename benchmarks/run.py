"""Run one benchmark track on the full IMDB data and record it.

    python -m benchmarks.run --track classical                 # every configuration of the track
    python -m benchmarks.run --track lstm --config quick       # one configuration
    python -m benchmarks.run --track all                       # every track, one process each

Each run appends one object to benchmarks/results.json and saves its per-review probabilities on the
validation and test splits under benchmarks/predictions/ (float16, named in the object), then RESULTS.md and
time_to_accuracy.png are rendered again from the whole file (``shared.records`` reads and writes them). A track
is a module's ``CONFIGS`` and ``run_experiment(imdb, config)``: a lesson's, as the lesson exports it
(``shared.lessons``), with the Keras backend the lesson declares, or the ensembles' (``benchmarks/ensemble.py``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# track -> the module whose CONFIGS and run_experiment it runs
TRACKS = {"classical": "shared.lessons.classical", "lstm": "shared.lessons.lstm",
          "small-bert": "shared.lessons.small_bert", "finetune": "shared.lessons.finetune",
          "frozen": "shared.lessons.frozen_embeddings", "ensemble": "benchmarks.ensemble"}
PACKAGES = ("keras", "keras-hub", "torch", "tensorflow", "scikit-learn", "numpy")


def hardware() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    import torch  # PyTorch sees the NVIDIA GPUs that TensorFlow would see too

    gpus = [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    gpu = f"{len(gpus)} GPU{'s' * (len(gpus) > 1)} ({', '.join(sorted(set(gpus)))})" if gpus else "no GPU"
    return f"{os.cpu_count()} CPU cores ({cpu}), {gpu}" if cpu else f"{os.cpu_count()} CPU cores, {gpu}"


def peak_memory_mb() -> float:
    """This process's peak resident memory: ru_maxrss counts kilobytes on Linux, bytes on macOS."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def run_track(track: str, config_name: str | None, data: str | None, note: str | None = None) -> list[dict]:
    """Run the track's configurations in this process; return the recorded objects."""
    lesson = importlib.import_module(TRACKS[track])  # first: a lesson's module declares the Keras backend
    from shared.data import load_imdb, validation_method
    from shared.records import append_record, save_predictions
    from shared.training import describe_device

    imdb = load_imdb(data)
    recorded = []
    for name in [config_name] if config_name else list(lesson.CONFIGS):
        print(f"[{track}/{name}] running on {len(imdb.train):,} + {len(imdb.test):,} reviews", flush=True)
        result = lesson.run_experiment(imdb, lesson.CONFIGS[name])
        command = f"python -m benchmarks.run --track {track} --config {name}"
        date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        record = {"track": track, "config": name, "settings": lesson.CONFIGS[name], **result,
                  "validation": validation_method(imdb.train),
                  "peak_memory_mb": peak_memory_mb(),
                  "hardware": hardware(), "device": describe_device(), "versions": versions(), "command": command,
                  "date": date}
        if "probabilities" in result:
            record.update(save_predictions(record.pop("probabilities"), imdb, f"{track}-{name}-{date[:19]}"))
        if note:
            record["note"] = note
        append_record(record)
        recorded.append(record)
        print(json.dumps({k: record[k] for k in ("track", "config", "test_accuracy", "train_seconds")}))
    return recorded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--track", required=True, choices=[*TRACKS, "all"])
    parser.add_argument("--config", help="one configuration of the track (default: all of them)")
    parser.add_argument("--data", help="IMDB data path (default: IMDB_DATA_DIR, the cache, or a download)")
    parser.add_argument("--note", help="conditions worth knowing beside the numbers (e.g. a shared CPU)")
    args = parser.parse_args(argv)
    if args.track == "all":  # one process per track: each lesson has its own Keras backend
        for track in TRACKS:
            command = [sys.executable, "-m", "benchmarks.run", "--track", track]
            print("$", shlex.join(command), flush=True)
            options = [*(["--data", args.data] if args.data else []), *(["--note", args.note] if args.note else [])]
            subprocess.run(command + options, check=True)
    else:
        run_track(args.track, args.config, args.data, args.note)
    from benchmarks.report import render_all

    render_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
