"""Glow (Kingma & Dhariwal 2018): a multi-scale flow of actnorm, 1x1 convolutions and couplings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ood_lib.data.dequantization import dequantize
from ood_lib.models.bpd import bits_per_dim_from_log_prob
from ood_lib.models.flows.actnorm import ActNorm
from ood_lib.models.flows.coupling import AdditiveCoupling, AffineCoupling
from ood_lib.models.flows.invconv import InvConv2d
from ood_lib.models.flows.priors import LearnedGaussianPrior
from ood_lib.models.flows.split import Split
from ood_lib.models.flows.squeeze import squeeze2d, unsqueeze2d
from ood_lib.models.image_model import ImageDensityModel

COUPLINGS = {"affine": AffineCoupling, "additive": AdditiveCoupling}


class FlowStep(nn.Module):
    r"""One step of flow: ActNorm, then invertible 1x1 convolution, then coupling.

    ActNorm followed by the 1x1 convolution is one affine channel map, computed
    as a single convolution:

    .. math::
        W\big((x + b) \odot e^{s}\big) = A x + a, \qquad
        A = W \operatorname{diag}(e^{s}), \quad a = A b,

        \log\left|\det \frac{\partial y}{\partial x}\right|
        = H W \Big(\sum_c s_c + \log|\det W|\Big) + \log|\det J_{\text{coupling}}| .
    """

    def __init__(self, num_channels: int, hidden: int, coupling: str = "affine", lu: bool = True) -> None:
        super().__init__()
        self.actnorm = ActNorm(num_channels)
        self.invconv = InvConv2d(num_channels, lu=lu)
        self.coupling = COUPLINGS[coupling](num_channels, hidden)

    def channel_map(self) -> tuple[Tensor, Tensor, Tensor]:
        """(A, a, log|det A|) of the fused ActNorm + 1x1 convolution, A of shape [C, C]."""
        weight = self.invconv.weight() * torch.exp(self.actnorm.log_scale)
        bias = weight @ self.actnorm.bias
        log_abs_det = self.actnorm.log_abs_det_per_position() + self.invconv.log_abs_det_per_position()
        return weight, bias, log_abs_det

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """y = coupling(A x + a); log_det shape [N]."""
        self.actnorm.maybe_initialize(x)
        weight, bias, log_abs_det = self.channel_map()
        h = F.conv2d(x, weight[:, :, None, None], bias)
        y, log_det_coupling = self.coupling(h)
        return y, log_det_coupling + x.shape[2] * x.shape[3] * log_abs_det

    def inverse(self, y: Tensor) -> Tensor:
        """x = A^{-1}(coupling^{-1}(y) - a), with A^{-1} computed in float64."""
        h = self.coupling.inverse(y)
        weight, bias, _ = self.channel_map()
        weight_inverse = torch.linalg.inv(weight.double()).to(y.dtype)
        return F.conv2d(h, weight_inverse[:, :, None, None], -weight_inverse @ bias)


class Glow(ImageDensityModel):
    r"""Multi-scale Glow density on images x in [0, 1)^D, D = C H W.

    ``image_shape`` is the torch-style tuple (C, H, W); H and W must be
    divisible by 2^levels. Level l = 1..L: squeeze (2x2 space-to-depth), ``steps``
    x (ActNorm, 1x1 conv, coupling), then, except at the last level, a
    :class:`Split` that factors out half the channels as z_l. The last level's
    output z_L is scored by a :class:`LearnedGaussianPrior`. The input is first
    shifted to [-0.5, 0.5) (a translation, log|det| = 0). With f the whole
    flow and z = f(x) = (z_1, ..., z_L),

    .. math::
        \log p(x) = \underbrace{\log p(z_L) + \sum_{l<L} \log p(z_l \mid h_l)}_{\text{log\_pz}}
        + \underbrace{\log\left|\det \partial f / \partial x\right|}_{\text{log\_det}} .

    ``coupling="additive"`` gives the constant-volume CV-Glow, whose log_det
    does not depend on x. ``input_dependent_split_prior=False`` gives every
    :class:`Split` a learned prior that does not depend on h_l (p(z_l), as the
    top prior).

    Activations are kept channels-last inside the flow (:func:`squeeze2d`), the
    layout of oneDNN's fastest CPU convolutions; the latents returned by
    :meth:`forward` are contiguous NCHW.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        levels: int = 3,
        steps: int = 32,
        hidden: int = 512,
        coupling: str = "affine",
        lu: bool = True,
        input_dependent_split_prior: bool = True,
    ) -> None:
        super().__init__()
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {tuple(image_shape)}")
        num_channels, height, width = (int(size) for size in image_shape)
        if levels < 1 or height % 2**levels or width % 2**levels:
            raise ValueError(
                f"image_shape (C, H, W) = {tuple(image_shape)}: levels must be >= 1 and H, W "
                f"divisible by 2**levels = {2**levels}"
            )
        if coupling not in COUPLINGS:
            raise ValueError(f"coupling must be one of {sorted(COUPLINGS)}, got {coupling!r}")
        self.image_shape = (num_channels, height, width)
        self.num_levels = levels
        self.steps_per_level = steps
        self.hidden = hidden
        self.coupling = coupling
        self.lu = lu
        self.input_dependent_split_prior = input_dependent_split_prior

        self.levels = nn.ModuleList()
        self.splits = nn.ModuleList()
        for level in range(levels):
            num_channels, height, width = 4 * num_channels, height // 2, width // 2
            self.levels.append(nn.ModuleList(FlowStep(num_channels, hidden, coupling, lu) for _ in range(steps)))
            if level < levels - 1:
                split = Split(num_channels, input_dependent_split_prior, (height, width))
                self.splits.append(split)
                num_channels = split.num_channels_kept
        self.top_prior = LearnedGaussianPrior((num_channels, height, width))

    @property
    def config(self) -> dict:
        """JSON-serialisable constructor arguments: ``Glow(**model.config)`` rebuilds the architecture.

        ``input_dependent_split_prior`` appears only when False, so the default models' config is unchanged.
        """
        config = {
            "image_shape": list(self.image_shape),
            "levels": self.num_levels,
            "steps": self.steps_per_level,
            "hidden": self.hidden,
            "coupling": self.coupling,
            "lu": self.lu,
        }
        if not self.input_dependent_split_prior:
            config["input_dependent_split_prior"] = False
        return config

    def _encode(self, x: Tensor, step_log_dets: list[Tensor] | None = None) -> tuple[list[Tensor], Tensor, Tensor]:
        """Run the flow on x in [0, 1): (zs, log_det, log_pz), the last two shaped [N].

        If ``step_log_dets`` is a list, each flow step's log-determinant [N] is appended to it, in order.
        """
        self._check_input(x)
        h = x - 0.5
        log_det = x.new_zeros(x.shape[0])
        log_pz = x.new_zeros(x.shape[0])
        zs = []
        for level, steps in enumerate(self.levels):
            h = squeeze2d(h)
            for step in steps:
                h, step_log_det = step(h)
                log_det = log_det + step_log_det
                if step_log_dets is not None:
                    step_log_dets.append(step_log_det)
            if level < self.num_levels - 1:
                h, z = self.splits[level](h)
                log_pz = log_pz + self.splits[level].log_prob(z, h)
                zs.append(z)
        zs.append(h)
        log_pz = log_pz + self.top_prior.log_prob(h)
        return zs, log_det, log_pz

    def _check_input(self, x: Tensor) -> None:
        """Fail early, saying what was expected, on a wrong shape, layout or dtype."""
        expected = tuple(self.image_shape)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected or not x.is_floating_point():
            hint = ""
            if x.ndim == 4 and tuple(x.shape[1:]) == (expected[1], expected[2], expected[0]):
                hint = " It looks like NHWC: permute it with x.permute(0, 3, 1, 2)."
            elif not x.is_floating_point():
                hint = (
                    " For 8-bit images use bits_per_dim(x_uint8), or dequantize them first (ood_lib.data.dequantize)."
                )
            raise ValueError(
                f"Glow expects float images (N, C, H, W) = (N, {expected[0]}, {expected[1]}, {expected[2]}) in [0, 1), "
                f"got {x.dtype} {tuple(x.shape)}.{hint}"
            )

    def _decode(self, z_top: Tensor, split_latent: Callable[[int, Tensor], Tensor]) -> Tensor:
        """Invert the flow from the top latent; ``split_latent(level, h_kept)`` supplies each z_l."""
        h = z_top
        for level in reversed(range(self.num_levels)):
            if level < self.num_levels - 1:
                h = self.splits[level].inverse(h, split_latent(level, h))
            for step in reversed(self.levels[level]):
                h = step.inverse(h)
            h = unsqueeze2d(h)
        return h + 0.5

    def forward(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        """x in [0, 1), NCHW -> ([z_1, ..., z_L], log|det df/dx| shaped [N]); z_l contiguous NCHW."""
        zs, log_det, _ = self._encode(x)
        return [z.contiguous() for z in zs], log_det

    def inverse(self, zs: Sequence[Tensor]) -> Tensor:
        """x = f^{-1}(z_1, ..., z_L), in the [0, 1) space."""
        return self._decode(zs[-1], lambda level, h_kept: zs[level])

    def log_prob_parts(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(log_pz, log_det) per example, with log p(x) = log_pz + log_det (nats)."""
        _, log_det, log_pz = self._encode(x)
        return log_pz, log_det

    def log_det_per_step(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Where the volume term comes from: (channel_map [L, K], coupling [N, L, K]), in nats.

        Step k of level l contributes
        ``channel_map[l, k]`` :math:`= H_l W_l (\sum_c s_c + \log|\det W|)` from its ActNorm and
        1x1 convolution, the same for every input, and ``coupling[n, l, k]``, the coupling's
        :math:`\sum \log \sigma` for example n (exactly 0 for additive coupling). Everything
        summed over l and k is ``log_det`` of :meth:`forward`.
        """
        step_log_dets: list[Tensor] = []
        self._encode(x, step_log_dets)
        channel_map = []
        _, height, width = self.image_shape
        for level, steps in enumerate(self.levels):
            positions = (height // 2 ** (level + 1)) * (width // 2 ** (level + 1))
            channel_map.append(torch.stack([positions * step.channel_map()[2] for step in steps]))
        channel_map = torch.stack(channel_map)
        total = torch.stack(step_log_dets, dim=1).view(x.shape[0], self.num_levels, self.steps_per_level)
        return channel_map, total - channel_map

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) in nats for x in [0, 1)^D, shape [N]."""
        log_pz, log_det = self.log_prob_parts(x)
        return log_pz + log_det

    def bits_per_dim(self, x_uint8: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """BPD per image of 8-bit images (NCHW uint8), dequantized with fresh uniform noise.

        BPD = (-log p(x) + D log 256) / (D ln 2) with x = (x_uint8 + u) / 256; the
        caller's tensor is not modified.
        """
        x = dequantize(x_uint8, generator).to(self.device)
        return bits_per_dim_from_log_prob(self.log_prob(x), self.num_dims)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """n samples in the [0, 1) space (not clamped: clamp before converting to pixels).

        Every latent is drawn from its prior with the standard deviation scaled by
        ``temperature``.
        """
        z_top = self.top_prior.sample(n, temperature, generator)
        return self._decode(z_top, lambda level, h_kept: self.splits[level].sample(h_kept, temperature, generator))
