"""Export the offline encoder (all-MiniLM-L6-v2) as two TF-Hub-format SavedModels, so that the TF-Hub
path of the course runs with real weights and no internet:

    python -m shared.hub_export --output DIR [--sequence-length 128]

DIR/preprocess  strings [batch] -> {"input_word_ids", "input_mask", "input_type_ids"}, int32
                [batch, sequence_length]: "[CLS] wordpieces [SEP]" then padding, lowercased and without
                accents, like TF Hub's bert_en_uncased_preprocess.
DIR/encoder     that dict -> {"pooled_output": [batch, 384], "sequence_output": [batch, length, 384],
                "encoder_outputs": one [batch, length, 384] per layer}, like TF Hub's BERT encoders;
                ``training=True`` turns dropout on, and ``trainable_variables`` lists the weights.

Load them with ``tensorflow_hub.load`` after ``import tensorflow_text``, whose ops the preprocessing uses
(``shared.hub.load_hub_model`` does both), or inside a Keras 3 model with ``shared.hub.HubLayer``. Both run
on TensorFlow, whatever the backend of the rest of the course.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"  # the SavedModels are TensorFlow graphs traced from Keras

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text as text  # noqa: E402

from shared.encoders import (  # noqa: E402
    DEFAULT_ENCODER,
    SEQUENCE_LENGTH,
    Encoder,
    default_encoder_path,
    load_encoder,
)
from shared.hub import load_hub_model  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"shared.hub_export needs Keras on TensorFlow, but this process already runs it on "
        f"{keras.backend.backend()}: run `python -m shared.hub_export` in a process of its own."
    )

ENCODER_INPUTS = ("input_word_ids", "input_mask", "input_type_ids")
EXPORT_TOLERANCE = 1e-4  # the same float32 computation, eager and traced: measured differences are about 2e-6


class _Preprocess(tf.Module):
    def __init__(self, vocabulary_file: Path, sequence_length: int, lowercase: bool):
        super().__init__()
        # The vocabulary file is copied into the SavedModel's assets; an anonymous table keeps its original
        # path out of the graph, where a named table would record it.
        vocabulary = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(str(vocabulary_file), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                          tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER),
            num_oov_buckets=1,
            experimental_is_anonymous=True,
        )
        # lower_case=True also applies NFD and strips accents, as BERT's uncased tokenizer does.
        self.tokenizer = text.BertTokenizer(vocabulary, lower_case=lowercase, token_out_type=tf.int32)
        ids = {token: i for i, token in enumerate(vocabulary_file.read_text(encoding="utf-8").splitlines())}
        self.cls_id, self.sep_id, self.pad_id = ids["[CLS]"], ids["[SEP]"], ids["[PAD]"]
        self.sequence_length = sequence_length

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, sentences):
        wordpieces = self.tokenizer.tokenize(sentences).merge_dims(-2, -1)[:, : self.sequence_length - 2]
        ids, type_ids = text.combine_segments([wordpieces], self.cls_id, self.sep_id)
        word_ids, mask = text.pad_model_inputs(ids, self.sequence_length, pad_value=self.pad_id)
        type_ids, _ = text.pad_model_inputs(type_ids, self.sequence_length)
        return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": type_ids}


def export_preprocess(
    vocabulary_file: Path, path: Path, sequence_length: int = SEQUENCE_LENGTH, lowercase: bool = True
) -> Path:
    """Write the preprocessing SavedModel for the WordPiece vocabulary ``vocabulary_file`` to ``path``."""
    tf.saved_model.save(_Preprocess(Path(vocabulary_file), sequence_length, lowercase), str(path))
    return Path(path)


def export_encoder(backbone: keras_hub.models.BertBackbone, path: Path) -> Path:
    """Write a KerasHub BERT ``backbone`` to ``path`` as a SavedModel with TF Hub's BERT encoder interface."""
    layer_outputs = [layer.output for layer in backbone.transformer_layers]
    every_layer = keras.Model(
        backbone.inputs,
        {"encoder_outputs": layer_outputs, "pooled_output": backbone.get_layer("pooled_dense").output},
    )

    @tf.function
    def call(inputs, training=False):
        outputs = every_layer(
            {"token_ids": inputs["input_word_ids"], "padding_mask": inputs["input_mask"],
             "segment_ids": inputs["input_type_ids"]},
            training=training,
        )
        layers = outputs["encoder_outputs"]
        return {"pooled_output": outputs["pooled_output"], "sequence_output": layers[-1], "encoder_outputs": layers}

    specs = {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in ENCODER_INPUTS}

    @tf.function(input_signature=[specs])
    def serve(inputs):  # a signature cannot return a list, so serving gets the two final outputs only
        outputs = call(inputs)
        return {"pooled_output": outputs["pooled_output"], "sequence_output": outputs["sequence_output"]}

    for training in (False, True):  # hub users call it either way; both graphs are saved
        call.get_concrete_function(specs, training=training)
    # A bare trackable rather than a tf.Module, whose `variables` are read-only properties: TF Hub models
    # carry `variables` and `trainable_variables` as plain attributes, and that is what their users read.
    root = tf.__internal__.tracking.AutoTrackable()
    root.__call__ = call
    root.variables = list(every_layer.variables)
    root.trainable_variables = list(every_layer.trainable_variables)
    tf.saved_model.save(root, str(path), signatures={"serving_default": serve})
    return Path(path)


def check_export(paths: dict[str, Path], encoder: Encoder, sentences: list[str]) -> float:
    """Run ``sentences`` through the exported pair; return the largest difference of ``sequence_output``, on
    real tokens, to ``encoder`` (the KerasHub model it came from, with its own preprocessor)."""
    preprocess, exported = load_hub_model(paths["preprocess"]), load_hub_model(paths["encoder"])
    inputs = preprocess(tf.constant(sentences))
    ours = exported(inputs)["sequence_output"].numpy()
    expected = keras.ops.convert_to_numpy(encoder.backbone(encoder.preprocessor(sentences))["sequence_output"])
    real_tokens = inputs["input_mask"].numpy().astype(bool)
    return float(np.max(np.abs(ours - expected)[real_tokens]))


def default_hub_folder(sequence_length: int = SEQUENCE_LENGTH) -> Path:
    """Where the course keeps its exported pair: in the user cache, one folder per sequence length."""
    from shared.data import default_cache_dir

    return default_cache_dir() / "hub" / f"{DEFAULT_ENCODER}-{sequence_length}"


def export_if_missing(output: Path | None = None, sequence_length: int = SEQUENCE_LENGTH) -> dict[str, Path]:
    """The exported pair in ``output``, exported first if it is not there yet. The export is written
    under a temporary name and renamed into place, so an interrupted export is never mistaken for one."""
    output = Path(output) if output else default_hub_folder(sequence_length)
    paths = {name: output / name for name in ("preprocess", "encoder")}
    if all((path / "saved_model.pb").exists() for path in paths.values()):
        return paths
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}-") as scratch:
        main(["--output", scratch, "--sequence-length", str(sequence_length)])
        if output.exists():
            shutil.rmtree(output)
        Path(scratch).rename(output)
        Path(scratch).mkdir()  # for the context manager to remove
    return paths


def main(argv: list[str] | None = None) -> dict[str, Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, metavar="DIR", help="folder to write preprocess/ and encoder/ into")
    parser.add_argument("--sequence-length", type=int, default=SEQUENCE_LENGTH, metavar="N",
                        help=f"tokens per text, [CLS] and [SEP] included (default {SEQUENCE_LENGTH})")
    args = parser.parse_args(argv)
    output = Path(args.output)
    encoder = load_encoder(DEFAULT_ENCODER, args.sequence_length)
    paths = {
        "preprocess": export_preprocess(default_encoder_path() / "vocab.txt", output / "preprocess",
                                        args.sequence_length),
        "encoder": export_encoder(encoder.backbone, output / "encoder"),
    }
    difference = check_export(paths, encoder, ["A wonderful film, I loved it.", "Dull, far too long. Skip it."])
    if difference > EXPORT_TOLERANCE:
        raise RuntimeError(f"The exported encoder differs from the KerasHub model by {difference:.1e}.")
    print(f"wrote {paths['preprocess']} and {paths['encoder']} ({DEFAULT_ENCODER}); "
          f"largest difference to the KerasHub model: {difference:.1e}")
    return paths


if __name__ == "__main__":
    main()
