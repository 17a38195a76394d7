"""Dirac networks (paper Sec. 4): per-type losses by autodiff against the printed component equations, errata,
doublers, the paper scheme's growth, the stable network and its exact invariant. float64, small lattices.

Identities that hold exactly are checked to ``RTOL = 1e3 eps`` times the size of the quantities compared.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, State
from nnfield.analysis import brillouin_grid, is_stable, max_amplification, network_dispersion, one_step_symbol
from nnfield.errors import ParameterError
from nnfield.operators import local
from nnfield.theories import clifford as cl
from nnfield.theories import dirac as dr

EPS = np.finfo(np.float64).eps
RTOL = 1e3 * EPS
A = 0.5
# shared lattices: networks of equal structure on the same lattice share their compilations
LATS = {1: Lattice((12,), A), 2: Lattice((5, 6), A), 3: Lattice((4, 5, 6), A)}


# one jitted tick; networks with equal structure (lattice, bias, loss form, scheme) share the compilation
step = jax.jit(lambda net, s: net.step(s))


def steps(net, s, n):
    """The states after 1..n ticks (python loop over the jitted tick; shares its compilation)."""
    out = []
    for _ in range(n):
        s = step(net, s)
        out.append(s)
    return out


def rel(x, y) -> float:
    x, y = np.asarray(x), np.asarray(y)
    return float(np.abs(x - y).max() / max(np.abs(x).max(), np.abs(y).max(), 1e-300))


def random_state(rng, K, shape) -> State:
    return State(jnp.asarray(rng.normal(size=(K, *shape))), jnp.asarray(rng.normal(size=(K, *shape))))


# ----------------------------------------------------------------------------------------------------------
# per-type losses reproduce (4.11), (4.17), (4.26)
# ----------------------------------------------------------------------------------------------------------
SLOW = pytest.mark.slow


@pytest.mark.parametrize("D,bias,scheme", [
    (1, "forward", "simultaneous"), (1, "wilson", "alternating"), (3, "forward", "simultaneous"),
    pytest.param(1, "forward", "alternating", marks=SLOW), pytest.param(1, "wilson", "simultaneous", marks=SLOW),
    pytest.param(2, "forward", "simultaneous", marks=SLOW), pytest.param(2, "wilson", "alternating", marks=SLOW),
    pytest.param(3, "wilson", "simultaneous", marks=SLOW), pytest.param(3, "forward", "alternating", marks=SLOW),
    pytest.param(3, "wilson", "alternating", marks=SLOW),
])
def test_corrected_per_type_loss_reproduces_411(D, bias, scheme, rng):
    lat = LATS[D]
    net = dr.paper_network(lat, 0.8, 0.3, scheme=scheme, bias=bias, wilson_r=0.7)
    lin = dr.literal_linear_network(lat, 0.8, 0.3, bias=bias, wilson_r=0.7, scheme=scheme)
    s = random_state(rng, net.K, lat.shape)
    a, b = step(net, s), step(lin, s)
    assert rel(a.phi, b.phi) <= RTOL and rel(a.pi, b.pi) <= RTOL


@pytest.mark.parametrize("dt", [0.2, 1.0])
def test_corrected_per_type_loss_reproduces_417(dt, rng):
    lat = LATS[1]
    net = dr.paper_network(lat, 0.9, dt)
    s = random_state(rng, 2, lat.shape)
    out = step(net, s)
    ref = dr.literal_update_1d(np.asarray(s.phi), np.asarray(s.pi), 0.9, dt, A)
    assert rel(out.phi, ref[0]) <= RTOL and rel(out.pi, ref[1]) <= RTOL


@pytest.mark.parametrize("D,dt", [pytest.param(2, 0.2, marks=SLOW), (3, 0.2), (3, 1.0)])
def test_corrected_per_type_loss_reproduces_426(D, dt, rng):
    lat = LATS[D]
    X = cl.representation(D)
    net = dr.paper_network(lat, 0.9, dt)
    s = random_state(rng, 4, lat.shape)
    out = step(net, s)
    ref = dr.literal_update(np.asarray(s.phi), np.asarray(s.pi), X, 0.9, dt, A)
    assert rel(out.phi, ref[0]) <= RTOL and rel(out.pi, ref[1]) <= RTOL


@SLOW
def test_unit_step_unit_spacing_network_is_426_literally(rng):
    lat = Lattice((4, 5, 6))  # the paper: dt = a = 1
    net = dr.paper_network(lat, 0.5, 1.0)
    s = random_state(rng, 4, lat.shape)
    out = step(net, s)
    ref = dr.literal_update(np.asarray(s.phi), np.asarray(s.pi), cl.representation(3), 0.5)
    assert rel(out.phi, ref[0]) <= RTOL and rel(out.pi, ref[1]) <= RTOL


def test_per_type_losses_are_needed():
    # the sum over types of the corrected mass term vanishes: sum_a pi^a (X0 pi)^a = pi.X0 pi = 0
    rng = np.random.default_rng(1)
    X0 = cl.representation(3)[0]
    pi = rng.normal(size=(4, 3, 3, 3))
    loss = dr.per_type_loss(X0, 0.7, "corrected")
    H = np.asarray(loss(jnp.zeros_like(pi), jnp.asarray(pi)))
    assert abs(H.sum()) <= RTOL * np.sum(pi**2)
    assert np.abs(H).max() > 0.1


# ----------------------------------------------------------------------------------------------------------
# errata: (4.14) as printed, (4.12) needs W = W^T, (4.10), (4.39), (4.5)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D", [1, pytest.param(3, marks=SLOW)])
def test_printed_414_loses_BT_phi_and_flips_mass(D, rng):
    lat = LATS[D]
    h, m = 0.3, 0.8
    net = dr.paper_network(lat, m, h, loss="printed")
    lin = dr.literal_linear_network(lat, m, h)
    X0 = cl.representation(D)[0]
    phi = jnp.asarray(rng.normal(size=(X0.shape[0], *lat.shape)))
    zero = jnp.zeros_like(phi)
    # pi = 0: (4.11) gives pi' = -h B^T phi; the printed loss gives nothing (diagonal blocks of B vanish)
    got = step(net, State(phi, zero)).pi
    want = step(lin, State(phi, zero)).pi
    assert np.abs(got).max() <= RTOL * np.abs(want).max()
    assert np.abs(want).max() > 0.1
    # phi = 0: the mass term has the wrong sign
    pi = phi
    got = np.asarray(step(net, State(zero, pi)).pi) - np.asarray(pi)
    want = -h * m * np.einsum("ab,b...->a...", X0, pi)
    assert rel(got, -want) <= RTOL


def test_printed_summed_414_spectrum_is_sigma_minus_plus_m():
    # with the phi term summed over types, d pi/dt = -B^T phi + m X0 pi: frequencies |sigma(k) -+ m|
    lat = LATS[1]
    h, m = 0.05, 0.6
    net = dr.paper_network(lat, m, h, loss="printed_summed")
    k = [np.array([0.3, 1.1, 2.5])]
    sigma = 2 * np.abs(np.sin(k[0] * A / 2)) / A  # 1D: B B^T = -Lap
    omega = network_dispersion(net, k)  # simultaneous: Omega = atan(h |nu|)/h
    want = np.sort(np.concatenate([np.repeat(np.abs(sigma - m)[:, None], 2, 1),
                                   np.repeat((sigma + m)[:, None], 2, 1)], axis=1), axis=1)
    assert rel(omega, np.arctan(h * want) / h) <= 1e-9


@pytest.mark.parametrize("D", [1, pytest.param(2, marks=SLOW)])
def test_412_needs_symmetric_W(D, rng):
    lat = LATS[D]
    h = 0.3
    X = cl.representation(D)
    K = X.shape[1]
    B = dr.bias_forward(X, lat)
    S = rng.normal(size=(K, K))
    S = S + S.T
    from nnfield.network import LinearNetwork, Network
    from nnfield.operators import identity

    eye = identity(D, K)
    for WmI, symmetric in ((local(S, D), True), (local(0.8 * X[0], D), False)):
        W = eye + WmI
        net = Network.create(lat, W, B, dr.ScalarMassLoss(WmI), h, "simultaneous")
        lin = LinearNetwork.create(lat, W, B, -1.0 * B.T, 2.0 * eye - W, h, "simultaneous")
        s = random_state(rng, K, lat.shape)
        r = rel(step(net, s).pi, step(lin, s).pi)
        if symmetric:
            assert r <= RTOL
        else:
            # the mass term is lost: the network learns pi - h B^T phi
            assert r > 0.05
            assert rel(step(net, s).pi, np.asarray(s.pi) - h * np.asarray(B.T.apply(s.phi))) <= RTOL
    # the network recipe with loss="4.12" likewise drops the mass
    net = dr.paper_network(lat, 0.8, h, loss="4.12")
    s = random_state(rng, K, lat.shape)
    assert rel(step(net, s).pi, np.asarray(s.pi) - h * np.asarray(net.B.T.apply(s.phi))) <= RTOL


@pytest.mark.parametrize("symmetric", [True, False])
def test_45_loss_43_gives_A_equals_minus_BT(symmetric, rng):
    from nnfield.network import LinearNetwork, Network
    from nnfield.operators import LatticeOperator, identity

    lat = LATS[1]
    K, h = 3, 0.4
    B = LatticeOperator.from_terms({(1,): rng.normal(size=(K, K)), (-2,): rng.normal(size=(K, K))}, 1, K)
    V0 = rng.normal(size=(K, K))
    V = local(V0 + V0.T if symmetric else V0, 1)
    Vs = local(V0 + V0.T if symmetric else 0.5 * (V0 + V0.T), 1)
    eye = identity(1, K)
    net = Network.create(lat, eye, B, dr.LearningMatrixLoss(V), h, "simultaneous")
    lin = LinearNetwork.create(lat, eye, B, -1.0 * B.T, Vs, h, "simultaneous")
    s = random_state(rng, K, lat.shape)
    assert rel(step(net, s).pi, step(lin, s).pi) <= RTOL
    if not symmetric:  # only the symmetric part of V is produced
        lin_v = LinearNetwork.create(lat, eye, B, -1.0 * B.T, V, h, "simultaneous")
        assert rel(step(net, s).pi, step(lin_v, s).pi) > 1e-2


@pytest.mark.parametrize("D,bias", [(1, "forward"), (3, "forward"), pytest.param(3, "wilson", marks=SLOW)])
def test_410_corrected_sign_and_439(D, bias, rng):
    lat = LATS[D]
    h, m = 0.3, 0.8
    net = dr.paper_network(lat, m, h, bias=bias)
    B = net.B
    s0 = random_state(rng, net.K, lat.shape)
    s1, s2 = steps(net, s0, 2)
    p0, p1, p2 = (np.asarray(x) for x in (s0.phi, s1.phi, s2.phi))
    lhs = p2 - 2 * p1 + p0
    bbt = np.asarray(B.apply(B.T.apply(s0.phi)))
    corrected = h**2 * (-bbt - m**2 * p0)  # (-B B^T + (W - I)^2) phi with (W - I)^2 = -m^2
    printed = h**2 * (-bbt + m**2 * p0)  # (-B B^T - (W - I)^2) phi as printed
    scale = np.abs(lhs).max()
    assert np.abs(lhs - corrected).max() <= RTOL * scale
    assert np.abs(lhs - printed).max() == pytest.approx(2 * m**2 * h**2 * np.abs(p0).max(), rel=1e-12)
    # (4.39): beta(t+1) - beta(t) = -B B^T phi - m X0 beta (printed: + B B^T phi)
    X0 = cl.representation(D)[0]
    b0, b1 = np.asarray(B.apply(s0.pi)), np.asarray(B.apply(s1.pi))
    corr = h * (-bbt - m * np.einsum("ab,b...->a...", X0, b0))
    prin = h * (bbt - m * np.einsum("ab,b...->a...", X0, b0))
    assert np.abs(b1 - b0 - corr).max() <= RTOL * np.abs(b1 - b0).max()
    assert np.abs(b1 - b0 - prin).max() > 0.1 * np.abs(b1 - b0).max()


# ----------------------------------------------------------------------------------------------------------
# physics side against the network's operators
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D", [1, 2, 3])
@pytest.mark.parametrize("bias", ["forward", "wilson"])
def test_lattice_hamiltonian_is_the_semidiscrete_network_generator(D, bias, rng):
    """``-i H(k) psi`` (physics side, from gamma matrices) = spinor of ``(m X0 phi + B pi, -B^T phi - m X0 pi)``."""
    lat = LATS[D]
    th = dr.Dirac(0.8, lat, kind=bias, r=0.9)
    X, K = th.X, th.K
    B = dr.bias_map(X, lat, bias, 0.9)
    phi, pi = rng.normal(size=(K, *lat.shape)), rng.normal(size=(K, *lat.shape))
    dphi = 0.8 * np.einsum("ab,b...->a...", X[0], phi) + np.asarray(B.apply(jnp.asarray(pi)))
    dpi = -np.asarray(B.T.apply(jnp.asarray(phi))) - 0.8 * np.einsum("ab,b...->a...", X[0], pi)
    lhs = th.pack(dphi, dpi)
    rhs = -1j * th.apply_symbol(th.hamiltonian_symbol(lat.momenta()), th.pack(phi, pi))
    assert np.abs(lhs - rhs).max() <= RTOL * np.abs(lhs).max() * 10
    # energies: omega^2 = m^2 + eig(B B^T)(k)
    k = lat.momenta()
    ev = dr.bbt_eigenvalues(B, k, lat.spacing)
    br = th.dispersion_branches(k) ** 2 - 0.64
    assert np.abs(np.sort(np.repeat(br, 2, axis=-1), axis=-1) - ev).max() <= 1e-12 * ev.max()


def test_wilson_bbt_is_scalar_and_forward_3d_formula():
    lat = Lattice((6, 6, 6), 0.5)
    a, r = lat.spacing, 0.8
    X = cl.representation(3)
    k = brillouin_grid(lat, 8)
    ev = dr.bbt_eigenvalues(dr.bias_wilson(X, lat, r), k, a)
    want = sum(np.sin(kk * a) ** 2 for kk in k) / a**2 + (r / a * sum(1 - np.cos(kk * a) for kk in k)) ** 2
    assert np.abs(ev - want[..., None]).max() <= RTOL * want.max()
    ev = dr.bbt_eigenvalues(dr.bias_forward(X, lat), k, a)
    av = np.stack([np.cos(kk * a) - 1 for kk in k], -1) / a
    bv = np.stack([np.sin(kk * a) for kk in k], -1) / a
    base = np.sum(av**2 + bv**2, -1)
    cross = 2 * np.linalg.norm(np.cross(av, bv), axis=-1)
    want = np.stack([base - cross, base - cross, base + cross, base + cross], -1)
    assert np.abs(ev - want).max() <= RTOL * want.max()


def test_doublers_forward_vs_wilson():
    X3 = cl.representation(3)
    lat3 = Lattice((8, 8, 8))
    fwd = dr.doubler_analysis(dr.bias_forward(X3, lat3), lat3)
    wil = dr.doubler_analysis(dr.bias_wilson(X3, lat3), lat3)
    assert fwd["count"] > 0 and not fwd["doubler_free"]
    assert [0.5, -0.5, 0.0] in fwd["locations_pi_over_a"]
    assert fwd["min_sigma_away"] <= 1e-6
    assert wil["count"] == 0 and wil["doubler_free"] and wil["min_sigma_away"] > 0.5
    # exactly on the curve: B B^T(k) has a zero eigenvalue at k = (pi/2, -pi/2, 0)
    k = [np.asarray(v) for v in dr.forward_doubler_curve_point(lat3)]
    assert dr.bbt_eigenvalues(dr.bias_forward(X3, lat3), k, 1.0)[0] <= RTOL
    # the zero set is a curve: for every k3 there are zeros (scan k1, k2 on a fine grid per k3)
    t = np.linspace(-np.pi, np.pi, 241)
    for k3 in (0.0, 0.4, 0.8):
        k1, k2 = np.meshgrid(t, t, indexing="ij")
        ev = dr.bbt_eigenvalues(dr.bias_forward(X3, lat3), [k1, k2, np.full_like(k1, k3)], 1.0)[..., 0]
        away = np.sqrt(k1**2 + k2**2 + k3**2) > 1.0
        assert ev[away].min() < 1e-3  # near-zero within the grid resolution
    # 1D: B B^T = -Lap, no doublers
    lat1 = Lattice((64,))
    assert dr.doubler_analysis(dr.bias_forward(cl.representation(1), lat1), lat1)["count"] == 0


# ----------------------------------------------------------------------------------------------------------
# the paper scheme grows; dispersion from runs
# ----------------------------------------------------------------------------------------------------------
def _mode_map(model, mode):
    """The spinor one-step map at lattice momentum ``mode``, column by column from one tick of K plane waves."""
    th, net = model.theory, model.network
    lat, K = th.lattice, th.K
    k = [2 * np.pi * n / (N * lat.spacing) for n, N in zip(mode, lat.shape, strict=True)]
    wave = np.exp(1j * sum(kk * x for kk, x in zip(k, lat.coordinates(), strict=True)))
    ax = tuple(range(1, lat.ndim + 1))
    cols = []
    for j in range(K):
        psi0 = np.eye(K)[j].reshape((K,) + (1,) * lat.ndim) * wave[None]
        s1 = step(net, model.initial_state(*th.unpack(psi0)))
        psi1 = th.pack(np.asarray(s1.phi), np.asarray(s1.pi))
        cols.append(np.mean(psi1 * np.conj(wave)[None], axis=ax))
    return np.stack(cols, axis=1), k


@pytest.mark.parametrize("D,bias,net,mode", [
    (1, "forward", "paper", (3,)), (1, "wilson", "stable", (5,)), (3, "forward", "paper", (1, 2, 3)),
    pytest.param(3, "forward", "stable", (1, -2, 0), marks=SLOW),
    pytest.param(3, "wilson", "stable", (2, 1, 1), marks=SLOW),
])
def test_dispersion_from_runs_matches_analysis_and_theory(D, bias, net, mode):
    lat = LATS[D]
    h, m = 0.1, 0.7
    M = dr.model(lat, m, h, network=net, bias=bias)
    Mk, k = _mode_map(M, mode)
    Mmk, _ = _mode_map(M, tuple(-n for n in mode))
    lam = np.concatenate([np.linalg.eigvals(Mk), np.linalg.eigvals(Mmk)])
    omega_run = np.sort(np.abs(np.angle(lam))) / h
    kk = [np.asarray([v]) for v in k]
    omega_an = network_dispersion(M.network, kk)[0]
    assert np.abs(omega_run - omega_an).max() <= 1e-10 * omega_an.max()
    # and the closed forms in terms of the physics side's lattice energies E(k)
    E = np.abs(np.linalg.eigvalsh(M.theory.hamiltonian_symbol(kk)[0]))
    lam_k = np.linalg.eigvals(Mk)
    if net == "paper":  # lambda = 1 - i h E
        want = np.sort(np.arctan(h * E) / h)
        assert np.abs(np.sort(np.abs(lam_k)) ** 2 - np.sort(1 + h**2 * E**2)).max() <= 1e-10
    else:  # cos(Omega h) = cos(m h) - h^2 sigma^2 / 2, sigma^2 = E^2 - m^2; |lambda| = 1
        want = np.sort(np.arccos(np.cos(m * h) - h**2 * (E**2 - m**2) / 2) / h)
        assert np.abs(np.abs(lam_k) - 1).max() <= 1e-10
    assert np.abs(np.sort(np.abs(np.angle(lam_k))) / h - want).max() <= 1e-10 * want.max()
    if D == 3 and bias == "forward" and mode == (1, 2, 3):
        assert np.ptp(E) > 0.05  # the forward map splits the branches off the axes


@pytest.mark.parametrize("D,bias", [(1, "forward"), (3, "forward"), pytest.param(3, "wilson", marks=SLOW)])
def test_paper_scheme_charge_grows_as_predicted(D, bias):
    lat = LATS[D]
    h, m = 0.2, 0.9
    M = dr.model(lat, m, h, network="paper", bias=bias)
    mode = (3,) if D == 1 else (1, 0, 0)
    phi, pi = dr.plane_wave(M.theory, mode, "positive")
    s0 = M.initial_state(phi, pi)
    q = np.array([float(M.theory.charge(M.psi(s))) for s in [s0, *steps(M.network, s0, 20)]])
    k = [np.asarray(2 * np.pi * n / (N * lat.spacing)) for n, N in zip(mode, lat.shape, strict=True)]
    sigma2 = dr.bbt_eigenvalues(M.network.B, k, lat.spacing)[0]
    growth = 1 + h**2 * (m**2 + sigma2)
    assert np.abs(q[1:] / q[:-1] - growth).max() <= 1e-12


def test_unit_step_paper_network_unstable_everywhere():
    lat = LATS[3]  # unit step dt = 1 (a = 0.5 keeps the lattice shared; the formula holds for any a)
    m = 0.5
    net = dr.paper_network(lat, m, 1.0)
    k = brillouin_grid(lat, 12)
    lam = np.linalg.eigvals(one_step_symbol(net, k))
    amp = np.abs(lam).max(-1)
    sig2 = dr.bbt_eigenvalues(net.B, k, A)[..., -1]
    assert np.abs(amp - np.sqrt(1 + m**2 + sig2)).max() <= 1e-10
    assert (amp > 1).all()  # every mode grows, k = 0 included (growth sqrt(1 + m^2))
    assert max_amplification(net, k) == pytest.approx(math.sqrt(1 + m**2 + sig2.max()), rel=1e-12)


# ----------------------------------------------------------------------------------------------------------
# the stable network
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D,bias", [(1, "forward"), (3, "forward"), pytest.param(3, "wilson", marks=SLOW)])
def test_stable_network_is_the_orthogonal_map(D, bias, rng):
    lat = LATS[D]
    h, m = 0.15, 1.3
    net = dr.stable_network(lat, m, h, bias=bias)
    X0 = cl.representation(D)[0]
    R = cl.mass_rotation(X0, m * h)
    s = random_state(rng, net.K, lat.shape)
    out = step(net, s)
    phi1 = np.einsum("ab,b...->a...", R, np.asarray(s.phi)) + h * np.asarray(net.B.apply(s.pi))
    pi1 = np.einsum("ab,b...->a...", R.T, np.asarray(s.pi)) - h * np.asarray(net.B.T.apply(jnp.asarray(phi1)))
    assert rel(out.phi, phi1) <= RTOL and rel(out.pi, pi1) <= RTOL


@pytest.mark.parametrize("D,bias", [(1, "forward"), pytest.param(2, "wilson", marks=SLOW), (3, "forward")])
def test_stable_network_invariant_and_discrete_klein_gordon(D, bias, rng):
    lat = LATS[D]
    m = 0.9
    sig = dr.doubler_analysis(dr.bias_map(cl.representation(D), lat, bias), lat)["sigma_max"]
    h = 0.8 * dr.stability_bound(m, 0.1, sig)["dt_max"]
    M = dr.model(lat, m, h, network="stable", bias=bias)
    s0 = random_state(rng, M.theory.K, lat.shape)
    invariant = jax.jit(lambda s: jnp.stack([M.invariant(s), M.theory.charge(M.psi(s))]))
    obs = np.array([invariant(s) for s in steps(M.network, s0, 300)])
    inv0, q0 = (float(v) for v in invariant(s0))
    drift = np.abs(obs[:, 0] - inv0).max() / inv0
    assert drift <= 300 * 50 * EPS
    assert np.abs(obs[:, 1] - q0).max() / q0 > 1e3 * drift  # the plain charge is not conserved
    # the stable analogue of (4.10): phi(t+h) - 2 phi(t) + phi(t-h) = -(4 sin^2(mh/2) + h^2 B B^T) phi(t)
    s1, s2 = steps(M.network, s0, 2)
    p0, p1, p2 = (np.asarray(x) for x in (s0.phi, s1.phi, s2.phi))
    B = M.network.B
    rhs = -(4 * math.sin(m * h / 2) ** 2 * p1 + h**2 * np.asarray(B.apply(B.T.apply(jnp.asarray(p1)))))
    assert np.abs(p2 - 2 * p1 + p0 - rhs).max() <= RTOL * np.abs(p1).max()


def test_stable_network_stability_bound():
    lat = LATS[1]
    m = 1.2
    for bias in ("forward", "wilson"):
        B = dr.bias_map(cl.representation(1), lat, bias)
        sig = dr.doubler_analysis(B, lat)["sigma_max"]
        assert sig == pytest.approx(2 / lat.spacing, rel=1e-12)  # attained at k = pi/a
        hmax = dr.stability_bound(m, 0.1, sig)["dt_max"]
        assert hmax * sig == pytest.approx(2 * math.cos(m * hmax / 2), rel=1e-12)
        k = brillouin_grid(lat, 64)
        assert is_stable(dr.stable_network(lat, m, 0.99 * hmax, bias=bias), k)
        assert not is_stable(dr.stable_network(lat, m, 1.01 * hmax, bias=bias), k)


# ----------------------------------------------------------------------------------------------------------
# model, observables, configuration
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D", [1, pytest.param(3, marks=SLOW)])
def test_model_observables_and_analysis_extra(D):
    import json

    lat = LATS[D]
    M = dr.model(lat, 0.7, 0.05, network="stable", bias="forward")
    phi, pi = dr.gaussian_packet(M.theory, width=0.8, k0=[1.0] + [0.0] * (D - 1))
    s = M.initial_state(phi, pi)
    obs = M.observables(s)
    assert set(obs) == ({"charge", "energy", "invariant", "psi_max"} | {f"current_{c}" for c in "xyz"[:D]}
                        | {f"position_{c}" for c in "xyz"[:D]})
    assert float(obs["charge"]) == pytest.approx(1.0, rel=1e-12)
    extra = M.analysis_extra()
    # counted on the configured lattice: the forward map's doublers (e.g. (pi/2, -pi/2, 0)/a) need sides
    # divisible by 4, which the 4x5x6 lattice does not have; on an 8^D grid over the zone they appear (D > 1)
    assert extra["doublers"]["count"] == 0 and "configured" in extra["doublers"]["grid_source"]
    assert (dr.doubler_analysis(M.network.B, lat, n=8)["count"] > 0) == (D > 1)
    assert extra["stability_bound"]["stable"]
    d = extra["dispersion_branches"]["axis"]
    assert np.asarray(d["network"]).shape == (9, 2 * M.theory.K)
    assert np.asarray(d["lattice"]).shape == (9, M.theory.K // 2)
    dev = extra["dispersion_rel_dev"]
    assert dev["axis: network vs lattice (lowest branch)"] < 0.05
    assert dev["axis: lattice vs continuum, |k| <= pi/(4a)"] < 0.05
    if D == 3:  # toward the doubler at (pi/2, -pi/2, 0)/a the forward map's lowest branch falls off
        assert dev["diagonal_1,-1: lattice vs continuum, |k| <= pi/(4a)"] > 0.2
    json.dumps(extra)  # serializable for `nnfield analyze`
    assert M.theory.dispersion([np.asarray(0.0)] * D).item() == pytest.approx(0.7)


def test_energy_observable_equals_generator_quadratic_form(rng):
    lat = LATS[1]
    th = dr.Dirac(0.8, lat)
    B = dr.bias_forward(th.X, lat)
    phi, pi = rng.normal(size=(2, 12)), rng.normal(size=(2, 12))
    # i d_t psi = H psi  =>  E = <psi, H psi> = <psi, i d_t psi> = Re sum conj(psi) i d_t psi
    dphi = 0.8 * th.X[0] @ phi + np.asarray(B.apply(jnp.asarray(pi)))
    dpi = -np.asarray(B.T.apply(jnp.asarray(phi))) - 0.8 * th.X[0] @ pi
    psi, dpsi = th.pack(phi, pi), th.pack(dphi, dpi)
    E = lat.cell_volume * np.real(np.sum(np.conj(psi) * 1j * dpsi))
    assert float(th.energy(jnp.asarray(psi))) == pytest.approx(E, rel=1e-12)


def test_parameter_errors_name_the_library_parameter():
    lat = LATS[1]
    with pytest.raises(ParameterError, match="^scheme: .*alternating") as exc:
        dr.model(lat, 1.0, 0.1, network="stable", scheme="leapfrog")
    assert exc.value.param == "scheme"
    with pytest.raises(ParameterError, match="^bias: ") as exc:
        dr.model(lat, 1.0, 0.1, bias="central")
    assert exc.value.param == "bias"
    with pytest.raises(ParameterError, match="^network: "):
        dr.model(lat, 1.0, 0.1, network="fast")
    with pytest.raises(ParameterError, match="^loss: "):
        dr.model(lat, 1.0, 0.1, loss="summed")
    with pytest.raises(ParameterError, match="^loss: "):
        dr.paper_network(lat, 1.0, 0.1, loss="summed")
    with pytest.raises(ParameterError, match="^X: .*D \\+ 1"):
        dr.paper_network(lat, 1.0, 0.1, X=cl.representation(3))
    th = dr.Dirac(1.0, lat)
    with pytest.raises(ParameterError, match="^mode: "):
        dr.plane_wave(th, (1, 2))
    with pytest.raises(ParameterError, match="^spin: "):
        dr.plane_wave(th, (1,), spin=1)
    with pytest.raises(ParameterError, match="^branch: "):
        dr.plane_wave(th, (1,), branch="mixed")
    with pytest.raises(ParameterError, match="^branch: "):
        dr.gaussian_packet(th, branch="both")
    with pytest.raises(ParameterError, match="^center: "):
        dr.gaussian_packet(th, center=[1.0, 2.0])
    with pytest.raises(ParameterError, match="^k0: "):
        dr.gaussian_packet(th, k0=[1.0, 2.0])
    with pytest.raises(ParameterError, match="^kind: "):
        dr.Dirac(1.0, lat, kind="central")
    bad = cl.representation(1).copy()
    bad[1] = 2 * bad[1]
    with pytest.raises(cl.CliffordError, match="X_1, X_1"):
        dr.paper_network(lat, 1.0, 0.1, X=bad)


@pytest.mark.parametrize("old,new", [
    ("Loss43", "LearningMatrixLoss"), ("Loss412", "ScalarMassLoss"), ("linear_network_411", "literal_linear_network"),
    ("update_417", "literal_update_1d"), ("update_426", "literal_update"),
])
def test_equation_number_names_are_deprecated_aliases(old, new):
    with pytest.warns(DeprecationWarning, match=f"dirac.{new}"):
        obj = getattr(dr, old)
    assert obj is getattr(dr, new)


@pytest.mark.parametrize("theta,dt", [(0.1, 0.1), (0.05, 0.05), (0.3, 0.1), (0.06, 0.12), (0.3, 0.3)])
def test_orthogonal_rates_make_R_orthogonal_to_below_an_ulp(theta, dt):
    """``R = I + dt (A_c I + A_s X0)`` as realized in float64 is orthogonal far below round-off: the exact rational
    ``|R|^2 - 1`` of the returned rates is below eps/4 and no worse than the naive ``fl(cos - 1)/dt, fl(sin/dt)``
    (a determinant off 1 by an ulp would make the stable network's invariant drift by that much per step)."""
    from fractions import Fraction

    ac, sv, tan_half = dr.orthogonal_rates(theta, dt)

    def defect(c: float, s: float) -> float:
        return float(abs((1 + Fraction(dt) * Fraction(c)) ** 2 + (Fraction(dt) * Fraction(s)) ** 2 - 1))

    naive = defect(float(np.float64(1.0 + (np.cos(theta) - 1.0) / dt)) - 1.0, float(np.sin(theta) / dt))
    assert defect(ac, sv) <= min(naive, np.finfo(float).eps / 4)
    # the realized rotation angle is theta to round-off
    assert abs(2 * np.arctan(tan_half) - theta) <= 1e-13 * theta
