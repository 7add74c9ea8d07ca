"""The engine's periodic evaluation: mean (and, if asked, per-image) bits per dimension on fixed subsets.

Every evaluation uses the same examples (``streams.fixed_subset``) and the same dequantization
noise (``streams.EVAL_NOISE_STREAM`` from the run's seed), so a curve moves only because the model
moves, and two runs with the same seed evaluate the same images under the same noise: per image,
their BPDs pair up (e.g. a likelihood ratio's foreground and background at every update).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ood_lib.training import streams
from ood_lib.training.streams import seeded_generator

# Examples per forward pass during evaluation (no gradients, so larger than a training batch).
EVAL_BATCH_SIZE = 256

# The history key under which the fixed subset of the training data is evaluated.
TRAIN_EVAL_KEY = "train"

# The history key of outlier-exposure runs: the share of active hinge pairs since the previous entry.
ACTIVE_FRACTION_KEY = "outlier_active_fraction"

# The history key of per-image BPDs (``TrainConfig.per_image_eval``): ``history[PER_IMAGE_KEY][name][k]`` is the
# list of BPDs of set ``name``'s fixed subset at the k-th evaluation, rounded to PER_IMAGE_DECIMALS.
PER_IMAGE_KEY = "eval_per_image"
PER_IMAGE_DECIMALS = 5


@torch.no_grad()
def per_image_bits_per_dim(model: nn.Module, x_uint8: torch.Tensor, device: torch.device, seed: int) -> np.ndarray:
    """BPD of each image of ``x_uint8`` (float64, in eval mode), dequantization noise fixed by ``seed``."""
    was_training = model.training
    model.eval()
    generator = seeded_generator(device, seed, streams.EVAL_NOISE_STREAM)
    values = []
    for start in range(0, len(x_uint8), EVAL_BATCH_SIZE):
        batch = x_uint8[start : start + EVAL_BATCH_SIZE].to(device)
        values.append(model.bits_per_dim(batch, generator=generator).double().cpu().numpy())
    model.train(was_training)
    return np.concatenate(values)


def mean_bits_per_dim(model: nn.Module, x_uint8: torch.Tensor, device: torch.device, seed: int) -> float:
    """Mean BPD of ``model`` on ``x_uint8`` in eval mode, with dequantization noise fixed by ``seed``."""
    return float(per_image_bits_per_dim(model, x_uint8, device, seed).sum() / len(x_uint8))


def describe_device(device: torch.device) -> str:
    """E.g. ``"cpu (2 threads)"`` or ``"cuda (NVIDIA H100 80GB HBM3)"``: where a run trained."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"{device.type} ({torch.get_num_threads()} threads)"


def empty_history(eval_names: list[str], with_outliers: bool, per_image: bool) -> dict:
    """A fresh run's history: the keys every run has, plus the outlier and per-image records when asked."""
    history = {"step": [], "train_loss": [], "lr": [], "eval": {name: [] for name in eval_names}, "wall_time_s": 0.0}
    if with_outliers:
        history[ACTIVE_FRACTION_KEY] = []
    if per_image:
        history[PER_IMAGE_KEY] = {name: [] for name in eval_names}
    return history


def append_evaluation(history: dict, model: nn.Module, subsets: dict[str, torch.Tensor], device, seed: int) -> None:
    """Append each subset's mean BPD to ``history["eval"]`` (and its per-image BPDs if the history keeps them)."""
    for name, subset in subsets.items():
        values = per_image_bits_per_dim(model, subset, device, seed)
        history["eval"][name].append(float(values.sum() / len(subset)))
        if PER_IMAGE_KEY in history:
            history[PER_IMAGE_KEY][name].append(np.round(values, PER_IMAGE_DECIMALS).tolist())
