"""The Dirac field from the networks, against the independent physics side (numpy FFT, gamma matrices).

- the exact propagators are unitary and give plane waves exp(-i omega t);
- the networks converge to the exact semi-discrete (lattice) evolution as dt -> 0 at the scheme's order (1);
- psi from a run satisfies the continuum Dirac equation (4.20)/(4.37) with residual O(dt, a) (order 1), and its
  real components obey Klein-Gordon (4.40): order 2 for the stable network in 1D; in 3D the forward map's
  cross terms X_mu X_nu (D_mu D_nu^T - D_nu D_mu^T) are O(a) (measured), absent for the twisted Wilson map;
- packets move at the group velocity; mixed-energy packets show Zitterbewegung at ~2 omega.

Orders are measured by regression of log(error) on log(step) and compared with the declared order
(``|slope - order| < 0.25`` in the asymptotic range used here).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.theories import clifford as cl
from nnfield.theories import dirac as dr

EPS = np.finfo(np.float64).eps


@jax.jit
def _advance(net, s, n):
    return jax.lax.fori_loop(0, n, lambda i, x: net.step(x), s)


def advance(net, s, n: int):
    """``n`` ticks with a dynamic count (one compilation per network structure)."""
    return _advance(net, s, jnp.asarray(n))


def slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ----------------------------------------------------------------------------------------------------------
# exact propagation (physics side alone)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D,kind", [(1, "forward"), (1, "continuum"), (3, "wilson"), (3, "forward")])
def test_exact_propagation_unitary_plane_waves(D, kind, rng):
    lat = Lattice((16,), 0.4) if D == 1 else Lattice((4, 6, 5), 0.7)
    th = dr.Dirac(1.1, lat, kind=kind if kind != "continuum" else "forward")
    cont = kind == "continuum"
    K = th.K
    psi = rng.normal(size=(K, *lat.shape)) + 1j * rng.normal(size=(K, *lat.shape))
    out = th.evolve(psi, 2.3, continuum=cont)
    q0, q1 = np.sum(np.abs(psi) ** 2), np.sum(np.abs(out) ** 2)
    assert abs(q1 - q0) <= 1e3 * EPS * q0
    # energy conserved too; E = <psi, H psi>
    E0, E1 = float(th.energy(jnp.asarray(psi))), float(th.energy(jnp.asarray(out)))
    if not cont:
        assert abs(E1 - E0) <= 1e3 * EPS * q0 * np.abs(th.hamiltonian_symbol(lat.momenta())).max()
    # a positive-energy plane wave only acquires the phase exp(-i omega t)
    mode = (3,) if D == 1 else (1, 2, -1)
    phi, pi = dr.plane_wave(th, mode, "positive", kind="continuum" if cont else None)
    psi = th.pack(phi, pi)
    k = [np.asarray(2 * np.pi * n / (N * lat.spacing)) for n, N in zip(mode, lat.shape, strict=True)]
    w = th.dispersion(k, continuum=True) if cont else th.dispersion(k)
    t = 1.7
    assert np.abs(th.evolve(psi, t, continuum=cont) - np.exp(-1j * w * t) * psi).max() <= 1e3 * EPS
    # the Dirac operator annihilates it in the continuum: i gamma^0 (-i w) psi - i gamma^k (i k_k) psi - m psi = 0
    if cont:
        r = th.dirac_operator(-1j * w * psi, psi)
        assert np.abs(r).max() <= 1e3 * EPS * (w + 1)


def test_420_with_printed_gammas_is_437(rng):
    lat = Lattice((16,), 0.5)
    th = dr.Dirac(0.9, lat)
    g = cl.gammas_1p1_printed()
    psi = rng.normal(size=(2, 16)) + 1j * rng.normal(size=(2, 16))
    dpsi = rng.normal(size=(2, 16)) + 1j * rng.normal(size=(2, 16))
    grad = th.gradient(psi)[0]
    r420 = 1j * g[0] @ dpsi + 1j * g[1] @ grad - 0.9 * psi  # (i gamma^0 d_0 + i gamma^1 d_1 - m) psi
    assert np.abs(r420 - th.dirac_operator(dpsi, psi)).max() <= 1e3 * EPS * np.abs(r420).max()


# ----------------------------------------------------------------------------------------------------------
# network -> exact lattice evolution as dt -> 0 (fixed a)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("net", ["paper", "stable"])
def test_network_converges_to_exact_semidiscrete_evolution(net):
    lat = Lattice((32,), 0.5)
    m, T = 1.0, 1.0
    errs, dts = [], [0.02, 0.01, 0.005]
    for h in dts:
        M = dr.model(lat, m, h, network=net, bias="wilson")
        phi, pi = dr.gaussian_packet(M.theory, width=1.5, k0=[1.0], branch="positive")
        s = advance(M.network, M.initial_state(phi, pi), round(T / h))
        ex = M.theory.exact(phi, pi, T)
        errs.append(np.sqrt(np.sum((np.asarray(s.phi) - ex[0]) ** 2 + (np.asarray(s.pi) - ex[1]) ** 2)))
    assert abs(slope(dts, errs) - 1) < 0.1
    assert errs[-1] < 0.02


# ----------------------------------------------------------------------------------------------------------
# continuum Dirac and Klein-Gordon residuals from runs
# ----------------------------------------------------------------------------------------------------------
def residual_study(D, net, bias, Ns, L=12.0, width=1.5, m=1.0, ratio=0.25, nsteps=3):
    """Residuals of (4.37) and (4.40) on psi from a short run, refining a and dt = ratio * a together."""
    rows = []
    for N in Ns:
        a = L / N
        h = ratio * a
        lat = Lattice((N,) * D, a)
        M = dr.model(lat, m, h, network=net, bias=bias)
        phi, pi = dr.gaussian_packet(M.theory, width=width, k0=[2 * np.pi / L] * D, branch="positive",
                                     kind="continuum")
        s0 = advance(M.network, M.initial_state(phi, pi), nsteps - 2)
        s1 = advance(M.network, s0, 1)
        s2 = advance(M.network, s1, 1)
        psis = [M.psi(s) for s in (s0, s1, s2)]
        rd = M.theory.dirac_residual(*[np.asarray(p) for p in psis], h)
        rk = M.theory.klein_gordon_residual(*[np.asarray(s.phi) for s in (s0, s1, s2)], h).max()
        rows.append((a, rd, rk))
    return np.array(rows)


@pytest.mark.parametrize("net,bias,kg_order", [("stable", "forward", 2), ("stable", "wilson", 2),
                                               ("paper", "forward", 1)])
def test_dirac_and_klein_gordon_residuals_1d(net, bias, kg_order):
    r = residual_study(1, net, bias, (32, 64, 128))
    assert abs(slope(r[:, 0], r[:, 1]) - 1) < 0.15  # Dirac (4.20): first order in (dt, a)
    assert abs(slope(r[:, 0], r[:, 2]) - kg_order) < 0.15  # Klein-Gordon (4.40) per component
    assert r[-1, 1] < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("net,bias,kg_order", [("stable", "forward", 1), ("stable", "wilson", 2),
                                               ("paper", "forward", 1)])
def test_dirac_and_klein_gordon_residuals_3d(net, bias, kg_order):
    """3+1: Dirac (4.37) order 1. Klein-Gordon (4.40): the twisted Wilson map is order 2 (stable scheme); the
    forward map's O(a) cross terms make it order 1 (measured 0.91 between a = 1/2 and 1/3; 0.82 over 1..1/3)."""
    r = residual_study(3, net, bias, (24, 32, 48), L=16.0, width=2.0)
    assert abs(slope(r[:, 0], r[:, 1]) - 1) < 0.1
    assert abs(slope(r[:, 0], r[:, 2]) - kg_order) < 0.2
    if bias == "forward":
        assert r[-1, 2] > 0.1  # the cross terms: a 20 % Klein-Gordon residual at a = 1/3 (Wilson: 0.5 %)


@pytest.mark.parametrize("bias,order", [("forward", 1), ("wilson", 2)])
def test_klein_gordon_lattice_cross_terms_3d(bias, order):
    """Symbol of ``B B^T`` against ``|k|^2 I`` at a fixed physical momentum as ``a -> 0``: the forward map's
    cross terms ``B B^dagger - |c(k)|^2 I`` (``|c|^2`` = the lattice ``-Lap``) are O(a) and couple the neuron
    types; the twisted Wilson ``B B^T`` is a scalar times I with an O(a^2) error."""
    X = cl.representation(3)
    k = [np.asarray(0.7), np.asarray(-0.4), np.asarray(1.1)]
    k2 = sum(float(kk) ** 2 for kk in k)
    out = []
    for a in (0.2, 0.1, 0.05, 0.025):
        lat = Lattice((4, 4, 4), a)
        Bk = dr.bias_map(X, lat, bias).symbol(k, a)
        bbt = Bk @ Bk.conj().T
        lap = 4 / a**2 * sum(math.sin(float(kk) * a / 2) ** 2 for kk in k)
        cross = np.linalg.norm(bbt - lap * np.eye(4), 2) / k2
        err = np.linalg.norm(bbt - k2 * np.eye(4), 2) / k2
        offdiag = np.abs(bbt - np.diag(np.diag(bbt))).max() / k2
        out.append((a, cross, err, offdiag))
    o = np.array(out)
    if bias == "forward":
        assert abs(slope(o[:, 0], o[:, 1]) - 1) < 0.05 and o[0, 1] > 0.05
        assert abs(slope(o[:, 0], o[:, 3]) - 1) < 0.05  # the cross terms mix the components
        assert abs(slope(o[:, 0], o[:, 2]) - 1) < 0.05
    else:
        assert o[:, 3].max() <= 1e3 * EPS  # B B^T = scalar (x) I
        assert abs(slope(o[:, 0], o[:, 2]) - order) < 0.05


# ----------------------------------------------------------------------------------------------------------
# packets: group velocity and Zitterbewegung
# ----------------------------------------------------------------------------------------------------------
def _positions(M, s0, nsteps, every):
    th = M.theory
    xs = [float(th.mean_position(M.psi(s0))[0])]
    s = s0
    for _ in range(nsteps // every):
        s = advance(M.network, s, every)
        xs.append(float(th.mean_position(M.psi(s))[0]))
    return np.array(xs)


def test_packet_moves_at_group_velocity():
    L, N, m, k0, h = 40.0, 160, 1.0, 1.0, 0.1
    lat = Lattice((N,), L / N)
    M = dr.model(lat, m, h, network="stable", bias="wilson")
    th = M.theory
    phi, pi = dr.gaussian_packet(th, center=[L / 4], width=2.0, k0=[k0], branch="positive", kind="continuum")
    n, every = 100, 2
    t = h * np.arange(0, n + 1, every)
    xs = _positions(M, M.initial_state(phi, pi), n, every)
    v_net = np.polyfit(t, xs, 1)[0]
    psi0 = th.pack(phi, pi)
    x_lat = np.array([float(th.mean_position(th.evolve(psi0, tt))[0]) for tt in t])
    x_cont = np.array([float(th.mean_position(th.evolve(psi0, tt, continuum=True))[0]) for tt in t])
    v_lat, v_cont = np.polyfit(t, x_lat, 1)[0], np.polyfit(t, x_cont, 1)[0]
    # the packet's mean group velocity <k/omega> (continuum) from its spectrum
    pk = np.abs(np.fft.fft(psi0, axis=1)) ** 2
    kk = lat.momenta()[0]
    v_avg = float(np.sum(pk * kk / np.sqrt(m**2 + kk**2)) / np.sum(pk))
    assert abs(v_cont - v_avg) < 1e-3 * v_avg
    assert abs(v_net - v_lat) < 0.1 * h * v_lat  # network vs exact lattice evolution: O(h) (measured 0.063 h)
    assert abs(v_net - v_avg) < 0.02 * v_avg  # lattice: O(a^2 k^2)
    assert abs(v_avg - k0 / math.sqrt(m**2 + k0**2)) < 0.03 * v_avg  # spread: O(1/(k0 w)^2)


def test_zitterbewegung_at_twice_omega():
    L, N, m, h = 40.0, 160, 1.0, 0.1
    lat = Lattice((N,), L / N)
    M = dr.model(lat, m, h, network="stable", bias="wilson")
    th = M.theory
    phi, pi = dr.gaussian_packet(th, center=[L / 2], width=3.0, k0=[0.0], branch="mixed", kind="continuum")
    n = 200
    t = h * np.arange(n + 1)
    xs = _positions(M, M.initial_state(phi, pi), n, 1)
    psi0 = th.pack(phi, pi)
    xr = np.array([float(th.mean_position(th.evolve(psi0, tt, continuum=True))[0]) for tt in t])

    def fit(omega, x):
        A = np.stack([np.ones_like(t), t, np.cos(omega * t), np.sin(omega * t)], 1)
        c = np.linalg.lstsq(A, x, rcond=None)[0]
        return float(np.sum((A @ c - x) ** 2)), float(np.hypot(c[2], c[3]))

    from scipy.optimize import minimize_scalar

    res = {}
    for lab, x in (("net", xs), ("ref", xr)):
        r = minimize_scalar(lambda o, x=x: fit(o, x)[0], bounds=(1.5 * m, 2.5 * m), method="bounded",
                            options={"xatol": 1e-10})
        res[lab] = (r.x, fit(r.x, x)[1])
    amp = np.ptp(xr)
    assert amp > 0.3  # a visible trembling motion, amplitude ~ 1/(2m)
    assert abs(res["net"][0] - res["ref"][0]) < 2e-3 * res["ref"][0]
    assert abs(res["net"][1] - res["ref"][1]) < 0.02 * res["ref"][1]
    assert abs(res["ref"][0] - 2 * m) < 0.02 * 2 * m  # 2 omega(k0 = 0) = 2m, up to the packet's spread
    assert np.abs(xs - xr).max() < 0.05 * amp


# ----------------------------------------------------------------------------------------------------------
# long runs: the stable network's invariant over 10^4 steps
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("D,bias,shape", [(1, "forward", (64,)), (1, "wilson", (64,)), (3, "forward", (8, 8, 8)),
                                          (3, "wilson", (6, 6, 6))])
def test_stable_invariant_over_1e4_steps(D, bias, shape):
    lat = Lattice(shape, 0.5)
    m = 1.0
    sig = dr.doubler_analysis(dr.bias_map(cl.representation(D), lat, bias), lat)["sigma_max"]
    hmax = dr.stability_bound(m, 0.1, sig)["dt_max"]
    h = 0.9 * hmax
    M = dr.model(lat, m, h, network="stable", bias=bias)
    phi, pi = dr.gaussian_packet(M.theory, width=1.0, k0=[1.0] * D, branch="mixed")
    s0 = M.initial_state(phi, pi)
    _, obs = M.network.run(s0, 10_000, every=50, observer=M.observables)
    inv0 = float(M.invariant(s0))
    q0 = float(M.theory.charge(M.psi(s0)))
    drift = np.abs(np.asarray(obs["invariant"]) - inv0).max() / inv0
    qosc = np.abs(np.asarray(obs["charge"]) - q0).max() / q0
    assert drift <= 1e-12
    assert 1e-6 < qosc < 2 * h * sig  # the plain charge oscillates, bounded by O(h sigma_max)
    assert np.isfinite(np.asarray(obs["energy"])).all()


@pytest.mark.parametrize("D, shape, a", [(1, (16,), 0.3), (2, (6, 8), 0.7), (3, (4, 5, 6), 1.1)])
@pytest.mark.parametrize("kind", ["forward", "wilson", "continuum"])
def test_position_space_energy_is_the_fft_energy(D, shape, a, kind, rng):
    """``energy_local`` (the run's observer: the stencil of the lattice ``H(k)``) equals the FFT ``energy`` to
    round-off on random complex spinors; the continuum kind (not local) is the FFT form itself."""
    th = dr.Dirac(0.7, Lattice(shape, a), kind=kind, r=0.8)
    psi = rng.normal(size=(th.K, *shape)) + 1j * rng.normal(size=(th.K, *shape))
    ref = float(th.energy(psi))
    scale = float(th.lattice.cell_volume * np.sum(np.abs(psi) ** 2)) * (abs(th.m) + 2 * D / a * (1 + th.r))
    for e in (th.energy_local(psi), jax.jit(th.energy_local)(psi)):
        assert abs(float(e) - ref) <= 50 * np.finfo(float).eps * scale  # FFT round-off ~ eps log N x |psi|^2 |H|


@pytest.mark.parametrize("kind", ["forward", "wilson"])
@pytest.mark.parametrize("shape", [(12,), (6, 5)])
def test_a_traced_mass_gives_the_concrete_masses_observables(kind, shape):
    """The theory is a PyTree whose one leaf is the mass (a sweep over masses shares one program): under ``jit``
    the mass is traced, and ``energy_local``, ``energy`` (FFT) and ``positive_energy_part`` (then ``P_+`` from
    ``jnp.linalg.eigh``) equal the concrete mass's NumPy-built symbols to round-off; a flatten/unflatten round
    trip keeps the theory equal."""
    jax.config.update("jax_enable_x64", True)
    lat = Lattice(shape, 0.5)
    th = dr.Dirac(m=0.7, lattice=lat, kind=kind, r=0.8)
    leaves, treedef = jax.tree_util.tree_flatten(th)
    assert leaves == [0.7] and jax.tree_util.tree_unflatten(treedef, leaves) == th
    rng = np.random.default_rng(3)
    psi = rng.normal(size=(th.K, *shape)) + 1j * rng.normal(size=(th.K, *shape))

    @jax.jit
    def traced(t):
        assert isinstance(t.m, jax.core.Tracer)
        return t.energy_local(psi), t.energy(psi), t.positive_energy_part(psi)

    e_loc, e_fft, plus = traced(th)
    scale = float(np.sum(np.abs(psi) ** 2)) * (2 / 0.5 + 1.0)  # |H| <= m + (D + ...)/a on these lattices
    assert abs(float(e_loc) - float(th.energy_local(psi))) < 1e-14 * scale * len(shape)
    assert abs(float(e_fft) - float(th.energy(psi))) < 1e-13 * scale
    np.testing.assert_allclose(np.asarray(plus), np.asarray(th.positive_energy_part(psi)), atol=1e-12)
    # the projector a run with spectra precomputes gives the same part
    np.testing.assert_allclose(np.asarray(th.positive_energy_part(psi, th._P_grid)),
                               np.asarray(th.positive_energy_part(psi)), atol=1e-15)
