"""How much a validation set drawn review by review flatters, against one drawn by movie (lesson 1).

    python -m benchmarks.validation_gap [--seeds 5]

For each seed, lesson 1's ``validation_gap`` trains TF-IDF + logistic regression on the training part of a
split drawn each way and measures it on that split's validation set, on the test split, and on the test
split without the reviews whose exact text is also in the training split. Appends one object to
benchmarks/validation_gap.json: every seed's run, and per way the mean and standard deviation of
validation minus test accuracy.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from shared.records import BENCHMARKS, append_record

VALIDATION_GAP = BENCHMARKS / "validation_gap.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    from shared.data import load_imdb
    from shared.lessons.data import validation_gap  # its import declares the lesson's Keras backend

    imdb = load_imdb()
    runs = [{"seed": seed, **validation_gap(imdb, seed)} for seed in range(args.seeds)]
    summary = {}
    for way in ("by review", "by movie"):
        gaps = [run[way]["validation"] - run[way]["test"] for run in runs]
        summary[way] = {"mean_validation": statistics.mean(run[way]["validation"] for run in runs),
                        "mean_test": statistics.mean(run[way]["test"] for run in runs),
                        "mean_test_without_train_duplicates": statistics.mean(
                            run[way]["test without train duplicates"] for run in runs),
                        "mean_gap": statistics.mean(gaps), "sd_gap": statistics.stdev(gaps)}
        print(way, {key: round(value, 4) for key, value in summary[way].items()}, flush=True)
    record = {"command": f"python -m benchmarks.validation_gap --seeds {args.seeds}", "model": "TF-IDF (1-2 grams, "
              "min_df 2, sublinear tf) + logistic regression C=4", "summary": summary, "runs": runs}
    append_record(record, VALIDATION_GAP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
