"""Each saved model's label and confidence for your own reviews.

    ./course predict "A gem of a film." "Two hours I will never get back."
    ./course predict --file reviews.txt          # one review per line, or JSON lines with a "text" field
    some-command | ./course predict -            # the same, from stdin
    ./course predict --model lstm --json "Great!"

Every model the lessons saved answers (lesson 3's in artifacts/lesson03/classifier, lesson 5's in
artifacts/lesson05/classifier: those that exist), or the models --model names. A review in which a model
knows no word gets "unreadable" and the reason, not a guess. Blank lines of a file are skipped.
Exit status: 0 when every review has its answers, 2 for bad usage or input, 1 when a saved model cannot be
loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, count, islice
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from shared.answers import Prediction

PROG = "./course predict"
CHUNK = 1_024  # reviews read, predicted and printed at a time: a long stdin stream never sits in memory
LINE_BYTES = 2**20  # the longest line read, as the data loader's longest review: /dev/zero has no line end
PREVIEW = 70  # characters of a review shown beside its answer
# The models the lessons save, as demo/app.py lists them: name -> (the lesson's exported module, its loading
# function, the folder it saves to, the command that makes it)
SAVED_MODELS = {
    "lstm": ("shared.lessons.lstm", "load_classifier", Path("artifacts/lesson03/classifier"), "./course train"),
    "bert": ("shared.lessons.finetune", "load_finetuned", Path("artifacts/lesson05/classifier"),
             "python -m benchmarks.run --track finetune --config head+tail-4k"),
}
COURSE_ROOT = Path(os.environ.get("COURSE_ROOT", "."))  # ./course runs this command from the caller's folder
KIND_OF_FOLDER = {"vocabulary.json": "lstm", "vocab.txt": "bert"}  # the file that tells who saved a folder


class UsageError(Exception):
    """Bad usage or input: the message says what and how to fix it; exit status 2."""


class ModelError(Exception):
    """A saved model that cannot be loaded: the message says why and how to get a good one; exit status 1."""


def parser() -> argparse.ArgumentParser:
    """The command's arguments; argparse itself answers --help and a malformed option (exit status 2)."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reviews", nargs="*", metavar="REVIEW", help='a review; "-" reads reviews from stdin')
    parser.add_argument("--file", type=Path, help='reviews, one per line, or JSON lines with a "text" field')
    parser.add_argument("--model", action="append", default=[], metavar="lstm|bert|FOLDER",
                        help="a model to ask (repeat for several): lstm, bert or a saved folder; default: every "
                             "saved model found")
    parser.add_argument("--json", action="store_true", help="one JSON object per review and model")
    return parser


# --------------------------------------------------------------------------- which models


def chosen_models(names: list[str]) -> dict[str, tuple[str, str, Path]]:
    """name -> (module, its loading function, folder) for each of ``names``; by default every saved model found."""
    if names:
        return dict(named_model(name) for name in names)
    found = {name: (module, loader, COURSE_ROOT / folder) for name, (module, loader, folder, _) in SAVED_MODELS.items()
             if (COURSE_ROOT / folder / "model.keras").is_file()}
    if not found:
        commands = "".join(f"\n  {name}: {command}" for name, (*_, command) in SAVED_MODELS.items())
        raise UsageError(f"no saved model yet. Train one first:{commands}\nor name a saved folder with --model.")
    return found


def named_model(name: str) -> tuple[str, tuple[str, str, Path]]:
    if name in SAVED_MODELS:
        module, loader, folder, command = SAVED_MODELS[name]
        folder = COURSE_ROOT / folder
        if not (folder / "model.keras").is_file():
            raise UsageError(f"no {name} model saved in {folder} yet: {command}")
        return name, (module, loader, folder)
    folder = Path(name)
    if not folder.is_dir():
        raise UsageError(f"--model {name}: neither {' nor '.join(SAVED_MODELS)}, nor a folder")
    kind = next((kind for file, kind in KIND_OF_FOLDER.items() if (folder / file).is_file()), None)
    if kind is None:
        raise UsageError(f"--model {name}: {folder} is not a saved model folder (it has neither "
                         f"{' nor '.join(KIND_OF_FOLDER)})")
    module, loader, _, _ = SAVED_MODELS[kind]
    return name, (module, loader, folder)


def load_predictors(models: dict[str, tuple[str, str, Path]]) -> dict[str, Callable[[list[str]], list[Prediction]]]:
    """name -> texts -> [Prediction]; a ModelError names the model that does not load and why."""
    from shared.answers import load_predictor  # Keras, for a model ONNX Runtime does not answer: seconds
    from shared.sealed import SavedModelError, UnsealedFolderWarning

    warnings.simplefilter("ignore")  # the libraries' own warnings mean nothing to someone asking about reviews
    warnings.simplefilter("default", UnsealedFolderWarning)  # but this one tells what to do
    warnings.formatwarning = lambda message, *_: f"{PROG}: warning: {message}\n"
    predictors = {}
    for name, (module, loader, folder) in models.items():
        try:
            predictors[name] = load_predictor(module, loader, folder)
        except SavedModelError as error:
            remedy = f" ({name}: {SAVED_MODELS[name][3]})" if name in SAVED_MODELS else ""
            raise ModelError(f"cannot load the {name} model: {error}{remedy}") from error
    return predictors


# --------------------------------------------------------------------------- which reviews


def all_reviews(arguments: list[str], file: Path | None) -> Iterator[str]:
    """The reviews asked about, in order: the arguments ("-" reads stdin), then those of ``file``."""
    for position, argument in enumerate(arguments, 1):
        if argument == "-":
            yield from reviews_in(bounded_lines(sys.stdin.buffer, "stdin"), "stdin")
        elif not _is_text(argument):
            raise UsageError(f"review {position} is not UTF-8 text: pass it through a file with --file")
        else:
            yield argument
    if file is not None:
        try:
            with open(file, "rb", opener=_open_without_waiting) as stream:
                yield from reviews_in(bounded_lines(stream, f"--file {file}"), str(file))
        except OSError as error:
            raise UsageError(f"--file {file}: {error.strerror or error}") from error


def _open_without_waiting(name: str, flags: int) -> int:
    """Open for reading without waiting for a writer: opening a named pipe no program writes to would wait
    forever, while reading one (blocking again) ends at once, empty."""
    descriptor = os.open(name, flags | os.O_NONBLOCK)
    os.set_blocking(descriptor, True)
    return descriptor


def bounded_lines(stream: BinaryIO, source: str) -> Iterator[bytes]:
    """The lines of ``stream``, each read up to LINE_BYTES: a line longer than that is an error, not a wait."""
    for number in count(1):
        line = stream.readline(LINE_BYTES + 1)
        if not line:
            return
        if len(line) > LINE_BYTES:
            raise UsageError(f"{source}, line {number}: longer than {LINE_BYTES:,} bytes (one review per line; "
                             "is it text?)")
        yield line


def _is_text(argument: str) -> bool:
    """Whether an argument decoded cleanly: undecodable bytes come as lone surrogates, which do not encode."""
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def reviews_in(lines: Iterable[bytes], source: str) -> Iterator[str]:
    """The reviews of UTF-8 ``lines``: one per line, or, when the first non-blank line is a JSON object, JSON
    lines with a "text" field. Blank lines are skipped."""
    as_json = None
    for number, raw in enumerate(lines, 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError as error:
            raise UsageError(f"{source}, line {number}: not UTF-8 text (byte {error.object[error.start]:#04x}, the "
                             f"line's byte {error.start + 1})") from None
        if not line.strip():
            continue
        if as_json is None:
            as_json = line.lstrip().startswith("{")
        yield text_of(line, f"{source}, line {number}") if as_json else line


def text_of(line: str, where: str) -> str:
    """The "text" field of one JSON line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise UsageError(f"{where}: not JSON ({error.msg} at column {error.colno}), though the first line was: "
                         "give every line as JSON, or none") from None
    if isinstance(record, dict) and isinstance(record.get("text"), str):
        return record["text"]
    found = (f"it is a JSON {type(record).__name__}" if not isinstance(record, dict) else
             f"its text is {json.dumps(record['text'])}" if "text" in record else "it has no text field")
    raise UsageError(f'{where}: expected a JSON object with a "text" string, but {found}')


# --------------------------------------------------------------------------- answers


def answer_line(index: int, text: str, model: str, prediction: Prediction, as_json: bool) -> str:
    """One model's answer about one review: a line of text, or of JSON."""
    if as_json:
        return json.dumps({"index": index, "model": model, "label": prediction.label,
                           "confidence": prediction.confidence, "reason": prediction.reason, "text": text},
                          ensure_ascii=False)
    shown = " ".join(text.split())
    shown = shown if len(shown) <= PREVIEW else shown[: PREVIEW - 1] + "…"
    confidence = f"{prediction.confidence:6.1%}" if prediction.readable else "     -"
    reason = f"  ({prediction.reason})" if prediction.reason else ""
    return f"{prediction.label:10s} {confidence}  {model}  {shown}{reason}"


def run(args: argparse.Namespace) -> None:
    """Print every chosen model's answer about every review, CHUNK reviews at a time."""
    if not args.reviews and args.file is None:
        raise UsageError('no reviews: give them as arguments, with --file FILE, or "-" to read stdin')
    models = chosen_models(args.model)
    reviews = all_reviews(args.reviews, args.file)
    first = list(islice(reviews, CHUNK))  # read before the models load: bad input fails fast
    if not first:
        raise UsageError("no reviews: the input holds only blank lines")
    predictors = load_predictors(models)
    index = 0
    for chunk in chain([first], iter(lambda: list(islice(reviews, CHUNK)), [])):
        answers = {name: predict(chunk) for name, predict in predictors.items()}
        for offset, text in enumerate(chunk):
            for name in predictors:
                print(answer_line(index + offset, text, name, answers[name][offset], args.json))
        index += len(chunk)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "torch")  # both saved models are Keras models on PyTorch
    args = parser().parse_args(argv)
    sys.stdout.reconfigure(errors="backslashreplace")  # a terminal that cannot show a character still gets a line
    try:
        run(args)
    except (UsageError, ModelError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    except BrokenPipeError:  # the reader stopped early (| head): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
