"""Keras batches on the PyTorch backend: every row once per epoch, shuffling, length buckets."""

import numpy as np
import pytest

from shared.batches import ArrayBatches, keras_batches


def ids_with_lengths(lengths: list[int], width: int = 12) -> np.ndarray:
    ids = np.zeros((len(lengths), width), dtype=np.int32)
    for row, n in enumerate(lengths):
        ids[row, :n] = row + 1
    return ids


@pytest.mark.parametrize("bucket", [False, True])
def test_every_row_appears_once_per_epoch(bucket):
    features = ids_with_lengths(list(np.random.default_rng(0).integers(1, 12, 103)))
    batches = keras_batches(features, np.arange(103), 10, shuffle=True, bucket=bucket)
    assert isinstance(batches, ArrayBatches) and len(batches) == 11
    for _ in range(2):
        seen = np.concatenate([batches[i][1] for i in range(len(batches))])
        assert sorted(seen) == list(range(103))
        batches.on_epoch_end()


def test_shuffle_changes_the_order_between_epochs_but_not_without_it():
    features, labels = np.arange(40)[:, None], np.arange(40)
    fixed = keras_batches(features, labels, 8)
    assert fixed[0][1].tolist() == list(range(8))
    shuffled = keras_batches(features, labels, 8, shuffle=True, seed=1)
    first = shuffled[0][1].tolist()
    shuffled.on_epoch_end()
    assert first != list(range(8)) and shuffled[0][1].tolist() != first


def test_buckets_group_similar_lengths():
    lengths = list(np.random.default_rng(0).integers(1, 12, 200))
    features = ids_with_lengths(lengths)
    bucketed = keras_batches(features, np.zeros(200), 20, shuffle=True, bucket=True)
    spread = [np.ptp((bucketed[i][0] != 0).sum(1)) for i in range(len(bucketed))]
    assert max(spread) <= 2  # 200 reviews fit one window: sorted, each batch spans neighbouring lengths


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="3 feature rows but 2 labels"):
        keras_batches(np.zeros((3, 4)), np.zeros(2))
