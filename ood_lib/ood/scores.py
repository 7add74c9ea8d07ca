"""Scoring data sets with a trained density model, and judging the scores as an OOD detector.

``log p(x)`` (equivalently, minus the BPD) is used as an *in-distribution score*: a
detector flags x as out-of-distribution when its score is low. AUROC is the probability
that a random in-distribution example scores higher than a random OOD example,

    AUROC = P(s(x_in) > s(x_out)) + 1/2 P(s(x_in) = s(x_out)),

so 1 is a perfect detector, 0.5 chance, and below 0.5 means the model prefers the OOD set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from ood_lib.data.dequantization import dequantize


@torch.no_grad()
def _per_batch(
    model: nn.Module,
    x_uint8: torch.Tensor,
    batch_size: int,
    seed: int,
    device: torch.device | None,
    score: Callable[[torch.Tensor, torch.Generator], tuple[torch.Tensor, ...]],
) -> list[np.ndarray]:
    """Apply ``score(batch_on_device, generator)`` to uint8 NCHW images in batches, in eval mode.

    One generator seeded with ``seed`` serves every batch, so two scores with the same seed
    see the same dequantization noise. Returns each of ``score``'s outputs, concatenated, as float64.
    """
    if x_uint8.dtype != torch.uint8 or x_uint8.ndim != 4:
        raise ValueError(f"Expected uint8 images (N, C, H, W), got {x_uint8.dtype} {tuple(x_uint8.shape)}.")
    device = device or next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        outputs = [
            score(x_uint8[start : start + batch_size].to(device), generator)
            for start in range(0, len(x_uint8), batch_size)
        ]
    finally:
        model.train(was_training)
    return [torch.cat([output[index].cpu() for output in outputs]).double().numpy() for index in range(len(outputs[0]))]


def bits_per_dim(
    model: nn.Module,
    x_uint8: torch.Tensor,
    batch_size: int = 256,
    seed: int = 0,
    device: torch.device | None = None,
    **kwargs: object,
) -> np.ndarray:
    """Per-example BPD of uint8 NCHW images under ``model``, in batches, with seeded dequantization noise.

    Extra keyword arguments go to ``model.bits_per_dim`` (e.g. ``num_samples`` for a VAE).
    """
    (bpd,) = _per_batch(
        model,
        x_uint8,
        batch_size,
        seed,
        device,
        lambda batch, generator: (model.bits_per_dim(batch, generator=generator, **kwargs),),
    )
    return bpd


def auroc(in_scores: np.ndarray, out_scores: np.ndarray) -> float:
    """AUROC of the detector "higher score = in-distribution" (ties count one half).

    Computed from ranks (the Mann-Whitney U statistic): U / (n_in * n_out).
    """
    in_scores, out_scores = np.asarray(in_scores, dtype=np.float64), np.asarray(out_scores, dtype=np.float64)
    if in_scores.size == 0 or out_scores.size == 0:
        raise ValueError("AUROC needs at least one in-distribution and one OOD score.")
    ranks = rankdata(np.concatenate([in_scores, out_scores]))
    u_statistic = ranks[: in_scores.size].sum() - in_scores.size * (in_scores.size + 1) / 2
    return float(u_statistic / (in_scores.size * out_scores.size))


def constant_images(values: list[int] | np.ndarray, shape_chw: tuple[int, int, int]) -> torch.Tensor:
    """One uint8 image per value, every pixel equal to it: shape ``(len(values), C, H, W)``."""
    values = np.asarray(values)
    if values.min() < 0 or values.max() > 255:
        raise ValueError("Constant pixel values must lie in 0..255.")
    return torch.from_numpy(values.astype(np.uint8)).view(-1, 1, 1, 1).expand(-1, *shape_chw).contiguous()


def uniform_noise_images(n: int, shape_chw: tuple[int, int, int], seed: int = 0) -> torch.Tensor:
    """``n`` uint8 images with every pixel drawn uniformly from 0..255."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape_chw), generator=generator, dtype=torch.uint8)


def log_prob_parts(
    model: nn.Module, x_uint8: torch.Tensor, batch_size: int = 256, seed: int = 0, device: torch.device | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-example (log p(z), log|det df/dx|) in nats of a flow on uint8 NCHW images.

    The images are dequantized as in :func:`bits_per_dim` (same ``seed``, same noise), so
    ``bits_per_dim_from_log_prob(log_pz + log_det, D)`` reproduces :func:`bits_per_dim`.
    """
    log_pz, log_det = _per_batch(
        model,
        x_uint8,
        batch_size,
        seed,
        device,
        lambda batch, generator: model.log_prob_parts(dequantize(batch, generator)),
    )
    return log_pz, log_det
