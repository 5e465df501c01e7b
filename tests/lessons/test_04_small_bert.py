"""Graded checks of lesson 4 (TensorFlow backend): the TF-Hub-style classifier and its optimizer.

Every check here is exact and fast: the classifier's output is compared with the sigmoid of one Dense
unit on the encoder's own pooled output, and the optimizer with the schedule and the weight decay it
must apply. (A short training run adds nothing these do not catch, and costs half a minute.)
"""

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from checking import dropout_zeros, numpy, output_kind, which_mistake

from shared.hub import load_hub_model
from shared.hub_export import export_if_missing

LESSON = "04"
SEQUENCE_LENGTH = 64  # the graded checks use a shorter export than the lesson: same weights, less work
TEXTS = tf.constant(["A wonderful film.", "Dull and far too long.", "Fine.", "I laughed, then I cried."])


@pytest.fixture(scope="module")
def handles():
    paths = export_if_missing(sequence_length=SEQUENCE_LENGTH)
    return str(paths["preprocess"]), str(paths["encoder"])


@pytest.fixture(scope="module")
def encoder_outputs(handles):
    """What the encoder itself gives for TEXTS: pooled_output and sequence_output."""
    preprocess, encoder = (load_hub_model(handle) for handle in handles)
    outputs = encoder(preprocess(TEXTS))
    return {key: outputs[key].numpy() for key in ("pooled_output", "sequence_output")}


@pytest.fixture(scope="module")
def classifier(lesson, handles):
    return lesson.build_classifier(*handles, dropout=0.5, trainable=False)


@pytest.mark.exercise("4.1", points=1)
def test_classifier_outputs_one_probability_per_review(lesson, classifier):
    output = numpy(classifier(TEXTS, training=False))
    per_token = " — one output per token: use the encoder's pooled_output" if output.ndim == 3 else ""
    assert output.shape == (4, 1), f"expected output shape (4, 1) for 4 reviews, got {output.shape}{per_token}"
    kind, output, logits = output_kind(classifier, TEXTS)
    assert kind == "probabilities", (
        f"expected the sigmoid of the Dense unit's output ({logits[:, 0].round(3)}), got {output[:, 0].round(3)}"
        + (" — the raw Dense output: add activation='sigmoid'" if kind == "logits" else ""))


@pytest.mark.exercise("4.1", points=1)
def test_dense_unit_reads_the_pooled_output(classifier, encoder_outputs):
    features = numpy(keras.Model(classifier.input, classifier.layers[-1].input)(TEXTS, training=False))
    sequence = encoder_outputs["sequence_output"]
    mistake = which_mistake(features, {
        "the [CLS] token's vector before BERT's pooler: use output_key='pooled_output'": sequence[:, 0],
        "the mean of the token vectors: use output_key='pooled_output'": sequence.mean(axis=1)}, atol=1e-4)
    assert np.allclose(features, encoder_outputs["pooled_output"], atol=1e-4), (
        f"expected the output unit to read the encoder's pooled_output{mistake}")


@pytest.mark.exercise("4.1", points=1)
def test_dropout_before_the_output_unit(classifier):
    zeros = dropout_zeros(classifier, TEXTS, repeats=4)
    hint = " — no dropout before the output unit" if zeros == 0 else \
        " — the dropout argument is not used" if abs(zeros - 0.1) < 0.05 else ""
    assert 0.4 <= zeros <= 0.6, (
        f"expected build_classifier(..., dropout=0.5) to drop about half of the pooled output while training, "
        f"dropped {zeros:.0%}{hint}")


@pytest.mark.exercise("4.1", points=1)
def test_trainable_reaches_the_encoder(lesson, handles, classifier):
    tuned = lesson.build_classifier(*handles, trainable=True)
    assert len(classifier.trainable_weights) == 2, (
        f"expected only the Dense kernel and bias to train with trainable=False, got "
        f"{len(classifier.trainable_weights)} trainable weights")
    assert len(tuned.trainable_weights) > 100, (
        f"expected the encoder's weights to train with trainable=True, got {len(tuned.trainable_weights)}")


def tiny_bert() -> keras.Model:
    """A real KerasHub BertBackbone (its variables have KerasHub's names and paths), small and random."""
    return keras_hub.models.BertBackbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8,
                                         intermediate_dim=16, max_sequence_length=8)


@pytest.mark.exercise("4.2", points=1)
def test_learning_rate_warms_up_then_decays(lesson):
    optimizer = lesson.make_optimizer(tiny_bert().trainable_variables, total_steps=100, peak_learning_rate=4e-5,
                                      warmup_fraction=0.1)
    assert isinstance(optimizer, keras.optimizers.AdamW), (
        f"expected keras.optimizers.AdamW, got {type(optimizer).__name__} — Adam's weight decay is not decoupled")
    schedule = optimizer._learning_rate
    assert callable(schedule), f"expected a learning-rate schedule, got the constant {schedule}"
    found = [round(float(numpy(schedule(step))), 9) for step in (0, 5, 10, 55, 100)]
    expected = [0.0, 2e-5, 4e-5, 2e-5, 0.0]
    assert np.allclose(found, expected, atol=1e-9), (
        f"expected learning rates {expected} at steps 0, 5, 10, 55 and 100 (10 warm-up steps), got {found}")


@pytest.mark.exercise("4.2", points=1)
def test_weight_decay_is_one_hundredth(lesson):
    optimizer = lesson.make_optimizer(tiny_bert().trainable_variables, total_steps=10)
    assert optimizer.weight_decay == pytest.approx(0.01), (
        f"expected weight decay 0.01, got {optimizer.weight_decay}")


def decayed(optimizer: keras.optimizers.Optimizer, variables: list) -> dict[str, bool]:
    """{path: whether one optimizer step with zero gradients changed it}: with zero gradients AdamW moves
    a weight only by its decay. Every weight starts at 1 so that decay shows."""
    for variable in variables:
        variable.assign(np.ones(variable.shape, "float32"))
    zeros = [keras.ops.zeros(variable.shape) for variable in variables]
    for _ in range(2):  # step 0 has learning rate 0 (warm-up); step 1 the peak
        optimizer.apply_gradients(zip(zeros, variables))
    return {variable.path: not np.allclose(numpy(variable), 1.0) for variable in variables}


@pytest.mark.exercise("4.2", points=2)
def test_layer_norm_and_bias_get_no_weight_decay_on_a_real_bert(lesson):
    variables = tiny_bert().trainable_variables
    found = decayed(lesson.make_optimizer(variables, total_steps=10, peak_learning_rate=0.1), variables)
    norms = [path for path in found if "norm" in path]
    biases = [path for path in found if path.endswith("bias")]
    others = [path for path in found if path not in norms + biases]
    decayed_norms = [path for path in norms if found[path]]
    hint = " — name patterns miss KerasHub's LayerNorm weights (gamma and beta under a *_layer_norm path): " \
           "select them by path, with var_list" if decayed_norms and not any(found[p] for p in biases) else ""
    assert not decayed_norms, f"expected no weight decay on LayerNorm weights, got it on {decayed_norms[:2]}{hint}"
    assert not [path for path in biases if found[path]], (
        f"expected no weight decay on biases, got it on {[p for p in biases if found[p]][:2]}")
    kept = [path for path in others if not found[path]]
    assert not kept, f"expected weight decay on kernels and embeddings, got none on {kept[:2]}"
