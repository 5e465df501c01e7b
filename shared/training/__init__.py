"""What every training run needs: seeds, curve plots, progress bars, the bookkeeping of a run, and a look at the
machine it ran on."""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np

from shared.figures import show_and_save
from shared.text import SAMPLE_REVIEWS  # noqa: F401 (the lessons import it here)


def set_random_seed(seed: int) -> None:
    """``keras.utils.set_random_seed`` but for TensorFlow: Python's, NumPy's and PyTorch's generators and Keras's
    own seed. Keras's seeds TensorFlow as well, which imports it: seconds, and start-up lines ("Could not find
    cuda drivers") that read as broken, in a lesson that never uses TensorFlow's random numbers."""
    from keras.src.backend.common import global_state  # the two global names Keras's own function sets
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)  # made again from the seed
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)


def plot_history(history: keras.callbacks.History | dict, path: str | os.PathLike, title: str = "") -> Path:
    """Plot loss and accuracy, training against validation, per epoch; write a PNG to ``path`` (and show it, in
    a notebook)."""
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
    show_and_save(figure, path)
    return Path(path)


# --------------------------------------------------------------------------- progress


def fit_verbosity() -> int:
    """Keras's ``verbose`` for a run's fit and predict: 1, a progress bar with an ETA, in a notebook or a terminal;
    2, one line per epoch, under CI (the CI variable set), where every redraw of a bar would be a line of log."""
    return 2 if os.environ.get("CI", "").lower() not in ("", "0", "false") else 1


def progress_bar(total: int, unit_name: str = "step") -> keras.utils.Progbar:
    """Keras's progress bar over ``total`` units, with an ETA; under CI one line when it is done."""
    return keras.utils.Progbar(total, verbose=fit_verbosity(), unit_name=unit_name)


def with_progress(predict: Callable, batches: int) -> Callable:
    """``predict`` (a model's ``predict_on_batch``) advancing a progress bar at each of ``batches`` calls: for the
    loops that predict batch by batch, where Keras shows no bar."""
    bar = progress_bar(batches, "batch")

    def predict_and_count(inputs):
        outputs = predict(inputs)
        bar.add(1)
        return outputs

    return predict_and_count


# --------------------------------------------------------------------------- bookkeeping of a run


class Timer:
    """The seconds a ``with`` block took: ``with Timer() as fitting: model.fit(...)``, then ``fitting.seconds``."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exception) -> None:
        self.seconds = time.perf_counter() - self.started


def run_record(history: keras.callbacks.History, fit_seconds: float, predict_seconds: float, predicted: int,
               test_accuracy: float, probabilities: dict[str, np.ndarray], prepare_seconds: float = 0.0,
               **extra) -> dict:
    """What a lesson's ``run_experiment`` returns for ``python -m benchmarks.run`` to record: the test accuracy, the
    training time (``prepare_seconds``, such as embedding before the fit, plus ``fit_seconds``), reviews
    predicted per second, the curve of validation accuracy against minutes of training (every epoch taken as
    long as the mean) and each review's probability of "positive" on the validation and test splits; then
    ``extra``, the lesson's own measures."""
    accuracies = history.history["val_accuracy"]
    curve = [[(prepare_seconds + fit_seconds * epoch / len(accuracies)) / 60, accuracy]
             for epoch, accuracy in enumerate(accuracies, 1)]
    return {"test_accuracy": float(test_accuracy), "train_seconds": prepare_seconds + fit_seconds,
            "infer_reviews_per_s": predicted / predict_seconds, "curve": curve, "probabilities": probabilities,
            **extra}


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
