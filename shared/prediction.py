"""Loading the lessons' saved models with Keras, where every bad file gets an answer that says what is wrong.

- ``seal`` and ``open_sealed`` (from ``shared.sealed``): a saved model folder records the sha256 of its files in
  ``manifest.json``, so that a model is never loaded with another model's vocabulary or tokenizer, nor from a
  damaged file.
- ``load_model``, ``read_vocabulary``, ``read_tokenizer``: loading with errors that name the file, say what is
  wrong and how to get a good one. ``load_model`` keeps Keras's safe mode: a file that would run code when
  loaded (a ``Lambda`` layer, a pickled PyTorch module) is refused.
- ``unknown_wordpieces``: why a BERT model cannot read a text. The answers themselves (``Prediction``,
  ``predict_readable``, ``unknown_words``, ``load_predictor``) are ``shared.answers``', importable from here too.

Import this module after choosing the Keras backend. KerasHub is imported by the functions that read BERT's
tokenizer alone: it loads TensorFlow, which asking the LSTM never needs.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import keras

# The lessons and the course import these from here too
from shared.answers import (UNREADABLE, Prediction, Predictor, checked_texts, load_predictor,  # noqa: F401
                            predict_readable, unknown_words)
from shared.sealed import GET_A_GOOD_ONE, SavedModelError, open_sealed, seal  # noqa: F401
from shared.text import PAD, UNK, clean_html

if TYPE_CHECKING:
    import keras_hub

# --------------------------------------------------------------------------- texts


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
