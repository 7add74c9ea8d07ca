"""Model archives: a round trip to another zoo, and refusals that leave nothing behind."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import pytest
import torch
from test_zoo import fake_datasets, tiny_profile, training_runs  # noqa: F401 (fixtures)

from ood_lib.settings import profiles as profiles
from ood_lib.training import model_archive, model_files, zoo
from ood_lib.training.model_archive import ArchiveError


@pytest.fixture
def packed(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Path:
    """An archive of two tiny models; afterwards the zoo points at an empty ``receiver`` directory."""
    monkeypatch.setitem(profiles.PROFILES, "tiny", tiny_profile())
    zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    zoo.get("glow", "fashion_mnist", tiny_profile(), variant=zoo.Variant(seed=1), progress=False)
    archive = tmp_path / "models-tiny.tar"
    assert model_archive.main(["pack", "--profile", "tiny", "-o", str(archive)]) == 0
    monkeypatch.setenv("OOD_MODEL_DIR", str(tmp_path / "receiver"))
    return archive


def received(tmp_path: Path) -> list[str]:
    """Everything under the receiving directory (staging folders included)."""
    root = tmp_path / "receiver"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*")) if root.exists() else []


def rewrite(archive: Path, change) -> None:
    """Rewrite ``archive`` with ``change(name, payload) -> payload`` applied to every member."""
    with tarfile.open(archive) as tar:
        members = [(member, tar.extractfile(member).read()) for member in tar]
    with tarfile.open(archive, "w") as tar:
        for member, payload in members:
            payload = change(member.name, payload)
            member.size = len(payload)
            tar.addfile(member, io.BytesIO(payload))


def test_pack_then_unpack_gives_the_zoo_the_same_models(packed: Path, training_runs, tmp_path: Path) -> None:  # noqa: F811
    with tarfile.open(packed) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names[0] == "manifest.json" and len(names) == 5
    assert manifest["profile"] == "tiny" and manifest["torch"] == torch.__version__
    first = manifest["models"][0]
    assert first["name"] == "glow_fashion_mnist" and first["provenance"]["device"].startswith("cpu")
    assert all(len(spec["sha256"]) == 64 for spec in first["files"].values())
    placed = model_archive.unpack(packed)
    assert sorted(path.name for path in placed) == sorted(names[1:])
    loaded = zoo.get("glow", "fashion_mnist", tiny_profile(), variant=zoo.Variant(seed=1), progress=False)
    assert loaded.from_cache and loaded.path.parent == tmp_path / "receiver" / "tiny"
    original = model_files.load_model(tmp_path / "models" / "tiny" / loaded.path.name)
    assert all(torch.equal(value, original.state[name]) for name, value in loaded.model.state_dict().items())
    assert len(training_runs) == 2, "nothing retrained on the receiving side"
    assert model_archive.unpack(packed) == placed, "unpacking again changes nothing"
    assert received(tmp_path) == ["tiny", *sorted(f"tiny/{name}" for name in names[1:])]


def flip_a_weight_byte(name: str, payload: bytes) -> bytes:
    return payload[:-1] + bytes([payload[-1] ^ 1]) if name == "glow_fashion_mnist_seed1.safetensors" else payload


def test_a_tampered_archive_is_refused_and_nothing_is_placed(packed: Path, tmp_path: Path) -> None:
    rewrite(packed, flip_a_weight_byte)
    with pytest.raises(ArchiveError, match="sha256 of glow_fashion_mnist_seed1.safetensors"):
        model_archive.unpack(packed)
    assert received(tmp_path) == []


def test_a_truncated_archive_is_refused_and_nothing_is_placed(packed: Path, tmp_path: Path) -> None:
    packed.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    with pytest.raises(ArchiveError, match="truncated") as refused:
        model_archive.unpack(packed)
    assert "Nothing of it was placed" in str(refused.value) and received(tmp_path) == []


def test_links_and_paths_in_an_archive_are_refused(packed: Path, tmp_path: Path) -> None:
    original = packed.read_bytes()
    cases = [
        ("../escape.json", tarfile.REGTYPE, "'../escape.json' is a regular file that the manifest does not list"),
        ("/tmp/absolute.json", tarfile.REGTYPE, "'/tmp/absolute.json' is a regular file"),
        ("glow_fashion_mnist.json", tarfile.SYMTYPE, "'glow_fashion_mnist.json' is a link, folder or special file"),
    ]
    for name, kind, message in cases:
        packed.write_bytes(original)
        with tarfile.open(packed, "a") as tar:
            member = tarfile.TarInfo(name)
            member.type, member.linkname = kind, "/etc/passwd"
            tar.addfile(member, io.BytesIO(b""))
        with pytest.raises(ArchiveError, match=re.escape(message)):
            model_archive.unpack(packed)
        assert received(tmp_path) == [] and not (tmp_path / "escape.json").exists()


def test_a_manifest_that_disagrees_with_its_model_files_is_refused(packed: Path, tmp_path: Path) -> None:
    """A manifest edited to claim another config is refused: it must agree with the model file it lists."""

    def alter_config(name: str, payload: bytes) -> bytes:
        if name != "manifest.json":
            return payload
        manifest = json.loads(payload)
        manifest["models"][0]["config"]["train"]["lr"] = 0.5
        return json.dumps(manifest).encode()

    rewrite(packed, alter_config)
    with pytest.raises(ArchiveError, match="does not match its model file"):
        model_archive.unpack(packed)
    assert received(tmp_path) == []


def test_an_archive_of_models_this_code_would_retrain_is_refused(packed: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(profiles.PROFILES, "tiny", tiny_profile(lr=2e-3))
    with pytest.raises(ArchiveError, match="would retrain glow_fashion_mnist.safetensors") as refused:
        model_archive.unpack(packed)
    assert "train.lr: stored 0.001, wanted 0.002" in str(refused.value) and received(tmp_path) == []
    assert model_archive.main(["unpack", str(packed)]) == 1


def test_a_different_local_model_is_replaced_only_when_asked(packed: Path, tmp_path: Path) -> None:
    other = tmp_path / "receiver" / "tiny" / "glow_fashion_mnist.json"
    other.parent.mkdir(parents=True)
    other.write_text("{}")
    with pytest.raises(ArchiveError, match="--replace"):
        model_archive.unpack(packed)
    assert other.read_text() == "{}"
    model_archive.unpack(packed, replace=True)
    assert json.loads(other.read_text())["config"]["model_name"] == "glow"
