"""Where data, parsed arrays and trained models live.

- ``$OOD_DATA_DIR`` (default ``<repo>/data``): official files under ``raw/<name>/``,
  optionally ready ``<name>.npz`` arrays. May be read-only.
- ``$OOD_CACHE_DIR`` (default ``<repo>/data/cache``): parsed ``<name>.npz`` arrays.
- ``$OOD_MODEL_DIR`` (default ``<repo>/data/models``): trained models, per profile. May be
  read-only (a class's shared models): then ``$OOD_MODEL_WRITE_DIR`` is where missing models
  are trained.
- ``$OOD_MODEL_WRITE_DIR`` (default: ``$OOD_MODEL_DIR``): where the zoo trains and writes
  models; searched before ``$OOD_MODEL_DIR`` when reading.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # ood_lib/settings/paths.py -> the repository


def _from_env(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Directory holding the official files (``raw/<name>/``) and ready ``<name>.npz``."""
    return _from_env("OOD_DATA_DIR", REPO_ROOT / "data")


def cache_dir() -> Path:
    """Writable directory for parsed arrays."""
    return _from_env("OOD_CACHE_DIR", REPO_ROOT / "data" / "cache")


def model_dir() -> Path:
    """Directory of trained models and their training histories (possibly read-only)."""
    return _from_env("OOD_MODEL_DIR", REPO_ROOT / "data" / "models")


def model_write_dir() -> Path:
    """Directory the zoo trains models into: ``$OOD_MODEL_WRITE_DIR``, else :func:`model_dir`."""
    return _from_env("OOD_MODEL_WRITE_DIR", model_dir())


def model_search_dirs() -> list[Path]:
    """Directories the zoo reads models from, in order: the write directory, then :func:`model_dir`."""
    return list(dict.fromkeys([model_write_dir(), model_dir()]))


def describe(path: Path, variable: str) -> str:
    """``path`` as a reader may see it printed: relative to the project when it lies in or beside it
    (``data``, ``../shared/data``), else by the environment variable that set it (``$OOD_DATA_DIR``)."""
    relative = Path(os.path.relpath(path, REPO_ROOT))
    if relative.parts[:2] != ("..", ".."):
        return str(relative)
    return f"${variable}"


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(partial_path)``, then rename the result to ``path``: readers never see half a file.

    If ``write`` fails (or is interrupted), the partial file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
