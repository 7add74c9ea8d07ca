"""The settings every other package needs, at the bottom of the library: it imports nothing from ood_lib.

- ``paths``: where data, caches and trained models live (``$OOD_DATA_DIR``, ``$OOD_MODEL_DIR``),
  atomic writes.
- ``device``: the torch device a run uses (``$OOD_DEVICE``, else CUDA when present).
- ``profiles``: the compute profiles ``smoke``/``quick``/``full`` (``$OOD_PROFILE``): every model size,
  training budget (``TrainConfig``) and seed the chapters use. Chapter 03 prints them; every chapter
  runs with one.
"""

from ood_lib.settings.device import get_device
from ood_lib.settings.paths import data_dir, model_dir
from ood_lib.settings.profiles import PROFILES, GlowConfig, Profile, TrainConfig, get_profile

__all__ = ["PROFILES", "GlowConfig", "Profile", "TrainConfig", "data_dir", "get_device", "get_profile", "model_dir"]
