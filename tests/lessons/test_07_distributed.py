"""Graded checks of lesson 7: the shards, the two collectives, the data-parallel step and loop, one writer.

The shards are checked in this process. Everything else runs in 2 processes forked from this one and joined
in a gloo process group on 127.0.0.1 (``checking.run_ranks``), on a tiny model (the mean of 4-wide word
vectors, then one logit) and 32 crafted reviews: a run takes a fraction of a second. Each rank builds its
model with its own seed, so only a broadcast makes the replicas alike. The check of one exercise gives the
lesson (in the forked processes only) the reference versions of the other exercises' functions, so that each
exercise is judged on its own. The weights a run must reach are those of one process at twice the batch,
computed here without torch.distributed; where a known mistake (tests/known_wrong/07_distributed.py)
explains a difference, the same computation with that mistake says which.
"""

import contextlib
import io
import random
import zlib

import keras
import numpy as np
import pytest
import torch
import torch.distributed as dist
from checking import run_ranks, to_numpy
from hypothesis import strategies as st
from randomized import SEED as GRADE_SEED
from randomized import check_holds

from shared.lessons import distributed as reference  # lesson 7's answers, as the lesson exports them

LESSON = "07"
REVIEWS, WORDS, LENGTH = 32, 20, 6
BATCH, EPOCHS, LEARNING_RATE, SEED = 4, 2, 0.5, 0
STEPS = EPOCHS * REVIEWS // (2 * BATCH)  # of 2 ranks at BATCH each, or of one process at 2 * BATCH
RANK_SEEDS = (10, 11)
TIGHT_CLIP = 0.01  # a norm below every gradient's here: clipping changes every step
RNG = np.random.default_rng(0)
IDS = RNG.integers(1, WORDS, (REVIEWS, LENGTH)).astype("int32")
LABELS = RNG.integers(0, 2, REVIEWS).astype("float32")


def tiny_model(seed: int, batch_norm: bool = False) -> keras.Model:
    """Embedding -> mean over the words -> (BatchNormalization) -> Dense(1), its weights drawn from ``seed``.

    Seeded initializers, not keras.utils.set_random_seed: that one imports TensorFlow, for seconds, in every
    forked process."""
    ids = keras.Input(shape=(None,), dtype="int32")
    embedding = keras.layers.Embedding(WORDS, 4, mask_zero=True,
                                       embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed))
    x = keras.layers.GlobalAveragePooling1D()(embedding(ids))
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    return keras.Model(ids, keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed))(x))


def flat_weights(model: keras.Model) -> np.ndarray:
    return np.concatenate([to_numpy(variable).ravel() for variable in model.weights])


# --------------------------------------------------------------------------- reference versions


REFERENCES = {name: getattr(reference, name) for name in ("shard", "broadcast_weights", "average_gradients",
                                                          "train_step")}


def with_references(lesson, graded: str) -> None:
    """In a forked rank: the reference version of every graded function but ``graded``."""
    for name, function in REFERENCES.items():
        if name != graded:
            setattr(lesson, name, function)


# --------------------------------------------------------------------------- runs simulated in this process

FIXED_ORDER, WHOLE_DATA, LOSS_SUMMED, NO_ZERO_GRAD, CLIPPED_PER_RANK = (
    "fixed order", "whole data", "loss summed", "no zero_grad", "clipped per rank")


def clipped(gradients: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
    """What torch.nn.utils.clip_grad_norm_ makes of ``gradients``."""
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in gradients]))
    return [g * torch.clamp(max_norm / (norm + 1e-6), max=1.0) for g in gradients]


def simulated_run(ranks: int, batch: int, clip_norm: float | None, mistake: str | None = None
                  ) -> tuple[np.ndarray, list[float]]:
    """The weights after EPOCHS epochs of ``ranks`` replicas at ``batch`` reviews each, and each epoch's mean
    loss, computed in this process: the replicas step together, so one model stands for all of them; each
    rank's gradient is computed on its own rows. ``mistake`` makes one known mistake."""
    model = tiny_model(RANK_SEEDS[0])
    parameters = [variable.value for variable in model.trainable_weights]
    accumulated, losses = None, []
    for epoch in range(EPOCHS):
        shards = [reference.shard(REVIEWS, rank, ranks, 0 if mistake == FIXED_ORDER else epoch, SEED)
                  for rank in range(ranks)]
        if mistake == WHOLE_DATA:
            shards = [reference.shard(REVIEWS, 0, 1, epoch, SEED)] * ranks
        step_losses = []
        for start in range(0, len(shards[0]), batch):
            gradients, rank_losses = [], []
            for shard in shards:
                rows = shard[start : start + batch]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    model(IDS[rows], training=True)[:, 0], torch.as_tensor(LABELS[rows]),
                    reduction="sum" if mistake == LOSS_SUMMED else "mean")
                gradients.append(torch.autograd.grad(loss, parameters))
                rank_losses.append(loss.item())
            if mistake == CLIPPED_PER_RANK:
                gradients = [clipped(list(rank_gradients), clip_norm) for rank_gradients in gradients]
            mean = [sum(per_rank) / ranks for per_rank in zip(*gradients)]
            if mistake == NO_ZERO_GRAD:
                accumulated = mean if accumulated is None else [a + m for a, m in zip(accumulated, mean)]
                mean = accumulated
            if clip_norm is not None and mistake != CLIPPED_PER_RANK:
                mean = clipped(mean, clip_norm)
            with torch.no_grad():
                for parameter, gradient in zip(parameters, mean):
                    parameter -= LEARNING_RATE * gradient
            step_losses.append(np.mean(rank_losses))
        losses.append(float(np.mean(step_losses)))
    return flat_weights(model), losses


def one_process_at_twice_the_batch(clip_norm: float | None = None) -> tuple[np.ndarray, list[float]]:
    return simulated_run(1, 2 * BATCH, clip_norm)


def check_replicas_match_one_process(found: list[np.ndarray], clip_norm: float | None, different_ranks: str,
                                     mistakes: dict[str, str]) -> None:
    """Both ranks hold the same weights (else ``different_ranks`` says why), and they are those of one process
    at twice the batch (else the first of ``mistakes``, simulated, that gives them says why)."""
    apart = float(np.abs(found[0] - found[1]).max())
    assert apart < 1e-5, (
        f"expected both ranks to hold the same weights after {STEPS} steps, got weights {apart:.2e} apart "
        f"— {different_ranks}")
    expected = one_process_at_twice_the_batch(clip_norm)[0]
    away = float(np.abs(found[0] - expected).max())
    mistake = next((f" — {description}" for name, description in mistakes.items()
                    if np.allclose(found[0], simulated_run(2, BATCH, clip_norm, name)[0], atol=1e-5)), "")
    assert away < 1e-5, (
        f"expected the weights of one process at batch {2 * BATCH} after {STEPS} steps (2 ranks at batch {BATCH}), "
        f"got weights {away:.2e} away from them{mistake}")


# --------------------------------------------------------------------------- drawn runs (7.3, 7.4)


DRAWN_CASES = 8  # per drawn check: each case runs the answer and the reference side by side on WORLD ranks


def drawn_cases(draw, size) -> list[dict]:
    """DRAWN_CASES cases drawn with GRADE_SEED (``draw(rng)`` makes one), smallest (``size``) first: the first that
    fails is the smallest that does."""
    rng = np.random.default_rng([GRADE_SEED, zlib.crc32(draw.__name__.encode())])
    return sorted((draw(rng) for _ in range(DRAWN_CASES)), key=size)


def side_by_side(run) -> dict:
    """``run()`` -> (weights, losses), or what went wrong as one line: a case's answer, never the check's crash."""
    try:
        weights, losses = run()
    except NotImplementedError:
        raise
    except Exception as error:  # the learner's error is this case's answer
        return {"error": f"raised {type(error).__name__}: {str(error)[:120]}"}
    try:
        return {"weights": weights, "losses": [round(float(loss), 6) for loss in losses]}
    except (TypeError, ValueError):
        return {"error": f"returned {str(losses)[:80]} where a float loss was expected for each"}


def difference(answer: dict, expected: dict) -> str:
    """How a rank's answer on a case differs from the reference's: "" if it does not."""
    if "error" in answer or "error" in expected:
        return "" if answer.keys() == expected.keys() else answer.get("error", "ran, where the reference raised")
    away = float(np.abs(answer["weights"] - expected["weights"]).max())
    if not np.allclose(answer["losses"], expected["losses"], atol=1e-5):
        return f"returned the losses {answer['losses']}, expected {expected['losses']}"
    return f"left weights {away:.2e} away from the reference's" if away > 1e-5 else ""


def check_side_by_side(lesson, graded: str, side_by_side_of, cases: list[dict], described) -> None:
    """Run ``side_by_side_of(lesson, rank, case)`` for every case in each of WORLD ranks (the other exercises'
    functions the reference's); fail with the smallest case on which a rank's answer differs from the reference's,
    ``described(case)`` saying what was expected of ``graded``."""
    def task(rank: int) -> list[tuple[dict, dict]]:
        with_references(lesson, graded=graded)
        return [side_by_side_of(lesson, rank, case) for case in cases]

    failure = first_drawn_failure(run_ranks(task, world_size=WORLD), cases)
    if failure:
        case, rank, problem = failure
        raise AssertionError(
            f"expected {graded} to {described(case)}, on {WORLD} ranks: rank {rank} {problem} (the smallest of the "
            f"{DRAWN_CASES} cases drawn with GRADE_SEED={GRADE_SEED} where your answer differs from the reference)")


def first_drawn_failure(found: list[list[tuple[dict, dict]]], cases: list[dict]) -> tuple[dict, int, str] | None:
    """(case, rank, what differs) of the smallest case on which any rank's answer differs from the reference's."""
    for index, case in enumerate(cases):
        for rank, answers in enumerate(found):
            if problem := difference(*answers[index]):
                return case, rank, problem
    return None


# --------------------------------------------------------------------------- 7.1 shard


def overlap_summary(shards: list[list[int]], size: int) -> str:
    counts = np.bincount(np.concatenate([np.asarray(s, dtype=int) for s in shards]), minlength=size)
    return (f"shares of {[len(s) for s in shards]} reviews, {int(np.sum(counts > 1))} reviews read twice or more, "
            f"{int(np.sum(counts == 0))} never")


@pytest.mark.exercise("7.1", points=2)
def test_shards_cover_every_review_once_and_never_overlap(lesson):
    for world_size in (2, 4):
        for epoch in (0, 1):
            shards = [list(lesson.shard(40, rank, world_size, epoch, 0)) for rank in range(world_size)]
            lengths = {len(s) for s in shards}
            mistake = (" — every rank read every review: give the sampler num_replicas and rank" if lengths == {40}
                       else " — the ranks' shares overlap: every rank must shuffle with the same seed, then take its "
                       "own positions" if lengths == {40 // world_size} else "")
            assert sorted(i for s in shards for i in s) == list(range(40)), (
                f"expected {world_size} ranks to read each of 40 reviews exactly once in epoch {epoch}, got "
                f"{overlap_summary(shards, 40)}{mistake}")


@pytest.mark.exercise("7.1", points=1)
def test_uneven_shards_have_one_length(lesson):
    for world_size in (2, 4):
        shards = [list(lesson.shard(41, rank, world_size, 0, 0)) for rank in range(world_size)]
        lengths = [len(s) for s in shards]
        assert len(set(lengths)) == 1, (
            f"expected the {world_size} shares of 41 reviews to have one length, got {lengths} — the ranks would "
            "take different numbers of steps, and one would wait forever in its last all-reduce: "
            "DistributedSampler pads the shares to one length")
        assert set(range(41)) <= {i for s in shards for i in s}, (
            f"expected every one of 41 reviews read by {world_size} ranks, got {overlap_summary(shards, 41)}")


@pytest.mark.exercise("7.1", points=2)
def test_the_order_is_shuffled_anew_each_epoch_the_same_on_every_run(lesson):
    def shards(epoch: int, seed: int = 0) -> list[list[int]]:
        return [list(lesson.shard(40, rank, 2, epoch, seed)) for rank in range(2)]

    first = shards(0)
    assert first[0] != list(range(0, 40, 2)), (
        f"expected a shuffled share, got rank 0 reading {first[0][:6]}... — not shuffled: shuffle=True")
    assert shards(0) == first, "expected the same shares from the same epoch and seed, got different ones"
    assert shards(1) != first, (
        f"expected another order in epoch 1 than in epoch 0, got rank 0 reading {first[0][:6]}... in both "
        "— the same order every epoch: call sampler.set_epoch(epoch)")
    assert shards(0, seed=1) != first, (
        f"expected another order with seed 1 than with seed 0, got rank 0 reading {first[0][:6]}... with both "
        "— the seed argument is ignored")


@pytest.mark.exercise("7.1", points=1)
def test_shards_on_drawn_sizes_ranks_epochs_and_seeds(lesson):
    def broken(size: int, world_size: int, epoch: int, seed: int) -> str:
        shards = [list(lesson.shard(size, rank, world_size, epoch, seed)) for rank in range(world_size)]
        length = -(-size // world_size)  # every rank's share: the reviews divided up, rounded up
        if [len(s) for s in shards] != [length] * world_size:
            return f"to give each of the {world_size} ranks {length} reviews, got {[len(s) for s in shards]}"
        order = [s[position] for position in range(length) for s in shards]  # rank r read positions r, r + N, ...
        if sorted(order[:size]) != list(range(size)):
            return (f"to read each review once before any is repeated (rank r at positions r, r + {world_size}, ... of "
                    f"one shuffled order), got {overlap_summary(shards, size)}")
        return ""

    cases = st.tuples(st.integers(1, 50), st.integers(1, 5), st.integers(0, 3), st.integers(0, 99))
    check_holds("shard", broken, cases, examples=200)


# --------------------------------------------------------------------------- 7.2 broadcast_weights, average_gradients


def collective_run(lesson, function: str) -> list[dict[str, np.ndarray]]:
    """Every weight (broadcast_weights) or gradient (average_gradients) of rank r at r + 1 before ``function``;
    each rank's after, by variable path."""
    def task(rank: int) -> dict[str, np.ndarray]:
        model = tiny_model(RANK_SEEDS[rank], batch_norm=True)
        for variable in model.weights:
            variable.assign(np.full(variable.shape, rank + 1.0, dtype="float32"))
        if function == "broadcast_weights":
            lesson.broadcast_weights(model)
            return {variable.path: to_numpy(variable) for variable in model.weights}
        for variable in model.trainable_weights:
            variable.value.grad = torch.full(tuple(variable.shape), rank + 1.0)
        lesson.average_gradients(model)
        return {variable.path: variable.value.grad.numpy() for variable in model.trainable_weights}

    return run_ranks(task)


def values_by_rank(found: list[dict[str, np.ndarray]], paths=None) -> list[list[float]]:
    """The distinct values each rank holds (over ``paths``, default every one), for a feedback line."""
    return [sorted({round(float(x), 4) for path, value in rank.items() if paths is None or path in paths
                    for x in np.ravel(value)}) for rank in found]


@pytest.mark.exercise("7.2", points=2)
def test_broadcast_copies_every_weight_of_rank_zero(lesson):
    found = collective_run(lesson, "broadcast_weights")
    non_trainable = {path for path in found[0] if "moving" in path}
    trainable_values = values_by_rank(found, set(found[0]) - non_trainable)
    mistake = (" — each rank kept its own weights: broadcast rank 0's (src=0) into each weight's own tensor, "
               "variable.value.data" if trainable_values[1] == [2.0]
               else " — the non-trainable weights (a BatchNorm's moving averages) were not broadcast: "
               "broadcast model.weights, not only the trainable ones" if trainable_values == [[1.0], [1.0]] else "")
    assert values_by_rank(found) == [[1.0], [1.0]], (
        f"expected rank 0's weights (all 1.0) on both ranks, every one of them, got values "
        f"{values_by_rank(found)} on ranks 0 and 1{mistake}")


@pytest.mark.exercise("7.2", points=2)
def test_average_gradients_leaves_the_mean_on_every_rank(lesson):
    found = values_by_rank(collective_run(lesson, "average_gradients"))
    mistake = {str([[3.0], [3.0]]): " — summed, not averaged: all_reduce with op=dist.ReduceOp.AVG (or divide the "
                                    "summed gradient by the world size, in place)",
               str([[1.0], [2.0]]): " — each rank kept its own gradient: all_reduce each weight's .grad itself, "
                                    "in place, not a copy"}.get(str(found), "")
    if not mistake and found[0] == [1.5] and found[1] != [1.5]:
        mistake = " — only rank 0 got the mean: all_reduce, not reduce"
    assert found == [[1.5], [1.5]], (
        f"expected every gradient at 1.5 on both ranks (the mean of 1 and 2), got {found} on ranks 0 and 1{mistake}")


@pytest.mark.exercise("7.2", points=1)
def test_each_call_acts_on_the_values_the_model_holds_then(lesson):
    """A training loop calls them at every step: a second call must move the second step's values, not the first's."""
    def task(rank: int) -> list[list[float]]:
        model, found = tiny_model(RANK_SEEDS[rank], batch_norm=True), []
        for step in (1.0, 10.0):
            for variable in model.weights:
                variable.assign(np.full(variable.shape, step * (rank + 1), dtype="float32"))
            lesson.broadcast_weights(model)
            found.append(sorted({round(float(x), 4) for v in model.weights for x in np.ravel(to_numpy(v))}))
            for variable in model.trainable_weights:
                variable.value.grad = torch.full(tuple(variable.shape), step * (rank + 1))
            lesson.average_gradients(model)
            found.append(sorted({round(float(x), 4) for v in model.trainable_weights for x in v.value.grad.numpy().ravel()}))
        return found

    found = run_ranks(task)
    expected = [[1.0], [1.5], [10.0], [15.0]]
    first_step_right = all(values[:2] == expected[:2] for values in found)  # else the checks above say what is wrong
    mistake = " — each call must act on the weights and gradients the model holds then" if first_step_right else ""
    assert found == [expected, expected], (
        f"expected each rank to hold, after broadcast_weights then average_gradients, {expected[:2]} at a first step "
        f"and {expected[2:]} at a second one with ten times the values, got {found[0]} on rank 0 and {found[1]} on "
        f"rank 1{mistake}")


WORLD = random.Random(GRADE_SEED).choice([3, 4])  # ranks of the drawn checks: not the 2 of the others


def drawn_values(rank: int, path: str, shape: tuple) -> np.ndarray:
    """What rank ``rank`` holds in the weight (or its gradient) at ``path`` before a drawn check's collective."""
    return np.random.default_rng([GRADE_SEED, rank, zlib.crc32(path.encode())]).normal(size=shape).astype("float32")


def drawn_collective_run(lesson, function: str) -> list[dict[str, np.ndarray]]:
    """collective_run on WORLD ranks, each holding drawn values, not the same number everywhere."""
    def task(rank: int) -> dict[str, np.ndarray]:
        model = tiny_model(RANK_SEEDS[rank % 2], batch_norm=True)
        if function == "broadcast_weights":
            for variable in model.weights:
                variable.assign(drawn_values(rank, variable.path, tuple(variable.shape)))
            lesson.broadcast_weights(model)
            return {variable.path: to_numpy(variable) for variable in model.weights}
        for variable in model.trainable_weights:
            variable.value.grad = torch.from_numpy(drawn_values(rank, variable.path, tuple(variable.shape)))
        lesson.average_gradients(model)
        return {variable.path: variable.value.grad.numpy() for variable in model.trainable_weights}

    return run_ranks(task, world_size=WORLD)


def first_difference(found: list[dict[str, np.ndarray]], expected: dict[str, np.ndarray]) -> str:
    """Where the ranks' values first differ from ``expected``: "" if nowhere."""
    for rank, values in enumerate(found):
        for path, value in values.items():
            if not np.allclose(value, expected[path], rtol=1e-5, atol=1e-6):
                return f"rank {rank} holds {np.ravel(value)[:3]}… in {path}, expected {np.ravel(expected[path])[:3]}…"
    return ""


@pytest.mark.exercise("7.2", points=1)
def test_broadcast_on_drawn_weights_and_world_size(lesson):
    found = drawn_collective_run(lesson, "broadcast_weights")
    expected = {path: drawn_values(0, path, value.shape) for path, value in found[0].items()}
    difference = first_difference(found, expected)
    assert not difference, (f"expected rank 0's weights on each of {WORLD} ranks, each holding its own drawn "
                            f"values before: {difference} (drawn with GRADE_SEED={GRADE_SEED})")


@pytest.mark.exercise("7.2", points=1)
def test_average_gradients_on_drawn_gradients_and_world_size(lesson):
    found = drawn_collective_run(lesson, "average_gradients")
    expected = {path: np.mean([drawn_values(rank, path, value.shape) for rank in range(WORLD)], axis=0)
                for path, value in found[0].items()}
    difference = first_difference(found, expected)
    assert not difference, (f"expected the mean of the {WORLD} ranks' gradients on every rank: {difference} "
                            f"(drawn with GRADE_SEED={GRADE_SEED}; a mean over {WORLD} ranks is their sum / "
                            f"{WORLD}, dist.get_world_size())")


# --------------------------------------------------------------------------- 7.3 train_step


def step_run(lesson, clip_norm: float | None) -> list[np.ndarray]:
    """Each rank's weights after the check's own loop of lesson.train_step (2 ranks at BATCH, SGD)."""
    def task(rank: int) -> np.ndarray:
        with_references(lesson, graded="train_step")
        model = tiny_model(RANK_SEEDS[rank])
        reference.broadcast_weights(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        precision = lesson.MixedPrecision("cpu", None)
        for epoch in range(EPOCHS):
            rows = np.array(reference.shard(REVIEWS, rank, 2, epoch, SEED))
            for start in range(0, len(rows), BATCH):
                batch = rows[start : start + BATCH]
                lesson.train_step(model, optimizer, IDS[batch], torch.as_tensor(LABELS[batch]), precision, clip_norm)
        return flat_weights(model)

    return run_ranks(task)


@pytest.fixture(scope="module")
def step_runs(lesson) -> dict:
    return {clip_norm: step_run(lesson, clip_norm) for clip_norm in (None, TIGHT_CLIP)}


DIFFERENT_UPDATES = ("each rank stepped with its own gradient: call average_gradients(model) after backward() and "
                     "before the optimizer's step")


@pytest.mark.exercise("7.3", points=3)
def test_two_ranks_step_like_one_process_at_twice_the_batch(step_runs):
    check_replicas_match_one_process(step_runs[None], None, DIFFERENT_UPDATES, {
        LOSS_SUMMED: "the loss is summed over the batch: take its mean, so that the mean over the ranks is the "
                     "whole batch's",
        NO_ZERO_GRAD: "the gradients add up from step to step: call optimizer.zero_grad() first"})


@pytest.mark.exercise("7.3", points=1)
def test_the_averaged_gradient_is_clipped(step_runs):
    check_replicas_match_one_process(step_runs[TIGHT_CLIP], TIGHT_CLIP, DIFFERENT_UPDATES, {
        CLIPPED_PER_RANK: f"each rank clipped its own gradient before averaging (clip_norm={TIGHT_CLIP}): clip the "
                          "averaged one, after average_gradients"})


class Logged:
    """Stands in for the model, the optimizer or the precision of one step, and logs what the step does."""

    def __init__(self, wrapped, log: list[str], autocasting: list[bool] | None = None):
        self._wrapped, self._log, self._autocasting = wrapped, log, autocasting if autocasting is not None else [False]

    def __call__(self, *args, **kwargs):  # the model's forward pass
        training = kwargs.get("training", args[1] if len(args) > 1 else None)
        inside = " under precision.autocast()" if self._autocasting[0] else ""
        self._log.append(f"forward (training={training}){inside}")
        return self._wrapped(*args, **kwargs)

    def zero_grad(self, *args, **kwargs):
        self._log.append("zero_grad")
        return self._wrapped.zero_grad(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._wrapped, name)


class LoggedScaler:
    def __init__(self, log: list[str]):
        self._log = log

    def scale(self, loss: torch.Tensor) -> torch.Tensor:
        self._log.append("scale")
        return loss

    def unscale_(self, optimizer) -> None:
        self._log.append("unscale_")

    def step(self, optimizer) -> None:
        self._log.append("step")
        optimizer.step()

    def update(self) -> None:
        self._log.append("update")


class LoggedPrecision:
    def __init__(self, log: list[str], autocasting: list[bool]):
        self.scaler, self._autocasting = LoggedScaler(log), autocasting

    @contextlib.contextmanager
    def autocast(self):
        self._autocasting[0] = True
        try:
            yield
        finally:
            self._autocasting[0] = False


STEP_ORDER = ["zero_grad", "forward (training=True) under precision.autocast()", "scale", "average_gradients",
              "unscale_", "clip_grad_norm_", "step", "update"]


@pytest.mark.exercise("7.3", points=1)
def test_the_step_takes_its_parts_in_the_stated_order(lesson, monkeypatch):
    """Mixed precision's parts on a CPU do nothing that shows in the weights: their order is logged instead."""
    log, autocasting = [], [False]
    clip = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(lesson, "average_gradients", lambda model: log.append("average_gradients"))
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *args, **kwargs: log.append("clip_grad_norm_")
                        or clip(*args, **kwargs))
    model = tiny_model(RANK_SEEDS[0])
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    lesson.train_step(Logged(model, log, autocasting), Logged(optimizer, log), IDS[:BATCH],
                      torch.as_tensor(LABELS[:BATCH]), LoggedPrecision(log, autocasting), clip_norm=1.0)
    missing = [part for part in STEP_ORDER if part not in log]
    assert log == STEP_ORDER, (
        f"expected the step's parts in the order {STEP_ORDER}, got {log}"
        + (f": {missing} missing" if missing else ", in another order"))


def drawn_step(rng: np.random.Generator) -> dict:
    return {"batch": int(rng.integers(1, 7)), "length": int(rng.integers(1, 9)), "steps": int(rng.integers(1, 4)),
            "learning_rate": float(rng.choice([0.1, 0.5, 1.0])), "model_seed": int(rng.integers(100)),
            "clip_norm": None if rng.random() < 0.4 else round(float(rng.uniform(0.005, 1.0)), 3),
            "data": int(rng.integers(1 << 30))}


def step_side_by_side(lesson, rank: int, case: dict) -> tuple[dict, dict]:
    """The lesson's and the reference's train_step, each on its own copy of one model, on this rank's drawn
    batches: ((weights, losses) of the lesson's, those of the reference's)."""
    rng = np.random.default_rng([case["data"], rank])
    batches = [(rng.integers(1, WORDS, (case["batch"], case["length"])).astype("int32"),
                torch.as_tensor(rng.integers(0, 2, case["batch"]).astype("float32"))) for _ in range(case["steps"])]

    def run(train_step):
        model = tiny_model(case["model_seed"])
        optimizer = torch.optim.SGD(model.parameters(), lr=case["learning_rate"])
        precision = reference.MixedPrecision("cpu", None)
        losses = [train_step(model, optimizer, ids, targets, precision, case["clip_norm"]) for ids, targets in batches]
        return flat_weights(model), losses

    return side_by_side(lambda: run(lesson.train_step)), side_by_side(lambda: run(reference.train_step))


@pytest.mark.exercise("7.3", points=1)
def test_steps_on_drawn_batches_ranks_and_clip_norms(lesson):
    check_side_by_side(lesson, "train_step", step_side_by_side, drawn_cases(
        drawn_step, lambda case: case["batch"] * case["length"] * case["steps"]), lambda case: (
        f"step like the reference on {case['steps']} drawn batch(es) of {case['batch']} review(s) of "
        f"{case['length']} ids per rank, SGD at {case['learning_rate']}, clip_norm={case['clip_norm']}"))


# --------------------------------------------------------------------------- 7.4 train_data_parallel


def torchrun_environment(rank: int, machines: int) -> dict[str, str]:
    """What torchrun tells rank ``rank`` of 2 processes, on one machine or one on each of 2 machines."""
    per_machine = 2 // machines
    return {"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank % per_machine),
            "LOCAL_WORLD_SIZE": str(per_machine), "GROUP_RANK": str(rank // per_machine)}


def loop_run(lesson, folder, machines: int, labels: np.ndarray = LABELS) -> list[dict]:
    """Each rank's weights, returned losses, printed text and written files after lesson.train_data_parallel."""
    def task(rank: int) -> dict:
        with_references(lesson, graded="train_data_parallel")
        model = tiny_model(RANK_SEEDS[rank])
        optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        own_folder = folder / f"rank{rank}"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            losses = lesson.train_data_parallel(model, optimizer, IDS, labels, BATCH, EPOCHS, seed=SEED, clip_norm=None,
                                                folder=own_folder)
        return {"weights": flat_weights(model), "losses": [float(loss) for loss in losses],
                "printed": printed.getvalue(), "written": sorted(path.name for path in own_folder.iterdir())}

    for rank in range(2):
        (folder / f"rank{rank}").mkdir(parents=True)
    return run_ranks(task, environments=[torchrun_environment(rank, machines) for rank in range(2)])


@pytest.fixture(scope="module")
def loop_runs(lesson, tmp_path_factory) -> dict:
    # Saving a model the first time imports TensorFlow (Keras reads paths through it when it is installed), for
    # seconds: done here once, the forked ranks inherit it.
    tiny_model(0).save(tmp_path_factory.mktemp("warm_up") / "model.keras")
    return {machines: loop_run(lesson, tmp_path_factory.mktemp(f"machines{machines}"), machines)
            for machines in (1, 2)}


@pytest.mark.exercise("7.4", points=3)
def test_the_loop_trains_like_one_process_at_twice_the_batch(loop_runs):
    check_replicas_match_one_process(
        [rank["weights"] for rank in loop_runs[1]], None,
        "the replicas started from different weights: call broadcast_weights(model) before the first step", {
            FIXED_ORDER: "the same order every epoch: pass the epoch to shard",
            WHOLE_DATA: "every rank read every review: read shard(len(labels), rank, world_size, epoch, seed)"})


@pytest.mark.exercise("7.4", points=1)
def test_the_loop_returns_the_mean_loss_over_the_ranks(loop_runs):
    found = [rank["losses"] for rank in loop_runs[1]]
    expected = one_process_at_twice_the_batch()[1]
    mistake = " — each rank returned its own shard's loss: average it over the ranks (all_reduce, ReduceOp.AVG)" \
        if not np.allclose(found[0], found[1], atol=1e-5) else ""
    assert all(len(losses) == EPOCHS and np.allclose(losses, expected, atol=1e-5) for losses in found), (
        f"expected each epoch's mean loss over all reviews, {np.round(expected, 4).tolist()}, on both ranks, got "
        f"{[np.round(losses, 4).tolist() for losses in found]}{mistake}")


@pytest.mark.exercise("7.4", points=2)
def test_only_rank_zero_prints_and_saves(loop_runs):
    expected = [f"epoch-{epoch}.keras" for epoch in range(1, EPOCHS + 1)]
    for machines, (first, second) in loop_runs.items():
        where = "on one machine" if machines == 1 else "one on each of 2 machines (LOCAL_RANK 0 on both)"
        assert first["written"] == expected and first["printed"].strip(), (
            f"expected rank 0 to print each epoch's loss and save {expected}, {where}; it printed "
            f"{first['printed'].strip()[:80]!r} and saved {first['written']}")
        mistake = (" — LOCAL_RANK is 0 on every machine: guard with the global rank, dist.get_rank() == 0"
                   if machines == 2 and not loop_runs[1][1]["written"] else
                   " — every process saves: only rank 0 should" if second["written"] else
                   " — every process prints: only rank 0 should")
        assert not second["written"] and not second["printed"].strip(), (
            f"expected rank 1 to print and save nothing, {where}; it printed {second['printed'].strip()[:80]!r} and "
            f"saved {second['written']}{mistake}")


@pytest.mark.exercise("7.4", points=1)
def test_rank_zero_prints_each_epochs_loss_as_stated(loop_runs):
    first = loop_runs[1][0]
    expected = [f"epoch {epoch}/{EPOCHS}: training loss {loss:.4f}" for epoch, loss in enumerate(first["losses"], 1)]
    assert first["printed"].strip().splitlines() == expected, (
        f"expected rank 0 to print {expected}, got {first['printed'].strip().splitlines()}")


@pytest.mark.exercise("7.4", points=1)
def test_the_loop_takes_the_labels_as_the_data_gives_them(lesson, loop_runs, tmp_path):
    hint = "make the targets float32 tensors (torch.as_tensor(..., dtype=torch.float32))"
    try:
        found = loop_run(lesson, tmp_path, 1, LABELS.astype("int64"))[0]  # whole numbers, as load_imdb gives them
    except AssertionError as error:  # a rank's error, as one line
        raise AssertionError(f"expected int64 labels (as load_imdb gives them) to train, got {error}: {hint}") from None
    assert np.allclose(found["weights"], loop_runs[1][0]["weights"], atol=1e-6), (
        f"expected the same training from int64 labels (as load_imdb gives them) as from float32 ones, got other "
        f"weights: {hint}")


def drawn_loop(rng: np.random.Generator) -> dict:
    return {"reviews": int(rng.integers(1, 24)), "batch_size": int(rng.integers(1, 6)),
            "epochs": int(rng.integers(1, 4)), "seed": int(rng.integers(100)),
            "learning_rate": float(rng.choice([0.1, 0.5])),
            "clip_norm": None if rng.random() < 0.5 else round(float(rng.uniform(0.005, 1.0)), 3),
            "labels": str(rng.choice(["float32", "int64"])), "data": int(rng.integers(1 << 30))}


def loop_side_by_side(lesson, rank: int, case: dict) -> tuple[dict, dict]:
    """The lesson's and the reference's train_data_parallel on the same drawn reviews, each from this rank's own
    start (the replicas differ until a broadcast): ((weights, losses) of the lesson's, those of the reference's)."""
    rng = np.random.default_rng(case["data"])  # the same data on every rank: each reads its own shard of it
    ids = rng.integers(1, WORDS, (case["reviews"], LENGTH)).astype("int32")
    labels = rng.integers(0, 2, case["reviews"]).astype(case["labels"])

    def run(train_data_parallel):
        model = tiny_model(RANK_SEEDS[rank % 2] + case["seed"])
        optimizer = torch.optim.SGD(model.parameters(), lr=case["learning_rate"])
        with contextlib.redirect_stdout(io.StringIO()):
            losses = train_data_parallel(model, optimizer, ids, labels, case["batch_size"], case["epochs"],
                                         seed=case["seed"], clip_norm=case["clip_norm"])
        return flat_weights(model), losses

    return side_by_side(lambda: run(lesson.train_data_parallel)), side_by_side(lambda: run(reference.train_data_parallel))


@pytest.mark.exercise("7.4", points=1)
def test_the_loop_on_drawn_data_batch_sizes_epochs_and_ranks(lesson):
    check_side_by_side(lesson, "train_data_parallel", loop_side_by_side, drawn_cases(
        drawn_loop, lambda case: case["reviews"] * case["epochs"]), lambda case: (
        f"train like the reference on {case['reviews']} drawn reviews ({case['labels']} labels), "
        f"batch_size={case['batch_size']}, epochs={case['epochs']}, seed={case['seed']}, SGD at "
        f"{case['learning_rate']}, clip_norm={case['clip_norm']}"))
