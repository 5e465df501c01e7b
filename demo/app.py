"""A web page that classifies a movie review with the models the lessons saved.

    ./course demo                       # after ./course train; serves http://127.0.0.1:7860
    python -m demo.app --lstm artifacts/lesson03/classifier --bert artifacts/lesson05/classifier

Every saved model it finds answers, each with its label and confidence, so learners can compare the
LSTM of lesson 3 with the fine-tuned BERT of lesson 5 on their own sentences. The page is served at once: the
models load meanwhile (Keras takes seconds to import), and the first review waits for them.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("KERAS_BACKEND", "torch")  # both saved models are Keras models on PyTorch
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the page makes no calls outside this machine

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from demo.known_functions import KnownFunctions  # noqa: E402
from demo.same_origin import SameOrigin, served_hosts  # noqa: E402
from shared.predict_command import SAVED_MODELS  # noqa: E402
from shared.sealed import SavedModelError, check_recorded  # noqa: E402
from shared.text import SAMPLE_REVIEWS  # noqa: E402

if TYPE_CHECKING:
    from shared.answers import Predictor

# title on the page -> (the lesson's exported module, its loading function, where the lesson saves the model, the command that makes it)
MODELS = {"BiLSTM (lesson 3)": SAVED_MODELS["lstm"], "fine-tuned BERT (lesson 5)": SAVED_MODELS["bert"]}
MAX_REVIEW_CHARS = 20_000  # the longest IMDB review has about 14,000
MAX_UPLOAD_BYTES = 0  # the page has no file input, so Gradio's upload route takes no bytes at all
# seconds: hourly, Gradio deletes the page's temporary files older than an hour, and all of them when it stops
CACHE_SWEEP = (3600, 3600)


def classify(predictors: Mapping[str, Predictor], text: str) -> dict[str, float] | str | list[dict[str, float] | str]:
    """One {label: probability} per model, as gradio's Label shows it, or why the model cannot read the text."""
    if not text or not text.strip():
        raise gr.Error("Type or paste a review first.")
    if len(text) > MAX_REVIEW_CHARS:
        raise gr.Error(f"This review has {len(text):,} characters; the page takes at most {MAX_REVIEW_CHARS:,}.")
    answers = []
    for predict in predictors.values():
        prediction = predict([text])[0]
        if not prediction.readable:  # any label would be a guess: say why instead
            answers.append(f"cannot read it: {prediction.reason}")
            continue
        other = "negative" if prediction.label == "positive" else "positive"
        answers.append({prediction.label: prediction.confidence, other: 1.0 - prediction.confidence})
    return answers if len(answers) > 1 else answers[0]  # gradio wants a bare value for one output


def not_trained(predictors: Mapping[str, Predictor]) -> str:
    """A sentence naming each of the course's models that does not answer here, with the command that trains it."""
    missing = [f"{name} (train it: `{MODELS[name][3]}`)" for name in MODELS if name not in predictors]
    return f"Not trained yet, so not asked: {', '.join(missing)}." if missing else ""


def build_demo(predictors: Mapping[str, Predictor]) -> gr.Interface:
    return gr.Interface(
        fn=partial(classify, predictors), inputs=gr.Textbox(lines=6, label="A movie review"),
        outputs=[gr.Label(label=name) for name in predictors], examples=[[review] for review in SAMPLE_REVIEWS],
        title="IMDB sentiment", flagging_mode="never", api_name="classify", delete_cache=CACHE_SWEEP,
        description=" ".join(filter(None, ["Positive or negative? Each model the course trained answers.",
                                           not_trained(predictors)])))


def serve(page: gr.Blocks, host: str, port: int, **options) -> None:
    """Gradio's server for ``page``, refusing the uploads the page has no use for, other host names, requests
    from pages elsewhere and calls of functions the page does not have."""
    guards = [Middleware(SameOrigin, hosts=served_hosts(host, port)), Middleware(KnownFunctions, indexes=set(page.fns))]
    page.launch(server_name=host, server_port=port, max_file_size=MAX_UPLOAD_BYTES,
                app_kwargs={"middleware": guards}, **options)


def find_models(lstm: Path | None, bert: Path | None) -> dict[str, tuple[str, str, Path]]:
    """The models to load: the folders given, else the lessons' default folders that hold a model."""
    chosen = {}
    for (name, (module, loader, default, _)), given in zip(MODELS.items(), (lstm, bert)):
        folder = given or default
        if (folder / "model.keras").is_file():
            chosen[name] = (module, loader, folder)
        elif given:
            raise FileNotFoundError(f"{folder} holds no model.keras: it is not a folder the lessons saved.")
    if not chosen:
        commands = "\n".join(f"  {name}: {command}" for name, (*_, command) in MODELS.items())
        raise FileNotFoundError(f"No saved model yet. Train one first:\n{commands}\n"
                                "or point --lstm / --bert at a folder holding model.keras.")
    return chosen


def unloadable(name: str, folder: Path, error: SavedModelError) -> ValueError:
    """The error that names the model that does not load, why (the first line of ``error``: the file, what is
    wrong, the fix) and the command that saves it again."""
    return ValueError(f"cannot load the {name} model from {folder}: {str(error).splitlines()[0]} "
                      f"Or save it again: {MODELS[name][3]}")


def load_predictors(models: dict[str, tuple[str, str, Path]]) -> dict[str, Predictor]:
    """One predictor per model, or a ValueError naming the model that does not load, why and how to mend it."""
    from shared.answers import load_predictor  # Keras, for BERT: seconds of imports

    predictors = {}
    for name, (number, loader, folder) in models.items():
        try:
            predictors[name] = load_predictor(number, loader, folder)
        except SavedModelError as error:
            raise unloadable(name, folder, error) from error
    return predictors


def check_folders(models: dict[str, tuple[str, str, Path]]) -> None:
    """Before the page starts: a ValueError naming a model whose files are not the ones it saved together."""
    for name, (_, _, folder) in models.items():
        try:
            check_recorded(folder)
        except SavedModelError as error:
            raise unloadable(name, folder, error) from error


class LoadingPredictors(Mapping):
    """The predictors of ``models``, loaded in a thread of their own from ``start()`` on (or the first time one
    is asked for): their names are known at once (the page lists them), a predictor is waited for, and one
    that failed to load answers with why, as a message on the page."""

    def __init__(self, models: dict[str, tuple[str, str, Path]]) -> None:
        self._models, self._names = models, list(models)
        self._loading: Future | None = None
        self._starting = threading.Lock()

    def start(self) -> None:
        with self._starting:
            if self._loading is None:
                self._loading = ThreadPoolExecutor(1).submit(load_predictors, self._models)
                self._loading.add_done_callback(_say_why_not)

    def __getitem__(self, name: str) -> Predictor:
        self.start()
        try:
            return self._loading.result()[name]
        except ValueError as error:
            raise gr.Error(str(error)) from error

    def __contains__(self, name: object) -> bool:  # Mapping's own would load the models to answer
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _say_why_not(loading: Future) -> None:
    if loading.exception() is not None:
        print(f"python -m demo.app: {loading.exception()}", file=sys.stderr)


def port_number(text: str) -> int:
    """argparse type: a port a server can listen on."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: choose one from 1 to 65535")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.app", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lstm", type=Path, help="a folder saved by lesson 3's save_classifier")
    parser.add_argument("--bert", type=Path, help="a folder saved by lesson 5's save_finetuned")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines too")
    parser.add_argument("--port", type=port_number, default=os.environ.get("GRADIO_SERVER_PORT", "7860"),
                        help="default: $GRADIO_SERVER_PORT, else 7860")
    args = parser.parse_args(argv)
    try:
        models = find_models(args.lstm, args.bert)
        check_folders(models)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    predictors = LoadingPredictors(models)
    if missing := not_trained(predictors):
        print(missing, file=sys.stderr)
    page = build_demo(predictors)
    try:
        serve(page, args.host, args.port, prevent_thread_lock=True)
    except OSError:
        parser.error(f"cannot serve on {args.host}:{args.port}: the port is in use or the address is not "
                     "this machine's. Choose another with --port (or --host).")
    predictors.start()  # once the page is up: importing Keras beside the server's start slows both
    page.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
