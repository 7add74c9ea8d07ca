"""One archive of a profile's trained models to hand out, and its verified receipt.

::

    python -m ood_lib.training.model_archive pack --profile quick -o models-quick.tar
    python -m ood_lib.training.model_archive unpack models-quick.tar [--replace]

An archive is a plain tar: ``manifest.json`` first (format, profile, creation time, torch
version; per model its name, model, training set, variant, config, provenance and the sha256 and
size of each of its files), then each model's ``.safetensors`` file and readable ``.json``, with
plain names and no folders. ``pack`` takes the models the zoo would load for the profile
(``model_write_dir()`` first, then ``model_dir()``) and refuses one the zoo here would retrain.

``unpack`` reads the archive into a temporary folder inside ``model_write_dir()`` and checks
everything before placing anything: every member is a regular file with a plain name (no path,
no ``..``, no link) listed in the manifest, of the listed size and sha256; every model is a
data-only file whose config equals the manifest's and the config this code wants
(``zoo.wanted``), and whose tensors load into the model this code builds. Then each file is
renamed into ``model_write_dir()/<profile>/``. A tampered, truncated or stale archive is refused
with ``ArchiveError`` and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import torch

from ood_lib import data
from ood_lib.settings.paths import model_search_dirs, model_write_dir, write_atomically
from ood_lib.settings.profiles import PROFILES, Profile, get_profile
from ood_lib.training import zoo
from ood_lib.training.model_files import ModelFileError, load_model
from ood_lib.training.run_config import config_differences

ARCHIVE_FORMAT = "ood-textbook model archive 1"
MANIFEST = "manifest.json"
_MAX_MANIFEST_BYTES = 64 * 2**20
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
_CHUNK = 2**20


class ArchiveError(RuntimeError):
    """A model archive cannot be written, or is refused on receipt (nothing of it was placed)."""


# What follows ``<model>_<train set>`` in a file name: Variant.suffix() in reverse.
_VARIANT_SUFFIX = re.compile(
    r"(?:_seed(?P<seed>\d+))?(?:_perturbed(?P<rate>[0-9.e-]+))?"
    r"(?:_oe-(?P<outliers>[a-z0-9_]+?)(?:_m(?P<margin>\d+(?:\.\d+)?(?:e[+-]\d+)?))?)?"
    r"(?P<bf16>_bf16)?(?P<constsplit>_constsplit)?(?P<nodecay>_nodecay)?"
)


def _variant_from(match: re.Match) -> zoo.Variant:
    return zoo.Variant(
        int(match["seed"] or 0),
        float(match["rate"] or 0),
        match["outliers"],
        bool(match["bf16"]),
        input_independent_split_prior=bool(match["constsplit"]),
        no_lr_decay=bool(match["nodecay"]),
        outlier_margin=None if match["margin"] is None else float(match["margin"]),
    )


def identify(file_name: str) -> tuple[str, str, zoo.Variant]:
    """Model name, training set and variant of a zoo file name (the inverse of ``zoo.model_path``)."""
    stem = file_name.removesuffix(".safetensors")
    for model_name in sorted(zoo.MODEL_BUILDERS, key=len, reverse=True):
        for train_set in sorted(data.SPECS, key=len, reverse=True):
            match = _VARIANT_SUFFIX.fullmatch(stem.removeprefix(f"{model_name}_{train_set}"))
            if not stem.startswith(f"{model_name}_{train_set}") or match is None:
                continue
            try:
                variant = _variant_from(match)
            except ValueError:  # e.g. a margin no zoo model is named with
                continue
            if f"{model_name}_{train_set}{variant.suffix()}" == stem and variant.outliers_from in (None, *data.SPECS):
                return model_name, train_set, variant
    raise ValueError(f"{file_name} is not the name of a zoo model file (<model>_<train set>[variant].safetensors).")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as opened:
        for chunk in iter(lambda: opened.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checked_model(weights: Path, target: zoo.Wanted, source: str) -> dict:
    """Manifest entry (without files) of the model file ``weights``; ``ArchiveError`` unless the zoo would use it."""
    try:
        stored = load_model(weights)
    except ModelFileError as error:
        raise ArchiveError(f"{source}: {error}") from error
    differences = config_differences(stored.config, target.config)
    if differences:
        raise ArchiveError(
            f"{source}: the zoo here would retrain {weights.name} rather than use it, its config differs from the "
            f"one this code and data want ({'; '.join(differences[:3])}). Retrain it (`{zoo.train_command(target)}`) "
            "or make sure both sides have the same code and data sets (`make data`)."
        )
    try:
        target.model.load_state_dict(stored.state)
    except RuntimeError as error:
        raise ArchiveError(
            f"{source}: the tensors of {weights.name} do not fit the model built here ({error})."
        ) from error
    return {
        "name": weights.name.removesuffix(".safetensors"),
        "model": target.model_name,
        "train_set": target.train_set,
        "variant": dataclasses.asdict(target.variant),
        "config": stored.config,
        "provenance": stored.provenance,
        "record": stored.record(),
    }


def _profile_models(profile: Profile) -> list[Path]:
    """The profile's model files the zoo would read, one per name (the first in the search directories)."""
    found: dict[str, Path] = {}
    for directory in model_search_dirs():
        for path in sorted((directory / profile.name).glob("*.safetensors")):
            if not path.name.endswith(".ckpt.safetensors"):
                found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def _plain_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644
    return info


def _pack_entry(weights: Path, profile: Profile, readable_dir: Path) -> tuple[dict, list[Path]]:
    """The manifest entry of one model file and the two files it ships (the weights and a readable JSON)."""
    try:
        model_name, train_set, variant = identify(weights.name)
        target = zoo.wanted(model_name, train_set, profile, variant)
    except ValueError as error:
        raise ArchiveError(f"{weights}: {error} Move it out of the model directory to pack the others.") from error
    entry = _checked_model(weights, target, str(weights))
    readable = readable_dir / f"{entry['name']}.json"
    readable.write_text(json.dumps(entry.pop("record"), indent=1))
    entry["files"] = {path.name: {"sha256": _sha256(path), "size": path.stat().st_size} for path in (weights, readable)}
    return entry, [weights, readable]


def pack(profile: Profile, output: Path) -> dict:
    """Write the trained models of ``profile`` and their manifest to the tar ``output``; return the manifest."""
    weights_files = _profile_models(profile)
    if not weights_files:
        searched = ", ".join(str(directory / profile.name) for directory in model_search_dirs())
        raise ArchiveError(f"No trained {profile.name} models to pack in {searched}.")
    with tempfile.TemporaryDirectory() as scratch:
        models, payloads = [], []
        for weights in weights_files:
            entry, files = _pack_entry(weights, profile, Path(scratch))
            models.append(entry)
            payloads += files
        manifest = {
            "format": ARCHIVE_FORMAT,
            "profile": profile.name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "torch": torch.__version__,
            "models": models,
        }
        manifest_path = Path(scratch) / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=1))
        write_atomically(Path(output), lambda target: _write_tar(target, [manifest_path, *payloads]))
    return manifest


def _write_tar(target: Path, members: Iterable[Path]) -> None:
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in members:
            tar.add(path, arcname=path.name, filter=_plain_member)


def _refuse(archive: Path, reason: str) -> ArchiveError:
    return ArchiveError(f"The model archive {archive} is refused: {reason}. Nothing of it was placed.")


def _read_manifest(archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo | None) -> dict:
    if member is None or member.name != MANIFEST or not member.isfile() or member.size > _MAX_MANIFEST_BYTES:
        raise _refuse(archive, f"it does not start with a {MANIFEST} (not a model archive, or made by other code)")
    try:
        manifest = json.loads(tar.extractfile(member).read())
        valid = manifest["format"] == ARCHIVE_FORMAT and isinstance(manifest["models"], list)
    except (ValueError, KeyError, TypeError) as error:
        raise _refuse(archive, f"its {MANIFEST} is malformed ({error})") from error
    if not valid:
        raise _refuse(archive, f"its format is not {ARCHIVE_FORMAT!r}")
    return manifest


def _expected_files(archive: Path, manifest: dict) -> dict[str, dict]:
    try:
        expected = {name: spec for entry in manifest["models"] for name, spec in entry["files"].items()}
    except (KeyError, TypeError, AttributeError) as error:
        raise _refuse(archive, f"its {MANIFEST} is malformed ({error!r})") from error
    bad = [name for name in expected if not _PLAIN_NAME.fullmatch(name) or name == MANIFEST]
    if bad:
        raise _refuse(archive, f"its manifest lists files with unsafe names: {bad}")
    return expected


def _copy_member(archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo, spec: dict, staging: Path) -> None:
    """Copy one listed member into ``staging``, refusing it unless its size and sha256 are the manifest's."""
    if member.size != spec.get("size"):
        raise _refuse(archive, f"{member.name} has {member.size} bytes, the manifest says {spec.get('size')}")
    digest = hashlib.sha256()
    source = tar.extractfile(member)
    with open(staging / member.name, "xb") as copy:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            copy.write(chunk)
    if digest.hexdigest() != spec.get("sha256"):
        raise _refuse(archive, f"the sha256 of {member.name} is not the manifest's (tampered or corrupted)")


def _extract(archive: Path, staging: Path) -> dict:
    """The manifest of ``archive``, whose listed files are now verified copies in ``staging``."""
    try:
        with tarfile.open(archive, "r:") as tar:
            members = iter(tar)
            manifest = _read_manifest(archive, tar, next(members, None))
            expected = _expected_files(archive, manifest)
            for member in members:
                if not member.isfile() or member.name not in expected or (staging / member.name).exists():
                    kind = "a regular file" if member.isfile() else "a link, folder or special file"
                    raise _refuse(archive, f"{member.name!r} is {kind} that the manifest does not list once")
                _copy_member(archive, tar, member, expected[member.name], staging)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _refuse(archive, f"it is truncated or not a tar archive ({type(error).__name__}: {error})") from error
    missing = sorted(name for name in expected if not (staging / name).exists())
    if missing:
        raise _refuse(archive, f"it lacks {', '.join(missing)} (truncated?)")
    return manifest


def _verify_models(archive: Path, manifest: dict, staging: Path) -> Profile:
    """The archive's profile, once every staged model is one the zoo here would use, as the manifest says."""
    try:
        profile = get_profile(manifest.get("profile") or "?")
    except ValueError as error:
        raise _refuse(archive, str(error)) from error
    for entry in manifest["models"]:
        try:
            target = zoo.wanted(entry["model"], entry["train_set"], profile, zoo.Variant(**entry["variant"]))
        except (KeyError, TypeError, ValueError) as error:
            raise _refuse(archive, f"its manifest names a model this code does not know ({error})") from error
        names = {target.path.name, target.path.with_suffix(".json").name}
        if set(entry["files"]) != names:
            raise _refuse(
                archive, f"the files of {entry.get('name')} are {sorted(entry['files'])}, not {sorted(names)}"
            )
        try:
            checked = _checked_model(staging / target.path.name, target, f"archive {archive}")
        except ArchiveError as error:
            raise _refuse(archive, str(error)) from error
        readable = json.loads((staging / target.path.with_suffix(".json").name).read_text())
        if checked["config"] != entry.get("config") or readable != checked["record"]:
            raise _refuse(archive, f"the manifest or JSON of {entry.get('name')} does not match its model file")
    return profile


def _moves(staging: Path, destination: Path, replace: bool) -> list[tuple[Path, Path]]:
    moves = [(source, destination / source.name) for source in sorted(staging.iterdir())]
    conflicts = [target.name for source, target in moves if target.exists() and _sha256(target) != _sha256(source)]
    if conflicts and not replace:
        raise ArchiveError(
            f"{destination} already holds other versions of {', '.join(conflicts)}; nothing was placed. "
            "Unpack with --replace to overwrite them (or move them aside)."
        )
    return moves


def unpack(archive: Path, replace: bool = False) -> list[Path]:
    """Verify ``archive`` completely, then place its models in ``model_write_dir()/<profile>/``; return their paths.

    Files already there with the same content stay; different ones are refused unless ``replace``.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise ArchiveError(f"There is no model archive at {archive}.")
    root = model_write_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging_dir = tempfile.TemporaryDirectory(prefix=".unpack-", dir=root)
    except OSError as error:
        raise ArchiveError(
            f"Cannot write into {root} ({error}): set OOD_MODEL_WRITE_DIR to a writable directory."
        ) from error
    with staging_dir as staging_name:
        staging = Path(staging_name)
        profile = _verify_models(archive, _extract(archive, staging), staging)
        destination = root / profile.name
        moves = _moves(staging, destination, replace)
        destination.mkdir(exist_ok=True)
        for source, target in moves:
            os.replace(source, target)
    return [target for _, target in moves]


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ood_lib.training.model_archive", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pack_command = commands.add_parser("pack", help="write a profile's trained models to one archive")
    pack_command.add_argument("--profile", required=True, help=f"one of: {', '.join(PROFILES)}")
    pack_command.add_argument("-o", "--output", type=Path, required=True, help="the archive to write (.tar)")
    unpack_command = commands.add_parser("unpack", help="verify an archive, then place its models in the zoo")
    unpack_command.add_argument("archive", type=Path)
    unpack_command.add_argument("--replace", action="store_true", help="overwrite other versions of its models")
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            manifest = pack(get_profile(args.profile), args.output)
            print(f"{args.output}: {len(manifest['models'])} {manifest['profile']} models")
        else:
            placed = unpack(args.archive, args.replace)
            print(f"{len(placed)} files verified and placed in {placed[0].parent if placed else model_write_dir()}")
    except (ArchiveError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
