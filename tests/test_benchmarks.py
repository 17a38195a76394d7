"""The benchmark scripts keep running (timings are never asserted: only that the reports come out whole)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gpu_benchmark_command_runs_on_cpu(tmp_path):
    """``benchmarks/gpu.py`` (the accelerator report) on CPU with tiny lattices: every case appears in the table."""
    out = tmp_path / "gpu.md"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--allow-cpu", "--tiny", "--dtypes",
                          "float64", "--seconds", "0.05", "--repeats", "1", "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=900, check=False)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    for case in ("KG (3.8) leapfrog", "Dirac 3+1 stable, forward", "Dirac 3+1 stable, wilson",
                 "gauged Dirac 2+1, forward", "gauged Dirac 2+1, wilson"):
        assert f"| {case}" in text
    refused = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py")], capture_output=True, text=True,
                             env=dict(env, JAX_PLATFORMS="cpu"), timeout=300, check=False)
    assert refused.returncode == 2 and "--allow-cpu" in refused.stderr
