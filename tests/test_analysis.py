"""Stability and dispersion analysis of the Sec. 3 networks against closed forms derived by hand.

For a Fourier mode with ``omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)`` the one-tick maps of the
Klein-Gordon networks on ``(phi_k, pi_k)`` are (``w = omega_k``, ``h = dt``):

    (3.8) simultaneous     [[1, h], [-h w^2, 1]]                    eigenvalues 1 +- i h w
    (3.8) alternating      [[1, h], [-h w^2, 1 - h^2 w^2]]          trace 2 - h^2 w^2, det 1
    (3.8) leapfrog         K(h/2) D(h) K(h/2), K(s) = [[1, 0], [-s w^2, 1]], D(h) = [[1, h], [0, 1]]
    (3.14) with step h     [[2 - h^2 w^2, 1], [-1, 0]]               (pi = -phi(t - h))

(``printed`` sign: ``w^2 -> -w^2``). Leapfrog-type maps have det 1 and are stable iff ``h w < 2`` for all k:
``dt_max = 2 / sqrt(4 D / a^2 + m^2)``; their phase gives ``4 sin^2(Omega h/2) / h^2 = w^2``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnfield import Lattice
from nnfield import analysis as an
from nnfield.theories import klein_gordon as kg

EPS = np.finfo(np.float64).eps
RTOL = 1e3 * EPS


def omega2(k: list[np.ndarray], a: float, m: float) -> np.ndarray:
    return m**2 + sum(4.0 / a**2 * np.sin(np.asarray(kk) * a / 2) ** 2 for kk in k)


def closed_form(kind: str, w2: np.ndarray, h: float) -> np.ndarray:
    """The 2x2 one-step matrices listed in the module docstring, shape ``(*w2.shape, 2, 2)``."""
    one, zero = np.ones_like(w2), np.zeros_like(w2)

    def mat(a, b, c, d):
        return np.stack([np.stack([a, b], -1), np.stack([c, d], -1)], -2)

    if kind == "simultaneous":
        return mat(one, h * one, -h * w2, one)
    if kind == "alternating":
        return mat(one, h * one, -h * w2, one - h**2 * w2)
    if kind == "leapfrog":
        K = mat(one, zero, -0.5 * h * w2, one)
        D = mat(one, h * one, zero, one)
        return K @ D @ K
    if kind == "3.14":
        return mat(2 - h**2 * w2, one, -one, zero)
    raise ValueError(kind)


def random_k(rng, ndim: int, a: float, n: int = 7) -> list[np.ndarray]:
    return [rng.uniform(-np.pi / a, np.pi / a, size=n) for _ in range(ndim)]


@pytest.mark.parametrize("ndim", [1, pytest.param(2, marks=pytest.mark.slow), 3])
@pytest.mark.parametrize("sign", ["corrected", "printed"])
def test_one_step_symbol_matches_closed_forms(rng, ndim, sign):
    a, m, dt = 0.7, 0.6, 0.3
    lat = Lattice((5,) * ndim, a)
    k = random_k(rng, ndim, a)
    w2 = omega2(k, a, m) * (1 if sign == "corrected" else -1)
    for scheme in ("simultaneous", "alternating", "leapfrog"):
        got = an.one_step_symbol(kg.momentum_network(lat, m, dt, scheme=scheme, sign=sign), k)
        want = closed_form(scheme, w2, dt)
        assert np.abs(got - want).max() <= RTOL * (1 + dt**2 * np.abs(w2).max()), scheme
    if sign == "corrected":
        got = an.one_step_symbol(kg.leapfrog_network(lat, m, dt), k)
        assert np.abs(got - closed_form("3.14", w2, dt)).max() <= RTOL * (2 + dt**2 * w2.max())
        # the literal tensors (3.8) with the corrected sign are the same linear map as the loss network
        lit = an.one_step_symbol(kg.printed_linear_network(lat, m, dt, sign="corrected"), k)
        assert np.abs(lit - closed_form("simultaneous", w2, dt)).max() <= RTOL * (1 + dt * w2.max())
    else:
        lit = an.one_step_symbol(kg.printed_linear_network(lat, m, dt), k)
        assert np.abs(lit - closed_form("simultaneous", w2, dt)).max() <= RTOL * (1 + dt * np.abs(w2).max())


def test_unit_step_3d_growth_factors():
    """NOTES (Sec. 3 stability): (3.13) grows by sqrt(1 + omega_max^2) = sqrt(13) per step at m = 0, a = 1;
    (3.19) by the larger root of ``lambda^2 - (2 - w^2) lambda + 1`` at ``w^2 = 12``: ``5 + 2 sqrt 6``, with
    every mode with ``w^2 > 4`` unstable (80 % of the Brillouin zone)."""
    lat = Lattice((8, 8, 8))
    grid = an.brillouin_grid(lat)  # includes k = 0 and the corner (pi, pi, pi)
    w2 = omega2(grid, 1.0, 0.0)
    assert w2.max() == pytest.approx(12.0, rel=RTOL)
    g313 = an.max_amplification(kg.momentum_network(lat, 0.0, 1.0, scheme="simultaneous"), grid)
    assert abs(g313 - np.sqrt(13.0)) <= RTOL * 13
    g319 = an.max_amplification(kg.leapfrog_network(lat, 0.0, 1.0), grid)
    assert abs(g319 - (5 + 2 * np.sqrt(6))) <= RTOL * 12
    assert abs(g319 - 9.899) < 1e-3
    rep = an.analyze(kg.leapfrog_network(lat, 0.0, 1.0), factory=lambda h: kg.leapfrog_network(lat, 0.0, h))
    assert not rep.stable
    expected_fraction = float(np.mean(w2 > 4.0 + 1e-9))  # w^2 = 4: double root -1 (marginal)
    assert rep.fraction_unstable == pytest.approx(expected_fraction, abs=1e-12)
    assert abs(expected_fraction - 0.80) < 0.02
    assert rep.dt_max == pytest.approx(2 / np.sqrt(12.0), rel=1e-5)
    # the unit-step (3.13) scheme has |lambda| = sqrt(1 + w^2) > 1 for every mode with w > 0
    rep13 = an.analyze(kg.momentum_network(lat, 0.3, 1.0, scheme="simultaneous"),
                       factory=lambda h: kg.momentum_network(lat, 0.3, h, scheme="simultaneous"))
    assert not rep13.stable and rep13.fraction_unstable == 1.0
    assert rep13.dt_max == 0.0
    json.dumps(rep.to_dict())  # serializable report


@pytest.mark.parametrize(
    ("ndim", "a", "m"),
    [(1, 1.0, 0.0), (3, 0.7, 2.0),
     pytest.param(2, 0.5, 1.0, marks=pytest.mark.slow), pytest.param(3, 1.0, 0.0, marks=pytest.mark.slow)],
)
def test_largest_stable_dt_is_cfl(ndim, a, m):
    """``dt_max = 2 / sqrt(4 D / a^2 + m^2)`` for the leapfrog network (3.8) and for (3.14)."""
    lat = Lattice((4,) * ndim, a)
    cfl = 2 / np.sqrt(4 * ndim / a**2 + m**2)
    grid = an.brillouin_grid(lat, 8)
    for factory in (lambda h: kg.momentum_network(lat, m, h, scheme="leapfrog"),
                    lambda h: kg.leapfrog_network(lat, m, h)):
        dt_max = an.largest_stable_dt(factory, 0.5, grid)
        assert dt_max == pytest.approx(cfl, rel=1e-5)
        assert an.is_stable(factory(0.999 * cfl), grid)
        assert not an.is_stable(factory(1.001 * cfl), grid)
    assert an.largest_stable_dt(lambda h: kg.momentum_network(lat, m, h, scheme="simultaneous"), 0.5, grid) == 0.0


@pytest.mark.parametrize("misses_the_edge", [False, True])
def test_coarse_to_fine_dt_search_gives_the_full_searchs_answer(monkeypatch, misses_the_edge):
    """``largest_stable_dt`` with the default grid pre-screens on a coarse sub-grid: it must return exactly what
    the search over the full half grid alone returns (the CFL bound of (3.8), 2 / sqrt(4 D / a^2 + m^2)), also
    when the coarse grid misses the fastest-growing mode (then the full grid decides every probe)."""
    lat = Lattice((6, 6), 0.5)
    m = 1.0

    def factory(h):
        return kg.momentum_network(lat, m, h, scheme="leapfrog")

    plain = an._bisect_stable_dt(lambda dt: an.is_stable(factory(dt), an.half_brillouin_grid(lat)), 0.3, 1e-6)
    assert plain == pytest.approx(2 / np.sqrt(8 / 0.5**2 + m**2), rel=1e-5)
    if misses_the_edge:  # a "coarse grid" of k = 0 only: stable up to dt = 2 / m, far above the CFL bound
        full = an.half_brillouin_grid
        monkeypatch.setattr(an, "half_brillouin_grid",
                            lambda lattice, n=None: full(lattice) if n is None else [np.zeros(1), np.zeros(1)])
    assert an.largest_stable_dt(factory, 0.3) == plain


@pytest.mark.parametrize("ndim", [1, 3])
def test_network_dispersion_matches_formula(rng, ndim):
    """Leapfrog networks: ``4 sin^2(Omega dt/2)/dt^2 = omega_k^2``; simultaneous: ``tan(Omega dt) = dt omega_k``."""
    a, m = 0.8, 0.5
    lat = Lattice((4,) * ndim, a)
    dt = 0.9 * 2 / np.sqrt(4 * ndim / a**2 + m**2)
    k = random_k(rng, ndim, a, 9)
    w = np.sqrt(omega2(k, a, m))
    lf = 2 / dt * np.arcsin(dt * w / 2)
    for net in (kg.momentum_network(lat, m, dt, scheme="leapfrog"), kg.leapfrog_network(lat, m, dt),
                kg.momentum_network(lat, m, dt, scheme="alternating")):
        om = an.network_dispersion(net, k)
        # the error of arcsin near its branch point is amplified: d Omega = d lambda / (dt |sin(Omega dt)|)
        tol = RTOL * (2 + (dt * w.max()) ** 2) / (dt * np.abs(np.sin(lf * dt)).min())
        assert np.abs(om - lf[:, None]).max() <= tol
    om = an.network_dispersion(kg.momentum_network(lat, m, dt, scheme="simultaneous"), k)
    assert np.abs(om - (np.arctan(dt * w) / dt)[:, None]).max() <= RTOL * (1 + dt * w.max()) / dt


def test_analyze_report_fields():
    lat = Lattice((8, 8), 0.5)
    m, dt = 1.0, 0.1
    net = kg.momentum_network(lat, m, dt, scheme="leapfrog")
    th = kg.KleinGordon(m, lat)
    rep = an.analyze(net, factory=lambda h: kg.momentum_network(lat, m, h, scheme="leapfrog"),
                     omega_theory=th.dispersion)
    assert rep.stable and rep.fraction_unstable == 0.0
    assert abs(rep.max_amplification - 1.0) <= 1e-12
    assert rep.dt_max == pytest.approx(2 / np.sqrt(4 * 2 / 0.25 + m**2), rel=1e-5)
    assert rep.k_path[0] == 0.0 and rep.k_path[-1] == pytest.approx(np.pi / 0.5)
    w = th.dispersion([rep.k_path, np.zeros_like(rep.k_path)])
    assert np.abs(rep.omega_theory - w).max() <= RTOL * w.max()
    assert np.abs(rep.omega_network[:, 0] - 2 / dt * np.arcsin(dt * w / 2)).max() <= 1e-9 * w.max()
    d = rep.to_dict()
    assert set(d) >= {"stable", "max_amplification", "dt_max", "fraction_unstable", "dispersion"}
    json.dumps(d)


@pytest.mark.parametrize("shape, n", [((7,), None), ((16,), 6), ((6, 6), 5), ((4, 4, 4), 4), ((4, 4, 4), 5)])
def test_half_brillouin_grid_takes_one_of_each_pair_and_gives_the_same_growth(shape, n):
    """``half_brillouin_grid``: every ``k`` of the grid is in it or has its ``-k`` (mod 2 pi / a) in it, exactly
    once; and the growth factor over it is the full grid's (``M(-k) = conj M(k)`` for real networks; the symbol of
    the simultaneous (3.8) network has no defective blocks, so the two maxima agree to round-off)."""
    lat = Lattice(shape, 0.7)
    full = np.stack([k.reshape(-1) for k in an.brillouin_grid(lat, n)], axis=-1)
    half = np.stack(an.half_brillouin_grid(lat, n), axis=-1)
    points = full.shape[0] ** (1 / len(shape))

    def key(k):  # the grid index of a momentum k = 2 pi j / (N a), j mod N: -k is -j mod N
        return tuple(np.round(k * lat.spacing * points / (2 * np.pi)).astype(np.int64) % round(points))

    keys = {key(k) for k in half}
    assert len(keys) == len(half)
    for k in full:
        assert (key(k) in keys) + (key(-k) in keys) >= 1
        assert not (key(k) in keys and key(-k) in keys and key(k) != key(-k))
    assert len(half) == (len(full) + sum(key(k) == key(-k) for k in full)) // 2
    net = kg.momentum_network(lat, 0.6, 0.5, scheme="simultaneous")  # growth > 1: a nontrivial maximum
    want = float(np.abs(an.eigenvalues(net, an.brillouin_grid(lat, n))[1]).max())
    got = float(np.abs(an.eigenvalues(net, an.half_brillouin_grid(lat, n))[1]).max())
    assert got == pytest.approx(want, rel=RTOL)


def test_networks_on_lattices_of_another_shape_share_one_impulse_kernel():
    """The impulse response is computed on its own small lattice, with the network moved onto it: networks that
    differ only in their lattice's shape compile one kernel, and give the same symbol bit for bit."""
    from nnfield.analysis import _impulse_kernel_jit

    k = [np.linspace(-0.7, 0.7, 5), np.linspace(0.1, 0.5, 5)]
    first = an.one_step_symbol(kg.momentum_network(Lattice((12, 10), 0.5), 1.3, 0.2), k)
    before = _impulse_kernel_jit._cache_size()
    for shape in [(16, 18), (30, 8), (64, 64)]:
        net = kg.momentum_network(Lattice(shape, 0.5), 1.3, 0.2)
        np.testing.assert_array_equal(an.one_step_symbol(net, k), first)
        assert net.lattice.shape == shape  # the caller's network is not changed
    assert _impulse_kernel_jit._cache_size() == before


def test_a_step_that_overflows_on_an_impulse_is_unbounded_growth():
    """Parameters far outside any stable range make the step overflow float64 on an impulse (a kernel with inf):
    the symbol is then not finite, and the analysis reports unbounded growth (eigenvalues inf) instead of failing
    in ``eigvals`` (found by the config fuzzer: a Maxwell network with spacing 1e-50 and dt 9e18)."""
    net = kg.momentum_network(Lattice((4, 4, 4), 1e-100), 1.0, 1e100)
    k = an.half_brillouin_grid(net.lattice)
    assert not np.isfinite(an.one_step_symbol(net, k)).all()
    assert an.max_amplification(net) == np.inf and not an.is_stable(net)
    lam = an._eigvals(np.stack([np.eye(2), np.full((2, 2), np.inf)]))
    np.testing.assert_array_equal(lam[0], [1.0, 1.0])
    assert np.isinf(lam[1]).all()
