"""Asking a saved classifier about texts, where every bad input gets an answer that says what is wrong.

- ``checked_texts``: a list of strings, or a TypeError naming the first item that is not one.
- ``Prediction``: "positive" or "negative" with the probability of that label, or UNREADABLE with the reason
  when the text holds no word the model knows (any label would be a guess). ``predict_readable`` asks a
  model about the texts it can read and answers UNREADABLE for the others.
- ``seal`` and ``open_sealed`` (from ``shared.sealed``): a saved model folder records the sha256 of its files in ``manifest.json``, so
  that a model is never loaded with another model's vocabulary or tokenizer, nor from a damaged file.
- ``load_model``, ``read_vocabulary``, ``read_tokenizer``: loading with errors that name the file, say what is
  wrong and how to get a good one. ``load_model`` keeps Keras's safe mode: a file that would run code when
  loaded (a ``Lambda`` layer, a pickled PyTorch module) is refused.
- ``load_predictor``: texts -> predictions with the model a lesson saved (the demo, ``./course predict``).

Import this module after choosing the Keras backend. KerasHub is imported by the functions that read BERT's
tokenizer alone: it loads TensorFlow, which asking the LSTM never needs.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import keras

from shared.sealed import GET_A_GOOD_ONE, SavedModelError, open_sealed, seal  # noqa: F401 (the lessons import them here)
from shared.shown import shown
from shared.text import PAD, UNK, clean_html, words

if TYPE_CHECKING:
    import keras_hub

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


def unknown_wordpieces(tokenizer: keras_hub.tokenizers.WordPieceTokenizer, texts: list[str]) -> list[str | None]:
    """Why a BERT model cannot read each text; None when it can: when one of its words is a WordPiece of its
    own (a word the vocabulary holds whole, with a letter or a digit). Any string of letters splits into known
    pieces ("asdf" is "as ##df"), so known pieces alone do not make a text readable."""
    vocabulary = tokenizer.get_vocabulary()
    unknown = tokenizer.token_to_id("[UNK]")
    continues = [piece.startswith("##") for piece in vocabulary]
    word_like = [not joined and piece != vocabulary[unknown] and any(c.isalnum() for c in piece)
                 for piece, joined in zip(vocabulary, continues)]

    def reason(ids: list[int]) -> str | None:
        whole = [word_like[piece] and not (following is not None and continues[following])
                 for piece, following in zip(ids, [*ids[1:], None])]
        return None if any(whole) else "none of its words is one the model knows" if ids else "it is empty"

    return [reason([int(piece) for piece in ids]) for ids in tokenizer([clean_html(text) for text in texts])]


# --------------------------------------------------------------------------- saved model folders


def load_model(path: str | Path) -> keras.Model:
    """``keras.saving.load_model`` in safe mode, with errors that say what is wrong with the file."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        found = ("there is no such file" if not path.is_file() else
                 "it is empty" if not path.stat().st_size else "it is not even a zip archive")
        raise SavedModelError(f"{path} is not a Keras model file ({found}): it is damaged, or was cut short while "
                              f"being written or copied. {GET_A_GOOD_ONE}")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # a damaged archive fails in zipfile, json, h5py or Keras, each in its own way
        first_sentence = str(error).split(". ")[0].splitlines()[0] if str(error) else type(error).__name__
        if "safe_mode" in str(error):
            raise SavedModelError(
                f"{path} was refused: loading it would run code it carries ({first_sentence}). Keras's safe mode "
                "loads only layers it can rebuild from their settings, and the lessons' models need nothing more: "
                "load only models you saved with the lessons.") from error
        raise SavedModelError(f"{path} cannot be loaded ({type(error).__name__}: {first_sentence}): it is damaged, "
                              f"or not a model the lessons saved. {GET_A_GOOD_ONE}") from error


def read_vocabulary(path: str | Path, model: keras.Model | None = None) -> dict[str, int]:
    """The word vocabulary saved as JSON at ``path``, checked: ``<PAD>`` is 0, ``<UNK>`` 1, the ids are 0 to
    n - 1, each once, and ``model``'s Embedding (if given) reads exactly n ids."""
    path = Path(path)
    try:
        vocabulary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SavedModelError(f"{path} is not a JSON vocabulary ({type(error).__name__}: {error}): it is damaged. "
                              f"{GET_A_GOOD_ONE}") from error
    problem = _vocabulary_problem(vocabulary, model)
    if problem:
        raise SavedModelError(f"{path} {problem}. {GET_A_GOOD_ONE}")
    return vocabulary


def _vocabulary_problem(vocabulary: object, model: keras.Model | None) -> str | None:
    if not isinstance(vocabulary, dict) or not all(type(i) is int for i in vocabulary.values()):
        return "is not a word vocabulary: a JSON object of {word: id} was expected"
    if vocabulary.get(PAD) != 0 or vocabulary.get(UNK) != 1:
        return (f"does not give {PAD} the id 0 and {UNK} the id 1 (it gives them {vocabulary.get(PAD)} and "
                f"{vocabulary.get(UNK)}): it is not a vocabulary of build_vocabulary")
    if sorted(vocabulary.values()) != list(range(len(vocabulary))):
        return f"does not number its {len(vocabulary):,} words from 0 to {len(vocabulary) - 1:,}, each id once"
    embedding = next((layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)), None) \
        if model is not None else None
    if embedding is not None and embedding.input_dim != len(vocabulary):
        return (f"has {len(vocabulary):,} ids but the model's Embedding reads {embedding.input_dim:,}: it is the "
                "vocabulary of another model")
    return None


def read_tokenizer(folder: str | Path, model: keras.Model | None = None) -> keras_hub.models.BertTokenizer:
    """The WordPiece tokenizer saved in ``folder`` (``shared.encoders.tokenizer_from_folder``), checked: its
    files read, and it has as many WordPieces as ``model``'s BERT backbone (if given) embeds."""
    import keras_hub

    from shared.encoders import tokenizer_from_folder

    folder = Path(folder)
    try:
        tokenizer = tokenizer_from_folder(folder)
    except Exception as error:  # damaged files fail in json, in the tokenizer's checks or in TensorFlow Text
        raise SavedModelError(f"the tokenizer saved in {folder} cannot be read ({type(error).__name__}: {error}): "
                              f"vocab.txt or tokenizer_config.json is damaged. {GET_A_GOOD_ONE}") from error
    backbone = next((layer for layer in model.layers if isinstance(layer, keras_hub.models.BertBackbone)), None) \
        if model is not None else None
    if backbone is not None and backbone.vocabulary_size != tokenizer.vocabulary_size():
        raise SavedModelError(f"{folder / 'vocab.txt'} has {tokenizer.vocabulary_size():,} WordPieces but the "
                              f"model embeds {backbone.vocabulary_size:,}: it is the vocabulary of another model. "
                              f"{GET_A_GOOD_ONE}")
    return tokenizer


# --------------------------------------------------------------------------- the lessons' saved models


Predictor = Callable[[list[str]], list[Prediction]]


def load_predictor(module: str, loader: str, folder: str | Path) -> Predictor:
    """texts -> [Prediction] with the model a lesson saved in ``folder``, loaded by ``loader`` of the lesson's
    exported ``module`` (``shared.lessons.lstm``); a SavedModelError says what is wrong with the folder."""
    lesson = importlib.import_module(module)
    model, reader = getattr(lesson, loader)(folder)  # reader: a word vocabulary or a WordPiece tokenizer
    return partial(lesson.predict_sentiment, model, reader)
