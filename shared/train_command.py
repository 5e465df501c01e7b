"""Train lesson 3's LSTM on the IMDB split, save it, and export it for ./course predict.

    ./course train                        # the quick configuration: test accuracy on the 25,000 test reviews
    ./course train --config full          # the reference BiLSTM project's model (LSTM_CONFIG=full says the same)
    ./course train --reviews 2000 --epochs 1   # a first try in a minute or two: 2,000 reviews of each split

It writes the training curves and the classifier to artifacts/lesson03 (--output), exports the classifier for
ONNX Runtime and has it classify three sample reviews. The code is the lesson's, exported to shared/lessons/lstm.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from shared.data import DataError, Imdb, load_imdb, stratified_sample

PROG = "./course train"


def at_least(smallest: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than ``smallest``."""
    def number(text: str) -> int:
        if not text.isdecimal() or int(text) < smallest:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {smallest}, got {text!r}")
        return int(text)
    return number


def parser() -> argparse.ArgumentParser:
    """The command's arguments, read before Keras and PyTorch load: --help answers at once."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=os.environ.get("LSTM_CONFIG", "quick"),
                        help="a configuration of shared/lessons/lstm.py's CONFIGS: quick or full (default: "
                             "$LSTM_CONFIG, or quick)")
    parser.add_argument("--reviews", type=at_least(100), metavar="N",
                        help="train and test on N reviews of each split, drawn with both labels in proportion")
    parser.add_argument("--epochs", type=at_least(1), metavar="N", help="epochs at most (default: the configuration's)")
    parser.add_argument("--output", type=Path, help="where to write (default: artifacts/lesson03)")
    return parser


def sampled(imdb: Imdb, reviews: int | None) -> Imdb:
    """``imdb``, or ``reviews`` reviews of each of its splits."""
    if reviews is None:
        return imdb
    return Imdb(stratified_sample(imdb.train, reviews), stratified_sample(imdb.test, reviews))


def main(argv: list[str] | None = None) -> int:
    command = parser()
    args = command.parse_args(argv)
    try:  # before Keras and PyTorch load: no data is said at once
        imdb = sampled(load_imdb(), args.reviews)
    except DataError as error:  # no data, and none to download: the message says how to provide it
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    from shared.lessons import lstm  # the lesson's export; its first line chooses the PyTorch backend
    from shared.onnx_lstm import export_onnx
    from shared.training import SAMPLE_REVIEWS, print_predictions

    if args.config not in lstm.CONFIGS:
        command.error(f"--config (or LSTM_CONFIG) is {args.config!r}, none of {', '.join(lstm.CONFIGS)}")
    output = args.output or lstm.OUTPUT
    config = {**lstm.CONFIGS[args.config], **({"epochs": args.epochs} if args.epochs else {})}
    result = lstm.run_experiment(imdb, config, output)
    print(f"{args.config}: test accuracy {result['test_accuracy']:.4f} on {len(imdb.test):,} reviews after "
          f"{result['epochs_run']} epochs, {result['train_seconds'] / 60:.1f} min of training; curves in "
          f"{output / 'curves.png'}")
    classifier = output / "classifier"
    print(f"{export_onnx(classifier)}: the classifier for ONNX Runtime (./course predict), checked against Keras")
    print_predictions(SAMPLE_REVIEWS, lstm.predict_sentiment(*lstm.load_classifier(classifier), SAMPLE_REVIEWS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
