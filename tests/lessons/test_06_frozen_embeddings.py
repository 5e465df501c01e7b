"""Graded checks of lesson 6: mean pooling, the embedding cache, the head, its training, projections.

The encoder is the real all-MiniLM-L6-v2, loaded once per module; no check trains it, so every check sees
its pretrained weights. The checks of 6.4 train heads they build themselves, so that ``train_head`` is graded
on its own: a tiny logistic head on synthetic vectors (cheap, deterministic), then the described head on
real embeddings (slow, calibrated).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import NamedTuple

import keras
import keras_hub
import numpy as np
import pytest
from hypothesis import strategies as st
from randomized import check_agrees_with_reference, check_close_to_reference, check_holds
from checking import (check_calibrated_accuracy, check_quiet_when_fit_verbosity_says_so, output_kind, output_layer,
                      rounded, same, to_numpy, which_mistake)
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from shared.data import Imdb, stratified_sample, validation_split
from shared.encoders import Encoder, load_encoder
from shared.text import clean_html

LESSON = "06"


# --------------------------------------------------------------------------- the encoder and what it should give


@functools.cache
def encoders() -> tuple[Encoder, Encoder]:
    """all-MiniLM-L6-v2 at sequence length 64, and the same backbone behind a preprocessor of length 32."""
    encoder = load_encoder(sequence_length=64)
    short = keras_hub.models.BertTextClassifierPreprocessor(encoder.preprocessor.tokenizer, sequence_length=32)
    return encoder, dataclasses.replace(encoder, preprocessor=short)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return encoders()[0]


@pytest.fixture(scope="module")
def short_encoder() -> Encoder:
    return encoders()[1]


def token_vectors(encoder: Encoder, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backbone's sequence_output, padding_mask (as 0/1 floats) and pooled_output for ``texts``."""
    inputs = encoder.preprocessor(texts)
    outputs = encoder.backbone.predict_on_batch(inputs)
    mask = to_numpy(inputs["padding_mask"]).astype("float32")
    return to_numpy(outputs["sequence_output"]), mask, to_numpy(outputs["pooled_output"])


def masked_mean(sequence: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return (sequence * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)


def reference_embeddings(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """What embed_reviews should return: the mean of the real tokens' vectors of each cleaned review."""
    return masked_mean(*token_vectors(encoder, [clean_html(text) for text in texts])[:2])


class CountingBackbone:
    """Stands in for the backbone and counts the times it runs, however the learner runs it."""

    def __init__(self, backbone: keras.Model):
        self._backbone, self.runs = backbone, 0

    def __call__(self, *args, **kwargs):
        self.runs += 1
        return self._backbone(*args, **kwargs)

    def __getattr__(self, name: str):
        attribute = getattr(self._backbone, name)
        if name not in ("predict", "predict_on_batch", "predict_step", "call"):
            return attribute

        def counted(*args, **kwargs):
            self.runs += 1
            return attribute(*args, **kwargs)
        return counted


def counting(encoder: Encoder, **changes) -> tuple[Encoder, CountingBackbone]:
    """A copy of ``encoder`` (with ``changes``) whose backbone counts its runs; ``encoder`` itself is untouched."""
    backbone = CountingBackbone(encoder.backbone)
    return dataclasses.replace(encoder, backbone=backbone, **changes), backbone


# --------------------------------------------------------------------------- 6.1


@pytest.mark.exercise("6.1", points=1)
def test_mean_pool_averages_the_real_tokens_only(lesson):
    rng = np.random.default_rng(0)
    sequence = rng.uniform(1.0, 2.0, size=(3, 4, 2))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]], dtype=bool)
    sequence[~mask] = 100.0  # padding vectors far from the real ones: any use of them shows
    found = np.asarray(lesson.mean_pool(sequence, mask))
    real = sequence * mask[..., None]
    expected = masked_mean(sequence, mask.astype("float32"))
    mistake = which_mistake(found, {
        "the mean over the padding too: weight each token by padding_mask": sequence.mean(axis=1),
        "the sum over the real tokens, not their mean": real.sum(axis=1),
        "the maximum over the real tokens, not their mean": real.max(axis=1),
        "divided by the number of steps, not by the number of real tokens": real.sum(axis=1) / 4})
    assert same(found, expected), (
        f"expected the mean over the real tokens {rounded(expected)} for 3 reviews of 2, 4 and 1 real tokens, got "
        f"{rounded(found)}{mistake}")


def drawn_token_vectors() -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """(batch, steps, hidden) vectors of small whole numbers, and a padding mask of 1 to steps real tokens at the
    start of each row, as the encoder's preprocessor makes them."""
    shapes = st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 5))
    return shapes.flatmap(lambda shape: st.tuples(
        st.lists(st.integers(-9, 9), min_size=math.prod(shape), max_size=math.prod(shape)).map(
            lambda values: np.array(values, dtype="float32").reshape(shape)),
        st.lists(st.integers(1, shape[1]), min_size=shape[0], max_size=shape[0]).map(
            lambda lengths: np.arange(shape[1]) < np.array(lengths)[:, None])))


@pytest.mark.exercise("6.1", points=1)
def test_mean_pool_on_drawn_batches(lesson, reference):
    check_agrees_with_reference("mean_pool", lesson.mean_pool, reference.mean_pool, drawn_token_vectors(), atol=1e-5)


# --------------------------------------------------------------------------- 6.2


@pytest.mark.exercise("6.2", points=2)
def test_embeddings_are_the_mean_of_the_real_tokens_of_the_cleaned_reviews(lesson, encoder, tmp_path):
    texts = ["A wonderful film.<br /><br />I would watch it again.", "Dull, far too long.", "Fine."]
    found = lesson.embed_reviews(encoder, texts, tmp_path, batch_size=2)
    assert isinstance(found, np.ndarray), (
        f"expected a numpy array, got {type(found).__name__}: keras.ops.convert_to_numpy turns a tensor into one")
    shape = found.shape
    hint = " — the last, partial batch is missing (3 reviews in batches of 2)" if shape == (2, 384) else ""
    assert shape == (3, 384), f"expected an array of shape (3, 384), one row per review, got {shape}{hint}"
    assert found.dtype == np.float32, f"expected float32 embeddings, got {found.dtype}"
    sequence, mask, pooled = token_vectors(encoder, [clean_html(text) for text in texts])
    expected = masked_mean(sequence, mask)
    mistake = which_mistake(found, {
        "the [CLS] token's vector, not the mean over the real tokens": sequence[:, 0],
        "pooled_output, not the mean of sequence_output over the real tokens": pooled,
        "the mean over the padding too: weight the tokens by padding_mask": sequence.mean(axis=1),
        "the HTML (<br />) was embedded as text: clean each review with clean_html first":
            masked_mean(*token_vectors(encoder, texts)[:2])}, atol=1e-4)
    differs = np.abs(found - expected).max(axis=1)
    assert np.allclose(found, expected, atol=1e-4), (
        f"expected each row to be the mean of the real tokens' vectors of the cleaned review, got rows that differ "
        f"from it by up to {rounded(differs)}{mistake}")


@pytest.mark.exercise("6.2", points=1)
def test_a_second_call_reads_the_cache_without_running_the_encoder(lesson, encoder, tmp_path):
    texts = ["Cache me once.", "And only once."]
    counted, backbone = counting(encoder)
    first = lesson.embed_reviews(counted, texts, tmp_path)
    assert backbone.runs > 0, (
        "expected the encoder to run on a first call with an empty cache folder, but it never did: is cache_dir "
        "ignored?")
    assert any(path.is_file() for path in tmp_path.rglob("*")), (
        f"expected the embeddings saved under cache_dir ({tmp_path}), found no file there")
    runs = backbone.runs
    again = lesson.embed_reviews(counted, texts, tmp_path)
    assert backbone.runs == runs, (
        "expected the second call with the same encoder and texts to read the cache, but the encoder ran again")
    assert same(again, first, atol=1e-6), (
        f"expected the cached embeddings to equal those of the first call, got shape {getattr(again, 'shape', None)} "
        f"instead of {first.shape}, or other values")


@pytest.mark.exercise("6.2", points=1)
def test_other_texts_are_not_read_from_the_cache(lesson, encoder, tmp_path):
    texts, other = ["A first review.", "A second review."], ["Different texts, another cache entry."]
    first = lesson.embed_reviews(encoder, texts, tmp_path)
    found = lesson.embed_reviews(encoder, other, tmp_path)
    mistake = which_mistake(found, {"the cached embeddings of the first texts: put a hash of the texts in the "
                                    "cache key": first}, atol=1e-6)
    assert same(found, reference_embeddings(encoder, other), atol=1e-4), (
        f"expected the embeddings of new texts (shape (1, 384)) after caching others, got shape "
        f"{getattr(found, 'shape', None)}{mistake}")


@pytest.mark.exercise("6.2", points=1)
def test_another_encoder_name_or_sequence_length_is_not_read_from_the_cache(lesson, encoder, short_encoder, tmp_path):
    texts = ["This review is long enough to be cut at thirty-two tokens, so that the sequence length changes "
             "its embedding: a slow start, then a moving second half, and an ending I will remember for years."]
    lesson.embed_reviews(encoder, texts, tmp_path)
    renamed, backbone = counting(encoder, name="another-encoder")
    lesson.embed_reviews(renamed, texts, tmp_path)
    assert backbone.runs > 0, (
        "expected the encoder to run again for an encoder of another name, but it read the first encoder's cache: "
        "put encoder.name in the cache key")
    shorter, backbone = counting(short_encoder)
    found = lesson.embed_reviews(shorter, texts, tmp_path)
    assert backbone.runs > 0, (
        "expected the encoder to run again at sequence length 32, but it read the cache of sequence length 64: put "
        "encoder.preprocessor.sequence_length in the cache key")
    expected = reference_embeddings(short_encoder, texts)
    assert same(found, expected, atol=1e-4), (
        f"expected the mean of the 32 tokens' vectors at sequence length 32, got an array of shape "
        f"{getattr(found, 'shape', None)} that differs from it")


@pytest.mark.exercise("6.2", points=1)
def test_the_cache_folder_is_made_and_defaults_to_the_courses(lesson, encoder, tmp_path, monkeypatch):
    nested = tmp_path / "not" / "made" / "yet"
    try:
        lesson.embed_reviews(encoder, ["A first review."], nested)
        lesson.embed_reviews(encoder, ["Another review, into the same folder."], nested)
    except (FileNotFoundError, FileExistsError) as error:
        raise AssertionError(f"expected embed_reviews to make the cache folder and its parents, got "
                             f"{type(error).__name__}: {error} — mkdir(parents=True, exist_ok=True)") from None
    assert len(list(nested.glob("*.npy"))) == 2, (
        f"expected two cached files in {nested.relative_to(tmp_path)}, a folder made by the first call, found "
        f"{sorted(path.name for path in nested.glob('*'))}")
    monkeypatch.setenv("IMDB_CACHE_DIR", str(tmp_path / "course-cache"))
    lesson.embed_reviews(encoder, ["No folder given."])
    found = sorted(path.relative_to(tmp_path).as_posix() for path in (tmp_path / "course-cache").rglob("*.npy"))
    assert len(found) == 1 and found[0].startswith("course-cache/embeddings/"), (
        f"expected the cache under default_cache_dir() / 'embeddings' when no cache_dir is given, found {found}")


class Progress:
    """Stands in for progress_bar's bar and keeps what each call to add was given."""

    def __init__(self, total: int, unit: str = ""):
        self.total, self.added = total, []

    def add(self, count: int, *args, **kwargs) -> None:
        self.added.append(count)


@pytest.mark.exercise("6.2", points=1)
def test_the_progress_bar_advances_after_each_batch(lesson, encoder, tmp_path, monkeypatch):
    bars = []
    monkeypatch.setattr(lesson, "progress_bar", lambda *args, **kwargs: bars.append(Progress(*args, **kwargs))
                        or bars[-1])
    lesson.embed_reviews(encoder, ["One.", "Two.", "Three."], tmp_path, batch_size=2)
    added = [count for bar in bars for count in bar.added]
    assert len(bars) == 1 and [bar.total for bar in bars] == [3] and added == [2, 1], (
        f"expected one progress_bar(3, ...) advanced by 2 then 1 (3 reviews in batches of 2), got "
        f"{len(bars)} bar(s) of {[bar.total for bar in bars]} advanced by {added}")


# --------------------------------------------------------------------------- 6.3


def head_parameters(input_dim: int, hidden_units: tuple[int, ...]) -> int:
    """Dense (kernel and bias) and BatchNormalization (4 per unit) for each size, then the output unit."""
    sizes = (input_dim, *hidden_units)
    return sum(a * b + b + 4 * b for a, b in zip(sizes, sizes[1:])) + sizes[-1] + 1


def features_while_training(head: keras.Model, inputs: np.ndarray) -> np.ndarray:
    """What reaches the output Dense layer when the head trains (batch statistics, dropout on)."""
    return to_numpy(keras.Model(head.input, output_layer(head).input)(inputs, training=True))


def dropout_rate(head: keras.Model, inputs: np.ndarray, repeats: int = 8) -> float:
    """The share of the output Dense layer's inputs zeroed by dropout while training. ReLU zeros stay zero in
    every run on the same batch, dropout zeros change: among the features non-zero in some run, the share of
    runs in which they are zero."""
    runs = np.stack([features_while_training(head, inputs) for _ in range(repeats)])
    alive = (runs != 0).any(axis=0)
    return float(np.mean(runs[:, alive] == 0)) if alive.any() else 0.0


@pytest.mark.exercise("6.3", points=1)
def test_head_has_the_described_parameters(lesson):
    for hidden_units in ((256, 64), (32,)):
        head = lesson.build_head(384, hidden_units, 0.3)
        expected, found = head_parameters(384, hidden_units), head.count_params()
        mistake = which_mistake(found, {
            "no BatchNormalization: it has 4 weights per unit": expected - 4 * sum(hidden_units),
            "the hidden_units argument is ignored": head_parameters(384, (256, 64))})
        assert found == expected, (
            f"expected {expected:,} parameters for build_head(384, {hidden_units}), got {found:,}{mistake}")


@pytest.mark.exercise("6.3", points=1)
def test_head_outputs_probabilities(lesson):
    head = lesson.build_head(384, (256, 64), 0.3)
    inputs = np.random.default_rng(0).normal(size=(8, 384)).astype("float32")
    kind, output, logits = output_kind(head, inputs)
    assert output.shape == (8, 1), f"expected output shape (8, 1), one probability per review, got {output.shape}"
    assert kind == "probabilities", (
        f"expected probabilities, the sigmoid of the output unit's value ({rounded(logits[:3, 0])}), got "
        f"{rounded(output[:3, 0])}" + (" — the raw Dense output: add activation='sigmoid'"
                                                          if kind == "logits" else ""))


@pytest.mark.exercise("6.3", points=2)
def test_head_normalises_each_dense_output_before_its_relu(lesson):
    keras.utils.set_random_seed(0)
    head = lesson.build_head(384, (256, 64), 0.3)
    inputs = np.random.default_rng(0).normal(100.0, 50.0, size=(256, 384)).astype("float32")
    features = features_while_training(head, inputs)
    assert features.max() < 20, (
        f"expected the features reaching the output layer to be normalised while training (a few units, even for "
        f"inputs around 100 ± 50), got values up to {features.max():.0f} — no BatchNormalization after each Dense?")
    assert features.min() >= 0, (
        f"expected the features reaching the output layer to be ReLU outputs, never negative, got a minimum of "
        f"{features.min():.2f} — BatchNormalization after the ReLU: put it between the Dense layer and the ReLU")


@pytest.mark.exercise("6.3", points=1)
def test_head_drops_out_at_the_given_rate(lesson):
    keras.utils.set_random_seed(0)
    head = lesson.build_head(384, (64,), 0.5)
    rate = dropout_rate(head, np.random.default_rng(0).normal(size=(128, 384)).astype("float32"))
    hint = " — no Dropout before the output layer" if rate < 0.02 else \
        " — the dropout argument is ignored" if abs(rate - 0.3) < 0.05 else ""
    assert abs(rate - 0.5) < 0.05, (
        f"expected dropout to zero half of the features reaching the output layer while training "
        f"(build_head(..., dropout=0.5)), got {rate:.2f}{hint}")


@pytest.mark.exercise("6.3", points=1)
def test_head_on_drawn_sizes(lesson):
    def broken(input_dim: int, hidden_units: tuple[int, ...], dropout: float) -> str:
        head = lesson.build_head(input_dim, hidden_units, dropout)
        expected = head_parameters(input_dim, hidden_units)
        if head.count_params() != expected:
            return f"to have {expected:,} parameters, got {head.count_params():,}"
        inputs = np.random.default_rng(0).normal(size=(128, input_dim)).astype("float32")
        kind, output, _ = output_kind(head, inputs)
        if kind != "probabilities":
            return f"to give one probability per row, output shape (128, 1), got shape {output.shape} of {kind}"
        if len(hidden_units) != 1:  # none: nothing to drop; two or more: the first dropout moves the next ReLU's
            return ""               # zeros from run to run, which dropout_rate would count as dropped
        rate = dropout_rate(head, inputs)
        if abs(rate - dropout) >= 0.1:
            return (f"to zero about {dropout:.0%} of the features reaching the output layer while training, "
                    f"got {rate:.0%}")
        return ""

    units = st.integers(4, 16)  # 4 or more: the dropout share is steady
    sizes = st.one_of(st.tuples(units), st.lists(units, max_size=3).map(tuple))  # one hidden layer, often
    check_holds("build_head", broken, st.tuples(st.integers(1, 24), sizes, st.sampled_from([0.0, 0.2, 0.5, 0.7])),
                examples=8)


# --------------------------------------------------------------------------- 6.4: a tiny head, synthetic vectors


class Run(NamedTuple):
    head: keras.Model
    history: dict
    x_valid: np.ndarray
    y_valid: np.ndarray


def logistic_head(input_dim: int) -> keras.Model:
    """One sigmoid unit starting from zero weights: every run starts from the same predictions, 0.5."""
    inputs = keras.Input(shape=(input_dim,))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros")(inputs))


def synthetic(opposite: bool, size: int = 200, dim: int = 8) -> tuple[np.ndarray, ...]:
    """Separable vectors, labelled by the side of a hyperplane; ``opposite`` flips the validation labels."""
    rng = np.random.default_rng(0)
    direction = rng.normal(size=dim)
    x_train, x_valid = (rng.normal(size=(n, dim)).astype("float32") for n in (size, size // 2))
    y_train, y_valid = ((x @ direction > 0).astype("float32") for x in (x_train, x_valid))
    return x_train, y_train, x_valid, 1 - y_valid if opposite else y_valid


def history_of(returned) -> dict:
    assert isinstance(returned, keras.callbacks.History), (
        f"expected train_head to return the History that fit returns, got {type(returned).__name__}")
    return returned.history


@pytest.fixture(scope="module")
def opposite_run(lesson) -> Run:
    """train_head(epochs=20, learning_rate=0.01) on a logistic head whose validation labels are the opposite of
    its training labels: the validation loss is lowest after epoch 1 and rises as the head learns. Once per
    lesson variant: several checks read it."""
    keras.utils.set_random_seed(0)
    x_train, y_train, x_valid, y_valid = synthetic(opposite=True)
    head = logistic_head(x_train.shape[1])
    history = history_of(lesson.train_head(head, x_train, y_train, x_valid, y_valid, epochs=20, learning_rate=0.01))
    return Run(head, history, x_valid, y_valid)


def cross_entropy(head: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(to_numpy(keras.ops.mean(keras.losses.binary_crossentropy(y[:, None], head(x, training=False)))))


def validation_losses(run: Run) -> list[float]:
    assert "val_loss" in run.history, (
        f"expected val_loss in the history, got only {sorted(run.history)}: pass validation_data=(x_valid, y_valid) "
        "to fit")
    return run.history["val_loss"]


@pytest.mark.exercise("6.4", points=1)
def test_validation_loss_is_measured_on_the_validation_data(opposite_run):
    losses = validation_losses(opposite_run)
    assert losses[-1] > losses[0], (
        f"expected the validation loss to rise (the validation labels are the opposite of the training labels), "
        f"got {losses[0]:.3f} after epoch 1 and {losses[-1]:.3f} after epoch {len(losses)}: is fit validating on the "
        "training data?")


@pytest.mark.exercise("6.4", points=1)
def test_training_stops_five_epochs_after_the_best_validation_loss(opposite_run):
    run = opposite_run
    epochs, losses = len(run.history["loss"]), run.history.get("val_loss", [0.0])
    validated = losses[-1] > losses[0]  # on the validation data: else the check above names the mistake
    hint = " — it ran to the epoch limit: early stopping must watch val_loss, with patience 5" if epochs == 20 \
        and validated else f" — patience {epochs - 1}, expected 5" if epochs < 20 else ""
    assert epochs == 6, (
        f"expected training to stop after 6 epochs (the lowest validation loss after epoch 1, then 5 epochs of "
        f"patience), got {epochs}{hint}")


@pytest.mark.exercise("6.4", points=1)
def test_head_ends_with_the_weights_of_its_best_epoch(opposite_run):
    run = opposite_run
    losses = validation_losses(run)
    found, best = cross_entropy(run.head, run.x_valid, run.y_valid), min(losses)
    stopped = len(losses) < 20  # else early stopping watched something else, which the check above names
    hint = " — the last epoch's weights: EarlyStopping(..., restore_best_weights=True)" \
        if stopped and math.isclose(found, losses[-1], rel_tol=1e-4) else ""
    assert math.isclose(found, best, rel_tol=1e-4), (
        f"expected the head to end with the weights of its best epoch (validation loss {best:.4f}), got weights "
        f"whose validation loss is {found:.4f}{hint}")


@pytest.mark.exercise("6.4", points=1)
def test_optimizer_is_adamw_at_the_given_learning_rate(opposite_run):
    optimizer = opposite_run.head.optimizer
    decay = getattr(optimizer, "weight_decay", None)
    assert isinstance(optimizer, keras.optimizers.Adam) and decay, (
        f"expected AdamW (Adam with decoupled weight decay), got {type(optimizer).__name__} with "
        f"weight_decay={decay}")
    rate = float(to_numpy(optimizer.learning_rate))
    hint = " — the learning_rate argument is ignored" if math.isclose(rate, 1e-3, rel_tol=1e-5) else ""
    assert math.isclose(rate, 0.01, rel_tol=1e-5), (
        f"expected the learning rate train_head is given (0.01), got {rate:g}{hint}")


@pytest.mark.exercise("6.4", points=1)
def test_train_head_runs_the_epochs_it_is_given_in_batches_of_64(lesson):
    keras.utils.set_random_seed(0)
    x_train, y_train, x_valid, y_valid = synthetic(opposite=False, size=130)  # 3 batches of 64, 2 of 65
    head = logistic_head(x_train.shape[1])
    history = history_of(lesson.train_head(head, x_train, y_train, x_valid, y_valid, epochs=3))
    assert {"accuracy", "val_accuracy"} <= set(history), (
        f"expected the accuracy measured beside the loss, got only {sorted(history)}: metrics=['accuracy']")
    epochs = len(history["loss"])
    assert epochs == 3, f"expected 3 epochs from train_head(..., epochs=3), got {epochs}: pass epochs on to fit"
    steps, expected = int(to_numpy(head.optimizer.iterations)), 3 * math.ceil(len(x_train) / 64)
    sizes = [size for size in (16, 32, 128, len(x_train)) if 3 * math.ceil(len(x_train) / size) == steps]
    hint = f" — batches of {sizes[0]}: pass batch_size=64 to fit" if sizes else ""
    assert steps == expected, (
        f"expected {expected} optimizer steps (3 epochs of {len(x_train)} vectors in batches of 64), got "
        f"{steps}{hint}")


@pytest.mark.exercise("6.4", points=1)
def test_train_head_shows_its_progress_as_fit_verbosity_says(lesson, monkeypatch, capsys):
    x_train, y_train, x_valid, y_valid = synthetic(opposite=False, size=64)
    check_quiet_when_fit_verbosity_says_so(lesson, monkeypatch, capsys, lambda: lesson.train_head(
        logistic_head(x_train.shape[1]), x_train, y_train, x_valid, y_valid, epochs=1))


# --------------------------------------------------------------------------- 6.4: the described head, real reviews


def described_head(input_dim: int) -> keras.Model:
    """The head of exercise 6.3, built here so that a mistake there costs no points in 6.4."""
    inputs = keras.Input(shape=(input_dim,))
    x = inputs
    for size in (256, 64):
        x = keras.layers.Dense(size)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.Dropout(0.3)(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


TRAIN_REVIEWS, TEST_REVIEWS, LAST_WORDS = 480, 600, 24
_REAL_EMBEDDINGS: dict = {}


def real_embeddings(imdb: Imdb, seed: int) -> tuple[np.ndarray, ...]:
    """Reference embeddings of real reviews drawn with ``seed``: 480 training reviews, about a fifth of them held
    out by movie for validation, and 600 test reviews. Each review is embedded from its last 24 words
    at sequence length 32: a review tends to give its verdict at its end, and short sequences keep embedding
    cheap on a CPU. Computed once per seed, whichever variant of the lesson is graded."""
    if seed not in _REAL_EMBEDDINGS:
        encoder = encoders()[1]
        train = stratified_sample(imdb.train, TRAIN_REVIEWS, seed)
        test = stratified_sample(imdb.test, TEST_REVIEWS, seed)
        fit, valid = validation_split(train, fraction=0.2, seed=seed)
        rng = np.random.default_rng(seed)  # the samples come sorted by label: shuffle them
        parts = []
        for reviews in (fit, valid, test):
            order = rng.permutation(len(reviews))
            tails = [" ".join(clean_html(reviews.texts[i]).split()[-LAST_WORDS:]) for i in order]
            parts += [reference_embeddings(encoder, tails).astype("float32"), reviews.labels[order].astype("float32")]
        _REAL_EMBEDDINGS[seed] = tuple(parts)
    return _REAL_EMBEDDINGS[seed]


def head_accuracy(lesson, imdb: Imdb, seed: int, workdir) -> float:
    """Test accuracy of the described head trained by train_head on real embeddings (``workdir`` is unused:
    the check embeds the reviews itself, so a mistake in 6.2 costs no points here)."""
    x_fit, y_fit, x_valid, y_valid, x_test, y_test = real_embeddings(imdb, seed)
    keras.utils.set_random_seed(seed)
    head = described_head(x_fit.shape[1])
    lesson.train_head(head, x_fit, y_fit, x_valid, y_valid, epochs=20)
    return float(np.mean((to_numpy(head(x_test, training=False))[:, 0] > 0.5) == y_test))


CALIBRATED = {"6.4 head on frozen embeddings": head_accuracy}


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.exercise("6.4", points=2)
def test_head_learns_sentiment_from_real_embeddings(lesson, imdb, tmp_path):
    check_calibrated_accuracy("6.4 head on frozen embeddings", head_accuracy(lesson, imdb, 0, tmp_path),
                              f"on test reviews for a head trained on {TRAIN_REVIEWS} real reviews' embeddings")


# --------------------------------------------------------------------------- 6.5


def clustered_points() -> tuple[np.ndarray, np.ndarray]:
    """60 points in 3 well-separated clusters, their 10 dimensions of unequal spread; and their clusters."""
    rng = np.random.default_rng(0)
    clusters = np.repeat(np.arange(3), 20)
    points = rng.normal(scale=6.0, size=(3, 10))[clusters] + rng.normal(size=(60, 10))
    return points * np.linspace(3.0, 0.3, 10), clusters


def signs_matched(found: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``found`` with each column's sign flipped to agree with ``expected``'s: PCA's signs are arbitrary."""
    found = np.array(found, dtype="float64")
    if found.shape == expected.shape:
        found *= np.where(np.sum(found * expected, axis=0) < 0, -1.0, 1.0)
    return found


@pytest.mark.exercise("6.5", points=1)
def test_pca_projects_the_embeddings_as_they_are(lesson):
    points, _ = clustered_points()
    found = np.asarray(lesson.project_2d(points, "pca"))
    hint = " — PCA keeps every component: n_components=2" if found.shape == points.shape else ""
    assert found.shape == (60, 2), f"expected shape (60, 2) for 60 points, got {found.shape}{hint}"
    expected = PCA(n_components=2).fit_transform(points)
    standardised = PCA(n_components=2).fit_transform(StandardScaler().fit_transform(points))
    mistake = " — PCA of standardised embeddings: PCA keeps the directions of largest variance of the embeddings " \
              "as they are" if same(signs_matched(found, standardised), standardised, 1e-4) else ""
    assert same(signs_matched(found, expected), expected, 1e-4), (
        f"expected scikit-learn's PCA with 2 components (up to the sign of each), got a projection that differs "
        f"by up to {np.abs(signs_matched(found, expected) - expected).max():.3f}{mistake}")


def distinct_spreads(points: np.ndarray) -> bool:
    """Whether the first three directions of largest variance differ by 5% or more: then the two components
    are one pair of directions, whatever computes them."""
    spreads = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    return bool(np.all(spreads[:2] > 1.05 * np.append(spreads[1:3], 0.0)[:2]))


def drawn_points() -> st.SearchStrategy[tuple[np.ndarray, str, int]]:
    """(points, "pca", seed): 3 to 20 points of 2 to 6 dimensions, each dimension spread less than the one before."""
    def points(n: int, dimensions: int, draw: int) -> np.ndarray:
        scales = np.linspace(3.0, 0.5, dimensions)
        return (np.random.default_rng(draw).normal(size=(n, dimensions)) * scales).round(2)

    cloud = st.builds(points, st.integers(3, 20), st.integers(2, 6), st.integers(0, 10_000)).filter(distinct_spreads)
    return st.tuples(cloud, st.just("pca"), st.integers(0, 100))


def same_projection(case: tuple, expected: np.ndarray, found) -> bool:
    found = signs_matched(found, expected)
    return found.shape == expected.shape and np.allclose(found, expected, atol=1e-4 * np.abs(expected).max())


@pytest.mark.exercise("6.5", points=1)
def test_pca_on_drawn_points(lesson, reference):
    check_close_to_reference("project_2d", lesson.project_2d, reference.project_2d, drawn_points(), same_projection,
                             examples=100)


def neighbours_in_the_same_cluster(points: np.ndarray, clusters: np.ndarray) -> float:
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1) + np.diag(np.full(len(points), np.inf))
    return float(np.mean(clusters[distances.argmin(axis=1)] == clusters))


@pytest.mark.exercise("6.5", points=1)
def test_tsne_is_reproducible_and_keeps_neighbours(lesson):
    points, clusters = clustered_points()
    first = np.asarray(lesson.project_2d(points, "tsne", seed=0))
    assert first.shape == (60, 2), f"expected shape (60, 2) for 60 points, got {first.shape}"
    pca = PCA(n_components=2).fit_transform(points)
    assert not same(signs_matched(first, pca), pca, 1e-3), (
        "expected t-SNE for method='tsne', got PCA's projection — the method argument is ignored")
    again = np.asarray(lesson.project_2d(points, "tsne", seed=0))
    assert same(again, first, 1e-6), (
        f"expected the same picture from the same seed, got two different t-SNE pictures for the same seed (up to "
        f"{np.abs(again - first).max():.2f} apart) — seed it: TSNE(..., random_state=seed)")
    kept = neighbours_in_the_same_cluster(first, clusters)
    assert kept >= 0.9, (
        f"expected t-SNE to keep neighbours together: each point's nearest neighbour in its cluster for >= 90% of "
        f"3 well-separated clusters, got {kept:.0%}")


def drawn_clusters() -> st.SearchStrategy[tuple[np.ndarray, np.ndarray, int]]:
    """(points, their clusters, a seed): 2 to 4 clusters at corners of a cube 15 wide, 60 to 80 points of 2 to 8
    dimensions, each spread 1 around its corner. Twice t-SNE's perplexity of 30 or more: with about 30 points,
    each point counts every other as a neighbour and clusters no longer show (calibrated: 31 points kept 13%)."""
    def clusters(k: int, n: int, dimensions: int, draw: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(draw)
        corners = np.array(list(itertools.product([0.0, 1.0], repeat=dimensions)))
        labels = np.arange(n) % k
        centres = 15.0 * corners[rng.choice(len(corners), k, replace=False)]
        return (centres[labels] + rng.normal(size=(n, dimensions))).round(3), labels

    drawn = st.builds(clusters, st.integers(2, 4), st.integers(60, 80), st.integers(2, 8), st.integers(0, 10_000))
    return st.tuples(drawn, st.integers(0, 100)).map(lambda case: (*case[0], case[1]))


@pytest.mark.exercise("6.5", points=1)
def test_tsne_on_drawn_clusters_sizes_and_seeds(lesson):
    def broken(points: np.ndarray, clusters: np.ndarray, seed: int) -> str:
        found = np.asarray(lesson.project_2d(points, "tsne", seed=seed))
        if found.shape != (len(points), 2):
            return f"to return shape {(len(points), 2)}, got {found.shape}"
        if not same(np.asarray(lesson.project_2d(points, "tsne", seed=seed)), found, 1e-6):
            return f"to give the same picture twice with seed={seed}, got two different ones"
        kept = neighbours_in_the_same_cluster(found, clusters)
        if kept < 0.9:
            return (f"to keep each point's nearest neighbour in its cluster for >= 90% of {len(set(clusters))} "
                    f"clusters 15 apart, got {kept:.0%}")
        return ""

    check_holds("project_2d", broken, drawn_clusters(), examples=5)

