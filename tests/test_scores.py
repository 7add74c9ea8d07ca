"""Scoring helpers: AUROC against brute force, batching, probe images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ood_lib.data.dequantization import dequantize
from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.models.flows import Glow
from ood_lib.ood import scores


def brute_force_auroc(in_scores: np.ndarray, out_scores: np.ndarray) -> float:
    wins = sum(float(a > b) + 0.5 * float(a == b) for a in in_scores for b in out_scores)
    return wins / (len(in_scores) * len(out_scores))


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_pairwise_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    in_scores = rng.integers(0, 6, size=17).astype(float)  # many ties
    out_scores = rng.integers(0, 6, size=11).astype(float) - seed * 0.5
    assert scores.auroc(in_scores, out_scores) == pytest.approx(brute_force_auroc(in_scores, out_scores))


def test_auroc_extremes() -> None:
    assert scores.auroc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 1.0
    assert scores.auroc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 0.0
    with pytest.raises(ValueError):
        scores.auroc(np.array([]), np.array([1.0]))


class UniformCube(nn.Module):
    """The uniform density on [0, 1)^D: log q = 0 everywhere, so every image has 8 bits/dim."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def bits_per_dim(self, x_uint8: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        y = dequantize(x_uint8, generator)
        return bits_per_dim_from_log_prob(torch.zeros(len(y)), y[0].numel())


def test_batched_bits_per_dim_covers_every_example() -> None:
    images = scores.uniform_noise_images(37, (1, 4, 4), seed=1)
    result = scores.bits_per_dim(UniformCube(), images, batch_size=8)
    assert result.shape == (37,)
    np.testing.assert_allclose(result, 8.0)
    with pytest.raises(ValueError, match="uint8"):
        scores.bits_per_dim(UniformCube(), images.float())


def test_probe_images() -> None:
    constant = scores.constant_images([0, 128, 255], (3, 2, 2))
    assert constant.shape == (3, 3, 2, 2) and constant.dtype == torch.uint8
    assert constant[1].unique().tolist() == [128]
    noise = scores.uniform_noise_images(200, (1, 8, 8), seed=0)
    assert torch.equal(noise, scores.uniform_noise_images(200, (1, 8, 8), seed=0))
    assert abs(noise.float().mean().item() - 127.5) < 3 * 73.9 / math.sqrt(noise.numel())
    with pytest.raises(ValueError):
        scores.constant_images([256], (1, 2, 2))


def test_log_prob_parts_reproduce_bits_per_dim_with_the_same_noise() -> None:
    torch.manual_seed(0)
    model = Glow((1, 8, 8), levels=2, steps=2, hidden=8)
    x_uint8 = torch.randint(0, 256, (10, 1, 8, 8), dtype=torch.uint8)
    model(dequantize(x_uint8))  # initialise ActNorm on data
    log_pz, log_det = scores.log_prob_parts(model, x_uint8, batch_size=4, seed=3)
    assert log_pz.shape == log_det.shape == (10,)
    bpd = scores.bits_per_dim(model, x_uint8, batch_size=4, seed=3)
    from_parts = bits_per_dim_from_log_prob(torch.from_numpy(log_pz + log_det), 64).numpy()
    np.testing.assert_allclose(from_parts, bpd, rtol=1e-6)
    other_noise = bits_per_dim_from_log_prob(
        torch.from_numpy(np.sum(scores.log_prob_parts(model, x_uint8, seed=4), 0)), 64
    )
    assert not np.allclose(other_noise.numpy(), bpd, rtol=1e-6)
