"""What the graded checks share: feedback that says what was expected and what came, and looks at models.

A check judges behaviour: it calls the learner's function and compares what it returns with what it
should, and, where a known mistake explains the difference, says which mistake.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np


def dict_difference(expected: dict, found: object) -> str:
    """"missing: a; unexpected: b; wrong: c (expected 1, got 2)" between two dictionaries."""
    if not isinstance(found, dict):
        return f"expected a dict, got {type(found).__name__} {found!r}"
    parts = []
    if missing := [key for key in expected if key not in found]:
        parts.append(f"missing: {', '.join(map(str, missing))}")
    if unexpected := [key for key in found if key not in expected]:
        parts.append(f"unexpected: {', '.join(map(str, unexpected))}")
    parts += [f"wrong: {key} (expected {expected[key]!r}, got {found[key]!r})"
              for key in expected if key in found and found[key] != expected[key]]
    return "; ".join(parts)


def which_mistake(found, mistakes: dict[str, object], atol: float = 1e-5) -> str:
    """" — <what went wrong>" if ``found`` equals what one known mistake computes, else ""."""
    for description, value in mistakes.items():
        if same(found, value, atol):
            return f" — {description}"
    return ""


def same(a, b, atol: float = 1e-5) -> bool:
    """Equal values of equal shape; numbers to ``atol``."""
    try:
        a, b = np.asarray(a), np.asarray(b)
    except ValueError:  # ragged
        return a == b
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return bool(np.allclose(a, b, atol=atol))
    return bool(np.all(a == b))


def numpy(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def output_layer(model: keras.Model) -> keras.layers.Layer:
    """The last layer of ``model`` with a kernel: the Dense layer that gives the output."""
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise AssertionError("expected a Dense layer at the output, found none")
    return dense[-1]


def output_kind(model: keras.Model, inputs, **call) -> tuple[str, np.ndarray, np.ndarray]:
    """("logits" | "probabilities" | "something else", the model's output, the output Dense's pre-activation).

    The pre-activation is computed from the Dense layer's own input and weights, so a sigmoid inside the
    layer, after it, or none at all are told apart, whatever the layers are named."""
    dense = output_layer(model)
    features = keras.Model(model.input, dense.input)(inputs, training=False)
    logits = numpy(keras.ops.matmul(features, dense.kernel) + dense.bias)
    output = numpy(model(inputs, training=False, **call))
    if output.shape == logits.shape and np.allclose(output, logits, atol=1e-5):
        return "logits", output, logits
    if output.shape == logits.shape and np.allclose(output, numpy(keras.ops.sigmoid(logits)), atol=1e-5):
        return "probabilities", output, logits
    return "something else", output, logits


def dropout_zeros(model: keras.Model, inputs, repeats: int = 1) -> float:
    """The share of exact zeros in the output Dense layer's input when the model is training: about the
    dropout rate if dropout comes just before it, 0 if not (when nothing else there makes exact zeros)."""
    features = keras.Model(model.input, output_layer(model).input)
    return float(np.mean([np.mean(numpy(features(inputs, training=True)) == 0) for _ in range(repeats)]))


def calibrated_threshold(name: str) -> float:
    """The threshold of an accuracy check, from the committed calibration (tests/lessons/calibrate.py)."""
    table = json.loads((Path(__file__).with_name("calibration.json")).read_text())
    return table[name]["threshold"]


def which_of(found, mistakes, atol: float = 1e-5) -> str:
    """``which_mistake`` for (description, value) pairs: one mistake may be listed with several values,
    the different things learners write that make it."""
    return next((f" — {description}" for description, value in mistakes if same(found, value, atol)), "")
