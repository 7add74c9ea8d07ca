"""Glow and its layers. Every layer maps ``forward(x) -> (y, log_det)`` with a per-example
log_det of shape [N], and ``inverse(y) -> x``."""

from ood_lib.models.flows.actnorm import ActNorm
from ood_lib.models.flows.coupling import AdditiveCoupling, AffineCoupling, ConvActNorm, coupling_net
from ood_lib.models.flows.glow import COUPLINGS, FlowStep, Glow
from ood_lib.models.flows.invconv import InvConv2d
from ood_lib.models.flows.priors import LearnedGaussianPrior, diagonal_gaussian_log_prob, diagonal_gaussian_sample
from ood_lib.models.flows.split import Split
from ood_lib.models.flows.squeeze import Squeeze, squeeze2d, unsqueeze2d
from ood_lib.models.flows.zero_conv import ZeroConv2d

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
