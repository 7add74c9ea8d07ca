"""Glow and its layers. Every layer maps ``forward(x) -> (y, log_det)`` with a per-example
log_det of shape [N], and ``inverse(y) -> x``."""

from .actnorm import ActNorm
from .coupling import AdditiveCoupling, AffineCoupling, ConvActNorm, coupling_net
from .glow import COUPLINGS, FlowStep, Glow
from .invconv import InvConv2d
from .priors import LearnedGaussianPrior, diagonal_gaussian_log_prob, diagonal_gaussian_sample
from .split import Split
from .squeeze import Squeeze, squeeze2d, unsqueeze2d
from .zero_conv import ZeroConv2d

__all__ = [
    "COUPLINGS",
    "ActNorm",
    "AdditiveCoupling",
    "AffineCoupling",
    "ConvActNorm",
    "FlowStep",
    "Glow",
    "InvConv2d",
    "LearnedGaussianPrior",
    "Split",
    "Squeeze",
    "ZeroConv2d",
    "coupling_net",
    "diagonal_gaussian_log_prob",
    "diagonal_gaussian_sample",
    "squeeze2d",
    "unsqueeze2d",
]
