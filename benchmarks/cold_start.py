"""How long a student waits for the first answer: `./course predict`, the demo's page, the grade of a lesson.

    python -m benchmarks.cold_start [--repeats 3] [--lesson 1] [--note "..."]

Each command runs as a student types it, in a new process, with nothing warm but the operating system's file
cache: `./course predict --model lstm "…"` until it exits (the LSTM `./course train` saved and exported for ONNX
Runtime), `./course demo` until its page answers over HTTP, and `./course grade --lesson N` of the untouched
exercise file until the report is printed. Appends one object to benchmarks/cold_start.json; RESULTS.md shows
the newest.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchmarks.run import hardware
from shared.paths import ROOT
from shared.ports import free_port
from shared.predict_command import SAVED_MODELS
from shared.records import BENCHMARKS, append_record

COLD_START = BENCHMARKS / "cold_start.json"
COURSE = str(ROOT / "course")
PAGE_SECONDS = 300  # the longest the demo's page is waited for


def seconds_to_exit(command: list[str], answers: tuple[int, ...] = (0,)) -> float:
    """Wall-clock seconds ``command`` takes to exit with one of ``answers``; another exit is an error, not a time."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode not in answers:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return took



def seconds_to_page() -> float:
    """Seconds from `./course demo` to its page's first answer over HTTP."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen([COURSE, "demo", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < PAGE_SECONDS:
            if server.poll() is not None:
                raise RuntimeError(f"./course demo stopped ({server.returncode}) before serving its page")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    if page.status == 200:
                        return time.perf_counter() - started
            except OSError:  # not listening yet
                time.sleep(0.1)
        raise RuntimeError(f"./course demo served no page within {PAGE_SECONDS} s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def timings(measure: Callable[[], float], repeats: int) -> dict:
    seconds = [measure() for _ in range(repeats)]
    return {"median_s": statistics.median(seconds), "seconds": seconds}


def measure(lesson: int, repeats: int) -> dict:
    if not (ROOT / SAVED_MODELS["lstm"][2] / "model.keras").is_file():
        raise FileNotFoundError(f"no LSTM in {SAVED_MODELS['lstm'][2]}: run ./course train first")
    subprocess.run([COURSE, "setup"], cwd=ROOT, check=True, capture_output=True)  # pins installed: not timed
    # exported for ONNX Runtime, as ./course train leaves it: not timed
    subprocess.run([sys.executable, "-m", "shared.onnx_lstm"], cwd=ROOT, check=True, capture_output=True)
    return {
        "`./course predict --model lstm \"This movie was great\"`":
            timings(lambda: seconds_to_exit([COURSE, "predict", "--model", "lstm", "This movie was great"]), repeats),
        "`./course demo`, until its page answers": timings(seconds_to_page, repeats),
        # exit 1: checks failed, as they do on an exercise not started
        f"`./course grade --lesson {lesson}`, the untouched exercise file":
            timings(lambda: seconds_to_exit([COURSE, "grade", "--lesson", str(lesson)], answers=(0, 1)), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command (the median is shown)")
    parser.add_argument("--lesson", type=int, default=1, help="the lesson graded untouched")
    parser.add_argument("--note", help="conditions worth knowing beside the numbers (e.g. a shared CPU)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be 1 or more, not {args.repeats}")
    try:
        commands = measure(args.lesson, args.repeats)
    except (FileNotFoundError, RuntimeError) as error:
        parser.error(str(error))
    arguments = ["--repeats", str(args.repeats), "--lesson", str(args.lesson)]  # what reproduces it: not the note
    record = {"commands": commands, "hardware": hardware(), "note": args.note,
              "command": shlex.join(["python", "-m", "benchmarks.cold_start", *arguments]),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    append_record(record, COLD_START)
    from benchmarks.report import render_all

    render_all()
    for name, timing in commands.items():
        print(f"{timing['median_s']:6.1f} s  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
