"""Lesson 3's saved classifier answered by ONNX Runtime, with no Keras and no PyTorch to import: ``./course predict``
answers in about a second, where importing Keras alone takes ten or more.

``export_onnx`` (which needs Keras and PyTorch) has Keras export the saved model to ``model.onnx`` beside it,
checks that the graph gives the Keras model's logits on drawn batches, and seals the three files together. A
folder saved again (``save_classifier`` seals its own two files) or a ``model.onnx`` that is not the one exported
is exported again before it answers. ``onnx_predictor`` answers as ``shared.lessons.lstm.predict_sentiment`` does,
with its length and end of a review kept, which the export writes into the graph.

    python -m shared.onnx_lstm [FOLDER]     # export now (./course train does, after training)
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from shared.answers import Prediction, Predictor, predict_readable, unknown_words
from shared.sealed import MANIFEST, SavedModelError, open_sealed, seal
from shared.text import encode

LESSON = "shared.lessons.lstm"  # the exported module whose saved classifier this answers for
CLASSIFIER_FILES = ("model.keras", "vocabulary.json")  # lesson 3's, sealed together (the lesson imports Keras)
ONNX_FILE = "model.onnx"
BATCH = 256  # reviews per run of the graph, sorted by length: each batch is padded to its own longest review
TOLERANCE = 1e-3  # the largest logit difference from Keras accepted: float32 sums taken in another order


def can_answer(folder: str | Path) -> bool:
    """Whether ONNX Runtime is installed and ``folder`` is sealed; an unsealed folder (saved before folders were
    sealed) is left to Keras, which loads it with a warning."""
    return importlib.util.find_spec("onnxruntime") is not None and (Path(folder) / MANIFEST).is_file()


def onnx_predictor(folder: str | Path) -> Predictor:
    """texts -> [Prediction] from ``folder/model.onnx`` and its vocabulary, exported first when the folder holds
    no graph sealed with its model; a SavedModelError says what is wrong with the folder."""
    folder = Path(folder)
    open_sealed(folder, CLASSIFIER_FILES)  # a damaged model or vocabulary is refused, exported or not
    try:
        open_sealed(folder, (ONNX_FILE,))
    except SavedModelError:  # never exported, the model saved again since, or a graph from elsewhere
        print(f"exporting {folder / ONNX_FILE} for ONNX Runtime, once (Keras loads the model this time)",
              file=sys.stderr)
        export_onnx(folder)
    import onnxruntime

    session = onnxruntime.InferenceSession(folder / ONNX_FILE, providers=["CPUExecutionProvider"])
    settings = session.get_modelmeta().custom_metadata_map
    # Sealed with the graph, so checked against the model when it was exported.
    vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    return partial(_predict, session, vocabulary, int(settings["length"]), settings["keep"])


def _predict(session, vocabulary: dict[str, int], length: int, keep: str, texts: list[str]) -> list[Prediction]:
    return predict_readable(texts, partial(unknown_words, vocabulary),
                            partial(_classify, session, vocabulary, length, keep))


def _classify(session, vocabulary: dict[str, int], length: int, keep: str,
              texts: list[str]) -> list[tuple[str, float]]:
    ids = encode(texts, vocabulary, length, keep)
    lengths = np.count_nonzero(ids, axis=1)
    order = np.argsort(lengths, kind="stable")
    logits = np.empty(len(texts), dtype=np.float32)
    for rows in np.split(order, range(BATCH, len(order), BATCH)):
        width = max(1, int(lengths[rows].max()))
        logits[rows] = session.run(None, {"token_ids": ids[rows, :width]})[0][:, 0]
    probabilities = 1 / (1 + np.exp(-logits))
    return [("positive", float(p)) if p >= 0.5 else ("negative", float(1 - p)) for p in probabilities]


def export_onnx(folder: str | Path) -> Path:
    """Export lesson 3's classifier saved in ``folder`` to ``folder/model.onnx``, check it against the Keras
    model on drawn batches, and seal the three files together; return the ONNX file."""
    import keras
    import onnx
    import onnxruntime

    lesson = importlib.import_module(LESSON)
    model, vocabulary = lesson.load_classifier(folder)
    folder, batches = Path(folder), drawn_batches(len(vocabulary))
    partial_file = folder / f".{ONNX_FILE}.partial"  # a crash leaves no model.onnx half-written
    signature = [keras.InputSpec(shape=(None, None), dtype="int32", name="token_ids")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python values it keeps as they are
        model.export(partial_file, format="onnx", input_signature=signature, verbose=False)
    graph = onnx.load(partial_file)
    defaults = inspect.signature(lesson.predict_sentiment).parameters
    onnx.helper.set_model_props(graph, {"length": str(defaults["length"].default), "keep": defaults["keep"].default})
    onnx.save(graph, partial_file)
    session = onnxruntime.InferenceSession(partial_file, providers=["CPUExecutionProvider"])
    for batch in batches:
        expected = keras.ops.convert_to_numpy(model(batch, training=False))
        difference = np.abs(session.run(None, {"token_ids": batch})[0] - expected).max()
        if not difference <= TOLERANCE:
            partial_file.unlink()
            raise RuntimeError(f"the ONNX graph of {folder} gives logits {difference:.2g} away from the Keras model's "
                               f"on a batch of {batch.shape[0]} reviews of up to {batch.shape[1]} words: not kept")
    os.replace(partial_file, folder / ONNX_FILE)
    seal(folder, (*CLASSIFIER_FILES, ONNX_FILE))
    return folder / ONNX_FILE


def drawn_batches(vocabulary_size: int, seed: int = 0) -> list[np.ndarray]:
    """Batches of word ids as the classifier reads them (padded with 0 at the end), of drawn sizes, widths and
    review lengths, the longest review of each as wide as the batch; one review of one word among them."""
    rng = np.random.default_rng(seed)
    batches = []
    for size, width in ((1, 1), (3, 7), (17, 64), (40, 300)):
        ids = rng.integers(1, vocabulary_size, size=(size, width), dtype=np.int32)
        lengths = rng.integers(1, width + 1, size=size)
        lengths[0] = width
        ids[np.arange(width) >= lengths[:, None]] = 0
        batches.append(ids)
    return batches


def main(argv: list[str] | None = None) -> int:
    from shared.predict_command import COURSE_ROOT, SAVED_MODELS

    folders = (argv if argv is not None else sys.argv[1:]) or [COURSE_ROOT / SAVED_MODELS["lstm"][2]]
    os.environ.setdefault("KERAS_BACKEND", "torch")
    for folder in map(Path, folders):
        try:
            print(f"{export_onnx(folder)}: the classifier for ONNX Runtime (./course predict), checked against Keras")
        except SavedModelError as error:
            print(f"python -m shared.onnx_lstm: error: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
