"""Shared fixtures: an isolated data directory for each test that asks for one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from ood_lib import data

# The byte-identical official MNIST / Fashion-MNIST files beside the repository (see README).
SHARED_DATA = Path(os.environ.get("OOD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point OOD_DATA_DIR and OOD_CACHE_DIR at empty temporary directories."""
    monkeypatch.setenv("OOD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OOD_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    data.clear_memory_cache()
    yield tmp_path / "data"
    data.clear_memory_cache()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every download fail as it does without network; returns the URLs that were tried."""
    tried: list[str] = []

    def no_network(url: str, **kwargs: object) -> str:
        tried.append(url)
        raise ConnectionError(f"no network for {url}")

    monkeypatch.setattr("pooch.retrieve", no_network)
    return tried


@pytest.fixture
def shared_data() -> Path:
    """The offline copies of the official files; tests that need them skip where they are absent."""
    if not (SHARED_DATA / "raw" / "mnist").exists():
        pytest.skip(f"offline copies of the official files not found at {SHARED_DATA} (set OOD_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def single_thread():
    """Run on one thread: tiny models lose more to thread start-up and contention than they gain."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
