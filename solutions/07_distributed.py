# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 7 — Data-parallel training with torch.distributed
#
# You will: train one Keras model in several processes at once, each reading its own share of the reviews
# and all of them averaging their gradients after every step (data parallelism); launch it with `torchrun`
# on one machine or several; check that 2 processes at batch 32 take the very steps of 1 process at batch
# 64; leave logs, checkpoints and evaluation to one process; and measure what the averaging costs.
#
# Time: the graded checks take 36.5 s on two CPU cores, forked ranks included (`python -m benchmarks.grade_time`);
# the run of lesson 3's quick LSTM on 1 and on 2 processes is recorded by `python -m benchmarks.distributed` in
# `benchmarks/distributed.json`.
# Graded: exercises 7.1–7.4 (`./course grade --lesson 7`).

# %% tags=["save"]
import os

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: torch.distributed moves the gradients

import math
import time
from pathlib import Path

import keras
import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data.distributed import DistributedSampler

from shared.batches import keras_batches, predict_in_order
from shared.data import Imdb, load_imdb, validation_split
from shared.lessons import lstm  # lesson 3's model, its saving and its configuration
from shared.paths import ARTIFACTS
from shared.text import build_vocabulary, encode
from shared.training import describe_device, set_random_seed, with_progress

OUTPUT = ARTIFACTS / "lesson07"

# %% [markdown]
# ## Many replicas, one model
#
# Fine-tuning MiniLM on the whole training split took 59.7 minutes on the course's two CPU cores
# (lesson 5), and bigger encoders want more than one device. *Data parallelism* is the first way out.
# Each of N processes (one per GPU, or per machine) holds a whole copy of the model, a *replica*, and
# reads a different share of every batch. After the backward pass, the N gradients are averaged by an
# *all-reduce* (a collective operation that leaves the same result in every process), so every replica
# applies the same update and the replicas stay identical. With a device per process, a step at batch
# N × B costs one forward and backward pass at batch B, plus the all-reduce.
#
# Keras 3.15's own API for this, `keras.distribution`, serves the JAX backend only. On the PyTorch backend,
# a Keras model *is* a `torch.nn.Module`, so PyTorch's engine applies directly: `torch.distributed`. The
# Keras guide "Multi-GPU distributed training with PyTorch" wraps the model in `DistributedDataParallel`
# (DDP), which does two things: it copies rank 0's weights to every process when it is built, then it
# averages the gradients during `backward()`. Here we write those two things out by hand, to see them and
# to time them; `tests/test_distributed.py` checks that they take the same steps as DDP.
#
# ## Processes, ranks and the launcher
#
# `torchrun` starts the processes and tells each one who it is, in environment variables: its *rank*
# (`RANK`, 0 to N-1), `WORLD_SIZE` (N), `LOCAL_RANK` (its number on its own machine, which picks its GPU)
# and where to meet the others (`MASTER_ADDR`, `MASTER_PORT`). Each process runs this whole file:
#
# ```bash
# torchrun --nproc-per-node=2 lessons/07_distributed.py       # 2 processes on this machine
# ```
#
# On two machines, run the same command on each, naming how many machines there are and a rendezvous
# point that all of them can reach (`HOST`: an address of the first machine; any free port):
#
# ```bash
# torchrun --nnodes=2 --nproc-per-node=1 --rdzv-backend=c10d --rdzv-endpoint=HOST:29400 --rdzv-id=imdb \
#     lessons/07_distributed.py
# ```
#
# `torchrun` is *elastic*: `--nnodes=1:2` starts with one machine or two, and `--max-restarts=3` starts
# every process again when one fails (a script that reloads its last checkpoint then resumes from it).
# The processes join a *process group* over a communication backend: gloo on CPUs, nccl on NVIDIA GPUs
# (it moves tensors between GPUs without passing through the CPU). Run without `torchrun` (a notebook,
# `python lessons/07_distributed.py`), the lesson forms a group of one process, and the same code trains
# as usual.

# %% tags=["save"]
def start_process_group() -> tuple[int, int]:
    """Join the process group that torchrun describes in the environment, or form a group of one;
    return (rank, world size). Each process takes its own GPU if there are GPUs, its share of the cores if not."""
    if dist.is_initialized():  # a notebook cell run twice
        return dist.get_rank(), dist.get_world_size()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if "RANK" not in os.environ:  # not launched by torchrun
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
        return 0, 1
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))  # before Keras puts anything on a GPU
    else:
        torch.set_num_threads(max(1, os.cpu_count() // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


# %% [markdown]
# ## Exercise 7.1 — Each rank its own reviews
#
# Every rank must read a different share of the reviews, and all shares together must be the whole
# training set, in a new order every epoch. PyTorch's `DistributedSampler` does it: every rank shuffles
# `range(size)` with the same seed, so all of them agree on one order, and rank r takes positions r,
# r + N, r + 2N... of it. The order must change every epoch, the same way on every rank:
# `sampler.set_epoch(epoch)` adds the epoch to the seed. When N does not divide the number of reviews,
# the sampler repeats a few reviews so that every rank has as many: a rank with one batch fewer would
# stop while the others wait for it in their last all-reduce, forever.
#
# Return the indices that `rank` reads in `epoch`, in the order it reads them.

# %% tags=["save"]
def shard(size: int, rank: int, world_size: int, epoch: int, seed: int = 0) -> list[int]:
    """This rank's share of range(size) in this epoch: the same length as every other rank's, and disjoint
    from them but for the few reviews repeated to even out the lengths."""
    # BEGIN SOLUTION
    # HINT: torch.utils.data.DistributedSampler over range(size) knows ranks, shuffling and seeds; mind the epoch.
    sampler = DistributedSampler(range(size), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)
    # END SOLUTION


# %% [markdown]
# ## Exercise 7.2 — The same start, the same update
#
# Two collectives keep the replicas identical. `dist.broadcast(tensor, src=0)` copies rank 0's tensor
# into every rank's, in place: do it for every weight before the first step (trainable or not: a
# BatchNorm's moving averages are weights too), so that all replicas start alike even if each rank built
# its model with its own seed. `dist.all_reduce(tensor, op=...)` replaces every rank's tensor by the sum
# (`ReduceOp.SUM`, the default) or the mean (`ReduceOp.AVG`) over the ranks, in place: the mean of the
# gradients is the gradient of the whole batch's mean loss. Each weight's gradient is in
# `variable.value.grad` (the PyTorch tensor behind a Keras variable).

# %% tags=["save"]
def broadcast_weights(model: keras.Model) -> None:
    """Copy rank 0's weights, trainable or not, into every rank's model, in place."""
    # BEGIN SOLUTION
    # HINT: one dist.broadcast per weight (its PyTorch tensor is variable.value), from rank 0, in place.
    for variable in model.weights:
        dist.broadcast(variable.value.data, src=0)
    # END SOLUTION


def average_gradients(model: keras.Model) -> None:
    """Replace the gradient of each trainable weight by its mean over all ranks, in place."""
    # BEGIN SOLUTION
    # HINT: one dist.all_reduce per trainable weight's .grad, in place; which ReduceOp gives a mean?
    for variable in model.trainable_weights:
        dist.all_reduce(variable.value.grad, op=dist.ReduceOp.AVG)
    # END SOLUTION


# %% [markdown]
# ## 16-bit on a GPU
#
# On a GPU, computing in 16 bits moves half the bytes of float32 and uses the tensor cores.
# `torch.autocast` runs the matrix products in 16 bits and keeps the sensitive operations (the loss, the
# sums) in 32. bfloat16 keeps float32's range, so it needs nothing more; float16, on GPUs without
# bfloat16, loses small gradients to zero unless the loss is first multiplied by a large factor, which a
# `GradScaler` chooses and removes before the update (it skips a step whose gradients overflowed).
# Gradients are averaged before the scaler looks at them, so every rank skips the same steps. On a CPU
# the option is off: float32 stays.

# %% tags=["save"]
def compute_dtype(device: torch.device, mixed_precision: bool = True) -> torch.dtype | None:
    """The 16-bit type to compute in: bfloat16 on a GPU that has it, float16 on an older GPU, None (float32)
    on a CPU or when mixed precision is off."""
    if not mixed_precision or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


class MixedPrecision:
    """Autocast to ``dtype`` (None: float32) and, for float16 only, a loss scaler."""

    def __init__(self, device_type: str, dtype: torch.dtype | None):
        self.device_type, self.dtype = device_type, dtype
        self.scaler = torch.amp.GradScaler(device_type, enabled=dtype == torch.float16)

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)


# %% [markdown]
# ## Exercise 7.3 — One data-parallel step
#
# A step on this rank's batch, in the order that keeps the replicas identical: clear the gradients
# (`optimizer.zero_grad()`: PyTorch adds new gradients to old ones), compute the logits (the model called
# with `training=True`, so that its dropout is on) and the batch's mean loss (`torch.nn.functional.binary_cross_entropy_with_logits`) under `precision.autocast()`, call
# `backward()` on the scaled loss (`precision.scaler.scale(loss)`), *average the gradients*, unscale them
# (`precision.scaler.unscale_(optimizer)`), clip their norm to `clip_norm` (`torch.nn.utils.clip_grad_norm_`,
# unless it is None), then `precision.scaler.step(optimizer)` and `precision.scaler.update()`. Clip after
# averaging: the gradient to clip is the whole batch's, not this rank's half. Return the loss as a float.

# %% tags=["save"]
def train_step(model: keras.Model, optimizer: torch.optim.Optimizer, ids: np.ndarray, targets: torch.Tensor,
               precision: MixedPrecision, clip_norm: float | None = 1.0) -> float:
    """One step on this rank's batch (``ids``, ``targets``): every rank applies the averaged gradient."""
    # BEGIN SOLUTION
    # HINT: zero_grad, autocast forward + loss, scaled backward, average_gradients, unscale_, clip, step, update.
    optimizer.zero_grad()
    with precision.autocast():
        logits = model(ids, training=True)[:, 0]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
    precision.scaler.scale(loss).backward()
    average_gradients(model)
    precision.scaler.unscale_(optimizer)
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    precision.scaler.step(optimizer)
    precision.scaler.update()
    return loss.item()
    # END SOLUTION


# %% [markdown]
# ## Exercise 7.4 — The loop, and one process that writes
#
# Start every replica from rank 0's weights; then, each epoch, read this rank's shard (exercise 7.1, with
# the epoch) in batches of `batch_size` (per process: the batch of one step is `batch_size` × world size
# reviews), and take a `train_step` on each. The loss of an epoch is the mean of its steps' losses,
# averaged over the ranks with one more all-reduce, so that it is the whole data's.
#
# Every process runs the same code, so everything that writes is guarded: only the process of global
# rank 0 (`dist.get_rank() == 0`) prints the epoch's loss (`f"epoch {epoch + 1}/{epochs}: training loss
# {loss:.4f}"`) and, when a `folder` is given, saves the model as `folder/epoch-1.keras`, `epoch-2.keras`...
# Two processes writing one file at once can leave it corrupt, and N copies of each log line help nobody.
# Mind `LOCAL_RANK`: it is 0 on every machine. Return the losses of the epochs.

# %% tags=["save"]
def train_data_parallel(model: keras.Model, optimizer: torch.optim.Optimizer, ids: np.ndarray, labels: np.ndarray,
                        batch_size: int, epochs: int, seed: int = 0, clip_norm: float | None = 1.0,
                        folder: str | Path | None = None, mixed_precision: bool = True) -> list[float]:
    """Train this rank's replica for ``epochs`` on its shards of (ids, labels); return each epoch's mean loss."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    device = next(model.parameters()).device
    precision = MixedPrecision(device.type, compute_dtype(device, mixed_precision))
    losses = []
    # BEGIN SOLUTION
    # HINT: broadcast_weights first; per epoch: shard(len(labels), rank, world_size, epoch, seed), then train_step
    # HINT: per batch; all_reduce the mean loss with ReduceOp.AVG; if rank == 0: print and model.save.
    broadcast_weights(model)
    for epoch in range(epochs):
        rows = np.array(shard(len(labels), rank, world_size, epoch, seed))
        step_losses = []
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            targets = torch.as_tensor(labels[batch], dtype=torch.float32, device=device)
            step_losses.append(train_step(model, optimizer, ids[batch], targets, precision, clip_norm))
        epoch_loss = torch.tensor(np.mean(step_losses), dtype=torch.float32, device=device)
        dist.all_reduce(epoch_loss, op=dist.ReduceOp.AVG)
        losses.append(epoch_loss.item())
        if rank == 0:
            print(f"epoch {epoch + 1}/{epochs}: training loss {losses[-1]:.4f}", flush=True)
            if folder is not None:
                model.save(Path(folder) / f"epoch-{epoch + 1}.keras")
    # END SOLUTION
    return losses


# %% [markdown]
# ## What the averaging costs
#
# Each step, every process sends and receives about as many bytes as the model has gradient bytes (4 per
# parameter in float32) and waits for the slowest process. `seconds_per_all_reduce` times
# `average_gradients` alone, all ranks starting together: the communication of one step, without the
# waiting.

# %% tags=["save"]
def seconds_per_all_reduce(model: keras.Model, repeats: int = 20) -> float:
    """The median time of one average_gradients(model), every rank starting at a barrier."""
    device = next(model.parameters()).device
    times = []
    for _ in range(repeats):
        dist.barrier()
        started = time.perf_counter()
        average_gradients(model)
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # nccl returns before the transfer is done
        times.append(time.perf_counter() - started)
    return float(np.median(times))


# %% [markdown]
# ## The whole run: lesson 3's LSTM on every rank
#
# `run_experiment` trains lesson 3's model in its `quick` configuration (4 epochs at a global batch of 64)
# with PyTorch's Adam at 1e-3 and the global gradient norm clipped at 1 (lesson 3's Keras optimizer clips
# each weight's gradient instead, so the two runs are alike, not identical), on the same training reviews,
# now split across the processes: at batch 64 / N per process (N dividing 64), every step is one global
# batch of 64. Unlike lesson 3, the batches are not grouped by length. Every rank builds the vocabulary
# (the same, from the same reviews) and its own model with its own seed (its own dropout masks; the
# weights come from rank 0). Rank 0 alone evaluates on the validation and test reviews and saves the model.

# %% tags=["save"]
def run_experiment(imdb: Imdb, mixed_precision: bool = True, output: Path = OUTPUT) -> dict | None:
    """Train lesson 3's quick LSTM on this rank's shards; rank 0 returns its measures, the others None."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    config = lstm.CONFIGS["quick"]
    set_random_seed(rank)
    train_split, valid_split = validation_split(imdb.train, fraction=0.1, seed=0)
    vocabulary = build_vocabulary(train_split.texts, lstm.MAX_WORDS, lstm.MIN_COUNT)
    model = lstm.build_fast_lstm(len(vocabulary), config["embedding_dim"], config["units"], config["num_layers"],
                                 config["dropout"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    if rank == 0:
        output.mkdir(parents=True, exist_ok=True)
    ids = encode(train_split.texts, vocabulary, lstm.LENGTH, config["keep"])
    batch_size = config["batch_size"] // world_size
    started = time.perf_counter()
    losses = train_data_parallel(model, optimizer, ids, train_split.labels, batch_size, config["epochs"],
                                 folder=output, mixed_precision=mixed_precision)
    train_seconds = time.perf_counter() - started
    steps = config["epochs"] * math.ceil(len(shard(len(train_split), rank, world_size, 0)) / batch_size)
    all_reduce_seconds = seconds_per_all_reduce(model)
    if rank != 0:
        return None

    def accuracy(split) -> float:
        batches = keras_batches(encode(split.texts, vocabulary, lstm.LENGTH, config["keep"]), split.labels, 256,
                                bucket=True)
        logits = predict_in_order(with_progress(model.predict_on_batch, len(batches)), batches)
        return float(np.mean((logits[:, 0] > 0) == split.labels))

    lstm.save_classifier(model, vocabulary, output / "classifier")
    dtype = compute_dtype(next(model.parameters()).device, mixed_precision) or torch.float32
    return {"processes": world_size, "train_reviews": len(train_split), "batch_per_process": batch_size,
            "train_seconds": train_seconds, "steps": steps, "seconds_per_step": train_seconds / steps,
            "all_reduce_seconds_per_step": all_reduce_seconds, "gradient_megabytes": 4 * model.count_params() / 1e6,
            "losses": losses, "validation_accuracy": accuracy(valid_split), "test_accuracy": accuracy(imdb.test),
            "compute_dtype": str(dtype).removeprefix("torch.")}


# %% [markdown]
# Run this lesson with `torchrun --nproc-per-node=2 lessons/07_distributed.py` (or `python
# lessons/07_distributed.py`, one process). Every process says where it computes; rank 0 prints the rest.

# %% tags=["long"] recorded="distributed/lstm-quick"
# Long: `./course grade` skips this cell (tagged "long"); run it here to see the real run.
rank, world_size = start_process_group()
print(f"rank {rank} of {world_size}: {describe_device()}", flush=True)
result = run_experiment(load_imdb())
if result is not None:
    print(f"{world_size} process(es), batch {result['batch_per_process']} each: {result['train_seconds'] / 60:.1f} min "
          f"of training, {result['seconds_per_step'] * 1000:.0f} ms per step, of which "
          f"{result['all_reduce_seconds_per_step'] * 1000:.1f} ms to average {result['gradient_megabytes']:.1f} MB "
          f"of gradients; test accuracy {result['test_accuracy']:.4f}")
dist.destroy_process_group()

# %% [markdown]
# ## Two shared cores, two GPUs, two machines
#
# Here both processes share the same two cores, one thread each instead of two threads for one process:
# a second process adds no arithmetic the machine could not already do. It splits each step into two
# halves that run side by side, and the all-reduce comes on top. `benchmarks/distributed.json` records
# the run on 1 and on 2 processes with its communication time (`python -m benchmarks.distributed`).
#
# On two GPUs, each process has a device of its own: the arithmetic of a step really is split in two,
# and nccl moves the gradients from GPU to GPU. The all-reduce then weighs more, in proportion, since the
# arithmetic shrank; DDP hides part of it by starting to average each bucket of gradients while
# `backward()` is still computing the others, which our loop, averaging after `backward()`, does not.
# Across two machines, the same bytes cross the network every step: the time to send them sets a floor
# under the time of a step. A larger batch per process (fewer steps) lowers the total, and DDP's
# communication hooks can send the gradients in 16 bits.
# None of this was measured on a GPU or a second machine: the course's figures come from two CPU cores.
