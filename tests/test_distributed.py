"""Lesson 7's machinery beyond its graded checks: the hand-written data parallelism takes DistributedDataParallel's
steps, the 16-bit paths of a GPU run (tried on the CPU), the group of one, the GPU in the benchmark's hardware
line, and the benchmark's command end to end."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import torch
import torch.distributed as dist

from benchmarks import run
from shared.lessons import distributed as LESSON
from shared.paths import ROOT
from shared.training import describe_device
from tests.lessons.checking import run_ranks, to_numpy

RNG = np.random.default_rng(0)
IDS = RNG.integers(1, 20, (16, 6)).astype("int32")
LABELS = RNG.integers(0, 2, 16).astype("float32")


def tiny_model(seed: int) -> keras.Model:
    ids = keras.Input(shape=(None,), dtype="int32")
    initializer = keras.initializers.RandomUniform(-0.05, 0.05, seed)
    embedding = keras.layers.Embedding(20, 4, embeddings_initializer=initializer)
    x = keras.layers.GlobalAveragePooling1D()(embedding(ids))
    return keras.Model(ids, keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed))(x))


def flat_weights(model: keras.Model) -> np.ndarray:
    return np.concatenate([to_numpy(variable).ravel() for variable in model.weights])


def rank_rows(rank: int, step: int) -> np.ndarray:
    return np.arange(16)[rank::2][4 * step : 4 * step + 4]


def test_the_lessons_data_parallel_steps_are_distributed_data_parallels():
    """Each rank starts from its own weights: DDP broadcasts rank 0's when it wraps the model, then averages the
    gradients during backward(); the lesson's broadcast_weights and train_step must end where DDP does."""
    def task(rank: int) -> dict[str, np.ndarray]:
        found = {}
        for way in ("ddp", "lesson"):
            model = tiny_model(seed=rank)
            module = torch.nn.parallel.DistributedDataParallel(model) if way == "ddp" else model
            optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
            if way == "lesson":
                LESSON.broadcast_weights(model)
            for step in range(2):
                rows = rank_rows(rank, step)
                targets = torch.as_tensor(LABELS[rows])
                if way == "lesson":
                    LESSON.train_step(model, optimizer, IDS[rows], targets, LESSON.MixedPrecision("cpu", None), None)
                    continue
                optimizer.zero_grad()
                torch.nn.functional.binary_cross_entropy_with_logits(
                    module(IDS[rows], training=True)[:, 0], targets).backward()
                optimizer.step()
            found[way] = flat_weights(model)
        return found

    for rank, found in enumerate(run_ranks(task)):
        assert np.abs(found["ddp"] - found["lesson"]).max() < 1e-6, rank
        assert np.abs(found["lesson"] - flat_weights(tiny_model(seed=0))).max() > 1e-3  # it trained


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_16_bit_step_with_its_loss_scaler_follows_the_float32_step(dtype):
    """The GPU paths, run on the CPU (autocast and GradScaler take the CPU too): float16 with loss scaling,
    bfloat16 without, each step close to float32's."""
    def task(rank: int) -> dict:
        found = {}
        for name, step_dtype in (("float32", None), ("16-bit", dtype)):
            model = tiny_model(seed=0)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
            precision = LESSON.MixedPrecision("cpu", step_dtype)
            for step in range(2):
                rows = rank_rows(0, step)
                LESSON.train_step(model, optimizer, IDS[rows], torch.as_tensor(LABELS[rows]), precision, 1.0)
            found[name] = flat_weights(model)
            found[f"{name} scaler"] = precision.scaler.is_enabled()
        return found

    found = run_ranks(task, world_size=1)[0]
    assert found["16-bit scaler"] == (dtype == torch.float16) and not found["float32 scaler"]
    assert 0 < np.abs(found["16-bit"] - found["float32"]).max() < 2e-2  # rounded to 16 bits, no more
    assert np.abs(found["16-bit"] - flat_weights(tiny_model(seed=0))).max() > 1e-3  # it trained


def test_mixed_precision_is_16_bit_on_a_gpu_only(monkeypatch):
    assert LESSON.compute_dtype(torch.device("cpu")) is None
    for has_bfloat16, expected in ((True, torch.bfloat16), (False, torch.float16)):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: has_bfloat16)
        assert LESSON.compute_dtype(torch.device("cuda", 0)) == expected
        assert LESSON.compute_dtype(torch.device("cuda", 0), mixed_precision=False) is None


def test_without_torchrun_the_lesson_forms_a_group_of_one():
    def task(rank: int) -> tuple:
        dist.destroy_process_group()  # run_ranks made one; the lesson must make its own
        group = LESSON.start_process_group()
        model = tiny_model(seed=0)
        for variable in model.trainable_weights:
            variable.value.grad = torch.ones(tuple(variable.shape))
        return group, LESSON.seconds_per_all_reduce(model, repeats=3)

    group, seconds = run_ranks(task, world_size=1)[0]
    assert group == (0, 1) and 0 < seconds < 1


def test_hardware_names_the_gpus_torch_sees(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA L4")
    assert run.hardware().endswith(", 2 GPUs (NVIDIA L4)")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert run.hardware().endswith(", no GPU")


def test_a_run_says_where_it_computes():
    threads = torch.get_num_threads()
    assert describe_device() == f"cpu ({threads} thread{'s' * (threads > 1)})"


@pytest.mark.slow
@pytest.mark.real_data
def test_the_benchmark_command_records_a_two_process_run(tmp_path):
    results = tmp_path / "distributed.json"
    subprocess.run([sys.executable, "-m", "benchmarks.distributed", "--processes", "2", "--subset", "64",
                    "--results", str(results)], cwd=tmp_path,
                   env=os.environ | {"PYTHONPATH": str(ROOT), "COURSE_ROOT": str(tmp_path)},  # its artifacts/ here
                   check=True, capture_output=True, timeout=600)
    (record,) = json.loads(results.read_text())
    assert record["processes"] == 2 and record["batch_per_process"] == 32 and len(record["peak_memory_mb"]) == 2
    assert record["backend"] == "gloo" and record["hardware"] == run.hardware()
    assert 0 < record["all_reduce_seconds_per_step"] < record["seconds_per_step"]
    assert record["launch"] == ("torchrun --standalone --nproc-per-node=2 -m benchmarks.distributed --worker "
                                f"--subset 64 --results {results}")
