"""The paper's data sets: official files, their md5 sums, image shapes and classes.

``cifar10_subset`` is the first 4000 training and first 1000 test images of CIFAR-10 in the
official order: read from ``$OOD_DATA_DIR/cifar10_subset.npz`` (md5-checked) or cut from a
full CIFAR-10 download, so both routes give the same pixels. It is a sample of CIFAR-10, not
the data set: statistics of the full set can only be estimated from it.
"""

from __future__ import annotations

from dataclasses import dataclass

SPLITS = ("train", "test")


@dataclass(frozen=True)
class RemoteFile:
    """One official release file: its name, md5 and the URLs it is served from (first is official)."""

    fname: str
    md5: str
    urls: tuple[str, ...]


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is: shape ``(H, W, C)``, classes, split sizes and release files by role."""

    name: str
    title: str
    shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    split_sizes: dict[str, int]
    files: dict[str, RemoteFile]
    homepage: str
    subset_of: str | None = None  # a prefix of this data set's splits (the first split_sizes[split] images)
    packed_md5: str | None = None  # md5 of a ready-made ``<name>.npz`` in $OOD_DATA_DIR, checked on load


def _mirrored(fname: str, md5: str, *bases: str) -> RemoteFile:
    return RemoteFile(fname, md5, tuple(base + fname for base in bases))


_MNIST_BASES = ("https://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/")
_FASHION_BASES = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_DIGITS = tuple(str(digit) for digit in range(10))
_CIFAR10_HOMEPAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
_CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

SPECS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        shape=(28, 28, 1),
        class_names=_DIGITS,
        split_sizes={"train": 60000, "test": 10000},
        files={
            "train_images": _mirrored("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", *_MNIST_BASES),
            "train_labels": _mirrored("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", *_MNIST_BASES),
            "test_images": _mirrored("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", *_MNIST_BASES),
            "test_labels": _mirrored("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", *_MNIST_BASES),
        },
        homepage="http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        title="FashionMNIST",
        shape=(28, 28, 1),
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        split_sizes={"train": 60000, "test": 10000},
        files={
            "train_images": _mirrored(
                "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", *_FASHION_BASES
            ),
            "train_labels": _mirrored(
                "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", *_FASHION_BASES
            ),
            "test_images": _mirrored("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", *_FASHION_BASES),
            "test_labels": _mirrored("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", *_FASHION_BASES),
        },
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        title="CIFAR-10",
        shape=(32, 32, 3),
        class_names=_CIFAR10_CLASSES,
        split_sizes={"train": 50000, "test": 10000},
        files={
            "archive": _mirrored(
                "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "https://www.cs.toronto.edu/~kriz/"
            ),
        },
        homepage=_CIFAR10_HOMEPAGE,
    ),
    "svhn": DatasetSpec(
        name="svhn",
        title="SVHN (cropped digits)",
        shape=(32, 32, 3),
        class_names=_DIGITS,
        split_sizes={"train": 73257, "test": 26032},
        files={
            "train": _mirrored(
                "train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373", "http://ufldl.stanford.edu/housenumbers/"
            ),
            "test": _mirrored(
                "test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3", "http://ufldl.stanford.edu/housenumbers/"
            ),
        },
        homepage="http://ufldl.stanford.edu/housenumbers/",
    ),
    "cifar10_subset": DatasetSpec(
        name="cifar10_subset",
        title="CIFAR-10 subset",
        shape=(32, 32, 3),
        class_names=_CIFAR10_CLASSES,
        split_sizes={"train": 4000, "test": 1000},
        files={},
        homepage=_CIFAR10_HOMEPAGE,
        subset_of="cifar10",
        packed_md5="4789ed8deb6b480ecaef623e16170d67",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """The spec of data set ``name``; a clear error listing the valid names otherwise."""
    if name not in SPECS:
        raise ValueError(f"Unknown data set {name!r}. Valid data sets: {', '.join(SPECS)}.")
    return SPECS[name]


def check_split(split: str) -> str:
    """Return ``split`` if valid, else raise an error listing the valid splits."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Valid splits: {', '.join(SPLITS)}.")
    return split
