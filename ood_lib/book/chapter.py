"""The first and last cell of every chapter: what it runs with (profile, device, data), and how long it took."""

from __future__ import annotations

import platform
import sys
import time

import torch

from ood_lib import data
from ood_lib.book.plots import use_png_figures
from ood_lib.settings.device import get_device
from ood_lib.settings.paths import data_dir, describe
from ood_lib.settings.profiles import Profile, get_profile

_chapter_start: float | None = None


def chapter_header(title: str) -> Profile:
    """Print what this chapter runs with (profile, device, torch, data), fix seeds, start its clock."""
    global _chapter_start
    _chapter_start = time.perf_counter()
    profile = get_profile()
    use_png_figures()
    torch.manual_seed(profile.seed)
    device = get_device()
    device_name = (
        torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    )
    print(f"Chapter: {title}")
    print(f"Profile: {profile.name} ({profile.description})")
    print(f"Device: {device.type} ({device_name})")
    print(f"Python {platform.python_version()}, torch {torch.__version__}")
    print(f"Data directory: {describe(data_dir(), 'OOD_DATA_DIR')}")
    for name, spec in data.SPECS.items():
        state = "present" if data.is_available(name) else "absent (run `make data` to download)"
        print(f"  {spec.title:22s} {state}")
    sys.stdout.flush()
    return profile


def chapter_footer() -> None:
    """Print the seconds since ``chapter_header`` (returns nothing, so a notebook echoes nothing)."""
    if _chapter_start is None:
        raise RuntimeError("chapter_footer() called before chapter_header().")
    print(f"Chapter run time: {time.perf_counter() - _chapter_start:.1f} s")
