"""TF-Hub SavedModels as Keras 3 layers, on the TensorFlow backend.

``hub.KerasLayer`` is a tf-keras (Keras 2) layer and does not work inside a Keras 3 model. ``HubLayer``
loads the same handles with ``tensorflow_hub.load`` (a tfhub.dev or Kaggle URL, which needs internet, or
a local folder such as those written by ``python -m shared.hub_export``) and hands the model's variables
to Keras as weights, so that ``trainable=True`` fine-tunes them::

    texts = keras.Input(shape=(), dtype="string")
    inputs = HubLayer("hub/preprocess")(texts)
    pooled = HubLayer("hub/encoder", trainable=True)(inputs)["pooled_output"]

Feed strings as a ``tf.Tensor``, a ``tf.data.Dataset`` or a numpy array of ``dtype=object``: Keras refuses
numpy's fixed-width ``str`` arrays. Only TF2 SavedModels (callable, like every BERT model on TF Hub) are
supported, not the TF1 Hub format.

A model holding a ``HubLayer`` saves to ``.keras`` with its weights, but the SavedModel itself is not
copied: loading it back loads ``handle`` again, then the saved weights; and since that runs the
SavedModel's TensorFlow graph, ``keras.models.load_model`` needs ``safe_mode=False``, as for Keras's own
``TFSMLayer``.
"""

from __future__ import annotations

import inspect
import os
import warnings

import keras


def load_hub_model(handle: str | os.PathLike):
    """``tensorflow_hub.load(handle)``, with the tensorflow_text ops that BERT preprocessing models use."""
    with warnings.catch_warnings():  # tensorflow_hub 0.16 imports the deprecated pkg_resources
        warnings.simplefilter("ignore", UserWarning)
        import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  registers the ops

    return hub.load(os.fspath(handle))


@keras.saving.register_keras_serializable(package="imdb_course")
class HubLayer(keras.layers.Layer):
    """The TF-Hub SavedModel at ``handle`` as a layer: it returns what the model returns (a dict for BERT
    models), or only its ``output_key`` entry. With ``trainable=False`` the weights stay frozen and the
    model runs in inference mode (no dropout), as with ``hub.KerasLayer``."""

    def __init__(self, handle: str | os.PathLike, output_key: str | None = None, trainable: bool = False, **kwargs):
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                f"HubLayer runs TensorFlow SavedModels, so it needs the TensorFlow backend; Keras runs on "
                f"{keras.backend.backend()}. Set os.environ['KERAS_BACKEND'] = 'tensorflow' before importing keras."
            )
        super().__init__(**kwargs)
        self.handle, self.output_key = os.fspath(handle), output_key
        self._module = load_hub_model(self.handle)
        if not callable(self._module):
            raise ValueError(
                f"{self.handle} is not a callable TF2 SavedModel (a TF1 Hub module?); HubLayer cannot use it."
            )
        self._takes_training = "training" in inspect.signature(self._module.__call__).parameters
        trainable_ids = {id(v) for v in getattr(self._module, "trainable_variables", ())}
        # Keras variables wrapping the SavedModel's own tf.Variables: the optimizer updates what it runs on.
        self._hub_weights = [
            keras.Variable(v, trainable=id(v) in trainable_ids, name=v.name.split(":")[0].replace("/", "_"))
            for v in getattr(self._module, "variables", ())
        ]
        self.trainable = trainable  # set once the weights exist, so that freezing reaches them
        self.built = True

    def call(self, inputs, training=None):
        if self._takes_training:
            outputs = self._module(inputs, training=bool(training) and self.trainable)
        else:
            outputs = self._module(inputs)
        return outputs if self.output_key is None else outputs[self.output_key]

    def get_config(self) -> dict:
        return {**super().get_config(), "handle": self.handle, "output_key": self.output_key}

    @classmethod
    def from_config(cls, config: dict) -> HubLayer:
        from keras.src.saving.serialization_lib import in_safe_mode  # Keras offers no public way to ask

        if in_safe_mode():
            raise ValueError(
                f"Loading a HubLayer loads and runs the SavedModel at {config['handle']}. If you trust it, "
                "pass safe_mode=False to keras.models.load_model."
            )
        return cls(**config)
