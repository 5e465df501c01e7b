"""How fast lesson 3's predict_sentiment answers one-sentence reviews, before and after length-sorted batches.

    python -m benchmarks.prediction_speed [--model artifacts/lesson03/classifier] [--reviews 2000]

Before: every review padded to 256 ids and asked through ``model.predict`` at Keras's default batch of 32 (the
lesson's predict_sentiment until it batched like ``run_experiment``). After: the lesson's ``predict_sentiment``,
which asks ``predict_on_batch`` about length-sorted batches of 256 (``keras_batches(..., bucket=True)``) that
``FastLSTM`` cuts to their longest review. The reviews are the first sentence of test reviews, the kind of
review the demo and ``./course predict`` get. Speed does not depend on the weights: without a saved model,
the quick configuration's untrained model stands in, and the record says so. Each way runs three times after
a warm-up; the record keeps the fastest, and the load average, since other jobs may share the CPU.

Appends one object to benchmarks/prediction_speed.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.run import hardware, versions  # noqa: E402
from shared.data import load_imdb, stratified_sample  # noqa: E402
from shared.lessons import lstm as lesson  # noqa: E402
from shared.records import BENCHMARKS, append_record  # noqa: E402
from shared.text import build_vocabulary, clean_html, encode, words  # noqa: E402

RECORDS = BENCHMARKS / "prediction_speed.json"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
REPEATS = 3


def first_sentences(texts: list[str]) -> list[str]:
    return [SENTENCE_END.split(clean_html(text), maxsplit=1)[0] for text in texts]


def padded_keras_predict(model: keras.Model, vocabulary: dict[str, int], texts: list[str]) -> list[tuple[str, float]]:
    """Lesson 3's predict_sentiment before: ids padded to 256, ``model.predict`` at its default batch size."""
    logits = model.predict(encode(texts, vocabulary, 256, "tail"), verbose=0)[:, 0]
    probabilities = keras.ops.convert_to_numpy(keras.ops.sigmoid(logits))
    return [("positive", float(p)) if p >= 0.5 else ("negative", float(1 - p)) for p in probabilities]


def texts_per_second(predict, texts: list[str]) -> tuple[float, list]:
    """The best of REPEATS timed runs after a warm-up, and the answers."""
    predict(texts[:64])
    seconds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        answers = predict(texts)
        seconds.append(time.perf_counter() - started)
    return len(texts) / min(seconds), answers


def quick_model(lesson, imdb) -> tuple[keras.Model, dict[str, int]]:
    """The quick configuration's model, untrained, with the vocabulary of the training split."""
    config = lesson.CONFIGS["quick"]
    vocabulary = build_vocabulary(imdb.train.texts, lesson.MAX_WORDS, lesson.MIN_COUNT)
    keras.utils.set_random_seed(0)
    model = lesson.build_fast_lstm(len(vocabulary), config["embedding_dim"], config["units"], config["num_layers"],
                                   config["dropout"])
    return model, vocabulary


def measure(model_folder: Path, reviews: int, data: str | None) -> dict:
    imdb = load_imdb(data)
    saved = (model_folder / "model.keras").is_file()
    model, vocabulary = lesson.load_classifier(model_folder) if saved else quick_model(lesson, imdb)
    texts = first_sentences(stratified_sample(imdb.test, reviews, seed=0).texts)
    before, old_answers = texts_per_second(lambda batch: padded_keras_predict(model, vocabulary, batch), texts)
    after, new_answers = texts_per_second(lambda batch: lesson.predict_sentiment(model, vocabulary, batch), texts)
    readable = [(old, new) for old, new in zip(old_answers, new_answers) if new.readable]
    return {
        "model": f"lesson 3's quick BiLSTM saved in {model_folder}" if saved else
                 f"lesson 3's quick BiLSTM, untrained (no model saved in {model_folder}; speed does not depend "
                 "on the weights)",
        "reviews": len(texts), "words_per_review": float(np.mean([len(words(text)) for text in texts])),
        "texts_per_s": {"before: ids padded to 256, model.predict at batch 32": before,
                        "after: predict_sentiment, length-sorted batches of 256": after},
        "speed_up": after / before,
        "unreadable": len(texts) - len(readable),
        "same_labels": float(np.mean([old[0] == new.label for old, new in readable])),
        "max_confidence_difference": max(abs(old[1] - new.confidence) for old, new in readable),
        "load_average": os.getloadavg()[0], "torch_threads": torch.get_num_threads(), "hardware": hardware(),
        "versions": versions(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/lesson03/classifier"),
                        help="a folder written by lesson 3's save_classifier")
    parser.add_argument("--reviews", type=int, default=2_000, help="test reviews whose first sentence is asked")
    parser.add_argument("--data", help="IMDB folder or archive (default: IMDB_DATA_DIR, then the cache)")
    args = parser.parse_args(argv)
    record = measure(args.model, args.reviews, args.data)
    arguments = sys.argv[1:] if argv is None else argv
    record["command"] = shlex.join(["python", "-m", "benchmarks.prediction_speed", *arguments])
    append_record(record, RECORDS)
    print(json.dumps({key: record[key] for key in ("model", "texts_per_s", "speed_up", "load_average")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
