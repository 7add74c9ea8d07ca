"""Compute profiles: every size, budget and seed a chapter uses, in one place.

``OOD_PROFILE`` selects one of

- ``smoke``: CI. Tiny models, data subsets, seconds per chapter. Shows that the
  code runs, not that the phenomena appear.
- ``quick``: CPU. Minutes per chapter on 2 cores and still shows every
  phenomenon of the paper on FashionMNIST/MNIST.
- ``full``: GPU, paper scale.

The default is ``full`` when CUDA is available and ``quick`` otherwise.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import torch

PROFILE_ENV = "OOD_PROFILE"


@dataclass(frozen=True)
class GlowConfig:
    """Architecture of a Glow: ``levels`` L, ``steps`` K per level, coupling-net width."""

    levels: int
    steps: int
    hidden: int
    coupling: str = "affine"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation budget of one training run."""

    n_steps: int
    batch_size: int
    lr: float
    warmup_steps: int
    grad_clip: float
    eval_every: int
    checkpoint_every: int
    n_train: int | None  # training subset size; None = the whole split
    n_eval: int  # examples per data set in the periodic evaluation
    seed: int = 0
    decay_fraction: float = 0.0  # the learning rate falls linearly to 0 over this last fraction of n_steps
    optimizer: str = "adamax"  # "adamax" (Glow's, the engine's default) or "adam" (Ren et al.'s, the gated PixelCNNs)
    weight_decay: float = 0.0  # L2 coefficient passed to the optimiser (Ren et al.'s background option; 0 = none)
    betas: tuple[float, float] | None = None  # Adam/Adamax (beta1, beta2); None = torch's (0.9, 0.999)
    lr_decay_per_step: float = 1.0  # the rate is also multiplied by this to the power of the update (1 = none)
    # Keep every evaluation's per-image BPDs in the history (``evaluation.PER_IMAGE_KEY``): AUROCs per update.
    per_image_eval: bool = False
    # torch.compile the training loss (``ood_lib.training.engine``): True/False, or None = $OOD_COMPILE (default off).
    # How a run computes, not what it computes: never part of a model's or checkpoint's identity.
    compile: bool | None = None


# Blocks of chapter 08's *local* gated PixelCNN: the gated model's filters, output layer and budget with
# fewer blocks, so a narrower window and less capacity (the control for the ratio to a local model).
LOCAL_GATED_BLOCKS = 1


def _budget(
    n_steps: int,
    batch_size: int,
    lr: float,
    warmup_steps: int,
    every: int,
    n_eval: int,
    n_train: int | None = None,
    decay_fraction: float = 0.0,
) -> TrainConfig:
    """A profile's training budget: gradient clip 50 and a checkpoint at every evaluation (``every`` updates);
    ``n_train`` training images (None: the whole split)."""
    return TrainConfig(
        n_steps, batch_size, lr, warmup_steps, 50.0, every, every, n_train, n_eval, decay_fraction=decay_fraction
    )


def _gated_train(
    n_steps: int, lr: float, warmup: int, every: int, n_eval: int, n_train: int | None = None
) -> TrainConfig:
    """A gated PixelCNN budget: Adam and batch 32 as Ren et al. 2019, gradient clip 50, eval = checkpoint interval.

    Every evaluation keeps its per-image BPDs (``per_image_eval``): a foreground and a background run
    evaluate the same images under the same seed, so chapter 08 computes the likelihood ratio's AUROC
    at every evaluated update from the two histories.

    ``n_train`` training images (``data.subset_indices``); the rest of the training split
    (``data.held_out_indices``) is the validation split, as Ren et al.'s 48,000 / 12,000 for FashionMNIST.
    """
    return replace(_budget(n_steps, 32, lr, warmup, every, n_eval, n_train), optimizer="adam", per_image_eval=True)


@dataclass(frozen=True)
class Profile:
    """All experiment sizes for one profile; ``*_small`` for 28x28x1 images, ``*_large`` for 32x32x3.

    Glow trains with ``train_*``; the comparison families (PixelCNN, VAE, chapter 04)
    with ``baseline_train_*``, and their constructor arguments are ``pixelcnn_*`` / ``vae_*``.
    """

    name: str
    description: str
    n_eval: int | None  # test examples each chapter scores per data set; None = all
    glow_small: GlowConfig
    glow_large: GlowConfig
    train_small: TrainConfig
    train_large: TrainConfig
    pixelcnn_small: dict
    pixelcnn_large: dict
    vae_small: dict
    vae_large: dict
    baseline_train_small: TrainConfig
    baseline_train_large: TrainConfig
    vae_importance_samples: int  # K of the VAE's importance-weighted bound when scoring
    n_jacobian: int  # images per data set whose Jacobian norm is estimated (chapter 05)
    n_second_order: int  # test images per data set in the second-order predictions (chapter 06)
    ensemble_size: int  # independently seeded Glows for ensembles and WAIC (chapter 08)
    background_rates: tuple[float, ...]  # candidate perturbation rates of likelihood-ratio background models
    outlier_exposure_train: TrainConfig  # fine-tuning budget of outlier exposure (from a trained model)
    seed: int = 0
    n_ood_images: int | None = None  # images per set in chapter 08's score table; None = n_eval
    # The gated PixelCNN (``ood_lib.models.gated_pixelcnn``, the likelihood ratio's model), one size for all images.
    gated_pixelcnn: dict = field(default_factory=lambda: {"filters": 8, "blocks": 1, "components": 1})
    gated_pixelcnn_train: TrainConfig = field(default_factory=lambda: _gated_train(60, 1e-3, 10, 30, 128, 2048))

    def glow(self, image_shape: tuple[int, int, int]) -> GlowConfig:
        """Glow architecture for images of shape ``(H, W, C)``."""
        return self.glow_small if _is_small(image_shape) else self.glow_large

    def architecture(self, family: str, image_shape: tuple[int, int, int]) -> dict:
        """Constructor arguments of ``family`` ("pixelcnn", "vae", "gated_pixelcnn" or "gated_pixelcnn_local")
        for images ``(H, W, C)``; the local gated PixelCNN is the gated one with LOCAL_GATED_BLOCKS blocks."""
        if family == "gated_pixelcnn":
            return self.gated_pixelcnn
        if family == "gated_pixelcnn_local":
            return {**self.gated_pixelcnn, "blocks": LOCAL_GATED_BLOCKS}
        if family not in ("pixelcnn", "vae"):
            raise ValueError(f"No architecture for {family!r} in profiles; known: pixelcnn, vae (Glow: .glow()).")
        return getattr(self, f"{family}_{'small' if _is_small(image_shape) else 'large'}")

    def train(self, image_shape: tuple[int, int, int], family: str = "glow") -> TrainConfig:
        """Training budget for ``family`` on images of shape ``(H, W, C)``."""
        size = "small" if _is_small(image_shape) else "large"
        if family in ("gated_pixelcnn", "gated_pixelcnn_local"):
            return self.gated_pixelcnn_train
        return getattr(self, f"train_{size}" if family == "glow" else f"baseline_train_{size}")


def _is_small(image_shape: tuple[int, int, int]) -> bool:
    return image_shape[0] <= 28


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="CI: tiny models and data subsets, seconds per chapter",
        n_eval=256,
        glow_small=GlowConfig(levels=2, steps=2, hidden=16),
        glow_large=GlowConfig(levels=2, steps=2, hidden=16),
        train_small=_budget(150, 32, 3e-3, 10, every=50, n_eval=128, n_train=2048),
        train_large=_budget(150, 32, 3e-3, 10, every=50, n_eval=128, n_train=2048),
        pixelcnn_small={"hidden": 16, "layers": 2},
        pixelcnn_large={"hidden": 12, "layers": 2},
        vae_small={"latent_dim": 8, "hidden": 8},
        vae_large={"latent_dim": 8, "hidden": 8},
        baseline_train_small=_budget(60, 32, 3e-3, 10, every=30, n_eval=128, n_train=2048),
        baseline_train_large=_budget(60, 32, 3e-3, 10, every=30, n_eval=128, n_train=2048),
        vae_importance_samples=4,
        n_jacobian=16,
        n_second_order=32,
        ensemble_size=3,
        background_rates=(0.1, 0.2, 0.3),
        outlier_exposure_train=_budget(30, 32, 5e-4, 0, every=15, n_eval=128, n_train=2048),
    ),
    "quick": Profile(
        name="quick",
        description="CPU: minutes per chapter on 2 cores, every phenomenon visible",
        n_eval=2000,
        glow_small=GlowConfig(levels=2, steps=8, hidden=96),
        glow_large=GlowConfig(levels=3, steps=8, hidden=64),
        # Chosen with benchmarks/time_to_bpd.py (BPD reached per CPU-minute, benchmarks/RESULTS.md).
        train_small=_budget(7000, 32, 3e-3, 200, every=500, n_eval=1000, decay_fraction=0.3),
        train_large=_budget(3000, 64, 2e-3, 200, every=250, n_eval=1000, decay_fraction=0.3),
        pixelcnn_small={"hidden": 32, "layers": 4},
        pixelcnn_large={"hidden": 48, "layers": 4},
        vae_small={"latent_dim": 16, "hidden": 16},
        vae_large={"latent_dim": 16, "hidden": 16},
        baseline_train_small=_budget(600, 64, 2e-3, 50, every=100, n_eval=500),
        baseline_train_large=_budget(600, 64, 2e-3, 50, every=100, n_eval=500),
        vae_importance_samples=16,
        n_jacobian=300,
        n_second_order=500,
        ensemble_size=3,
        background_rates=(0.1, 0.2, 0.3),
        n_ood_images=1000,
        gated_pixelcnn={"filters": 32, "blocks": 5, "components": 1},  # benchmarks/lr_feasibility.py
        gated_pixelcnn_train=_gated_train(800, 1e-3, 50, 100, 500, 48_000),
        outlier_exposure_train=_budget(300, 64, 5e-4, 0, every=100, n_eval=500),
    ),
    "full": Profile(
        name="full",
        description="GPU: paper-scale models and budgets",
        n_eval=None,
        glow_small=GlowConfig(levels=2, steps=32, hidden=400),  # 28 -> 14 -> 7: two squeezes at most
        glow_large=GlowConfig(levels=3, steps=32, hidden=400),
        train_small=_budget(30000, 64, 1e-3, 1000, every=1000, n_eval=10000),
        train_large=_budget(100000, 64, 1e-3, 1000, every=2000, n_eval=10000),
        pixelcnn_small={"hidden": 128, "layers": 8},
        pixelcnn_large={"hidden": 120, "layers": 8},  # hidden must be a multiple of C = 3
        vae_small={"latent_dim": 64, "hidden": 64},
        vae_large={"latent_dim": 64, "hidden": 64},
        baseline_train_small=_budget(30000, 64, 1e-3, 500, every=1000, n_eval=10000),
        baseline_train_large=_budget(60000, 64, 1e-3, 500, every=2000, n_eval=10000),
        vae_importance_samples=64,
        n_jacobian=1000,
        n_second_order=2000,
        ensemble_size=5,
        background_rates=(0.1, 0.2, 0.3),
        # Ren et al. 2019's public code: 5 gated layers, 32 filters, 1 logistic (there in an up and a down pass).
        gated_pixelcnn={"filters": 32, "blocks": 5, "components": 1},
        # Ren et al.'s optimiser too: Adam betas (0.95, 0.9995), the rate times 0.999995 at every update.
        gated_pixelcnn_train=replace(
            _gated_train(50000, 1e-4, 0, 1000, 10000, 48_000), betas=(0.95, 0.9995), lr_decay_per_step=0.999995
        ),
        outlier_exposure_train=_budget(3000, 64, 5e-4, 0, every=500, n_eval=10000),
    ),
}


def default_profile_name() -> str:
    """``full`` on a machine with CUDA, ``quick`` otherwise."""
    return "full" if torch.cuda.is_available() else "quick"


def get_profile(name: str | None = None) -> Profile:
    """The profile named ``name``, else ``$OOD_PROFILE``, else the default."""
    chosen = name or os.environ.get(PROFILE_ENV) or default_profile_name()
    if chosen not in PROFILES:
        raise ValueError(
            f"Unknown profile {chosen!r} (from {'argument' if name else PROFILE_ENV}). "
            f"Valid profiles: {', '.join(PROFILES)}. Set e.g. {PROFILE_ENV}=quick."
        )
    return PROFILES[chosen]
