"""Small models a chapter trains itself, trained once and kept.

``trained_once(name, model, fit)`` loads ``model``'s state dict from ``quick/kept/<name>.safetensors``
in ``model_write_dir()`` or ``model_dir()`` when that file exists and matches the model's parameter
names and shapes; otherwise it calls ``fit(model)`` and saves the result there. Keeping the trained
weights makes a chapter's printed numbers independent of the CPU that re-executes it: a few hundred
float32 updates amplify the last-bit differences between CPU types' kernels into different
third digits, while evaluating fixed weights does not. ``OOD_TRAIN=never`` makes a missing file an
error naming the file. Files hold data only (``ood_lib.training.model_files``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from torch import nn

from ood_lib.settings.paths import model_search_dirs, model_write_dir
from ood_lib.training.model_files import provenance_now, read_tensors, write_tensors
from ood_lib.training.zoo import ModelNotTrainedError, train_mode

KEPT_FORMAT = "ood-textbook kept state 1"
KEPT_DIR = Path("quick") / "kept"  # committed with the quick models; the weights do not depend on the profile


def kept_path(name: str, directory: Path | None = None) -> Path:
    """Where ``trained_once`` writes the model ``name`` (under ``model_write_dir()`` unless ``directory``)."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"A kept model's name must be letters, digits, '_' or '-', got {name!r}.")
    return (model_write_dir() if directory is None else directory) / KEPT_DIR / f"{name}.safetensors"


def _matches(model: nn.Module, state: dict) -> bool:
    expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    return expected == {key: tuple(value.shape) for key, value in state.items()}


def trained_once(name: str, model: nn.Module, fit: Callable[[nn.Module], None]) -> nn.Module:
    """``model`` with the kept weights of ``name`` loaded, or fitted by ``fit(model)`` now and kept."""
    for directory in model_search_dirs():
        path = kept_path(name, directory)
        if path.exists():
            state, _ = read_tensors(path, KEPT_FORMAT)
            if _matches(model, state):
                model.load_state_dict(state)
                return model
    if train_mode() == "never":
        raise ModelNotTrainedError(
            f"The kept model {name!r} is missing or does not match its architecture ({kept_path(name)}), and "
            "OOD_TRAIN=never forbids training it: unset OOD_TRAIN to train it (seconds to minutes)."
        )
    started = time.perf_counter()
    fit(model)
    record = {
        "format": KEPT_FORMAT,
        "name": name,
        "train_seconds": time.perf_counter() - started,
        "provenance": provenance_now("cpu"),
    }
    write_tensors(kept_path(name), model.state_dict(), record)
    return model
