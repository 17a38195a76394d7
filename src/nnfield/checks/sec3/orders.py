"""orders: continuum limits, convergence orders in dt and a, conserved discrete energies, fused schemes."""

from __future__ import annotations

import numpy as np

from ...paper import Outcome, register
from ._common import EXACT_TOL, ORDER_TOL, _force, _jit, _phis, _rel, _rng, _state


# ----------------------------------------------------------------------------------------------------------
# continuum limits and the conserved discrete energy
# ----------------------------------------------------------------------------------------------------------
def _order_in_dt(network: str, scheme: str, steps: list[int]) -> tuple[float, list[float]]:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    lat = Lattice((16,), 0.5)
    m, T = 1.0, 1.0
    phi, pi = _state(lat.shape)
    exact, _ = kg.KleinGordon(m, lat).exact(phi, pi, T)
    errs = []
    for n in steps:
        model = kg.model(lat, m, T / n, network=network, scheme=scheme)
        s = _jit()["advance"](model.network, model.initial_state(phi, pi), n)
        errs.append(float(np.abs(np.asarray(s.phi) - exact).max()))
    order = float(np.polyfit(np.log(T / np.asarray(steps)), np.log(errs), 1)[0])
    return order, errs


@register("(3.13) dt -> 0", section=3,
          title="the paper's scheme (3.13) with step dt converges to the lattice field at order 1 (fixed T)",
          expected="continuum")
def check_momentum_network_order_in_dt() -> Outcome:
    order, errs = _order_in_dt("3.8", "simultaneous", [200, 400, 800, 1600])
    ok = abs(order - 1) < ORDER_TOL
    return Outcome("continuum" if ok else "fails", order,
                   "1D N = 16, a = 0.5, m = 1, T = 1, dt = 1/200 .. 1/1600 (dt omega_max <= 0.02): max errors "
                   + ", ".join(f"{e:.2e}" for e in errs) + f" vs the exact lattice solution; order {order:.3f}")


@register("(3.19) dt -> 0", section=3,
          title="network (3.14) with step dt (the leapfrog (3.19)) converges to the lattice field at order 2",
          expected="continuum")
def check_leapfrog_network_order_in_dt() -> Outcome:
    order, errs = _order_in_dt("3.14", "leapfrog", [20, 40, 80, 160])
    ok = abs(order - 2) < ORDER_TOL
    return Outcome("continuum" if ok else "fails", order,
                   "1D N = 16, a = 0.5, m = 1, T = 1, dt = 1/20 .. 1/160: max errors "
                   + ", ".join(f"{e:.2e}" for e in errs) + f" vs the exact lattice solution; order {order:.3f}")


@register("(3.4) a -> 0", section=3,
          title="lattice -> continuum (3.1)-(3.3): network (3.14) with dt = a/2 converges at order 2 in a",
          expected="continuum")
def check_continuum_limit() -> Outcome:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    L, m, T = 2 * np.pi, 0.5, 1.0
    c = _rng().normal(size=(4, 4))
    ns = [32, 64, 128]
    errs, lattice_errs = [], []
    for n in ns:
        lat = Lattice((n,), L / n)
        x = lat.coordinates()[0]
        # band-limited data (modes 1..4): the continuum solution is exact on every lattice
        phi = sum(c[j, 0] * np.cos((j + 1) * x) + c[j, 1] * np.sin((j + 1) * x) for j in range(4))[None]
        pi = sum(c[j, 2] * np.cos((j + 1) * x) + c[j, 3] * np.sin((j + 1) * x) for j in range(4))[None]
        th = kg.KleinGordon(m, lat)
        cont, _ = th.exact(phi, pi, T, continuum=True)
        lattice_errs.append(float(np.abs(th.exact(phi, pi, T)[0] - cont).max()))
        steps = int(round(2 * T / lat.spacing))  # dt ~ a/2 with T / dt integer
        model = kg.model(lat, m, T / steps, network="3.14")
        s = _jit()["advance"](model.network, model.initial_state(phi, pi), steps)
        errs.append(float(np.abs(np.asarray(s.phi) - cont).max()))
    a = np.log(L / np.asarray(ns))
    order = float(np.polyfit(a, np.log(errs), 1)[0])
    order_lattice = float(np.polyfit(a, np.log(lattice_errs), 1)[0])
    ok = abs(order - 2) < ORDER_TOL and abs(order_lattice - 2) < ORDER_TOL
    return Outcome("continuum" if ok else "fails", order,
                   f"1D, L = 2 pi, m = {m}, T = {T}, band-limited data, N = 32, 64, 128: network (3.14) with dt ~ a/2, "
                   f"errors " + ", ".join(f"{e:.2e}" for e in errs) + f", order {order:.3f}; exact lattice "
                   f"solution vs continuum: order {order_lattice:.3f}")


@register("(3.9)-(3.11) alternating", section=3,
          title="learning evaluated on the activation output is exactly leapfrog and conserves the discrete energy",
          expected="exact")
def check_discrete_energy() -> Outcome:
    from ...lattice import Lattice
    from ...network import run
    from ...theories import klein_gordon as kg

    lat = Lattice((16, 16))
    m = 0.5
    dt = 0.9 * 2 / np.sqrt(4 * lat.ndim + m**2)
    phi, pi = _state(lat.shape)
    res = {}
    for name, scheme in (("3.8", "alternating"), ("3.14", "leapfrog")):
        model = kg.model(lat, m, dt, network=name, scheme=scheme)
        _, e = run(model.network, model.initial_state(phi, pi), 1000, every=50, observer=model.discrete_energy)
        e = np.asarray(e)  # at steps 50, 100, ..., 1000
        res[f"{name} {scheme}"] = float(np.abs(e / e[0] - 1).max())
    p = _phis(kg.momentum_network(lat, m, dt, scheme="alternating"), phi, pi, 4)
    lf = max(_rel(p[t + 1] - 2 * p[t] + p[t - 1], dt**2 * _force(p[t], m)) for t in (1, 2, 3))
    measured = max(max(res.values()), lf)
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"2D 16^2, m = {m}, dt = 0.9 dt_max, 1000 steps: max |E/E0 - 1| "
                   + ", ".join(f"{k}: {v:.1e}" for k, v in res.items())
                   + f"; alternating (3.8) satisfies the leapfrog (3.19) with dt^2: residual {lf:.1e}")


@register("(3.9)-(3.11) fused leapfrog", section=3,
          title="runs fuse n leapfrog ticks (merged half kicks): equal to n single ticks, discrete energy conserved",
          expected="exact")
def check_fused_leapfrog() -> Outcome:
    import jax

    from ...lattice import Lattice
    from ...network import run
    from ...theories import klein_gordon as kg

    lat = Lattice((16, 16))
    m = 0.5
    dt = 0.9 * 2 / np.sqrt(4 * lat.ndim + m**2)
    phi, pi = _state(lat.shape)
    model = kg.model(lat, m, dt, network="3.8", scheme="leapfrog")
    s0 = model.initial_state(phi, pi)
    n = 7
    fused = jax.jit(lambda net, s: net.advance(s, n))(model.network, s0)  # L(dt/2) [A L(dt)]^(n-1) A L(dt/2)
    single = _jit()["advance"](model.network, s0, n)  # n calls of step: [L(dt/2) A L(dt/2)]^n
    res = max(_rel(fused.phi, single.phi), _rel(fused.pi, single.pi))
    _, e = run(model.network, s0, 1000, every=50, observer=model.discrete_energy)  # fused blocks of 50 ticks
    e0 = float(model.discrete_energy(s0))
    drift = float(np.abs(np.asarray(e) / e0 - 1).max())
    measured = max(res, drift)
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"2D 16^2, m = {m}, dt = 0.9 dt_max, network (3.8) leapfrog: {n} fused ticks vs {n} single ticks "
                   f"{res:.1e} (relative); fused run of 1000 ticks, max |E/E0 - 1| of the discrete energy {drift:.1e}")


@register("(3.9)-(3.11) yoshida4", section=3,
          title="network (3.8) with the yoshida4 ordering (three leapfrog ticks) converges at order 4",
          expected="continuum")
def check_yoshida_order() -> Outcome:
    order, errs = _order_in_dt("3.8", "yoshida4", [10, 20, 40, 80])
    ok = abs(order - 4) < ORDER_TOL
    return Outcome("continuum" if ok else "fails", order,
                   "1D N = 16, a = 0.5, m = 1, T = 1, dt = 1/10 .. 1/80: max errors "
                   + ", ".join(f"{e:.2e}" for e in errs) + f" vs the exact lattice solution; order {order:.3f} "
                   "(declared 4)")
