"""How a zoo model departs from the plain one (``Variant``), and the file-name suffix that says so.

``ood_lib.training.zoo`` exports everything here (``zoo.Variant``, ``zoo.PLAIN``, ``zoo.OUTLIER_MARGIN_BPD``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

# Outlier exposure's default margin: outliers are pushed this many bits per dimension above the inliers
# (``Variant.outlier_margin`` chooses another; ``ood_lib.training.outlier_exposure`` states the unit).
OUTLIER_MARGIN_BPD = 1.0


@dataclass(frozen=True)
class Variant:
    """How a zoo model departs from the plain one: another seed, perturbed training inputs
    (a likelihood-ratio background model), or outlier-exposure fine-tuning on the training
    split of another data set (converted to the training images' shape), optionally with a
    margin of its own (``outlier_margin``, bits per dimension; None: ``OUTLIER_MARGIN_BPD``).

    A margin equal to ``OUTLIER_MARGIN_BPD`` is stored as None (one model, one file name); one
    without ``outliers_from``, negative, non-finite or not written exactly by ``:g`` (more than
    six significant digits, so two margins could share a file name) is refused.
    """

    seed: int = 0
    perturbation_rate: float = 0.0
    outliers_from: str | None = None
    bf16: bool = False  # bfloat16 autocast in training (``ood_lib.training.engine.train``); a model of its own
    # Glow / CV-Glow only: split priors with a learned mean and log-std per position, not a function of the kept half
    input_independent_split_prior: bool = False
    no_lr_decay: bool = False  # a constant learning rate: the profile's decay_fraction set to 0
    outlier_margin: float | None = None  # outlier exposure's margin in bits per dimension; None: OUTLIER_MARGIN_BPD

    def __post_init__(self) -> None:
        margin = self.outlier_margin
        if margin is None:
            return
        problem = outlier_margin_problem(margin)
        if problem is not None:
            raise ValueError(f"outlier_margin: {problem}")
        if not self.outliers_from:
            raise ValueError(
                f"outlier_margin={margin!r} is an outlier-exposure option: pass outliers_from (a data set) with it, "
                "or leave outlier_margin None."
            )
        margin = float(margin) + 0.0  # an int as a float, -0.0 as 0.0
        object.__setattr__(self, "outlier_margin", None if margin == OUTLIER_MARGIN_BPD else margin)

    @property
    def margin_bpd(self) -> float:
        """Outlier exposure's margin in bits per dimension (meaningful with ``outliers_from``)."""
        return OUTLIER_MARGIN_BPD if self.outlier_margin is None else self.outlier_margin

    def suffix(self) -> str:
        """File-name suffix; empty for the plain model."""
        parts = [f"_seed{self.seed}" if self.seed else ""]
        parts.append(f"_perturbed{self.perturbation_rate:g}" if self.perturbation_rate else "")
        parts.append(f"_oe-{self.outliers_from}" if self.outliers_from else "")
        parts.append(f"_m{self.outlier_margin:g}" if self.outlier_margin is not None else "")
        parts.append("_bf16" if self.bf16 else "")
        parts.append("_constsplit" if self.input_independent_split_prior else "")
        parts.append("_nodecay" if self.no_lr_decay else "")
        return "".join(parts)


PLAIN = Variant()


def outlier_margin_problem(margin: object) -> str | None:
    """Why ``margin`` cannot be an outlier-exposure margin (a sentence saying what to pass), or None if it can."""
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real):
        return f"got {margin!r}; pass a number of bits per dimension >= 0, e.g. 4."
    margin = float(margin)  # as the file name and the config will hold it
    if not math.isfinite(margin) or margin < 0:
        return (
            f"got {margin!r}; pass a finite number of bits per dimension >= 0, e.g. 4 "
            f"(the default is {OUTLIER_MARGIN_BPD:g})."
        )
    if float(f"{margin:g}") != margin:
        return f"got {margin!r}, which the file name would round to {margin:g}; pass at most six significant digits."
    return None
