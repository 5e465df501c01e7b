"""Graded checks of lesson 3: the reference BiLSTM in Keras, the padding-proof fast path, training, saving.

Each check calls the learner's function and judges what it does: parameter counts against the layers the
exercise describes, the logit of a review with and without its padding, the share of inputs that dropout
zeroes, what `train` does on tiny problems whose right answer is known (a crafted output layer, validation
labels opposite to the training ones), what `predict_sentiment` says for a model with crafted weights and
in which batches it asks it, and which saved folders `load_classifier` refuses.
Where a known mistake (tests/known_wrong/03_lstm.py) explains a difference, the feedback names it.
"""

import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from randomized import check_agrees_with_reference, check_holds
from checking import (check_calibrated_accuracy, check_quiet_when_fit_verbosity_says_so, dropout_zeros, output_kind,
                      output_layer, rounded, same, saved_twice, to_numpy, which_mistake)

from shared.batches import keras_batches
from shared.data import stratified_sample, validation_split
from shared.sealed import MANIFEST, SavedModelError
from shared.text import build_vocabulary, encode

LESSON = "03"
PADDED = np.array([[5, 6, 7, 0, 0, 0], [5, 6, 7, 8, 9, 3]], dtype="int32")  # a review padded, then a full one
TRIMMED = PADDED[:1, :3]  # the first review without its padding


def logits(model, ids) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(ids, training=False))


def stack_parameters(vocabulary_size: int, embedding_dim: int, units: int, num_layers: int, directions: int,
                     biases: int) -> int:
    """Parameters of Embedding -> num_layers (bi)LSTM layers -> Dense(1): Keras's LSTM keeps one bias
    vector per gate block, PyTorch's nn.LSTM two."""
    total, inputs = vocabulary_size * embedding_dim, embedding_dim
    for _ in range(num_layers):
        total += directions * 4 * units * (inputs + units + biases)
        inputs = directions * units
    return total + inputs + 1


# --------------------------------------------------------------------------- behaviour shared by the builders


def check_padding_does_not_leak(model) -> None:
    # In full float32 on every device: on a GPU, TF32 matmuls (cuDNN's LSTM uses them by default) differ by
    # about 1e-3, which would hide nothing and fail a right answer.
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        matmul_tf32, torch.backends.cuda.matmul.allow_tf32 = torch.backends.cuda.matmul.allow_tf32, False
        try:
            padded, trimmed = logits(model, PADDED)[0, 0], logits(model, TRIMMED)[0, 0]
        finally:
            torch.backends.cuda.matmul.allow_tf32 = matmul_tf32
    assert abs(padded - trimmed) < 1e-5, (
        f"expected the same logit for a review with or without padding, got {padded:.6f} and {trimmed:.6f} "
        f"— padding leaks into the result: use mask_zero=True in the Embedding")


def check_outputs_a_logit(model) -> None:
    kind, output, pre_activation = output_kind(model, PADDED)
    assert output.shape == (2, 1), f"expected one logit per review, output shape (2, 1), got {output.shape}"
    assert kind == "logits", (
        f"expected the output Dense unit's logits {rounded(pre_activation[:, 0])}, got {rounded(output[:, 0])}"
        + (" — a sigmoid on the output: output the logit, the loss applies the sigmoid (from_logits=True)"
           if kind == "probabilities" else ""))


def check_dropout_before_the_output(model, rate: float) -> None:
    zeros = dropout_zeros(model, np.tile(PADDED, (32, 1)))  # 2,048 inputs: the share is the rate, to 0.03
    assert abs(zeros - rate) < 0.1, (
        f"expected Dropout({rate}) just before the output layer: about {rate:.0%} of its inputs zeroed while "
        f"training, got {zeros:.0%}" + (" — no Dropout before the output layer" if zeros == 0 else ""))


def builder_problem(model: keras.Model, parameters: int, dropout: float) -> str:
    """What a model built on drawn sizes gets wrong ("" if nothing): its parameter count, or the share of the
    output layer's inputs that dropout zeroes (over 4 passes, 1,024 or more of them: the share is the rate, to 0.05)."""
    if model.count_params() != parameters:
        return f"to have {parameters:,} parameters, got {model.count_params():,}"
    zeros = dropout_zeros(model, np.tile(PADDED, (64, 1)), repeats=4)
    if abs(zeros - dropout) >= 0.1:
        return (f"to zero about {dropout:.0%} of the output layer's inputs while training (Dropout({dropout})), "
                f"got {zeros:.0%}")
    return ""


# every argument varied; a vocabulary of 10 or more, since PADDED holds ids up to 9
DRAWN_SIZES = (st.integers(10, 300), st.integers(1, 12), st.integers(1, 6))
DRAWN_DROPOUT = st.sampled_from([0.0, 0.2, 0.35, 0.5, 0.8])


def check_dropout_between_the_lstm_layers(model: keras.Model, two_layer_parameters: int) -> None:
    """Between two training passes, the output layer's inputs that both passes keep differ only if
    something before the last dropout is random too: here, dropout between the LSTM layers. A model with
    another parameter count than ``two_layer_parameters`` (one layer) is the parameter check's to explain: it is
    not told that it lacks a dropout between layers it does not have."""
    features = keras.Model(model.input, output_layer(model).input)
    first, second = (to_numpy(features(np.tile(PADDED, (32, 1)), training=True)) for _ in range(2))
    kept = (first != 0) & (second != 0)
    mistake = " — no dropout between the LSTM layers" if model.count_params() == two_layer_parameters else ""
    assert not np.allclose(first[kept], second[kept]), (
        "expected dropout between the two LSTM layers, so that the last LSTM layer's outputs change from one "
        f"training pass to the next, got the same outputs twice{mistake}")


# --------------------------------------------------------------------------- 3.1 build_keras_lstm


@pytest.mark.exercise("3.1", points=1)
def test_keras_lstm_matches_the_reference_with_one_bias_vector(lesson):
    model = lesson.build_keras_lstm()
    expected = stack_parameters(10_002, 128, 256, num_layers=2, directions=2, biases=1)
    mistake = which_mistake(model.count_params(), {
        "the LSTM layers read forward only: wrap each in Bidirectional":
            stack_parameters(10_002, 128, 256, num_layers=2, directions=1, biases=1),
        "one bidirectional LSTM layer, not two": stack_parameters(10_002, 128, 256, 1, 2, 1),
        "the fast model's count (two bias vectors): build this one with Keras's LSTM layer":
            stack_parameters(10_002, 128, 256, 2, 2, 2)})
    assert model.count_params() == expected, (
        f"expected {expected:,} parameters (the reference project's 3,648,257 less one 4x256 bias per direction "
        f"and layer), "
        f"got {model.count_params():,}{mistake}")


@pytest.mark.exercise("3.1", points=1)
def test_keras_lstm_masks_the_padding(lesson):
    keras.utils.set_random_seed(0)
    check_padding_does_not_leak(lesson.build_keras_lstm(100, 8, 4, dropout=0.5))


@pytest.mark.exercise("3.1", points=1)
def test_keras_lstm_outputs_a_logit_after_dropout(lesson):
    keras.utils.set_random_seed(0)
    model = lesson.build_keras_lstm(100, 8, 16, dropout=0.5)
    check_outputs_a_logit(model)
    check_dropout_before_the_output(model, 0.5)


@pytest.mark.exercise("3.1", points=1)
def test_keras_lstm_drops_out_between_its_layers(lesson):
    keras.utils.set_random_seed(0)
    model = lesson.build_keras_lstm(100, 8, 16, dropout=0.5)
    check_dropout_between_the_lstm_layers(model, stack_parameters(100, 8, 16, num_layers=2, directions=2, biases=1))
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    if len(lstms) == 2:  # what the layer before the second one gives: the first one's outputs, half dropped
        before = model.layers[model.layers.index(lstms[1]) - 1]
        inputs = to_numpy(keras.Model(model.input, before.output)(np.tile(PADDED[1:], (32, 1)), training=True))
        zeros = float(np.mean(inputs == 0))
        assert abs(zeros - 0.5) < 0.1, (
            f"expected Dropout(0.5) between the two LSTM layers: about half of the second layer's inputs zeroed "
            f"while training, got {zeros:.0%}")


@pytest.mark.exercise("3.1", points=1)
def test_keras_lstm_on_drawn_sizes(lesson):
    def broken(vocabulary_size: int, embedding_dim: int, units: int, dropout: float) -> str:
        model = lesson.build_keras_lstm(vocabulary_size, embedding_dim, units, dropout=dropout)
        return builder_problem(model, stack_parameters(vocabulary_size, embedding_dim, units, 2, 2, 1), dropout)

    check_holds("build_keras_lstm", broken, st.tuples(*DRAWN_SIZES, DRAWN_DROPOUT), examples=6)


# --------------------------------------------------------------------------- 3.2 reverse_within_length


def reversed_rows(values: np.ndarray, sources: list[list[int]]) -> np.ndarray:
    """values[b, sources[b][p]] for every row b and position p: what a row reversal reads where."""
    return np.stack([values[row, source] for row, source in enumerate(sources)])


@pytest.mark.exercise("3.2", points=1)
def test_reverse_within_length(lesson):
    steps, lengths = 6, [3, 5]
    values = np.array([[1, 2, 3, 0, 0, 0], [1, 2, 3, 4, 5, 0]], dtype="float32")
    batch = np.stack([values, values + 0.5 * (values > 0)], axis=-1)  # two features per step
    found = lesson.reverse_within_length(torch.tensor(batch), torch.tensor(lengths)).numpy()
    within = [[n - 1 - p if p < n else p for p in range(steps)] for n in lengths]
    expected = reversed_rows(batch, within)
    mistake = which_mistake(found, {
        "the whole padded row is reversed: the padding moved to the front, reverse only the first length steps":
            batch[:, ::-1],
        "off by one: position p of a review of length n reads position n - 1 - p":
            reversed_rows(batch, [[n - p if p < n else p for p in range(steps)] for n in lengths]),
        "every row reversed within the longest review's length, not its own":
            reversed_rows(batch, [[max(lengths) - 1 - p if p < max(lengths) else p for p in range(steps)]] * 2),
        "only the first feature moved: expand the index over the features": expected[..., :1]})
    assert same(found, expected), (
        f"expected rows {expected[..., 0].tolist()} (shape {expected.shape}) for lengths {lengths}, "
        f"got {found[..., 0].tolist()} (shape {found.shape}){mistake}")
    full = torch.arange(12.0).reshape(2, 6, 1)
    twice = lesson.reverse_within_length(lesson.reverse_within_length(full, torch.tensor([6, 1])), torch.tensor([6, 1]))
    assert same(twice.numpy(), full.numpy()), (
        f"expected reversing twice to give the batch back for lengths 6 (the whole row) and 1, "
        f"got {twice[..., 0].tolist()}")


def drawn_batches() -> st.SearchStrategy[tuple[np.ndarray, list[int]]]:
    """(batch, steps, features) of distinct values, each row's length from 0 (all padding) to steps."""
    shapes = st.tuples(st.integers(1, 4), st.integers(1, 8), st.integers(1, 3))
    return shapes.flatmap(lambda shape: st.tuples(
        st.just(np.arange(math.prod(shape), dtype="float32").reshape(shape)),
        st.lists(st.integers(0, shape[1]), min_size=shape[0], max_size=shape[0])))


def on_arrays(reverse):
    """``reverse`` called with tensors as the model calls it, its answer as an array."""
    return lambda sequences, lengths: reverse(torch.tensor(sequences), torch.tensor(lengths)).numpy()


@pytest.mark.exercise("3.2", points=1)
def test_reverse_within_length_on_drawn_batches(lesson, reference):
    check_agrees_with_reference("reverse_within_length", on_arrays(lesson.reverse_within_length),
                                on_arrays(reference.reverse_within_length), drawn_batches())


@pytest.mark.exercise("3.2", points=2)
def test_masked_lstm_equals_packed_sequences(lesson):
    torch.manual_seed(0)
    fast = lesson.MaskedLSTM(8, 4, num_layers=2).eval()
    packed = torch.nn.LSTM(8, 4, num_layers=2, batch_first=True, bidirectional=True).eval()
    for layer in range(2):  # give the reference the same weights
        for suffix, source in (("", fast.forward_layers[layer]), ("_reverse", fast.backward_layers[layer])):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(packed, f"{name}_l{layer}{suffix}").data.copy_(getattr(source, f"{name}_l0").data)
    embedded, lengths = torch.randn(3, 7, 8), torch.tensor([7, 3, 1])
    hidden = packed(torch.nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first=True,
                                                            enforce_sorted=False))[1][0]
    difference = (fast(embedded, lengths) - torch.cat([hidden[-2], hidden[-1]], 1)).abs().max().item()
    assert difference < 1e-5, (
        f"expected MaskedLSTM to give the final states of packed sequences, got states differing by "
        f"{difference:.2e}: reverse_within_length feeds its backward direction")


# --------------------------------------------------------------------------- 3.3 build_fast_lstm


@pytest.mark.exercise("3.3", points=2)
def test_fast_lstm_has_the_reference_parameter_count(lesson):
    for size, layers in (((10_002, 128, 256), 2), ((100, 8, 4), 1), ((100, 8, 4), 3)):
        model = lesson.build_fast_lstm(*size, num_layers=layers)
        expected = stack_parameters(*size, num_layers=layers, directions=2, biases=2)
        mistake = which_mistake(model.count_params(), {
            "one LSTM layer: pass num_layers to FastLSTM": stack_parameters(*size, 1, 2, 2),
            "two LSTM layers whatever num_layers says: pass num_layers to FastLSTM": stack_parameters(*size, 2, 2, 2),
            "Keras's LSTM layer (one bias vector): use FastLSTM, PyTorch's nn.LSTM keeps two":
                stack_parameters(*size, layers, 2, 1)})
        assert model.count_params() == expected, (
            f"expected {expected:,} parameters for build_fast_lstm{size} with num_layers={layers}, "
            f"got {model.count_params():,}{mistake}")


@pytest.mark.exercise("3.3", points=2)
def test_fast_lstm_masks_the_padding_and_is_deterministic_at_inference(lesson):
    keras.utils.set_random_seed(0)
    model = lesson.build_fast_lstm(100, 8, 4, num_layers=2, dropout=0.5)
    check_padding_does_not_leak(model)
    first, second = logits(model, PADDED), logits(model, PADDED)
    assert np.allclose(first, second), (
        f"expected the same logits twice with training=False, got {rounded(first)} then {rounded(second)}: "
        f"dropout must be off at inference")


@pytest.mark.exercise("3.3", points=1)
def test_fast_lstm_outputs_a_logit_after_dropout(lesson):
    keras.utils.set_random_seed(0)
    model = lesson.build_fast_lstm(100, 8, 16, num_layers=2, dropout=0.5)
    check_outputs_a_logit(model)
    check_dropout_before_the_output(model, 0.5)


@pytest.mark.exercise("3.3", points=1)
def test_fast_lstm_drops_out_between_its_layers(lesson):
    keras.utils.set_random_seed(0)
    check_dropout_between_the_lstm_layers(lesson.build_fast_lstm(100, 8, 16, num_layers=2, dropout=0.5),
                                          stack_parameters(100, 8, 16, num_layers=2, directions=2, biases=2))


@pytest.mark.exercise("3.3", points=1)
def test_fast_lstm_on_drawn_sizes(lesson):
    def broken(vocabulary_size: int, embedding_dim: int, units: int, num_layers: int, dropout: float) -> str:
        model = lesson.build_fast_lstm(vocabulary_size, embedding_dim, units, num_layers=num_layers, dropout=dropout)
        expected = stack_parameters(vocabulary_size, embedding_dim, units, num_layers, 2, 2)
        return builder_problem(model, expected, dropout)

    check_holds("build_fast_lstm", broken, st.tuples(*DRAWN_SIZES, st.integers(1, 3), DRAWN_DROPOUT), examples=6)


# --------------------------------------------------------------------------- 3.4 build_wordpiece_lstm


@pytest.mark.exercise("3.4", points=1)
def test_wordpiece_lstm_has_one_forward_fast_lstm(lesson):
    model = lesson.build_wordpiece_lstm()
    expected = stack_parameters(30_522, 128, 256, num_layers=1, directions=1, biases=2)
    mistake = which_mistake(model.count_params(), {
        "bidirectional: the WordPiece LSTM reads forward only (FastLSTM(units, bidirectional=False))":
            stack_parameters(30_522, 128, 256, 1, 2, 2),
        "Keras's LSTM layer (one bias vector): build it with FastLSTM(units, bidirectional=False)":
            stack_parameters(30_522, 128, 256, 1, 1, 1)})
    assert model.count_params() == expected, f"expected {expected:,} parameters, got {model.count_params():,}{mistake}"
    ids = lesson.wordpiece_ids(["An unwatchable film.", "Great!"], length=16)
    assert ids.shape == (2, 16), f"expected wordpiece_ids of shape (2, 16), got {ids.shape}"
    assert logits(model, ids).shape == (2, 1), f"expected output shape (2, 1), got {logits(model, ids).shape}"


@pytest.mark.exercise("3.4", points=1)
def test_wordpiece_lstm_on_drawn_sizes(lesson):
    def broken(vocabulary_size: int, embedding_dim: int, units: int) -> str:
        model = lesson.build_wordpiece_lstm(vocabulary_size, embedding_dim, units)
        return builder_problem(model, stack_parameters(vocabulary_size, embedding_dim, units, 1, 1, 2), dropout=0.0)

    check_holds("build_wordpiece_lstm", broken, st.tuples(*DRAWN_SIZES), examples=6)


@pytest.mark.exercise("3.4", points=1)
def test_wordpiece_lstm_masks_the_padding(lesson):
    keras.utils.set_random_seed(0)
    check_padding_does_not_leak(lesson.build_wordpiece_lstm(100, 8, 4))


@pytest.mark.exercise("3.4", points=1)
def test_wordpiece_lstm_outputs_a_logit(lesson):
    keras.utils.set_random_seed(0)
    check_outputs_a_logit(lesson.build_wordpiece_lstm(100, 8, 4))


# --------------------------------------------------------------------------- 3.5 train


def bag_of_words(vocabulary_size: int = 20, seed: int = 0) -> keras.Model:
    """A tiny model whose training takes milliseconds: the mean of the token vectors, then one logit."""
    keras.utils.set_random_seed(seed)
    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocabulary_size, 4, mask_zero=True)(ids))
    return keras.Model(ids, keras.layers.Dense(1)(x))


LOGIT = 0.25  # the crafted model's output for every review: probability 0.56, positive only by threshold 0


def crafted_training(lesson, workdir, seed: int = 0) -> tuple[keras.Model, dict]:
    """One epoch of train() with a model that outputs logit 0.25 for everything, on labels that are all 1,
    at a learning rate too small to move it: the metrics and the loss are known in advance."""
    model = bag_of_words(seed=seed)
    dense = model.layers[-1]
    dense.set_weights([np.zeros((4, 1)), np.full(1, LOGIT)])
    ids = np.random.default_rng(seed).integers(1, 20, (32, 6)).astype("int32")
    batches = keras_batches(ids, np.ones(32, dtype="float32"), 16)
    history = lesson.train(model, batches, batches, epochs=1, checkpoint=workdir / "best.keras", patience=1,
                           learning_rate=1e-5)
    return model, history.history


@pytest.fixture(scope="module")
def crafted_run(lesson, tmp_path_factory):
    return crafted_training(lesson, tmp_path_factory.mktemp("crafted"))


@pytest.mark.exercise("3.5", points=1)
def test_accuracy_metric_thresholds_logits_at_zero(crafted_run):
    _, history = crafted_run
    assert {"accuracy", "val_accuracy"} <= set(history), (
        f"expected 'accuracy' and 'val_accuracy' in the history, got {sorted(history)}: "
        f"name the metric 'accuracy'")
    found = history["val_accuracy"][0]
    mistake = " — the metric thresholds logits at 0.5: use BinaryAccuracy(threshold=0)" if found == 0 else ""
    assert found == 1.0, (
        f"expected accuracy 1.0 for logits of {LOGIT} on positive reviews (a logit above 0 is positive), "
        f"got {found:.2f}{mistake}")


@pytest.mark.exercise("3.5", points=1)
def test_training_shows_its_progress_as_fit_verbosity_says(lesson, monkeypatch, capsys, tmp_path):
    check_quiet_when_fit_verbosity_says_so(lesson, monkeypatch, capsys, lambda: crafted_training(lesson, tmp_path))


@pytest.mark.exercise("3.5", points=1)
def test_loss_reads_logits(crafted_run):
    _, history = crafted_run
    expected = math.log1p(math.exp(-LOGIT))  # cross-entropy of label 1 and probability sigmoid(0.25)
    found = history["val_loss"][0] if "val_loss" in history else None
    mistake = which_mistake(found, {"the loss reads the logits as probabilities: use "
                                    "BinaryCrossentropy(from_logits=True)": -math.log(LOGIT)}, atol=0.01)
    assert found is not None and abs(found - expected) < 0.01, (
        f"expected a validation loss of {expected:.3f} (binary cross-entropy of logit {LOGIT}, label 1), "
        f"got {found if found is None else round(found, 3)}{mistake}")


@pytest.mark.exercise("3.5", points=1)
def test_optimizer_is_adam_clipped_at_norm_one(crafted_run):
    model, _ = crafted_run
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.Adam), f"expected the Adam optimizer, got {type(optimizer).__name__}"
    rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    ignored = " — the learning_rate argument is ignored" if math.isclose(rate, 1e-3, rel_tol=1e-3) else ""
    assert math.isclose(rate, 1e-5, rel_tol=1e-3), (
        f"expected the learning rate given to train (1e-05), got {rate:g}{ignored}")
    clipping = {"clipnorm": optimizer.clipnorm, "global_clipnorm": optimizer.global_clipnorm}
    assert 1.0 in clipping.values(), (
        f"expected gradient clipping at norm 1.0 (Adam(..., clipnorm=1.0)), got {clipping}"
        + (" — the gradients are not clipped" if set(clipping.values()) == {None} else ""))


PATIENCE, EPOCHS = 3, 12


def opposite_training(lesson, workdir, seed: int = 0) -> tuple[dict, float, float | None]:
    """train() where the validation labels are the opposite of the training labels: the better the model
    fits, the worse its validation loss, so the first epoch is the best. Returns the history, the loss of
    the model after train() and the loss of the checkpoint's weights (None if no checkpoint was written)."""
    labels = np.tile([0, 1], 32)
    rng = np.random.default_rng(seed)
    ids = np.where(labels[:, None] == 1, rng.integers(2, 10, (64, 6)), rng.integers(10, 18, (64, 6)))
    train, valid = keras_batches(ids, labels, 16), keras_batches(ids, 1 - labels, 16)
    checkpoint = workdir / "best.keras"
    model = bag_of_words(seed=seed)
    history = lesson.train(model, train, valid, epochs=EPOCHS, checkpoint=checkpoint, patience=PATIENCE,
                           learning_rate=0.05).history

    def loss() -> float:
        return model.evaluate(valid, verbose=0, return_dict=True)["loss"]

    final = loss()
    saved = None
    if checkpoint.exists():
        model.set_weights(keras.saving.load_model(checkpoint).get_weights())
        saved = loss()
    return history, final, saved


@pytest.fixture(scope="module")
def opposite_run(lesson, tmp_path_factory):
    return opposite_training(lesson, tmp_path_factory.mktemp("opposite"))


def best_epoch(history: dict) -> int:
    return int(np.argmin(history["val_loss"]))


@pytest.mark.exercise("3.5", points=1)
def test_early_stopping_stops_after_patience_epochs(opposite_run):
    history, _, _ = opposite_run
    ran, expected = len(history["val_loss"]), min(best_epoch(history) + 1 + PATIENCE, EPOCHS)
    mistake = (" — no early stopping on val_loss" if ran == EPOCHS else
               " — the patience argument is ignored" if ran != expected else "")
    assert ran == expected, (
        f"expected training to stop after {expected} epochs (best validation loss at epoch "
        f"{best_epoch(history) + 1}, patience {PATIENCE}, at most {EPOCHS} epochs), it ran {ran}{mistake}")


@pytest.mark.exercise("3.5", points=1)
def test_best_weights_are_restored(opposite_run):
    history, final, _ = opposite_run
    best, last = history["val_loss"][best_epoch(history)], history["val_loss"][-1]
    stopped = len(history["val_loss"]) < EPOCHS  # else the early-stopping check names what is missing
    mistake = which_mistake(final, {"the best weights were not restored: EarlyStopping(..., "
                                    "restore_best_weights=True)": last}, atol=1e-4) if stopped else ""
    assert abs(final - best) < 1e-4, (
        f"expected the model to end with its best epoch's weights (validation loss {best:.4f}), got "
        f"validation loss {final:.4f}{mistake}")


@pytest.mark.exercise("3.5", points=1)
def test_checkpoint_holds_the_best_epoch(opposite_run):
    history, _, saved = opposite_run
    assert saved is not None, "expected ModelCheckpoint to write the best model to the `checkpoint` path, found none"
    best, last = history["val_loss"][best_epoch(history)], history["val_loss"][-1]
    mistake = which_mistake(saved, {"the checkpoint holds the last epoch, not the best: ModelCheckpoint(..., "
                                    "monitor=\"val_loss\", save_best_only=True)": last}, atol=1e-4)
    assert abs(saved - best) < 1e-4, (
        f"expected the checkpoint to hold the best epoch (validation loss {best:.4f}), got validation loss "
        f"{saved:.4f}{mistake}")


SHORT_RUN = {"reviews": 5_000, "test_reviews": 2_000, "words": 5_000, "length": 64, "epochs": 3, "patience": 2,
             "learning_rate": 3e-3}


def short_run_model(lesson, vocabulary_size: int) -> keras.Model:
    """A small forward FastLSTM, built here from the lesson's given layer: the check grades train() alone,
    whatever the state of exercises 3.2 and 3.3."""
    ids = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(vocabulary_size, 32, mask_zero=True)(ids)
    x = keras.layers.Dropout(0.2)(lesson.FastLSTM(32, bidirectional=False)(x))
    return keras.Model(ids, keras.layers.Dense(1)(x))


def short_run_accuracy(lesson, imdb, seed: int, workdir) -> float:
    """Test accuracy of a small LSTM after lesson.train() on a few thousand reviews; ``seed`` draws the
    subsets, the validation split, the batch order and the weights (tests/lessons/calibrate.py)."""
    keras.utils.set_random_seed(seed)
    train, valid = validation_split(stratified_sample(imdb.train, SHORT_RUN["reviews"], seed=seed), 0.2, seed=seed)
    test = stratified_sample(imdb.test, SHORT_RUN["test_reviews"], seed=seed)
    vocabulary = build_vocabulary(train.texts, SHORT_RUN["words"])

    def ids(split):
        return encode(split.texts, vocabulary, SHORT_RUN["length"], keep="tail")

    batches = [keras_batches(ids(split), split.labels, 32, shuffle=split is train, seed=seed, bucket=True)
               for split in (train, valid)]
    model = short_run_model(lesson, len(vocabulary))
    lesson.train(model, *batches, epochs=SHORT_RUN["epochs"], checkpoint=workdir / "best.keras",
                 patience=SHORT_RUN["patience"], learning_rate=SHORT_RUN["learning_rate"])
    test_logits = model.predict(ids(test), batch_size=256, verbose=0)[:, 0]
    return float(np.mean((test_logits > 0) == test.labels))


CALIBRATED = {"3.5 LSTM short run": short_run_accuracy}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.exercise("3.5", points=2)
def test_short_training_run_learns(lesson, imdb, tmp_path):
    check_calibrated_accuracy("3.5 LSTM short run", short_run_accuracy(lesson, imdb, 0, tmp_path),
                              f"on test reviews after a short run on {SHORT_RUN['reviews']:,} reviews")


# --------------------------------------------------------------------------- 3.6 save, load, predict


VOCABULARY = {"<PAD>": 0, "<UNK>": 1, "good": 2, "bad": 3, "fine": 4, "film": 5}
WORD_SCORES = [0.0, 0.0, 1.0, -1.0, 0.15, 0.0]  # the crafted model's logit is 2 x the mean word score


class BatchRecorder(keras.layers.Layer):
    """Passes the ids through and notes the review lengths of every batch the model is asked about."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches = []

    def call(self, ids):
        self.batches.append((to_numpy(ids) != 0).sum(axis=1).tolist())
        return ids

    def compute_output_shape(self, input_shape):
        return input_shape


def crafted_model(recorder: keras.layers.Layer | None = None, before_output: keras.layers.Layer | None = None
                  ) -> keras.Model:
    """Mean of each word's score, times 2: "good" gives logit 2, "bad" -2, "fine" 0.3, padding nothing.
    ``recorder`` sees the ids first; ``before_output`` sits between the mean and the output layer."""
    ids = keras.Input(shape=(None,), dtype="int32")
    embedding = keras.layers.Embedding(len(VOCABULARY), 1, mask_zero=True)
    dense = keras.layers.Dense(1)
    mean = keras.layers.GlobalAveragePooling1D()(embedding(recorder(ids) if recorder else ids))
    model = keras.Model(ids, dense(before_output(mean) if before_output else mean))
    embedding.set_weights([np.array(WORD_SCORES, dtype="float32")[:, None]])
    dense.set_weights([np.array([[2.0]], dtype="float32"), np.zeros(1, dtype="float32")])
    return model


@pytest.fixture
def crafted_classifier() -> keras.Model:
    return crafted_model()


def crafted_logits(model, texts, length: int, keep: str) -> np.ndarray:
    return logits(model, encode(texts, VOCABULARY, length, keep))[:, 0]


def labelled(logit_values, threshold: float = 0.0, confidence=None) -> list[tuple[str, float]]:
    """("positive", p) or ("negative", 1 - p) per logit: the right predictions, and with other arguments
    the known mistakes' (another label threshold, another confidence)."""
    probabilities = 1 / (1 + np.exp(-np.asarray(logit_values, dtype="float64")))
    confidence = confidence or (lambda p, positive: p if positive else 1 - p)
    return [("positive", confidence(p, True)) if z >= threshold else ("negative", confidence(p, False))
            for z, p in zip(logit_values, probabilities)]


def predictions_equal(found, expected) -> bool:
    try:
        return [label for label, _ in found] == [label for label, _ in expected] and np.allclose(
            [float(c) for _, c in found], [c for _, c in expected], atol=1e-4)
    except (TypeError, ValueError):
        return False


def named_mistake(found, mistakes: dict) -> str:
    return next((f" — {name}" for name, value in mistakes.items() if predictions_equal(found, value)), "")


def shown(predictions) -> str:
    try:
        return str([(label, round(float(confidence), 3)) for label, confidence in predictions])
    except (TypeError, ValueError):
        return repr(predictions)


def refusal(load, folder) -> str | None:
    """The message of the SavedModelError that ``load(folder)`` raises; None if it loads. Any other error
    fails the check with its own message."""
    try:
        load(folder)
    except SavedModelError as error:
        return str(error)
    return None


@pytest.mark.exercise("3.6", points=2)
def test_saved_classifier_reloads_to_the_same_predictions(lesson, crafted_classifier, tmp_path):
    folder = saved_twice(lambda folder: lesson.save_classifier(crafted_classifier, VOCABULARY, folder),
                         tmp_path / "runs" / "classifier", "save_classifier")
    model, loaded_vocabulary = lesson.load_classifier(folder)
    assert loaded_vocabulary == VOCABULARY, (
        f"expected the vocabulary to come back unchanged, got {loaded_vocabulary!r:.200}")
    texts = ["good film", "bad", "fine words"]
    before = lesson.predict_sentiment(crafted_classifier, VOCABULARY, texts)
    after = lesson.predict_sentiment(model, loaded_vocabulary, texts)
    assert predictions_equal(after, before), (
        f"expected the same predictions after reloading, got {shown(before)} then {shown(after)}")


@pytest.mark.exercise("3.6", points=1)
def test_a_vocabulary_that_is_not_the_saved_one_is_refused(lesson, crafted_classifier, tmp_path):
    folder = Path(lesson.save_classifier(crafted_classifier, VOCABULARY, tmp_path / "classifier"))
    reordered = VOCABULARY | {"good": VOCABULARY["bad"], "bad": VOCABULARY["good"]}  # "good" would read as "bad"
    (folder / "vocabulary.json").write_text(json.dumps(reordered))
    message = refusal(lesson.load_classifier, folder)
    mistake = (" — save_classifier wrote no manifest.json: end it with seal(folder, CLASSIFIER_FILES)"
               if not (folder / MANIFEST).exists() else
               " — load_classifier did not check the folder: start it with open_sealed(folder, CLASSIFIER_FILES)")
    assert message is not None, (
        f"expected load_classifier to refuse a vocabulary.json reordered after saving (a SavedModelError), "
        f"it loaded{mistake}")
    assert "vocabulary.json" in message, f"expected the refusal to name vocabulary.json, got {message!r}"


@pytest.mark.exercise("3.6", points=1)
def test_a_model_that_would_run_code_when_loaded_is_refused(lesson, tmp_path):
    folder = lesson.save_classifier(crafted_model(before_output=keras.layers.Lambda(lambda x: x * 2)), VOCABULARY,
                                    tmp_path / "classifier")
    message = refusal(lesson.load_classifier, folder)
    assert message is not None, (
        "expected load_classifier to refuse a model.keras with a Lambda layer (its Python code would run while "
        "loading), it loaded — keep Keras's safe mode on: load_model(path), not safe_mode=False")
    assert "refused" in message, f"expected the refusal to say the file was refused, got {message!r}"


@pytest.mark.exercise("3.6", points=1)
def test_predictions_are_labels_with_a_confidence(lesson, crafted_classifier):
    texts = ["good film", "bad", "fine", "good"]
    z = crafted_logits(crafted_classifier, texts, 256, "tail")
    batch_order = np.argsort((encode(texts, VOCABULARY) != 0).sum(axis=1), kind="stable")
    found = lesson.predict_sentiment(crafted_classifier, VOCABULARY, texts)
    mistake = named_mistake(found, {
        "the confidence is the probability of 'positive' for every label: for 'negative' it is 1 - p":
            labelled(z, confidence=lambda p, positive: p),
        "the logit used as a probability: apply the sigmoid first": [
            ("positive", x) if x >= 0.5 else ("negative", 1 - x) for x in z],
        "the label thresholds the logit at 0.5: logit 0 is probability 0.5, so a logit above 0 is positive":
            labelled(z, threshold=0.5),
        "the predictions come in the order of the length-sorted batches: predict_in_order puts them back in the "
        "order of the texts": labelled(z[batch_order])})
    assert predictions_equal(found, labelled(z)), (
        f"expected {shown(labelled(z))} for logits {rounded(z, 2)} (label, probability of that "
        f"label), got {shown(found)}{mistake}")


@pytest.mark.exercise("3.6", points=1)
def test_predictions_read_the_words_length_and_keep_ask_for(lesson, crafted_classifier):
    texts = ["bad bad bad bad good good good"]  # its first 3 words are negative, its last 3 positive
    for keep, other in (("tail", "head"), ("head", "tail")):
        expected = labelled(crafted_logits(crafted_classifier, texts, 3, keep))
        found = lesson.predict_sentiment(crafted_classifier, VOCABULARY, texts, length=3, keep=keep)
        whole = labelled(crafted_logits(crafted_classifier, texts, 256, keep))
        mistake = named_mistake(found, {
            f"the {other} of the review was read, not its {keep}: pass keep to encode":
                labelled(crafted_logits(crafted_classifier, texts, 3, other)),
            "the whole review was read: pass length to encode": whole})
        assert predictions_equal(found, expected), (
            f"expected {shown(expected)} for {texts[0]!r} with length=3, keep={keep!r} (its {keep} 3 words), "
            f"got {shown(found)}{mistake}")


@pytest.mark.exercise("3.6", points=2)
def test_predictions_come_in_length_sorted_batches_of_batch_size(lesson):
    recorder = BatchRecorder()
    lengths = [5, 1, 4, 2, 3, 5, 1, 4, 2, 3]
    lesson.predict_sentiment(crafted_model(recorder), VOCABULARY, [" ".join(["good"] * n) for n in lengths],
                             batch_size=4)
    sizes, seen = [len(batch) for batch in recorder.batches], [n for batch in recorder.batches for n in batch]
    assert sizes == [4, 4, 2], (
        f"expected the 10 reviews in batches of batch_size=4 reviews, [4, 4, 2], got batches of {sizes}"
        + (" — batch_size is ignored: keras_batches(ids, labels, batch_size, bucket=True)" if sizes else ""))
    assert seen == sorted(lengths), (
        f"expected each batch to hold reviews of similar length (lengths {sorted(lengths)} across the batches), "
        f"got {recorder.batches} — the batches mix short and long reviews: keras_batches(..., bucket=True)")
