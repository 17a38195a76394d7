"""Chunks of several snapshot intervals for small runs (``runner.choose_chunk(span_snapshots=True)``,
``network.run_snapshots``): the same samples and snapshots as chunks within one interval, to round-off, and a
failed chunk keeps its finite snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from nnfield import io as nio
from nnfield import network as nnet
from nnfield import runner
from nnfield.config import parse_config
from nnfield.errors import NonFiniteError

CONFIG = """
[theory]
name = "klein-gordon"
network = "3.8"
mass = 1.0
[lattice]
shape = [64]
spacing = 0.25
[time]
dt = {dt}
steps = 120
scheme = "{scheme}"
[initial]
kind = "gaussian_packet"
center = [8.0]
width = 1.5
momentum = [2.0]
[output]
every = 4
snapshot_every = 20
precision = "float64"
{extra}
"""


def test_small_runs_span_snapshot_intervals_and_large_ones_do_not():
    rng = np.random.default_rng(5)
    for _ in range(300):
        every = int(rng.integers(1, 6))
        snap = every * int(rng.integers(1, 20))
        steps = snap * int(rng.integers(1, 12)) + int(rng.integers(0, 2)) * every
        sites = int(rng.integers(1, 5000))
        chunk = runner.choose_chunk(steps, every, snap, sites, span_snapshots=True)
        plain = runner.choose_chunk(steps, every, snap, sites)
        assert chunk % every == 0
        if chunk > snap:  # spans: whole intervals, small work, at least two chunks, the run a multiple of it
            assert chunk % snap == 0 and steps % chunk == 0 and 2 * chunk <= steps
            assert steps * sites <= runner.SPAN_WORK
        else:
            assert chunk == plain
    assert runner.choose_chunk(300, 2, 50, 256, span_snapshots=True) == 150  # the 1+1 Dirac example: 2 chunks
    assert runner.choose_chunk(400, 5, 100, 128 * 128, span_snapshots=True) == 20  # the demo: too much work


def test_run_snapshots_is_run_interval_by_interval():
    cfg = parse_config(CONFIG.format(dt=0.1, scheme="leapfrog", extra=""))
    model, state = runner.build(cfg)
    obs = runner.observer_for(model, state)
    final, samples, snaps = nnet.run_snapshots(model.network, state, 3, 20, 4, obs)
    s, parts = state, []
    for j in range(3):
        s, o = nnet.run(model.network, s, 20, 4, obs)
        parts.append(o)
        np.testing.assert_allclose(snaps.phi[j], s.phi, rtol=0, atol=1e-14)
        np.testing.assert_allclose(snaps.pi[j], s.pi, rtol=0, atol=1e-14)
    np.testing.assert_allclose(final.phi, s.phi, rtol=0, atol=1e-14)
    for k in samples:
        np.testing.assert_allclose(samples[k], np.concatenate([p[k] for p in parts]), rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="multiple of every"):
        nnet.run_snapshots(model.network, state, 2, 6, 4, obs)


def test_a_spanning_run_records_what_an_interval_chunked_run_records(tmp_path):
    spanning = runner.execute(parse_config(CONFIG.format(dt=0.1, scheme="leapfrog", extra="")), tmp_path / "a",
                              progress=False)
    plain = runner.execute(parse_config(CONFIG.format(dt=0.1, scheme="leapfrog", extra="chunk = 20")),
                           tmp_path / "b", progress=False)
    assert spanning.chunk == 60 and plain.chunk == 20
    a, b = nio.load_run(spanning.out_dir), nio.load_run(plain.out_dir)
    assert a.snap_step.tolist() == b.snap_step.tolist() == list(range(0, 121, 20))
    assert a.obs_step.tolist() == b.obs_step.tolist() == list(range(0, 121, 4))
    np.testing.assert_allclose(a.phi, b.phi, rtol=0, atol=1e-14)
    np.testing.assert_allclose(a.pi, b.pi, rtol=0, atol=1e-14)
    for k in b.observables:
        np.testing.assert_allclose(a.observables[k], b.observables[k], rtol=1e-13, atol=1e-14)


def test_a_failed_spanning_chunk_keeps_its_finite_snapshots(tmp_path):
    """The paper's printed-sign network grows without bound: the run stops at the first non-finite sample and
    keeps every finite snapshot before it, as an interval-chunked run does."""
    text = CONFIG.format(dt=0.1, scheme="leapfrog", extra="").replace('mass = 1.0', 'mass = 1.0\nsign = "printed"')
    text = text.replace("steps = 120", "steps = 2400").replace("snapshot_every = 20", "snapshot_every = 400")
    cfg = parse_config(text)
    assert runner.choose_chunk(2400, 4, 400, 64, span_snapshots=True) > 400
    with pytest.raises(NonFiniteError):
        runner.execute(cfg, tmp_path / "a", progress=False, allow_unstable=True)
    with pytest.raises(NonFiniteError):
        runner.execute(parse_config(text + "chunk = 400\n"), tmp_path / "b", progress=False, allow_unstable=True)
    a, b = nio.load_run(tmp_path / "a", warn=False), nio.load_run(tmp_path / "b", warn=False)
    assert a.status == b.status == "nonfinite"
    # 400: inside the failed spanning chunk; then the state at the last finite sample (recomputed), the last
    assert a.attrs["steps_done"] == b.attrs["steps_done"]
    assert a.snap_step.tolist() == b.snap_step.tolist() == [0, 400, int(a.attrs["steps_done"])]
    assert np.all(np.isfinite(a.phi)) and a.obs_step.tolist() == b.obs_step.tolist()
    for run in (a, b):  # the last snapshot is the state of the last sample (its max |phi|, to rounding)
        assert float(np.abs(run.phi[-1]).max()) == pytest.approx(float(run.observables["phi_max"][-1]), rel=1e-9)


def test_packed_observables_unpack_bit_for_bit():
    """The chunk program's observables come back packed (one vector per dtype, ``runner._pack``) and are
    unpacked on the host by their layout: every value, shape and dtype exactly as computed, in any mix."""
    import jax
    import jax.numpy as jnp

    samples = 5
    rng = np.random.default_rng(3)
    obs = {
        "b_energy": rng.standard_normal(samples),
        "a_spectrum": rng.standard_normal((samples, 3, 2)),
        "count": rng.integers(-9, 9, samples).astype(np.int32),
        "c_small": rng.standard_normal((samples, 4)).astype(np.float32),
        "phase": (rng.standard_normal(samples) + 1j * rng.standard_normal(samples)).astype(np.complex64),
        "empty": np.zeros((samples, 0)),
    }
    obs["b_energy"][2] = np.nan  # a non-finite sample survives as it is
    layout = runner.obs_layout(obs, sampled=True)
    assert [name for name, _, _ in layout] == sorted(obs)
    packed = jax.jit(lambda o: runner._pack(o, layout))({k: jnp.asarray(v) for k, v in obs.items()})
    assert len(packed) == 4  # float64, int32, float32, complex64
    back = runner._unpack(tuple(np.asarray(v) for v in jax.device_get(packed)), layout, samples)
    assert set(back) == set(obs)
    for k, v in obs.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        assert back[k].tobytes() == v.tobytes()
    assert runner._unpack((), (), samples) == {}


def test_the_runner_records_what_the_network_run_computes(tmp_path):
    """The run file's observables (from the packed chunk program, in chunks) equal those of one
    ``network.run`` over all ticks, names and sample counts included (to round-off: the two programs differ)."""
    import h5py

    cfg = parse_config(CONFIG.format(dt=0.1, scheme="leapfrog", extra=""))
    res = runner.execute(cfg, tmp_path / "run", progress=False)
    model, state = runner.build(cfg)
    _, obs = nnet.run(model.network, state, cfg.time.steps, cfg.output.every, runner.observer_for(model, state))
    with h5py.File(res.run_file, "r") as h5:
        assert set(obs) <= set(h5["observables"])
        for k, v in obs.items():
            got = np.asarray(h5[f"observables/{k}"])[1:]  # [0] is step 0
            np.testing.assert_allclose(got, np.asarray(v), rtol=1e-13, atol=1e-13, err_msg=k)
