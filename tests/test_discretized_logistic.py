"""Discretized logistic: bin masses against a numeric integral, edges, exact normalisation, stability, sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from ood_lib.models.discretized_logistic import (
    NUM_LEVELS,
    discretized_logistic_log_prob,
    mixture_log_prob,
    sample_discretized_logistic,
)

pytestmark = pytest.mark.usefixtures("single_thread")
LEVELS = torch.arange(NUM_LEVELS)


def logistic_density(y: float, mean: float, scale: float) -> float:
    z = (y - mean) / scale
    return math.exp(-abs(z)) / (scale * (1.0 + math.exp(-abs(z))) ** 2)


@pytest.mark.parametrize("mean, log_scale", [(0.0, -2.0), (0.3, -4.0), (-0.9, -1.0), (0.99, -5.0)])
def test_bin_masses_equal_the_integral_of_the_logistic_density(mean, log_scale):
    scale = math.exp(log_scale)
    log_prob = discretized_logistic_log_prob(LEVELS, torch.tensor(mean, dtype=torch.float64), torch.tensor(log_scale))
    for level in [0, 1, 37, 127, 128, 200, 254, 255]:
        centre = 2 * level / 255 - 1
        lower = -math.inf if level == 0 else centre - 1 / 255
        upper = math.inf if level == 255 else centre + 1 / 255
        points = [mean] if lower < mean < upper and math.isfinite(lower) and math.isfinite(upper) else None
        mass, _ = integrate.quad(logistic_density, lower, upper, args=(mean, scale), points=points, epsabs=1e-14)
        assert math.exp(log_prob[level].item()) == pytest.approx(mass, rel=1e-6, abs=1e-13), level


def test_edge_levels_take_the_tails():
    mean, log_scale = torch.tensor(0.2, dtype=torch.float64), torch.tensor(-1.5, dtype=torch.float64)
    log_prob = discretized_logistic_log_prob(LEVELS, mean, log_scale)
    scale = math.exp(-1.5)
    cdf = lambda y: 1 / (1 + math.exp(-(y - 0.2) / scale))  # noqa: E731
    assert math.exp(log_prob[0].item()) == pytest.approx(cdf(-1 + 1 / 255), rel=1e-12)
    assert math.exp(log_prob[255].item()) == pytest.approx(1 - cdf(1 - 1 / 255), rel=1e-12)


@pytest.mark.parametrize("mean", [-5.0, -1.0, -0.3, 0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("log_scale", [-7.0, -4.0, -1.0, 2.0, 6.0])
def test_the_256_masses_sum_to_one_for_any_mean_and_scale(mean, log_scale):
    log_prob = discretized_logistic_log_prob(
        LEVELS, torch.tensor(mean, dtype=torch.float64), torch.tensor(log_scale, dtype=torch.float64)
    )
    assert torch.isfinite(log_prob).all()
    assert torch.logsumexp(log_prob, 0).item() == pytest.approx(0.0, abs=1e-12)


def test_far_bins_stay_finite_with_finite_gradients():
    mean = torch.tensor([1.0, -1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    log_scale = torch.tensor([-7.0, -7.0, -7.0, 8.0], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([1, 254, 200, 128])  # thousands of scales away, and a nearly flat logistic
    log_prob = discretized_logistic_log_prob(x, mean, log_scale)
    assert torch.isfinite(log_prob).all() and (log_prob < -100).sum() == 3
    log_prob.sum().backward()
    assert torch.isfinite(mean.grad).all() and torch.isfinite(log_scale.grad).all()
    # A flat logistic: the middle bin's mass is its width times the density at the centre.
    assert math.exp(log_prob[3].item()) == pytest.approx(2 / 255 / (4 * math.exp(8.0)), rel=1e-6)


def test_scales_are_clamped_below():
    x, mean = torch.tensor([128]), torch.tensor([0.0], dtype=torch.float64)
    torch.testing.assert_close(
        discretized_logistic_log_prob(x, mean, torch.tensor([-20.0], dtype=torch.float64)),
        discretized_logistic_log_prob(x, mean, torch.tensor([-7.0], dtype=torch.float64)),
    )


def test_mixture_is_normalised_and_one_component_is_the_logistic():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, dtype=torch.float64, generator=generator)
    means = torch.randn(3, 4, dtype=torch.float64, generator=generator)
    log_scales = torch.randn(3, 4, dtype=torch.float64, generator=generator) - 2
    log_prob = mixture_log_prob(LEVELS[:, None, None], logits, means, log_scales)  # (256, 3)
    torch.testing.assert_close(torch.logsumexp(log_prob, 0), torch.zeros(3, dtype=torch.float64))
    single = mixture_log_prob(LEVELS[:, None, None], logits[:, :1], means[:, :1], log_scales[:, :1])
    torch.testing.assert_close(single, discretized_logistic_log_prob(LEVELS[:, None], means[:, 0], log_scales[:, 0]))


def test_samples_follow_the_bin_masses():
    n = 20000
    mean, log_scale = torch.full((n,), 0.96, dtype=torch.float64), torch.full((n,), math.log(0.02))
    draws = sample_discretized_logistic(mean, log_scale, generator=torch.Generator().manual_seed(0))
    assert draws.dtype == torch.uint8
    probability = discretized_logistic_log_prob(LEVELS, mean[:1], log_scale[:1].double()).exp().numpy()
    observed = np.bincount(draws.numpy(), minlength=NUM_LEVELS).astype(float)
    keep = probability * n >= 5  # levels with room for a chi-square cell; the rest pooled into one
    cells_observed = np.append(observed[keep], observed[~keep].sum())
    cells_expected = np.append(probability[keep], probability[~keep].sum()) * n
    assert keep.sum() >= 10 and observed[255] > 0  # the test covers many levels and the upper edge
    assert stats.chisquare(cells_observed, cells_expected).pvalue > 1e-3
