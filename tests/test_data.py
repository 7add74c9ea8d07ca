"""The data layer: official-format parsers, verification, errors, subsets, real-data facts."""

from __future__ import annotations

import dataclasses
import gzip
import io
import pickle
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from ood_lib import data
from ood_lib.data import registry

RNG = np.random.default_rng(0)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file, exactly as the official releases are laid out."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def write_cifar10_archive(path: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Write NHWC images as the official CIFAR-10 python tarball (5 train batches + test_batch)."""
    batches = {}
    train_x, train_y = splits["train"]
    for index, (x_part, y_part) in enumerate(zip(np.array_split(train_x, 5), np.array_split(train_y, 5)), start=1):
        batches[f"data_batch_{index}"] = (x_part, y_part)
    batches["test_batch"] = splits["test"]
    with tarfile.open(path, "w:gz") as archive:
        for batch_name, (images, labels) in batches.items():
            payload = pickle.dumps(
                {
                    b"batch_label": batch_name.encode(),
                    b"labels": [int(label) for label in labels],
                    b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
                    b"filenames": [f"{i}.png".encode() for i in range(len(images))],
                },
                protocol=2,
            )
            info = tarfile.TarInfo(f"cifar-10-batches-py/{batch_name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))


def write_svhn_mat(path: Path, images: np.ndarray, digits: np.ndarray) -> None:
    """Write NHWC images as an official SVHN ``*_32x32.mat`` (X: 32x32x3xN, y: Nx1 with 10 for 0)."""
    labels = np.where(digits == 0, 10, digits).astype(np.uint8)[:, None]
    scipy.io.savemat(path, {"X": images.transpose(1, 2, 3, 0), "y": labels})


def random_images(n: int, shape: tuple[int, int, int]) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def use_small_spec(monkeypatch: pytest.MonkeyPatch, name: str, files: dict[str, Path], sizes: dict[str, int]) -> None:
    """Register ``name`` with the md5s of our small files, so the real fetch/verify/parse path runs on them."""
    spec = registry.SPECS[name]
    remote_files = {role: dataclasses.replace(spec.files[role], md5=data.md5sum(path)) for role, path in files.items()}
    monkeypatch.setitem(registry.SPECS, name, dataclasses.replace(spec, files=remote_files, split_sizes=sizes))


def test_idx_round_trip(tmp_path: Path) -> None:
    images = random_images(5, (28, 28, 1))[..., 0]
    labels = np.arange(5, dtype=np.uint8)
    write_idx(tmp_path / "images.gz", images)
    write_idx(tmp_path / "labels.gz", labels)
    x, y = data.parse_idx_pair(tmp_path / "images.gz", tmp_path / "labels.gz")
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x[..., 0], images)
    np.testing.assert_array_equal(y, labels)


def test_idx_rejects_bad_magic_and_truncation(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "bad.gz", "wb") as handle:
        handle.write(b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(data.ParseError, match="magic"):
        data.read_idx(tmp_path / "bad.gz")
    with gzip.open(tmp_path / "short.gz", "wb") as handle:
        handle.write(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(data.ParseError, match="declares shape"):
        data.read_idx(tmp_path / "short.gz")


def test_cifar10_archive_layout(tmp_path: Path) -> None:
    train = (random_images(10, (32, 32, 3)), RNG.integers(0, 10, 10))
    test = (random_images(4, (32, 32, 3)), RNG.integers(0, 10, 4))
    write_cifar10_archive(tmp_path / "cifar.tar.gz", {"train": train, "test": test})
    splits = data.parse_cifar10_archive(tmp_path / "cifar.tar.gz")
    for split, (images, labels) in {"train": train, "test": test}.items():
        np.testing.assert_array_equal(splits[split][0], images)
        np.testing.assert_array_equal(splits[split][1], labels)
    # Channel-major rows: value (n, h, w, c) sits at column c*1024 + h*32 + w of the official data.
    with tarfile.open(tmp_path / "cifar.tar.gz") as archive:
        batch = pickle.load(archive.extractfile("cifar-10-batches-py/test_batch"), encoding="bytes")
    assert batch[b"data"][1, 2 * 1024 + 5 * 32 + 7] == splits["test"][0][1, 5, 7, 2]


def test_svhn_mat_maps_label_10_to_0(tmp_path: Path) -> None:
    images, digits = random_images(6, (32, 32, 3)), np.array([0, 1, 2, 9, 0, 5])
    write_svhn_mat(tmp_path / "test_32x32.mat", images, digits)
    x, y = data.parse_svhn_mat(tmp_path / "test_32x32.mat")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, digits)


def test_load_parses_verifies_and_caches_every_format(
    isolated_data: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    fashion_dir, cifar_dir, svhn_dir = (isolated_data / "raw" / name for name in ("fashion_mnist", "cifar10", "svhn"))
    for directory in (fashion_dir, cifar_dir, svhn_dir):
        directory.mkdir(parents=True)
    fashion = {
        split: (random_images(n, (28, 28, 1)), RNG.integers(0, 10, n)) for split, n in (("train", 6), ("test", 3))
    }
    fashion_files = {}
    for split, (images, labels) in fashion.items():
        for role, array in (("images", images[..., 0]), ("labels", labels)):
            fname = registry.SPECS["fashion_mnist"].files[f"{split}_{role}"].fname
            write_idx(fashion_dir / fname, array)
            fashion_files[f"{split}_{role}"] = fashion_dir / fname
    use_small_spec(monkeypatch, "fashion_mnist", fashion_files, {"train": 6, "test": 3})

    cifar = {
        split: (random_images(n, (32, 32, 3)), RNG.integers(0, 10, n)) for split, n in (("train", 10), ("test", 2))
    }
    write_cifar10_archive(cifar_dir / "cifar-10-python.tar.gz", cifar)
    use_small_spec(monkeypatch, "cifar10", {"archive": cifar_dir / "cifar-10-python.tar.gz"}, {"train": 10, "test": 2})

    svhn = {split: (random_images(n, (32, 32, 3)), RNG.integers(0, 10, n)) for split, n in (("train", 5), ("test", 3))}
    for split, (images, digits) in svhn.items():
        write_svhn_mat(svhn_dir / f"{split}_32x32.mat", images, digits)
    use_small_spec(
        monkeypatch, "svhn", {split: svhn_dir / f"{split}_32x32.mat" for split in svhn}, {"train": 5, "test": 3}
    )

    for name, expected in (("fashion_mnist", fashion), ("cifar10", cifar), ("svhn", svhn)):
        assert data.is_available(name)
        for split, (images, labels) in expected.items():
            x, y = data.load(name, split)
            np.testing.assert_array_equal(x, images)
            np.testing.assert_array_equal(y, labels)
            assert not x.flags.writeable
        assert (isolated_data.parent / "cache" / f"{name}.npz").exists()
    assert offline == []

    # Later loads read the canonical arrays, not the official files.
    data.clear_memory_cache()
    for directory in (fashion_dir, cifar_dir, svhn_dir):
        for path in directory.iterdir():
            path.unlink()
    np.testing.assert_array_equal(data.load("cifar10", "test")[0], cifar["test"][0])


def test_checksum_mismatch_names_file_and_removes_it(isolated_data: Path, offline: list[str]) -> None:
    target = isolated_data / "raw" / "mnist" / "train-images-idx3-ubyte.gz"
    target.parent.mkdir(parents=True)
    write_idx(target, random_images(2, (28, 28, 1))[..., 0])
    with pytest.raises(data.ChecksumError, match="train-images-idx3-ubyte.gz.*expected f68b3c2d"):
        data.load("mnist", "train")
    assert not target.exists()
    assert not (isolated_data.parent / "cache" / "mnist.npz").exists()


def test_checksum_mismatch_in_read_only_directory_leaves_file(isolated_data: Path, offline: list[str]) -> None:
    target = isolated_data / "raw" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the official file")
    target.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(data.ChecksumError, match="read-only"):
            data.fetch(data.get_spec("mnist"), "test_labels")
        assert target.exists()
    finally:
        target.parent.chmod(stat.S_IRWXU)


def test_missing_data_without_network_says_what_to_do(isolated_data: Path, offline: list[str]) -> None:
    with pytest.raises(data.DataNotFoundError) as error:
        data.load("svhn", "test")
    message = str(error.value)
    assert "train_32x32.mat" in message and "http://ufldl.stanford.edu/housenumbers/train_32x32.mat" in message
    assert "OOD_DATA_DIR" in message
    assert offline == ["http://ufldl.stanford.edu/housenumbers/train_32x32.mat"]
    assert not (isolated_data / "raw").exists(), "no empty directories are left behind"
    assert not data.is_available("svhn")


def test_bad_download_is_not_kept(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def corrupt_download(url: str, known_hash: str, fname: str, path: str, **kwargs: object) -> str:
        raise ValueError(f"MD5 hash of downloaded file ({fname}) does not match the known hash {known_hash}.")

    monkeypatch.setattr("pooch.retrieve", corrupt_download)
    with pytest.raises(data.DataNotFoundError, match="does not match"):
        data.load("cifar10", "train")
    assert not (isolated_data / "raw" / "cifar10").exists()


def test_unknown_names_list_valid_ones() -> None:
    with pytest.raises(ValueError, match="Valid data sets: mnist, fashion_mnist, cifar10, svhn, cifar10_subset"):
        data.load("imagenet", "train")
    with pytest.raises(ValueError, match="Valid splits: train, test"):
        data.load("mnist", "validation")


def test_held_out_indices_are_the_complement_of_the_subset() -> None:
    kept, held_out = data.subset_indices(1000, 800, seed=3), data.held_out_indices(1000, 800, seed=3)
    assert len(held_out) == 200 and np.intersect1d(kept, held_out).size == 0
    assert np.array_equal(np.union1d(kept, held_out), np.arange(1000))
    assert data.held_out_indices(10, None, seed=0).size == 0


def test_subset_indices_are_deterministic() -> None:
    first = data.subset_indices(1000, 100, seed=3)
    assert np.array_equal(first, data.subset_indices(1000, 100, seed=3))
    assert not np.array_equal(first, data.subset_indices(1000, 100, seed=4))
    assert len(np.unique(first)) == 100 and first.max() < 1000
    assert np.array_equal(data.subset_indices(10, None, seed=0), np.arange(10))


def test_grayscale_uses_luma_weights() -> None:
    rgb = np.zeros((1, 1, 3, 3), dtype=np.uint8)
    rgb[0, 0, 0] = (255, 0, 0)
    rgb[0, 0, 1] = (0, 255, 0)
    rgb[0, 0, 2] = (255, 255, 255)
    gray = data.to_grayscale(rgb)
    assert gray.shape == (1, 1, 3, 1)
    assert gray[0, 0, :, 0].tolist() == [76, 150, 255]


def test_dequantized_loader_stays_in_its_pixel_bin(
    isolated_data: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    raw = isolated_data / "raw" / "mnist"
    raw.mkdir(parents=True)
    files = {}
    for split, n in (("train", 40), ("test", 8)):
        for role, array in (("images", random_images(n, (28, 28, 1))[..., 0]), ("labels", RNG.integers(0, 10, n))):
            remote = registry.SPECS["mnist"].files[f"{split}_{role}"]
            write_idx(raw / remote.fname, array)
            files[f"{split}_{role}"] = raw / remote.fname
    use_small_spec(monkeypatch, "mnist", files, {"train": 40, "test": 8})

    x_uint8, _ = data.load_tensor("mnist", "train", n=16, seed=1)
    loader = data.make_loader("mnist", "train", batch_size=16, n=16, seed=1, dequantized=True)
    x_float, _ = next(iter(loader))
    assert x_float.dtype == torch.float32 and x_float.shape == (16, 1, 28, 28)
    assert float(x_float.min()) >= 0.0 and float(x_float.max()) < 1.0
    assert torch.equal(torch.floor(x_float * 256).to(torch.uint8), x_uint8)
    again, _ = next(iter(data.make_loader("mnist", "train", batch_size=16, n=16, seed=1, dequantized=True)))
    assert torch.equal(x_float, again)


@pytest.mark.parametrize("name, mean, std", [("mnist", 0.1307, 0.3081), ("fashion_mnist", 0.2860, 0.3530)])
def test_real_official_files(
    name: str,
    mean: float,
    std: float,
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    offline: list[str],
) -> None:
    monkeypatch.setenv("OOD_DATA_DIR", str(shared_data))
    monkeypatch.setenv("OOD_CACHE_DIR", str(tmp_path / "cache"))
    data.clear_memory_cache()
    x_train, y_train = data.load(name, "train")
    x_test, y_test = data.load(name, "test")
    data.clear_memory_cache()
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    scaled = x_train / 255.0
    assert round(float(scaled.mean()), 4) == mean
    assert round(float(scaled.std()), 4) == std
    if name == "mnist":
        assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
        assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    else:
        assert np.bincount(y_train).tolist() == [6000] * 10
        assert np.bincount(y_test).tolist() == [1000] * 10
    assert offline == []


def use_small_subset(monkeypatch: pytest.MonkeyPatch, sizes: dict[str, int], packed_md5: str | None = None) -> None:
    """Make ``cifar10_subset`` a prefix of ``sizes`` images of the (small) CIFAR-10 spec in use."""
    spec = dataclasses.replace(registry.SPECS["cifar10_subset"], split_sizes=sizes)
    if packed_md5 is not None:
        spec = dataclasses.replace(spec, packed_md5=packed_md5)
    monkeypatch.setitem(registry.SPECS, "cifar10_subset", spec)


def test_cifar10_subset_is_cut_from_the_full_official_archive(
    isolated_data: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    cifar_dir = isolated_data / "raw" / "cifar10"
    cifar_dir.mkdir(parents=True)
    cifar = {
        split: (random_images(n, (32, 32, 3)), RNG.integers(0, 10, n)) for split, n in (("train", 10), ("test", 4))
    }
    write_cifar10_archive(cifar_dir / "cifar-10-python.tar.gz", cifar)
    use_small_spec(monkeypatch, "cifar10", {"archive": cifar_dir / "cifar-10-python.tar.gz"}, {"train": 10, "test": 4})
    use_small_subset(monkeypatch, {"train": 6, "test": 2})
    assert data.is_available("cifar10_subset")
    for split, n in (("train", 6), ("test", 2)):
        x, y = data.load("cifar10_subset", split)
        np.testing.assert_array_equal(x, cifar[split][0][:n])
        np.testing.assert_array_equal(y, cifar[split][1][:n])
    assert (isolated_data.parent / "cache" / "cifar10_subset.npz").exists()
    assert offline == []


def test_cifar10_subset_file_is_md5_checked(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = {
        "x_train": random_images(3, (32, 32, 3)),
        "y_train": np.arange(3),
        "x_test": random_images(2, (32, 32, 3)),
        "y_test": np.arange(2),
    }
    packed = isolated_data / "cifar10_subset.npz"
    with open(packed, "wb") as handle:
        np.savez(handle, **arrays)
    use_small_subset(monkeypatch, {"train": 3, "test": 2}, packed_md5=data.md5sum(packed))
    np.testing.assert_array_equal(data.load("cifar10_subset", "test")[0], arrays["x_test"])

    data.clear_memory_cache()
    use_small_subset(monkeypatch, {"train": 3, "test": 2}, packed_md5="0" * 32)
    with pytest.raises(data.ChecksumError, match="cifar10_subset.npz.*expected 00000000"):
        data.load("cifar10_subset", "train")


def test_missing_cifar10_subset_says_both_ways_to_get_it(isolated_data: Path, offline: list[str]) -> None:
    assert not data.is_available("cifar10_subset")
    with pytest.raises(data.DataNotFoundError) as error:
        data.load("cifar10_subset", "test")
    message = str(error.value)
    assert "cifar10_subset.npz" in message and "4789ed8deb6b480ecaef623e16170d67" in message
    assert "cifar-10-python.tar.gz" in message and "OOD_DATA_DIR" in message


def test_real_cifar10_subset(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    if not (shared_data / "cifar10_subset.npz").exists():
        pytest.skip(f"cifar10_subset.npz not found in {shared_data}")
    monkeypatch.setenv("OOD_DATA_DIR", str(shared_data))
    monkeypatch.setenv("OOD_CACHE_DIR", str(tmp_path / "cache"))
    data.clear_memory_cache()
    x_train, y_train = data.load("cifar10_subset", "train")
    x_test, y_test = data.load("cifar10_subset", "test")
    data.clear_memory_cache()
    assert x_train.shape == (4000, 32, 32, 3) and x_test.shape == (1000, 32, 32, 3)
    # Facts of the official files (../shared/data/README.md): first labels and pixel values.
    assert y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert x_test[0, 0, :3, 0].tolist() == [158, 159, 165]
    assert x_train[0, 0, :5, 0].tolist() == [59, 43, 50, 68, 98]
    assert offline == []
