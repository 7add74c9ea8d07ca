r"""The paper's second-order argument (Eqs. 4-5): predict a likelihood gap from data moments.

Around a point :math:`x_0`, with :math:`g = \nabla_x \log p(x_0)` and
:math:`H = \nabla^2_x \log p(x_0)`,

.. math::
    \log p(x) \approx \log p(x_0) + g^\top (x - x_0) + \tfrac12 (x - x_0)^\top H (x - x_0).

Averaging over a data set and subtracting the same average over another (the OOD set
:math:`q` minus the training distribution :math:`p^*`),

.. math::
    \mathbb{E}_q[\log p] - \mathbb{E}_{p^*}[\log p] \approx
    \underbrace{g^\top (\mu_q - \mu_{p^*})}_{\text{first order}}
    + \underbrace{\tfrac12 \operatorname{Tr}\{H (\Sigma_q - \Sigma_{p^*})\}}_{\text{second order}},
    \qquad \Sigma = \mathbb{E}[(x - x_0)(x - x_0)^\top],

with second moments taken around :math:`x_0` (covariances only when the mean is :math:`x_0`).
The first-order term vanishes when both means equal :math:`x_0`.

No :math:`D \times D` matrix is formed: :math:`\operatorname{Tr}(H\Sigma) =
\mathbb{E}[(x - x_0)^\top H (x - x_0)]`, one Hessian-vector product per sample, which is exact
for the empirical :math:`\Sigma` of the samples at hand in any dimension. The *diagonal*
version :math:`\tfrac12 \sum_d H_{dd} (\Sigma_{q,dd} - \Sigma_{p^*,dd})` keeps only per-pixel
second moments (the paper's Eq. 6 is of this form); it needs :math:`\operatorname{diag}(H)`,
computed here with D unit-vector products.

``log_prob`` is any map from a batch ``(N, ...)`` to per-example log-densities ``(N,)`` that
treats examples independently (a model in eval mode) and is twice differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

LogProb = Callable[[Tensor], Tensor]


def gradient(log_prob: LogProb, x0: Tensor) -> Tensor:
    """:math:`\\nabla_x \\log p(x_0)` for one point ``x0`` (no batch dimension), same shape."""
    point = x0.detach().unsqueeze(0).requires_grad_(True)
    (grad,) = torch.autograd.grad(log_prob(point).sum(), point)
    return grad[0]


def hessian_vector_products(log_prob: LogProb, x0: Tensor, directions: Tensor) -> Tensor:
    """:math:`H v_b` for each direction ``directions[b]`` (shape ``(B, *x0.shape)``), H at ``x0``.

    Reverse over reverse: ``x0`` is repeated B times, the per-example gradient is taken with
    a graph, and one more backward pass of :math:`\\sum_b g_b^\\top v_b` gives every product.
    """
    points = x0.detach().unsqueeze(0).expand(len(directions), *x0.shape).clone().requires_grad_(True)
    (grads,) = torch.autograd.grad(log_prob(points).sum(), points, create_graph=True)
    (products,) = torch.autograd.grad((grads * directions).sum(), points)
    return products.detach()


def mean_quadratic_form(log_prob: LogProb, x0: Tensor, samples: Tensor, batch_size: int = 64) -> float:
    """:math:`\\operatorname{Tr}(H \\Sigma) = \\frac1N \\sum_n (x_n - x_0)^\\top H (x_n - x_0)`, H at ``x0``."""
    total = 0.0
    for start in range(0, len(samples), batch_size):
        offsets = samples[start : start + batch_size].to(x0) - x0
        products = hessian_vector_products(log_prob, x0, offsets)
        total += (offsets * products).flatten(1).sum(dim=1).double().sum().item()
    return total / len(samples)


def hessian_diagonal(log_prob: LogProb, x0: Tensor, batch_size: int = 64) -> Tensor:
    """:math:`\\operatorname{diag}(H)` at ``x0``, shaped like ``x0``, from D unit-vector products."""
    num_dims = x0.numel()
    diagonal = torch.empty(num_dims, dtype=x0.dtype, device=x0.device)
    for start in range(0, num_dims, batch_size):
        indices = torch.arange(start, min(start + batch_size, num_dims), device=x0.device)
        units = torch.zeros(len(indices), num_dims, dtype=x0.dtype, device=x0.device)
        units[torch.arange(len(indices)), indices] = 1.0
        products = hessian_vector_products(log_prob, x0, units.view(len(indices), *x0.shape))
        diagonal[indices] = products.flatten(1)[torch.arange(len(indices)), indices]
    return diagonal.view_as(x0)


@dataclass(frozen=True)
class GapPrediction:
    """The second-order prediction of E_q[log p] - E_p*[log p] (nats), term by term."""

    first_order: float  # g^T (mu_q - mu_p*)
    second_order: float  # 1/2 Tr{H (Sigma_q - Sigma_p*)}, full second moments
    second_order_diagonal: float | None  # 1/2 sum_d H_dd (Sigma_q,dd - Sigma_p*,dd); None if not computed

    @property
    def total(self) -> float:
        """First plus (full) second-order term."""
        return self.first_order + self.second_order


def predict_gap(
    log_prob: LogProb,
    x0: Tensor,
    ood_samples: Tensor,
    in_samples: Tensor,
    diagonal: bool = True,
    batch_size: int = 64,
) -> GapPrediction:
    """Second-order prediction of mean log p on ``ood_samples`` minus on ``in_samples``, expanded at ``x0``.

    Means and second moments are the samples' empirical ones (around ``x0``), so for a
    log-density that is exactly quadratic the prediction equals the measured gap.
    """
    grad = gradient(log_prob, x0)
    mean_offset = ood_samples.to(x0).mean(dim=0) - in_samples.to(x0).mean(dim=0)
    first_order = (grad * mean_offset).double().sum().item()
    second_order = 0.5 * (
        mean_quadratic_form(log_prob, x0, ood_samples, batch_size)
        - mean_quadratic_form(log_prob, x0, in_samples, batch_size)
    )
    second_order_diagonal = None
    if diagonal:
        moments = [((samples.to(x0) - x0) ** 2).mean(dim=0) for samples in (ood_samples, in_samples)]
        hessian_diag = hessian_diagonal(log_prob, x0, batch_size)
        second_order_diagonal = 0.5 * (hessian_diag * (moments[0] - moments[1])).double().sum().item()
    return GapPrediction(first_order, second_order, second_order_diagonal)


class LinearGaussianFlow(nn.Module):
    r"""The model on which the expansion is exact: :math:`z = A x + b`, :math:`z \sim \mathcal{N}(0, I)`.

    .. math::
        \log p(x) = -\tfrac12 \|A x + b\|^2 - \tfrac D2 \log 2\pi + \log|\det A|,
        \qquad H = -A^\top A \ \text{everywhere},

    so :func:`predict_gap` reproduces any measured gap to rounding error. ``forward``
    maps a batch ``(N, ...)`` with D = ``A.shape[1]`` values per example to ``(N,)``.
    """

    def __init__(self, matrix: Tensor, shift: Tensor) -> None:
        super().__init__()
        self.register_buffer("matrix", matrix)
        self.register_buffer("shift", shift)

    def forward(self, x: Tensor) -> Tensor:
        """log p(x) per example."""
        z = x.flatten(1) @ self.matrix.T + self.shift
        log_det = torch.linalg.slogdet(self.matrix)[1]
        return -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + log_det
