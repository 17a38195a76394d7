"""SIGTERM (what batch schedulers send) or SIGINT (Ctrl-C) during a run: exit 143 / 130, one line, the run file
says "interrupted" and keeps everything written before the signal."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from nnfield import io as nio

ROOT = Path(__file__).resolve().parent.parent

LONG = """\
[theory]
name = "klein-gordon"
[lattice]
shape = [64]
[time]
dt = 0.05
steps = 200000000
[initial]
kind = "plane_wave"
[output]
every = 100
chunk = 1000
"""


# the quick suite sends SIGTERM mid-run and SIGINT at start-up (the other pairs: slow; one handler serves both)
@pytest.mark.parametrize("sig, code, says", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                              pytest.param(signal.SIGINT, 130, "interrupted", marks=pytest.mark.slow)])
def test_a_signal_mid_run_interrupts_cleanly(tmp_path, sig, code, says):
    """No segmentation fault at exit (the process ends at once after writing, see ``cli.entry``)."""
    cfg = tmp_path / "long.toml"
    cfg.write_text(LONG)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(out), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    run_file = out / "run.h5"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not run_file.exists():  # the run is under way once its file exists
        time.sleep(0.2)
    assert run_file.exists(), "the run did not start"
    time.sleep(1.0)  # into the run (the file is not read while the run holds it: HDF5 locks it)
    proc.send_signal(sig)
    t0 = time.monotonic()
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # never leave a 2e8-step run behind
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err
    assert time.monotonic() - t0 < 30
    lines = err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in err, err
    with h5py.File(run_file, "r") as f:
        attrs = nio.read_attrs(f)
        assert attrs["status"] == "interrupted"
        steps = f["observables/step"][()]
        assert len(steps) >= 1 and steps[0] == 0  # the samples written before the signal are kept
        assert int(attrs["steps_done"]) >= steps[-1]


@pytest.mark.parametrize("sig, code, says", [pytest.param(signal.SIGTERM, 143, "terminated (SIGTERM)",
                                                           marks=pytest.mark.slow),
                                              (signal.SIGINT, 130, "interrupted")])
def test_a_signal_during_start_up_imports_exits_cleanly(tmp_path, sig, code, says):
    """A signal while JAX is being imported (the longest import; under load it takes seconds): one line and
    130 / 143. (An exception raised from the handler there became an ``ImportError`` traceback.) The moments
    sweep the first second and a half, after nnfield's first module has loaded."""
    cfg = tmp_path / "long.toml"
    cfg.write_text(LONG)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    for k, moment in enumerate((0.15, 0.3, 0.5, 0.8, 1.2)):
        proc = subprocess.Popen([sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(tmp_path / f"o{k}"),
                                 "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(moment)
        proc.send_signal(sig)
        try:
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        if proc.returncode < 0:  # before the interpreter had loaded nnfield (docs/reliability.md)
            continue
        assert proc.returncode == code, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and says in lines[0] and "Traceback" not in err, err
