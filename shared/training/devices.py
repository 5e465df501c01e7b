"""The machine a run trains on: the device Keras computes on, for every run to print beside its results, and the
precision that device trains fastest in (16-bit on a GPU, 32-bit on a CPU)."""

from __future__ import annotations

import keras


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
