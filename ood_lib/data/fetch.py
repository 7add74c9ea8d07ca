"""Find, verify and download the official release files.

A file is looked up at ``$OOD_DATA_DIR/raw/<name>/<fname>``. If present, its md5
must match the official one; a mismatching file in a writable directory is
deleted so it is never used again. If absent, it is downloaded there with pooch,
which verifies the md5 before the file appears.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from ood_lib.data.registry import DatasetSpec, RemoteFile
from ood_lib.settings.paths import data_dir


class DataError(Exception):
    """Base class of the data layer's errors."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The files of a data set are not on disk and could not be downloaded."""


class ChecksumError(DataError):
    """A file on disk does not have its official md5 sum."""


def raw_dir(name: str) -> Path:
    """Directory of the official files of data set ``name``."""
    return data_dir() / "raw" / name


def raw_path(spec: DatasetSpec, remote: RemoteFile) -> Path:
    """Where the official file ``remote`` of ``spec`` lives on disk."""
    return raw_dir(spec.name) / remote.fname


def md5sum(path: Path) -> str:
    """Hex md5 digest of a file."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected_md5: str) -> None:
    """Raise ChecksumError if ``path`` does not have md5 ``expected_md5``; delete it if we may."""
    actual = md5sum(path)
    if actual == expected_md5:
        return
    removed = _is_writable(path.parent)
    if removed:
        path.unlink()
    raise ChecksumError(
        f"{path} has md5 {actual}, expected {expected_md5}: the file is corrupt or not the official one. "
        + (
            "It was deleted; run `make data` (or load again) to download it afresh."
            if removed
            else "Replace it with the official file (the directory is read-only, so it was left in place)."
        )
    )


def _is_writable(directory: Path) -> bool:
    """Writable by permission bits too: root may write anywhere, but a read-only data copy stays untouched."""
    return os.access(directory, os.W_OK) and bool(directory.stat().st_mode & stat.S_IWUSR)


def _download(spec: DatasetSpec, remote: RemoteFile, target: Path) -> Path:
    import pooch  # imported here: it pulls in tqdm.auto, which warns inside notebooks

    failures = []
    for url in remote.urls:
        try:
            downloaded = pooch.retrieve(
                url, known_hash=f"md5:{remote.md5}", fname=remote.fname, path=str(target.parent), progressbar=True
            )
            return Path(downloaded)
        except ValueError as error:  # pooch: hash mismatch, the download was discarded
            failures.append(f"{url}: {error}")
        except Exception as error:  # network errors of every kind: try the next mirror
            failures.append(f"{url}: {type(error).__name__}: {error}")
    raise DataNotFoundError(
        f"{spec.title}: {remote.fname} is not in {target.parent} and could not be downloaded.\n"
        + "\n".join(f"  tried {failure}" for failure in failures)
        + f"\nDownload it by hand from {remote.urls[0]} (md5 {remote.md5}) into {target.parent}, "
        "or set OOD_DATA_DIR to a directory whose raw/<name>/ holds the official files."
    )


def fetch(spec: DatasetSpec, role: str, download: bool = True) -> Path:
    """Path of the verified official file ``role`` of ``spec``, downloading it if allowed."""
    remote = spec.files[role]
    path = raw_path(spec, remote)
    if path.exists():
        verify(path, remote.md5)
        return path
    if not download:
        raise DataNotFoundError(
            f"{spec.title}: {remote.fname} not found in {path.parent}. Run `make data` to download it "
            f"from {remote.urls[0]}, or set OOD_DATA_DIR to a directory whose raw/{spec.name}/ holds it."
        )
    created = [parent for parent in reversed(path.parents) if not parent.exists()]
    existing_parent = path.parents[len(created)]
    if not _is_writable(existing_parent):
        raise DataNotFoundError(
            f"{spec.title}: {remote.fname} not found in {path.parent}, and {existing_parent} is read-only, "
            f"so it cannot be downloaded there. Get it from {remote.urls[0]} (md5 {remote.md5}) or point "
            "OOD_DATA_DIR at a writable directory."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _download(spec, remote, path)
    finally:
        for directory in reversed(created):
            if directory.exists() and not any(directory.iterdir()):
                directory.rmdir()
