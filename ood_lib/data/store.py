"""Canonical arrays: parse the official files once, then load ``<name>.npz``.

The canonical file holds ``x_train, y_train, x_test, y_test`` (uint8 NHWC images,
int64 labels, official order). It is read from ``$OOD_DATA_DIR/<name>.npz`` if
present there (md5-checked when the registry gives one), else from
``$OOD_CACHE_DIR/<name>.npz``, which is written (atomically) the first time the
official files are parsed, or, for a subset, cut from its parent data set.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ood_lib.data.fetch import DataNotFoundError, fetch, raw_path, verify
from ood_lib.data.parsers import parse_cifar10_archive, parse_idx_pair, parse_svhn_mat
from ood_lib.data.registry import SPECS, DatasetSpec, check_split, get_spec
from ood_lib.settings.paths import cache_dir, data_dir, write_atomically

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _parse_official(spec: DatasetSpec, download: bool) -> dict[str, np.ndarray]:
    if spec.name in ("mnist", "fashion_mnist"):
        arrays = {}
        for split in ("train", "test"):
            images, labels = parse_idx_pair(
                fetch(spec, f"{split}_images", download), fetch(spec, f"{split}_labels", download)
            )
            arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels
        return arrays
    if spec.name == "cifar10":
        splits = parse_cifar10_archive(fetch(spec, "archive", download))
        return {f"{key}_{split}": value for split, pair in splits.items() for key, value in zip("xy", pair)}
    if spec.name == "svhn":
        arrays = {}
        for split in ("train", "test"):
            arrays[f"x_{split}"], arrays[f"y_{split}"] = parse_svhn_mat(fetch(spec, split, download))
        return arrays
    raise ValueError(f"No parser registered for {spec.name!r}.")


def _check_arrays(spec: DatasetSpec, arrays: dict[str, np.ndarray], source: Path | str) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        expected = (spec.split_sizes[split], *spec.shape)
        if images.dtype != np.uint8 or images.shape != expected or labels.shape != (expected[0],):
            raise ValueError(
                f"{source}: {split} images are {images.dtype} {images.shape} with labels {labels.shape}; "
                f"expected uint8 {expected} and ({expected[0]},). Delete the file to rebuild it."
            )


def canonical_path(name: str) -> Path | None:
    """The ``<name>.npz`` that ``load`` would read, or None if none exists yet."""
    for directory in (data_dir(), cache_dir()):
        candidate = directory / f"{name}.npz"
        if candidate.exists():
            return candidate
    return None


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as handle:  # a handle, so numpy does not append ".npz" to the partial name
        np.savez(handle, **arrays)


def _cut_subset(spec: DatasetSpec, download: bool) -> dict[str, np.ndarray]:
    """The first ``spec.split_sizes[split]`` images and labels of each split of the parent data set."""
    parent = spec.subset_of
    try:
        parent_arrays = _load_all(parent, download)
    except DataNotFoundError as error:
        raise DataNotFoundError(
            f"{spec.title} ({spec.name}) is not on disk: put {spec.name}.npz (md5 {spec.packed_md5}) into "
            f"OOD_DATA_DIR={data_dir()}, or the full {get_spec(parent).title}, from which it is cut "
            f"(`make data` downloads it). Loading the full data set failed: {error}"
        ) from error
    return {
        f"{key}_{split}": np.array(parent_arrays[f"{key}_{split}"][: spec.split_sizes[split]])
        for split in ("train", "test")
        for key in "xy"
    }


@functools.cache
def _load_all(name: str, download: bool) -> dict[str, np.ndarray]:
    spec = get_spec(name)
    source = canonical_path(name)
    if source is not None:
        if spec.packed_md5 is not None and source.parent == data_dir():
            verify(source, spec.packed_md5)
        with np.load(source) as npz:
            arrays = {key: npz[key] for key in ARRAY_KEYS}
    else:
        arrays = _cut_subset(spec, download) if spec.subset_of is not None else _parse_official(spec, download)
        source = cache_dir() / f"{name}.npz"
        _check_arrays(spec, arrays, source)
        write_atomically(source, lambda target: _save_npz(target, arrays))
    _check_arrays(spec, arrays, source)
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def load(name: str, split: str, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, H, W, C)`` uint8 and labels ``(N,)`` int64 of ``name``'s ``split``.

    The arrays are read-only and shared between calls; copy before modifying.
    Downloads the official files if needed and ``download`` is true.
    """
    check_split(split)
    arrays = _load_all(name, download)
    return arrays[f"x_{split}"], arrays[f"y_{split}"]


def is_available(name: str) -> bool:
    """True if ``name`` can be loaded without a download (canonical arrays or all official files on disk)."""
    spec = get_spec(name)
    if canonical_path(name) is not None:
        return True
    if spec.subset_of is not None:
        return is_available(spec.subset_of)
    return all(raw_path(spec, remote).exists() for remote in spec.files.values())


def available_datasets() -> list[str]:
    """Names of the registered data sets that are on disk."""
    return [name for name in SPECS if is_available(name)]


def clear_memory_cache() -> None:
    """Forget the arrays held in memory (e.g. after changing ``OOD_DATA_DIR``)."""
    _load_all.cache_clear()
