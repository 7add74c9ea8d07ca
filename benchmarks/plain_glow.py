"""The baseline of the throughput benchmark: Glow written the plain way, from ``ood_lib``'s own layers.

Same architecture, parameters and log-density as :class:`ood_lib.models.flows.Glow`,
composed as a textbook implementation would compose it: every step runs
ActNorm, then the 1x1 convolution, then the coupling, each as its own module,
on contiguous NCHW tensors (squeeze copies into NCHW order). The optimisations
of ``ood_lib.models.flows.Glow`` (one fused convolution for ActNorm + 1x1 conv per
step, channels-last activations) are exactly what this leaves out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from ood_lib.models.flows import COUPLINGS, ActNorm, InvConv2d, LearnedGaussianPrior, Split


def squeeze_nchw(x: Tensor) -> Tensor:
    """[N, C, H, W] -> [N, 4C, H/2, W/2] contiguous NCHW, channel order 4c + 2i + j as ``squeeze2d``."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


class PlainGlow(nn.Module):
    """Glow(image_shape=(C, H, W), levels, steps, hidden, coupling) with unfused steps; ``log_prob`` only."""

    def __init__(
        self, image_shape: Sequence[int], levels: int, steps: int, hidden: int, coupling: str = "affine"
    ) -> None:
        super().__init__()
        num_channels, height, width = image_shape
        self.image_shape = tuple(image_shape)
        self.config = {
            "image_shape": list(image_shape),
            "levels": levels,
            "steps": steps,
            "hidden": hidden,
            "coupling": coupling,
            "implementation": "plain",
        }
        self.levels = nn.ModuleList()
        self.splits = nn.ModuleList()
        for level in range(levels):
            num_channels, height, width = 4 * num_channels, height // 2, width // 2
            self.levels.append(
                nn.ModuleList(
                    layer
                    for _ in range(steps)
                    for layer in (
                        ActNorm(num_channels),
                        InvConv2d(num_channels),
                        COUPLINGS[coupling](num_channels, hidden),
                    )
                )
            )
            if level < levels - 1:
                self.splits.append(Split(num_channels))
                num_channels = self.splits[-1].num_channels_kept
        self.top_prior = LearnedGaussianPrior((num_channels, height, width))

    @property
    def num_dims(self) -> int:
        """D = C H W."""
        return math.prod(self.image_shape)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) in nats for x in [0, 1)^D (NCHW), shape [N]."""
        h = x - 0.5
        log_p = x.new_zeros(x.shape[0])
        for level, layers in enumerate(self.levels):
            h = squeeze_nchw(h)
            for layer in layers:
                h, log_det = layer(h)
                log_p = log_p + log_det
            if level < len(self.splits):
                h, z = self.splits[level](h)
                log_p = log_p + self.splits[level].log_prob(z, h)
        return log_p + self.top_prior.log_prob(h)
