"""The main job: train a quick Keras 3 sentiment model on the real IMDB data and evaluate it on all
25,000 test reviews. A bag of learned word embeddings, averaged: minutes on two CPU cores.

    ./course train [--data PATH] [--epochs N] [--output DIR]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from shared.batches import keras_batches  # noqa: E402
from shared.data import load_imdb, validation_split  # noqa: E402
from shared.text import clean_html  # noqa: E402
from shared.training import plot_history  # noqa: E402

VOCABULARY_SIZE = 20_000
SEQUENCE_LENGTH = 256


def build_model(vocabulary_size: int = VOCABULARY_SIZE, embedding_dim: int = 64) -> keras.Model:
    """Token ids -> embeddings -> average over the review -> a logit for "positive"."""
    ids = keras.Input(shape=(None,), dtype="int64", name="token_ids")
    x = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True)(ids)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(0.3)(x)
    logit = keras.layers.Dense(1, name="logit")(x)
    return keras.Model(ids, logit, name="average_of_embeddings")


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="IMDB data path (default: IMDB_DATA_DIR, the cache, or a download)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--output", default="artifacts/quickstart", help="where the model and curves go")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)

    imdb = load_imdb(args.data)
    train, validation = validation_split(imdb.train, fraction=0.1, seed=0)
    vectorize = keras.layers.TextVectorization(VOCABULARY_SIZE, output_sequence_length=SEQUENCE_LENGTH)
    vectorize.adapt([clean_html(t) for t in train.texts])  # the vocabulary sees the training split only

    def ids(reviews):
        return keras.ops.convert_to_numpy(vectorize([clean_html(t) for t in reviews.texts])).astype("int64")

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)])
    started = time.perf_counter()
    history = model.fit(
        keras_batches(ids(train), train.labels, 64, shuffle=True),
        validation_data=keras_batches(ids(validation), validation.labels, 256),
        epochs=args.epochs,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)],
        verbose=2,
    )
    train_seconds = time.perf_counter() - started
    _, test_accuracy = model.evaluate(keras_batches(ids(imdb.test), imdb.test.labels, 256), verbose=0)

    os.makedirs(args.output, exist_ok=True)
    model.save(os.path.join(args.output, "model.keras"))
    np.savetxt(os.path.join(args.output, "vocabulary.txt"), vectorize.get_vocabulary(), fmt="%s")
    curves = plot_history(history, os.path.join(args.output, "curves.png"), model.name)
    print(f"trained in {train_seconds:.0f} s; test accuracy on {len(imdb.test):,} reviews: {test_accuracy:.4f}")
    print(f"model, vocabulary and curves written to {args.output}/ ({curves.name})")
    return test_accuracy


if __name__ == "__main__":
    main()
