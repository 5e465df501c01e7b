"""Graded checks of lesson 4 (TensorFlow backend): the TF-Hub-style classifier and its optimizer.

Every check here is exact and fast: the classifier's output is compared with the sigmoid of one Dense
unit on the encoder's own pooled output, and the optimizer with the schedule and the weight decay it
must apply. (A short training run adds nothing these do not catch, and costs half a minute.)
"""

import math
import random

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import strategies as st
from randomized import SEED, check_close_to_reference
from checking import (check_adam_with_weight_decay, check_dropout_of_half, check_no_decay_on_layer_norms_and_biases,
                      check_warm_up_then_linear_decay, dropout_zeros, output_kind, output_layer, pooled_output_mistake,
                      to_numpy)

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
    output = to_numpy(classifier(TEXTS, training=False))
    per_token = " — one output per token: use the encoder's pooled_output" if output.ndim == 3 else ""
    assert output.shape == (4, 1), f"expected output shape (4, 1) for 4 reviews, got {output.shape}{per_token}"
    kind, output, logits = output_kind(classifier, TEXTS)
    assert kind == "probabilities", (
        f"expected the sigmoid of the Dense unit's output ({logits[:, 0].round(3)}), got {output[:, 0].round(3)}"
        + (" — the raw Dense output: add activation='sigmoid'" if kind == "logits" else ""))


@pytest.mark.exercise("4.1", points=1)
def test_dense_unit_reads_the_pooled_output(classifier, encoder_outputs):
    features = to_numpy(keras.Model(classifier.input, output_layer(classifier).input)(TEXTS, training=False))
    mistake = pooled_output_mistake(features, encoder_outputs["sequence_output"])
    assert np.allclose(features, encoder_outputs["pooled_output"], atol=1e-4), (
        f"expected the output unit to read the encoder's pooled_output{mistake}")


@pytest.mark.exercise("4.1", points=1)
def test_dropout_before_the_output_unit(classifier):
    check_dropout_of_half(classifier, TEXTS, repeats=4)


@pytest.mark.exercise("4.1", points=1)
def test_dropout_follows_a_rate_drawn_at_grade_time(lesson, handles):
    rate = random.Random(SEED).choice([0.2, 0.3, 0.7, 0.8])  # not the 0.5 of the other checks
    zeros = dropout_zeros(lesson.build_classifier(*handles, dropout=rate, trainable=False), TEXTS, repeats=4)
    hint = " — the dropout argument is not used" if abs(zeros - 0.5) < 0.05 or abs(zeros - 0.1) < 0.05 else ""
    assert abs(zeros - rate) < 0.1, (
        f"expected build_classifier(..., dropout={rate}) to drop about {rate:.0%} of the pooled output while "
        f"training, dropped {zeros:.0%}{hint} (the rate drawn with GRADE_SEED={SEED})")


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
    check_warm_up_then_linear_decay(optimizer, 4e-5, 100)


@pytest.mark.exercise("4.2", points=1)
def test_adamw_with_a_weight_decay_of_one_hundredth(lesson):
    check_adam_with_weight_decay(lesson.make_optimizer(tiny_bert().trainable_variables, total_steps=10))


@pytest.mark.exercise("4.2", points=2)
def test_layer_norm_and_bias_get_no_weight_decay_in_a_keras_hub_bert(lesson):
    variables = tiny_bert().trainable_variables
    optimizer = lesson.make_optimizer(variables, total_steps=10, peak_learning_rate=0.1)
    check_no_decay_on_layer_norms_and_biases(optimizer, variables)


# every argument varied; warm-up fractions of a whole number of steps, so that int(), round() and ceil() agree
DRAWN_OPTIMIZER_ARGUMENTS = st.tuples(
    st.integers(1, 60), st.floats(1e-6, 1.0), st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 0.5]),
    st.sampled_from([0.0, 0.001, 0.01, 0.1])).filter(lambda case: (case[0] * case[2]).is_integer())


def rates_and_decay(make_optimizer, variables: list):
    """``make_optimizer`` on drawn arguments, answering its learning rate at every step and its weight decay."""
    def run(total_steps: int, peak: float, warmup_fraction: float, weight_decay: float) -> tuple[list, float]:
        optimizer = make_optimizer(variables, total_steps=total_steps, peak_learning_rate=peak,
                                   warmup_fraction=warmup_fraction, weight_decay=weight_decay)
        schedule = optimizer._learning_rate  # the schedule itself: .learning_rate is its value now
        return [float(to_numpy(schedule(step))) for step in range(total_steps + 1)], optimizer.weight_decay
    return run


def same_rates_and_decay(case: tuple, expected: tuple, found: tuple) -> bool:
    peak = case[1]
    return (np.allclose(found[0], expected[0], rtol=1e-5, atol=peak * 1e-6) and found[1] is not None
            and math.isclose(found[1], expected[1], abs_tol=1e-12))


@pytest.mark.exercise("4.2", points=1)
def test_optimizer_on_drawn_arguments(lesson, reference):
    variables = [keras.Variable(np.ones((2, 2)), name="kernel"), keras.Variable(np.ones(2), name="bias")]
    check_close_to_reference("make_optimizer", rates_and_decay(lesson.make_optimizer, variables),
                             rates_and_decay(reference.make_optimizer, variables), DRAWN_OPTIMIZER_ARGUMENTS,
                             same_rates_and_decay, examples=60)
