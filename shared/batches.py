"""Batches for ``model.fit``, ``evaluate`` and ``predict`` on whichever Keras backend is active.

TensorFlow gets a prefetching ``tf.data.Dataset``; other backends get a ``keras.utils.PyDataset`` of numpy
arrays, so no TensorFlow tensor ever reaches a PyTorch model. Import this module after choosing the backend.
"""

from __future__ import annotations

import keras
import numpy as np


class ArrayBatches(keras.utils.PyDataset):
    """Numpy batches of ``(features, labels)``, reshuffled at every epoch when ``shuffle`` is set."""

    def __init__(self, features: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int):
        super().__init__()
        self.features, self.labels, self.batch_size, self.shuffle = features, labels, batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(labels)) if shuffle else np.arange(len(labels))

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.features[rows], self.labels[rows]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self.rng.permutation(len(self.labels))


def keras_batches(features, labels, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0):
    """Batch ``features`` (an id matrix or a list of strings) with their ``labels`` for Keras."""
    features = np.array(features, dtype=str) if isinstance(features, list) else np.asarray(features)
    labels = np.asarray(labels)
    if len(features) != len(labels):
        raise ValueError(f"{len(features)} feature rows but {len(labels)} labels: they must match.")
    if keras.backend.backend() != "tensorflow":
        return ArrayBatches(features, labels, batch_size, shuffle, seed)
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((features, labels))
    if shuffle:
        data = data.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
