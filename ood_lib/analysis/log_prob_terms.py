r"""A Glow's log-likelihood taken apart term by term: every prior's scale, Mahalanobis and constant part.

Glow scores its latents with diagonal Gaussians: the top prior :math:`\mathcal{N}(\mu, \sigma^2)`
with learned, input-independent :math:`\mu, \sigma`, and at each split a conditional prior
:math:`\mathcal{N}(\mu(h_l), \sigma(h_l)^2)` whose mean and scale are computed from the kept half
:math:`h_l`, so they depend on the image. Each Gaussian contributes

.. math::
    \log \mathcal{N}(z; \mu, \sigma^2) =
    \underbrace{-\textstyle\sum_i \log\sigma_i}_{\text{scale}}
    \;\underbrace{-\tfrac12 \textstyle\sum_i \big((z_i - \mu_i)/\sigma_i\big)^2}_{\text{Mahalanobis}}
    \;\underbrace{-\tfrac{n}{2}\log 2\pi}_{\text{constant}} ,

and :math:`\log p(x) = \sum_{\text{priors}} (\text{scale} + \text{Mahalanobis} + \text{constant})
+ \log|\det \partial f/\partial x|`. A split prior's scale term is what an affine flow step
:math:`z \mapsto (z - \mu(h))/\sigma(h)` would contribute as its log-determinant, so which of the
two the input-dependent volume is booked under is a convention. :func:`log_prob_terms` returns
every term per example; the terms add up to ``model.log_prob_parts`` exactly (up to rounding).
With ``keep_tensors=True`` each prior's terms also carry the tensors they were computed from
(its latent :math:`z`, the prior's :math:`\mu` and :math:`\log\sigma`, and for a split the kept
half :math:`h_l`), for statistics a chapter wants beyond the sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ood_lib.models.flows.glow import Glow
from ood_lib.models.flows.squeeze import squeeze2d


@dataclass
class GaussianTerms:
    """The three parts of one diagonal Gaussian's log-density, each shaped [N] (nats), and two diagnostics."""

    scale: Tensor  # -sum log sigma
    mahalanobis: Tensor  # -1/2 sum ((z - mu) / sigma)^2
    constant: Tensor  # -n/2 log(2 pi), the same for every example
    largest_deviation: Tensor  # max_i |z_i - mu_i|, to tell a runaway latent from a vanishing scale
    smallest_log_std: Tensor  # min_i log sigma_i
    # the joint diagnostic, all at the one position i* = argmax_i |z_i - mu_i| / sigma_i:
    worst_standardised: Tensor  # |z - mu| / sigma at i*
    worst_miss: Tensor  # |z - mu| at i*
    worst_log_std: Tensor  # log sigma at i*
    worst_share: Tensor  # share of the Mahalanobis sum carried by the 5 largest positions
    # only with log_prob_terms(..., keep_tensors=True), else None: the per-value tensors, shaped like z
    z: Tensor | None = None  # the latent this prior scores
    mean: Tensor | None = None  # mu (expanded to z's shape)
    log_std: Tensor | None = None  # log sigma (expanded to z's shape)
    kept: Tensor | None = None  # a split's kept half h_l, from which mu and log sigma are predicted (None for the top)

    @property
    def total(self) -> Tensor:
        """log N(z; mu, sigma^2) per example."""
        return self.scale + self.mahalanobis + self.constant


@dataclass
class LogProbTerms:
    """Every term of log p(x) per example: ``priors`` maps "split 1", ..., "top" to their parts."""

    priors: dict[str, GaussianTerms]
    log_det: Tensor

    def part(self, name: str) -> Tensor:
        """The sum over all priors of one part: ``"scale"``, ``"mahalanobis"`` or ``"constant"``."""
        return sum(getattr(terms, name) for terms in self.priors.values())

    @property
    def log_pz(self) -> Tensor:
        """log p(z), all priors together."""
        return sum(terms.total for terms in self.priors.values())

    @property
    def log_px(self) -> Tensor:
        """log p(z) + log|det|."""
        return self.log_pz + self.log_det

    def table(self) -> dict[str, Tensor]:
        """Flat ``{"split 1 scale": ..., ..., "top constant": ..., "log|det|": ...}``, in the flow's order."""
        rows = {}
        for prior, terms in self.priors.items():
            for name in ("scale", "mahalanobis", "constant"):
                rows[f"{prior} {name}"] = getattr(terms, name)
        rows["log|det|"] = self.log_det
        return rows


def gaussian_terms(z: Tensor, mean: Tensor, log_std: Tensor) -> GaussianTerms:
    """Scale, Mahalanobis and constant parts of log N(z; mean, exp(log_std)^2), summed per example."""
    mean, log_std = mean.expand_as(z), log_std.expand_as(z)
    dims = tuple(range(1, z.dim()))
    count = math.prod(z.shape[1:])
    return GaussianTerms(
        scale=-log_std.sum(dim=dims),
        mahalanobis=-0.5 * ((z - mean) ** 2 * torch.exp(-2.0 * log_std)).sum(dim=dims),
        constant=z.new_full((z.shape[0],), -0.5 * count * math.log(2.0 * math.pi)),
        largest_deviation=(z - mean).abs().flatten(1).amax(dim=1),
        smallest_log_std=log_std.flatten(1).amin(dim=1),
        **_joint_diagnostic(z, mean, log_std),
    )


def _joint_diagnostic(z: Tensor, mean: Tensor, log_std: Tensor) -> dict[str, Tensor]:
    """Miss, scale and standardised deviation at the position with the largest |z - mu| / sigma."""
    miss = (z - mean).abs().flatten(1)
    flat_log_std = log_std.flatten(1)
    standardised = miss * torch.exp(-flat_log_std)
    worst = standardised.argmax(dim=1, keepdim=True)
    squares = standardised**2
    top = squares.topk(min(5, squares.shape[1]), dim=1).values.sum(dim=1)
    return {
        "worst_standardised": standardised.gather(1, worst).squeeze(1),
        "worst_miss": miss.gather(1, worst).squeeze(1),
        "worst_log_std": flat_log_std.gather(1, worst).squeeze(1),
        "worst_share": top / squares.sum(dim=1).clamp_min(torch.finfo(squares.dtype).tiny),
    }


def log_prob_terms(model: Glow, x: Tensor, keep_tensors: bool = False) -> LogProbTerms:
    """Run ``model`` on dequantized images ``x`` in [0, 1) (N, C, H, W) and return every term of log p(x).

    With ``keep_tensors`` every prior's :class:`GaussianTerms` also holds ``z``, ``mean``, ``log_std``
    and (for a split) ``kept``; the terms themselves are the same either way.
    """
    model._check_input(x)
    h = x - 0.5
    log_det = x.new_zeros(x.shape[0])
    priors = {}
    for level, steps in enumerate(model.levels):
        h = squeeze2d(h)
        for step in steps:
            h, step_log_det = step(h)
            log_det = log_det + step_log_det
        if level < model.num_levels - 1:
            split = model.splits[level]
            h, z = split(h)
            mean, log_std = split.prior_params(h)
            priors[f"split {level + 1}"] = gaussian_terms(z, mean, log_std)
            if keep_tensors:
                _keep(priors[f"split {level + 1}"], z, mean, log_std, kept=h)
    priors["top"] = gaussian_terms(h, model.top_prior.mean, model.top_prior.log_std)
    if keep_tensors:
        _keep(priors["top"], h, model.top_prior.mean, model.top_prior.log_std, kept=None)
    return LogProbTerms(priors=priors, log_det=log_det)


def _keep(terms: GaussianTerms, z: Tensor, mean: Tensor, log_std: Tensor, kept: Tensor | None) -> None:
    terms.z, terms.mean, terms.log_std, terms.kept = z, mean.expand_as(z), log_std.expand_as(z), kept
