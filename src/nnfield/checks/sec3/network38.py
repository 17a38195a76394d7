"""network38: checks of the Klein-Gordon network (3.7)-(3.13): the Hamiltonian, the tensors (3.8), the learning rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...paper import Outcome, register
from ._common import EXACT_TOL, _force, _jit, _phis, _rel, _state, _state_of


@register("(3.4)-(3.5)", section=3, title="lattice Hamiltonian (3.5) generates the discrete equations (3.4)",
          expected="exact")
def check_lattice_hamiltonian_generates_equations() -> Outcome:
    import jax
    import jax.numpy as jnp

    from ...lattice import Lattice
    from ...theories.klein_gordon import KleinGordon

    m = 0.7
    lat = Lattice((6, 6, 6))
    phi, beta = _state(lat.shape)

    def h35(f: jax.Array, b: jax.Array) -> jax.Array:  # (3.5) as printed, with beta for its "pi"
        lap = sum(jnp.roll(f, -1, ax) - 2 * f + jnp.roll(f, 1, ax) for ax in range(1, 4))
        return 0.5 * jnp.sum(b * b) - 0.5 * jnp.sum(f * lap) + 0.5 * m**2 * jnp.sum(f * f)

    theory = KleinGordon(m, lat)

    @jax.jit
    def evaluate(f: jax.Array, b: jax.Array) -> tuple[Any, ...]:
        return (*jax.grad(h35, argnums=(0, 1))(f, b), h35(f, b), theory.hamiltonian(f, b))

    g_phi, g_beta, h, lib = (np.asarray(x) for x in evaluate(jnp.asarray(phi), jnp.asarray(beta)))
    # Hamilton's equations of (3.5) vs the right sides of (3.4): dphi = beta, dbeta = F(phi)
    res = max(_rel(g_beta, beta), _rel(-g_phi, _force(phi, m)))
    res_lib = float(abs(lib - h) / abs(lib))
    measured = max(res, res_lib)
    return Outcome(
        "exact" if measured < EXACT_TOL else "fails", measured,
        f"3D 6^3, m = {m}: Hamilton's equations of (3.5) (autodiff) vs (3.4): {res:.1e}; (3.5) vs the library's "
        f"Hamiltonian (3.3) on the lattice: {res_lib:.1e}. Typo: (3.5) writes 1/2 pi^i pi_i where beta is meant "
        "(equal here since B = 1)",
    )


# ----------------------------------------------------------------------------------------------------------
# (3.7)-(3.13): network (3.8) with loss (3.11)
# ----------------------------------------------------------------------------------------------------------
@register("(3.8)", section=3, title="tensors (3.8): printed A gives minus (3.10); A = Lap - m^2 gives (3.10)",
          expected="erratum")
def check_printed_tensor_sign() -> Outcome:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    m = 0.7
    lat = Lattice((6, 6, 6))
    phi, pi = _state(lat.shape)
    s = _state_of(phi, pi)
    step = _jit()["step"]
    want = pi + _force(phi, m)  # (3.10) at unit step
    printed = step(kg.printed_linear_network(lat, m, 1.0, sign="printed"), s)
    corrected = step(kg.printed_linear_network(lat, m, 1.0, sign="corrected"), s)
    loss_printed = step(kg.momentum_network(lat, m, 1.0, scheme="simultaneous", sign="printed"), s)
    inc = np.asarray(want) - pi
    bad = float(np.abs(np.asarray(printed.pi) - want).max() / np.abs(inc).max())
    good = max(_rel(np.asarray(corrected.pi) - pi, inc), _rel(corrected.phi, phi + pi))
    same = _rel(loss_printed.pi, printed.pi)
    ok = bad > 0.5 and good < EXACT_TOL and same < EXACT_TOL
    return Outcome(
        "erratum" if ok else "fails", good,
        f"printed A = -Lap + m^2: |pi(t+1) - (3.10)| / |(3.10) increment| = {bad:.3f} (= 2: the opposite sign, "
        f"phi'' = +omega^2 phi); A = Lap - m^2: residual {good:.1e}; the printed tensors equal the loss network "
        f"with loss -(3.11) ({same:.1e}). (3.8) also lists W twice",
    )


@register("(3.9)-(3.12)", section=3,
          title="autodiff of loss (3.11) through activation (3.9) (d phi/d beta = 1, (3.12)) gives learning (3.10)",
          expected="exact")
def check_autodiff_learning_rule() -> Outcome:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    m = 0.7
    res = {}
    for shape, a, dt in (((6, 6, 6), 1.0, 1.0), ((5, 4), 0.7, 0.3)):
        lat = Lattice(shape, a)
        phi, pi = _state(shape)
        s = _state_of(phi, pi)
        new_phi, new_pi = _jit()["learn"](kg.momentum_network(lat, m, dt, scheme="simultaneous"), s.phi, s.pi)
        res[(len(shape), a, dt)] = max(_rel(np.asarray(new_pi) - pi, dt * _force(phi, m, a)),
                                       _rel(np.asarray(new_phi) - phi, dt * pi))
    measured = max(res.values())
    detail = "; ".join(f"D = {d}, a = {a}, dt = {dt}: {r:.1e}" for (d, a, dt), r in res.items())
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"relative residual of (3.9) and (3.10) (with spacing a and step dt: pi += dt (Lap_a - m^2) phi): "
                   f"{detail}")


@register("(3.13)", section=3,
          title="(3.9)+(3.10), both from time-t values: phi(t+2) - 2 phi(t+1) + phi(t) = F(phi(t))", expected="exact")
def check_momentum_network_update() -> Outcome:
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    m = 0.7
    lat = Lattice((6, 6, 6))
    phi, pi = _state(lat.shape)
    p = _phis(kg.momentum_network(lat, m, 1.0, scheme="simultaneous"), phi, pi, 4)
    measured = max(_rel(p[t + 2] - 2 * p[t + 1] + p[t], _force(p[t], m)) for t in range(3))
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"3D 6^3, m = {m}, unit step, network (3.8) + loss (3.11), simultaneous scheme: max relative "
                   f"residual of (3.13) over 3 steps {measured:.1e}")


@register("(3.13) unit step", section=3,
          title="the unit-step scheme (3.13) grows by |1 +- i omega_k| = sqrt(1 + omega_k^2) per step, every dt > 0",
          expected="unstable")
def check_unit_step_momentum_network_grows() -> Outcome:
    from ... import analysis as an
    from ...lattice import Lattice
    from ...theories import klein_gordon as kg

    m = 0.0
    lat = Lattice((8, 8, 8))
    w2 = m**2 - lat.laplacian_symbol()
    expected = float(np.sqrt(1 + 4 * lat.ndim + m**2))  # worst mode: the corner k = (pi, pi, pi)
    phi, pi = _state(lat.shape)
    net = kg.momentum_network(lat, m, 1.0, scheme="simultaneous")
    steps = 6
    end = _jit()["advance"](net, _state_of(phi, pi), steps)

    def q(f: Any, p: Any) -> np.ndarray:  # w^2 |phi_k|^2 + |pi_k|^2 grows by exactly 1 + w^2 per step
        return w2 * np.abs(np.fft.fftn(np.asarray(f)[0])) ** 2 + np.abs(np.fft.fftn(np.asarray(p)[0])) ** 2

    growth = (q(end.phi, end.pi) / q(phi, pi)) ** (1 / (2 * steps))
    measured = float(growth.max())
    per_mode = float(np.abs(growth / np.sqrt(1 + w2) - 1).max())
    symbol = an.max_amplification(net, an.brillouin_grid(lat, 8))
    dt_max = an.largest_stable_dt(
        lambda h: kg.momentum_network(lat, m, h, scheme="simultaneous"), 0.5, an.brillouin_grid(lat, 8)
    )
    ok = measured > 1 + 1e-6 and abs(measured / expected - 1) < 1e-9 and per_mode < 1e-9 and dt_max == 0.0
    return Outcome(
        "unstable" if ok else "fails", measured,
        f"3D 8^3, m = 0, dt = 1: measured growth per step (max over modes, {steps}-step run) {measured:.6f}; "
        f"closed form sqrt(1 + 12) = {expected:.6f}; every mode matches sqrt(1 + omega_k^2) to {per_mode:.0e}; "
        f"from the one-step symbol {symbol:.6f}; largest stable dt = {dt_max} (unstable at every dt > 0)",
    )
