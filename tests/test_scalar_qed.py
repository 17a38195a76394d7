"""Scalar QED / the Abelian Higgs model from a network: Gauss's law and charge, gauge invariance, the network
against the physics side, the Higgs mechanism (tree-level masses) and the Nielsen-Olesen vortex."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from gauge_checks import assert_energy_bounded_at_order_2, order_against_reference
from nnfield import Lattice
from nnfield.network import run
from nnfield.theories import scalar_qed as sq
from nnfield.theories import u1
from nnfield.theories.u1.measure import centroid, leapfrog_omega, mode_frequency


def _higgs(shape=(10, 10), a=0.5, dt=0.05, q=1.0, lam=0.5, v=1.0, m=0.0):
    return sq.model(Lattice(shape, a), dt, charge=q, lam=lam, v=v, m=m)


def test_gauss_law_and_charge_are_kept_to_round_off():
    M = _higgs((12, 12), q=1.3, lam=0.7)
    phi, pi = sq.higgs_vacuum(M.lattice, 1.3, 0.7, 1.0, 0.0, 3, 0.1, 0.05)
    s = M.encode(phi, pi)
    assert float(jax.jit(M.observables)(s)["gauss_residual"]) < 1e-15  # compiled: op by op ~50 programs
    f = jax.jit(M.fields)(s)
    assert float(np.abs(f["charge_density"]).max()) > 1e-2  # the fluctuations carry charge; E_L compensates
    _, obs = run(M.network, s, 2000, 20, M.observables)
    assert float(np.max(obs["gauss_residual"])) < 1e-13
    scale = float(np.abs(f["charge_density"]).sum()) * M.lattice.cell_volume
    assert float(np.abs(np.asarray(obs["charge"])).max()) < 1e-13 * scale


@pytest.mark.parametrize("shape,a", [((128,), 0.25), pytest.param((12, 8, 8), 0.5, marks=pytest.mark.slow)])
def test_charged_packets_keep_gauss_law(shape, a):
    """1D quick; 3D slow (quick 3D Gauss checks: test_the_examples_build_and_keep_gauss_law, scalar_qed_higgs_3d)."""
    lat = Lattice(shape, a)
    M = sq.model(lat, 0.05, charge=0.8, lam=0.1, v=0.0, m=1.0)
    phi, pi = sq.charged_packets(lat, 0.8, 0.1, 0.0, 1.0, separation=lat.lengths[0] / 2,
                                 width=lat.lengths[0] / 10, momentum=[1.0] + [0.0] * (lat.ndim - 1),
                                 amplitude=0.5)
    s = M.encode(phi, pi)
    rho = np.asarray(M.fields(s)["charge_density"])
    assert rho.max() > 1e-2 and rho.min() < -1e-2  # a positive and a negative packet
    _, obs = run(M.network, s, 600, 20, M.observables)
    assert float(np.max(obs["gauss_residual"])) < 1e-13, shape


def test_learning_is_the_physics_sides_equations():
    lat = Lattice((5, 4), 0.6)
    M = sq.model(lat, 0.05, charge=1.4, lam=0.3, v=0.8, m=0.5)
    rng = np.random.default_rng(5)
    phi, pi = rng.standard_normal((4, 5, 4)), rng.standard_normal((4, 5, 4))
    s = M.encode(phi, pi)
    h = 1e-3
    # each piece one compiled program (op by op they compiled ~85 small programs)
    _, dpi = jax.jit(M.theory.equations)(phi, pi)
    kicked = M.decode(jax.jit(M.network.kick)(s, h))[1]
    assert np.abs((np.asarray(kicked) - pi) / h - np.asarray(dpi)).max() < 1e-10 * np.abs(dpi).max()
    drifted = M.decode(jax.jit(M.network.drift)(s, h))[0]
    assert np.abs(np.asarray(drifted) - (phi + h * pi)).max() < 1e-12
    # the physics side's energy equals the network's densities summed
    assert float(jax.jit(M.observables)(s)["energy"]) == pytest.approx(
        float(np.sum(jax.jit(M.fields)(s)["energy"])) * lat.cell_volume, rel=1e-13)


def test_network_converges_to_the_reference_at_order_2():
    lat = Lattice((8, 8), 0.5)
    phi0, pi0 = sq.higgs_vacuum(lat, 1.0, 0.5, 1.0, 0.0, 1, 0.1, 0.05)
    order, errs = order_against_reference(lambda dt: sq.model(lat, dt), phi0, pi0, 1.0)
    assert abs(order - 2) < 0.2, (errs, order)


def test_gauge_transformed_runs_agree_in_every_invariant():
    M = _higgs((8, 6, 5), a=0.5, dt=0.05, q=1.2, lam=0.4)
    phi, pi = sq.higgs_vacuum(M.lattice, 1.2, 0.4, 1.0, 0.0, 4, 0.2, 0.05)
    chi = np.random.default_rng(6).uniform(-np.pi, np.pi, M.lattice.shape) * 2
    phi2, pi2 = M.gauge_transform(phi, pi, chi)
    assert np.abs(phi2 - phi).max() > 1.0
    names = ("electric_energy", "magnetic_energy", "matter_energy", "energy", "plaquette", "phi_abs2",
             "charge_density", "gauss", "electric")

    def fields(s):
        f = M.fields(s)
        return {k: f[k] for k in names}

    _, f1 = run(M.network, M.encode(phi, pi), 200, 10, fields)
    _, f2 = run(M.network, M.encode(phi2, pi2), 200, 10, fields)
    for k in names:
        scale = max(float(np.abs(f1[k]).max()), 1.0)
        assert float(np.abs(np.asarray(f1[k]) - np.asarray(f2[k])).max()) < 1e-12 * scale, k


@pytest.mark.parametrize("lam,q", [(0.5, 1.0), (0.2, 1.5)])
def test_linearized_network_has_the_tree_level_masses(lam, q):
    """At k = 0 the masses are exact in a; the network's own linearized step gives (2/dt) sin(Omega dt/2) = m."""
    M = _higgs((6, 6), lam=lam, q=q)
    tree = M.tree_masses()
    got = M.analysis_extra()["masses"]["network_k0"]
    want = sorted({round(tree["photon"], 9), round(tree["higgs"], 9)})
    assert np.allclose(got, want, rtol=1e-8), (got, want)


def _uniform_mode(M, which: str, eps: float = 1e-6, steps: int = 600):
    D = M.lattice.ndim
    shape = M.lattice.shape
    vac = np.asarray(M.network.pack(M.network.zero_state(np.float64)).phi)
    phi, pi = vac.copy(), np.zeros_like(vac)
    if which == "higgs":
        phi[D] += eps
        probe = lambda s: {"x": s["matter"].phi[0].mean() - vac[D].mean()}  # noqa: E731
    else:
        pi[0] += eps * np.ones(shape)
        probe = lambda s: {"x": s["electric"][0].mean()}  # noqa: E731
    x0 = phi[D].mean() - vac[D].mean() if which == "higgs" else eps
    _, obs = run(M.network, M.encode(phi, pi), steps, 1, probe)
    return np.concatenate([[x0], np.asarray(obs["x"])])


@pytest.mark.parametrize("which", ["higgs", "photon"])
def test_masses_measured_from_runs_match_tree_level(which):
    M = _higgs((6, 6, 6), a=0.5, dt=0.05, q=1.0, lam=0.3)
    Om = mode_frequency(_uniform_mode(M, which), 0.05)
    # amplitude 1e-6: the oscillation's harmonics bias the estimate by O(amplitude) (measured 7e-9 for the Higgs)
    assert leapfrog_omega(Om, 0.05) == pytest.approx(M.tree_masses()[which], rel=1e-7)


def test_massive_transverse_photon_dispersion():
    lat = Lattice((16, 12), 0.5)
    M = sq.model(lat, 0.05, charge=1.0, lam=0.5, v=1.0)
    m_A = M.tree_masses()["photon"]
    A, E = u1.plane_wave(lat, [2, 1], [0.0, 1.0], 1e-6, m_A, travelling=False)
    vac = np.asarray(M.network.pack(M.network.zero_state(np.float64)).phi)[2:]
    s = M.encode(np.concatenate([A, vac]), np.concatenate([E, np.zeros_like(vac)]))
    _, obs = run(M.network, s, 500, 1, lambda st: {"x": st["electric"][1, 3, 0]})
    Om = mode_frequency(np.concatenate([[0.0], np.asarray(obs["x"])]), 0.05)
    k = [2 * np.pi * 2 / 8.0, 2 * np.pi / 6.0]
    w = float(u1.photon_omega(lat, m_A, [np.asarray(kk) for kk in k]))
    assert leapfrog_omega(Om, 0.05) == pytest.approx(w, rel=1e-8)


@pytest.mark.parametrize("q", [1.0, pytest.param(0.7, marks=pytest.mark.slow)])  # q = 0.7: slow
def test_vortex_carries_one_flux_quantum_and_stays_put(q):
    """Odd lattice: the core sits at the box centre L/2 (a plaquette centre); plaquette ``x`` covers [x, x + a], so
    the magnetic energy indexed by plaquette is centred at L/2 - a/2 in a window symmetric about it. The start is
    only partly relaxed (it breathes): the core must still not move."""
    lat = Lattice((33, 33), 0.3)
    mid = np.full(2, 16 * 0.3)
    M = sq.model(lat, 0.05, charge=q, lam=q**2 / 2, v=1.0)  # BPS
    phi, pi = sq.vortex(M, relax_steps=300)
    s = M.encode(phi, pi)
    s1, obs = run(M.network, s, 400, 20, M.observables)
    assert np.abs(np.asarray(obs["flux"]) - 2 * np.pi / q).max() < 1e-12
    assert float(np.max(obs["gauss_residual"])) < 1e-13
    assert float(np.ptp(np.asarray(obs["energy_electric"]))) > 1e-6  # it does move (breathes)
    fields, observables = jax.jit(M.fields), jax.jit(M.observables)  # compiled: op by op ~50 programs
    for st in (s, s1):
        c = centroid(np.asarray(fields(st)["magnetic_energy"]), lat, mid)
        assert np.abs(c - mid).max() < 1e-10, c
    # antivortex and the pair: -1 and 0 quanta
    phi, pi = sq.vortex(M, winding=-1)
    assert float(observables(M.encode(phi, pi))["flux"]) == pytest.approx(-2 * np.pi / q, abs=1e-12)
    phi, pi = sq.vortex_pair(M, separation=4.8)
    assert abs(float(observables(M.encode(phi, pi))["flux"])) < 1e-12


def test_the_examples_build_and_keep_gauss_law():
    from nnfield.config import load_config

    for name in ("scalar_qed_higgs_3d", "scalar_qed_packets_1d", "scalar_qed_vortex_pair_2d"):
        cfg = load_config(f"examples/{name}.toml")
        M = cfg.build_model()
        phi, pi = cfg.initial_fields(M)
        _, obs = run(M.network, M.encode(phi, pi), 20, 10, M.observables)
        assert float(np.max(obs["gauss_residual"])) < 1e-13, name


# ------------------------------------------------------------------------------------------------------------
# long validations
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_gauss_law_over_1e4_steps_3d():
    M = _higgs((8, 8, 8), a=0.5, dt=0.05, q=1.0, lam=0.5)
    phi, pi = sq.higgs_vacuum(M.lattice, 1.0, 0.5, 1.0, 0.0, 9, 0.2, 0.1)
    _, obs = run(M.network, M.encode(phi, pi), 10_000, 100, M.observables)
    assert float(np.max(obs["gauss_residual"])) < 1e-12
    assert float(np.abs(np.asarray(obs["charge"])).max()) < 1e-12


@pytest.mark.slow
def test_energy_no_drift_over_1e5_steps_and_order_2_oscillation():
    lat = Lattice((8, 8), 0.5)
    phi, pi = sq.higgs_vacuum(lat, 1.0, 0.5, 1.0, 0.0, 2, 0.2, 0.1)
    # stability bound ~0.33 here; the oscillation amplitude over t = 100
    assert_energy_bounded_at_order_2(lambda dt: sq.model(lat, dt), phi, pi, 0.1, 100.0)


@pytest.mark.slow
def test_masses_in_the_continuum_limit():
    """The raw measured frequencies Omega approach the tree-level masses as dt -> 0 (within 1% at dt = 0.05 and
    better), with an error of order 2 in dt."""
    errs = {"higgs": [], "photon": []}
    dts = (0.2, 0.1, 0.05)
    for dt in dts:
        M = _higgs((4, 4, 4), a=0.5, dt=dt, q=1.0, lam=0.3)
        for which in errs:
            Om = mode_frequency(_uniform_mode(M, which, steps=int(60 / dt)), dt)
            errs[which].append(abs(Om / M.tree_masses()[which] - 1))
    for which, e in errs.items():
        assert e[-1] < 0.01
        assert abs(np.polyfit(np.log(dts), np.log(e), 1)[0] - 2) < 0.2, (which, e)


@pytest.mark.slow
def test_vortex_energy_approaches_the_bps_bound_and_stays_put():
    """At the BPS point the relaxed vortex energy tends to 2 pi v^2 as a -> 0 (order 2 in a)."""
    errs = []
    spacings = (0.4, 0.3, 0.2)
    for a in spacings:
        n = int(round(12.0 / a))
        M = sq.model(Lattice((n, n), a), 0.05, charge=1.0, lam=0.5, v=1.0)
        phi, pi = sq.vortex(M, relax_steps=int(8000 * (0.3 / a) ** 2))
        errs.append(abs(float(M.observables(M.encode(phi, pi))["energy"]) / (2 * np.pi) - 1))
    assert errs[-1] < 0.01
    assert np.polyfit(np.log(spacings), np.log(errs), 1)[0] > 1.5, errs


def test_plots_draw_gauge_invariant_maps():
    """``plot_fields`` (what ``nnfield plot`` draws) holds only gauge-invariant maps, shaped like the lattice: a
    random gauge transformation leaves every one unchanged; the links themselves (gauge dependent) are not drawn."""
    M = _higgs((8, 6), a=0.5, dt=0.05, q=1.2, lam=0.4)
    phi, pi = sq.higgs_vacuum(M.lattice, 1.2, 0.4, 1.0, 0.0, 4, 0.2, 0.05)
    chi = np.random.default_rng(7).uniform(-np.pi, np.pi, M.lattice.shape) * 2
    a = M.plot_fields(M.encode(phi, pi))
    b = M.plot_fields(M.encode(*M.gauge_transform(phi, pi, chi)))
    assert set(a) == {"|E|", "B", "charge density", "div E - rho", "|phi|"}
    for k in a:
        assert a[k].shape == M.lattice.shape, k
        assert float(np.abs(np.asarray(a[k]) - np.asarray(b[k])).max()) < 1e-12 * max(float(np.abs(a[k]).max()), 1), k
