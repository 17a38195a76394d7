"""Paper checks of Sec. 3 (the Klein-Gordon field), measured on the library's networks.

Every reference below is written here with ``np.roll`` (independently of :mod:`nnfield.operators`), and
every expected number (growth factors, the CFL bound, dispersion) from its closed form. Notation:
``omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)``, ``F(phi) = (Lap_a - m^2) phi``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..paper import Outcome, register

EXACT_TOL = 1e-12  # relative residuals below this are round-off (float64, a few dozen operations per entry)
ORDER_TOL = 0.25  # measured convergence orders within this of the declared order


def _rng(seed: int = 3) -> np.random.Generator:
    return np.random.default_rng(seed)


def _lap(f: np.ndarray, a: float = 1.0) -> np.ndarray:
    """Nearest-neighbour Laplacian of ``(1, *shape)`` fields by ``np.roll`` (the reference)."""
    return sum(np.roll(f, 1, ax) - 2 * f + np.roll(f, -1, ax) for ax in range(1, f.ndim)) / a**2


def _force(f: np.ndarray, m: float, a: float = 1.0) -> np.ndarray:
    return _lap(f, a) - m**2 * f


def _rel(x: Any, y: Any) -> float:
    x, y = np.asarray(x), np.asarray(y)
    return float(np.abs(x - y).max() / max(np.abs(y).max(), 1e-300))


def _state(shape: tuple[int, ...], seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(seed)
    return rng.normal(size=(1, *shape)), rng.normal(size=(1, *shape))


def _jit() -> dict[str, Any]:
    """Jitted helpers (built lazily, cached across checks: one compilation per network structure)."""
    global _JIT
    if _JIT is None:
        import jax

        def advance(net: Any, s: Any, n: Any) -> Any:
            return jax.lax.fori_loop(0, n, lambda _, x: net.step(x), s)

        def traj(net: Any, s: Any, n: int) -> Any:
            return jax.lax.scan(lambda x, _: (net.step(x),) * 2, s, None, length=n)[1]

        _JIT = {
            "step": jax.jit(lambda net, s: net.step(s)),
            "learn": jax.jit(lambda net, phi, pi: (net.activate(phi, pi, net.dt), net.learn(phi, pi, net.dt))),
            "advance": jax.jit(advance),
            "traj": jax.jit(traj, static_argnums=2),
        }
    return _JIT


_JIT: dict[str, Any] | None = None


def _state_of(phi: np.ndarray, pi: np.ndarray) -> Any:
    import jax.numpy as jnp

    from ..state import State

    return State(jnp.asarray(phi), jnp.asarray(pi))


def _phis(net: Any, phi: np.ndarray, pi: np.ndarray, n: int) -> list[np.ndarray]:
    """``[phi(0), ..., phi(n)]`` of a run."""
    tr = _jit()["traj"](net, _state_of(phi, pi), n)
    return [phi] + [np.asarray(p) for p in tr.phi]


# ----------------------------------------------------------------------------------------------------------
# (3.4)-(3.5): the lattice Hamiltonian and its equations
# ----------------------------------------------------------------------------------------------------------
@register("(3.4)-(3.5)", section=3, title="lattice Hamiltonian (3.5) generates the discrete equations (3.4)",
          expected="exact")
def check_hamiltonian_35() -> Outcome:
    import jax
    import jax.numpy as jnp

    from ..lattice import Lattice
    from ..theories.klein_gordon import KleinGordon

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
def check_tensors_38() -> Outcome:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

    m = 0.7
    lat = Lattice((6, 6, 6))
    phi, pi = _state(lat.shape)
    s = _state_of(phi, pi)
    step = _jit()["step"]
    want = pi + _force(phi, m)  # (3.10) at unit step
    printed = step(kg.printed_linear_network(lat, m, 1.0, sign="printed"), s)
    corrected = step(kg.printed_linear_network(lat, m, 1.0, sign="corrected"), s)
    loss_printed = step(kg.momentum_network(lat, m, 1.0, "simultaneous", sign="printed"), s)
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
def check_learning_310() -> Outcome:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

    m = 0.7
    res = {}
    for shape, a, dt in (((6, 6, 6), 1.0, 1.0), ((5, 4), 0.7, 0.3)):
        lat = Lattice(shape, a)
        phi, pi = _state(shape)
        s = _state_of(phi, pi)
        new_phi, new_pi = _jit()["learn"](kg.momentum_network(lat, m, dt, "simultaneous"), s.phi, s.pi)
        res[(len(shape), a, dt)] = max(_rel(np.asarray(new_pi) - pi, dt * _force(phi, m, a)),
                                       _rel(np.asarray(new_phi) - phi, dt * pi))
    measured = max(res.values())
    detail = "; ".join(f"D = {d}, a = {a}, dt = {dt}: {r:.1e}" for (d, a, dt), r in res.items())
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"relative residual of (3.9) and (3.10) (with spacing a and step dt: pi += dt (Lap_a - m^2) phi): "
                   f"{detail}")


@register("(3.13)", section=3,
          title="(3.9)+(3.10), both from time-t values: phi(t+2) - 2 phi(t+1) + phi(t) = F(phi(t))", expected="exact")
def check_313() -> Outcome:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

    m = 0.7
    lat = Lattice((6, 6, 6))
    phi, pi = _state(lat.shape)
    p = _phis(kg.momentum_network(lat, m, 1.0, "simultaneous"), phi, pi, 4)
    measured = max(_rel(p[t + 2] - 2 * p[t + 1] + p[t], _force(p[t], m)) for t in range(3))
    return Outcome("exact" if measured < EXACT_TOL else "fails", measured,
                   f"3D 6^3, m = {m}, unit step, network (3.8) + loss (3.11), simultaneous scheme: max relative "
                   f"residual of (3.13) over 3 steps {measured:.1e}")


@register("(3.13) unit step", section=3,
          title="the unit-step scheme (3.13) grows by |1 +- i omega_k| = sqrt(1 + omega_k^2) per step, every dt > 0",
          expected="unstable")
def check_313_unstable() -> Outcome:
    from .. import analysis as an
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

    m = 0.0
    lat = Lattice((8, 8, 8))
    w2 = m**2 - lat.laplacian_symbol()
    expected = float(np.sqrt(1 + 4 * lat.ndim + m**2))  # worst mode: the corner k = (pi, pi, pi)
    phi, pi = _state(lat.shape)
    net = kg.momentum_network(lat, m, 1.0, "simultaneous")
    steps = 6
    end = _jit()["advance"](net, _state_of(phi, pi), steps)

    def q(f: Any, p: Any) -> np.ndarray:  # w^2 |phi_k|^2 + |pi_k|^2 grows by exactly 1 + w^2 per step
        return w2 * np.abs(np.fft.fftn(np.asarray(f)[0])) ** 2 + np.abs(np.fft.fftn(np.asarray(p)[0])) ** 2

    growth = (q(end.phi, end.pi) / q(phi, pi)) ** (1 / (2 * steps))
    measured = float(growth.max())
    per_mode = float(np.abs(growth / np.sqrt(1 + w2) - 1).max())
    symbol = an.max_amplification(net, an.brillouin_grid(lat, 8))
    dt_max = an.largest_stable_dt(
        lambda h: kg.momentum_network(lat, m, h, "simultaneous"), 0.5, an.brillouin_grid(lat, 8)
    )
    ok = measured > 1 + 1e-6 and abs(measured / expected - 1) < 1e-9 and per_mode < 1e-9 and dt_max == 0.0
    return Outcome(
        "unstable" if ok else "fails", measured,
        f"3D 8^3, m = 0, dt = 1: measured growth per step (max over modes, {steps}-step run) {measured:.6f}; "
        f"closed form sqrt(1 + 12) = {expected:.6f}; every mode matches sqrt(1 + omega_k^2) to {per_mode:.0e}; "
        f"from the one-step symbol {symbol:.6f}; largest stable dt = {dt_max} (unstable at every dt > 0)",
    )


# ----------------------------------------------------------------------------------------------------------
# (3.14)-(3.19): network (3.14) with loss (3.18)
# ----------------------------------------------------------------------------------------------------------
def _printed_314(lat: Any, m: float, four: float) -> Any:
    """The tensors (3.14) literally: ``A = -1, B = 1, W = -(four + m^2) + sum_mu (T_mu + T_-mu), V = 0``."""
    from .. import operators as ops
    from ..network import LinearNetwork

    nd = lat.ndim
    eye = ops.identity(nd)
    W = -(four + m**2) * eye
    for mu in range(nd):
        W = W + ops.shift_operator(mu, nd, 1) + ops.shift_operator(mu, nd, -1)
    return LinearNetwork.create(lat, W, eye, -1.0 * eye, ops.LatticeOperator.zero(nd), 1.0, "simultaneous")


@register("(3.15)-(3.17)", section=3,
          title="tensors (3.14) + loss (3.18): activation (3.15), autodiff learning beta(t+1) = -phi(t) (3.16)/(3.17)",
          expected="exact")
def check_315_317() -> Outcome:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

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
def check_319() -> Outcome:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

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
def check_314_dims() -> Outcome:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

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
def check_319_unstable() -> Outcome:
    from .. import analysis as an
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

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
          title="network (3.14) with step dt is stable iff dt < 2 / sqrt(4 D / a^2 + m^2) (measured dt_max)",
          expected="exact")
def check_319_cfl() -> Outcome:
    from .. import analysis as an
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

    out = []
    for nd, a, m in ((3, 1.0, 0.0), (2, 0.5, 1.0)):
        lat = Lattice((4,) * nd, a)
        grid = an.brillouin_grid(lat, 8)
        found = an.largest_stable_dt(lambda h, lat=lat, m=m: kg.leapfrog_network(lat, m, h), 0.5, grid)
        out.append((nd, a, m, found, 2 / np.sqrt(4 * nd / a**2 + m**2)))
    dev = max(abs(f / c - 1) for *_, f, c in out)
    return Outcome(
        "exact" if dev < 1e-5 else "fails", out[0][3],
        "; ".join(f"D = {d}, a = {a}, m = {m}: dt_max = {f:.7f} (closed form {c:.7f})" for d, a, m, f, c in out)
        + f"; max relative deviation {dev:.1e} (bisection to 1e-6)",
    )


@register("(3.19) dispersion", section=3,
          title="network (3.14) with step dt: 4 sin^2(Omega dt/2)/dt^2 = m^2 + (4/a^2) sum sin^2(k a/2)",
          expected="exact")
def check_319_dispersion() -> Outcome:
    from .. import analysis as an
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

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


# ----------------------------------------------------------------------------------------------------------
# continuum limits and the conserved discrete energy
# ----------------------------------------------------------------------------------------------------------
def _order_in_dt(network: str, scheme: str, steps: list[int]) -> tuple[float, list[float]]:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

    lat = Lattice((16,), 0.5)
    m, T = 1.0, 1.0
    phi, pi = _state(lat.shape)
    exact, _ = kg.KleinGordon(m, lat).exact(phi, pi, T)
    errs = []
    for n in steps:
        model = kg.model(lat, m, T / n, network, scheme)
        s = _jit()["advance"](model.network, model.initial_state(phi, pi), n)
        errs.append(float(np.abs(np.asarray(s.phi) - exact).max()))
    order = float(np.polyfit(np.log(T / np.asarray(steps)), np.log(errs), 1)[0])
    return order, errs


@register("(3.13) dt -> 0", section=3,
          title="the paper's scheme (3.13) with step dt converges to the lattice field at order 1 (fixed T)",
          expected="continuum")
def check_313_order() -> Outcome:
    order, errs = _order_in_dt("3.8", "simultaneous", [200, 400, 800, 1600])
    ok = abs(order - 1) < ORDER_TOL
    return Outcome("continuum" if ok else "fails", order,
                   "1D N = 16, a = 0.5, m = 1, T = 1, dt = 1/200 .. 1/1600 (dt omega_max <= 0.02): max errors "
                   + ", ".join(f"{e:.2e}" for e in errs) + f" vs the exact lattice solution; order {order:.3f}")


@register("(3.19) dt -> 0", section=3,
          title="network (3.14) with step dt (the leapfrog (3.19)) converges to the lattice field at order 2",
          expected="continuum")
def check_319_order() -> Outcome:
    order, errs = _order_in_dt("3.14", "leapfrog", [20, 40, 80, 160])
    ok = abs(order - 2) < ORDER_TOL
    return Outcome("continuum" if ok else "fails", order,
                   "1D N = 16, a = 0.5, m = 1, T = 1, dt = 1/20 .. 1/160: max errors "
                   + ", ".join(f"{e:.2e}" for e in errs) + f" vs the exact lattice solution; order {order:.3f}")


@register("(3.4) a -> 0", section=3,
          title="lattice -> continuum (3.1)-(3.3): network (3.14) with dt = a/2 converges at order 2 in a",
          expected="continuum")
def check_continuum_limit() -> Outcome:
    from ..lattice import Lattice
    from ..theories import klein_gordon as kg

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
        model = kg.model(lat, m, T / steps, "3.14")
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
    from ..lattice import Lattice
    from ..network import run
    from ..theories import klein_gordon as kg

    lat = Lattice((16, 16))
    m = 0.5
    dt = 0.9 * 2 / np.sqrt(4 * lat.ndim + m**2)
    phi, pi = _state(lat.shape)
    res = {}
    for name, scheme in (("3.8", "alternating"), ("3.14", "leapfrog")):
        model = kg.model(lat, m, dt, name, scheme)
        _, e = run(model.network, model.initial_state(phi, pi), 1000, every=50, observer=model.discrete_energy)
        e = np.asarray(e)  # at steps 50, 100, ..., 1000
        res[f"{name} {scheme}"] = float(np.abs(e / e[0] - 1).max())
    p = _phis(kg.momentum_network(lat, m, dt, "alternating"), phi, pi, 4)
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

    from ..lattice import Lattice
    from ..network import run
    from ..theories import klein_gordon as kg

    lat = Lattice((16, 16))
    m = 0.5
    dt = 0.9 * 2 / np.sqrt(4 * lat.ndim + m**2)
    phi, pi = _state(lat.shape)
    model = kg.model(lat, m, dt, "3.8", "leapfrog")
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
