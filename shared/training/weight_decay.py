"""Which weights BERT fine-tunes without weight decay (LayerNorm scales and shifts, and every bias), picked by
variable path, since Keras 3's ``var_names`` sees only the last part of a name and would silently match none."""

from __future__ import annotations

import re
from collections.abc import Iterable

import keras

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
