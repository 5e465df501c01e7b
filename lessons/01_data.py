# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 — The data: reviews, words and ids
#
# You will: load the official IMDB split and check its balance, look at review lengths and a few
# reviews, clean the text, build a word vocabulary from the training split only, and turn every review
# into a fixed-length row of word ids — the input of the LSTM in lesson 3.
#
# Time: the script runs in 15 seconds. Graded: exercises 1.1–1.5 (`./course grade --lesson 1`).
#
# The data is the Large Movie Review Dataset (Maas et al., 2011): 25,000 training and 25,000 test
# reviews, each labelled positive (rating 7–10) or negative (rating 1–4), half of each in each split.

# %%
import os

os.environ["KERAS_BACKEND"] = "torch"  # this lesson does not train; later lessons share its backend

import re
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from shared.data import Imdb, Reviews, load_imdb

OUTPUT = Path("artifacts/lesson01")

# %% [markdown]
# ## Exercise 1.1 — Describe a split
#
# Before modelling, count: how many reviews, how many of each label, and how many still carry HTML
# line breaks (`<br />`), which a tokenizer would otherwise read as the word "br".

# %%
def describe_split(reviews: Reviews) -> dict[str, int]:
    """{"reviews": ..., "positive": ..., "negative": ..., "with_html_breaks": ...} for one split."""
    # HINT: labels are 1 (positive) and 0 (negative); count texts containing "<br />".
    raise NotImplementedError("Exercise 1.1: Describe a split")


# %% [markdown]
# ## Exercise 1.2 — Clean a review
#
# Seed 004's LSTM reads lower-case words only: turn every `<br />` (and any other HTML tag) into a space,
# lower-case the text, replace everything that is not a letter `a`–`z` by a space, and collapse runs of
# spaces into one. `"Great!<br /><br />10/10"` becomes `"great"`.

# %%
def clean_review(text: str) -> str:
    """Lower-case letters and single spaces only; HTML tags removed."""
    # HINT: re.sub(r"<[^>]*>", " ", text), then .lower(), then re.sub(r"[^a-z]+", " ", ...), then strip.
    raise NotImplementedError("Exercise 1.2: Clean a review")


# %% [markdown]
# ## Exercise 1.3 — How long are reviews?
#
# A model reads a fixed number of tokens, so we need to know how long reviews are. Count the words of
# each cleaned review.

# %%
def review_lengths(texts: list[str]) -> np.ndarray:
    """Number of words of each cleaned review, as an int array."""
    # HINT: clean_review(text).split() gives the words.
    raise NotImplementedError("Exercise 1.3: How long are reviews?")


# %% [markdown]
# ## Exercise 1.4 — A vocabulary from the training split
#
# Map words to ids: `<PAD>` is 0 (filler after short reviews), `<UNK>` is 1 (any word not in the
# vocabulary), then the `max_words` most frequent words that occur at least `min_count` times, most
# frequent first (ties in order of first appearance, as `Counter.most_common` gives them).
# Seed 004 uses 10,000 words with a minimum count of 5: 10,002 ids in all.

# %%
def build_vocabulary(texts: list[str], max_words: int = 10_000, min_count: int = 5) -> dict[str, int]:
    """{"<PAD>": 0, "<UNK>": 1, most frequent word: 2, ...}."""
    # HINT: collections.Counter over the words of every cleaned text; .most_common(max_words).
    raise NotImplementedError("Exercise 1.4: A vocabulary from the training split")


# %% [markdown]
# ## Exercise 1.5 — Reviews as rows of ids
#
# Build the vocabulary from the **training** texts only (the test split must stay unseen, or the
# evaluation would flatter the model), then encode both splits: each review becomes its first `length`
# word ids, unknown words as `<UNK>`, padded with `<PAD>` at the end, as an `int32` matrix.

# %%
def vectorize_splits(imdb: Imdb, max_words: int = 10_000, min_count: int = 5,
                     length: int = 256) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """(vocabulary, train ids of shape (n_train, length), test ids of shape (n_test, length))."""
    # HINT: one helper that encodes a list of texts; np.zeros((n, length), dtype=np.int32) to start from.
    raise NotImplementedError("Exercise 1.5: Reviews as rows of ids")


# %% [markdown]
# ## Look at the data
# Run the lesson (`python solutions/01_data.py`, or your own `lessons/01_data.py`) to see the numbers.
# The course keeps its own copy of this cleaning and encoding in `shared/text.py`; lesson 3 uses it.

# %% tags=["long"]
imdb = load_imdb()
for name, split in (("train", imdb.train), ("test", imdb.test)):
    print(name, describe_split(split))
for label, text in zip(imdb.train.labels[[0, -1]], [imdb.train.texts[0], imdb.train.texts[-1]]):
    print(f"\nlabel {label}: {text[:300]}...")

# %% tags=["long"]
lengths = review_lengths(imdb.train.texts)
print(f"words per review: median {np.median(lengths):.0f}, 90th percentile {np.percentile(lengths, 90):.0f}, "
      f"longest {lengths.max()}; {np.mean(lengths <= 256):.0%} fit in 256 words")
OUTPUT.mkdir(parents=True, exist_ok=True)
plt.hist(np.minimum(lengths, 1000), bins=50)
plt.axvline(256, color="red", linestyle="--", label="length 256")
plt.xlabel("words per review (clipped at 1,000)")
plt.ylabel("reviews")
plt.legend()
plt.savefig(OUTPUT / "review_lengths.png", dpi=100)

# %% tags=["long"]
vocabulary, train_ids, test_ids = vectorize_splits(imdb)
print(f"vocabulary: {len(vocabulary):,} ids; train ids {train_ids.shape} {train_ids.dtype}, "
      f"test ids {test_ids.shape}")
print(f"unknown words in the test split: {np.mean(test_ids[test_ids > 0] == 1):.1%} of its tokens")
