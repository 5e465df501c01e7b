"""shared.text (cleaning, vocabularies, ids) and shared.training (curves, BERT's schedule, progress, a run's
record)."""

import keras
import numpy as np
import pytest

from shared import text, training
from shared.training import WarmUpLinearDecay, fit_verbosity, plot_history, run_record, with_progress


def test_clean_html_and_words():
    assert text.clean_html("Great!<br /><br />A <i>gem</i>.") == "Great! A gem ."
    assert text.words("It's GREAT!<br />10/10") == ["it", "s", "great"]


@pytest.mark.parametrize("review, expected", [
    ("Un film TRÈS émouvant", ["un", "film", "très", "émouvant"]),
    ("Straße, Ärger, ñandú", ["straße", "ärger", "ñandú"]),
    ("Фильм отличный", ["фильм", "отличный"]),
    ("这部电影很好看", ["这部电影很好看"]),
    ("cafe\u0301 \ufb01lm \uff27\uff2f\uff2f\uff24", ["café", "film", "good"]),  # decomposed é, "ﬁ", full width
    ("snake_case 2nd x2y ½ ²", ["snake", "case", "nd", "x", "y"]),  # digits and "_" are not letters
])
def test_words_are_runs_of_letters_of_any_alphabet(review, expected):
    assert text.words(review) == expected


def test_an_accented_word_encodes_as_its_vocabulary_id():
    vocabulary = text.build_vocabulary(["très émouvant", "très bon"], max_words=10, min_count=1)
    assert text.encode(["Très émouvant!"], vocabulary, length=3)[0].tolist() == [
        vocabulary["très"], vocabulary["émouvant"], 0]


def test_vocabulary_has_special_ids_then_frequent_words():
    vocabulary = text.build_vocabulary(["b a b", "c b a"], max_words=2, min_count=2)
    assert vocabulary == {"<PAD>": 0, "<UNK>": 1, "b": 2, "a": 3}


@pytest.mark.parametrize("keep, expected", [("head", [2, 3, 1]), ("tail", [1, 2, 3])])
def test_encode_keeps_head_or_tail_and_pads_at_the_end(keep, expected):
    vocabulary = {"<PAD>": 0, "<UNK>": 1, "good": 2, "film": 3}
    ids = text.encode(["good film indeed good film", "good"], vocabulary, length=3, keep=keep)
    assert ids.dtype == np.int32 and ids[0].tolist() == expected and ids[1].tolist() == [2, 0, 0]


def test_encode_rejects_an_unknown_truncation():
    with pytest.raises(ValueError, match='"head" or "tail"'):
        text.encode(["x"], {"<PAD>": 0, "<UNK>": 1}, keep="middle")


def test_warmup_then_linear_decay_and_serialisation():
    schedule = WarmUpLinearDecay(1e-3, warmup_steps=10, total_steps=110)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 5, 10, 60, 110, 200)]
    assert np.allclose(rates, [0, 5e-4, 1e-3, 5e-4, 0, 0])
    assert WarmUpLinearDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="warmup_steps < total_steps"):
        WarmUpLinearDecay(1e-3, 10, 10)


def test_plot_history_writes_a_png_and_a_script_keeps_no_figure_open(tmp_path):
    import matplotlib.pyplot as plt

    path = plot_history({"loss": [0.6, 0.4], "val_loss": [0.5, 0.45], "accuracy": [0.7, 0.8]}, tmp_path / "c.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.get_fignums(), "outside a notebook the figure is closed once saved: nothing would show it"


@pytest.mark.parametrize("ci, verbose", [(None, 1), ("true", 2), ("1", 2), ("false", 1), ("", 1)])
def test_progress_bars_in_a_terminal_or_notebook_one_line_per_epoch_under_ci(monkeypatch, ci, verbose):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert fit_verbosity() == verbose


def test_a_prediction_loop_with_progress_returns_every_prediction_and_counts_the_batches(capsys):
    predict = with_progress(lambda batch: batch * 2, batches=3)
    assert [predict(np.array([value])).tolist() for value in (1, 2, 3)] == [[2], [4], [6]]
    assert "3/3" in capsys.readouterr().out


def test_a_run_record_holds_what_the_benchmark_records():
    history = keras.callbacks.History()
    history.history = {"loss": [0.5, 0.4], "val_accuracy": [0.8, 0.85]}
    record = run_record(history, fit_seconds=120.0, predict_seconds=5.0, predicted=1_000, test_accuracy=np.float64(0.9),
                        probabilities={"test": np.zeros(2)}, prepare_seconds=60.0, epochs_run=2)
    assert record["test_accuracy"] == 0.9 and type(record["test_accuracy"]) is float
    assert record["train_seconds"] == 180.0 and record["infer_reviews_per_s"] == 200.0 and record["epochs_run"] == 2
    assert record["curve"] == [[2.0, 0.8], [3.0, 0.85]]  # minutes of training at the end of each epoch
    assert set(record["probabilities"]) == {"test"}


def test_print_predictions_shows_a_blank_confidence_for_an_unreadable_text(capsys):
    from shared.training import print_predictions

    print_predictions(["Great!", "😀"], [("positive", 0.875), ("unreadable", None)])
    good, unreadable = capsys.readouterr().out.splitlines()
    assert good.split() == ["positive", "87.5%", "Great!"] and unreadable.split() == ["unreadable", "😀"]


@pytest.mark.parametrize("cuda, bf16, policy", [(False, False, "float32"), (True, True, "mixed_bfloat16"),
                                                (True, False, "mixed_float16")])
def test_mixed_precision_only_on_a_gpu(monkeypatch, cuda, bf16, policy):
    import keras
    import torch

    from shared.training import mixed_precision_on_gpu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *_: bf16)
    try:
        assert mixed_precision_on_gpu() == policy == keras.mixed_precision.global_policy().name
    finally:
        keras.mixed_precision.set_global_policy("float32")


def draws() -> list:
    """One number from each generator a seed sets: Keras's (an unseeded keras.random), NumPy's, Python's, PyTorch's."""
    import random

    import torch

    return [keras.ops.convert_to_numpy(keras.random.normal((3,))).tolist(), np.random.rand(2).tolist(),
            random.random(), torch.rand(2).tolist()]


@pytest.mark.parametrize("seed", [0, 7, 2**31 - 1])
def test_set_random_seed_seeds_what_keras_does_but_tensorflow(seed):
    training.set_random_seed(seed)
    ours = draws()
    keras.utils.set_random_seed(seed)
    assert ours == draws()
