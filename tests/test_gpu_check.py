"""``benchmarks/gpu_check.sh --tiny`` runs end to end on a CPU, so the prepared GPU check is known to work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash and timeout")
def test_gpu_check_runs_on_a_cpu_with_tiny_sizes(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "PYTHON": sys.executable,
        "OMP_NUM_THREADS": "1",
        "OOD_DEVICE": "cpu",
        "CUDA_VISIBLE_DEVICES": "",
        "GPU_CHECK_COMPILE_BACKEND": "aot_eager",  # graph capture without C++ compilation: seconds, not minutes
    }
    completed = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--tiny", str(tmp_path)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = (tmp_path / "gpu_check.md").read_text()
    assert "TINY sizes" in result
    assert "failed" not in result and "timed out" not in result, result
    assert "| fp32 eager (TF32 off) |" in result
    assert "| bf16 autocast + TF32, eager |" in result
    assert "| fp32 compiled (backend aot_eager) |" in result  # it compiled: no fallback to eager
    assert "**agree**" in result
    assert "torchrun, 2 process(es), gloo" in result and "replicas bit-identical at the end: **True**" in result
