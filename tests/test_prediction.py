"""Prediction and saved models: every bad input gets an answer that says what is wrong, or a right result.

Lessons 3 and 5 are asked through their reference solutions, as the demo and ./course predict ask them."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import torch

from shared.encoders import load_encoder
from shared.prediction import (UNREADABLE, Prediction, checked_texts, load_model, predict_readable, read_tokenizer,
                               read_vocabulary)
from shared.sealed import MANIFEST, SavedModelError, UnsealedFolderWarning, check_recorded, open_sealed
from shared.text import build_vocabulary

TRAINING_TEXTS = ["a great film", "a dull film", "un film très émouvant", "great great cast"]


@pytest.fixture(scope="module")
def saved(lesson3, one_thread, tmp_path_factory):
    """A tiny untrained lesson-3 classifier, saved by the lesson."""
    vocabulary = build_vocabulary(TRAINING_TEXTS, max_words=20, min_count=1)
    keras.utils.set_random_seed(0)
    model = lesson3.build_fast_lstm(len(vocabulary), embedding_dim=4, units=4, num_layers=1, dropout=0.0)
    return lesson3.save_classifier(model, vocabulary, tmp_path_factory.mktemp("saved") / "classifier")


@pytest.fixture(scope="module")
def loaded(lesson3, saved):
    return lesson3.load_classifier(saved)


@pytest.fixture
def copy(saved, tmp_path):
    """A copy of the saved folder to damage."""
    return shutil.copytree(saved, tmp_path / "classifier")


def refusal(load, folder) -> str:
    with pytest.raises(SavedModelError) as refused:
        load(folder)
    return str(refused.value)


# --------------------------------------------------------------------------- what texts are


def test_a_bare_string_is_refused_not_read_letter_by_letter(lesson3, loaded):
    with pytest.raises(TypeError, match=r"got 'A great film' \(str\): pass \[text\]"):
        lesson3.predict_sentiment(*loaded, "A great film")


def test_an_empty_list_gets_no_predictions(lesson3, loaded):
    assert lesson3.predict_sentiment(*loaded, []) == []


@pytest.mark.parametrize("item, named", [(None, r"texts\[1\] is None \(NoneType\)"),
                                         (b"great", r"texts\[1\] is b'great' \(bytes\).*decode it"),
                                         (7, r"texts\[1\] is 7 \(int\)")])
def test_an_item_that_is_not_a_string_is_named_by_position_and_type(lesson3, loaded, item, named):
    with pytest.raises(TypeError, match=named):
        lesson3.predict_sentiment(*loaded, ["a great film", item])


@pytest.mark.parametrize("texts", [None, 3, {"text": "a great film"}], ids=["None", "int", "dict"])
def test_texts_that_are_not_a_list_are_refused(texts):
    with pytest.raises(TypeError, match="texts must be a list of strings"):
        checked_texts(texts)


def test_a_string_with_a_lone_surrogate_is_named():
    with pytest.raises(ValueError, match=r"texts\[0\] holds '\\udcff' at character 5"):
        checked_texts(["great\udcff"])


def test_any_iterable_of_strings_is_a_list_of_texts():
    assert checked_texts(("a", "b")) == ["a", "b"] and checked_texts(np.array(["a"])) == ["a"]


def test_a_prediction_unpacks_as_label_and_confidence():
    label, confidence = Prediction("positive", 0.75)
    assert (label, confidence) == ("positive", 0.75) and Prediction("positive", 0.75).readable
    assert not Prediction(UNREADABLE, None, "it is empty").readable


def test_classify_must_answer_once_per_readable_text():
    with pytest.raises(ValueError, match="classify gave 1 answers for 2 texts"):
        predict_readable(["a", "b"], lambda texts: [None] * len(texts), lambda texts: [("positive", 0.9)])


# --------------------------------------------------------------------------- what the LSTM can read


UNREADABLE_TEXTS = {"empty": "", "spaces and HTML": "  <br /> ", "emoji": "😀😀😀",
                    "Chinese": "这部电影很好看",
                    "binary garbage": bytes([*range(32), *range(128, 256)]).decode("utf-8", errors="replace"),
                    "digits": "10/10", "unknown words": "xyzzy plugh"}


@pytest.mark.parametrize("text", UNREADABLE_TEXTS.values(), ids=UNREADABLE_TEXTS.keys())
def test_a_text_without_a_known_word_is_unreadable_with_a_reason(lesson3, loaded, text):
    readable, unreadable = lesson3.predict_sentiment(*loaded, ["a great film", text])
    assert readable.label in ("positive", "negative") and 0.5 <= readable.confidence <= 1
    assert (unreadable.label, unreadable.confidence) == (UNREADABLE, None) and unreadable.reason


def test_unreadable_texts_keep_their_place_among_the_others(lesson3, loaded):
    texts = ["a great film", "", "a dull film", "😀", "great cast"]
    together = lesson3.predict_sentiment(*loaded, texts)
    alone = [lesson3.predict_sentiment(*loaded, [text])[0] for text in texts]
    assert [p.label for p in together] == [p.label for p in alone]
    assert np.allclose([p.confidence or 0 for p in together], [p.confidence or 0 for p in alone], atol=1e-6)


def test_an_accented_word_is_read_as_one_word(lesson3, loaded):
    model, vocabulary = loaded
    assert "émouvant" in vocabulary and "très" in vocabulary
    (prediction,) = lesson3.predict_sentiment(model, vocabulary, ["Très émouvant."])
    assert prediction.readable


def test_predictions_are_the_same_for_any_batch_size(lesson3, loaded):
    texts = [" ".join(["great", "film", "a", "dull"][: 1 + i % 4] * (1 + i % 7)) for i in range(40)]
    answers = [lesson3.predict_sentiment(*loaded, texts, batch_size=size) for size in (1, 7, 256)]
    confidences = np.array([[p.confidence for p in answer] for answer in answers])
    assert np.allclose(confidences, confidences[0], atol=1e-5)


def test_predictions_come_in_length_sorted_batches_of_256(lesson3, loaded, monkeypatch):
    model, vocabulary = loaded
    lengths = []
    predict_on_batch = model.predict_on_batch
    monkeypatch.setattr(model, "predict_on_batch",
                        lambda ids: lengths.append((ids != 0).sum(axis=1).tolist()) or predict_on_batch(ids))
    lesson3.predict_sentiment(model, vocabulary, ["a great film", "great"] * 300)
    assert [len(batch) for batch in lengths] == [256, 256, 88]  # not Keras's 32 at a time
    assert sum(lengths, []) == sorted(sum(lengths, []))  # each batch is cut to its longest review


# --------------------------------------------------------------------------- saved folders


def test_a_saved_folder_is_sealed_and_reloads_to_the_same_predictions(lesson3, saved, loaded):
    assert set(json.loads((saved / MANIFEST).read_text())["sha256"]) == {"model.keras", "vocabulary.json"}
    model, vocabulary = lesson3.load_classifier(saved)
    assert lesson3.predict_sentiment(model, vocabulary, TRAINING_TEXTS) == lesson3.predict_sentiment(*loaded,
                                                                                                   TRAINING_TEXTS)


@pytest.mark.parametrize("damage", [lambda data: data[: len(data) // 2], lambda data: bytes(len(data)),
                                    lambda data: b""], ids=["truncated", "zeros", "empty"])
def test_a_damaged_model_file_is_called_damaged(lesson3, copy, damage):
    path = copy / "model.keras"
    path.write_bytes(damage(path.read_bytes()))
    message = refusal(lesson3.load_classifier, copy)
    assert "model.keras is not what was saved with vocabulary.json" in message and "save the model again" in message
    (copy / MANIFEST).unlink()  # unsealed, the file itself says what is wrong
    with pytest.warns(UnsealedFolderWarning):
        message = refusal(lesson3.load_classifier, copy)
    assert "is not a Keras model file" in message and "File not found" not in message


def test_a_vocabulary_that_is_not_json_is_refused(lesson3, copy):
    (copy / "vocabulary.json").write_text('{"<PAD>": 0, "<UNK>": 1, "grea')
    assert "vocabulary.json is not what was saved with model.keras" in refusal(lesson3.load_classifier, copy)
    with pytest.raises(SavedModelError, match="is not a JSON vocabulary"):
        read_vocabulary(copy / "vocabulary.json")


def reordered(vocabulary: dict) -> dict:
    words = list(vocabulary)[2:]
    return {"<PAD>": 0, "<UNK>": 1} | {word: index for index, word in enumerate(reversed(words), start=2)}


@pytest.mark.parametrize("change, unsealed_refusal", [
    (reordered, None),  # only the seal can tell a reordered vocabulary
    (lambda vocabulary: {word: i for word, i in vocabulary.items() if word != "<UNK>"}, "does not give <PAD>"),
    (lambda vocabulary: build_vocabulary(["another corpus entirely"], min_count=1), "the vocabulary of another model"),
], ids=["reordered", "without <UNK>", "of another model"])
def test_a_vocabulary_that_does_not_belong_to_the_model_is_refused(lesson3, saved, copy, change, unsealed_refusal):
    vocabulary = json.loads((saved / "vocabulary.json").read_text())
    (copy / "vocabulary.json").write_text(json.dumps(change(vocabulary)))
    assert "vocabulary.json is not what was saved" in refusal(lesson3.load_classifier, copy)
    if unsealed_refusal:
        model = load_model(copy / "model.keras")
        with pytest.raises(SavedModelError, match=unsealed_refusal):
            read_vocabulary(copy / "vocabulary.json", model)


def test_a_folder_without_a_manifest_loads_with_a_warning(lesson3, copy, loaded):
    (copy / MANIFEST).unlink()
    with pytest.warns(UnsealedFolderWarning, match="save the model again to seal them"):
        model, vocabulary = lesson3.load_classifier(copy)
    assert vocabulary == loaded[1]


@pytest.mark.parametrize("missing", ["vocabulary.json", "model.keras"])
def test_a_missing_file_is_named(lesson3, copy, missing):
    (copy / missing).unlink()
    assert f"has no {missing}" in refusal(lesson3.load_classifier, copy)


@pytest.mark.parametrize("change", ["vocabulary.json", "model.keras", None])
def test_the_check_without_a_list_of_files_reads_the_manifests(copy, change):
    """check_recorded, the demo's check before it starts, refuses what open_sealed refuses and passes the rest."""
    if change:
        (copy / change).write_bytes((copy / change).read_bytes()[:-1])
        assert f"{change} is not what was saved" in refusal(check_recorded, copy)
    else:
        check_recorded(copy)
        (copy / MANIFEST).unlink()  # unsealed: left to the loader, which warns
        check_recorded(copy)


def test_a_missing_folder_is_named(lesson3, tmp_path):
    assert "is not a folder" in refusal(lesson3.load_classifier, tmp_path / "nowhere")


def test_a_damaged_manifest_is_named(lesson3, copy):
    (copy / MANIFEST).write_text("{not json")
    assert f"{MANIFEST} is damaged" in refusal(lesson3.load_classifier, copy)


def lambda_model() -> keras.Model:
    ids = keras.Input(shape=(3,))
    return keras.Model(ids, keras.layers.Lambda(lambda x: x * 2)(ids))


def torch_module_model() -> keras.Model:
    inputs = keras.Input(shape=(3,))
    return keras.Model(inputs, keras.layers.TorchModuleWrapper(torch.nn.Linear(3, 1), output_shape=(None, 1))(inputs))


@pytest.mark.parametrize("build, what", [(lambda_model, "Lambda"), (torch_module_model, "torch.nn.Module")],
                         ids=["Lambda layer", "pickled PyTorch module"])
def test_a_model_file_that_would_run_code_is_refused(tmp_path, build, what):
    path = tmp_path / "model.keras"
    build().save(path)
    with pytest.raises(SavedModelError, match=f"was refused: loading it would run code.*{what}"):
        load_model(path)


# --------------------------------------------------------------------------- lesson 5's BERT


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    """Lesson 5, a folder it saved with an untrained head on the pretrained encoder, and what it loads back."""
    from shared.lessons import finetune as lesson

    encoder = load_encoder(sequence_length=32)
    keras.utils.set_random_seed(0)
    folder = lesson.save_finetuned(lesson.build_classifier(encoder, total_steps=10), encoder,
                                   tmp_path_factory.mktemp("bert") / "classifier")
    return lesson, folder, lesson.load_finetuned(folder)


@pytest.mark.slow
def test_bert_answers_unreadable_texts_and_refuses_bad_input(bert):
    lesson, _, (classifier, tokenizer) = bert
    texts = ["A wonderful film.", "", "😀😀", "asdfgh qwerty", "Un film très émouvant.", "10/10"]
    labels = [prediction.label for prediction in lesson.predict_sentiment(classifier, tokenizer, texts)]
    assert labels[1:4] == [UNREADABLE] * 3 and UNREADABLE not in labels[:1] + labels[4:]
    assert lesson.predict_sentiment(classifier, tokenizer, []) == []
    with pytest.raises(TypeError, match=r"pass \[text\]"):
        lesson.predict_sentiment(classifier, tokenizer, "A wonderful film.")
    with pytest.raises(TypeError, match=r"texts\[0\] is None"):
        lesson.predict_sentiment(classifier, tokenizer, [None])


@pytest.mark.slow
def test_bert_refuses_a_tokenizer_that_is_not_its_own(bert, tmp_path):
    lesson, saved, (classifier, _) = bert
    copy = shutil.copytree(saved, tmp_path / "classifier")
    with (copy / "vocab.txt").open("a", encoding="utf-8") as vocabulary:
        vocabulary.write("[unused-extra]\n")
    assert "vocab.txt is not what was saved" in refusal(lesson.load_finetuned, copy)
    with pytest.raises(SavedModelError, match="has 30,523 WordPieces but the model embeds 30,522"):
        read_tokenizer(copy, classifier)
    (copy / "tokenizer_config.json").write_text("{do_lower_case: true")
    with pytest.raises(SavedModelError, match="tokenizer saved in .* cannot be read .*JSONDecodeError"):
        read_tokenizer(copy)


@pytest.mark.parametrize("manifest", ["a named pipe", "a link to /dev/zero", "a gigabyte"])
def test_a_manifest_that_is_no_small_file_is_refused_at_once(manifest, tmp_path):
    (tmp_path / "model.keras").write_bytes(b"weights")
    path = tmp_path / MANIFEST
    if manifest == "a named pipe":
        os.mkfifo(path)
    elif manifest == "a link to /dev/zero":
        path.symlink_to("/dev/zero")
    else:
        with open(path, "wb") as file:
            file.truncate(2**30)  # sparse: no gigabyte written
    with pytest.raises(SavedModelError, match="is not a regular file|is damaged: 1,073,741,824 bytes"):
        open_sealed(tmp_path, ["model.keras"])
