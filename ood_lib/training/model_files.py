"""Model files and training checkpoints that hold data only, never code.

Each is one `safetensors <https://huggingface.co/docs/safetensors>`_ file: a length-prefixed
JSON header, then raw tensor bytes. Beside the tensors' names, dtypes and shapes, the header
carries one JSON document (the metadata key ``ood_textbook``) with everything that is not a
tensor: a ``format`` tag (:data:`MODEL_FORMAT` or :data:`CHECKPOINT_FORMAT`) and, for a model,
its zoo config, training history, training time and provenance (device, time, torch version).
Reading such a file parses JSON and copies bytes; nothing in it can run.

A file in any other format is refused with :class:`ModelFileError` naming it. A pickle (what
``torch.save`` writes, and what this book wrote before) is refused unread, since unpickling can
run code; ``python -m ood_lib.training.model_files convert OLD.pt ...`` converts a trusted old zoo model
with ``torch.load(weights_only=True)``, whose restricted unpickler refuses anything but tensors
and plain containers.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ood_lib.settings.paths import write_atomically

MODEL_FORMAT = "ood-textbook model 1"
CHECKPOINT_FORMAT = "ood-textbook checkpoint 1"
# Checkpoint entries only some runs keep (outlier exposure: the active hinge pairs' shares since the last evaluation).
_OPTIONAL_CHECKPOINT_KEYS = ("outlier_active_since_eval",)
_METADATA_KEY = "ood_textbook"
# The first bytes of a pickle (protocol 2+) and of a zip archive (torch.save since torch 1.6).
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")


class ModelFileError(RuntimeError):
    """A file is not a readable data-only model file or checkpoint (corrupt, truncated, foreign or a pickle)."""


def _starts_like_a_pickle(path: Path) -> bool:
    try:
        with open(path, "rb") as opened:
            return opened.read(4).startswith(_PICKLE_MAGIC)
    except OSError:
        return False


def _unreadable(path: Path, reason: str) -> ModelFileError:
    if _starts_like_a_pickle(path):
        return ModelFileError(
            f"{path} is a pickle file (as torch.save writes), which can run code when loaded: it is refused "
            "unread. Model files here are safetensors (ood_lib.training.model_files). If it is a model of an "
            "older version of this book that you trust, convert it: "
            f"`python -m ood_lib.training.model_files convert {path}`; otherwise delete it."
        )
    return ModelFileError(
        f"The file {path} cannot be read as a data-only model file or checkpoint ({reason}). Delete it (or "
        "move it aside) and call again to retrain it; a committed quick model can be restored with "
        "`git checkout -- data/models/quick`."
    )


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], record: dict) -> None:
    """Write ``tensors`` (copied to CPU) and the JSON ``record`` to ``path`` as one safetensors file, atomically."""
    plain = {name: value.detach().to("cpu", copy=True).contiguous() for name, value in tensors.items()}
    metadata = {_METADATA_KEY: json.dumps(record)}
    write_atomically(Path(path), lambda target: save_file(plain, str(target), metadata=metadata))


def read_record(path: Path, file_format: str) -> dict:
    """The JSON record of a data-only file of ``file_format``, without reading its tensors."""
    return _read(Path(path), file_format, with_tensors=False)[1]


def read_tensors(path: Path, file_format: str) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors (on CPU) and the JSON record of a data-only file of ``file_format``."""
    return _read(Path(path), file_format, with_tensors=True)


def _read(path: Path, file_format: str, with_tensors: bool) -> tuple[dict[str, torch.Tensor], dict]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as opened:
            metadata = opened.metadata() or {}
            names = opened.keys() if with_tensors else []
            tensors = {name: opened.get_tensor(name) for name in names}
    except (SafetensorError, OSError, ValueError) as error:
        raise _unreadable(path, f"{type(error).__name__}: {error}") from error
    try:
        record = json.loads(metadata[_METADATA_KEY])
    except (KeyError, json.JSONDecodeError) as error:
        raise _unreadable(path, "a safetensors file without this book's record") from error
    if not isinstance(record, dict) or record.get("format") != file_format:
        found = record.get("format") if isinstance(record, dict) else None
        raise _unreadable(path, f"format {found!r}, expected {file_format!r}")
    return tensors, record


@dataclass
class StoredModel:
    """What a zoo model file holds."""

    state: dict[str, torch.Tensor]  # the model's state dict
    config: dict  # the zoo config it was trained with (``ood_lib.training.zoo``)
    history: dict  # its training history (``ood_lib.training.engine.train``)
    train_seconds: float
    provenance: dict  # device, time and torch version of its training (or of its conversion)

    def record(self) -> dict:
        """Everything but the tensors, as plain JSON data (also the readable JSON beside the model)."""
        return {
            "config": self.config,
            "history": self.history,
            "train_seconds": self.train_seconds,
            "provenance": self.provenance,
        }


def provenance_now(device: str) -> dict:
    """Provenance of a model trained now on ``device`` (a ``describe_device`` string)."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return {"device": device, "time": now, "torch": torch.__version__}


def save_model(path: Path, stored: StoredModel) -> None:
    """Write ``stored`` to ``path`` (safetensors) and its record to the readable ``path.with_suffix('.json')``."""
    record = stored.record()
    write_tensors(path, stored.state, {"format": MODEL_FORMAT, **record})
    json_path = Path(path).with_suffix(".json")
    write_atomically(json_path, lambda target: target.write_text(json.dumps(record, indent=1)))


def load_model(path: Path) -> StoredModel:
    """The model stored at ``path``; ``ModelFileError`` if it is not a data-only model file."""
    state, record = read_tensors(path, MODEL_FORMAT)
    try:
        return StoredModel(state, record["config"], record["history"], record["train_seconds"], record["provenance"])
    except KeyError as error:
        raise _unreadable(Path(path), f"its record lacks {error}") from error


def save_checkpoint(path: Path, checkpoint: dict) -> None:
    """Write a training checkpoint (the dict ``ood_lib.training.engine.train`` keeps) to ``path``, atomically.

    Tensors: the model state (``model/<name>``), the optimiser's per-parameter tensors
    (``optimizer/<index>/<name>``) and the RNG states (``rng/<name>``, uint8). Record: the rest,
    including the optimiser's parameter groups and any non-tensor per-parameter state.
    """
    tensors = {f"model/{name}": value for name, value in checkpoint["model_state"].items()}
    tensors.update({f"rng/{name}": value for name, value in checkpoint["rng_states"].items()})
    optimizer_scalars: dict[str, dict] = {}
    for index, state in checkpoint["optimizer_state"]["state"].items():
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer/{index}/{name}"] = value
            else:
                optimizer_scalars.setdefault(str(index), {})[name] = value
    plain = {key: checkpoint[key] for key in ("run_config", "step", "history", "losses_since_eval")}
    plain.update({key: checkpoint[key] for key in _OPTIONAL_CHECKPOINT_KEYS if key in checkpoint})
    record = {
        "format": CHECKPOINT_FORMAT,
        **plain,
        "optimizer_param_groups": checkpoint["optimizer_state"]["param_groups"],
        "optimizer_scalars": optimizer_scalars,
    }
    write_tensors(path, tensors, record)


def load_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path`` as :func:`save_checkpoint` received it; ``ModelFileError`` if unreadable."""
    tensors, record = read_tensors(path, CHECKPOINT_FORMAT)
    parts: dict[str, dict] = {"model": {}, "rng": {}, "optimizer": {}}
    for key, value in tensors.items():
        part, name = key.split("/", 1)
        parts[part][name] = value
    scalars = record["optimizer_scalars"]
    optimizer_state: dict[int, dict] = {int(index): dict(values) for index, values in scalars.items()}
    for key, value in parts["optimizer"].items():
        index, name = key.split("/", 1)
        optimizer_state.setdefault(int(index), {})[name] = value
    return {
        **{key: record[key] for key in ("run_config", "step", "history", "losses_since_eval")},
        **{key: record[key] for key in _OPTIONAL_CHECKPOINT_KEYS if key in record},
        "model_state": parts["model"],
        "rng_states": parts["rng"],
        "optimizer_state": {"state": optimizer_state, "param_groups": record["optimizer_param_groups"]},
    }


def convert_legacy(old_path: Path) -> Path:
    """Convert a zoo model file of the old pickle format to ``<stem>.safetensors`` (and JSON); return the new path.

    Reads with ``torch.load(weights_only=True)``, which refuses a pickle that calls anything but
    tensor and container constructors. The tensors are copied unchanged.
    """
    old_path = Path(old_path)
    try:
        old = torch.load(old_path, map_location="cpu", weights_only=True)
        state, config, history, train_seconds = (
            old["model_state"],
            old["config"],
            old["history"],
            old["train_seconds"],
        )
    except Exception as error:  # torch raises several types for refused, truncated or foreign pickles
        raise ModelFileError(
            f"{old_path} is not a model file of this book's old format, or holds more than data "
            f"({type(error).__name__}: {error}); it was not converted."
        ) from error
    provenance = {
        "device": history.get("device", "unrecorded"),
        "time": "unrecorded",
        "torch": "unrecorded",
        "converted_from": old_path.name,
        "converted": provenance_now("")["time"],
    }
    new_path = old_path.with_suffix(".safetensors")
    save_model(new_path, StoredModel(state, config, history, float(train_seconds), provenance))
    return new_path


def main(argv: list[str] | None = None) -> int:
    """``python -m ood_lib.training.model_files convert OLD.pt ...``: convert trusted old zoo files; exit status."""
    parser = argparse.ArgumentParser(prog="python -m ood_lib.training.model_files", description=convert_legacy.__doc__)
    parser.add_argument("command", choices=["convert"])
    parser.add_argument("paths", nargs="+", type=Path, help="old zoo model files (*.pt, not *.ckpt.pt)")
    args = parser.parse_args(argv)
    for old_path in args.paths:
        print(f"{old_path} -> {convert_legacy(old_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
