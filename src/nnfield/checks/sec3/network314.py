"""network314: checks of the network (3.14)-(3.19): the tensors, the leapfrog, CFL bound and dispersion."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...paper import Outcome, register
from ._common import EXACT_TOL, _force, _jit, _phis, _rel, _state, _state_of


# ----------------------------------------------------------------------------------------------------------
# (3.14)-(3.19): network (3.14) with loss (3.18)
# ----------------------------------------------------------------------------------------------------------
def _printed_314(lat: Any, m: float, four: float) -> Any:
    """The tensors (3.14) literally: ``A = -1, B = 1, W = -(four + m^2) + sum_mu (T_mu + T_-mu), V = 0``."""
    from ... import operators as ops
    from ...network import LinearNetwork

    nd = lat.ndim
    eye = ops.identity(nd)
    W = -(four + m**2) * eye
    for mu in range(nd):
        W = W + ops.shift_operator(mu, nd, 1) + ops.shift_operator(mu, nd, -1)
    return LinearNetwork.create(lat, W, eye, -1.0 * eye, ops.LatticeOperator.zero(nd), 1.0, "simultaneous")


@register("(3.15)-(3.17)", section=3,
          title="tensors (3.14) + loss (3.18): activation (3.15), autodiff learning beta(t+1) = -phi(t) (3.16)/(3.17)",
          expected="exact")
def check_leapfrog_network_updates() -> Outcome:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    m = 0.7
    lat = Lattice((6, 6, 6))
    phi, pi = _state(lat.shape)
    s = _state_of(phi, pi)
    new_phi, new_pi = _jit()["learn"](kg.leapfrog_network(lat, m, 1.0), s.phi, s.pi)
    w_phi = -(4 + m**2) * phi + sum(np.roll(phi, 1, ax) + np.roll(phi, -1, ax) for ax in (1, 2, 3))
    r315 = _rel(new_phi, w_phi + pi)
    r317 = _rel(new_pi, -phi)
    lit = _jit()["step"](_printed_314(lat, m, 4.0), _state_of(phi, pi))
    rlit = max(_rel(lit.phi, new_phi), _rel(lit.pi, new_pi))
    measured = max(r315, r317, rlit)
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"3D 6^3, m = {m}: (3.15) {r315:.1e}, (3.17) {r317:.1e} (gradient dH/dbeta + dH/dphi = beta + "
                   f"phi from autodiff of (3.18)); loss network vs the literal tensors (3.14): {rlit:.1e}")


@register("(3.19)", section=3, title="(3.15)+(3.17): phi(t+1) - 2 phi(t) + phi(t-1) = F(phi(t)) (leapfrog), D = 3",
          expected="exact")
def check_leapfrog_second_order_form() -> Outcome:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    m = 0.7
    lat = Lattice((6, 6, 6))
    phi, pi = _state(lat.shape)
    p = _phis(kg.leapfrog_network(lat, m, 1.0), phi, pi, 4)
    measured = max(_rel(p[t + 1] - 2 * p[t] + p[t - 1], _force(p[t], m)) for t in range(1, 4))
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"3D 6^3, m = {m}, unit step: max relative residual of (3.19) over 3 steps {measured:.1e}")


@register("(3.14) in D dims", section=3,
          title="(3.14)-(3.19) in D dimensions: the printed 4 is 2D - 2 (holds as printed only in D = 3)",
          expected="erratum")
def check_leapfrog_network_in_d_dimensions() -> Outcome:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    m = 0.7
    shapes = {1: (8,), 2: (5, 4), 3: (6, 6, 6), 4: (3, 3, 3, 3)}
    step = _jit()["step"]
    good, bad = {}, {}
    for nd, shape in shapes.items():
        lat = Lattice(shape)
        phi, pi = _state(shape)
        # one tick from (phi(0), pi(0) = -phi(-1)) (the encoding (3.17)): (3.19) at t = 0 reads
        # phi(1) - 2 phi(0) - pi(0) = F(phi(0)); and pi(1) = -phi(0)
        s = step(kg.leapfrog_network(lat, m, 1.0), _state_of(phi, pi))  # W = -(2D - 2 + m^2) + sum_mu (T + T^-1)
        good[nd] = max(_rel(np.asarray(s.phi) - 2 * phi - pi, _force(phi, m)), _rel(s.pi, -phi))
        q = step(_printed_314(lat, m, 4.0), _state_of(phi, pi))
        bad[nd] = _rel(np.asarray(q.phi) - 2 * phi - pi, _force(phi, m))
    measured = max(good.values())
    ok = measured < EXACT_TOL and bad[3] < EXACT_TOL and all(bad[d] > 1e-3 for d in (1, 2, 4))
    return Outcome(
        "erratum" if ok else "fails", measured,
        "relative residual of (3.19) for the literal tensors (3.14) with the printed 4: "
        + ", ".join(f"D = {d}: {r:.2g}" for d, r in bad.items())
        + f"; with 2D - 2 (leapfrog_network): max {measured:.1e} over D = 1..4",
    )


@register("(3.19) unit step", section=3,
          title="the unit-step scheme (3.19) in 3D (m = 0) is unstable: worst mode grows by 5 + 2 sqrt 6 per step",
          expected="unstable")
def check_unit_step_leapfrog_network_grows() -> Outcome:
    from ... import analysis as an
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    lat = Lattice((8, 8, 8))
    w2max = 4.0 * lat.ndim  # m = 0, a = 1, corner of the Brillouin zone
    expected = ((w2max - 2) + np.sqrt((w2max - 2) ** 2 - 4)) / 2  # larger root of l^2 - (2 - w^2) l + 1
    phi, pi = _state(lat.shape)
    net = kg.leapfrog_network(lat, 0.0, 1.0)
    s8 = _jit()["advance"](net, _state_of(phi, pi), 8)
    s10 = _jit()["advance"](net, s8, 2)
    corner = (4, 4, 4)
    a8 = abs(np.fft.fftn(np.asarray(s8.phi)[0])[corner])
    a10 = abs(np.fft.fftn(np.asarray(s10.phi)[0])[corner])
    measured = float(np.sqrt(a10 / a8))
    _, lam = an.eigenvalues(net, an.brillouin_grid(lat, 24))
    amp = np.abs(lam).max(axis=-1)
    symbol = float(amp.max())
    fraction = float(np.mean(amp > 1 + an.STABILITY_TOL))
    ok = abs(measured / expected - 1) < 1e-9 and abs(symbol / expected - 1) < 1e-9
    return Outcome(
        "unstable" if ok else "fails", measured,
        f"3D 8^3, m = 0, dt = a = 1: measured growth of the corner mode per step (run, steps 8-10) {measured:.6f}; "
        f"closed form 5 + 2 sqrt 6 = {expected:.6f}; one-step symbol {symbol:.6f}; unstable modes: "
        f"{100 * fraction:.1f}% of a 24^3 Brillouin grid",
    )


@register("(3.19) CFL", section=3,
          title="network (3.14) with step dt is stable iff dt < 2 / sqrt(4 D / a^2 + m^2) (bisection on the symbol)",
          expected="exact")
def check_leapfrog_cfl_bound() -> Outcome:
    from ... import analysis as an
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    out = []
    for nd, a, m in ((3, 1.0, 0.0), (2, 0.5, 1.0)):
        lat = Lattice((4,) * nd, a)
        grid = an.brillouin_grid(lat, 8)
        found = an.largest_stable_dt(lambda h, lat=lat, m=m: kg.leapfrog_network(lat, m, h), 0.5, grid)
        out.append((nd, a, m, found, 2 / np.sqrt(4 * nd / a**2 + m**2)))
    dev = max(abs(f / c - 1) for *_, f, c in out)
    return Outcome(
        "exact" if dev < 1e-5 else "fails", dev,
        "; ".join(f"D = {d}, a = {a}, m = {m}: dt_max = {f:.7f} (closed form {c:.7f})" for d, a, m, f, c in out)
        + f"; max relative deviation {dev:.1e} (bisection to 1e-6)",
    )


@register("(3.19) dispersion", section=3,
          title="network (3.14) with step dt: 4 sin^2(Omega dt/2)/dt^2 = m^2 + (4/a^2) sum sin^2(k a/2)",
          expected="exact")
def check_leapfrog_dispersion() -> Outcome:
    from ... import analysis as an
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    nd, a, m = 3, 0.8, 0.5
    lat = Lattice((4,) * nd, a)
    dt = 0.9 * 2 / np.sqrt(4 * nd / a**2 + m**2)
    k = [np.linspace(-np.pi / a, np.pi / a, 9)[:, None, None] * np.ones((1, 3, 3)) for _ in range(nd)]
    k[1] = np.linspace(0.1, 3.0, 3)[None, :, None] * np.ones((9, 1, 3)) / a
    k[2] = np.linspace(-2.0, 0.5, 3)[None, None, :] * np.ones((9, 3, 1)) / a
    om = an.network_dispersion(kg.leapfrog_network(lat, m, dt), k)
    w2 = m**2 + sum(4 / a**2 * np.sin(kk * a / 2) ** 2 for kk in k)
    lhs = 4 * np.sin(om * dt / 2) ** 2 / dt**2
    measured = float(np.abs(lhs - w2[..., None]).max() / w2.max())
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"3D, a = {a}, m = {m}, dt = 0.9 dt_max: dispersion from the network's one-step symbol vs the "
                   f"leapfrog relation, max relative residual {measured:.1e} over 81 momenta (both branches)")
