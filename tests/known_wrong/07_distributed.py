"""Known-wrong solutions of lesson 7 (see shared/grading/known_wrong.py)."""

from shared.grading.known_wrong import wrong

SAMPLER = "sampler = DistributedSampler(range(size), num_replicas=world_size, rank=rank, shuffle=True, seed=seed)"
AVERAGE = "        dist.all_reduce(variable.value.grad, op=dist.ReduceOp.AVG)\n"
BACKWARD = "    precision.scaler.scale(loss).backward()\n"
STEP_AVERAGE = "    average_gradients(model)\n    precision.scaler.unscale_(optimizer)\n"
CLIP = ("    if clip_norm is not None:\n"
        "        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)\n")
SHARD_CALL = "rows = np.array(shard(len(labels), rank, world_size, epoch, seed))"
RANK_ZERO = ('        if rank == 0:\n'
             '            print(f"epoch {epoch + 1}/{epochs}: training loss {losses[-1]:.4f}", flush=True)\n'
             '            if folder is not None:\n'
             '                model.save(Path(folder) / f"epoch-{epoch + 1}.keras")\n')

KNOWN_WRONG = [
    # 7.1 shard
    wrong("7.1", "no set_epoch", ("    sampler.set_epoch(epoch)\n", ""),
          feedback="the same order every epoch: call sampler.set_epoch"),
    wrong("7.1", "a seed per rank", (SAMPLER, SAMPLER.replace("seed=seed)", "seed=seed + rank)")),
          feedback="the ranks' shares overlap"),
    wrong("7.1", "no seed given to the sampler", (SAMPLER, SAMPLER.replace(", seed=seed)", ")")),
          feedback="the seed argument is ignored"),
    wrong("7.1", "not shuffled", (SAMPLER, SAMPLER.replace("shuffle=True", "shuffle=False")),
          feedback="not shuffled: shuffle=True"),
    wrong("7.1", "rank and world size not given to the sampler",
          (SAMPLER, "sampler = DistributedSampler(range(size), num_replicas=1, rank=0, shuffle=True, seed=seed)"),
          feedback="every rank read every review"),
    wrong("7.1", "contiguous slices by hand",
          (f"    {SAMPLER}\n    sampler.set_epoch(epoch)\n    return list(sampler)\n",
           "    order = np.random.default_rng(seed + epoch).permutation(size)\n"
           "    return np.array_split(order, world_size)[rank].tolist()\n"),
          feedback="the ranks would take different numbers of steps"),
    wrong("7.1", "by hand, padded with too few reviews when there are fewer reviews than ranks",
          (f"    {SAMPLER}\n    sampler.set_epoch(epoch)\n    return list(sampler)\n",
           "    generator = torch.Generator()\n    generator.manual_seed(seed + epoch)\n"
           "    order = torch.randperm(size, generator=generator).tolist()\n"
           "    order += order[: -size % world_size]\n    return order[rank::world_size]\n"),
          feedback=r"expected shard\(.*\) to give each of the .*the smallest of the inputs drawn"),
    # 7.2 broadcast_weights, average_gradients
    wrong("7.2", "summed, not averaged", (AVERAGE, "        dist.all_reduce(variable.value.grad)\n"),
          feedback="summed, not averaged"),
    wrong("7.2", "the all-reduce of a copy",
          (AVERAGE, AVERAGE.replace("variable.value.grad,", "variable.value.grad.clone(),")),
          feedback="each rank kept its own gradient"),
    wrong("7.2", "the average of a copy",
          (AVERAGE, "        gradient = variable.value.grad\n"
                    "        dist.all_reduce(gradient)\n"
                    "        gradient = gradient / dist.get_world_size()\n"),
          feedback="summed, not averaged"),
    wrong("7.2", "reduce, not all_reduce",
          (AVERAGE, "        dist.reduce(variable.value.grad, dst=0, op=dist.ReduceOp.AVG)\n"),
          feedback="only rank 0 got the mean: all_reduce, not reduce"),
    wrong("7.2", "a mean over two ranks, whatever their number",
          (AVERAGE, "        dist.all_reduce(variable.value.grad)\n        variable.value.grad /= 2\n"),
          feedback=r"expected the mean of the \d ranks' gradients on every rank: .*GRADE_SEED"),
    wrong("7.2", "the smallest weight over the ranks, which is rank 0's when it holds 1 and the others more",
          ("        dist.broadcast(variable.value.data, src=0)\n",
           "        dist.all_reduce(variable.value.data, op=dist.ReduceOp.MIN)\n"),
          feedback=r"expected rank 0's weights on each of \d ranks, .*GRADE_SEED"),
    wrong("7.2", "the gradients gathered on the first call, averaged again at every later one",
          ("    for variable in model.trainable_weights:\n" + AVERAGE,
           "    gradients = model.__dict__.setdefault(\"_gradients\", [v.value.grad for v in model.trainable_weights])\n"
           "    for gradient in gradients:\n        dist.all_reduce(gradient, op=dist.ReduceOp.AVG)\n"),
          feedback="each call must act on the weights and gradients the model holds then"),
    wrong("7.2", "broadcast into a copy",
          ("        dist.broadcast(variable.value.data, src=0)\n",
           "        dist.broadcast(variable.value.detach().clone(), src=0)\n"),
          feedback="each rank kept its own weights"),
    wrong("7.2", "trainable weights only broadcast",
          ("    for variable in model.weights:\n        dist.broadcast(",
           "    for variable in model.trainable_weights:\n        dist.broadcast("),
          feedback="the non-trainable weights .* were not broadcast"),
    # 7.3 train_step
    wrong("7.3", "gradients not averaged", (STEP_AVERAGE, "    precision.scaler.unscale_(optimizer)\n"),
          feedback="each rank stepped with its own gradient"),
    wrong("7.3", "averaged after the step",
          (STEP_AVERAGE, "    precision.scaler.unscale_(optimizer)\n"),
          ("    precision.scaler.update()\n    return loss.item()",
           "    precision.scaler.update()\n    average_gradients(model)\n    return loss.item()"),
          feedback="each rank stepped with its own gradient"),
    wrong("7.3", "clipped before averaging",
          (BACKWARD + STEP_AVERAGE + CLIP, BACKWARD + "    precision.scaler.unscale_(optimizer)\n" + CLIP
           + "    average_gradients(model)\n"),
          feedback="each rank clipped its own gradient before averaging"),
    wrong("7.3", "no zero_grad",
          ("    optimizer.zero_grad()\n    with precision.autocast():", "    with precision.autocast():"),
          feedback="the gradients add up from step to step"),
    wrong("7.3", "loss summed over the batch",
          ("binary_cross_entropy_with_logits(logits, targets)",
           'binary_cross_entropy_with_logits(logits, targets, reduction="sum")'),
          feedback="the loss is summed over the batch"),
    wrong("7.3", "the model called in inference mode",
          ("logits = model(ids, training=True)[:, 0]", "logits = model(ids)[:, 0]"),
          feedback="training=True"),
    wrong("7.3", "clipped without unscaling",
          ("    precision.scaler.unscale_(optimizer)\n", ""),
          feedback="\\['unscale_'\\] missing"),
    wrong("7.3", "the scaler never updated",
          ("    precision.scaler.update()\n", ""),
          feedback="\\['update'\\] missing"),
    wrong("7.3", "the step's loss not returned", ("    precision.scaler.update()\n    return loss.item()",
                                                  "    precision.scaler.update()"),
          feedback=r"expected train_step to step like the reference on .*: rank 0 returned \[None.* where a float loss was expected"),
    wrong("7.3", "the summed loss divided by the checks' batch size (4), not by the batch's own",
          ("binary_cross_entropy_with_logits(logits, targets)",
           'binary_cross_entropy_with_logits(logits, targets, reduction="sum") / 4'),
          feedback=r"expected train_step to step like the reference on .* returned the losses"),
    # 7.4 train_data_parallel
    wrong("7.4", "no broadcast",
          ("    broadcast_weights(model)\n    for epoch in range(epochs):", "    for epoch in range(epochs):"),
          feedback="the replicas started from different weights"),
    wrong("7.4", "the epoch not given to shard", (SHARD_CALL, SHARD_CALL.replace("epoch, seed", "0, seed")),
          feedback="the same order every epoch: pass the epoch to shard"),
    wrong("7.4", "every rank reads every review", (SHARD_CALL, SHARD_CALL.replace("rank, world_size", "0, 1")),
          feedback="every rank read every review"),
    wrong("7.4", "each rank's own loss", ("        dist.all_reduce(epoch_loss, op=dist.ReduceOp.AVG)\n", ""),
          feedback="each rank returned its own shard's loss"),
    wrong("7.4", "every rank writes",
          (RANK_ZERO, '        print(f"epoch {epoch + 1}/{epochs}: training loss {losses[-1]:.4f}", flush=True)\n'
                      '        if folder is not None:\n'
                      '            model.save(Path(folder) / f"epoch-{epoch + 1}.keras")\n'),
          feedback="every process saves: only rank 0 should"),
    wrong("7.4", "guarded by LOCAL_RANK",
          (RANK_ZERO, RANK_ZERO.replace("if rank == 0:", 'if int(os.environ["LOCAL_RANK"]) == 0:')),
          feedback="LOCAL_RANK is 0 on every machine"),
    wrong("7.4", "the epochs counted from 0 in the log",
          ('print(f"epoch {epoch + 1}/{epochs}', 'print(f"epoch {epoch}/{epochs}'),
          feedback="expected rank 0 to print \\['epoch 1/2"),
    wrong("7.4", "the labels' own dtype for the targets",
          ("torch.as_tensor(labels[batch], dtype=torch.float32, device=device)",
           "torch.as_tensor(labels[batch], device=device)"),
          feedback="expected int64 labels .* to train, got .*: make the targets float32 tensors"),
    wrong("7.4", "every rank prints",
          (RANK_ZERO, '        print(f"epoch {epoch + 1}/{epochs}: training loss {losses[-1]:.4f}", flush=True)\n'
                      '        if rank == 0 and folder is not None:\n'
                      '            model.save(Path(folder) / f"epoch-{epoch + 1}.keras")\n'),
          feedback="every process prints: only rank 0 should"),
    wrong("7.4", "the last, partial batch of a shard left out",
          ("for start in range(0, len(rows), batch_size):", "for start in range(0, len(rows) - batch_size + 1, batch_size):"),
          feedback=r"expected train_data_parallel to train like the reference on .*GRADE_SEED"),
]
