"""Maxwell-Dirac: the stable Dirac network of Sec. 4/5 whose links learn with momentum.

The discrete Noether identity (continuity of the network's charge with the current from jax.grad, to round-off
at fixed links), Gauss's law and the charge with moving links (order 2 in dt), the learning against the physics
side (equations from jax.grad of the independently written Hamiltonian; DOP853 at order 1), gauge invariance per
site, the fixed-link limit equal to the Sec. 5 link network, the weak back-reaction limit against the background
field network, work balance; slow: 10^4-step Gauss bound, 10^5-step energy."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.network import jit_step, run
from nnfield.state import State
from nnfield.theories import dirac, gauge
from nnfield.theories import maxwell_dirac as md
from nnfield.theories.maxwell_dirac.initial import charged_packets
from nnfield.theories.u1 import divergence

EPS = float(np.finfo(float).eps)


def _random_state(M, rng, E_scale=1.0):
    lat = M.lattice
    D, K = lat.ndim, M.network.matter.K
    return {
        "links": jnp.asarray(rng.uniform(-np.pi, np.pi, (D, *lat.shape))),
        "electric": jnp.asarray(E_scale * rng.standard_normal((D, *lat.shape))),
        "matter": State(jnp.asarray(rng.standard_normal((K, *lat.shape))),
                        jnp.asarray(rng.standard_normal((K, *lat.shape)))),
    }


@pytest.mark.parametrize("shape,bias", [((9,), "forward"), ((5, 4), "forward"), ((5, 4), "wilson"),
                                        pytest.param((4, 3, 3), "forward", marks=pytest.mark.slow)])
def test_discrete_noether_identity_at_fixed_links(shape, bias):
    """With the links not moving during a tick (E = 0 before it), div(E' - E) equals the change of the network's
    charge density rho = q [|pi|^2 + phi . T phi(t+1)] evaluated at those links, per site, to round-off: the
    current that the links learn from (jax.grad of the Dirac energy) is the Noether current of the update."""
    rng = np.random.default_rng(len(shape))
    M = md.model(Lattice(shape, 0.7), 0.11, charge=1.3, m=0.6, bias=bias)
    s = _random_state(M, rng, 0.0)
    theta = s["links"]

    @jax.jit
    def changes(net, s):
        s1 = net.step(s)
        d_rho = net.matter.network_charge(theta, s1["matter"]) - net.matter.network_charge(theta, s["matter"])
        return d_rho, divergence(s1["electric"], 0.7) - divergence(s["electric"], 0.7), \
            jnp.sum(net.matter.network_charge(theta, s["matter"]))

    d_rho, d_div, total = changes(M.network, s)
    mat = M.network.matter
    scale = float(np.abs(np.asarray(d_rho)).max())
    assert scale > 1e-2  # charge really moved
    assert float(np.abs(np.asarray(d_div - d_rho)).max()) < 100 * EPS * max(scale, 1.0) * 10
    # the sum of rho is the stable network's exact invariant (nnfield.theories.dirac.stable_invariant)
    lat = M.lattice
    B = gauge.gauged_bias_map(M.packing.X, lat, gauge.U1Links(-2 * np.asarray(theta) / np.pi, np.zeros(shape)),
                              bias, 1.0)
    inv = jax.jit(dirac.stable_invariant, static_argnums=(0,))(B, 0.11, mat.tan_half, M.packing.X[0], s["matter"].phi,
                                                              s["matter"].pi)  # compiled: op by op ~30 programs
    assert abs(float(total) / 1.3 - float(inv)) < 1e-12 * float(inv)


@pytest.mark.parametrize("shape,bias", [((9,), "forward"), ((5, 4), "forward"), ((5, 4), "wilson")])
def test_learning_gradient_is_the_gradient_of_the_composition(shape, bias):
    """``DiracMatter.learning_gradient`` (the loss's gradient at the activation output, pulled back through the
    activation map's VJP) equals ``jax.grad`` of the per-type loss through the activation,
    ``p -> H(phi_new + B(theta) (p - pi), p)`` at ``p = pi`` (the composition), to round-off; and its part from
    ``phi_new`` (``B(theta)^T phi_new``) is linear in ``phi_new``."""
    rng = np.random.default_rng(7 + len(shape))
    M = md.model(Lattice(shape, 0.7), 0.11, charge=1.3, m=0.6, bias=bias)
    s = _random_state(M, rng)
    mat, theta, phi, pi = M.network.matter, s["links"], s["matter"].phi, s["matter"].pi
    fast = jax.jit(mat.learning_gradient)(theta, phi, pi)
    composed = jax.jit(lambda th, f, q: jax.grad(lambda p: mat.learning_loss(th, f, q, p))(q))(theta, phi, pi)
    scale = float(jnp.max(jnp.abs(composed)))
    assert scale > 0.1
    assert float(jnp.max(jnp.abs(fast - composed))) < 64 * EPS * scale
    # B(theta)^T phi_new + C pi, C = -ac I + sv X_0: the pullback part is B^T phi (linear in phi)
    with_2phi = jax.jit(mat.learning_gradient)(theta, 2 * phi, pi)
    np.testing.assert_allclose(with_2phi - fast, fast - jax.jit(mat.learning_gradient)(theta, 0 * phi, pi),
                               rtol=0, atol=64 * EPS * scale)


@pytest.mark.parametrize("shape", [(6,), (5, 4), (4, 3, 3)])
def test_clifford_factors_apply_as_signed_permutations(shape):
    """The built-in Clifford matrices of 1, 2 and 3 dimensions are signed bit-flip permutations
    (``matter.xor_pattern``), and ``DiracMatter.mix`` (reversals and signs) equals the matrix product exactly, in
    float64 and float32; a matrix that is not one (a rotation) is recognized as not one and falls back to the
    product."""
    from nnfield.theories.maxwell_dirac.matter import _mix, xor_pattern

    M = md.model(Lattice(shape, 0.7), 0.11, charge=1.3, m=0.6)
    mat = M.network.matter
    assert len(mat.patterns) == len(shape) + 1 and all(p is not None for p in mat.patterns)
    rng = np.random.default_rng(11)
    for dtype in (np.float64, np.float32):
        f = jnp.asarray(rng.standard_normal((mat.K, *shape)), dtype)
        for mu in range(len(shape) + 1):
            fast = jax.jit(mat.mix, static_argnums=0)(mu, f)
            assert fast.dtype == f.dtype
            np.testing.assert_array_equal(np.asarray(fast), np.asarray(_mix(mat.X[mu], f)))
    c, s = np.cos(0.3), np.sin(0.3)
    assert xor_pattern(np.array([[c, -s], [s, c]])) is None
    assert xor_pattern(np.eye(3)) is None  # K not a power of 2
    rot = dataclasses.replace(mat, patterns=(None,) * len(mat.patterns))  # the matrix product
    f = jnp.asarray(rng.standard_normal((mat.K, *shape)))
    np.testing.assert_array_equal(np.asarray(rot.mix(0, f)), np.asarray(mat.mix(0, f)))


@pytest.mark.parametrize("shape,bias", [((9,), "forward"), ((5, 4), "wilson"), ((4, 3, 3), "forward")])
def test_the_tick_takes_the_links_gradient_of_the_composition(shape, bias):
    """A tick hands the links' factors ``(cos, sin)`` to every map and pulls ``d L_D / d(cos, sin)`` back to the
    links with ``jax.vjp`` of the factors: its ``E`` update equals the one from ``link_gradient`` (``jax.grad`` of
    ``L_W + L_D`` in ``theta``, one piece) to round-off, and its matter equals the maps evaluated at ``theta``."""
    rng = np.random.default_rng(5 + len(shape))
    M = md.model(Lattice(shape, 0.7), 0.11, charge=1.3, m=0.6, bias=bias)
    net, s = M.network, _random_state(M, rng)
    out = jax.jit(net.step)(s)

    @jax.jit  # one program (evaluated op by op it compiled ~200 small programs)
    def reference(s):
        h, qa = net.dt, net.charge * net.lattice.spacing
        theta_new = s["links"] + h * qa * s["electric"]
        mat, m = net.matter, s["matter"]
        phi_new = mat.activate(net.midpoint_links(s), m.phi, m.pi)
        pi_new = m.pi - h * mat.learning_gradient(theta_new, phi_new, m.pi)
        E_ref = s["electric"] - h * qa * net.link_gradient(theta_new, phi_new, mat.T(m.pi + pi_new))
        return E_ref, phi_new, pi_new

    E_ref, phi_new, pi_new = reference(s)
    for got, ref in ((out["electric"], E_ref), (out["matter"].phi, phi_new), (out["matter"].pi, pi_new)):
        scale = float(jnp.max(jnp.abs(ref)))
        assert float(jnp.max(jnp.abs(got - ref))) < 64 * EPS * scale


def test_fixed_links_is_the_sec5_link_network():
    """With the links frozen (E = 0, 1D: no Wilson force) a tick of the matter is the stable Dirac network of
    Sec. 5 with exact links (theories.gauge.link_network), to round-off."""
    lat = Lattice((12,), 0.5)
    M = md.model(lat, 0.07, charge=0.8, m=0.9)
    rng = np.random.default_rng(3)
    s = _random_state(M, rng, 0.0)
    alpha = -2 * np.asarray(s["links"]) / np.pi  # U = X_0^alpha = exp(-theta X_0)
    G = gauge.link_network(lat, 0.9, 0.07, gauge.U1Links(alpha, np.zeros(lat.shape)))
    ref = jit_step(G, s["matter"])
    out = jit_step(M.network, s)["matter"]
    assert np.abs(np.asarray(out.phi) - np.asarray(ref.phi)).max() < 1e-13
    assert np.abs(np.asarray(out.pi) - np.asarray(ref.pi)).max() < 1e-13


def _gauss_charge(shape, a, dt, T, q, field, bias="forward", m=0.5):
    M = md.model(Lattice(shape, a), dt, charge=q, m=m, bias=bias)
    phi, pi = charged_packets(M, 1, width=1.5, momentum=[0.7] + [0.3] * (len(shape) - 1), field=field)
    n = int(round(T / dt))
    _, obs = run(M.network, M.encode(phi, pi), n, n // 4, lambda s: {"g": M.gauss_residual(s),
                                                                     "c": jnp.sum(M.charge_density(s))})
    c = np.asarray(obs["c"])
    return float(np.max(obs["g"])), float(np.abs(c - c[0]).max() / c[0]), obs


def test_initial_data_satisfy_gauss_law_to_round_off():
    M = md.model(Lattice((8, 6), 0.5), 0.05, charge=1.1, m=0.5, bias="wilson")
    phi, pi = charged_packets(M, 2, width=1.0, momentum=[1.0, 0.0], field=0.3, direction=1)
    s = M.encode(phi, pi)
    assert float(jax.jit(M.gauss_residual)(s)) < 1e-14
    E = np.asarray(s["electric"])
    assert abs(E[1].mean() - 0.3) < 1e-14 and abs(E[0].mean()) < 1e-14


@pytest.mark.parametrize("shape,a,field", [((32,), 0.5, 1.0), ((10, 10), 0.5, 0.5)])
def test_gauss_law_and_charge_with_moving_links_at_order_2(shape, a, field):
    """The links move: the network's charge is the stable invariant at different links before and after a tick,
    so Gauss's law and the charge hold to O(dt^2), not to round-off (docs/maxwell_dirac.md)."""
    g1, c1, _ = _gauss_charge(shape, a, 0.04, 2.0, 1.0, field)
    g2, c2, _ = _gauss_charge(shape, a, 0.02, 2.0, 1.0, field)
    assert 1e-9 < g1 < 1e-3 and 1e-9 < c1 < 1e-2
    assert abs(np.log2(g1 / g2) - 2) < 0.3, (g1, g2)
    assert abs(np.log2(c1 / c2) - 2) < 0.3, (c1, c2)


def test_learning_is_the_physics_sides_equations():
    """The tick's difference quotient is dt-close to Hamilton's equations from jax.grad of the independently written
    Hamiltonian (complex spinors, jnp.roll), for the links, E and the spinor."""
    lat = Lattice((5, 4), 0.6)
    rng = np.random.default_rng(5)
    M0 = md.model(lat, 1e-3, charge=0.9, m=0.7)
    D, K = 2, 4
    phi, pi = rng.standard_normal((D + K, 5, 4)), rng.standard_normal((D + K, 5, 4))
    dphi, dpi = jax.jit(M0.theory.equations)(phi, pi)
    errs = []
    for h in (1e-3, 5e-4):
        M = md.model(lat, h, charge=0.9, m=0.7)
        p1, q1 = M.decode(jit_step(M.network, M.encode(phi, pi)))
        errs.append(max(np.abs((np.asarray(p1) - phi) / h - np.asarray(dphi)).max(),
                        np.abs((np.asarray(q1) - pi) / h - np.asarray(dpi)).max()))
    scale = max(np.abs(np.asarray(dphi)).max(), np.abs(np.asarray(dpi)).max())
    assert errs[0] < 1e-2 * scale
    assert abs(np.log2(errs[0] / errs[1]) - 1) < 0.1, errs  # order 1: the staggered read-out


def test_network_converges_to_the_dop853_reference_at_order_1():
    lat = Lattice((12,), 0.5)
    M = md.model(lat, 0.05, charge=0.8, m=0.7)
    phi, pi = charged_packets(M, 1, width=1.0, momentum=[1.0], field=0.5)
    T = 1.0
    ref = M.theory.reference(phi, pi, T)
    errs = []
    for dt in (0.02, 0.01, 0.005):
        Mi = md.model(lat, dt, charge=0.8, m=0.7)
        s, _ = run(Mi.network, Mi.encode(phi, pi), int(round(T / dt)))
        p, q = Mi.decode(s)
        errs.append(max(np.abs(np.asarray(p) - ref[0]).max(), np.abs(np.asarray(q) - ref[1]).max()))
    order = np.polyfit(np.log([0.02, 0.01, 0.005]), np.log(errs), 1)[0]
    assert abs(order - 1) < 0.15, (errs, order)
    # the reference keeps Gauss's law with the plain charge q |psi|^2 (its own, independent form)
    D = lat.ndim
    rho = np.asarray(M.theory.charge_density(jnp.asarray(ref[0][D:]), jnp.asarray(ref[1][D:])))
    g = np.asarray(divergence(ref[1][:D], 0.5)) - (rho - rho.mean())
    rho0 = np.asarray(M.theory.charge_density(jnp.asarray(phi[D:]), jnp.asarray(pi[D:])))
    g0 = np.asarray(divergence(pi[:D], 0.5)) - (rho0 - rho0.mean())
    assert np.abs(g - g0).max() < 1e-9


def test_gauge_transformed_runs_agree_in_every_invariant():
    """A random gauge transformation of the initial data: energy densities, plaquettes, charge density, E and the
    Gauss residual per site agree with the untransformed run at every sample, to round-off."""
    M = md.model(Lattice((6, 5), 0.5), 0.05, charge=1.2, m=0.5, bias="wilson")
    phi, pi = charged_packets(M, 1, width=1.0, momentum=[1.0, 0.5], field=0.4)
    rng = np.random.default_rng(2)
    phi[:2] += 0.3 * rng.standard_normal((2, 6, 5))  # a magnetic field: the plaquettes are not trivial
    chi = rng.uniform(-np.pi, np.pi, M.lattice.shape) * 3
    phi2, pi2 = M.gauge_transform(phi, pi, chi)
    assert np.abs(phi2[:2] - phi[:2]).max() > 1.0

    keys = ("electric_energy", "magnetic_energy", "plaquette", "charge_density", "gauss", "matter_energy",
            "psi_abs2", "electric")
    def probe(s):
        f = M.fields(s)
        return {k: f[k] for k in keys}

    _, f1 = run(M.network, M.encode(phi, pi), 200, 50, probe)
    _, f2 = run(M.network, M.encode(phi2, pi2), 200, 50, probe)
    for k in keys:
        scale = max(float(np.abs(f1[k]).max()), 1.0)
        assert float(np.abs(np.asarray(f1[k]) - np.asarray(f2[k])).max()) < 1e-12 * scale, k
    assert float(np.std(np.asarray(f1["plaquette"]))) > 1e-3


def test_weak_back_reaction_reproduces_the_background_field_network():
    """Small q with q E fixed: a packet in the applied uniform field has the kinetic momentum of the Sec. 5 network
    in the background potential A0 = -E x (theories.gauge), d<p>/dt = q E, to the schemes' order 1."""
    lat = Lattice((128,), 0.25)
    qE, T, dt = 0.5, 2.0, 0.01
    n = int(round(T / dt))
    M = md.model(lat, dt, charge=1e-3, m=1.0)
    phi, pi = charged_packets(M, 1, width=2.0, field=qE / 1e-3)
    _, obs = run(M.network, M.encode(phi, pi), n, n // 8, lambda s: {
        "p": M.matter_momentum(s)[0] / (lat.cell_volume * jnp.sum(M.fields(s)["psi_abs2"])),
        "field_x": jnp.mean(s["electric"][0])})
    p = np.asarray(obs["p"])
    G = gauge.model(lat, 1.0, dt, gauge.uniform_electric(lat, dt, qE, 0, 1.0))
    f, pp = dirac.gaussian_packet(G.theory, None, 2.0, [0.0], "positive")
    _, og = run(G.network, State(jnp.asarray(f), jnp.asarray(pp)), n, n // 8, G.observables)
    pg = np.asarray(og["momentum_x"])
    t = dt * np.arange(n // 8, n + 1, n // 8)
    assert np.abs(p[:2] - qE * t[:2]).max() < 0.01 * qE * t[1]  # d<p>/dt = q E at small p (lattice: sin-like)
    assert np.abs(p - pg).max() < 0.05 * qE * T * dt * 10, np.abs(p - pg).max()
    assert abs(float(obs["field_x"][-1]) * 1e-3 - qE) < 1e-6  # no back-reaction to speak of


def test_work_balance_at_order_1():
    """The energy the packet gains equals the field energy lost, to O(dt)."""
    lat = Lattice((64,), 0.25)
    bal = []
    for dt in (0.02, 0.01):
        M = md.model(lat, dt, charge=0.05, m=1.0)
        phi, pi = charged_packets(M, 1, width=1.5, field=10.0)
        n = int(round(1.5 / dt))
        def probe(s, M=M):
            f = M.fields(s)
            return {"m": jnp.sum(f["matter_energy"]), "e": jnp.sum(f["electric_energy"])}

        _, obs = run(M.network, M.encode(phi, pi), n, n // 3, probe)
        dm = float(obs["m"][-1] - obs["m"][0]) * lat.cell_volume
        de = float(obs["e"][-1] - obs["e"][0]) * lat.cell_volume
        assert dm > 0.1  # the packet really gained energy
        bal.append(abs(dm + de) / dm)
    assert bal[0] < 0.1 and abs(np.log2(bal[0] / bal[1]) - 1) < 0.3, bal


def test_total_momentum_is_conserved_at_the_lattice_order():
    """A lone packet: the matter's momentum changes (the k = 0 field pushes it against the neutralizing
    background), the total (matter + field + background's -Q <A>) is conserved at the lattice's order (dt = 0.2 a)."""
    ptp = []
    for a in (0.5, 0.25):
        M = md.model(Lattice((int(16 / a),), a), 0.2 * a, charge=1.0, m=0.5)
        phi, pi = charged_packets(M, 1, width=1.5, momentum=[1.0])
        n = int(round(4.0 / (0.2 * a)))
        def probe(s, M=M, a=a):
            pm = M.matter_momentum(s)[0]
            return {"p": pm + M.background_momentum(s, a * jnp.sum(M.charge_density(s)))[0], "pm": pm}

        _, obs = run(M.network, M.encode(phi, pi), n, n // 20, probe)
        ptp.append((float(np.ptp(obs["p"])), float(np.ptp(obs["pm"]))))
    assert ptp[0][1] > 0.3 and ptp[0][0] < 0.05 * ptp[0][1], ptp
    assert np.log2(ptp[0][0] / ptp[1][0]) > 1.4, ptp


def test_linearized_network_about_the_vacuum_is_stable_below_the_bound():
    """``nnfield analyze``'s linearization (perturbation_step) of a 2D model: photons and Dirac modes, all on the
    unit circle below the stability bound."""
    from nnfield import analysis

    M = md.model(Lattice((6, 6), 0.5), 0.1, charge=1.0, m=0.5)
    lam = np.linalg.eigvals(analysis.one_step_symbol(M.network, [np.full(1, 2 * np.pi / 3), np.full(1, 0.0)]))[0]
    assert np.abs(np.abs(lam) - 1).max() < 1e-12
    w = np.sort(np.abs(np.angle(lam))) / 0.1
    k = 2 * np.pi / 3
    photon = 2 / 0.1 * np.arcsin(0.1 * 2 / 0.5 * np.sin(k * 0.5 / 2) / 2)
    assert np.min(np.abs(w - photon)) < 1e-9


@pytest.mark.slow
def test_gauss_law_and_charge_over_10k_steps_at_order_2():
    """Colliding packets for t = 500 (10^4 ticks at dt = 0.05, 2 x 10^4 at 0.025): the Gauss residual and the
    charge drift slowly (a rate of order dt^2, docs/maxwell_dirac.md); both scale as dt^2 at the end of the run."""
    res = []
    for dt in (0.05, 0.025):
        M = md.model(Lattice((64,), 0.5), dt, charge=1.0, m=0.5)
        phi, pi = charged_packets(M, 2, width=2.0, momentum=[1.0])
        n = int(round(500 / dt))
        _, obs = run(M.network, M.encode(phi, pi), n, n // 100, M.observables)
        c = np.asarray(obs["charge"])
        res.append((float(np.max(obs["gauss_residual"])), float(np.abs(c - c[0]).max() / c[0])))
    (g1, c1), (g2, c2) = res
    assert g1 < 1e-3 and c1 < 3e-3, res
    assert 1.5 < np.log2(g1 / g2) < 2.5 and 1.4 < np.log2(c1 / c2) < 2.5, res


@pytest.mark.slow
def test_energy_has_no_secular_drift_over_1e5_steps():
    M = md.model(Lattice((32,), 0.5), 0.05, charge=1.0, m=0.5)
    phi, pi = charged_packets(M, 2, width=2.0, momentum=[1.0])
    _, obs = run(M.network, M.encode(phi, pi), 100_000, 1000, M.observables)
    e = np.asarray(obs["energy"])
    half = len(e) // 2
    osc = np.ptp(e[:half])
    assert abs(np.mean(e[half:]) - np.mean(e[:half])) < 0.5 * osc, (osc, np.mean(e[half:]) - np.mean(e[:half]))
