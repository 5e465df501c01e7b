"""What every training run needs: seeds, curve plots, and a look at the machine it ran on."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")  # no screen needed: curves are written to PNG
import matplotlib.pyplot as plt  # noqa: E402


def plot_history(history: keras.callbacks.History | dict, path: str | os.PathLike, title: str = "") -> Path:
    """Plot loss and accuracy, training against validation, per epoch; write a PNG to ``path``."""
    curves = history.history if hasattr(history, "history") else history
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "o-"), ("val_", "s--")):
            if prefix + metric in curves:
                values = curves[prefix + metric]
                axis.plot(range(1, len(values) + 1), values, style, label=(prefix or "train_") + metric)
        axis.set(xlabel="epoch", ylabel=metric, title=f"{title} {metric}".strip())
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


@keras.saving.register_keras_serializable(package="course")
class WarmUpLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """BERT's schedule: the learning rate climbs linearly from 0 to ``peak`` over ``warmup_steps``, then
    falls linearly to 0 at ``total_steps`` (what TF's ``official.nlp.optimization.create_optimizer`` does).
    Warm-up keeps the first, noisy updates from wrecking pretrained weights."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int):
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}")
        self.peak, self.warmup_steps, self.total_steps = peak, warmup_steps, total_steps

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        rising = self.peak * step / max(1, self.warmup_steps)
        falling = self.peak * (self.total_steps - step) / (self.total_steps - self.warmup_steps)
        return keras.ops.where(step < self.warmup_steps, rising, keras.ops.maximum(falling, 0.0))

    def get_config(self) -> dict:
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps}


# LayerNorm scales and shifts, and every bias, by variable path: KerasHub's "embeddings_layer_norm/gamma",
# "transformer_layer_0/self_attention_layer/query/bias"; a TF-Hub encoder's "..._layer_norm_gamma".
_NO_DECAY = re.compile(r"(layer_?norm|LayerNorm)\w*[/_](gamma|beta)$|(^|[/_])bias$")


def no_weight_decay(variables: Iterable[keras.Variable]) -> list[keras.Variable]:
    """The variables BERT fine-tunes without weight decay: LayerNorm weights and biases.

    Pass them to ``optimizer.exclude_from_weight_decay(var_list=...)``. Its other argument, ``var_names``,
    matches ``variable.name``, which in Keras 3 is the last part of the path only: in a KerasHub model
    (``gamma``, ``beta``), ``var_names=["LayerNorm"]`` silently excludes nothing. The path says which layer a
    weight belongs to."""
    return [variable for variable in variables if _NO_DECAY.search(variable.path)]


# The sample reviews of the reference BiLSTM project: a clear positive, a clear negative, and a lukewarm one.
SAMPLE_REVIEWS = ["This movie was absolutely fantastic!", "Terrible waste of time and money.",
                  "It was okay, nothing special."]


def print_predictions(texts: list[str], predictions: list[tuple[str, float | None]]) -> None:
    """One line per text: the predicted label, its confidence, the text (a blank confidence for a text the model
    cannot read)."""
    for text, (label, confidence) in zip(texts, predictions):
        print(f"{label:10s} {'' if confidence is None else format(confidence, '6.1%'):>6s}  {text}")


def describe_device() -> str:
    """Where Keras computes in this process, for every run to print: ``"cuda:0 (NVIDIA L4)"``, ``"cpu (2 threads)"``
    on the PyTorch backend; the device of a new tensor (``"CPU:0"``, ``"GPU:0"``) on TensorFlow's."""
    device = keras.ops.zeros(()).device  # where Keras puts a new tensor
    if keras.backend.backend() != "torch":
        return str(device).rsplit("device:", 1)[-1]
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"{device.type} ({threads} thread{'s' * (threads > 1)})"


def mixed_precision_on_gpu() -> str:
    """Keras's global dtype policy for training on this machine, set and returned: "mixed_bfloat16" on a GPU
    that has bfloat16, "mixed_float16" on an older GPU (Keras then scales the loss in compile), "float32"
    on a CPU, where 16-bit arithmetic is no faster."""
    import torch

    if not torch.cuda.is_available():
        policy = "float32"
    else:
        policy = "mixed_bfloat16" if torch.cuda.is_bf16_supported() else "mixed_float16"
    keras.mixed_precision.set_global_policy(policy)
    return policy
