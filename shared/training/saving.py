"""Saving a Keras model on PyTorch without loading TensorFlow. Keras's serializer asks of every object it saves
whether it is a TensorFlow shape, dtype or spec, and imports TensorFlow to ask: seconds, and start-up lines
("Could not find cuda drivers") that read as broken, in a lesson that never uses TensorFlow. Until something
imports TensorFlow no object can be one of its types, so the serializer is told that it is not there till then."""

from __future__ import annotations

import sys

from keras.src.saving import serialization_lib
from keras.src.utils.module_utils import LazyModule


class ImportedOnly(LazyModule):
    """A module as Keras's lazy import of it, but available only once something else has imported it."""

    @property
    def available(self) -> bool:
        return self.name in sys.modules and super().available


def save_without_loading_tensorflow() -> None:
    """From now on, saving a model imports TensorFlow only if it is already imported. The answers are the same."""
    if not isinstance(serialization_lib.tf, ImportedOnly):
        serialization_lib.tf = ImportedOnly("tensorflow")
