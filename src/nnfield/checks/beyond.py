"""Checks beyond the paper (section ``"B"``): dynamical U(1) gauge fields learned with momentum, and the broken
phase of phi^4.

The paper's Sec. 5 leaves the gauge field a background "whose dynamical equations must be introduced
independently, perhaps, at the level of the learning dynamics". These checks measure what the learning links of
:mod:`nnfield.theories.u1` (theories ``maxwell`` and ``scalar-qed``) achieve; each runs in about a second. The last
one measures the double-well network's mesons and kinks (:mod:`nnfield.theories.nonlinear`, ``phase = "broken"``).
"""

from __future__ import annotations

import numpy as np

from ..lattice import Lattice
from ..network import run
from ..paper import BEYOND, Outcome, register
from ..theories import maxwell, u1
from ..theories import scalar_qed as sq
from ..theories.u1.measure import leapfrog_omega, mode_frequency

EPS = float(np.finfo(np.float64).eps)


@register("Gauss law", BEYOND, "scalar QED: div E = rho kept to round-off by the learning (discrete Noether)", "exact")
def check_gauss() -> Outcome:
    from ..theories.u1 import gauss_residual

    lat = Lattice((10, 10), 0.5)
    M = sq.model(lat, 0.05, charge=1.3, lam=0.7, v=1.0)
    phi, pi = sq.higgs_vacuum(lat, 1.3, 0.7, 1.0, 0.0, 3, 0.2, 0.05)

    def probe(s: dict) -> dict:
        rho = M.charge_density(s)
        return {"gauss": gauss_residual(s["electric"], rho, lat.spacing, M.charge_scale(s)), "charge": rho.sum()}

    _, obs = run(M.network, M.encode(phi, pi), 1000, 50, probe)
    res = float(np.max(obs["gauss"]))
    charge = float(np.abs(np.asarray(obs["charge"])).max()) * lat.cell_volume
    ok = res < 1e-12 and charge < 1e-12
    return Outcome("exact" if ok else "fails", res, f"2D Higgs vacuum with charged fluctuations, 10x10, 1000 steps: "
                   f"max relative Gauss residual {res:.1e}, max |total charge| {charge:.1e}")


@register("gauge invariance", BEYOND, "a random gauge transformation of the data leaves every invariant unchanged",
          "exact")
def check_gauge_invariance() -> Outcome:
    lat = Lattice((6, 5), 0.5)
    M = sq.model(lat, 0.05, charge=1.2, lam=0.4, v=1.0)
    phi, pi = sq.higgs_vacuum(lat, 1.2, 0.4, 1.0, 0.0, 4, 0.2, 0.05)
    chi = 3 * np.random.default_rng(7).uniform(-np.pi, np.pi, lat.shape)
    phi2, pi2 = M.gauge_transform(phi, pi, chi)
    names = ("energy", "plaquette", "phi_abs2", "charge_density", "gauss")  # one compiled run serves both

    def fields(s: dict) -> dict:
        f = M.fields(s)
        return {k: f[k] for k in names}

    _, f1 = run(M.network, M.encode(phi, pi), 100, 10, fields)
    _, f2 = run(M.network, M.encode(phi2, pi2), 100, 10, fields)
    worst = max(float(np.abs(np.asarray(f1[k]) - np.asarray(f2[k])).max()) / max(float(np.abs(f1[k]).max()), 1.0)
                for k in names)
    return Outcome("exact" if worst < 1e-12 else "fails", worst, f"2D scalar QED, links changed by up to "
                   f"{np.abs(phi2 - phi).max():.1f}: energy density, plaquettes, |phi|^2, rho, div E - rho per site "
                   f"over 100 steps agree to {worst:.1e} (relative)")


@register("photon dispersion", BEYOND, "Maxwell: 4 sin^2(W dt/2)/dt^2 = (4/a^2) sum sin^2(k a/2), 2 polarizations",
          "exact")
def check_photons() -> Outcome:
    from .. import analysis

    lat = Lattice((8, 8, 8), 0.5)
    dt = 0.1
    # q != 1: the coupling cancels from the photon (the links move by h q a E, E by h q a dL/dtheta, the loss is
    # 1/(q^2 a^4) sum (1 - cos P)), so a q that fails to cancel shows
    net = maxwell.model(lat, dt, charge=0.7).network
    k = [np.random.default_rng(8).uniform(-2 * np.pi, 2 * np.pi, 6) for _ in range(3)]
    Om = analysis.network_dispersion(net, k)
    a = lat.spacing
    want = 2 / dt * np.arcsin(dt * np.sqrt(sum(4 / a**2 * np.sin(kk * a / 2) ** 2 for kk in k)) / 2)
    res = float(np.abs(Om[:, 2:] - want[:, None]).max() / want.max())
    longitudinal = float(np.abs(Om[:, :2]).max())
    ok = res < 1e-10 and longitudinal < 1e-6
    return Outcome("exact" if ok else "fails", res, f"3D, q = 0.7, linearized network at 6 random k: both transverse "
                   f"branches match to {res:.1e} (relative); longitudinal frequency {longitudinal:.1e} (does not "
                   "propagate)")


@register("Higgs mechanism", BEYOND, "m_A = sqrt(2) q v and m_H = 2 sqrt(lambda) v measured from runs", "exact")
def check_higgs() -> Outcome:
    lat = Lattice((4, 4, 4), 0.5)
    dt = 0.05
    # q and v away from 1, so that a q^2 for q or a v^2 for v (in the network or the tree level) shows; the
    # masses are the closed forms of V = lambda (|phi|^2 - v^2)^2, D = d + i q A (not the library's tree_masses)
    q, lam, v = 0.7, 0.3, 1.3
    M = sq.model(lat, dt, charge=q, lam=lam, v=v)
    masses = {"higgs": 2 * np.sqrt(lam) * v, "photon": np.sqrt(2.0) * q * v}
    vac = np.asarray(M.network.pack(M.network.zero_state(np.float64)).phi)
    D = lat.ndim
    # both k = 0 modes at once (they decouple at linear order): the radial Higgs and a uniform E_x
    phi, pi = vac.copy(), np.zeros_like(vac)
    phi[D] += 1e-6
    pi[0] += 1e-6
    h0 = np.sqrt(2.0) * v  # phi_1 = sqrt(2) |phi| in the vacuum |phi| = v
    _, obs = run(M.network, M.encode(phi, pi), 600, 1,
                 lambda s: {"higgs": s["matter"].phi[0].mean() - h0, "photon": s["electric"][0].mean()})
    errs = [abs(leapfrog_omega(mode_frequency(np.concatenate([[1e-6], np.asarray(obs[w])]), dt), dt) / masses[w] - 1)
            for w in ("higgs", "photon")]
    worst = max(errs)
    return Outcome("exact" if worst < 1e-7 else "fails", worst, f"3D, q = {q}, lambda = {lam}, v = {v}: Higgs "
                   f"2 sqrt(lambda) v = {masses['higgs']:.6f} and photon sqrt(2) q v = {masses['photon']:.6f} masses "
                   f"from k = 0 oscillations ((2/dt) sin(W dt/2)) agree to {errs[0]:.1e} and {errs[1]:.1e} "
                   f"(amplitude 1e-6)")


@register("vortex flux", BEYOND, "a Nielsen-Olesen vortex of winding 1 carries the flux 2 pi / q and stays put",
          "exact")
def check_vortex() -> Outcome:
    import jax.numpy as jnp

    lat = Lattice((17, 17), 0.5)
    q = 0.8
    M = sq.model(lat, 0.05, charge=q, lam=q**2 / 2, v=1.0)
    phi, pi = sq.vortex(M)  # the unrelaxed ansatz: it breathes, and must neither move nor lose flux
    # plaquette x covers [x, x + a]: the magnetic energy indexed by plaquette is centred at L/2 - a/2 = 4
    d = [jnp.asarray(x - 4.0) for x in lat.coordinates()]

    def probe(s: dict) -> dict:
        f = M.fields(s)
        w = f["magnetic_energy"]
        return {"flux": f["magnetic"].sum() * lat.spacing**2,
                "moved": jnp.maximum(*(jnp.abs(jnp.sum(w * di) / jnp.sum(w)) for di in d))}

    _, obs = run(M.network, M.encode(phi, pi), 300, 10, probe)
    flux = float(np.abs(np.asarray(obs["flux"]) - 2 * np.pi / q).max())
    moved = float(np.max(obs["moved"]))
    worst = max(flux * q / (2 * np.pi), moved)
    return Outcome("exact" if worst < 1e-10 else "fails", worst, f"2D BPS vortex, q = {q}: flux - 2 pi/q = {flux:.1e} "
                   f"over 300 steps; core displaced by {moved:.1e}")


@register("energy order", BEYOND, "Maxwell: energy oscillation amplitude falls as dt^2 (no drift)", "continuum")
def check_energy_order() -> Outcome:
    lat = Lattice((4, 4, 4), 1.0)
    A, E = u1.plane_wave(lat, [1, 1, 0], [0.0, 0.0, 1.0], 0.3, travelling=False)  # compact: 0.3 is not linear
    dts, amps = (0.2, 0.1, 0.05), []
    for dt in dts:  # dt is a traced leaf: the three runs share one compilation
        M = maxwell.model(lat, dt)
        _, obs = run(M.network, M.encode(A, E), 400, 1, M.observables)
        e = np.asarray(obs["energy"])
        amps.append(float(e.max() - e.min()) / e[0])
    order = float(np.polyfit(np.log(dts), np.log(amps), 1)[0])
    ok = abs(order - 2) < 0.2
    return Outcome("continuum" if ok else "fails", order, f"3D 4^3 standing photon of amplitude 0.3, 400 steps: "
                   f"relative energy oscillation {', '.join(f'{x:.2e}' for x in amps)} at dt = {dts}: order "
                   f"{order:.2f} (leapfrog: 2)")


@register("phi^4 kinks", BEYOND, "double well: the meson mass sqrt(2) m and the gate's dt_max about +v, the kink "
          "pair's energy 2 gamma M at order 2 in a, capture below and escape above u_c ~ 0.26", "continuum")
def check_phi4_kinks() -> Outcome:
    import math

    from ..initial import phi4_kink_pair
    from ..state import State
    from ..theories import nonlinear as nl

    # m and lambda away from 1, so that a misplaced factor of either shows: v = m / sqrt(lam), meson sqrt(2) m,
    # kink mass M = 2 sqrt(2) m^3 / (3 lam)
    m, lam, u = 1.2, 0.7, 0.5
    v, meson, kink = m / math.sqrt(lam), math.sqrt(2) * m, 2 * math.sqrt(2) * m**3 / (3 * lam)
    gamma = 1 / math.sqrt(1 - u * u)
    dt = 0.02
    # the meson: a uniform perturbation of the vacuum +v oscillates at sqrt(V''(v)) (the leapfrog's (2/dt) sin(W dt/2))
    lat = Lattice((8,), 0.5)
    M = nl.double_well_model(lat, lam, v, dt)
    _, obs = run(M.network, State(np.full((1, 8), v + 1e-6), np.zeros((1, 8))), 600, 1,
                 lambda s: {"phi": s.phi[0].mean() - v})
    mass_err = abs(leapfrog_omega(mode_frequency(np.concatenate([[1e-6], np.asarray(obs["phi"])]), dt), dt) / meson - 1)
    # the stability gate, linearized about +v (the network's ground state): the leapfrog's bound 2 / omega_max
    from ..stability import network_stability

    gate = network_stability(M.network, lambda h: nl.double_well_model(lat, lam, v, h).network)
    bound = 2 / math.sqrt(meson**2 + 4 / lat.spacing**2)
    gate_err = abs(gate.dt_max / bound - 1) if gate.stable else math.inf
    # the moving pair's energy: O(a^2) (tails exp(-m 20) negligible)
    errs = []
    for a in (0.2, 0.1, 0.05):
        lat = Lattice((round(40 / a),), a)
        phi, pi = phi4_kink_pair(lat, meson, v, u, 0.5, 20.0)
        energy = float(nl.double_well_model(lat, lam, v, dt).theory.hamiltonian(phi, pi))
        errs.append(abs(energy / (2 * gamma * kink) - 1))
    order = float(np.polyfit(np.log([0.2, 0.1, 0.05]), np.log(errs), 1)[0])
    # collisions (speeds scale out of m and lam, lengths and times with 1/m): the walls' half distance 60 / m after
    # the meeting
    lat = Lattice((2048,), 0.05)
    net = nl.double_well_model(lat, lam, v, dt).network
    spread = {}
    for speed in (0.15, 0.35):
        phi, pi = phi4_kink_pair(lat, meson, v, speed, 0.5, 20.0)
        out = np.asarray(run(net, State(phi, pi), round((10 / speed + 60 / m) / dt))[0].phi[0])
        cross = np.flatnonzero(np.sign(out[:-1]) * np.sign(out[1:]) < 0)
        spread[speed] = 0.0 if len(cross) == 0 else float(np.max(np.abs(cross * 0.05 - 0.5 * lat.lengths[0])))
    ok = (mass_err < 1e-6 and gate_err < 1e-5 and abs(order - 2) < 0.1 and spread[0.15] < 2.5 / m
          and spread[0.35] > 8.0 / m)
    return Outcome(
        "continuum" if ok else "fails", order,
        f"V = lam/4 (phi^2 - v^2)^2, m = {m}, lam = {lam}: meson mass sqrt(2) m from a k = 0 oscillation about +v to "
        f"{mass_err:.1e}; the gate's dt_max off 2/sqrt(2 m^2 + 4/a^2) by {gate_err:.1e}; pair at u = {u}: "
        f"|E / (2 gamma M) - 1| = " + ", ".join(f"{e:.2e}" for e in errs)
        + f" at a = 0.2, 0.1, 0.05, order {order:.3f}; collisions: walls {spread[0.15]:.2f} apart (half) at u = 0.15 "
        f"(captured), {spread[0.35]:.2f} at u = 0.35 (escaped)",
    )
