"""Bugs a scale-out hunt found in runs over several processes (session 27).

Two local processes joined by ``jax.distributed`` with the gloo CPU collectives, as in ``tests/test_parallel.py``:

- processes given different configs computed one run from two trajectories, silently (now refused in one line);
- a process whose wall clock said "a checkpoint is due" (or "the chunk took too long") where the other's did not
  entered a collective the other never joined: a hang (now the processes decide from the slowest one's clock);
- a shard file missing at ``--resume``: the process that lacked it refused in one line, the other waited 30 s in
  the next collective and died with a traceback (now every process refuses in one line).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from nnfield import io as nio

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
[theory]
name = "klein-gordon"
mass = {mass}
[lattice]
shape = [16, 12]
spacing = 0.5
[time]
dt = 0.1
steps = {steps}
[initial]
kind = "random_spectrum"
seed = 3
[output]
every = 10
snapshot_every = 20
{extra}
"""

#: ``nnfield`` (argv after ``-c CODE``) whose runner sees a wall clock running 1000 times fast: a process whose
#: chunks seem to take long and whose checkpoints seem overdue (another node's load, a slower file system)
FAST_CLOCK = """\
import sys, time, types
import nnfield.runner as runner
clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
clock.monotonic = lambda: time.monotonic() * 1000.0
clock.perf_counter = lambda: time.perf_counter() * 1000.0
runner.time = clock
from nnfield.cli import main
sys.exit(main(sys.argv[1:]))
"""

PLAIN = "import sys\nfrom nnfield.cli import main\nsys.exit(main(sys.argv[1:]))\n"


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=1".strip()
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def _two_processes(args: list[list[str]], codes: tuple[str, str] = (PLAIN, PLAIN), timeout: float = 120
                   ) -> list[tuple[int, str]]:
    """``nnfield run ARGS[i] -q`` in process ``i`` of 2 (run by ``python -c CODES[i]``): ``(exit code, stderr)``
    of each; a process still running after ``timeout`` seconds (a hang) is killed and reads as ``-9``."""
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, "-c", codes[i], "run", *args[i], "-q", "--coordinator",
                               f"localhost:{port}", "--num-processes", "2", "--process-id", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for i in range(2)]
    out = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            _, err = p.communicate()
        out.append((p.returncode, err))
    return out


def _one_line(err: str) -> str:
    """The error line of a process's stderr (gloo's connection notes aside)."""
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("[Gloo]")]
    assert len(lines) == 1 and lines[0].startswith("nnfield: error: "), err
    return lines[0]


@pytest.mark.slow
def test_processes_given_different_configs_are_refused_in_one_line(tmp_path):
    """Process 1 read a config with another mass (a copy edited on one node): the two processes computed their
    halves of the lattice with different networks and process 0 wrote the mixture, with ``verdict: OK`` and exit
    0 (the fields 1.36 of their scale away from the run of either config). Now both refuse before any work, and
    ``--dry-run`` too; a resumption with a different ``--steps`` per process likewise."""
    one, other = tmp_path / "one.toml", tmp_path / "other.toml"
    one.write_text(CONFIG.format(mass=1.0, steps=40, extra=""))
    other.write_text(CONFIG.format(mass=2.0, steps=40, extra=""))
    out = tmp_path / "run"
    for extra in ([], ["--dry-run"]):
        got = _two_processes([[str(one), "--out", str(out), *extra], [str(other), "--out", str(out), *extra]])
        assert [rc for rc, _ in got] == [2, 2], got
        for _, err in got:
            assert "process 1 of this 2-process run got another config or other options than process 0" in \
                _one_line(err)
        assert not out.exists()
    got = _two_processes([[str(one), "--out", str(out)]] * 2)
    assert [rc for rc, _ in got] == [0, 0], got
    got = _two_processes([["--resume", str(out), "--steps", "60"], ["--resume", str(out), "--steps", "80"]])
    assert [rc for rc, _ in got] == [2, 2], got
    assert "another config or other options" in _one_line(got[0][1])
    with h5py.File(out / "run.h5", "r") as h5:
        assert nio.read_attrs(h5)["steps_done"] == 40


@pytest.mark.slow
def test_a_process_whose_clock_runs_fast_does_not_hang_the_run(tmp_path):
    """Each process decided from its own wall clock whether a checkpoint was due (``checkpoint_every = "30 s"``)
    and how long the next automatic chunks are (``runner.MAX_CHUNK_SECONDS``): where the clocks disagree (process
    0 writes the run file between the chunks, the others do not; another node's load), one process entered a
    checkpoint's barrier, or a chunk program of another length, that the other never joined, and the run hung
    (here until the test's timeout). Now the processes decide alike from the slowest one's time, and the run
    equals the one-process run."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG.format(mass=1.0, steps=200, extra='checkpoint_every = "30 s"'))
    ref, two = tmp_path / "one", tmp_path / "two"
    from nnfield import cli

    assert cli.main(["run", str(cfg), "--out", str(ref), "-q"]) == 0
    got = _two_processes([[str(cfg), "--out", str(two)]] * 2, codes=(PLAIN, FAST_CLOCK), timeout=90)
    assert [rc for rc, _ in got] == [0, 0], got
    with h5py.File(ref / "run.h5", "r") as a, h5py.File(two / "run.h5", "r") as b:
        assert nio.read_attrs(b)["status"] == "completed"
        for group in ("observables", "snapshots"):
            for name in a[group]:
                x, y = a[group][name][()], b[group][name][()]
                np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-13, err_msg=name)
    assert len(list((two / "checkpoints").iterdir())) >= 2  # (checkpoints by the fast clock, in both processes)


@pytest.mark.slow
def test_a_shard_file_missing_at_a_multi_process_resume_is_one_line_in_every_process(tmp_path):
    """A checkpoint of a 2-process run lost process 1's shard file: at ``--resume`` in 2 processes, process 1
    refused in one line, but process 0 (whose shard was there) went on into the next collective, waited 30 s
    and died with a JAX traceback (exit 1). Now both refuse in one line (exit 2), process 0 naming process 1."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG.format(mass=1.0, steps=40, extra="checkpoint_every = 20"))
    out = tmp_path / "run"
    got = _two_processes([[str(cfg), "--out", str(out)]] * 2)
    assert [rc for rc, _ in got] == [0, 0], got
    newest = out / "checkpoints" / "step-000000000040"
    (newest / "process-00001.h5").unlink()
    got = _two_processes([["--resume", str(out), "--steps", "60"]] * 2, timeout=60)
    assert [rc for rc, _ in got] == [2, 2], got
    first, second = _one_line(got[0][1]), _one_line(got[1][1])
    assert "process 1 cannot restore its part of the state" in first and "step 20" in first
    assert "the shard files do not cover the whole state" in second


def test_a_first_axis_too_short_for_the_exchange_is_named_as_such():
    """``--halo`` on a first lattice axis of 4 sites (the leapfrog tick reaches 2 rows, more than a quarter of the
    axis, so the reach cannot be measured): the exchange is rightly not used, but the log said "a tick reads the
    whole lattice", blaming a local network for what the lattice's size decides. Now it says both."""
    from nnfield import halo
    from nnfield.config import parse_config
    from nnfield.runner import build

    cfg = parse_config(CONFIG.format(mass=1.0, steps=20, extra="").replace("shape = [16, 12]", "shape = [4, 12]"),
                       source="x.toml")
    model, state = build(cfg)
    notes: list[str] = []
    assert halo.with_halo(model.network, state, 2, notes.append) is model.network
    assert len(notes) == 1 and "more than a quarter of the first lattice axis (4 sites) away" in notes[0]
    assert "or the axis is too short for the exchange" in notes[0]


@pytest.mark.slow
def test_processes_that_do_not_share_the_output_directory_are_refused_in_one_line(tmp_path):
    """``--out`` on a path each node has on its own (e.g. ``/tmp/run`` on two nodes; here: process 1 given another
    directory): process 1 failed in one line writing its first checkpoint shard into a directory process 0 never
    created, and both then hung (process 0 in the checkpoint's barrier, process 1 leaving the distributed runtime)
    until killed. A resumption where process 1 sees a stale copy of the run instead would have restored its part
    from the copy. Now every process refuses in one line, before the first step or the restore."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG.format(mass=1.0, steps=40, extra=""))
    out, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    got = _two_processes([[str(cfg), "--out", str(out)], [str(cfg), "--out", str(elsewhere)]], timeout=60)
    assert [rc for rc, _ in got] == [2, 2], got
    assert f"process 1 of this 2-process run does not see the directory {out}" in _one_line(got[0][1])
    assert "a file system every process sees" in _one_line(got[1][1])
    assert not (out / "run.h5").exists() and not elsewhere.exists()
    got = _two_processes([[str(cfg), "--out", str(out)]] * 2)
    assert [rc for rc, _ in got] == [0, 0], got
    shutil.copytree(out, elsewhere)
    got = _two_processes([["--resume", str(out), "--steps", "60"], ["--resume", str(elsewhere), "--steps", "60"]],
                         timeout=60)
    assert [rc for rc, _ in got] == [2, 2], got
    assert "does not see the directory" in _one_line(got[0][1])
    with h5py.File(out / "run.h5", "r") as h5:
        assert nio.read_attrs(h5)["steps_done"] == 40


@pytest.mark.slow
def test_a_process_killed_mid_run_leaves_the_others_one_line_and_a_resumable_run(tmp_path):
    """SIGKILL to process 1 of a running 2-process run (the OOM killer, a lost node): process 0's next collective
    failed and it died with a JAX traceback (and, had it lived on, the distributed runtime's fatal abort). Now it
    says in one line that another process stopped, exits 1 at once, and the run resumes from its checkpoint."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG.format(mass=1.0, steps=40000, extra="checkpoint_every = 2000\nchunk = 500").replace(
        "shape = [16, 12]", "shape = [64, 64]").replace("snapshot_every = 20", "snapshot_every = 10000"))
    out = tmp_path / "run"
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(out), "-q",
                               "--coordinator", f"localhost:{port}", "--num-processes", "2", "--process-id", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for i in range(2)]
    try:
        import time

        deadline = time.monotonic() + 120
        while not (out / "checkpoints" / "step-000000002000").is_dir():
            assert time.monotonic() < deadline and procs[0].poll() is None, "no checkpoint after step 0"
            time.sleep(0.05)
        procs[1].kill()
        _, err = procs[0].communicate(timeout=60)
    finally:
        for p in procs:
            p.kill()
            p.communicate()
    assert procs[0].returncode == 1, err
    assert "another process of this 2-process run stopped" in _one_line(err)
    res = subprocess.run([sys.executable, "-m", "nnfield", "run", "--resume", str(out), "-q"], capture_output=True,
                         text=True, env=_env(), timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    with h5py.File(out / "run.h5", "r") as h5:
        assert nio.read_attrs(h5)["status"] == "completed" and nio.read_attrs(h5)["steps_done"] == 40000
