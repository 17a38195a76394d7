"""Multi-device and multi-process runs, session 29.

Measured while hunting (not bugs; guarded by the tests named): a sharded run's checkpoint resumes on another device
count (4 -> 2, 4 -> 1, 1 -> 4, 2 -> 4 fake devices; a 1-process checkpoint in 2 processes) equal to the unsharded
run to round-off, and on a count that does not divide the first lattice axis is refused in one line; a ``[sweep]``
likewise over its members (``test_a_run_resumes_on_another_device_count``, slow).

The bug: a refusal that every process of a multi-process run makes alike (``--resume`` of a 2-process run in 3
processes on a first lattice axis of 16; a lattice axis the process count does not divide) ended process 0 at once,
with the coordination service it hosts, while the others were still printing the same line: they then printed
JAX's fatal log (5 to 9 lines, ``Terminating process because the JAX distributed service detected fatal
errors``; 4 of 8 such processes in 4 tries) or were aborted by it. Now a process that failed waits up to
``parallel.LEAVE_AFTER_FAILURE_SECONDS`` for the others and leaves with them.
"""

from __future__ import annotations

import shutil
import types
from pathlib import Path

import h5py
import pytest

from nnfield import parallel
from test_parallel import CONFIG, SWEEP, _nnfield, assert_close
from test_parallel_hunt_s27 import _one_line, _two_processes

ROOT = Path(__file__).resolve().parent.parent

#: ``nnfield`` (argv after ``-c CODE``) through the program's own exit (``cli.entry``: ``parallel.finish``), which
#: leaves 1.5 s late: a process still printing its refusal when process 0 has already exited
LATE = """\
import time
import nnfield.parallel as parallel
finish = parallel.finish
parallel.finish = lambda success: (time.sleep(1.5), finish(success))[1]
from nnfield.cli import entry
entry()
"""
ENTRY = "from nnfield.cli import entry\nentry()\n"


@pytest.mark.slow
def test_a_refusal_of_every_process_leaves_no_fatal_log(tmp_path):
    """A first lattice axis of 15 sites on 2 processes: both refuse in one line and exit 2. Before: process 1, 1.5 s
    slower to exit, was aborted by JAX's fatal log (process 0, which hosts the coordination service, had exited)."""
    cfg = tmp_path / "odd.toml"
    cfg.write_text(CONFIG.format(steps=200).replace("shape = [32, 24]", "shape = [15, 12]"))
    got = _two_processes([[str(cfg), "--out", str(tmp_path / "run")]] * 2, codes=(ENTRY, LATE), timeout=60)
    assert [rc for rc, _ in got] == [2, 2], got
    for _, err in got:
        assert "not divisible by 2 devices" in _one_line(err)


class _Client:
    def __init__(self, arrive: bool) -> None:
        self.arrive, self.barriers = arrive, []

    def wait_at_barrier(self, name: str, timeout_ms: int) -> None:
        self.barriers.append((name, timeout_ms))
        if not self.arrive:
            raise RuntimeError("DEADLINE_EXCEEDED: barrier timed out")


@pytest.mark.parametrize("arrive", [True, False])
def test_a_failed_process_leaves_with_the_others_only_when_they_arrive(monkeypatch, arrive):
    """(Quick sibling: the coordination service's client replaced.) After a failure ``finish`` waits at a barrier of
    at most ``LEAVE_AFTER_FAILURE_SECONDS`` and shuts the runtime down (the others leave together) only when every
    process arrived; a success shuts down at once."""
    from jax._src import distributed

    client, shutdowns = _Client(arrive), []
    monkeypatch.setattr(parallel, "_INITIALIZED", True)
    monkeypatch.setattr(distributed, "global_state", types.SimpleNamespace(client=client))
    monkeypatch.setattr("jax.distributed.shutdown", lambda: shutdowns.append(1))
    parallel.finish(False)
    assert client.barriers == [("nnfield-leave-after-failure", 1000 * parallel.LEAVE_AFTER_FAILURE_SECONDS)]
    assert shutdowns == ([1] if arrive else [])
    parallel.finish(True)
    assert len(client.barriers) == 1 and shutdowns == ([1, 1] if arrive else [1])
    monkeypatch.setattr(parallel, "_INITIALIZED", False)
    parallel.finish(False)  # (a single-process run: nothing)
    assert len(client.barriers) == 1


@pytest.mark.slow
@pytest.mark.parametrize("sweep", [False, True], ids=["lattice", "sweep"])
def test_a_run_resumes_on_another_device_count(sweep, tmp_path):
    """Stopped at step 100 on 4 (or 1) fake devices and resumed to 200 on 2, 1 (or 4): equal to the one-device run
    of 200 steps to round-off (fields 1e-13, observables 1e-12 relative; measured: fields equal, energies 2.6e-13 of
    227). 3 devices, which divide neither the 16 sites nor the 4 members, are refused in one line, nothing changed."""
    text = (SWEEP if sweep else CONFIG.replace("shape = [32, 24]", "shape = [16, 12]")).replace(
        "snapshot_every = 200", "snapshot_every = 20").replace("chunk = 100", "chunk = 20").replace(
        "checkpoint_every = 200", "checkpoint_every = 100")
    cfg, short = tmp_path / "run.toml", tmp_path / "short.toml"
    cfg.write_text(text.format(steps=200))
    short.write_text(text.format(steps=100))
    one = tmp_path / "one"
    assert _nnfield("run", str(cfg), "--out", str(one), "-q").returncode == 0
    for first, then in ((4, 2), (4, 1), (1, 4)):
        out = tmp_path / f"{first}-{then}"
        res = _nnfield("run", str(short), "--out", str(out), "-q", "--devices", str(first), devices=4)
        assert res.returncode == 0, res.stderr
        if then == 2:
            res = _nnfield("run", "--resume", str(out), "--steps", "200", "-q", "--devices", "3", devices=4)
            assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
            assert "3 devices" in res.stderr
        res = _nnfield("run", "--resume", str(out), "--steps", "200", "-q", "--devices", str(then), devices=4)
        assert res.returncode == 0, res.stderr
        assert_close(one, out)
        with h5py.File(out / "run.h5", "r") as h5:
            assert h5.attrs["devices"] == then
    if not sweep:  # a one-process checkpoint resumed in two processes
        out = tmp_path / "1-2proc"
        assert _nnfield("run", str(short), "--out", str(out), "-q").returncode == 0
        got = _two_processes([["--resume", str(out), "--steps", "200"]] * 2)
        assert [rc for rc, _ in got] == [0, 0], got
        assert_close(one, out)
    shutil.rmtree(tmp_path, ignore_errors=True)
