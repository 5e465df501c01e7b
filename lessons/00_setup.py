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
# # Lesson 0 — Check your set-up
#
# You will: confirm which Keras backend runs your code, that the pinned libraries are installed, that the
# IMDB data is found, and that a tiny model runs forward. It also walks you through the course's loop:
# fill in an exercise, grade it, read the feedback.
#
# Time: the script runs in 15 seconds as a notebook (the website's build, `benchmarks/site_build.json`).
# Graded: exercises 0.1–0.3 (`./course grade --lesson 0`).

# %%
import os

os.environ["KERAS_BACKEND"] = "torch"  # chosen before keras is imported; the autograder reads this line

from importlib.metadata import version

import keras
import matplotlib.pyplot as plt
import numpy as np

from shared.data import Reviews, load_imdb
from shared.figures import show_and_save
from shared.paths import ARTIFACTS

# %% [markdown]
# ## Exercise 0.1 — Report the versions
#
# Keras 3 runs on top of a *backend* (PyTorch here, TensorFlow in the TF-Hub lesson). When something
# behaves oddly, the first question is always "which versions?". Return a dictionary mapping each of
# `keras`, `keras-hub`, `torch` and `tensorflow` to its installed version string, plus `"backend"` to
# the name of the backend Keras is running on.

# %%
LIBRARIES = ("keras", "keras-hub", "torch", "tensorflow")


def versions() -> dict[str, str]:
    """Installed version of each library in LIBRARIES, and the active Keras backend under "backend"."""
    # HINT: importlib.metadata.version(name) gives a version; keras.backend.backend() names the backend.
    raise NotImplementedError("Exercise 0.1: Report the versions")


# %% [markdown]
# ## Exercise 0.2 — Count the reviews of each label
#
# `load_imdb()` returns the official splits as `Reviews` (texts, `labels` with 1 = positive, and star
# `ratings`). Count how many reviews of each label a split holds: a balanced data set makes accuracy
# meaningful, since always answering "positive" would score 50%.

# %%
def label_counts(reviews: Reviews) -> dict[str, int]:
    """{"positive": number of label-1 reviews, "negative": number of label-0 reviews}."""
    # HINT: reviews.labels is a numpy array of 0s and 1s; np.sum or np.bincount count them.
    raise NotImplementedError("Exercise 0.2: Count the reviews of each label")


# %% [markdown]
# ## Exercise 0.3 — A tiny model, one forward pass
#
# Build the smallest sentiment model there is: token ids -> `Embedding(vocabulary_size, embedding_dim)`
# -> `GlobalAveragePooling1D` -> `Dense(1, activation="sigmoid")`. Its output is the probability that a
# review is positive, so it must lie in [0, 1] with shape `(batch, 1)`.

# %%
def tiny_model(vocabulary_size: int, embedding_dim: int = 8) -> keras.Model:
    """Embedding -> average over the tokens -> one sigmoid unit."""
    # HINT: keras.Input(shape=(None,), dtype="int32"), then chain the three layers; keras.Model(inputs, outputs).
    raise NotImplementedError("Exercise 0.3: A tiny model, one forward pass")


# %% [markdown]
# ## Try it
# The cells below run when you run this lesson (`python lessons/00_setup.py` or in Jupyter); the
# autograder skips cells tagged `long`. Then grade yourself: `./course grade --lesson 0`. In a notebook
# (`./course lab`), you can also check one exercise right after its cell, on what the kernel holds now:
#
# ```python
# from shared.grading.notebook import check
# check("0.3")  # the checks, points and feedback of `./course grade` for exercise 0.3 alone
# ```

# %% tags=["long"]
# Long: `./course grade` skips this cell (tagged "long"); run it here to see the real run.
print(versions())
imdb = load_imdb()
counts = {"train": label_counts(imdb.train), "test": label_counts(imdb.test)}
print(counts)
figure, axis = plt.subplots(figsize=(5, 3))
for offset, label in ((-0.2, "positive"), (0.2, "negative")):
    axis.bar(np.arange(2) + offset, [counts[split][label] for split in counts], width=0.4, label=label)
axis.set(xticks=[0, 1], xticklabels=list(counts), ylabel="reviews", title="A balanced data set")
axis.legend()
show_and_save(figure, ARTIFACTS / "lesson00" / "label_counts.png")
model = tiny_model(vocabulary_size=100)
model.summary()
print(model(np.array([[5, 17, 42, 0]])))
