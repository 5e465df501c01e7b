"""Text cleaning and word vocabularies for the later lessons, after lesson 1's recipe, with one difference.

Lesson 1's ``clean_review`` keeps the letters a–z, as the reference BiLSTM project does: "café" becomes "caf".
``words`` here keeps runs of letters of any alphabet, after NFKC normalisation, so that "café" stays one word
and the same word written with a combining accent or full-width letters is the same vocabulary entry. The
later lessons' vocabularies and ids come from here.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import numpy as np

PAD, UNK = "<PAD>", "<UNK>"  # ids 0 and 1 in every word vocabulary
# The sample reviews of the reference BiLSTM project, which the lessons and the demo ask their models about: a
# clear positive, a clear negative, and a lukewarm one.
SAMPLE_REVIEWS = ["This movie was absolutely fantastic!", "Terrible waste of time and money.",
                  "It was okay, nothing special."]
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,40}>")
_LETTERS = re.compile(r"[^\W\d_]+")  # runs of letters of any alphabet: \w without digits and "_"


def clean_html(text: str) -> str:
    """Turn the ``<br />`` line breaks of IMDB reviews into spaces and drop any other HTML tag."""
    return " ".join(_TAG.sub(" ", _BREAK.sub(" ", text)).split())


def words(text: str) -> list[str]:
    """Lower-case words of a review, its HTML removed: runs of letters, as in the reference BiLSTM project, but
    of any alphabet ("café" is one word, not "caf"). NFKC first, so that "é" written as "e" plus an accent,
    ligatures ("ﬁ") and full-width letters match the words the vocabulary holds."""
    return _LETTERS.findall(unicodedata.normalize("NFKC", clean_html(text)).lower())


def build_vocabulary(texts: Iterable[str], max_words: int = 10_000, min_count: int = 5) -> dict[str, int]:
    """``<PAD>``=0, ``<UNK>``=1, then the ``max_words`` most frequent words seen ``min_count`` times or more."""
    counts = Counter(word for text in texts for word in words(text))
    frequent = [word for word, count in counts.most_common(max_words) if count >= min_count]
    return {PAD: 0, UNK: 1} | {word: index for index, word in enumerate(frequent, start=2)}


def encode(texts: Iterable[str], vocabulary: dict[str, int], length: int = 256, keep: str = "head") -> np.ndarray:
    """Word ids, padded with 0 at the end: shape (n, length). A longer review keeps its first ``length``
    words (``keep="head"``) or its last ones (``keep="tail"``, where reviews tend to give their verdict)."""
    if keep not in ("head", "tail"):
        raise ValueError(f'keep must be "head" or "tail", got {keep!r}')
    texts = list(texts)
    ids = np.zeros((len(texts), length), dtype=np.int32)
    unknown = vocabulary[UNK]
    for row, text in enumerate(texts):
        kept = words(text)[:length] if keep == "head" else words(text)[-length:]
        ids[row, : len(kept)] = [vocabulary.get(word, unknown) for word in kept]
    return ids
