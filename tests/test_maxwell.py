"""Lattice Maxwell from links that learn with momentum: Gauss's law, gauge invariance, energy, free photons, and
the network against the independent physics side (DOP853 on the Kogut-Susskind Hamiltonian)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from gauge_checks import assert_energy_bounded_at_order_2, order_against_reference
from nnfield import Lattice
from nnfield.network import run
from nnfield.theories import maxwell, u1
from nnfield.theories.u1.measure import mode_frequency

EPS = float(np.finfo(float).eps)


def _model(shape=(6, 6, 6), a=1.0, dt=0.2, q=1.0):
    return maxwell.model(Lattice(shape, a), dt, charge=q)


def test_gauss_law_is_kept_to_round_off():
    M = _model((8, 8, 8))
    A, E = u1.random_photons(M.lattice, 4, 0.3)  # plaquettes ~ 0.3: compact nonlinearity matters
    _, obs = run(M.network, M.encode(A, E), 1000, 50, M.observables)
    assert float(np.max(obs["gauss_residual"])) < 1e-13
    assert float(np.min(obs["plaquette"])) < 0.97  # the run is not trivially linear


def test_learning_is_the_physics_sides_equations():
    """One kick of the network (jax.grad of the Wilson loss) equals dt times dE/dt from jax.grad of the
    independently written Hamiltonian (jnp.roll, physical A)."""
    M = _model((5, 4, 3), a=0.7, q=1.7)
    rng = np.random.default_rng(1)
    A, E = rng.standard_normal((3, 5, 4, 3)), rng.standard_normal((3, 5, 4, 3))
    s = M.encode(A, E)
    kicked = jax.jit(M.network.kick)(s, 1e-3)  # compiled programs: op by op they were ~45 small compiles
    _, dE = jax.jit(M.theory.equations)(A, E)
    assert np.abs((np.asarray(kicked["electric"]) - E) / 1e-3 - np.asarray(dE)).max() < 1e-10 * np.abs(dE).max()
    drifted = jax.jit(M.network.drift)(s, 1e-3)
    assert np.abs(np.asarray(M.decode(drifted)[0]) - (A + 1e-3 * E)).max() < 1e-12


def test_network_converges_to_the_reference_at_order_2():
    lat = Lattice((6, 6), 0.8)
    A, E = u1.random_photons(lat, 2, 0.4, cutoff=4.0)
    order, errs = order_against_reference(lambda dt: maxwell.model(lat, dt), A, E, 1.2)
    assert abs(order - 2) < 0.2, (errs, order)


def test_gauge_transformed_runs_agree_in_every_invariant():
    """A random gauge transformation of the initial data: energy densities, plaquettes, E and the Gauss residual
    per site agree with the untransformed run at every sample, to round-off."""
    M = _model((6, 5, 4), a=1.0, dt=0.2)
    A, E = u1.random_photons(M.lattice, 7, 0.3)
    chi = np.random.default_rng(2).uniform(-np.pi, np.pi, M.lattice.shape) * 3
    A2, E2 = M.gauge_transform(A, E, chi)
    assert np.abs(A2 - A).max() > 1.0  # the links really changed

    def fields(s):
        f = M.fields(s)
        return {k: f[k] for k in ("electric_energy", "magnetic_energy", "plaquette", "energy", "gauss", "electric")}

    _, f1 = run(M.network, M.encode(A, E), 200, 10, fields)
    _, f2 = run(M.network, M.encode(A2, E2), 200, 10, fields)
    for k in f1:
        scale = max(float(np.abs(f1[k]).max()), 1.0)
        assert float(np.abs(np.asarray(f1[k]) - np.asarray(f2[k])).max()) < 1e-12 * scale, k


@pytest.mark.parametrize("pol", [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
def test_photon_dispersion_measured_from_runs(pol):
    """Standing transverse waves (both polarizations of k along (2, 1, 0)): the measured leapfrog frequency obeys
    4 sin^2(Omega dt/2)/dt^2 = (4/a^2) sum sin^2(k a/2)."""
    lat = Lattice((16, 16, 4), 0.5)
    dt = 0.1
    M = maxwell.model(lat, dt)
    A, E = u1.plane_wave(lat, [2, 1, 0], pol, 1e-6, travelling=False)
    k = [2 * np.pi * 2 / 8.0, 2 * np.pi / 8.0, 0.0]
    _, obs = run(M.network, M.encode(A, E), 400, 1, lambda s: {"e": s["electric"][2, 1, 0, 0] + s["electric"][1, 1, 0,
                                                                                                       0]})
    Om = mode_frequency(np.concatenate([[0.0], np.asarray(obs["e"])]), dt)
    w2 = sum(4 / 0.5**2 * np.sin(kk * 0.5 / 2) ** 2 for kk in k)
    assert 4 * np.sin(Om * dt / 2) ** 2 / dt**2 == pytest.approx(w2, rel=1e-8)


def test_longitudinal_mode_does_not_propagate():
    """Pure-gauge (longitudinal) links with E = 0 feel no force: the state stays put to round-off."""
    lat = Lattice((8, 8, 8), 1.0)
    M = maxwell.model(lat, 0.2)
    chi = np.random.default_rng(3).standard_normal(lat.shape)
    A = u1.transform_links(np.zeros((3, *lat.shape)), chi)  # theta = -grad chi (q = a = 1)
    s, _ = run(M.network, M.encode(A, np.zeros_like(A)), 500)
    assert np.abs(np.asarray(s["electric"])).max() < 1e-13
    assert np.abs(np.asarray(s["links"]) - A).max() < 1e-12


def test_energy_is_bounded_and_matches_the_densities():
    M = _model((6, 6, 6), dt=0.3)
    A, E = u1.random_photons(M.lattice, 5, 0.2)
    s0 = M.encode(A, E)
    dens = jax.jit(M.fields)(s0)  # compiled programs (op by op: ~35 small compiles)
    assert float(jax.jit(M.observables)(s0)["energy"]) == pytest.approx(float(np.sum(dens["energy"])), rel=1e-13)
    _, obs = run(M.network, s0, 3000, 10, M.observables)
    from nnfield.conservation import verdicts

    (v,) = verdicts(M.conserved(), obs, 3000, np.float64)
    assert v.ok and v.oscillation < 0.05, v


def test_the_examples_build_and_keep_gauss_law():
    from nnfield.config import load_config

    for name in ("maxwell_photons_3d", "maxwell_plane_wave_2d"):
        cfg = load_config(f"examples/{name}.toml")
        M = cfg.build_model()
        phi, pi = cfg.initial_fields(M)
        _, obs = run(M.network, M.encode(phi, pi), 20, 10, M.observables)
        assert float(np.max(obs["gauss_residual"])) < 1e-14


# ------------------------------------------------------------------------------------------------------------
# long validations
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_energy_has_no_drift_over_1e5_steps_and_oscillates_at_order_2():
    lat = Lattice((6, 6, 6), 1.0)
    A, E = u1.random_photons(lat, 11, 0.2)
    # stability bound a / sqrt(3) = 0.577; the oscillation amplitude over t = 200
    assert_energy_bounded_at_order_2(lambda dt: maxwell.model(lat, dt), A, E, 0.2, 200.0)


def test_a_resumed_gauge_run_equals_the_uninterrupted_one(tmp_path):
    """The several-field state (links, electric) goes through checkpoints: a run extended with
    ``--resume --steps`` equals the longer run bit for bit in the snapshots of every field. Its observables are
    held to round-off: the 200-step run takes chunks of one sample (10 steps) and the 400-step run chunks of two,
    and XLA compiles the one-sample scan (a loop of one trip, inlined) to lattice sums added in another order
    (``energy_electric`` and ``flux`` 1 ulp apart from step 10 on with XLA's defaults; equal under the quick
    suite's options; docs/reliability.md). The bound: N eps times the largest term, N = 120 sites x 2 links."""
    import h5py

    from nnfield import cli

    text = ('[theory]\nname = "maxwell"\n[lattice]\nshape = [12, 10]\nspacing = 0.5\n[time]\ndt = 0.1\n'
            'steps = {steps}\n[initial]\nkind = "plane_wave"\nn = [2, 1]\npolarization = [0.0, 1.0]\n'
            'amplitude = 0.05\n[output]\nevery = 10\nsnapshot_every = 100\n')
    for name, steps in (("short", 200), ("long", 400)):
        (tmp_path / f"{name}.toml").write_text(text.format(steps=steps))
        assert cli.main(["run", str(tmp_path / f"{name}.toml"), "--out", str(tmp_path / name), "-q"]) == 0
    assert cli.main(["run", "--resume", str(tmp_path / "short"), "--steps", "400", "-q"]) == 0
    with h5py.File(tmp_path / "short" / "run.h5") as a, h5py.File(tmp_path / "long" / "run.h5") as b:
        for group in ("observables", "snapshots"):
            names = sorted(n for n in b[group] if n not in ("x", "y", "component") and not n.endswith("_component"))
            assert "links" in names or group == "observables"
            for n in names:
                x, y = a[group][n][()], b[group][n][()]
                assert x.shape == y.shape, n
                if group == "snapshots" or x.dtype.kind != "f":
                    assert np.array_equal(x, y), n
                else:
                    # N eps times the largest term: the sum itself for sums of positive terms; for the flux
                    # a^2 sum wrap(P), whose sum cancels to ~0, a^2 pi (|wrap(P)| <= pi)
                    term = 0.25 * np.pi if n == "flux" else np.abs(y).max()
                    bound = 240 * np.finfo(np.float64).eps * term
                    np.testing.assert_allclose(x, y, rtol=0, atol=bound, err_msg=n)
