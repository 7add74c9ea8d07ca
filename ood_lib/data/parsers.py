"""Parsers for the official file formats, each returning uint8 images ``(N, H, W, C)``.

- MNIST / Fashion-MNIST: gzipped IDX files. Header: two zero bytes, a type
  byte (0x08 = unsigned byte), the number of dimensions, then one big-endian
  int32 per dimension; the row-major data follow.
- CIFAR-10: a gzipped tarball of python pickles ``cifar-10-batches-py/data_batch_{1..5}``
  and ``test_batch``; each holds ``data`` (N x 3072, channel-major: R plane, G, B)
  and ``labels``.
- SVHN: MATLAB ``.mat`` files with ``X`` of shape (32, 32, 3, N) and ``y`` of
  shape (N, 1) in 1..10, where 10 stands for the digit 0.
"""

from __future__ import annotations

import gzip
import pickle
import tarfile
from pathlib import Path

import numpy as np
import scipy.io


class ParseError(ValueError):
    """A file does not have the structure of its official format."""


_IDX_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes into an array of its declared shape."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ParseError(f"{path}: not an IDX file (bad magic number).")
    if raw[2] != _IDX_UBYTE:
        raise ParseError(f"{path}: IDX type byte is 0x{raw[2]:02x}, expected 0x08 (unsigned byte).")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_size)
    if data.size != int(np.prod(shape)):
        raise ParseError(f"{path}: header declares shape {shape} but holds {data.size} values.")
    return data.reshape(shape).copy()


def parse_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, H, W, 1)`` and int64 labels from an IDX image file and label file."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ParseError(
            f"{images_path.name} / {labels_path.name}: expected images (N, H, W) and labels (N,), "
            f"got {images.shape} and {labels.shape}."
        )
    return images[..., None], labels.astype(np.int64)


_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_BATCHES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}


def parse_cifar10_archive(archive_path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (x, y), "test": (x, y)}`` from the official CIFAR-10 python tarball."""
    splits = {}
    with tarfile.open(archive_path, "r:gz") as archive:
        for split, batch_names in _CIFAR_BATCHES.items():
            images, labels = [], []
            for batch_name in batch_names:
                member = f"{_CIFAR_DIR}/{batch_name}"
                try:
                    handle = archive.extractfile(member)
                except KeyError as error:
                    raise ParseError(f"{archive_path}: missing {member}.") from error
                batch = pickle.load(handle, encoding="bytes")
                data = np.asarray(batch[b"data"], dtype=np.uint8)
                if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
                    raise ParseError(f"{archive_path}:{member}: data has shape {data.shape}, expected (N, 3072).")
                images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                labels.append(np.asarray(batch[b"labels"], dtype=np.int64))
            splits[split] = (np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels))
    return splits


def parse_svhn_mat(mat_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 32, 32, 3)`` and labels 0..9 from an official SVHN ``*_32x32.mat`` file."""
    contents = scipy.io.loadmat(mat_path)
    if "X" not in contents or "y" not in contents:
        raise ParseError(f"{mat_path}: expected variables 'X' and 'y'.")
    images, labels = contents["X"], contents["y"]
    if images.ndim != 4 or images.shape[:3] != (32, 32, 3) or labels.shape != (images.shape[3], 1):
        raise ParseError(
            f"{mat_path}: X has shape {images.shape} and y {labels.shape}, expected (32, 32, 3, N) and (N, 1)."
        )
    x_uint8 = np.ascontiguousarray(images.transpose(3, 0, 1, 2).astype(np.uint8))
    return x_uint8, (labels[:, 0].astype(np.int64) % 10)
