"""Inference speed of lesson 5's fine-tuned classifier against the same weights in Hugging Face transformers.

    python -m benchmarks.finetune_throughput [--model artifacts/lesson05/classifier] [--reviews 2000]
                                              [--trained-by "finetune/head+tail-4k"]

The model is the folder `python -m benchmarks.run --track finetune` saves. Every way reads the same test
reviews in the same dynamically padded, length-sorted batches (lesson 5's ``ReviewBatches``) on PyTorch with
no gradient work. The Keras model runs as saved and as lesson 5's ``load_finetuned`` returns it (through
``shared.encoders.for_inference``: dropout 0, so Keras's attention takes the fused kernel), both through
``predict_on_batch`` (which runs under ``torch.no_grad``). The reference is a
``transformers.BertForSequenceClassification`` holding a copy of the weights, run under
``torch.inference_mode`` with the tanh GELU that KerasHub uses, so all three compute one function. The
record holds the largest logit difference between ``load_finetuned``'s model and the reference, and how
often their predictions agree.

Appends one object to benchmarks/throughput.json; RESULTS.md shows the newest.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import keras_hub  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

from benchmarks.run import hardware, versions  # noqa: E402
from shared.data import load_imdb, stratified_sample  # noqa: E402
from shared.encoders import Encoder  # noqa: E402
from shared.lessons import finetune as lesson  # noqa: E402
from shared.records import BENCHMARKS, append_record  # noqa: E402

THROUGHPUT = BENCHMARKS / "throughput.json"


def backbone_of(classifier: keras.Model) -> keras_hub.models.BertBackbone:
    return next(layer for layer in classifier.layers if isinstance(layer, keras_hub.models.BertBackbone))


def transformers_weights(classifier: keras.Model) -> dict[str, np.ndarray]:
    """The classifier's weights under BertForSequenceClassification's names and layouts ((out, in) kernels)."""
    backbone = backbone_of(classifier)

    def value(variable) -> np.ndarray:
        return keras.ops.convert_to_numpy(variable)

    def linear(prefix: str, layer) -> dict[str, np.ndarray]:
        # Attention kernels are (hidden, heads, head_dim) or (heads, head_dim, hidden): the bias tells the
        # output width, so one reshape gives every kernel as (in, out).
        bias = value(layer.bias).reshape(-1)
        return {f"{prefix}.weight": value(layer.kernel).reshape(-1, bias.size).T, f"{prefix}.bias": bias}

    def norm(prefix: str, layer) -> dict[str, np.ndarray]:
        return {f"{prefix}.weight": value(layer.gamma), f"{prefix}.bias": value(layer.beta)}

    weights = {
        "bert.embeddings.word_embeddings.weight": value(backbone.get_layer("token_embedding").embeddings),
        "bert.embeddings.position_embeddings.weight":
            value(backbone.get_layer("position_embedding").position_embeddings),
        "bert.embeddings.token_type_embeddings.weight": value(backbone.get_layer("segment_embedding").embeddings),
        **norm("bert.embeddings.LayerNorm", backbone.get_layer("embeddings_layer_norm")),
        **linear("bert.pooler.dense", backbone.get_layer("pooled_dense")),
        **linear("classifier", classifier.get_layer("logits")),
    }
    for i in range(backbone.num_layers):
        block, prefix = backbone.get_layer(f"transformer_layer_{i}"), f"bert.encoder.layer.{i}"
        attention = block._self_attention_layer
        for name in ("query", "key", "value"):
            weights |= linear(f"{prefix}.attention.self.{name}", getattr(attention, f"{name}_dense"))
        weights |= linear(f"{prefix}.attention.output.dense", attention.output_dense)
        weights |= norm(f"{prefix}.attention.output.LayerNorm", block._self_attention_layer_norm)
        weights |= linear(f"{prefix}.intermediate.dense", block._feedforward_intermediate_dense)
        weights |= linear(f"{prefix}.output.dense", block._feedforward_output_dense)
        weights |= norm(f"{prefix}.output.LayerNorm", block._feedforward_layer_norm)
    return weights


def to_transformers(classifier: keras.Model) -> transformers.BertForSequenceClassification:
    """The same classifier as a transformers model in evaluation mode."""
    backbone = backbone_of(classifier)
    config = transformers.BertConfig(
        vocab_size=backbone.vocabulary_size, hidden_size=backbone.hidden_dim, num_hidden_layers=backbone.num_layers,
        num_attention_heads=backbone.num_heads, intermediate_size=backbone.intermediate_dim,
        max_position_embeddings=backbone.max_sequence_length, type_vocab_size=backbone.num_segments,
        hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-12, num_labels=2)
    model = transformers.BertForSequenceClassification(config)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                           for k, v in transformers_weights(classifier).items()}, strict=True)
    return model.eval()


def reference_logits(model: transformers.BertForSequenceClassification, inputs: dict) -> np.ndarray:
    with torch.inference_mode():
        return model(input_ids=torch.from_numpy(inputs["token_ids"]),
                     attention_mask=torch.from_numpy(inputs["padding_mask"].astype(np.int64)),
                     token_type_ids=torch.from_numpy(inputs["segment_ids"])).logits.numpy()


def timed(predict, batches) -> tuple[np.ndarray, float]:
    """All logits and the reviews per second of one pass, after one warm-up batch."""
    predict(batches[0][0])
    started = time.perf_counter()
    logits = np.concatenate([predict(inputs) for inputs, _ in batches])
    return logits, sum(len(labels) for _, labels in batches) / (time.perf_counter() - started)


def measure(model_folder: Path, reviews: int, batch_size: int, data: str | None, trained_by: str | None) -> dict:
    saved = keras.saving.load_model(model_folder / "model.keras")
    classifier, tokenizer = lesson.load_finetuned(model_folder)  # ready to predict: for_inference
    reference = to_transformers(classifier)
    sample = stratified_sample(load_imdb(data).test, reviews, seed=0)
    encoder = Encoder("fine-tuned", backbone_of(classifier), keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=lesson.MAX_LENGTH))
    batches = lesson.ReviewBatches(sample.texts, sample.labels, encoder, batch_size, lesson.MAX_LENGTH)
    batches = [batches[i] for i in range(len(batches))]  # tokenized and packed before any clock starts
    _, saved_speed = timed(saved.predict_on_batch, batches)
    keras_logits, keras_speed = timed(classifier.predict_on_batch, batches)
    reference_out, reference_speed = timed(lambda inputs: reference_logits(reference, inputs), batches)
    return {
        "model": f"Lesson 5's fine-tuned classifier ({trained_by or model_folder.name})", "reviews": len(sample),
        "batch": batch_size, "max_length": lesson.MAX_LENGTH,
        "reviews_per_s": {"Keras 3 + KerasHub (PyTorch backend), as saved": saved_speed,
                          "the same from load_finetuned (for_inference: fused attention)": keras_speed,
                          "transformers BertForSequenceClassification": reference_speed},
        "keras_over_transformers_time": reference_speed / keras_speed,
        "max_logit_difference": float(np.abs(keras_logits - reference_out).max()),
        "prediction_agreement": float(np.mean(keras_logits.argmax(1) == reference_out.argmax(1))),
        "torch_threads": torch.get_num_threads(), "hardware": hardware(),
        "versions": versions() | {"transformers": transformers.__version__},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/lesson05/classifier"),
                        help="a folder written by lesson 5's save_finetuned")
    parser.add_argument("--reviews", type=int, default=2_000, help="test reviews to predict (stratified)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", help="IMDB folder or archive (default: IMDB_DATA_DIR, then the cache)")
    parser.add_argument("--trained-by", help="the benchmark run that saved the model, shown in RESULTS.md")
    args = parser.parse_args(argv)
    if not (args.model / "model.keras").exists():
        parser.error(f"{args.model} holds no model.keras: run `python -m benchmarks.run --track finetune` first")
    record = measure(args.model, args.reviews, args.batch_size, args.data, args.trained_by)
    arguments = sys.argv[1:] if argv is None else argv
    record["command"] = shlex.join(["python", "-m", "benchmarks.finetune_throughput", *arguments])
    append_record(record, THROUGHPUT)
    from benchmarks.report import render_all

    render_all()
    print(json.dumps({k: record[k] for k in ("reviews_per_s", "max_logit_difference", "prediction_agreement")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
