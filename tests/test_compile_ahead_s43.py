"""A fresh run compiles its first chunk's program in a background thread during its set-up (session 43).

:func:`nnfield.runner.prepare` (for a run, not a dry run) starts the compile once the network has passed the
stability gate, so that XLA compiles the chunk on one core while the run observes step 0 (another compile) and
writes its run file on the other: the same program, compiled earlier. What is checked here:

- the chunk program is compiled once per run, in the compile-ahead thread, and the loop's first call finds it
  (JAX logs every program it lowers, with the thread; ``_chunk_jit``'s cache grows by one);
- the run's file is bit for bit that of the run compiled at its first chunk (``runner.COMPILE_AHEAD = False``);
- a run refused at the stability gate and a dry run start no compile;
- the chunk arguments the compile-ahead uses are those of the loop's first call, also for a run whose chunks
  span several snapshot intervals.

Each run uses a lattice shape no other test uses, so that no program compiled by an earlier test of the same
worker hides a compile.
"""

from __future__ import annotations

import threading

import h5py
import numpy as np
import pytest

from nnfield import parallel, runner
from nnfield.config import parse_config
from nnfield.errors import InputError, UnstableError


@pytest.fixture
def compiles(jax_compiles):
    """The programs JAX compiles while armed, as ``(function name, thread name)`` (``conftest.jax_compiles``)."""
    return jax_compiles


def _config(shape: str, *, dt: float = 0.05, steps: int = 12, snapshot_every: int = 0) -> str:
    snap = f"snapshot_every = {snapshot_every}\n" if snapshot_every else ""
    return (f'[theory]\nname = "klein-gordon"\nmass = 1.0\n[lattice]\nshape = {shape}\nspacing = 0.5\n'
            f'[time]\ndt = {dt}\nsteps = {steps}\n[initial]\nkind = "gaussian_packet"\nwidth = 1.5\n'
            f"[output]\nevery = 2\n{snap}")


def _chunks(seen: list[tuple[str, str]]) -> list[str]:
    return [thread for name, thread in seen if name == "_packed_chunk_impl"]


@pytest.mark.parametrize(("shape", "snapshot_every"), [("[41]", 0), ("[9, 7]", 4)])
def test_the_first_chunk_is_compiled_ahead_once_and_found_by_the_loop(shape, snapshot_every, tmp_path,
                                                                       compiles) -> None:
    before = runner._chunk_jit.cache_size()
    res = runner.execute(parse_config(_config(shape, snapshot_every=snapshot_every)), tmp_path / "run",
                         progress=False)
    assert res.status == "completed" and res.steps_done == 12
    assert compiles, "no program logged: the recording is not armed"
    # one chunk program, compiled in the compile-ahead thread; the loop's calls compiled nothing more
    assert _chunks(compiles) == ["nnfield-compile-ahead"], compiles
    assert runner._chunk_jit.cache_size() == before + 1


def _read(path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_compiling_ahead_changes_no_bit_of_the_run(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config("[10, 6]", steps=20, snapshot_every=10)
    ahead = runner.execute(parse_config(cfg), tmp_path / "ahead", progress=False)
    monkeypatch.setattr(runner, "COMPILE_AHEAD", False)
    plain = runner.execute(parse_config(cfg), tmp_path / "plain", progress=False)
    a, b = _read(ahead.run_file), _read(plain.run_file)
    assert a.keys() == b.keys() and "observables/energy" in a and "snapshots/phi" in a
    for name in (k for k in a if k.startswith(("observables/", "snapshots/"))):  # (not the wall times)
        assert np.array_equal(a[name], b[name]), name


def test_without_compile_ahead_the_loop_compiles_the_chunk(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                           compiles) -> None:
    monkeypatch.setattr(runner, "COMPILE_AHEAD", False)
    runner.execute(parse_config(_config("[43]")), tmp_path / "run", progress=False)
    assert len(_chunks(compiles)) == 1 and _chunks(compiles)[0] != "nnfield-compile-ahead"


def test_a_run_refused_at_the_stability_gate_and_a_dry_run_compile_no_chunk(tmp_path, compiles) -> None:
    unstable = parse_config(_config("[45]", dt=0.9))  # the leapfrog's limit on this lattice is dt < 0.5
    with pytest.raises(UnstableError):
        runner.execute(unstable, tmp_path / "refused", progress=False)
    runner.prepare(parse_config(_config("[47]")), tmp_path / "dry")  # what `nnfield run --dry-run` does
    assert not _chunks(compiles), compiles
    assert not any(t.name == "nnfield-compile-ahead" for t in threading.enumerate())


def test_a_run_refused_after_its_compile_started_waits_for_it(tmp_path, compiles) -> None:
    # float32 fields of 1.8e19 are finite, their energy (1e40) is not: refused at step 0, after the compile started;
    # the compile has ended when the refusal returns (a multi-process run then shuts JAX's runtime down, which a
    # compile still running did not survive: SIGABRT instead of exit code 2)
    cfg = _config("[51]").replace('width = 1.5', 'width = 1.5\namplitude = 1.8e19') + 'precision = "float32"\n'
    with pytest.raises(InputError, match="too large"):
        runner.execute(parse_config(cfg), tmp_path / "run", progress=False)
    assert _chunks(compiles) == ["nnfield-compile-ahead"], compiles
    assert not any(t.name == "nnfield-compile-ahead" for t in threading.enumerate())
    parallel.wait_background()
    assert not parallel.BACKGROUND


def test_a_resumed_run_compiles_its_first_chunk_ahead_too(tmp_path, compiles) -> None:
    cfg = _config("[49]", steps=12)
    runner.execute(parse_config(cfg), tmp_path / "run", progress=False)
    longer = runner.execute(parse_config(cfg.replace("steps = 12", "steps = 18")), tmp_path / "longer",
                            progress=False)
    compiles.clear()
    res = runner.resume(tmp_path / "run", steps=18, progress=False)  # extended from its final checkpoint
    assert res.status == "completed" and res.steps_done == 18
    assert _chunks(compiles) == ["nnfield-compile-ahead"], compiles
    a, b = _read(res.run_file), _read(longer.run_file)
    for name in (k for k in a if k.startswith(("observables/", "snapshots/"))):
        assert np.array_equal(a[name], b[name]), name


def test_the_compile_ahead_arguments_are_the_first_call_of_the_loop() -> None:
    cfg = parse_config(_config("[12]", steps=40, snapshot_every=10))
    chunk, n, every, inner = runner.first_chunk(cfg, 1)
    # a small run's chunks span whole snapshot intervals (choose_chunk's span_snapshots): the first one too
    assert (n, every) == runner.next_chunk(0, 40, chunk, 2, 10)
    assert inner == (10 if n > 10 and n % 10 == 0 else 0)
    assert runner.chunk_call(0, 40, chunk, 2, 10) == (n, every, inner)
