r"""Linear stability and dispersion of translation-invariant networks, from their own step function.

For a network whose one-tick map is linear and translation invariant (or linearized about ``phi = pi = 0``),
``state(t+1)(x) = sum_y G(x - y) state(t)(y)``. The kernel ``G`` is measured by applying the network's
``step`` (the same jitted code that runs simulations, autodiff learning included) to unit impulses on a
small periodic lattice, and the one-step Fourier symbol is

    M(k) = sum_d G(d) exp(-i k . d a)           ((2K) x (2K) per momentum; state = (phi, pi))

so plane waves ``v exp(i (k.x - Omega t))`` evolve with ``exp(-i Omega tick) = lambda(k)``, the eigenvalues
of ``M(k)``. The network is linearly stable when ``max_k |lambda(k)| <= 1`` (up to round-off); its
dispersion relation is ``Omega(k) = |arg lambda(k)| / tick``. The largest stable step is found by bisection
over a ``dt -> network`` factory.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from ._xla import jit_run_once
from .errors import NotAnalysableError, ParameterError
from .lattice import Lattice
from .network import AbstractNetwork
from .state import State

STABILITY_TOL = 1e-6  # numerical eigenvalues of defective (Jordan) blocks err by ~sqrt(eps)


def _impulse_kernel_impl(network: AbstractNetwork, zero: State, impulses: jax.Array) -> State:
    # compile time: the linearization point and the impulses are arguments (as constants XLA folds the
    # computation at compile time), and phi, pi are joined outside (a concatenate at the root of the fused
    # step slows XLA's CPU compiler further); together 9 s -> 0.3 s for a 3D leapfrog step. Compiled without
    # LLVM's optimizations (``_xla.jit_run_once``): it runs once per network, on a (2 r + 1)^D lattice
    K = network.K
    _, lin = jax.linearize(network.perturbation_step, zero)

    def respond(imp: jax.Array) -> State:
        return lin(State(imp[:K], imp[K:]))

    return jax.vmap(respond)(impulses)  # (in, out, *shape), impulse at site 0


_impulse_kernel_jit = jit_run_once(_impulse_kernel_impl)


def _with_lattice(obj: Any, lattice: Lattice) -> Any:
    """``obj`` (a network, or any part of one) with every :class:`~nnfield.lattice.Lattice` it holds replaced by
    ``lattice``; the parts that hold none are returned as they are (shallow copies of the rest).

    A network's lattice is a static field, part of the key of every program compiled from it; the impulse
    response is computed on its own small lattice, so the network is moved onto that lattice first, and networks
    that differ only in their lattice's shape share one compiled kernel (they compiled one each before).
    """
    if isinstance(obj, Lattice):
        return lattice
    if isinstance(obj, Partial):
        args = _with_lattice(tuple(obj.args), lattice)
        kwargs = {k: _with_lattice(v, lattice) for k, v in obj.keywords.items()}
        if args is tuple(obj.args) and all(kwargs[k] is v for k, v in obj.keywords.items()):
            return obj
        return Partial(obj.func, *args, **kwargs)
    if isinstance(obj, eqx.Module):
        changed = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            new = _with_lattice(value, lattice)
            if new is not value:
                changed[f.name] = new
        if not changed:
            return obj
        out = copy.copy(obj)
        for name, value in changed.items():
            object.__setattr__(out, name, value)
        return out
    if type(obj) in (tuple, list):
        items = [_with_lattice(v, lattice) for v in obj]
        return obj if all(a is b for a, b in zip(items, obj, strict=True)) else type(obj)(items)
    if type(obj) is dict:
        items = {k: _with_lattice(v, lattice) for k, v in obj.items()}
        return obj if all(items[k] is v for k, v in obj.items()) else items
    return obj


def _impulse_kernel(network: AbstractNetwork, radius: int, ndim: int, dtype: Any) -> np.ndarray:
    """``G[out, in, *offsets]`` on a ``(2 radius + 1)^D`` lattice, offsets centred (index ``radius`` = 0)."""
    K = network.K
    shape = (2 * radius + 1,) * ndim
    network = _with_lattice(network, network.lattice.with_shape(shape))
    impulses = np.zeros((2 * K, 2 * K, *shape), dtype)
    impulses[(np.arange(2 * K), np.arange(2 * K)) + (0,) * ndim] = 1.0
    zero = State(np.zeros((K, *shape), dtype), np.zeros((K, *shape), dtype))
    out = _impulse_kernel_jit(network, zero, impulses)
    g = np.swapaxes(np.concatenate([np.asarray(out.phi), np.asarray(out.pi)], axis=1), 0, 1)
    return np.fft.fftshift(g, axes=tuple(range(2, 2 + ndim)))  # offset d = index - radius


class NotTranslationInvariantError(NotAnalysableError):
    """The network has per-site coefficients (e.g. gauge links), so it has no Fourier symbol."""


def check_translation_invariant(network: AbstractNetwork) -> None:
    """Raise :class:`NotTranslationInvariantError` if any array of the network varies over the sites.

    Per-site arrays are recognized by their trailing axes equal to the lattice shape (e.g. ``(K, K, *shape)``).
    """
    lat: Lattice = network.lattice
    nd = lat.ndim
    for leaf in jax.tree_util.tree_leaves(network):
        shape = tuple(np.shape(leaf))
        if len(shape) >= nd + 2 and shape[-nd:] == lat.shape:
            raise NotTranslationInvariantError(
                f"{network.name} has per-site coefficients of shape {shape} (e.g. gauge "
                "links or a position-dependent potential): it is not translation invariant and has no Fourier "
                "symbol; analyse a uniform configuration instead, or the dense spectrum of a small lattice"
            )


def one_step_symbol(
    network: AbstractNetwork, k: Sequence[Any], spacing: float | None = None, radius: int | None = None
) -> np.ndarray:
    """The one-tick symbol ``M(k)``, shape ``(*k.shape, 2K, 2K)``, ordered ``(phi^1..phi^K, pi^1..pi^K)``.

    ``radius`` is the kernel half-width probed (grown automatically until the kernel vanishes at the edge).
    Raises :class:`NotTranslationInvariantError` for networks with per-site coefficients.
    """
    check_translation_invariant(network)
    lat: Lattice = network.lattice
    a = lat.spacing if spacing is None else spacing
    nd = lat.ndim
    if len(k) != nd:  # fewer components were read as k = 0 on the missing axes, more failed with an IndexError
        raise ParameterError("k", f"expected {nd} momentum component{'s' if nd > 1 else ''} (one per axis of "
                             f"{network.name}'s {nd}D lattice), got {len(k)}")
    dtype = jnp.float64 if jax.config.read("jax_enable_x64") else jnp.float32
    r = radius or 3
    while True:
        g = _impulse_kernel(network, r, nd, dtype)
        edge = max(np.abs(np.take(g, idx, axis=2 + mu)).max() for mu in range(nd) for idx in (0, -1))
        if edge == 0.0 or r >= 12:
            break
        r *= 2
    k = np.broadcast_arrays(*[np.asarray(kk, dtype=float) for kk in k])
    n_out, n_in = g.shape[:2]
    flat_g = g.reshape(n_out * n_in, -1)
    nz = np.flatnonzero(np.abs(flat_g).max(axis=0) > 0)  # the offsets the kernel reaches
    d = np.stack(np.unravel_index(nz, g.shape[2:]), axis=-1) - r  # (n_nz, D) offsets
    kd = sum(kk.reshape(-1, 1) * d[:, mu] for mu, kk in enumerate(k))  # (n_k, n_nz), summed as before
    phase = np.exp(-1j * a * kd)  # (n_k, n_nz): exp(-i k . d a) of each offset, M(k) = phase @ G(d)
    with np.errstate(invalid="ignore", over="ignore"):  # a kernel that overflowed (inf) gives a non-finite M(k)
        out = phase @ flat_g[:, nz].T.astype(complex)
    return out.reshape(*k[0].shape, n_out, n_in)


def brillouin_grid(lattice: Lattice, n: int | None = None) -> list[np.ndarray]:
    """An ``n^D`` momentum grid over the Brillouin zone ``[-pi/a, pi/a)`` (includes ``k = 0`` and the corners)."""
    nd = lattice.ndim
    if n is None:
        n = _default_grid_size(nd)
    k1 = 2 * np.pi * np.fft.fftfreq(n, d=lattice.spacing)
    return list(np.meshgrid(*([k1] * nd), indexing="ij"))


def half_brillouin_grid(lattice: Lattice, n: int | None = None) -> list[np.ndarray]:
    """One momentum of each pair ``(k, -k)`` of :func:`brillouin_grid` (and every ``k`` equal to its own ``-k``).

    A network of real fields has a real impulse kernel, so ``M(-k) = conj(M(k))`` and both have eigenvalues of
    the same moduli: growth factors need only this half of the grid (flat vectors, about ``n^D / 2`` points).
    """
    return _half(brillouin_grid(lattice, n))


def _half(grid: list[np.ndarray]) -> list[np.ndarray]:
    """One point of each pair ``(k, -k)`` of a periodic momentum grid (``fftfreq`` order on every axis), flat."""
    shape = grid[0].shape
    idx = np.indices(shape).reshape(len(shape), -1)
    flat = np.ravel_multi_index(tuple(idx), shape)
    neg = np.ravel_multi_index(tuple((-idx) % np.asarray(shape)[:, None]), shape)
    keep = flat <= neg
    return [kk.reshape(-1)[keep] for kk in grid]


def lattice_mode_count(lattice: Lattice) -> int:
    """The number of Fourier modes of ``lattice``: its number of sites, ``prod_mu N_mu``."""
    return int(np.prod(lattice.shape, dtype=np.int64))


def lattice_modes(lattice: Lattice, half: bool = True) -> list[np.ndarray]:
    """The momenta a periodic ``lattice`` has: ``k_mu = 2 pi n_mu / (N_mu a)``, ``n_mu = 0 .. N_mu - 1`` (taken
    into ``[-pi/a, pi/a)`` as ``np.fft.fftfreq`` does), one flat array per axis (``N_mu`` may differ per axis).

    A field on the lattice is a sum of exactly these plane waves, so a linear one-tick map is stable on the lattice
    iff ``max |lambda(k)| <= 1`` over them: the exact verdict, where a Brillouin grid (:func:`brillouin_grid`)
    both adds momenta the lattice does not have (a 1-site lattice has only ``k = 0``) and may miss the lattice's
    worst one. With ``half`` one of each pair ``(k, -k)`` (as :func:`half_brillouin_grid`; the moduli of their
    eigenvalues are equal for a real network).
    """
    axes = [2 * np.pi * np.fft.fftfreq(n, d=lattice.spacing) for n in lattice.shape]
    grid = list(np.meshgrid(*axes, indexing="ij"))
    return _half(grid) if half else [kk.reshape(-1) for kk in grid]


def lattice_subset_modes(lattice: Lattice, per_axis: int = 8) -> list[np.ndarray]:
    """A subset of :func:`lattice_modes` (``half``) for a coarse first search: on each axis of ``N`` sites the
    momenta ``n = 0, s, 2 s, ...`` with the stride ``s = max(1, N // per_axis)`` (``k = 0`` always; ``k = pi/a``
    too when ``s`` divides ``N / 2``), one of each ``(k, -k)``."""
    axes = []
    for n in lattice.shape:
        stride = max(1, n // per_axis)
        axes.append(2 * np.pi * np.fft.fftfreq(n, d=lattice.spacing)[::stride])
    grid = list(np.meshgrid(*axes, indexing="ij"))
    # one of each (k, -k) by the lattice's own index arithmetic (a strided subset is not closed under k -> -k)
    idx = [np.rint(kk * (n * lattice.spacing) / (2 * np.pi)).astype(np.int64) % n
           for kk, n in zip(grid, lattice.shape, strict=True)]
    shape = np.asarray(lattice.shape)
    flat = np.ravel_multi_index(tuple(i.reshape(-1) for i in idx), lattice.shape)
    neg = np.ravel_multi_index(tuple((-i.reshape(-1)) % n for i, n in zip(idx, shape, strict=True)), lattice.shape)
    present = set(flat.tolist())
    keep = np.array([f <= g or g not in present for f, g in zip(flat.tolist(), neg.tolist(), strict=True)])
    return [kk.reshape(-1)[keep] for kk in grid]


def _eigvals(M: np.ndarray) -> np.ndarray:
    """``np.linalg.eigvals`` of a stack of matrices; a matrix with a non-finite entry (the step overflowed float64
    on an impulse: parameters far outside any stable range) gets eigenvalues ``inf``, i.e. unbounded growth."""
    bad = ~np.isfinite(M).all(axis=(-2, -1))
    try:
        if not bad.any():
            return np.linalg.eigvals(M)
        lam = np.linalg.eigvals(np.where(bad[..., None, None], 0.0, M))
    except np.linalg.LinAlgError as exc:  # LAPACK's QR iteration failed: a symbol too ill-conditioned to analyse
        scale = float(np.abs(M[~bad]).max()) if (~bad).any() else math.nan
        raise NotAnalysableError(
            f"the one-step symbol's eigenvalues did not converge ({exc}; entries up to {scale:.3g}): the parameters "
            "make it too ill-conditioned to analyse") from None
    lam[bad] = np.inf
    return lam


def eigenvalues(network: AbstractNetwork, k: Sequence[Any] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """Eigenvalues of ``M(k)`` on ``k`` (default: a Brillouin-zone grid). Returns ``(k, lambda[..., 2K])``; ``inf``
    where ``M(k)`` is not finite (:func:`_eigvals`)."""
    if k is None:
        k = brillouin_grid(network.lattice)
    return list(k), _eigvals(one_step_symbol(network, k))


def max_amplification(network: AbstractNetwork, k: Sequence[Any] | None = None) -> float:
    """``max_k |lambda(k)|``: the largest growth factor per tick (default ``k``: the Brillouin grid, of which
    :func:`half_brillouin_grid` is evaluated: ``|lambda(-k)| = |lambda(k)|`` for the real networks here)."""
    if k is None:
        k = half_brillouin_grid(network.lattice)
    return float(np.abs(eigenvalues(network, k)[1]).max())


def is_stable(network: AbstractNetwork, k: Sequence[Any] | None = None, tol: float = STABILITY_TOL) -> bool:
    return max_amplification(network, k) <= 1.0 + tol


def largest_stable_dt(
    factory: Callable[[float], Any], dt_hint: float, k: Sequence[Any] | None = None, rel: float = 1e-6,
    coarse_k: Sequence[Any] | None = None,
) -> float:
    """The largest ``dt`` for which ``factory(dt)`` is stable (0 if unstable at every dt probed).

    Searches a geometric grid from ``dt_hint * 1e-2`` up to ``dt_hint * 1e2`` for the first unstable step and
    bisects to relative precision ``rel``. Assumes stability is lost once, as ``dt`` grows (true for
    leapfrog-type networks; schemes unstable at every ``dt`` return 0).

    With the default ``k`` (the half Brillouin grid) the same search is first run on a coarse sub-grid of it
    (``n / 4`` points per axis, zone centre and corners included). Growth on a sub-grid implies growth on the
    grid, so the coarse search bounds the answer from above; one evaluation on the full grid at the coarse
    answer then decides, by the same monotonicity, every probe of the full search outside the last coarse
    bracket, and only probes inside it are evaluated. Under that assumption the probes, their verdicts and the
    result are those of the full search alone; it evaluates the full grid 1-3 times instead of about 25.
    A given ``k`` is searched directly, or, with ``coarse_k`` (a subset of it, e.g. :func:`lattice_subset_modes`
    of :func:`lattice_modes`), by :func:`_refined_stable_dt`: the same answer to ``rel`` with most probes on the
    subset.

    A network whose stable steps form islands (the stable Dirac network above the lattice cutoff, ``m a > pi``:
    stable where ``dt sigma_max <= 2 |cos(m dt / 2)|``) can put a stable probe beyond the first loss of
    stability. The search then ends in an island, and the answer depends on ``dt_hint``. :func:`_first_loss`
    catches this from the probes the search already made: a stable network's largest eigenphase
    ``max |arg lambda|`` grows with ``dt`` until two eigenvalues meet at -1, so a phase that *fell* between two
    stable probes means the eigenvalues went through -1 between them. That interval is walked upward with steps
    that keep the predicted phase below pi (at most 32 probes), and a loss found there is bisected: the answer
    is the first loss, whatever the hint. A monotone network's answer is unchanged (its phases never fall; no
    extra probe is made). A gap narrower than the walk's smallest step (``(b/a)^(1/32)``, 1.8% of ``dt`` for the
    scan's factor 1.78), between probes less than 1% apart, or one the phases do not reveal can still be missed.
    """
    if not (isinstance(rel, (int, float, np.integer, np.floating)) and not isinstance(rel, bool)
            and 0.0 < float(rel) < 1.0):
        raise ParameterError("rel", f"expected a relative precision 0 < rel < 1, got {rel!r}")
    network = _latest(factory)
    if k is not None and coarse_k is None:
        probe = _Probe(network, k)
        return _first_loss(probe.phase, probe, _bisect_stable_dt(probe, dt_hint, rel), rel)
    if k is not None:
        subset = _Probe(network, list(coarse_k))  # type: ignore[arg-type]
        found_dt = _refined_stable_dt(network, dt_hint, list(k), subset, rel)
        return _first_loss(subset.phase, _Probe(network, k), found_dt, rel)

    lattice = network(float(dt_hint * 1e-2)).lattice
    n = _default_grid_size(lattice.ndim)
    n_coarse = next((c for c in range(max(2, n // 4), n) if n % c == 0 and c % 2 == 0), n)
    coarse_grid = half_brillouin_grid(lattice, n_coarse)
    full_grid = half_brillouin_grid(lattice)
    stable_below = 0.0  # every dt <= this is stable on the full grid (monotonicity)
    unstable_from = math.inf  # every dt >= this is unstable on the full grid (growth on a sub-grid)
    coarse = _Probe(network, coarse_grid)

    found = _bisect_stable_dt(coarse, dt_hint, rel, bracket=True)
    if isinstance(found, tuple):  # (stable, unstable) on the coarse grid; else inf: no bound from it
        lo_c, unstable_from = found
        if lo_c > 0.0 and is_stable(network(lo_c), full_grid):
            stable_below = lo_c

    def full(dt: float) -> bool:
        nonlocal stable_below, unstable_from
        if dt <= stable_below:
            return True
        if dt >= unstable_from:
            return False
        ok = coarse(dt) and is_stable(network(dt), full_grid)
        if ok:
            stable_below = dt
        else:
            unstable_from = dt
        return ok

    return _first_loss(coarse.phase, _Probe(network, full_grid), _bisect_stable_dt(full, dt_hint, rel), rel)


class _Probe:
    """``probe(dt)``: whether ``network(dt)`` is stable on the momenta ``k`` (:func:`is_stable`); keeps the largest
    eigenphase ``max |arg lambda|`` of every stable probe in ``phase`` (for :func:`_first_loss`)."""

    def __init__(self, network: Callable[[float], Any], k: Sequence[Any]) -> None:
        self.network = network
        self.k = k
        self.phase: dict[float, float] = {}

    def __call__(self, dt: float) -> bool:
        lam = eigenvalues(self.network(dt), self.k)[1]
        ok = bool(np.abs(lam).max() <= 1.0 + STABILITY_TOL)
        if ok:
            self.phase[dt] = float(np.abs(np.angle(lam)).max())
        return ok


#: the most probes :func:`_first_loss` makes in one interval whose phase fell
FIRST_LOSS_PROBES = 32
#: :func:`_first_loss` examines pairs of stable probes at least this ratio apart (closer ones: the bisection's
#: last steps, where a higher-order scheme's largest phase may level off and fall slightly before the edge)
FIRST_LOSS_MIN_RATIO = 1.01


def _first_loss(phase: dict[float, float], full: _Probe, found: float, rel: float) -> float:
    """The first loss of stability below ``found`` (the search's answer), from the phases of its stable probes.

    Between two stable probes ``a < b`` whose largest eigenphase fell (``phase[b] < phase[a]``, beyond round-off),
    or would have passed pi growing in proportion to ``dt`` but grew less (``phase[a] b / a >= pi > phase[b]
    ...``: near a meeting at -1 the phase grows faster than in proportion, as ``pi - c sqrt(dt_c - dt)``), the
    eigenvalues may have gone through -1: the interval is walked upward on ``full``'s momenta from ``a``, each step
    ``dt -> dt (1 + (pi - theta) / (2 theta))`` (the phase, growing in proportion to ``dt``, would cover half its
    distance to pi), at least ``(b/a)^(1/FIRST_LOSS_PROBES)``; pairs closer than :data:`FIRST_LOSS_MIN_RATIO` are
    not examined. The first unstable probe is bisected against the
    stable one before it to ``rel``. ``found`` is returned when no phase fell (a monotone network: nothing is
    evaluated) or the walk finds no loss.
    """
    if not (0.0 < found < math.inf):
        return found
    points = sorted(d for d in phase if d <= found)
    for a, b in zip(points, points[1:], strict=False):
        if b < a * FIRST_LOSS_MIN_RATIO:  # the bisection's last probes, where phases may level off at an edge
            continue
        tol = 1e-9 * math.pi
        fell = phase[b] < phase[a] - tol
        # or it may have gone round: proportional growth would have passed pi, but the phase at b is smaller
        wrapped = phase[a] * b / a >= math.pi and phase[b] < phase[a] * b / a - tol
        if not (fell or wrapped) or not full(a):
            continue
        smallest = (b / a) ** (1.0 / FIRST_LOSS_PROBES)
        dt = a
        while dt < b:
            theta = full.phase[dt]
            step = 1.0 + (math.pi - theta) / (2.0 * theta) if theta > 0.0 else math.inf
            nxt = min(b, dt * max(smallest, step))
            if not nxt > dt:
                break
            if not full(nxt):
                return _bisect(full, dt, nxt, rel)[0]
            dt = nxt
    return found


def _refined_stable_dt(network: Callable[[float], Any], dt_hint: float, full: list[np.ndarray],
                       stable: _Probe, rel: float) -> float:
    """:func:`largest_stable_dt` on the momenta ``full`` with most probes on ``stable.k`` (a subset of ``full``).

    The search runs on the subset; growth there implies growth on ``full``, so its answer ``lo`` bounds the
    answer from above, and one evaluation of ``full`` at ``lo`` decides: all stable, and ``lo`` is the answer to
    ``rel`` (``full``'s bound lies between ``lo`` and the subset's unstable ``hi``); else the momenta of ``full``
    that grow at ``lo`` join the subset, the answer lies below ``lo``, and the search goes on from there (down
    from ``lo`` by relative steps 1e-3, 1e-2, ..., then bisection), usually once: a lattice's worst mode outside
    a coarse subset is its only addition. Assumes, as the direct search does, that stability is lost once as dt
    grows; then the answer equals the direct search's to ``rel``. ``network``: the factory (:func:`_latest`);
    ``stable``: the probe on the subset, whose momenta grow as modes are added.
    """
    found = _bisect_stable_dt(stable, dt_hint, rel, bracket=True)
    if not isinstance(found, tuple):  # stable on the subset at every dt probed: no bound from it
        return _bisect_stable_dt(lambda dt: is_stable(network(dt), full), dt_hint, rel)
    lo, hi = found
    floor = float(dt_hint * 1e-2)
    while lo > 0.0:
        amp = np.abs(eigenvalues(network(lo), full)[1]).max(axis=-1)
        grows = amp > 1.0 + STABILITY_TOL
        if not grows.any():
            return lo
        stable.k = [np.concatenate([s_, f[grows]]) for s_, f in zip(stable.k, full, strict=True)]
        hi, lo, step = lo, 0.0, 1e-3  # unstable at hi on the new subset (it holds the modes that grow there)
        while step < 1.0:
            dt = hi * (1.0 - step)
            if dt < floor:
                break
            if stable(dt):
                lo = dt
                break
            hi, step = dt, step * 10
        if lo == 0.0:  # below the search's range (dt / 100), as the direct search would report
            if floor < hi and stable(floor):
                lo = floor
            else:
                return 0.0
        lo, hi = _bisect(stable, lo, hi, rel)
    return 0.0


def _latest(factory: Callable[[float], Any]) -> Callable[[float], Any]:
    """``factory`` keeping the network of the last ``dt`` (one at a time: the searches ask for it again)."""
    cache: dict[float, Any] = {}

    def network(dt: float) -> Any:
        if dt not in cache:
            cache.clear()
            cache[dt] = factory(dt)
        return cache[dt]

    return network


def _bisect(stable: Callable[[float], bool], lo: float, hi: float, rel: float) -> tuple[float, float]:
    """Bisect ``(lo, hi)`` (``lo`` stable, ``hi`` not) to ``hi - lo <= rel hi``."""
    while hi - lo > rel * hi:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:  # adjacent floats: no dt lies between (a rel below machine epsilon looped forever)
            break
        if stable(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi


def _default_grid_size(ndim: int) -> int:
    """Points per axis of :func:`brillouin_grid`'s default grid."""
    return {1: 256, 2: 64, 3: 24}.get(ndim, 10)


def _bisect_stable_dt(stable: Callable[[float], bool], dt_hint: float, rel: float, bracket: bool = False) -> Any:
    """The search of :func:`largest_stable_dt` over a predicate ``stable(dt)``; with ``bracket`` the final
    ``(lo, hi)`` (``lo`` stable, ``hi`` not) when both exist, else the same float as without."""
    grid = dt_hint * np.logspace(-2, 2, 17)
    # a dt near the smallest float: its hundredth underflows to 0 (a network at dt = 0 cannot be built; found by
    # the config fuzz: a ZeroDivisionError for dt = 1e-323), its hundredfold may overflow
    grid = grid[(grid > 0) & np.isfinite(grid)]
    lo = 0.0
    hi = None
    for dt in grid:
        if stable(float(dt)):
            lo = float(dt)
        else:
            hi = float(dt)
            break
    if hi is None:
        return math.inf
    if lo == 0.0:
        return (0.0, hi) if bracket else 0.0
    lo, hi = _bisect(stable, lo, hi, rel)
    return (lo, hi) if bracket else lo


def network_dispersion(network: AbstractNetwork, k: Sequence[Any]) -> np.ndarray:
    """``Omega(k) = |arg lambda(k)| / tick`` for every branch, sorted per momentum, shape ``(*k.shape, 2K)``."""
    lam = _eigvals(one_step_symbol(network, k))
    return np.sort(np.abs(np.angle(lam)) / float(network.tick), axis=-1)


@dataclasses.dataclass
class AnalysisReport:
    """What ``nnfield analyze`` reports for a translation-invariant network."""

    name: str
    dt: float
    tick: float
    stable: bool
    max_amplification: float
    dt_max: float
    fraction_unstable: float
    k_path: np.ndarray = dataclasses.field(repr=False)
    omega_network: np.ndarray = dataclasses.field(repr=False)
    omega_theory: np.ndarray | None = dataclasses.field(repr=False, default=None)
    #: the lattice's own momenta on the path (``k_x = 2 pi n / (N a)``, ``0 <= k_x <= pi / a``) and the network's
    #: ``Omega`` there: the modes a run on the lattice has (empty when not asked for)
    k_lattice: np.ndarray = dataclasses.field(repr=False, default_factory=lambda: np.zeros(0))
    omega_lattice: np.ndarray = dataclasses.field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if not math.isfinite(x) else float(x)

        return {
            "name": self.name,
            "dt": self.dt,
            "tick": self.tick,
            "stable": bool(self.stable),
            "max_amplification": float(self.max_amplification),
            "dt_max": num(self.dt_max),
            "fraction_unstable": float(self.fraction_unstable),
            "dispersion": {
                "k": self.k_path.tolist(),
                "omega_network": self.omega_network.tolist(),
                "omega_theory": None if self.omega_theory is None else self.omega_theory.tolist(),
                "k_lattice": self.k_lattice.tolist(),
                "omega_lattice": self.omega_lattice.tolist(),
            },
            **self.extra,
        }


def analyze(
    network: AbstractNetwork,
    factory: Callable[[float], Any] | None = None,
    omega_theory: Callable[[list[np.ndarray]], np.ndarray] | None = None,
    n_path: int = 65,
    k: Sequence[Any] | None = None,
) -> AnalysisReport:
    """Stability verdict, growth factor, largest stable dt and dispersion along ``k = (kx, 0, ..)`` (a path of
    ``n_path`` points, and the lattice's own momenta on it).

    Args:
        network: the network to analyse.
        factory: ``dt -> network`` (same recipe) to find the largest stable step; without it ``dt_max`` is nan.
        omega_theory: ``k -> omega`` of the target field theory (e.g. the lattice Klein-Gordon omega_k).
        n_path: points on the dispersion path from ``k = 0`` to ``k = pi / a`` along the first axis.
        k: the momenta of the verdict (the growth factor, the fraction of growing modes) and of the ``dt_max``
            search, e.g. :func:`lattice_modes` of the lattice the network runs on; default the Brillouin grid
            of :func:`eigenvalues` (and :func:`largest_stable_dt`'s default grids).
    """
    from .network import _check_count

    _check_count("n_path", n_path, 1)  # 0 gave an empty dispersion without a word
    lat: Lattice = network.lattice
    _, lam = eigenvalues(network, k)
    amp = np.abs(lam).max(axis=-1)
    a = lat.spacing
    kx = np.linspace(0.0, np.pi / a, n_path)
    path = [kx] + [np.zeros_like(kx)] * (lat.ndim - 1)
    omega_net = network_dispersion(network, path)
    n0 = lat.shape[0]
    k_own = 2 * np.pi * np.arange(n0 // 2 + 1) / (n0 * a)  # the lattice's own k_x in [0, pi/a]
    omega_own = network_dispersion(network, [k_own] + [np.zeros_like(k_own)] * (lat.ndim - 1))
    dt_max = largest_stable_dt(factory, float(network.tick), k=k) if factory is not None else float("nan")
    return AnalysisReport(
        name=network.name,
        dt=float(network.dt),
        tick=float(network.tick),
        stable=bool(amp.max() <= 1.0 + STABILITY_TOL),
        max_amplification=float(amp.max()),
        dt_max=dt_max,
        fraction_unstable=float(np.mean(amp > 1.0 + STABILITY_TOL)),
        k_path=kx,
        omega_network=omega_net,
        omega_theory=_theory_dispersion(omega_theory, path),
        k_lattice=k_own,
        omega_lattice=omega_own,
    )


def _theory_dispersion(omega_theory: Callable[[list[np.ndarray]], Any] | None, path: list[np.ndarray]) -> Any:
    """``omega_theory(path)`` as an array, or ``None`` (no callable, or a model without a dispersion)."""
    omega = None if omega_theory is None else omega_theory(path)
    return None if omega is None else np.asarray(omega)
