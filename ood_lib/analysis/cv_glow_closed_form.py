r"""The paper's closed-form curvature of a constant-volume Glow (Appendix G, Eq. 6).

For CV-Glow, :math:`\log p(x) = \log p_z(f(x)) + c`. The paper drops every off-diagonal
Jacobian entry, treats each 1x1 convolution kernel :math:`U_k` as if it scaled channel
:math:`c` by its row sum, and uses a Gaussian latent, which gives a diagonal Hessian

.. math::
    \frac{\partial^2 \log p}{\partial x_d^2} \approx -\frac{\alpha_d^2}{\sigma_d^2}, \qquad
    \alpha_d = \prod_{k} \sum_j u_{k, c(d), j},

and with it Eq. 6, :math:`\mathbb{E}_q[\log p] - \mathbb{E}_{p^*}[\log p] \approx
-\tfrac12 \sum_d \frac{\alpha_d^2}{\sigma_d^2} (\sigma^2_{q,d} - \sigma^2_{p^*,d})`.

What the symbols are for :class:`~ood_lib.models.flows.Glow`: a step's ActNorm and 1x1 convolution
form one channel map :math:`A_k = W_k \operatorname{diag}(e^{s_k})` (ActNorm's bias only
shifts), so :math:`u_{k,c,j}` is :math:`(A_k)_{c,j}`: the ActNorm scales are part of the
row sums. The additive couplings' diagonal blocks are exactly the identity, so they add no
factor; their off-diagonal blocks are what the simplification drops. :math:`c(d)` is the
channel that input value :math:`d` occupies at each level after the squeezes, so
:math:`\alpha_d` is a product over the steps of every level the value passes through
before it leaves the flow at a split (or reaches the top). :math:`\sigma_d` is the standard
deviation of the prior over the latent coordinate that value becomes: the learned top
prior's, or the split prior's evaluated at the expansion point :math:`x_0` (the paper's
single :math:`\sigma_\psi`; ours are learned per coordinate). The split priors' dependence
on the kept half, and their learned means, are also dropped.

The paper's assumptions hold exactly when every :math:`A_k` is diagonal, every coupling
outputs zero and the priors do not depend on the kept half; then :attr:`hessian_diagonal`
equals the true :math:`\operatorname{diag}(\nabla_x^2 \log p)` (tested against autograd).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ood_lib.models.flows import Glow
from ood_lib.models.flows.squeeze import squeeze2d


@dataclass(frozen=True)
class DiagonalCurvature:
    """Per input value d, shaped like one image (C, H, W): the gain alpha_d and the prior std sigma_d."""

    gain: Tensor
    prior_std: Tensor

    @property
    def hessian_diagonal(self) -> Tensor:
        """The paper's approximation of d^2 log p / dx_d^2: -alpha_d^2 / sigma_d^2."""
        return -((self.gain / self.prior_std) ** 2)

    def predict_gap(self, ood_second_moments: Tensor, in_second_moments: Tensor) -> float:
        """Eq. 6: 1/2 sum_d H_dd (m_q,d - m_p*,d) in nats, from per-value second moments (variances
        when both sets have the expansion point as mean), each shaped like one image."""
        difference = (ood_second_moments - in_second_moments).to(self.gain)
        return 0.5 * (self.hessian_diagonal * difference).sum().item()


@torch.no_grad()
def diagonal_curvature(glow: Glow, x0: Tensor) -> DiagonalCurvature:
    """The paper's alpha_d and sigma_d (module docstring) for a CV-Glow, split priors evaluated at ``x0``.

    ``x0`` is one image (C, H, W) in the model's [0, 1) space. Gains are accumulated in float64.
    """
    if glow.coupling != "additive":
        raise ValueError(
            f"The closed form is for a constant-volume Glow (coupling='additive'); this Glow has "
            f"coupling={glow.coupling!r}, whose volume term depends on x. Use ood_lib.analysis.second_order for it."
        )
    shape = tuple(glow.image_shape)
    if tuple(x0.shape) != shape:
        raise ValueError(f"x0 must be one image of shape (C, H, W) = {shape}, got {tuple(x0.shape)}")
    hidden = x0[None].to(glow.device) - 0.5
    index = torch.arange(glow.num_dims, dtype=torch.float64, device=glow.device).view(1, *shape)
    gain = torch.ones_like(index)
    pieces: list[tuple[Tensor, Tensor, Tensor]] = []  # (index, gain, prior std) of the values leaving the flow
    for level, steps in enumerate(glow.levels):
        hidden, index, gain = squeeze2d(hidden), squeeze2d(index), squeeze2d(gain)
        for step in steps:
            row_sums = step.channel_map()[0].sum(dim=1).double()
            gain = gain * row_sums.view(1, -1, 1, 1)
            hidden, _ = step(hidden)
        if level < glow.num_levels - 1:
            split = glow.splits[level]
            hidden, _ = split(hidden)
            index, index_z = split(index)
            gain, gain_z = split(gain)
            _, log_std = split.prior_params(hidden)
            pieces.append((index_z, gain_z, log_std.double().exp()))
    pieces.append((index, gain, glow.top_prior.log_std.double().exp()[None]))
    gains = torch.empty(glow.num_dims, dtype=torch.float64, device=glow.device)
    prior_stds = torch.empty_like(gains)
    for piece_index, piece_gain, piece_std in pieces:
        positions = piece_index.reshape(-1).long()
        gains[positions] = piece_gain.reshape(-1)
        prior_stds[positions] = piece_std.reshape(-1)
    return DiagonalCurvature(gains.view(shape), prior_stds.view(shape))


def small_cv_glow(generator: torch.Generator, diagonal_kernels: bool) -> Glow:
    """A 1x4x4 CV-Glow (float64, eval mode) on which to check the closed form: couplings that
    output zero and split priors that ignore the kept half (fresh zero-initialised nets), random
    ActNorms, 1x1 kernels (diagonal ones if ``diagonal_kernels``: the paper's assumptions then
    hold exactly) and top prior, all drawn from ``generator``."""
    glow = Glow((1, 4, 4), levels=2, steps=2, hidden=4, coupling="additive").double().eval()
    with torch.no_grad():
        for step in (step for steps in glow.levels for step in steps):
            step.actnorm.log_scale.copy_(0.5 * torch.randn(step.actnorm.log_scale.shape, generator=generator))
            step.actnorm.bias.copy_(torch.randn(step.actnorm.bias.shape, generator=generator))
            step.actnorm.initialized.fill_(True)
            invconv = step.invconv
            invconv.log_s.copy_(0.3 * torch.randn(invconv.log_s.shape, generator=generator))
            if diagonal_kernels:
                invconv.permutation.copy_(torch.eye(invconv.num_channels))
                invconv.lower.zero_()
                invconv.upper.zero_()
            else:
                invconv.lower.copy_(torch.randn(invconv.lower.shape, generator=generator))
                invconv.upper.copy_(torch.randn(invconv.upper.shape, generator=generator))
        glow.top_prior.mean.copy_(torch.randn(glow.top_prior.mean.shape, generator=generator))
        glow.top_prior.log_std.copy_(0.5 * torch.randn(glow.top_prior.log_std.shape, generator=generator))
    return glow
