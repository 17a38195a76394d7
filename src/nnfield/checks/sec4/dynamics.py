"""dynamics: checks of the Dirac dynamics: second-order form, Klein-Gordon limit, doublers, stability, H(k)."""

from __future__ import annotations

import math

import numpy as np

from ...paper import Outcome, register
from ._common import EXACT_TOL, FAIL_MIN, _rel, _state, _step


@register("(4.39)", section=4, title="bias dynamics: -B B^T phi (sign erratum)", expected="erratum")
def check_bias_dynamics_sign() -> Outcome:
    from ...lattice import Lattice
    from ...theories import dirac as dr

    lat, h, m = Lattice((12,), 0.5), 0.3, 0.8
    net = dr.paper_network(lat, m, h)
    X0 = net.W_minus_I.terms[(0,)] / m
    s0 = _state(2, lat.shape)
    s1 = _step(net, s0)
    B = net.B
    b0, b1 = np.asarray(B.apply(s0.pi)), np.asarray(B.apply(s1.pi))
    bbt = np.asarray(B.apply(B.T.apply(s0.phi)))
    mass = m * np.einsum("ab,b...->a...", np.asarray(X0), b0)
    corrected = _rel(b1 - b0, h * (-bbt - mass))
    printed = _rel(b1 - b0, h * (bbt - mass))
    ok = corrected < EXACT_TOL and printed > FAIL_MIN
    return Outcome("erratum" if ok else "fails", corrected,
                   f"beta(t+1) - beta(t) = -B B^T phi - m X0 beta to {corrected:.1e}; "
                   f"printed +B B^T phi: {printed:.2f}")


@register("(4.40)", section=4, title="components obey Klein-Gordon in the continuum (lattice cross terms O(a))",
          expected="continuum")
def check_klein_gordon_limit() -> Outcome:
    from ...lattice import Lattice
    from ...theories import clifford as cl
    from ...theories import dirac as dr

    # the networks' exact discrete form is (4.10): (phi(t+2) - 2 phi(t+1) + phi(t))/h^2 = -(B B^T + m^2) phi(t);
    # (4.40) follows iff B B^T -> -Lap (x) I. Measured on the symbol at a fixed physical k as a -> 0.
    X = cl.representation(3)
    k = [np.asarray(0.7), np.asarray(-0.4), np.asarray(1.1)]
    k2 = sum(float(kk) ** 2 for kk in k)
    spacings = np.array([0.2, 0.1, 0.05, 0.025])
    err = {"forward": [], "wilson": []}
    cross = []
    for a in spacings:
        lat = Lattice((4, 4, 4), float(a))
        for bias in err:
            Bk = dr.bias_map(X, lat, bias).symbol(k, float(a))
            bbt = Bk @ Bk.conj().T
            err[bias].append(np.linalg.norm(bbt - k2 * np.eye(4), 2) / k2)
            if bias == "forward":
                lap = 4 / a**2 * sum(math.sin(float(kk) * a / 2) ** 2 for kk in k)
                cross.append(np.linalg.norm(bbt - lap * np.eye(4), 2) / k2)
    order = {b: float(np.polyfit(np.log(spacings), np.log(e), 1)[0]) for b, e in err.items()}
    ok = abs(order["forward"] - 1) < 0.1 and abs(order["wilson"] - 2) < 0.1
    return Outcome(
        "continuum" if ok else "fails", order["forward"],
        f"|B B^T(k) - k^2 I| / k^2 -> 0 with order {order['forward']:.3f} (forward map (4.24): cross terms "
        f"X_mu X_nu (D_mu D_nu^T - D_nu D_mu^T), {cross[0]:.3f} at a = {spacings[0]}, couple the components) and "
        f"{order['wilson']:.3f} (twisted Wilson map: B B^T = scalar (x) I)",
    )


@register("(4.24) doublers", section=4, title="forward-difference bias map: zero modes of B B^T away from k = 0",
          expected="condition")
def check_doublers() -> Outcome:
    from ...lattice import Lattice
    from ...theories import clifford as cl
    from ...theories import dirac as dr

    out = {}
    for D in (1, 3):
        lat = Lattice((8,) * D)
        X = cl.representation(D)
        for bias in ("forward", "wilson"):
            out[(D, bias)] = dr.doubler_analysis(dr.bias_map(X, lat, bias), lat, n=16 if D == 3 else 64)
    f3 = out[(3, "forward")]
    ok = f3["count"] > 0 and out[(1, "forward")]["count"] == 0 and out[(3, "wilson")]["count"] == 0
    where = ", ".join(str(tuple(v)) for v in f3["locations_pi_over_a"][:3])
    return Outcome(
        "condition" if ok else "fails", float(f3["count"]),
        f"3D forward map: {f3['count']} momenta with zero modes of B B^T ({f3['zero_eigenvalues']} zero eigenvalues) "
        f"on {f3['grid_source']} away from k = 0 (curves; e.g. at "
        f"k a/pi = {where}); 1D forward: {out[(1, 'forward')]['count']} (B B^T = -Lap); twisted Wilson 3D: "
        f"{out[(3, 'wilson')]['count']} (min sigma away from 0: {out[(3, 'wilson')]['min_sigma_away']:.2f})",
    )


@register("(4.26) unit step", section=4, title="the paper's unit-step Dirac network grows: |lambda|^2 = 1 + m^2 + "
          "sigma^2(k)", expected="unstable")
def check_unit_step() -> Outcome:
    from ...analysis import brillouin_grid, one_step_symbol
    from ...lattice import Lattice
    from ...theories import dirac as dr

    lat, m = Lattice((4, 4, 4)), 0.5
    net = dr.paper_network(lat, m, 1.0)
    k = brillouin_grid(lat, 8)
    amp = np.abs(np.linalg.eigvals(one_step_symbol(net, k))).max(-1)
    pred = np.sqrt(1 + m**2 + dr.bbt_eigenvalues(net.B, k, 1.0)[..., -1])
    dev = float(np.abs(amp - pred).max())
    ok = dev < 1e-9 and bool((amp > 1).all())
    return Outcome(
        "unstable" if ok else "fails", float(amp.max()),
        f"3+1, m = {m}, dt = a = 1: max growth per step {amp.max():.4f} (k = 0: {amp.flat[0]:.4f} = sqrt(1 + m^2)); "
        f"all {amp.size} modes grow; |lambda| vs sqrt(1 + h^2 (m^2 + sigma^2(k))): {dev:.1e}",
    )


@register("(4.11) stable form", section=4, title="stable network R = X0^(2 m dt/pi): exact invariant over 10^4 steps",
          expected="exact")
def check_stable_invariant() -> Outcome:
    from ...lattice import Lattice
    from ...theories import dirac as dr

    lat, m = Lattice((32,), 0.5), 1.0
    sig = dr.doubler_analysis(dr.bias_forward(dr.clifford.representation(1), lat), lat)["sigma_max"]
    bound = dr.stability_bound(m, 0.1, sig)
    h = 0.9 * bound["dt_max"]
    M = dr.model(lat, m, h, network="stable")
    phi, pi = dr.gaussian_packet(M.theory, width=1.5, k0=[1.0], branch="mixed")
    s0 = M.initial_state(phi, pi)
    _, obs = M.network.run(s0, 10_000, every=100, observer=M.observables)
    inv0, q0 = float(M.invariant(s0)), float(M.theory.charge(M.psi(s0)))
    drift = float(np.abs(np.asarray(obs["invariant"]) - inv0).max() / inv0)
    qosc = float(np.abs(np.asarray(obs["charge"]) - q0).max() / q0)
    ok = drift < 1e-12 and qosc > 1e3 * drift
    return Outcome(
        "exact" if ok else "fails", drift,
        f"phi' = R phi + h B pi, pi' = R^T pi - h B^T phi' (autodiff, alternating), h = 0.9 h_max = {h:.4f} "
        f"(h sigma_max < 2 cos(mh/2)): |phi|^2 + |pi|^2 + h phi.(I - tan(mh/2) X0) B pi drifts {drift:.1e} over "
        f"10^4 steps; the plain charge oscillates by {qosc:.1e}",
    )


def _spinor_symbol(M: np.ndarray) -> tuple[np.ndarray, float]:
    """The complex ``K x K`` symbol acting on ``psi = (phi~, pi~)`` from the real-field symbol ``M(k)`` (2K x 2K,
    ordered ``(phi^1..phi^K, pi^1..pi^K)``), and the size of the block mixing ``psi(k)`` with ``psi*(-k)``.

    ``psi_j = s_2j + i s_2j+1`` (rows P) and its conjugate partner (rows Q): ``T = [P; Q]``, ``T M T^-1`` is
    block diagonal when the network commutes with ``X_0`` (the complex structure), its first block is the symbol.
    """
    n = M.shape[-1]
    K = n // 2
    P = np.zeros((K, n), complex)
    Q = np.zeros((K, n), complex)
    for j in range(K // 2):
        for col, row in ((0, j), (K, K // 2 + j)):
            P[row, col + 2 * j], P[row, col + 2 * j + 1] = 1.0, 1j
            Q[row, col + 2 * j], Q[row, col + 2 * j + 1] = 1.0, -1j
    T = np.concatenate([P, Q])
    Mt = T @ M @ np.linalg.inv(T)
    return Mt[..., :K, :K], float(np.abs(Mt[..., :K, K:]).max())


@register("(4.20)/(4.37) H(k)", section=4,
          title="physics-side H(k) (forward and twisted-Wilson maps) = i (M(k) - I)/h of the paper network's own "
                "one-step symbol", expected="exact")
def check_hamiltonian_symbol() -> Outcome:
    from ...analysis import brillouin_grid, one_step_symbol
    from ...lattice import Lattice
    from ...theories import dirac as dr

    # the paper scheme is explicit Euler: M(k) = I + h L(k) exactly, L the semi-discrete generator, and the
    # spinor form of L is -i H(k) (i d_t psi = H psi); H(k) itself is written from the gamma matrices (FFT side)
    h, m = 0.1, 0.6
    res, mix = {}, 0.0
    for D, shape, a, bias in ((1, (8,), 0.7, "forward"), (1, (8,), 0.7, "wilson"), (3, (4, 4, 4), 1.0, "forward")):
        lat = Lattice(shape, a)
        M = dr.model(lat, m, h, network="paper", bias=bias)
        k = brillouin_grid(lat, 6 if D == 3 else 16)
        Mc, off = _spinor_symbol(one_step_symbol(M.network, k))
        H_net = 1j * (Mc - np.eye(Mc.shape[-1])) / h
        H = M.theory.hamiltonian_symbol(k)
        res[f"{D}D {bias}"] = float(np.abs(H_net - H).max() / np.abs(H).max())
        mix = max(mix, off)
    worst = max(res.values())
    return Outcome(
        "exact" if worst < EXACT_TOL and mix < EXACT_TOL else "fails", worst,
        f"m = {m}, h = {h}: max |i (M(k) - I)/h - H(k)| / max |H| over the Brillouin grid: "
        + ", ".join(f"{name} {r:.1e}" for name, r in res.items())
        + f"; psi(k)-psi*(-k) mixing of the symbol {mix:.1e} (the network commutes with X0)",
    )


@register("(4.11) stable bound", section=4,
          title="stable network: the bound h sigma_max(B) < 2 cos(mh/2) is the largest stable h of its one-step "
                "symbol", expected="exact")
def check_stable_bound() -> Outcome:
    from ...analysis import brillouin_grid, largest_stable_dt
    from ...lattice import Lattice
    from ...theories import dirac as dr

    out = []
    for D, shape, a, m, bias in ((1, (32,), 0.5, 1.0, "forward"), (2, (8, 8), 1.0, 1.5, "wilson")):
        lat = Lattice(shape, a)
        grid = brillouin_grid(lat, 64 if D == 1 else 16)  # includes k = pi/a, where sigma(B) is largest
        sig = dr.doubler_analysis(dr.bias_map(dr.clifford.representation(D), lat, bias), lat)["sigma_max"]
        closed = float(dr.stability_bound(m, 0.1, sig)["dt_max"])
        found = largest_stable_dt(lambda h, lat=lat, m=m, bias=bias: dr.stable_network(lat, m, h, bias=bias), 0.3,
                                  grid)
        out.append((D, bias, m, sig, closed, found))
    dev = max(abs(f / c - 1) for *_, c, f in out)
    return Outcome(
        "exact" if dev < 1e-5 else "fails", dev,
        "; ".join(f"{d}D {b}, m = {m}, sigma_max = {s:g}: closed form h_max = {c:.7f}, bisection on the network's "
                  f"symbol {f:.7f}" for d, b, m, s, c, f in out)
        + f"; max relative deviation {dev:.1e} (bisection to 1e-6)",
    )


def _positive_packet(bias: str, dt: float) -> tuple:
    """The 1+1 stable-network model (``m = 1``, ``N = 96``, ``a = 0.5``) and a positive-energy packet of its lattice
    ``H(k)`` (``k0 = 0.8``, width 1.5, centred): far enough from the seam that its periodized tails move ``<x>`` by
    less than round-off over ``t <= 4``."""
    from ...lattice import Lattice
    from ...theories import dirac as dr

    M = dr.model(Lattice((96,), 0.5), 1.0, dt, network="stable", bias=bias)
    return M, dr.gaussian_packet(M.theory, width=1.5, k0=[0.8], branch="positive")


@register("(4.37) current", section=4,
          title="the current J = a^D sum psi^dag alpha psi carries the charge: d<x>/dt = J/Q for a positive-energy "
                "packet of the lattice H (1+1, forward and Wilson maps, the networks' dt -> 0 dynamics)",
          expected="exact")
def check_current() -> Outcome:
    # Ehrenfest on the lattice: d<x>/dt = <dH/dk> and, in the positive band, P+ (dH/dk) P+ = (d omega/dk) P+; in
    # 1+1 with both maps omega^2 = m^2 + 4 sin^2(ka/2)/a^2 and P+ alpha P+ = (sin(ka)/(a omega)) P+ = (d omega/dk) P+,
    # so <alpha> = J/Q equals d<x>/dt exactly (not only to O(a^2)): <x> moves on a straight line at J/Q, J constant.
    # psi(t) = exp(-i H t) psi(0) exactly (Dirac.evolve, the semi-discrete system whose symbol check (4.20)/(4.37)
    # H(k) ties to the networks'); the networks at finite dt: check "(4.37) current, network".
    T, res, parts = 4.0, {}, []
    for bias in ("forward", "wilson"):
        M, (phi, pi) = _positive_packet(bias, 0.05)
        th = M.theory
        psi0 = np.asarray(th.pack(phi, pi))
        psiT = th.evolve(psi0, T)
        v = float(th.mean_position(psiT)[0] - th.mean_position(psi0)[0]) / T
        j0, jT = (float(th.current(p)[0] / th.charge(p)) for p in (psi0, psiT))
        res[bias] = max(abs(j0 / v - 1), abs(jT / v - 1))
        parts.append(f"{bias}: (<x>(T) - <x>(0))/T = {v:.12f}, J/Q = {j0:.12f} (t = 0), {jT:.12f} (t = T)")
    worst = max(res.values())
    k0 = 0.8
    return Outcome(
        "exact" if worst < EXACT_TOL else "fails", worst,
        f"1+1, m = 1, k0 = {k0}, a = 0.5, exact lattice evolution to T = {T}: " + "; ".join(parts)
        + f"; max relative difference {worst:.1e} (the continuum group velocity k/omega = "
        f"{k0 / math.sqrt(1 + k0**2):.5f} differs by O(a^2))",
    )


def ehrenfest_residual(dt: float, T: float = 4.0) -> tuple[float, float]:
    """The stable network's (Wilson, :func:`_positive_packet`) relative residual
    ``|(<x>(T) - <x>(0))/T - mean J/Q| / |(<x>(T) - <x>(0))/T|``, the mean by the trapezoid rule over every tick, and
    the peak-to-peak of ``J/Q`` (its Zitterbewegung): ``scripts/ehrenfest_current.py`` and the check below."""
    M, (phi, pi) = _positive_packet("wilson", dt)
    th = M.theory
    s0 = M.initial_state(phi, pi)
    n = int(round(T / dt))
    _, obs = M.network.run(s0, n, 1, M.observables)
    psi0 = M.psi(s0)
    x = np.concatenate([[float(th.mean_position(psi0)[0])], np.asarray(obs["position_x"])])
    j = np.concatenate([[float(th.current(psi0)[0] / th.charge(psi0))],
                        np.asarray(obs["current_x"]) / np.asarray(obs["charge"])])
    v = (x[-1] - x[0]) / T
    return abs(v - float(np.trapezoid(j, dx=dt)) / T) / abs(v), float(j.max() - j.min())


@register("(4.37) current, network", section=4,
          title="the stable network's run: (<x>(T) - <x>(0))/T minus the time mean of J/Q vanishes at the network's "
                "order in dt (1)", expected="continuum")
def check_current_network() -> Outcome:
    # the stable network is order 1 (phi and pi read at the same tick are O(dt) apart from one spinor): its psi
    # holds an O(dt) negative-energy part, J/Q oscillates (Zitterbewegung, amplitude O(dt)) and the Ehrenfest
    # relation of check (4.37) current holds to O(dt); the mean of J/Q is the trapezoid rule over every tick
    T, dts = 4.0, (0.02, 0.01)
    res = [ehrenfest_residual(dt, T)[0] for dt in dts]
    order = float(np.log2(res[0] / res[1]))
    return Outcome(
        "continuum" if abs(order - 1) < 0.3 and res[1] < 0.01 else "fails", order,
        f"1+1 stable network (Wilson), m = 1, k0 = 0.8, a = 0.5, T = {T}: |(<x>(T) - <x>(0))/T - mean J/Q| relative "
        f"{res[0]:.2e} (dt = {dts[0]}), {res[1]:.2e} (dt = {dts[1]}); order in dt {order:.2f} (the network's: 1)",
    )


def _closed_form_energies(m: float, a: float, k: list[float], bias: str, K: int) -> np.ndarray:
    """The energies of ``H(k)`` from their closed forms, ascending (``K`` of them, ``-omega`` and ``+omega`` each).

    twisted Wilson (any D): ``omega^2 = m^2 + sum_mu s_mu^2 + r^2 (sum_mu c_mu)^2`` (``r = 1``);
    forward, D = 1: ``omega^2 = m^2 + (4/a^2) sin^2(k a/2)`` (``B B^T = -Lap``);
    forward, D = 3: ``omega^2 = m^2 + |s|^2 + |c|^2 -+ 2 |c x s|`` (the eigenvalues of ``B B^dagger(k)``, Notes),
    with ``s_mu = sin(k_mu a)/a`` and ``c_mu = (1 - cos k_mu a)/a``.
    """
    s = np.array([math.sin(kk * a) / a for kk in k])
    c = np.array([(1 - math.cos(kk * a)) / a for kk in k])
    if bias == "wilson":
        w2 = np.full(K // 2, m**2 + np.sum(s**2) + np.sum(c) ** 2)
    elif len(k) == 1:
        w2 = np.array([m**2 + 4 * math.sin(k[0] * a / 2) ** 2 / a**2])
    else:
        cross = float(np.linalg.norm(np.cross(c, s)))
        w2 = m**2 + np.sum(s**2) + np.sum(c**2) + np.array([-2 * cross, 2 * cross])
    w = np.sqrt(w2)
    return np.sort(np.concatenate([-w, w]))


@register("(4.37) energy", section=4,
          title="the energy observable a^D sum psi^dag H psi of each plane-wave eigenstate is +-omega(k) times its "
                "charge (closed-form lattice dispersion)", expected="exact")
def check_energy_observable() -> Outcome:
    import jax
    import jax.numpy as jnp

    from ...lattice import Lattice
    from ...theories import dirac as dr

    # what every run records ("energy", in position space, and "charge") on the K eigenstates u e^{i k.x} of the
    # physics-side H(k) (which check (4.20)/(4.37) H(k) ties to the network's symbol): E/Q must be the
    # eigenvalue, +-omega(k), written here from the closed forms; a wrong mass term, hop or sign in the
    # observable moves it off
    m, h = 0.7, 0.05
    res = {}
    for shape, a, bias, n in (((16,), 0.5, "forward", (3,)), ((16,), 0.5, "wilson", (5,)),
                              ((4, 6, 5), 0.8, "forward", (1, 2, -2)), ((4, 6, 5), 0.8, "wilson", (1, -1, 2))):
        lat = Lattice(shape, a)
        M = dr.model(lat, m, h, network="stable", bias=bias)
        K = M.theory.K
        k = [2 * math.pi * nj / (N * a) for nj, N in zip(n, shape, strict=True)]
        _, U = np.linalg.eigh(M.theory.hamiltonian_symbol([np.asarray(kk) for kk in k]))
        wave = np.exp(1j * sum(kk * x for kk, x in zip(k, lat.coordinates(), strict=True)))
        states = []
        for j in range(K):
            phi, pi = M.theory.unpack(U[:, j].reshape(K, *[1] * lat.ndim) * wave[None])
            states.append(M.initial_state(np.asarray(phi), np.asarray(pi)))
        batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *states)
        obs = jax.jit(jax.vmap(M.observables))(batch)
        got = np.sort(np.asarray(obs["energy"]) / np.asarray(obs["charge"]))
        want = _closed_form_energies(m, a, k, bias, K)
        res[f"{lat.ndim}D {bias}"] = float(np.abs(got - want).max() / np.abs(want).max())
    worst = max(res.values())
    return Outcome(
        "exact" if worst < EXACT_TOL else "fails", worst,
        f"m = {m}, one lattice momentum each: max |E/Q - (+-omega(k))| / omega over the K eigenstates: "
        + ", ".join(f"{name} {r:.1e}" for name, r in res.items())
        + "; omega^2 = m^2 + 4 sin^2(ka/2)/a^2 (1D forward), m^2 + |s|^2 + |c|^2 -+ 2|c x s| (3D forward), "
        "m^2 + |s|^2 + (sum c)^2 (Wilson), s = sin(ka)/a, c = (1 - cos ka)/a",
    )
