"""Sharing the zoo: a read-only model directory, OOD_TRAIN=never, and one trainer per model across processes."""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from test_zoo import fake_datasets, serve_fake_datasets, tiny_profile, training_runs  # noqa: F401 (fixtures)

from ood_lib.training import lock as training_lock
from ood_lib.training import model_files, zoo

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def forbid_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way this code writes files fail, as on a read-only file system (chmod does not stop root)."""

    def refuse(*args, **kwargs):
        raise PermissionError(30, "Read-only file system (test)", str(args[0]) if args else "")

    real_open, real_os_open = builtins.open, os.open

    def open_for_reading(file, mode="r", *args, **kwargs):
        return refuse(file) if set(mode) & set("wax+") else real_open(file, mode, *args, **kwargs)

    def os_open_for_reading(path, flags, *args, **kwargs):
        return refuse(path) if flags & _WRITE_FLAGS else real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", open_for_reading)
    monkeypatch.setattr(io, "open", open_for_reading)
    monkeypatch.setattr(os, "open", os_open_for_reading)
    for name in ("replace", "rename", "mkdir", "makedirs", "unlink", "remove", "rmdir"):
        monkeypatch.setattr(os, name, refuse)
    monkeypatch.setattr(model_files, "save_file", refuse)
    monkeypatch.setattr(torch, "save", refuse)


def test_a_read_only_model_directory_serves_its_models_and_says_where_a_missing_one_would_train(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    profile = tiny_profile()
    shared = zoo.get("glow", "fashion_mnist", profile, progress=False)
    shared_seed1 = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=1), progress=False)
    shared_dir = shared.path.parent
    for path in [shared_dir, *shared_dir.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        with monkeypatch.context() as read_only:
            forbid_writes(read_only)
            for expected, variant in ((shared, zoo.PLAIN), (shared_seed1, zoo.Variant(seed=1))):
                loaded = zoo.get("glow", "fashion_mnist", profile, variant=variant, progress=False)
                assert loaded.from_cache and loaded.path == expected.path
                assert all(
                    torch.equal(value, expected.model.state_dict()[k]) for k, value in loaded.model.state_dict().items()
                )
            with pytest.raises(zoo.ModelDirNotWritableError) as refused:
                zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=2), progress=False)
        message = str(refused.value)
        assert str(shared_dir) in message and "OOD_MODEL_WRITE_DIR" in message
        assert "tiny/glow_fashion_mnist_seed2.safetensors" in message
        assert len(training_runs) == 2

        monkeypatch.setenv("OOD_MODEL_WRITE_DIR", str(tmp_path / "mine"))
        trained = zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=2), progress=False)
        assert trained.path == tmp_path / "mine" / "tiny" / "glow_fashion_mnist_seed2.safetensors"
        assert zoo.get("glow", "fashion_mnist", profile, progress=False).path == shared.path
        assert len(training_runs) == 3
    finally:
        for path in [shared_dir, *shared_dir.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_under_ood_train_never_a_missing_or_stale_model_is_an_error_with_the_command_that_trains_it(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = tiny_profile()
    trained = zoo.get("glow", "fashion_mnist", profile, progress=False)
    monkeypatch.setenv("OOD_TRAIN", "never")
    assert zoo.get("glow", "fashion_mnist", profile, progress=False).from_cache

    with pytest.raises(zoo.ModelNotTrainedError, match="is missing") as missing:
        zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=1), progress=False)
    assert "glow_fashion_mnist_seed1.safetensors" in str(missing.value)
    assert (
        "`OOD_TRAIN=missing python -m ood_lib.training.train_model glow fashion_mnist --profile tiny --seed 1`"
        in str(missing.value)
    )

    with pytest.raises(zoo.ModelNotTrainedError, match="is stale for its configuration") as stale:
        zoo.get("glow", "fashion_mnist", tiny_profile(lr=2e-3), progress=False)
    assert str(trained.path) in str(stale.value) and "train.lr: stored 0.001, wanted 0.002" in str(stale.value)

    background = zoo.Variant(perturbation_rate=0.2, outliers_from="mnist")
    with pytest.raises(zoo.ModelNotTrainedError, match="--perturbation-rate 0.2 --outliers-from mnist"):
        zoo.get("pixelcnn", "fashion_mnist", profile, variant=background, progress=False)
    assert len(training_runs) == 1, "OOD_TRAIN=never never trains"

    monkeypatch.setenv("OOD_TRAIN", "sometimes")
    with pytest.raises(ValueError, match="missing, never"):
        zoo.get("glow", "fashion_mnist", profile, variant=zoo.Variant(seed=1), progress=False)


def _ask_zoo(model_dir: str, start: threading.Barrier, results: mp.Queue) -> None:
    """In a fresh process: ask the zoo for the tiny Glow (training sleeps 5 s first); report what happened."""
    torch.set_num_threads(1)
    os.environ.update(OOD_MODEL_DIR=model_dir, OOD_DEVICE="cpu", OOD_TRAIN="missing")
    os.environ.pop("OOD_MODEL_WRITE_DIR", None)
    serve_fake_datasets(setattr)
    engine = zoo.train
    zoo.train = lambda *args, **kwargs: (time.sleep(5), engine(*args, **kwargs))[1]
    output = io.StringIO()
    start.wait()
    with contextlib.redirect_stdout(output):
        trained = zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    results.put((os.getpid(), trained.provenance(), output.getvalue()))


def test_two_processes_asking_for_one_missing_model_train_it_once(tmp_path: Path) -> None:
    context = mp.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_ask_zoo, args=(str(tmp_path), start, results)) for _ in range(2)]
    for process in processes:
        process.start()
    reports = sorted(results.get(timeout=180) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    assert [process.exitcode for process in processes] == [0, 0]
    trainer = [report for report in reports if report[1].startswith("trained now")]
    waiter = [report for report in reports if report[1].startswith("loaded from the model cache")]
    assert len(trainer) == len(waiter) == 1, reports
    assert f"Waiting for process {trainer[0][0]} on {socket.gethostname()}" in waiter[0][2]
    assert not list(tmp_path.glob("tiny/*.trainer.json")), "the trainer removes its note when done"


def _hold_the_lock(path: str, ready: threading.Event) -> None:
    lock = training_lock.acquire_training_lock(Path(path))
    ready.set()
    time.sleep(600)
    lock.release()


def test_the_lock_of_a_killed_trainer_blocks_nobody(
    fake_datasets,  # noqa: F811 (a fixture)
    training_runs,  # noqa: F811 (a fixture)
    capsys: pytest.CaptureFixture,
) -> None:
    path = zoo.model_path("glow", "fashion_mnist", tiny_profile())
    context = mp.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_the_lock, args=(str(path), ready))
    holder.start()
    assert ready.wait(timeout=120)
    killer = threading.Timer(5.0, holder.kill)  # SIGKILL: no cleanup runs in the holder
    killer.start()
    started = time.perf_counter()
    trained = zoo.get("glow", "fashion_mnist", tiny_profile(), progress=False)
    killer.join()
    holder.join(timeout=30)
    assert trained.provenance().startswith("trained now") and time.perf_counter() - started < 60
    assert f"Waiting for process {holder.pid} on {socket.gethostname()}" in capsys.readouterr().out
