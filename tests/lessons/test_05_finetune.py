"""Graded checks of lesson 5: truncation, dynamic padding, the fine-tuned classifier, save and reload."""

import keras
import numpy as np
import pytest

from shared.data import stratified_sample
from shared.encoders import load_encoder

LESSON = "05"
CLS, SEP = 101, 102


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(sequence_length=64)


@pytest.mark.exercise("5.1", points=2)
@pytest.mark.parametrize("strategy, budget, expected", [
    ("head", 4, [0, 1, 2, 3]),
    ("tail", 4, [6, 7, 8, 9]),
    ("head+tail", 4, [0, 7, 8, 9]),
    ("head+tail", 8, [0, 1, 4, 5, 6, 7, 8, 9]),
    ("tail", 12, list(range(10))),
])
def test_select_tokens(lesson, strategy, budget, expected):
    found = lesson.select_tokens(list(range(10)), budget, strategy)
    assert list(found) == expected, f"expected select_tokens(range(10), {budget}, {strategy!r}) == {expected}, " \
                                    f"got {list(found)}"


@pytest.mark.exercise("5.2", points=2)
def test_pack_pads_to_the_longest_in_the_batch(lesson):
    packed = lesson.pack([[7, 8, 9], [5]], CLS, SEP, max_length=128)
    expected = [[CLS, 7, 8, 9, SEP], [CLS, 5, SEP, 0, 0]]
    assert set(packed) == {"token_ids", "segment_ids", "padding_mask"}, f"got keys {sorted(packed)}"
    assert np.asarray(packed["token_ids"]).tolist() == expected, (
        f"expected token_ids {expected} (padded to the longest, not to 128), got {np.asarray(packed['token_ids'])}")
    assert np.asarray(packed["padding_mask"]).tolist() == [[1] * 5, [1, 1, 1, 0, 0]]
    assert not np.asarray(packed["segment_ids"]).any() and np.asarray(packed["token_ids"]).dtype == np.int32


@pytest.mark.exercise("5.2", points=1)
def test_pack_never_exceeds_max_length(lesson):
    packed = lesson.pack([list(range(1000, 1300))], CLS, SEP, max_length=16)
    row = np.asarray(packed["token_ids"])[0].tolist()
    assert len(row) == 16 and row[0] == CLS and row[-1] == SEP, f"expected [CLS] 14 tokens [SEP], got {row}"


@pytest.mark.exercise("5.3", points=1)
def test_classifier_is_two_class_and_compiled(lesson, encoder):
    classifier = lesson.build_classifier(encoder, total_steps=100)
    assert encoder.backbone in classifier.layers, "expected the encoder's backbone inside the model"
    logits = classifier.predict(lesson.pack([[2000, 2001], [2002]], CLS, SEP), verbose=0)
    assert logits.shape == (2, 2), f"expected two logits per review, shape (2, 2), got {logits.shape}"
    optimizer = classifier.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW), f"expected AdamW, got {type(optimizer).__name__}"
    first_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    assert first_rate == 0.0, f"expected the learning rate to start at 0 (warm-up), got {first_rate}"


@pytest.mark.slow
@pytest.mark.exercise("5.3", points=2)
def test_short_fine_tuning_run_learns(lesson, encoder, small_imdb):
    keras.utils.set_random_seed(0)
    train, test = stratified_sample(small_imdb.train, 1_000), stratified_sample(small_imdb.test, 400)
    batches = lesson.ReviewBatches(train.texts, train.labels, encoder, 32, 64, shuffle=True)
    classifier = lesson.build_classifier(encoder, total_steps=len(batches), peak_learning_rate=5e-5)
    classifier.fit(batches, epochs=1, verbose=0)
    predictions = lesson.predict_sentiment(classifier, encoder.preprocessor.tokenizer, test.texts, max_length=64)
    accuracy = np.mean(np.array([label == "positive" for label, _ in predictions]) == test.labels)
    # One epoch on 1,000 reviews (32 steps, length 64): the solution measured 0.71 here; chance is 0.5.
    assert accuracy >= 0.65, f"expected test accuracy >= 0.65 after a short run, got {accuracy:.3f}"


@pytest.mark.exercise("5.4", points=2)
def test_saved_model_and_tokenizer_reload_to_the_same_predictions(lesson, encoder, tmp_path):
    keras.utils.set_random_seed(0)
    classifier = lesson.build_classifier(encoder, total_steps=10)
    texts = ["A wonderful film, I loved it.", "Dull and far too long."]
    before = lesson.predict_sentiment(classifier, encoder.preprocessor.tokenizer, texts, max_length=64)
    folder = lesson.save_finetuned(classifier, encoder, tmp_path / "finetuned")
    reloaded, tokenizer = lesson.load_finetuned(folder)
    after = lesson.predict_sentiment(reloaded, tokenizer, texts, max_length=64)
    assert [label for label, _ in before] == [label for label, _ in after], f"got {before} then {after}"
    assert np.allclose([c for _, c in before], [c for _, c in after], atol=1e-5), f"got {before} then {after}"
    assert all(0.5 <= confidence <= 1 for _, confidence in after), f"expected confidences in [0.5, 1], got {after}"
    assert tokenizer(["Café"]) == encoder.preprocessor.tokenizer(["Café"]), "expected the same tokenizer back"
