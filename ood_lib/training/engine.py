"""The training engine shared by every density model of the book.

``train`` fits any model that has ``bits_per_dim(x_uint8, generator) -> Tensor[N]``
(dequantization inside the model) and a JSON-serialisable ``config``, by
minimising the mean bits per dimension with Adamax (Glow's optimiser), a linear
learning-rate warmup and gradient-norm clipping.

Reproducibility and resumption rest on one design choice: everything random
during training is a pure function of ``(config.seed, step)``. The minibatch
of step ``s`` comes from a permutation seeded by ``(seed, epoch)`` and its
dequantization noise from a generator seeded by ``(seed, step)``, so a run
resumed from a checkpoint at step ``s`` draws exactly the batches and noise the
uninterrupted run would have drawn. Evaluation uses fixed subsets and a fixed
noise seed, so its curves move only because the model moves (Figure 4d).

**Compiled training step** (``TrainConfig.compile``, else ``OOD_COMPILE=0|1``; default off): the
loss goes through ``ood_lib.training.compiled_step.CompiledLoss``. Dequantization noise is drawn outside the
compiled graphs, so batches and noise are an eager run's; results equal eager ones to float
tolerance, a run resumed in the same mode is bit-identical to an uninterrupted one, and the switch
is not part of a model's identity. It stays off until a quiet-machine benchmark shows that it pays.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ood_lib.data.dequantization import dequantize
from ood_lib.settings.device import get_device
from ood_lib.settings.profiles import TrainConfig
from ood_lib.training.compiled_step import CompiledLoss, compile_enabled
from ood_lib.training.distributed import BitsPerDim, distributed_rank_and_size, mean_over_ranks
from ood_lib.training.model_files import load_checkpoint, save_checkpoint
from ood_lib.training.outlier_exposure import OutlierExposure
from ood_lib.training.perturbation import perturb_pixels
from ood_lib.training.run_config import restore_rng_states, rng_states, run_config

log = logging.getLogger(__name__)

# Examples per forward pass during evaluation (no gradients, so larger than a training batch).
EVAL_BATCH_SIZE = 256

# Independent random streams derived from ``config.seed``.
_SHUFFLE_STREAM, _NOISE_STREAM, _EVAL_NOISE_STREAM, _EVAL_SUBSET_STREAM, _PERTURB_STREAM, _OUTLIER_STREAM = range(6)


# The history key under which the fixed subset of the training data is evaluated.
TRAIN_EVAL_KEY = "train"


class TrainingDivergedError(RuntimeError):
    """The training loss or its gradient became NaN or infinite.

    ``step`` is the number of updates done before the bad one, ``checkpoint_path``
    the last good checkpoint (None if none was written yet), which is left untouched.
    """

    def __init__(self, step: int, loss: float, checkpoint_path: Path | None, checkpoint_step: int | None):
        self.step = step
        self.loss = loss
        self.checkpoint_path = checkpoint_path
        self.checkpoint_step = checkpoint_step
        if checkpoint_path is None:
            where = "No checkpoint was written yet."
        else:
            where = f"The last good checkpoint (step {checkpoint_step}) is {checkpoint_path}."
        super().__init__(
            f"Training diverged at step {step}: loss or gradient norm is {loss}. {where} "
            "Try a lower learning rate, a longer warmup or a smaller grad_clip."
        )


class CheckpointMismatchError(ValueError):
    """A checkpoint exists at the given path but belongs to a different run (model, data or config)."""


def learning_rate(step: int, config: TrainConfig) -> float:
    """Learning rate of update ``step`` (0-based): linear warmup to ``config.lr``, then an optional linear decay.

    Warmup: update 0 uses ``lr / warmup_steps``; updates ``warmup_steps - 1`` and later use
    ``lr`` (Glow without warmup often produces NaN losses in its first updates). Decay: over
    the last ``decay_fraction * n_steps`` updates the rate falls linearly towards 0, update
    ``n_steps - 1`` using ``lr / (decay_fraction * n_steps)``. Annealing the rate at the end
    lowers the BPD reached in a fixed budget and tames test images whose BPD a high constant
    rate leaves far above the rest (``benchmarks/RESULTS.md``).
    """
    warmup = 1.0 if config.warmup_steps <= 0 else min(1.0, (step + 1) / config.warmup_steps)
    decay = 1.0
    if config.decay_fraction > 0:
        decay = min(1.0, (config.n_steps - step) / (config.decay_fraction * config.n_steps))
    return config.lr * warmup * decay


def _derived_seed(*keys: int) -> int:
    """A well-mixed 63-bit seed from integer keys, so neighbouring steps get unrelated streams."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1, dtype=np.uint64)[0] >> 1)


def batch_indices(step: int, n_examples: int, batch_size: int, seed: int) -> torch.Tensor:
    """Indices into the training set of the minibatch of update ``step``.

    Epoch ``e`` walks through a permutation seeded by ``(seed, e)``; the incomplete
    last batch of an epoch is dropped. Depends on nothing but its arguments, which
    is what makes a resumed run identical to an uninterrupted one.
    """
    if n_examples < batch_size:
        raise ValueError(f"Need at least one full batch: {n_examples} examples < batch size {batch_size}.")
    batches_per_epoch = n_examples // batch_size
    epoch, position = divmod(step, batches_per_epoch)
    generator = torch.Generator().manual_seed(_derived_seed(seed, _SHUFFLE_STREAM, epoch))
    permutation = torch.randperm(n_examples, generator=generator)
    return permutation[position * batch_size : (position + 1) * batch_size]


def _seeded_generator(device: torch.device, *keys: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(_derived_seed(*keys))


def _fixed_subset(x_uint8: torch.Tensor, n_max: int, seed: int) -> torch.Tensor:
    """At most ``n_max`` examples of ``x_uint8``, the same ones on every call."""
    if len(x_uint8) <= n_max:
        return x_uint8
    generator = torch.Generator().manual_seed(_derived_seed(seed, _EVAL_SUBSET_STREAM))
    keep = torch.randperm(len(x_uint8), generator=generator)[:n_max].sort().values
    return x_uint8[keep]


@torch.no_grad()
def mean_bits_per_dim(model: nn.Module, x_uint8: torch.Tensor, device: torch.device, seed: int) -> float:
    """Mean BPD of ``model`` on ``x_uint8`` in eval mode, with dequantization noise fixed by ``seed``."""
    was_training = model.training
    model.eval()
    generator = _seeded_generator(device, seed, _EVAL_NOISE_STREAM)
    total = 0.0
    for start in range(0, len(x_uint8), EVAL_BATCH_SIZE):
        batch = x_uint8[start : start + EVAL_BATCH_SIZE].to(device)
        total += model.bits_per_dim(batch, generator=generator).double().sum().item()
    model.train(was_training)
    return total / len(x_uint8)


def describe_device(device: torch.device) -> str:
    """E.g. ``"cpu (2 threads)"`` or ``"cuda (NVIDIA H100 80GB HBM3)"``: where a run trained."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def _empty_history(eval_names: list[str]) -> dict:
    return {"step": [], "train_loss": [], "lr": [], "eval": {name: [] for name in eval_names}, "wall_time_s": 0.0}


def train(
    model: nn.Module,
    x_train: torch.Tensor,
    config: TrainConfig,
    checkpoint_path: Path,
    eval_sets: dict[str, torch.Tensor] | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    perturbation_rate: float = 0.0,
    outliers: OutlierExposure | None = None,
    bf16: bool = False,
) -> dict:
    """Train ``model`` on uint8 NCHW images ``x_train`` for ``config.n_steps`` updates; return its history.

    With ``perturbation_rate`` > 0 every training batch is perturbed first
    (:func:`ood_lib.training.perturbation.perturb_pixels`, a seeded stream per update): the
    background models of likelihood-ratio scores. Evaluation uses clean images.

    With ``outliers`` (outlier exposure, Hendrycks et al. 2019) each update also draws a
    batch of outlier images and minimises
    ``mean(b_in) + weight * mean(max(0, margin + b_in - b_out))`` with b the per-image BPD:
    the outliers are pushed at least ``margin`` bits per dimension above the inliers.

    Resumes from ``checkpoint_path`` (a data-only file, ``ood_lib.training.model_files.save_checkpoint``)
    when it holds a checkpoint of the same run
    (raises ``CheckpointMismatchError`` if it holds another run's), and returns at
    once if that run is finished. Writes a checkpoint every
    ``config.checkpoint_every`` updates and at the end, atomically.

    The history (plain JSON data) holds, at update 0, every ``config.eval_every``
    updates and at the end: ``step``; ``train_loss``, the mean minibatch BPD since
    the previous entry (at step 0: the first minibatch before any update); ``lr``;
    and ``eval[name]``, the mean BPD on at most ``config.n_eval`` fixed examples of
    the training data (``"train"``) and of each of ``eval_sets``. ``wall_time_s``
    is the training time summed over resumed sessions; ``device`` says where the
    last session ran (``describe_device``).

    ``config.compile`` (None: ``$OOD_COMPILE``, default off): compile the training loss (module
    docstring); eager if compilation is unavailable or fails, with one log line.

    ``bf16``: the forward passes of training run under bfloat16 autocast (convolutions and
    matrix products in bf16; the log-determinants, which come from parameters and sums, and
    the loss stay in float32), with TF32 allowed on CUDA. Off by default: see the README.

    **Distributed** (a process group initialised, e.g. under ``torchrun``; flows only, without
    outlier exposure): the global batch stays ``config.batch_size`` and is split into equal
    shards, one per rank. Every rank draws the same global batch and the same dequantization
    noise for it and keeps its shard, so the averaged gradient is the single-process one;
    ActNorm is initialised on every rank from the whole global batch (identical replicas
    without communication). Rank 0 alone evaluates, keeps the history and writes checkpoints;
    every rank resumes from the checkpoint (a shared file system across nodes).

    Raises ``TrainingDivergedError`` on a NaN/inf loss or gradient norm, without
    touching the last checkpoint. Runs in fp32 (unless ``bf16``) on ``device`` (default: ``get_device()``).
    A fresh run seeds torch's global RNG with ``config.seed`` (for models that draw
    from it); a resumed run restores the global RNG state of its checkpoint.
    """
    checkpoint_path = Path(checkpoint_path)
    device = device or get_device()
    eval_sets = dict(eval_sets or {})
    if TRAIN_EVAL_KEY in eval_sets:
        raise ValueError(f"eval_sets may not contain {TRAIN_EVAL_KEY!r}: the training subset is evaluated under it.")
    if x_train.dtype != torch.uint8 or x_train.ndim != 4:
        raise ValueError(f"x_train must be uint8 NCHW images, got {x_train.dtype} {tuple(x_train.shape)}.")
    eval_subsets = {TRAIN_EVAL_KEY: _fixed_subset(x_train, config.n_eval, config.seed)}
    eval_subsets.update({name: _fixed_subset(x, config.n_eval, config.seed) for name, x in eval_sets.items()})

    rank, world_size = distributed_rank_and_size()
    if world_size > 1:
        if config.batch_size % world_size:
            raise ValueError(f"batch size {config.batch_size} is not divisible by the world size {world_size}.")
        if not hasattr(model, "log_prob") or outliers is not None:
            raise ValueError("Distributed training supports flows (a log_prob on dequantized inputs) without outliers.")
    shard = slice(rank * config.batch_size // world_size, (rank + 1) * config.batch_size // world_size)
    model.to(device)
    model.train()
    # foreach: a few multi-tensor kernels per update instead of several per parameter; same results bit for bit.
    optimizer = torch.optim.Adamax(model.parameters(), lr=learning_rate(0, config), foreach=True)
    this_run = run_config(model, x_train, config, eval_sets, perturbation_rate, outliers, bf16)
    if bf16 and device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    checkpoint = None
    if checkpoint_path.exists():
        checkpoint = load_checkpoint(checkpoint_path)
        if checkpoint["run_config"] != this_run:
            raise CheckpointMismatchError(
                f"{checkpoint_path} holds a checkpoint of a different run "
                f"(stored {checkpoint['run_config']}, requested {this_run}). "
                "Delete it or choose another checkpoint path."
            )
        model.load_state_dict(checkpoint["model_state"])
        optimizer.load_state_dict(checkpoint["optimizer_state"])
        restore_rng_states(checkpoint["rng_states"])
        step, history = checkpoint["step"], checkpoint["history"]
        losses_since_eval: list[float] = checkpoint["losses_since_eval"]
        last_checkpoint_step: int | None = step
    else:
        torch.manual_seed(config.seed)
        step, history, losses_since_eval = 0, _empty_history(list(eval_subsets)), []
        last_checkpoint_step = None

    def batch_for(update: int) -> torch.Tensor:
        batch = x_train[batch_indices(update, len(x_train), config.batch_size, config.seed)].to(device)
        if perturbation_rate:
            batch = perturb_pixels(
                batch, perturbation_rate, _seeded_generator(device, config.seed, _PERTURB_STREAM, update)
            )
        return batch

    def noise_for(update: int) -> torch.Generator:
        return _seeded_generator(device, config.seed, _NOISE_STREAM, update)

    distributed_model: DistributedDataParallel | None = None
    compiling = compile_enabled(config)
    bits_per_dim = CompiledLoss(model.bits_per_dim, compiling)  # replaced under DDP below

    def loss_for(update: int) -> torch.Tensor:
        if distributed_model is not None:
            x = dequantize(batch_for(update), noise_for(update)).to(device)
            return bits_per_dim(x[shard]).mean()
        inlier_bpd = bits_per_dim(batch_for(update), generator=noise_for(update))
        if outliers is None:
            return inlier_bpd.mean()
        indices = batch_indices(update, len(outliers.images), config.batch_size, config.seed + 1)
        outlier_bpd = bits_per_dim(
            outliers.images[indices].to(device),
            generator=_seeded_generator(device, config.seed, _OUTLIER_STREAM, update),
        )
        return outliers.loss(inlier_bpd, outlier_bpd)

    def evaluate(train_loss: float) -> None:
        if rank != 0:
            return
        history["step"].append(step)
        history["train_loss"].append(train_loss)
        history["lr"].append(learning_rate(step, config))
        for name, subset in eval_subsets.items():
            history["eval"][name].append(mean_bits_per_dim(model, subset, device, config.seed))

    def raise_if_diverged(value: float) -> None:
        if not math.isfinite(value):
            good_checkpoint = checkpoint_path if last_checkpoint_step is not None else None
            raise TrainingDivergedError(step, value, good_checkpoint, last_checkpoint_step)

    def checkpoint_now() -> None:
        nonlocal last_checkpoint_step
        if rank != 0:
            last_checkpoint_step = step
            return
        checkpoint = {
            "run_config": this_run,
            "model_state": model.state_dict(),
            "optimizer_state": optimizer.state_dict(),
            "step": step,
            "history": history,
            "losses_since_eval": losses_since_eval,
            "rng_states": rng_states(),
        }
        save_checkpoint(checkpoint_path, checkpoint)
        last_checkpoint_step = step

    session_start = time.perf_counter()
    time_before_session = history["wall_time_s"]
    history["device"] = describe_device(device)
    if step == 0:
        # The first forward initialises data-dependent layers (ActNorm): give it a real training batch.
        with torch.no_grad():
            first_loss = model.bits_per_dim(batch_for(0), generator=noise_for(0)).mean().item()
        evaluate(first_loss)
    elif bits_per_dim.active and step < config.n_steps:
        # A resumed run: let data-dependent layers see their (already restored) initialisation in an eager
        # pass first, as a fresh run's first pass does, so the compiled graphs are the same ones in both
        # (otherwise the first compiled update traces ActNorm's check, fuses differently and rounds differently).
        with torch.no_grad():
            model.bits_per_dim(batch_for(step), generator=noise_for(step))
    if world_size > 1:  # after ActNorm's initialisation, which every rank did on the same global batch
        device_ids = [device.index] if device.type == "cuda" else None
        distributed_model = DistributedDataParallel(BitsPerDim(model), device_ids=device_ids)
        bits_per_dim = CompiledLoss(distributed_model, bits_per_dim.active)

    def loss_and_gradients(update: int) -> float:
        """Forward and backward pass of ``update``; the minibatch loss (the global batch's under DDP)."""
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_for(update).float()
        loss_value = loss.item() if world_size == 1 else mean_over_ranks(loss, world_size)
        raise_if_diverged(loss_value)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return loss_value

    bar = tqdm(
        total=config.n_steps,
        initial=step,
        disable=not progress or rank != 0,
        desc="train",
        unit="step",
        mininterval=2.0,
    )
    try:
        while step < config.n_steps:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, config)
            try:
                loss_value = loss_and_gradients(step)
            except TrainingDivergedError:
                raise
            except Exception as error:  # compilation happens at the first forward and backward pass
                if not bits_per_dim.active:
                    raise
                bits_per_dim.fall_back(error)  # nothing was updated yet: redo this update eagerly
                loss_value = loss_and_gradients(step)
            raise_if_diverged(nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip, foreach=True).item())
            optimizer.step()
            step += 1
            losses_since_eval.append(loss_value)
            bar.set_postfix(loss_bpd=f"{loss_value:.3f}", refresh=False)  # shown at the bar's next refresh
            bar.update(1)
            finished = step == config.n_steps
            if step % config.eval_every == 0 or finished:
                evaluate(float(np.mean(losses_since_eval)))
                losses_since_eval.clear()
                bar.set_postfix(
                    loss_bpd=f"{loss_value:.3f}",
                    refresh=False,
                    **{f"{name}_bpd": f"{values[-1]:.3f}" for name, values in history["eval"].items() if values},
                )
            if step % config.checkpoint_every == 0 or finished:
                history["wall_time_s"] = time_before_session + time.perf_counter() - session_start
                checkpoint_now()
    finally:
        bar.close()
    if world_size > 1:
        dist.barrier()  # rank 0's last checkpoint is on disk before any rank moves on
    model.eval()
    return history
