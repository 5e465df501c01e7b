# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 6 — Frozen BERT embeddings, a small head, and a picture
#
# You will: embed every review once with a frozen BERT encoder (cached on disk, so a second run is
# instant), train a small head of Dense layers with batch normalisation and dropout on those vectors
# (the recipe of a BERT-embeddings project: binary cross-entropy, AdamW, up to 20 epochs, early stopping with patience 5
# restoring the best weights), and draw the embeddings in two dimensions with PCA and t-SNE.
#
# Time: minutes for the graded parts; embedding all 50,000 reviews is a long run on a CPU, done once.
# Graded: exercises 6.1–6.5 (`./course grade --lesson 6`).

# %% tags=["save"]
import os

os.environ["KERAS_BACKEND"] = "torch"

import hashlib
import tempfile
from pathlib import Path

import joblib
import keras
import matplotlib.pyplot as plt
import numpy as np
from joblib.memory import MemorizedFunc
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from shared.data import Imdb, default_cache_dir, load_imdb, stratified_sample, validation_split
from shared.encoders import Encoder, load_encoder
from shared.figures import show_and_save
from shared.paths import ARTIFACTS
from shared.text import clean_html
from shared.training import Timer, fit_verbosity, plot_history, progress_bar, run_record

OUTPUT = ARTIFACTS / "lesson06"

# %% [markdown]
# ## Exercise 6.1 — One vector per review: mean pooling
#
# The encoder gives one 384-dimensional vector per token (`sequence_output`). all-MiniLM-L6-v2 was
# trained so that the *mean of its token vectors* is a sentence embedding; the mean must skip padding,
# so weight each token by `padding_mask` (1 on real tokens, 0 on padding).

# %% tags=["save"]
def mean_pool(sequence_output: np.ndarray, padding_mask: np.ndarray) -> np.ndarray:
    """(batch, steps, hidden) and (batch, steps) -> (batch, hidden): the mean over real tokens."""
    # BEGIN SOLUTION
    # HINT: mask = padding_mask[..., None]; (sequence_output * mask).sum(axis=1) / mask.sum(axis=1).
    mask = np.asarray(padding_mask, dtype="float32")[..., None]
    return (np.asarray(sequence_output) * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
    # END SOLUTION


# %% [markdown]
# ## Exercise 6.2 — Embed once, cache on disk
#
# Embedding is the slow part, and a frozen encoder always gives the same vectors: compute them once.
# Key the cache file by what changes the result — the encoder's name, its sequence length and the texts
# themselves (a sha256 of them) — and write it under a temporary name, then rename it, so an interrupted
# run never leaves half a file; without a `cache_dir`, the cache is the course's own,
# `default_cache_dir() / "embeddings"`, and a folder that does not exist yet is made. Run the encoder in inference mode (`backbone.predict`: no gradients,
# no dropout) on batches of `encoder.preprocessor(texts)`. The 25,000 training and validation reviews take about
# ten minutes on two CPU cores: advance a progress bar after each batch (`progress_bar` from `shared.training`,
# Keras's `Progbar`), so the wait shows how far it is and when it will end.

# %% tags=["save"]
def embed_reviews(encoder: Encoder, texts: list[str], cache_dir: str | Path | None = None,
                  batch_size: int = 64) -> np.ndarray:
    """float32 array (len(texts), hidden) of mean-pooled embeddings, read from the cache when there."""
    # BEGIN SOLUTION
    # HINT: hashlib.sha256 over the texts; np.save to "<name>.tmp.npy" then Path.replace to the final name.
    # HINT: progress_bar(len(texts), "review") shows how far the loop is, with an ETA: .add(n) after each batch.
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir() / "embeddings"
    length = encoder.preprocessor.sequence_length
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"{encoder.name}-{length}-{digest}.npy"
    if path.exists():
        return np.load(path)
    progress = progress_bar(len(texts), "review")
    vectors = []
    for start in range(0, len(texts), batch_size):
        inputs = encoder.preprocessor([clean_html(t) for t in texts[start:start + batch_size]])
        outputs = encoder.backbone.predict_on_batch(inputs)
        vectors.append(mean_pool(keras.ops.convert_to_numpy(outputs["sequence_output"]),
                                 keras.ops.convert_to_numpy(inputs["padding_mask"])))
        progress.add(len(vectors[-1]))
    embeddings = np.concatenate(vectors).astype("float32")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp.npy")
    np.save(partial, embeddings)
    partial.replace(path)
    return embeddings
    # END SOLUTION


# %% [markdown]
# ### The library way: `joblib.Memory`
#
# Now that you have written the cache, here is a library keeping one. joblib (installed with scikit-learn)
# stores a function's results on disk: `joblib.Memory(folder).cache(function)` keys each call by a hash of
# its arguments (and of the function's code), and a result is written whole before it can be read. Your
# key becomes arguments: the encoder's name, its sequence length and the texts. The encoder itself is left
# out of the key (`ignore=["encoder"]`): joblib hashes an argument by pickling it, and a Keras model pickles
# to other bytes once it has run, so a key holding the encoder would miss on the very next call. The
# embedding is still yours: the cached function calls `embed_reviews` with a throwaway folder, so that only
# joblib's cache is kept.

# %%
def joblib_embedder(cache_dir: str | Path) -> MemorizedFunc:
    """``embed_reviews`` cached by joblib in ``cache_dir``; call it with (encoder, encoder.name,
    encoder.preprocessor.sequence_length, texts)."""

    def embed(encoder: Encoder, name: str, sequence_length: int, texts: list[str]) -> np.ndarray:
        # name and sequence_length are not read here: they key the cache, in the encoder's place
        with tempfile.TemporaryDirectory() as throwaway:
            return embed_reviews(encoder, texts, throwaway)

    return joblib.Memory(cache_dir, verbose=0).cache(embed, ignore=["encoder"])


# %% tags=["long"]
# Long: `./course grade` skips this cell (tagged "long"); run it here to see the real run.
# Both caches on the same reviews.
small_encoder = load_encoder(sequence_length=64)
reviews = ["A wonderful film.<br /><br />I would watch it again.", "Dull, far too long."]
call = (small_encoder, small_encoder.name, small_encoder.preprocessor.sequence_length, reviews)
with tempfile.TemporaryDirectory() as folder:
    by_joblib = joblib_embedder(Path(folder) / "joblib")
    by_joblib(*call)
    served = by_joblib.check_call_in_cache(*call)  # the next call with these arguments reads joblib's file
    embed_reviews(small_encoder, reviews, Path(folder) / "by-hand")
    same = np.allclose(by_joblib(*call), embed_reviews(small_encoder, reviews, Path(folder) / "by-hand"), atol=1e-5)
print(f"the second call is served from joblib's cache: {served}; both caches give the same embeddings: {same}")


# %% [markdown]
# ## Exercise 6.3 — The head
#
# For each size in `hidden_units`: `Dense(size)` -> `BatchNormalization` -> ReLU -> `Dropout(dropout)`;
# then `Dense(1, activation="sigmoid")`. Batch normalisation keeps each layer's inputs centred while the
# head trains at a high learning rate; dropout keeps it from memorising 22,500 vectors.

# %% tags=["save"]
def build_head(input_dim: int, hidden_units: tuple[int, ...] = (256, 64), dropout: float = 0.3) -> keras.Model:
    """(batch, input_dim) embeddings -> (batch, 1) probability of "positive"."""
    # BEGIN SOLUTION
    # HINT: keras.layers.Activation("relu") after the BatchNormalization.
    embeddings = keras.Input(shape=(input_dim,), name="embedding")
    x = embeddings
    for size in hidden_units:
        x = keras.layers.Dense(size)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.Dropout(dropout)(x)
    return keras.Model(embeddings, keras.layers.Dense(1, activation="sigmoid")(x), name="head")
    # END SOLUTION


# %% [markdown]
# ## Exercise 6.4 — Train the head
#
# Compile with `AdamW(learning_rate)`, binary cross-entropy and accuracy; fit for up to `epochs` epochs
# at batch 64 with `EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)` and
# `verbose=fit_verbosity()`. Return the `History`.

# %% tags=["save"]
def train_head(head: keras.Model, x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray,
               y_valid: np.ndarray, epochs: int = 20, learning_rate: float = 1e-3) -> keras.callbacks.History:
    """Compile and fit ``head`` on embeddings, keeping the best epoch by validation loss."""
    # BEGIN SOLUTION
    # HINT: head.fit(x_train, y_train, validation_data=(x_valid, y_valid), callbacks=[...], verbose=fit_verbosity()).
    head.compile(optimizer=keras.optimizers.AdamW(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    return head.fit(x_train, y_train, validation_data=(x_valid, y_valid), epochs=epochs, batch_size=64,
                    callbacks=[stop], verbose=fit_verbosity())
    # END SOLUTION


# %% [markdown]
# ## Exercise 6.5 — Two dimensions to look at
#
# PCA keeps the two directions of largest variance (a linear view); t-SNE places points so that
# neighbours stay neighbours (a non-linear view, good at showing clusters, bad at distances between
# them). Return the `(n, 2)` projection, seeded so the picture is reproducible.

# %% tags=["save"]
def project_2d(embeddings: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, hidden) -> (n, 2) with scikit-learn's PCA or TSNE."""
    # BEGIN SOLUTION
    # HINT: PCA(n_components=2, random_state=seed).fit_transform(...); TSNE(..., init="pca", random_state=seed).
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(embeddings)
    if method == "tsne":
        return TSNE(n_components=2, init="pca", perplexity=30, random_state=seed).fit_transform(embeddings)
    raise ValueError(f'method must be "pca" or "tsne", got {method!r}')
    # END SOLUTION


def plot_projections(embeddings: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    """PCA and t-SNE side by side, coloured by label."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 5))
    for axis, method in zip(axes, ("pca", "tsne")):
        points = project_2d(embeddings, method)
        for label, colour, name in ((0, "tab:red", "negative"), (1, "tab:blue", "positive")):
            axis.scatter(*points[labels == label].T, s=4, alpha=0.5, c=colour, label=name)
        axis.set_title(f"{method.upper()} of mean-pooled embeddings")
        axis.legend()
    show_and_save(figure, path)
    return path


# %% [markdown]
# ## The whole run
# `python -m benchmarks.run --track frozen` embeds all 50,000 reviews (once: later runs read the cache)
# and trains the head on the training split's embeddings. A progress bar gives the embedding's ETA; the
# head's summary, its learning curves and the PCA and t-SNE pictures follow (below the cell in a notebook;
# always saved to `artifacts/lesson06/`).

# %% tags=["save"]
CONFIGS = {"mean-128": {"sequence_length": 128, "hidden_units": (256, 64), "dropout": 0.3}}


def run_experiment(imdb: Imdb, config: dict, output: Path = OUTPUT) -> dict:
    """Embed train and test once (cached), train the head with a validation split, evaluate on test."""
    keras.utils.set_random_seed(0)
    # A frozen encoder never drops out: without dropout, Keras's attention runs the fused kernel.
    encoder = load_encoder(os.environ.get("BERT_ENCODER", "all-MiniLM-L6-v2"), config["sequence_length"],
                           dropout=0.0)
    train_split, valid_split = validation_split(imdb.train, fraction=0.1, seed=0)
    with Timer() as embedding:
        x_train, x_valid = embed_reviews(encoder, train_split.texts), embed_reviews(encoder, valid_split.texts)
    print(f"embeddings: train {x_train.shape}, validation {x_valid.shape} {x_train.dtype}")
    head = build_head(x_train.shape[1], config["hidden_units"], config["dropout"])
    head.summary()
    with Timer() as fitting:
        history = train_head(head, x_train, train_split.labels, x_valid, valid_split.labels)
    plot_history(history, output / "curves.png", "head on frozen embeddings")
    probabilities = head.predict(embed_reviews(encoder, imdb.test.texts), batch_size=512, verbose=0)[:, 0]
    sample = stratified_sample(imdb.test, 2_000, seed=0)
    # throughput of embedding + head, never of the cache
    with tempfile.TemporaryDirectory() as empty_cache, Timer() as predicting:
        head.predict(embed_reviews(encoder, sample.texts, empty_cache), batch_size=512, verbose=0)
    plot_projections(embed_reviews(encoder, sample.texts), sample.labels, output / "projections.png")
    return run_record(history, fitting.seconds, predicting.seconds, len(sample),
                      np.mean((probabilities > 0.5) == imdb.test.labels),
                      {"validation": head.predict(x_valid, batch_size=512, verbose=0)[:, 0], "test": probabilities},
                      prepare_seconds=embedding.seconds, embed_seconds=embedding.seconds, head_seconds=fitting.seconds)


# %% tags=["long"] recorded="frozen/mean-128"
# Long: `./course grade` skips this cell (tagged "long"); run it here to see the real run.
result = run_experiment(load_imdb(), CONFIGS["mean-128"])
print(f"test accuracy {result['test_accuracy']:.4f}; embedding took {result['embed_seconds'] / 60:.0f} min, "
      f"the head {result['head_seconds']:.0f} s; pictures in {OUTPUT}")
