"""Fuzzing: the text pipeline and lesson 3's prediction take any Unicode, any length, any batch size without
a crash, with the right types and the same answer twice; malformed model folders and predict-command
inputs, table by table, get a SavedModelError or a usage error, never a traceback.

Hypothesis runs derandomized (the same examples on every run and machine) and keeps no example database.
"""

import io
import json
import re
import shutil
import sys

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import predict_command, text
from shared.prediction import UNREADABLE
from shared.sealed import SavedModelError

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=60)
VOCABULARY_TEXTS = ["a great film", "a dull film", "un film très émouvant", "great great cast", "film"]
# Pieces that reach the pipeline's corners: tags, known and accented words, digits, "_", emoji, full width
PIECES = ["<br />", "<i>", "</i>", "<", ">", "great", "film", "très", "É", "10", "_", " ", "\n", "😀", "这部",
          "\u0301", "\ufb01", "\uff27", "\x00", "\ufffd", "'"]
texts_of_any_kind = st.one_of(
    st.text(max_size=300), st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    st.lists(st.sampled_from(["great", "film", "très", "xyz", "😀"]), min_size=257, max_size=300).map(" ".join))


@pytest.fixture(scope="module")
def tiny(lesson3, one_thread):
    """A tiny untrained lesson-3 model and its vocabulary."""
    vocabulary = text.build_vocabulary(VOCABULARY_TEXTS, max_words=20, min_count=1)
    keras.utils.set_random_seed(0)
    return lesson3.build_fast_lstm(len(vocabulary), embedding_dim=4, units=4, num_layers=1, dropout=0.0), vocabulary


# --------------------------------------------------------------------------- the text pipeline


@FUZZ
@given(texts_of_any_kind)
def test_clean_html_gives_single_spaced_text(review):
    cleaned = text.clean_html(review)
    assert isinstance(cleaned, str) and cleaned == " ".join(cleaned.split()) and cleaned == text.clean_html(review)


@FUZZ
@given(texts_of_any_kind)
def test_words_are_lower_case_runs_of_letters_and_read_the_same_again(review):
    found = text.words(review)
    assert all(isinstance(word, str) and word for word in found)
    assert not any(c.isspace() or c.isdecimal() or c == "_" for word in found for c in word)
    assert text.words(" ".join(found)) == found


@FUZZ
@given(st.lists(texts_of_any_kind, max_size=8), st.integers(1, 40), st.sampled_from(["head", "tail"]))
def test_encode_gives_padded_rows_of_vocabulary_ids(reviews, length, keep):
    vocabulary = text.build_vocabulary(VOCABULARY_TEXTS, max_words=20, min_count=1)
    ids = text.encode(reviews, vocabulary, length, keep)
    assert ids.shape == (len(reviews), length) and ids.dtype == np.int32
    assert ((0 <= ids) & (ids < len(vocabulary))).all()
    counts = (ids != 0).sum(axis=1)
    assert counts.tolist() == [min(len(text.words(review)), length) for review in reviews]
    assert all((row[:count] != 0).all() for row, count in zip(ids, counts))  # padding only at the end
    assert (text.encode(reviews, vocabulary, length, keep) == ids).all()


@FUZZ
@given(st.lists(texts_of_any_kind, max_size=12), st.integers(0, 30), st.integers(1, 4))
def test_build_vocabulary_numbers_frequent_words_after_pad_and_unk(reviews, max_words, min_count):
    vocabulary = text.build_vocabulary(reviews, max_words, min_count)
    assert list(vocabulary.items())[:2] == [("<PAD>", 0), ("<UNK>", 1)]
    assert sorted(vocabulary.values()) == list(range(len(vocabulary))) and len(vocabulary) <= max_words + 2
    counts = {word: sum(text.words(review).count(word) for review in reviews) for word in list(vocabulary)[2:]}
    assert all(count >= min_count for count in counts.values())
    assert text.build_vocabulary(reviews, max_words, min_count) == vocabulary


# --------------------------------------------------------------------------- prediction


@FUZZ
@given(st.lists(texts_of_any_kind, max_size=12), st.integers(1, 300))
def test_prediction_answers_every_text_the_same_way_at_any_batch_size(lesson3, tiny, reviews, batch_size):
    model, vocabulary = tiny
    predictions = lesson3.predict_sentiment(model, vocabulary, reviews, batch_size=batch_size)
    assert len(predictions) == len(reviews)
    for review, prediction in zip(reviews, predictions):
        knows_a_word = any(word in vocabulary for word in text.words(review))
        assert prediction.readable == knows_a_word
        if knows_a_word:
            assert prediction.label in ("positive", "negative") and isinstance(prediction.confidence, float)
            assert 0.5 <= prediction.confidence <= 1 and prediction.reason is None
        else:
            assert (prediction.label, prediction.confidence) == (UNREADABLE, None) and prediction.reason
    again = lesson3.predict_sentiment(model, vocabulary, reviews)  # another batch size, same answers
    assert [p.label for p in again] == [p.label for p in predictions]
    assert np.allclose([p.confidence or 0 for p in again], [p.confidence or 0 for p in predictions], atol=1e-5)


# --------------------------------------------------------------------------- malformed model folders


@pytest.fixture(scope="module")
def saved(lesson3, tiny, tmp_path_factory):
    return lesson3.save_classifier(*tiny, tmp_path_factory.mktemp("fuzz") / "classifier")


def replaced_by_a_folder(path):
    path.unlink()
    path.mkdir()


DAMAGES = {  # what a copy or an editor can do to a file
    "deleted": lambda path: path.unlink(),
    "empty": lambda path: path.write_bytes(b""),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "one byte flipped": lambda path: path.write_bytes(bytes([path.read_bytes()[0] ^ 1]) + path.read_bytes()[1:]),
    "bytes appended": lambda path: path.write_bytes(path.read_bytes() + b"\x00garbage"),
    "random bytes": lambda path: path.write_bytes(np.random.default_rng(0).bytes(4096)),
    "not UTF-8": lambda path: path.write_bytes(b"\xff\xfe{\x00"),
    "JSON null": lambda path: path.write_text("null"),
    "a folder": replaced_by_a_folder,
}


# every file, every damage; but a folder without its manifest loads unchecked (tests/test_prediction.py)
FOLDER_DAMAGES = [(name, damage) for name in ("model.keras", "vocabulary.json", "manifest.json") for damage in DAMAGES
                  if (name, damage) != ("manifest.json", "deleted")]


@pytest.mark.parametrize("name, damage", FOLDER_DAMAGES, ids=[f"{name} {damage}" for name, damage in FOLDER_DAMAGES])
def test_a_damaged_file_of_a_saved_folder_gets_a_saved_model_error(lesson3, saved, tmp_path, name, damage):
    folder = shutil.copytree(saved, tmp_path / "classifier")
    DAMAGES[damage](folder / name)
    with pytest.raises(SavedModelError, match=f"{name}.*save the model again"):
        lesson3.load_classifier(folder)


# --------------------------------------------------------------------------- malformed predict-command input


MALFORMED_INPUT = {  # (arguments, stdin, what the error says)
    "no reviews": ([], b"", "no reviews: give them as arguments"),
    "only blank lines": (["-"], b"\n  \n\r\n", "the input holds only blank lines"),
    "not UTF-8": (["-"], b"great film\n\xff\xfe bad\n",
                  r"stdin, line 2: not UTF-8 text \(byte 0xff, the line's byte 1\)"),
    "JSON that breaks": (["-"], b'{"text": "great"}\n{"text": \n', "stdin, line 2: not JSON"),
    "JSON without text": (["-"], b'{"review": "great"}\n', 'a JSON object with a "text" string, but it has no'),
    "JSON text not a string": (["-"], b'{"text": null}\n', "its text is null"),
    "JSON that is a list": (["-"], b'{"text": "a"}\n["great"]\n', "it is a JSON list"),
    "a missing file": (["--file", "no/such/reviews.txt"], b"", "--file no/such/reviews.txt: No such file"),
    "an unknown model": (["--model", "gpt", "great"], b"", "--model gpt: neither lstm nor bert, nor a folder"),
    "a folder that is no model": (["--model", ".", "great"], b"", "is not a saved model folder"),
    "an undecodable argument": (["great \udcff"], b"", "review 1 is not UTF-8 text"),
}


@pytest.mark.parametrize("arguments, stdin, error", MALFORMED_INPUT.values(), ids=MALFORMED_INPUT.keys())
def test_malformed_command_input_is_a_usage_error_in_one_line(saved, monkeypatch, capsys, arguments, stdin, error):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    status = predict_command.main(["--model", str(saved), *arguments] if "--model" not in arguments else arguments)
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert err.count(f"{predict_command.PROG}: error:") == 1, err
    assert re.search(error, err), err


def test_json_lines_and_plain_lines_read_the_same_reviews():
    plain = list(predict_command.reviews_in(io.BytesIO("\ufeffgreat film\n\n  bad one \r\n".encode()), "x"))
    as_json = list(predict_command.reviews_in(io.BytesIO(b'{"text": "great film"}\n\n{"text": "  bad one "}\n'), "x"))
    assert plain == as_json == ["great film", "  bad one "]
    assert json.loads(json.dumps(plain)) == plain
