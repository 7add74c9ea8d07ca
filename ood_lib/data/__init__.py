"""The data layer: registry, verified downloads, official-format parsers, canonical arrays, dequantization.

    x_uint8, labels = load("fashion_mnist", "test")      # (10000, 28, 28, 1) uint8, int64
    images, labels = load_tensor("mnist", "test", n=512) # uint8 NCHW torch tensors

Files live under ``$OOD_DATA_DIR`` (see ``ood_lib.settings.paths``).
"""

from ood_lib.data.dequantization import NUM_BINS, dequantize
from ood_lib.data.fetch import ChecksumError, DataError, DataNotFoundError, fetch, md5sum, raw_dir
from ood_lib.data.loaders import (
    as_shape,
    held_out_indices,
    load_tensor,
    make_loader,
    subset_indices,
    to_grayscale,
    to_tensor,
)
from ood_lib.data.parsers import ParseError, parse_cifar10_archive, parse_idx_pair, parse_svhn_mat, read_idx
from ood_lib.data.registry import SPECS, SPLITS, DatasetSpec, RemoteFile, get_spec
from ood_lib.data.store import available_datasets, canonical_path, clear_memory_cache, is_available, load

__all__ = [
    "SPECS",
    "SPLITS",
    "ChecksumError",
    "DataError",
    "DataNotFoundError",
    "DatasetSpec",
    "NUM_BINS",
    "ParseError",
    "RemoteFile",
    "available_datasets",
    "canonical_path",
    "clear_memory_cache",
    "dequantize",
    "fetch",
    "get_spec",
    "is_available",
    "load",
    "load_tensor",
    "make_loader",
    "md5sum",
    "parse_cifar10_archive",
    "parse_idx_pair",
    "parse_svhn_mat",
    "raw_dir",
    "read_idx",
    "subset_indices",
    "held_out_indices",
    "as_shape",
    "to_grayscale",
    "to_tensor",
]
