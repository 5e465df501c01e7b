"""A saved model's answers about texts, with no Keras to import: what an answer is, the checks every input
gets, and which saved model answers.

- ``checked_texts``: a list of strings, or a TypeError naming the first item that is not one.
- ``Prediction``: "positive" or "negative" with the probability of that label, or UNREADABLE with the reason
  when the text holds no word the model knows (any label would be a guess). ``predict_readable`` asks a
  model about the texts it can read and answers UNREADABLE for the others.
- ``load_predictor``: texts -> predictions with the model a lesson saved (the demo, ``./course predict``).
  Lesson 3's LSTM answers through ONNX Runtime (``shared.onnx_lstm``), so asking it imports no Keras.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path

from shared.shown import shown
from shared.text import clean_html, words

UNREADABLE = "unreadable"  # the label of a text the model cannot read; the others are "positive" and "negative"
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # half of a UTF-16 pair: what undecodable bytes become in a str

# --------------------------------------------------------------------------- texts and predictions


@dataclasses.dataclass(frozen=True)
class Prediction:
    """A model's answer about one text. It unpacks as ``label, confidence``.

    ``label`` is "positive" or "negative" and ``confidence`` the probability of that label (at least 0.5); or
    ``label`` is UNREADABLE, ``confidence`` None, and ``reason`` says why the model cannot read the text."""

    label: str
    confidence: float | None
    reason: str | None = None

    def __iter__(self) -> Iterator:
        return iter((self.label, self.confidence))

    @property
    def readable(self) -> bool:
        return self.label != UNREADABLE


def checked_texts(texts: object) -> list[str]:
    """``texts`` as a list of strings; otherwise a TypeError (a ValueError for a string that is not valid
    Unicode) that names the first item at fault and its type."""
    if isinstance(texts, (str, bytes, bytearray, Mapping)):
        hint = ": pass [text] to ask about one text" if isinstance(texts, str) else ""
        raise TypeError(f"texts must be a list of strings, got {_shown(texts)}{hint}")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a list of strings, got {_shown(texts)}") from None
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            hint = ": decode it first, text.decode('utf-8')" if isinstance(text, (bytes, bytearray)) else ""
            raise TypeError(f"texts[{position}] is {_shown(text)}, not a string{hint}")
        if surrogate := _SURROGATE.search(text):
            raise ValueError(f"texts[{position}] holds {surrogate[0]!r} at character {surrogate.start()}, half of a "
                             "UTF-16 pair, which is not text: decode bytes with errors='replace'")
    return texts


def _shown(value: object) -> str:
    """The start of a value's repr and its type, for error messages."""
    return f"{shown(value, 43)} ({type(value).__name__})"


def predict_readable(texts: object, unreadable: Callable[[list[str]], list[str | None]],
                     classify: Callable[[list[str]], Sequence[tuple[str, float]]]) -> list[Prediction]:
    """A Prediction per text of ``texts`` (checked_texts): ``unreadable`` gives the reason a text cannot be
    read (None when it can); ``classify`` answers ``(label, confidence)`` for the readable ones, all at once."""
    texts = checked_texts(texts)
    reasons = unreadable(texts) if texts else []
    readable = [text for text, reason in zip(texts, reasons) if reason is None]
    answers = list(classify(readable)) if readable else []
    if len(answers) != len(readable):
        raise ValueError(f"classify gave {len(answers)} answers for {len(readable)} texts: one (label, confidence) "
                         "per text, in order")
    in_order = iter(answers)
    return [Prediction(UNREADABLE, None, reason) if reason else _answer(*next(in_order)) for reason in reasons]


def _answer(label: str, confidence: float) -> Prediction:
    return Prediction(label, float(confidence))


def unknown_words(vocabulary: Mapping[str, int], texts: list[str]) -> list[str | None]:
    """Why a model that reads the words of ``vocabulary`` cannot read each text; None when it can."""
    return [_unknown_words(text, vocabulary) for text in texts]


def _unknown_words(text: str, vocabulary: Mapping[str, int]) -> str | None:
    found = words(text)
    if any(word in vocabulary for word in found):
        return None
    if found:
        return f"none of its words is among the {len(vocabulary) - 2:,} words the model knows"
    return "it is empty" if not clean_html(text) else "it has no words: only digits, punctuation or symbols"


# --------------------------------------------------------------------------- the lessons' saved models


Predictor = Callable[[list[str]], list[Prediction]]


def load_predictor(module: str, loader: str, folder: str | Path) -> Predictor:
    """texts -> [Prediction] with the model a lesson saved in ``folder``, loaded by ``loader`` of the lesson's
    exported ``module`` (``shared.lessons.lstm``); a SavedModelError says what is wrong with the folder. A
    sealed LSTM folder answers through ONNX Runtime (exported once, the first time it is asked)."""
    from shared import onnx_lstm  # which imports this module

    if module == onnx_lstm.LESSON and onnx_lstm.can_answer(folder):
        return onnx_lstm.onnx_predictor(folder)
    lesson = importlib.import_module(module)
    model, reader = getattr(lesson, loader)(folder)  # reader: a word vocabulary or a WordPiece tokenizer
    return partial(lesson.predict_sentiment, model, reader)
