"""Lesson 7's data-parallel training of lesson 3's quick LSTM, on 1 and on 2 processes of this machine.

    python -m benchmarks.distributed                   # 1 process, then 2: one record each
    python -m benchmarks.distributed --processes 2     # one of them

Each run launches ``torchrun --standalone --nproc-per-node=N -m benchmarks.distributed --worker``: every process
runs lesson 7's ``run_experiment`` (a global batch of 64, made of N batches of 64 / N), and rank 0 appends one
object to benchmarks/distributed.json: training time, time per step, the all-reduce of one step's gradients timed
alone, test accuracy, each process's peak memory, the device, the hardware and the command.
``--subset`` trains and tests on a few reviews, to try the command; ``--results`` writes elsewhere.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import subprocess
import sys
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"

from benchmarks.run import hardware, versions  # noqa: E402
from benchmarks.run import peak_memory_mb as process_peak_memory_mb  # noqa: E402
from shared.lessons import distributed as lesson  # noqa: E402
from shared.records import BENCHMARKS, append_record  # noqa: E402

DISTRIBUTED = BENCHMARKS / "distributed.json"


def command(processes: int, options: list[str]) -> str:
    return shlex.join(["python", "-m", "benchmarks.distributed", "--processes", str(processes), *options])


def torchrun_arguments(processes: int, options: list[str]) -> list[str]:
    """What follows ``torchrun`` in the command of one run's processes."""
    return ["--standalone", f"--nproc-per-node={processes}", "-m", "benchmarks.distributed", "--worker", *options]


def worker(data: str | None, subset: int | None, note: str | None, results: Path, options: list[str]) -> None:
    """One process of a run: lesson 7's run_experiment; rank 0 records it."""
    import torch
    import torch.distributed as dist

    from shared.data import Imdb, load_imdb, stratified_sample
    from shared.training import describe_device

    rank, world_size = lesson.start_process_group()
    imdb = load_imdb(data)
    if subset:
        imdb = Imdb(stratified_sample(imdb.train, subset, seed=0), stratified_sample(imdb.test, subset, seed=0))
    result = lesson.run_experiment(imdb)
    peak_memory_mb = [0.0] * world_size
    dist.all_gather_object(peak_memory_mb, process_peak_memory_mb())
    if rank == 0:
        record = {"config": "lstm-quick", **result, "test_reviews": len(imdb.test),
                  "communication_share": result["all_reduce_seconds_per_step"] / result["seconds_per_step"],
                  "backend": dist.get_backend(), "device": describe_device(), "torch_threads": torch.get_num_threads(),
                  "peak_memory_mb": peak_memory_mb, "hardware": hardware(), "versions": versions(),
                  "command": command(world_size, options),
                  "launch": shlex.join(["torchrun", *torchrun_arguments(world_size, options)]),
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        if note:
            record["note"] = note
        append_record(record, results)
        print(f"{world_size} process(es): {result['train_seconds'] / 60:.2f} min of training, "
              f"{result['seconds_per_step'] * 1000:.0f} ms per step, all-reduce alone "
              f"{result['all_reduce_seconds_per_step'] * 1000:.2f} ms; test accuracy {result['test_accuracy']:.4f}",
              flush=True)
    dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="a run for each (default: 1 2)")
    parser.add_argument("--data", help="IMDB data path (default: IMDB_DATA_DIR, the cache, or a download)")
    parser.add_argument("--subset", type=int, help="train and test on this many reviews each, to try the command")
    parser.add_argument("--note", help="conditions worth knowing beside the numbers (e.g. a shared CPU)")
    parser.add_argument("--results", type=Path, default=DISTRIBUTED, help="the JSON file the records go to")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # a process that torchrun started
    args = parser.parse_args(argv)
    options = [*(["--data", args.data] if args.data else []), *(["--subset", str(args.subset)] if args.subset else []),
               *(["--note", args.note] if args.note else []),
               *(["--results", str(args.results)] if args.results != DISTRIBUTED else [])]
    if args.worker:
        worker(args.data, args.subset, args.note, args.results, options)
        return 0
    for processes in args.processes:
        launch = [sys.executable, "-m", "torch.distributed.run", *torchrun_arguments(processes, options)]  # torchrun
        print("$", shlex.join(launch), flush=True)
        subprocess.run(launch, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
