"""One trainer per model across processes: a lock file beside the model, and a note of who holds it.

A process that has to train ``<model>.safetensors`` holds ``<model>.lock`` (``filelock``: an OS
lock, ``flock``, that the operating system releases when the holder dies, so a killed trainer's
lock blocks nobody) and writes its pid, host and start time to ``<model>.trainer.json``. Another
process asking for the model prints whose training it waits for, waits, and then looks again.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from ood_lib.settings.paths import write_atomically
from ood_lib.training.distributed import distributed_rank_and_size

# A new holder writes its note just after taking the lock: a waiter reads the note after this long.
_NOTE_GRACE_SECONDS = 2.0


class ModelDirNotWritableError(RuntimeError):
    """A model has to be trained, but the directory it would be trained into cannot be written."""


def _trainer_description(owner_path: Path) -> str:
    try:
        owner = json.loads(owner_path.read_text())
        return f"process {owner['pid']} on {owner['host']} (since {owner['since']})"
    except (OSError, ValueError, KeyError):
        return "another process"


def acquire_training_lock(path: Path) -> FileLock:
    """Hold ``path``'s lock file, waiting (with a message saying for whom) while another process trains it."""
    lock = FileLock(path.with_suffix(".lock"))
    owner_path = path.with_suffix(".trainer.json")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=_NOTE_GRACE_SECONDS)
        except Timeout:
            print(
                f"Waiting for {_trainer_description(owner_path)}, which is training {path.name} "
                f"(lock file {lock.lock_file}); then it is loaded.",
                flush=True,
            )
            lock.acquire()
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        write_atomically(owner_path, lambda target: target.write_text(json.dumps(owner)))
    except OSError as error:
        lock.release()
        raise ModelDirNotWritableError(
            f"{path.name} has to be trained, but {path.parent} cannot be written ({error}). Set OOD_MODEL_WRITE_DIR "
            f"to a writable directory and call again: it will be trained into $OOD_MODEL_WRITE_DIR/{path.parent.name}/"
            f"{path.name} (and models present in OOD_MODEL_DIR are still read from there). Or receive it from a "
            "model archive: `python -m ood_lib.training.model_archive unpack ARCHIVE`."
        ) from error
    return lock


@contextlib.contextmanager
def one_trainer(path: Path) -> Iterator[None]:
    """Make this process the only one that trains ``path`` (under torchrun: rank 0 takes the lock for all ranks).

    The lock is an OS lock (``filelock``): a killed holder releases it, so a stale lock blocks nobody.
    """
    rank, world_size = distributed_rank_and_size()
    lock = acquire_training_lock(path) if rank == 0 else None
    if world_size > 1:
        torch.distributed.barrier()  # every rank looks up the model again only while rank 0 holds the lock
    try:
        yield
    finally:
        if lock is not None:
            path.with_suffix(".trainer.json").unlink(missing_ok=True)
            lock.release()
