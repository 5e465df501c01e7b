"""What the graded checks share: feedback that says what was expected and what came, and looks at models.

A check judges behaviour: it calls the learner's function and compares what it returns with what it
should, and, where a known mistake explains the difference, says which mistake.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import queue
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from shared.grading.plugin import is_lesson_file
from shared.ports import free_port


def dict_difference(expected: dict, found: object) -> str:
    """"missing: a; unexpected: b; wrong: c (expected 1, got 2)" between two dictionaries."""
    if not isinstance(found, dict):
        return f"expected a dict, got {type(found).__name__} {found!r}"
    parts = []
    if missing := [key for key in expected if key not in found]:
        parts.append(f"missing: {', '.join(map(str, missing))}")
    if unexpected := [key for key in found if key not in expected]:
        parts.append(f"unexpected: {', '.join(map(str, unexpected))}")
    parts += [f"wrong: {key} (expected {expected[key]!r}, got {found[key]!r})"
              for key in expected if key in found and found[key] != expected[key]]
    return "; ".join(parts)


def which_mistake(found, mistakes: dict[str, object], atol: float = 1e-5) -> str:
    """" — <what went wrong>" if ``found`` equals what one known mistake computes, else ""."""
    return which_of(found, mistakes.items(), atol)


def same(a, b, atol: float = 1e-5) -> bool:
    """Equal values of equal shape; numbers to ``atol``."""
    try:
        a, b = np.asarray(a), np.asarray(b)
    except ValueError:  # ragged
        return a == b
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        return bool(np.allclose(a, b, atol=atol))
    return bool(np.all(a == b))


def rounded(values, digits: int = 4) -> list[float]:
    """Numbers for a feedback line: Python floats, so that float32 noise never shows."""
    return np.round(np.asarray(values, dtype="float64"), digits).tolist()


def to_numpy(tensor) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(tensor))


def output_layer(model: keras.Model) -> keras.layers.Layer:
    """The last Dense layer of ``model``: the one that gives the output."""
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise AssertionError("expected a Dense layer at the output, found none")
    return dense[-1]


def output_kind(model: keras.Model, inputs, **call) -> tuple[str, np.ndarray, np.ndarray]:
    """("logits" | "probabilities" | "something else", the model's output, the output Dense's pre-activation).

    The pre-activation is computed from the Dense layer's own input and weights, so a sigmoid inside the
    layer, after it, or none at all are told apart, whatever the layers are named."""
    dense = output_layer(model)
    features = keras.Model(model.input, dense.input)(inputs, training=False)
    logits = to_numpy(keras.ops.matmul(features, dense.kernel) + dense.bias)
    output = to_numpy(model(inputs, training=False, **call))
    if output.shape == logits.shape and np.allclose(output, logits, atol=1e-5):
        return "logits", output, logits
    if output.shape == logits.shape and np.allclose(output, to_numpy(keras.ops.sigmoid(logits)), atol=1e-5):
        return "probabilities", output, logits
    return "something else", output, logits


def dropout_zeros(model: keras.Model, inputs, repeats: int = 1) -> float:
    """The share of exact zeros in the output Dense layer's input when the model is training: about the
    dropout rate if dropout comes just before it, 0 if not (when nothing else there makes exact zeros)."""
    features = keras.Model(model.input, output_layer(model).input)
    return float(np.mean([np.mean(to_numpy(features(inputs, training=True)) == 0) for _ in range(repeats)]))


def check_calibrated_accuracy(name: str, accuracy: float, what: str) -> None:
    """``accuracy`` reaches the threshold of the calibration row ``name`` (tests/lessons/calibrate.py)."""
    threshold = json.loads((Path(__file__).with_name("calibration.json")).read_text())[name]["threshold"]
    assert accuracy >= threshold, (
        f"expected an accuracy of at least {threshold:.2f} {what}, got {accuracy:.3f} (chance is 0.50; the reference "
        f"solution never fell below {threshold:.2f} in its calibration runs: tests/lessons/CALIBRATION.md)")


def which_of(found, mistakes, atol: float = 1e-5) -> str:
    """``which_mistake`` for (description, value) pairs, where one mistake may be listed with several values:
    the different things learners write that make it. Where two different mistakes make ``found`` alike,
    neither is named: the order of the table must not decide which one a learner is told."""
    named = {description for description, value in mistakes if same(found, value, atol)}
    return f" — {named.pop()}" if len(named) == 1 else ""


# --------------------------------------------------------------------------- BERT classifiers (lessons 4 and 5)


def pooled_output_mistake(features: np.ndarray, sequence_output: np.ndarray) -> str:
    """" — <what was read instead>" when the output layer reads another summary of the token vectors."""
    return which_mistake(features, {
        "the [CLS] token's vector before BERT's pooler: read pooled_output": sequence_output[:, 0],
        "the mean of the token vectors: read pooled_output": sequence_output.mean(axis=1)}, atol=1e-4)


def check_dropout_of_half(model: keras.Model, inputs, repeats: int = 2) -> None:
    """The model was built with dropout=0.5: about half of the output layer's inputs drop while training."""
    zeros = dropout_zeros(model, inputs, repeats)
    hint = " — no dropout before the output layer" if zeros == 0 else \
        " — the dropout argument is not used" if abs(zeros - 0.1) < 0.05 else ""
    assert 0.4 <= zeros <= 0.6, (
        f"expected build_classifier(..., dropout=0.5) to drop about half of the pooled output while training, "
        f"dropped {zeros:.0%}{hint}")


def check_adam_with_weight_decay(optimizer, weight_decay: float = 0.01) -> None:
    """AdamW, or Adam given a weight decay: Keras 3 decouples weight decay from the gradient in both."""
    assert isinstance(optimizer, keras.optimizers.Adam), (
        f"expected AdamW (Adam with decoupled weight decay), got {type(optimizer).__name__}")
    assert optimizer.weight_decay is not None and abs(optimizer.weight_decay - weight_decay) < 1e-9, (
        f"expected weight decay {weight_decay}, got {optimizer.weight_decay}")


def check_warm_up_then_linear_decay(optimizer, peak: float, total_steps: int) -> None:
    """The learning rate climbs from 0 to ``peak`` over the first 10% of the steps, then falls to 0."""
    schedule = optimizer._learning_rate  # Keras keeps the schedule here; .learning_rate is its current value
    assert callable(schedule), f"expected a learning-rate schedule, got the constant {to_numpy(schedule)}"
    warmup = total_steps // 10
    steps = [0, warmup // 2, warmup, (warmup + total_steps) // 2, total_steps]
    expected = [0.0, peak / 2, peak, peak / 2, 0.0]
    found = [round(float(to_numpy(schedule(step))), 9) for step in steps]
    assert np.allclose(found, expected, atol=1e-9), (
        f"expected learning rates {expected} at steps {steps} ({warmup} warm-up steps of {total_steps}), got {found}")


def check_no_decay_on_layer_norms_and_biases(optimizer, variables: list) -> None:
    """One AdamW step with zero gradients moves a weight by its decay alone: with every weight at 1 first,
    the weights that moved are the decayed ones. LayerNorm weights and biases must not move; kernels and
    embeddings must."""
    for variable in variables:
        variable.assign(np.ones(variable.shape, "float32"))
    for _ in range(2):  # step 0 has learning rate 0 (warm-up); step 1 the peak
        optimizer.apply_gradients([(keras.ops.zeros(variable.shape), variable) for variable in variables])
    decayed = {variable.path: not np.allclose(to_numpy(variable), 1.0) for variable in variables}
    norms = [path for path in decayed if decayed[path] and "norm" in path]
    biases = [path for path in decayed if path.endswith("bias")]
    hint = " — name patterns miss KerasHub's LayerNorm weights (gamma and beta under a *_layer_norm path): " \
           "select them by path, with var_list" if norms and not any(decayed[p] for p in biases) else ""
    assert not norms, f"expected no weight decay on LayerNorm weights, got it on {norms[:2]}{hint}"
    assert not [p for p in biases if decayed[p]], (
        f"expected no weight decay on biases, got it on {[p for p in biases if decayed[p]][:2]}")
    kept = [path for path in decayed if not decayed[path] and path.endswith(("kernel", "embeddings"))]
    assert not kept, f"expected weight decay on kernels and embeddings, got none on {kept[:2]}"


# --------------------------------------------------------------------------- several processes (lesson 7)


RANK_SECONDS = 60  # how long the processes of one run_ranks may take together
COLLECTIVE_SECONDS = 20  # how long a collective operation waits for the other ranks before it fails



def run_ranks(task: Callable[[int], object], world_size: int = 2,
              environments: list[dict[str, str]] | None = None) -> list:
    """``task(rank)`` in ``world_size`` processes that form one gloo process group on 127.0.0.1; returns what
    each rank's task returned, in rank order.

    The processes are forked from this one, so they hold the lesson already imported and start in a fraction
    of a second; each uses one PyTorch thread and adds ``environments[rank]`` to its environment. An error in
    a rank is raised here (a NotImplementedError as it is, anything else as a feedback line with the rank and
    the lesson line it came from); processes that do not finish within RANK_SECONDS are stopped."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    port = free_port()
    environments = environments or [{}] * world_size
    processes = [context.Process(target=_rank_main, daemon=True,
                                 args=(task, rank, world_size, port, environments[rank], results))
                 for rank in range(world_size)]
    for process in processes:
        process.start()
    deadline, outcomes = time.monotonic() + RANK_SECONDS, {}
    try:
        while len(outcomes) < world_size:
            try:
                rank, outcome = results.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"expected {world_size} processes to finish within {RANK_SECONDS} s, {world_size - len(outcomes)} "
                    "did not: a rank waits in a collective operation that another rank never calls") from None
            outcomes[rank] = outcome
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    _raise_rank_error(outcomes)
    return [outcomes[rank][1] for rank in range(world_size)]


def _rank_main(task, rank: int, world_size: int, port: int, environment: dict[str, str], results) -> None:
    import torch
    import torch.distributed as dist

    os.environ.update(environment)
    torch.set_num_threads(1)  # before any operation: an OpenMP thread pool does not survive a fork
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=COLLECTIVE_SECONDS))
        results.put((rank, ("returned", task(rank))))
    except BaseException as error:  # noqa: BLE001 - every error goes back to the check, which reports it
        results.put((rank, ("raised", (type(error).__name__, str(error).strip(), _lesson_line(error)))))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _lesson_line(error: BaseException) -> str:
    """" (at lessons/NN_topic.py:LINE)" for the innermost frame of the error in a lesson file, or ""."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename)
        if is_lesson_file(path):
            return f" (at {path.parent.name}/{path.name}:{frame.lineno})"
    return ""


def _raise_rank_error(outcomes: dict[int, tuple[str, object]]) -> None:
    """Raise the error of the rank that caused the others': a NotImplementedError first, then an error in a
    lesson line, then any."""
    errors = {rank: value for rank, (kind, value) in outcomes.items() if kind == "raised"}
    if not errors:
        return
    rank, (name, message, where) = min(errors.items(), key=lambda item: (
        item[1][0] != "NotImplementedError", not item[1][2], item[0]))
    first_line = (message.splitlines() or [""])[0]
    if name == "NotImplementedError":
        raise NotImplementedError(first_line)
    unmatched = (len(errors) < len(outcomes) and not where) or "timed out" in first_line.lower()
    hint = " — the ranks did not meet in the same collective operation: every rank must call the same ones, in the " \
           "same order, with the same src or dst" if unmatched else ""
    raise AssertionError(f"{name} on rank {rank}: {first_line[:160]}{where}{hint}")


def saved_twice(save: Callable[[Path], object], folder: Path, name: str) -> Path:
    """``save(folder)`` into a folder whose parent is new too, as a lesson saves to artifacts/..., then again, as
    a save after more training replaces the first; the folder the last save returned. A failed mkdir is
    reported as the mistake it is."""
    for attempt in ("first", "second"):
        try:
            folder = Path(save(folder))
        except FileExistsError as error:
            raise AssertionError(f"expected a {attempt} {name} into {folder.name} to replace the first, got "
                                 f"FileExistsError: {error} — mkdir(parents=True, exist_ok=True)") from None
        except FileNotFoundError as error:
            raise AssertionError(f"expected {name} to make the folder and its parents, got FileNotFoundError: "
                                 f"{error} — mkdir(parents=True, exist_ok=True)") from None
    return folder


def check_quiet_when_fit_verbosity_says_so(lesson, monkeypatch, capsys, run: Callable[[], object]) -> None:
    """``run()`` with the lesson's fit_verbosity() saying 0: a fit that prints is given another verbose."""
    monkeypatch.setattr(lesson, "fit_verbosity", lambda: 0)
    capsys.readouterr()
    run()
    printed = capsys.readouterr().out
    assert not printed.strip(), (
        f"expected fit to print nothing when fit_verbosity() says 0, got {printed.strip()[:80]!r}: "
        "verbose=fit_verbosity()")
