"""Batches for ``model.fit``, ``evaluate`` and ``predict`` on whichever Keras backend is active.

TensorFlow gets a prefetching ``tf.data.Dataset``; other backends get a ``keras.utils.PyDataset`` of numpy
arrays, so no TensorFlow tensor ever reaches a PyTorch model. Import this module after choosing the backend.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

BUCKET_BATCHES = 50  # with bucketing, reviews are sorted by length within windows of this many batches


def plan_batches(size: int, batch_size: int, rng: np.random.Generator, shuffle: bool,
                 lengths: np.ndarray | None = None) -> list[np.ndarray]:
    """Row indices of each batch for one epoch. Given ``lengths``, rows are sorted by length within windows
    of BUCKET_BATCHES batches, so each batch holds similar lengths; with ``shuffle`` the windows and the
    batch order stay random."""
    order = rng.permutation(size) if shuffle else np.arange(size)
    if lengths is not None:
        window = batch_size * BUCKET_BATCHES
        order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")]
                                for chunk in np.split(order, range(window, size, window))])
    batches = np.split(order, range(batch_size, size, batch_size))
    if lengths is not None and shuffle:
        rng.shuffle(batches)
    return batches


class ArrayBatches(keras.utils.PyDataset):
    """Numpy batches of ``(features, labels)``, reshuffled at every epoch when ``shuffle`` is set.

    With ``bucket``, reviews of similar length (non-zero ids) share a batch, so a model that trims each
    batch to its longest review does less work; windows and batch order stay random.
    """

    def __init__(self, features: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int,
                 bucket: bool = False):
        super().__init__()
        self.features, self.labels, self.batch_size = features, labels, batch_size
        self.shuffle = shuffle
        self.lengths = (features != 0).sum(axis=1) if bucket else None
        self.rng = np.random.default_rng(seed)
        self.batches = self._plan()

    def _plan(self) -> list[np.ndarray]:
        return plan_batches(len(self.labels), self.batch_size, self.rng, self.shuffle, self.lengths)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.batches[index]
        return self.features[rows], self.labels[rows]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.batches = self._plan()


def predict_in_order(predict: Callable[[np.ndarray], object], batches: keras.utils.PyDataset) -> np.ndarray:
    """``predict`` (a model's ``predict_on_batch``) over every batch of ``batches`` (which plans its rows in
    ``batches.batches``, as ArrayBatches does), rows back in their original order.

    Bucketed batches reorder the rows so that each batch holds similar lengths; this undoes the reordering."""
    outputs = np.concatenate([keras.ops.convert_to_numpy(predict(inputs)) for inputs, _ in batches])
    in_order = np.empty_like(outputs)
    in_order[np.concatenate(batches.batches)] = outputs
    return in_order


def keras_batches(features, labels, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0,
                  bucket: bool = False):
    """Batch ``features`` (an id matrix or a list of strings) with their ``labels`` for Keras.

    A list of strings stays variable-length (Python objects, or a ``tf.string`` tensor): a fixed-width numpy
    string array would pad all 25,000 reviews to the longest (13k characters, 4 bytes each: 1.3 GB)."""
    labels = np.asarray(labels)
    if len(features) != len(labels):
        raise ValueError(f"{len(features)} feature rows but {len(labels)} labels: they must match.")
    if keras.backend.backend() != "tensorflow":
        features = np.array(features, dtype=object) if isinstance(features, list) else np.asarray(features)
        return ArrayBatches(features, labels, batch_size, shuffle, seed, bucket)
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((tf.constant(features), labels))
    if shuffle:
        data = data.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
