"""The training engine shared by every density model of the book.

``train`` fits any model that has ``bits_per_dim(x_uint8, generator) -> Tensor[N]``
(dequantization inside the model) and a JSON-serialisable ``config``, by
minimising the mean bits per dimension with Adamax (Glow's optimiser; ``TrainConfig.optimizer``), a linear
learning-rate warmup and gradient-norm clipping.

Reproducibility and resumption rest on one design choice: everything random
during training is a pure function of ``(config.seed, step)`` (``ood_lib.training.streams``),
so a run resumed from a checkpoint at step ``s`` draws exactly the batches and noise the
uninterrupted run would have drawn. Evaluation uses fixed subsets and a fixed
noise seed, so its curves move only because the model moves (Figure 4d).

``train`` reads as its pieces (``_TrainingRun``): set-up, start or resume, the first pass that
initialises data-dependent layers, one update, evaluation, checkpointing, and the loop over them.

**Compiled training step** (``TrainConfig.compile``, else ``OOD_COMPILE=0|1``; default off): the
loss goes through ``ood_lib.training.compiled_step.CompiledLoss``. Dequantization noise is drawn outside the
compiled graphs, so batches and noise are an eager run's; results equal eager ones to float
tolerance, a run resumed in the same mode is bit-identical to an uninterrupted one, and the switch
is not part of a model's identity. It stays off until a quiet-machine benchmark shows that it pays.
"""

from __future__ import annotations

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
from ood_lib.training import streams
from ood_lib.training.compiled_step import CompiledLoss, compile_enabled
from ood_lib.training.distributed import BitsPerDim, distributed_rank_and_size, mean_over_ranks
from ood_lib.training.errors import CheckpointMismatchError, TrainingDivergedError
from ood_lib.training.evaluation import (
    ACTIVE_FRACTION_KEY,
    TRAIN_EVAL_KEY,
    append_evaluation,
    describe_device,
    empty_history,
)
from ood_lib.training.model_files import load_checkpoint, save_checkpoint
from ood_lib.training.outlier_exposure import OutlierExposure
from ood_lib.training.perturbation import perturb_pixels
from ood_lib.training.run_config import restore_rng_states, rng_states, run_config
from ood_lib.training.schedule import learning_rate, make_optimizer
from ood_lib.training.streams import batch_indices, fixed_subset, seeded_generator


class _TrainingRun:
    """One call of :func:`train`, in the pieces a reader takes one at a time.

    ``__init__`` checks the inputs and sets up (device, fixed evaluation subsets, optimiser, run
    identity); ``_start_or_resume`` fills the state (step, history, RNGs) from a matching checkpoint
    or afresh; ``_first_pass`` initialises data-dependent layers; ``_update`` is one optimiser step;
    ``_evaluate`` appends to the history; ``_checkpoint`` writes the state; ``run`` loops over them.
    """

    def __init__(self, model, x_train, config, checkpoint_path, eval_sets, device, perturbation_rate, outliers, bf16):
        self.checkpoint_path = Path(checkpoint_path)
        self.device = device or get_device()
        eval_sets = dict(eval_sets or {})
        if TRAIN_EVAL_KEY in eval_sets:
            raise ValueError(
                f"eval_sets may not contain {TRAIN_EVAL_KEY!r}: the training subset is evaluated under it."
            )
        if x_train.dtype != torch.uint8 or x_train.ndim != 4:
            raise ValueError(f"x_train must be uint8 NCHW images, got {x_train.dtype} {tuple(x_train.shape)}.")
        self.model, self.x_train, self.config = model, x_train, config
        self.perturbation_rate, self.outliers, self.bf16 = perturbation_rate, outliers, bf16
        self.eval_subsets = {TRAIN_EVAL_KEY: fixed_subset(x_train, config.n_eval, config.seed)}
        self.eval_subsets.update({name: fixed_subset(x, config.n_eval, config.seed) for name, x in eval_sets.items()})

        self.rank, self.world_size = distributed_rank_and_size()
        if self.world_size > 1:
            if config.batch_size % self.world_size:
                raise ValueError(
                    f"batch size {config.batch_size} is not divisible by the world size {self.world_size}."
                )
            if not hasattr(model, "log_prob") or outliers is not None:
                raise ValueError(
                    "Distributed training supports flows (a log_prob on dequantized inputs) without outliers."
                )
        rank, world_size = self.rank, self.world_size
        self.shard = slice(rank * config.batch_size // world_size, (rank + 1) * config.batch_size // world_size)
        model.to(self.device)
        model.train()
        # foreach: a few multi-tensor kernels per update instead of several per parameter; same results bit for bit.
        self.optimizer = make_optimizer(model, config)
        self.this_run = run_config(model, x_train, config, eval_sets, perturbation_rate, outliers, bf16)
        if bf16 and self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self._start_or_resume()
        self.distributed_model: DistributedDataParallel | None = None
        self.bits_per_dim = CompiledLoss(model.bits_per_dim, compile_enabled(config))  # replaced under DDP

    def _start_or_resume(self) -> None:
        """Step, history and RNG states: a matching checkpoint's, else those of a fresh run."""
        if not self.checkpoint_path.exists():
            torch.manual_seed(self.config.seed)
            self.step, self.history = (
                0,
                empty_history(list(self.eval_subsets), self.outliers is not None, self.config.per_image_eval),
            )
            self.losses_since_eval, self.active_since_eval = [], []
            self.last_checkpoint_step: int | None = None
            return
        checkpoint = load_checkpoint(self.checkpoint_path)
        if checkpoint["run_config"] != self.this_run:
            raise CheckpointMismatchError(
                f"{self.checkpoint_path} holds a checkpoint of a different run "
                f"(stored {checkpoint['run_config']}, requested {self.this_run}). "
                "Delete it or choose another checkpoint path."
            )
        if self.outliers is not None and ACTIVE_FRACTION_KEY not in checkpoint["history"]:
            raise CheckpointMismatchError(
                f"{self.checkpoint_path} holds an outlier-exposure checkpoint written before the engine recorded "
                f"{ACTIVE_FRACTION_KEY!r}, so its run cannot resume with that record. Delete it to train afresh."
            )
        self.model.load_state_dict(checkpoint["model_state"])
        self.optimizer.load_state_dict(checkpoint["optimizer_state"])
        restore_rng_states(checkpoint["rng_states"])
        self.step, self.history = checkpoint["step"], checkpoint["history"]
        self.losses_since_eval: list[float] = checkpoint["losses_since_eval"]
        self.active_since_eval: list[float] = checkpoint.get("outlier_active_since_eval", [])
        self.last_checkpoint_step = self.step

    def _batch_for(self, update: int) -> torch.Tensor:
        """The (perturbed, if asked) uint8 training batch of ``update``: the same in every session."""
        config = self.config
        batch = self.x_train[batch_indices(update, len(self.x_train), config.batch_size, config.seed)].to(self.device)
        if self.perturbation_rate:
            generator = seeded_generator(self.device, config.seed, streams.PERTURB_STREAM, update)
            batch = perturb_pixels(batch, self.perturbation_rate, generator)
        return batch

    def _noise_for(self, update: int) -> torch.Generator:
        return seeded_generator(self.device, self.config.seed, streams.NOISE_STREAM, update)

    def _outlier_bpd_for(self, update: int, bits_per_dim) -> torch.Tensor:
        """Per-image BPD of the outlier batch of ``update`` (the same in every session)."""
        indices = batch_indices(update, len(self.outliers.images), self.config.batch_size, self.config.seed + 1)
        return bits_per_dim(
            self.outliers.images[indices].to(self.device),
            generator=seeded_generator(self.device, self.config.seed, streams.OUTLIER_STREAM, update),
        )

    def _loss_for(self, update: int) -> tuple[torch.Tensor, float | None]:
        """The training loss of ``update`` (mean BPD, or the outlier-exposure loss, or this rank's shard's) and,
        with outliers, the share of active hinge pairs in its batches (else None)."""
        if self.distributed_model is not None:
            x = dequantize(self._batch_for(update), self._noise_for(update)).to(self.device)
            return self.bits_per_dim(x[self.shard]).mean(), None
        inlier_bpd = self.bits_per_dim(self._batch_for(update), generator=self._noise_for(update))
        if self.outliers is None:
            return inlier_bpd.mean(), None
        outlier_bpd = self._outlier_bpd_for(update, self.bits_per_dim)
        active = self.outliers.active_fraction(inlier_bpd.detach(), outlier_bpd.detach())
        return self.outliers.loss(inlier_bpd, outlier_bpd), active

    def _raise_if_diverged(self, value: float) -> None:
        if not math.isfinite(value):
            good_checkpoint = self.checkpoint_path if self.last_checkpoint_step is not None else None
            raise TrainingDivergedError(self.step, value, good_checkpoint, self.last_checkpoint_step)

    def _loss_and_gradients(self, update: int) -> tuple[float, float | None]:
        """Forward and backward pass of ``update``; the minibatch loss (the global batch's under DDP) and the
        share of active hinge pairs (None without outliers)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            loss, active = self._loss_for(update)
            loss = loss.float()
        loss_value = loss.item() if self.world_size == 1 else mean_over_ranks(loss, self.world_size)
        self._raise_if_diverged(loss_value)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return loss_value, active

    def _update(self) -> float:
        """One optimiser step at the current step's learning rate (eager again if compiling fails); its loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.config)
        try:
            loss_value, active = self._loss_and_gradients(self.step)
        except TrainingDivergedError:
            raise
        except Exception as error:  # compilation happens at the first forward and backward pass
            if not self.bits_per_dim.active:
                raise
            self.bits_per_dim.fall_back(error)  # nothing was updated yet: redo this update eagerly
            loss_value, active = self._loss_and_gradients(self.step)
        grad_norm = nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip, foreach=True)
        self._raise_if_diverged(grad_norm.item())
        self.optimizer.step()
        self.step += 1
        self.losses_since_eval.append(loss_value)
        if active is not None:
            self.active_since_eval.append(active)
        return loss_value

    def _evaluate(self, train_loss: float, active_fraction: float | None = None) -> None:
        """Append the current step, ``train_loss``, learning rate, evaluation BPDs and, with outliers, the share of
        active hinge pairs (``active_fraction``) to the history (rank 0)."""
        if self.rank != 0:
            return
        history, config = self.history, self.config
        history["step"].append(self.step)
        history["train_loss"].append(train_loss)
        if self.outliers is not None:
            history[ACTIVE_FRACTION_KEY].append(active_fraction)
        history["lr"].append(learning_rate(self.step, config))
        append_evaluation(history, self.model, self.eval_subsets, self.device, config.seed)

    def _checkpoint(self) -> None:
        """Write everything a resumed run needs to ``checkpoint_path``, atomically (rank 0)."""
        if self.rank == 0:
            checkpoint = {
                "run_config": self.this_run,
                "model_state": self.model.state_dict(),
                "optimizer_state": self.optimizer.state_dict(),
                "step": self.step,
                "history": self.history,
                "losses_since_eval": self.losses_since_eval,
                "rng_states": rng_states(),
            }
            if self.outliers is not None:
                checkpoint["outlier_active_since_eval"] = self.active_since_eval
            save_checkpoint(self.checkpoint_path, checkpoint)
        self.last_checkpoint_step = self.step

    def _first_pass(self) -> None:
        """Initialise data-dependent layers (ActNorm) on a real batch and evaluate a fresh run; wrap DDP."""
        if self.step == 0:
            with torch.no_grad():
                first_bpd = self.model.bits_per_dim(self._batch_for(0), generator=self._noise_for(0))
            self._evaluate(first_bpd.mean().item(), self._first_active_fraction(first_bpd))
        elif self.bits_per_dim.active and self.step < self.config.n_steps:
            # A resumed run: let data-dependent layers see their (already restored) initialisation in an eager
            # pass first, as a fresh run's first pass does, so the compiled graphs are the same ones in both
            # (otherwise the first compiled update traces ActNorm's check, fuses differently and rounds differently).
            with torch.no_grad():
                self.model.bits_per_dim(self._batch_for(self.step), generator=self._noise_for(self.step))
        if self.world_size > 1:  # after ActNorm's initialisation, which every rank did on the same global batch
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.distributed_model = DistributedDataParallel(BitsPerDim(self.model), device_ids=device_ids)
            self.bits_per_dim = CompiledLoss(self.distributed_model, self.bits_per_dim.active)

    def _first_active_fraction(self, first_bpd: torch.Tensor) -> float | None:
        """With outliers, the share of active hinge pairs of update 0's batches under the initial model, else None.

        Its outlier forward pass leaves torch's global RNG as it found it (dropout draws from it), so the
        updates that follow are those of a run that did not look.
        """
        if self.outliers is None:
            return None
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            outlier_bpd = self._outlier_bpd_for(0, self.model.bits_per_dim)
        return self.outliers.active_fraction(first_bpd, outlier_bpd)

    def run(self, progress: bool) -> dict:
        """Update until ``config.n_steps``, evaluating and checkpointing on schedule; the history."""
        config, history = self.config, self.history
        session_start = time.perf_counter()
        time_before_session = history["wall_time_s"]
        history["device"] = describe_device(self.device)
        self._first_pass()
        bar = tqdm(
            total=config.n_steps,
            initial=self.step,
            disable=not progress or self.rank != 0,
            desc="train",
            unit="step",
            mininterval=2.0,
        )
        try:
            while self.step < config.n_steps:
                loss_value = self._update()
                bar.set_postfix(loss_bpd=f"{loss_value:.3f}", refresh=False)  # shown at the bar's next refresh
                bar.update(1)
                finished = self.step == config.n_steps
                if self.step % config.eval_every == 0 or finished:
                    active = float(np.mean(self.active_since_eval)) if self.outliers is not None else None
                    self._evaluate(float(np.mean(self.losses_since_eval)), active)
                    self.losses_since_eval.clear()
                    self.active_since_eval.clear()
                    latest = {f"{name}_bpd": f"{values[-1]:.3f}" for name, values in history["eval"].items() if values}
                    bar.set_postfix(loss_bpd=f"{loss_value:.3f}", refresh=False, **latest)
                if self.step % config.checkpoint_every == 0 or finished:
                    history["wall_time_s"] = time_before_session + time.perf_counter() - session_start
                    self._checkpoint()
        finally:
            bar.close()
        if self.world_size > 1:
            dist.barrier()  # rank 0's last checkpoint is on disk before any rank moves on
        self.model.eval()
        return history


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
    the training data (``"train"``) and of each of ``eval_sets``; with ``outliers``,
    ``outlier_active_fraction``, the share of active hinge pairs (pairs whose
    ``margin + b_in - b_out > 0``, ``OutlierExposure.active_fraction``) averaged over the
    updates since the previous entry (at step 0: the first inlier and outlier batches under the
    initial model); without outliers there is no such key. With ``config.per_image_eval``,
    ``eval_per_image[name]`` holds each evaluation's per-image BPDs of the same fixed examples
    (``ood_lib.training.evaluation``); else there is no such key. ``wall_time_s``
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
    run = _TrainingRun(model, x_train, config, checkpoint_path, eval_sets, device, perturbation_rate, outliers, bf16)
    return run.run(progress)
