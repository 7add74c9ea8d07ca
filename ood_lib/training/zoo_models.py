"""The zoo's model families: which untrained model each name builds at a profile's size.

``MODEL_BUILDERS[name] = (build, budget)``: ``build(profile, (H, W, C), **options)`` returns the
untrained model, and ``budget`` names the profile's training budget it uses. A new model family is
one line here (CONTRIBUTING, "A new model family").
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ood_lib.models.flows import Glow
from ood_lib.models.gated_pixelcnn import GatedPixelCNN
from ood_lib.models.pixelcnn import PixelCNN
from ood_lib.models.vae import VAE
from ood_lib.settings.profiles import Profile

# Builds an untrained model for images of shape (H, W, C) at a profile's size; keyword options
# (only the Glow builders take any) come from the variant.
ModelBuilder = Callable[..., nn.Module]

# The model names whose builder takes ``input_independent_split_prior``.
GLOW_MODELS = ("glow", "cv_glow")


def _glow_builder(coupling: str | None) -> ModelBuilder:
    """Glow at the profile's size; ``coupling`` overrides the profile's coupling (None keeps it)."""

    def build(
        profile: Profile, image_shape_hwc: tuple[int, int, int], input_independent_split_prior: bool = False
    ) -> nn.Module:
        architecture = profile.glow(image_shape_hwc)
        height, width, channels = image_shape_hwc
        return Glow(
            image_shape=(channels, height, width),
            levels=architecture.levels,
            steps=architecture.steps,
            hidden=architecture.hidden,
            coupling=coupling or architecture.coupling,
            input_dependent_split_prior=not input_independent_split_prior,
        )

    return build


def _family_builder(family: str, model_class: type[nn.Module]) -> ModelBuilder:
    """``model_class`` with the profile's constructor arguments for ``family``."""

    def build(profile: Profile, image_shape_hwc: tuple[int, int, int]) -> nn.Module:
        height, width, channels = image_shape_hwc
        return model_class(image_shape=(channels, height, width), **profile.architecture(family, image_shape_hwc))

    return build


# Model name -> (builder, the profile's training budget it uses). A new model family is one line here.
MODEL_BUILDERS: dict[str, tuple[ModelBuilder, str]] = {
    "glow": (_glow_builder(None), "glow"),
    "cv_glow": (_glow_builder("additive"), "glow"),  # constant-volume Glow (Figure 4c)
    "pixelcnn": (_family_builder("pixelcnn", PixelCNN), "pixelcnn"),  # Figure 3
    "vae": (_family_builder("vae", VAE), "vae"),  # Figure 3
    "gated_pixelcnn": (_family_builder("gated_pixelcnn", GatedPixelCNN), "gated_pixelcnn"),  # likelihood ratio
    # the same with one block, trained the same way: chapter 08's control for the ratio to a local model
    "gated_pixelcnn_local": (_family_builder("gated_pixelcnn_local", GatedPixelCNN), "gated_pixelcnn_local"),
}
