"""Seeding a run: one call sets every random generator a lesson draws from (Python's, NumPy's, PyTorch's and
Keras's own), as ``keras.utils.set_random_seed`` does, but without importing TensorFlow, so that a lesson on
PyTorch starts without TensorFlow's seconds of loading and its start-up lines."""

from __future__ import annotations

import random

import keras
import numpy as np


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
