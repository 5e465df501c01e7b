"""One training step of the reference BiLSTM project's model (batch 64, 256 word ids of real reviews), five
ways in one run:
Keras's LSTM layers; lesson 3's Keras model with PyTorch's nn.LSTM inside (FastLSTM); the same recurrent
module in plain PyTorch; and plain PyTorch nn.LSTM on packed and on padded batches.

    python -m benchmarks.lstm_step_time [--steps 5]

Appends one object to benchmarks/step_times.json; RESULTS.md shows the newest.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.run import hardware, versions  # noqa: E402
from shared.data import load_imdb, stratified_sample  # noqa: E402
from shared.lessons import lstm as lesson  # noqa: E402
from shared.records import BENCHMARKS, append_record  # noqa: E402
from shared.text import build_vocabulary, encode  # noqa: E402

STEP_TIMES = BENCHMARKS / "step_times.json"


class PackedLSTM(torch.nn.Module):
    """nn.LSTM on packed sequences: PyTorch's usual exact answer to padding."""

    def __init__(self, input_size: int, units: int, num_layers: int, dropout: float):
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, units, num_layers, batch_first=True, dropout=dropout,
                                  bidirectional=True)

    def forward(self, embedded, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(embedded, lengths.cpu(), batch_first=True,
                                                         enforce_sorted=False)
        hidden = self.lstm(packed)[1][0]
        return torch.cat([hidden[-2], hidden[-1]], dim=1)


class PaddedLSTM(PackedLSTM):
    """nn.LSTM on the padded batch, as the reference project runs it: fast, but the padding leaks into the states."""

    def forward(self, embedded, lengths):
        hidden = self.lstm(embedded)[1][0]
        return torch.cat([hidden[-2], hidden[-1]], dim=1)


class TorchReferenceModel(torch.nn.Module):
    """The reference project's SentimentLSTM in plain PyTorch, with the recurrent part given as a class."""

    def __init__(self, recurrent_class, vocabulary_size=10_002, embedding_dim=128, units=256):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocabulary_size, embedding_dim, padding_idx=0)
        self.lstm = recurrent_class(embedding_dim, units, num_layers=2, dropout=0.5)
        self.dropout = torch.nn.Dropout(0.5)
        self.fc = torch.nn.Linear(2 * units, 1)

    def forward(self, ids):
        return self.fc(self.dropout(self.lstm(self.embedding(ids), (ids != 0).sum(dim=1))))


def keras_step(model: keras.Model):
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return lambda x, y: model.train_on_batch(x, y)


def torch_step(model: torch.nn.Module):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x).long()), torch.from_numpy(y))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def seconds_per_step(step, x, y, steps: int) -> float:
    step(x, y)  # warm-up: graph tracing, allocations
    started = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    return (time.perf_counter() - started) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per way (after one warm-up step)")
    args = parser.parse_args(argv)
    imdb = load_imdb()
    batch = stratified_sample(imdb.train, 64, seed=0)
    x = encode(batch.texts, build_vocabulary(imdb.train.texts), 256)
    y = batch.labels.astype("float32")[:, None]
    keras.utils.set_random_seed(0)
    ways = {  # name: (step function, timed steps); the slow ways get fewer steps
        "Keras LSTM layers (masked)": (keras_step(lesson.build_keras_lstm()), 3),
        "Keras model, FastLSTM (course default)": (keras_step(lesson.build_fast_lstm()), args.steps),
        "plain PyTorch, same MaskedLSTM": (torch_step(TorchReferenceModel(lesson.MaskedLSTM)), args.steps),
        "plain PyTorch, packed nn.LSTM": (torch_step(TorchReferenceModel(PackedLSTM)), 2),
        "plain PyTorch, padded nn.LSTM (leaks)": (torch_step(TorchReferenceModel(PaddedLSTM)), args.steps),
    }
    seconds = {}
    for name, (step, steps) in ways.items():
        seconds[name] = seconds_per_step(step, x, y, steps)
        print(f"{name:40s} {seconds[name]:6.2f} s/step", flush=True)
    record = {"model": "reference BiLSTM: Embedding(10002,128) + 2x BiLSTM(256) + Dense(1)", "batch": 64, "length": 256,
              "mean_real_tokens": float((x != 0).sum(1).mean()), "seconds_per_step": seconds,
              "keras_over_plain_pytorch": seconds["Keras model, FastLSTM (course default)"]
              / seconds["plain PyTorch, same MaskedLSTM"],
              "torch_threads": torch.get_num_threads(), "hardware": hardware(), "versions": versions(),
              "command": "python -m benchmarks.lstm_step_time",
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    append_record(record, STEP_TIMES)
    from benchmarks.report import render_all

    render_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
