r"""Free photons on the lattice: transverse plane waves and random transverse fields with a spectrum.

A photon is a transverse vector potential on the links, ``div A = 0`` with the backward divergence, i.e.
``sum_mu kappa_mu A_mu(k) = 0`` with ``kappa_mu = 1 - exp(-i k_mu a)``; its lattice dispersion is

    omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)      (m = 0 for Maxwell; m = m_A in the Higgs phase)

(the magnetic term's ``curl^T curl`` is ``-Lap_a`` on transverse fields). The data are positive frequency,
``A = Re sum_k A_k exp(i (k.x - omega_k t))`` and ``E = dA/dt = Re sum_k (-i omega_k) A_k exp(i k.x)`` at ``t = 0``:
each mode travels along ``+k``. There are no transverse photons in D = 1 (``kappa A = 0`` leaves nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import ParameterError
from ...initial import per_axis, wave_numbers
from ...lattice import Lattice


def kappa(lattice: Lattice, k: Sequence[Any] | None = None) -> np.ndarray:
    """``kappa_mu(k) = 1 - exp(-i k_mu a)`` (``(D, *k.shape)``; default: the lattice's FFT grid)."""
    k = lattice.momenta() if k is None else [np.asarray(x, dtype=float) for x in k]
    return np.stack([1 - np.exp(-1j * kk * lattice.spacing) for kk in k])


def transverse_modes(lattice: Lattice, A_k: np.ndarray, k: Sequence[Any] | None = None) -> np.ndarray:
    """``A_k - conj(kappa) (kappa . A_k) / |kappa|^2``: the transverse part of Fourier data ``(D, *shape)``
    (``k = 0`` is transverse: it is kept); ``k``: the momenta of ``A_k``'s sites (default: the FFT grid)."""
    kap = kappa(lattice, k)
    norm = np.sum(np.abs(kap) ** 2, axis=0)
    dot = np.sum(kap * A_k, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)
    return A_k - np.conj(kap) * coef[None]


def photon_omega(lattice: Lattice, mass: float = 0.0, k: Sequence[Any] | None = None) -> np.ndarray:
    """``omega_k = sqrt(m^2 + (4/a^2) sum sin^2(k a/2))`` (default: on the FFT grid)."""
    a = lattice.spacing
    k = lattice.momenta() if k is None else [np.asarray(x, dtype=float) for x in k]
    return np.sqrt(mass**2 + sum(4.0 / a**2 * np.sin(kk * a / 2) ** 2 for kk in k))


def _need_transverse(lattice: Lattice) -> None:
    if lattice.ndim < 2:
        raise ParameterError("lattice", "there are no transverse photons in D = 1 (the Gauss law leaves no "
                             "propagating mode); use a 2D or 3D lattice")


def _data(lattice: Lattice, A_k: np.ndarray, mass: float) -> tuple[np.ndarray, np.ndarray]:
    """``(A, E)`` real, ``(D, *shape)``, of the positive-frequency Fourier data ``A_k`` (FFT normalization).

    Each is a copy of the inverse FFT's real part (``np.real`` is a view, which kept both complex transforms
    alive with the data: 32 bytes per component and site instead of 8)."""
    axes = tuple(range(1, lattice.ndim + 1))
    w = photon_omega(lattice, mass)
    A = np.fft.ifftn(A_k, axes=axes).real.copy()
    E = np.fft.ifftn(-1j * w[None] * A_k, axes=axes).real.copy()
    return A, E


def plane_wave(
    lattice: Lattice, n: Sequence[int] | None = None, polarization: Sequence[float] | None = None,
    amplitude: float = 1.0, mass: float = 0.0, travelling: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """A photon ``A = amplitude Re(eps exp(i k.x))`` with the transverse part ``eps`` of ``polarization``.

    ``k = 2 pi n / (N a)`` (default ``n = [1, 0, ..]``); ``polarization`` defaults to ``e_1`` (the second axis).
    ``travelling`` gives ``E = dA/dt`` of the wave moving along ``+k``; otherwise ``E = 0`` (a standing wave,
    ``A(t) = A(0) cos(Omega t)`` exactly under the leapfrog). Returns ``(A, E)``, each ``(D, *shape)``.

    The zero mode ``n = 0`` is refused for a massless photon (``mass = 0``): a uniform ``A`` has no field strength
    and ``omega_0 = 0``, so it is a static flat connection (``F = 0``, ``E = 0``, zero energy), no photon. With a
    mass it is the massive photon at rest (``omega_0 = m``), which is kept.
    """
    k, eps, omega = _plane_wave_modes(lattice, n, polarization, mass)
    return _plane_wave_values(lattice.coordinates(), k, eps, omega, amplitude, travelling)


def _plane_wave_modes(lattice: Lattice, n: Sequence[int] | None, polarization: Sequence[float] | None,
                      mass: float) -> tuple[list[float], np.ndarray, float]:
    """``(k, eps, omega_k)`` of :func:`plane_wave`, with its checks."""
    _need_transverse(lattice)
    k = wave_numbers(lattice, n)
    if mass == 0 and not any(k):
        raise ParameterError("n", f"{[0] * lattice.ndim} is the zero mode k = 0: a uniform A has no field strength "
                             f"and a massless photon there has omega = 0 (a static flat connection, zero energy); "
                             f"choose a non-zero wave vector, e.g. n = {[1] + [0] * (lattice.ndim - 1)}")
    pol = np.asarray(per_axis("polarization", polarization, lattice.ndim, [0.0, 1.0] + [0.0] * (lattice.ndim - 2)),
                     dtype=complex)
    kap = np.array([1 - np.exp(-1j * kk * lattice.spacing) for kk in k])
    norm = float(np.sum(np.abs(kap) ** 2))
    eps = pol - (np.conj(kap) * np.sum(kap * pol) / norm if norm > 0 else 0.0)
    if not np.abs(eps).max() > 1e-12 * max(np.abs(pol).max(), 1.0):
        raise ParameterError("polarization", f"{list(np.real(pol))} is longitudinal for n = {n}: it has no "
                             f"transverse part; choose a polarization orthogonal to the wave vector")
    eps = eps / np.sqrt(np.sum(np.abs(eps) ** 2))
    return k, eps, float(photon_omega(lattice, mass, [np.asarray(kk) for kk in k]))


def _plane_wave_values(xs: Sequence[np.ndarray], k: Sequence[float], eps: np.ndarray, omega: float,
                       amplitude: float, travelling: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(A, E)`` of :func:`plane_wave` at the sites ``xs`` (the coordinates' grids, the lattice's or a slab's)."""
    wave = np.exp(1j * sum(kk * x for kk, x in zip(k, xs, strict=True)))
    view = (-1,) + (1,) * len(xs)
    A = amplitude * np.real(eps.reshape(view) * wave[None])
    E = amplitude * np.real(-1j * omega * eps.reshape(view) * wave[None]) if travelling else np.zeros_like(A)
    return A, E


def plane_wave_split(
    lattice: Lattice, mesh: Any, n: Sequence[int] | None = None, polarization: Sequence[float] | None = None,
    amplitude: float = 1.0, mass: float = 0.0, travelling: bool = True,
) -> tuple[Any, Any]:
    """:func:`plane_wave` built split over ``mesh`` along the first lattice axis (``(A, E)``, each ``(D, *shape)``
    split along its axis 1): each process evaluates its devices' slabs only, the same expressions, bit for bit."""
    from ...initial._split import slab_coordinates

    k, eps, omega = _plane_wave_modes(lattice, n, polarization, mass)
    return _split_fields(lattice, mesh, lambda rows: _plane_wave_values(
        slab_coordinates(lattice, rows), k, eps, omega, amplitude, travelling))


def _split_fields(lattice: Lattice, mesh: Any, block: Any) -> tuple[Any, Any]:
    """Two fields ``(D, *shape)`` split along axis 1 over ``mesh``, ``block(rows)`` both fields' planes ``rows``,
    each ``(D, len(rows), ...)`` (evaluated once per slab: the second kept until its field is placed)."""
    import jax

    from ...initial._split import _rows_of
    from ...sharding import state_sharding

    sharding = state_sharding(mesh, lattice.ndim)
    shape = (lattice.ndim, *lattice.shape)
    second: dict[int, np.ndarray] = {}

    def first_of(index: tuple[slice, ...]) -> np.ndarray:
        rows = _rows_of(index[1:], shape[1])
        one, second[rows.start] = block(rows)
        return one

    first = jax.make_array_from_callback(shape, sharding, first_of)
    return first, jax.make_array_from_callback(
        shape, sharding, lambda index: second.pop(_rows_of(index[1:], shape[1]).start))


def random_photons(
    lattice: Lattice, seed: int = 0, amplitude: float = 0.1, cutoff: float | None = None, slope: float = 0.0,
    mass: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Random transverse photons: ``A_k = xi_k |k|^(slope/2)`` (complex normal ``D``-vectors from ``seed``,
    ``0 < |k| <= cutoff``, default ``pi / (2 a)``) made transverse, positive frequency, scaled so that
    ``rms(A) = amplitude`` (per component). Returns ``(A, E)``, each ``(D, *shape)``; ``div A = div E = 0``."""
    _need_transverse(lattice)
    rng = np.random.default_rng(seed)
    cut = cutoff if cutoff is not None else 0.5 * np.pi / lattice.spacing
    kabs = np.sqrt(sum(k**2 for k in lattice.momenta()))
    mask = (kabs > 0) & (kabs <= cut)
    if not mask.any():
        raise _no_mode(cut, lattice)
    weight = _weight(kabs, mask, slope)
    shape = (lattice.ndim, *lattice.shape)
    A_k = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    A_k *= weight[None]  # (in place: the same products, one complex array less at the build's peak)
    with np.errstate(over="ignore", invalid="ignore"):  # a steep slope: finite weights, overflowing A^2
        A_k = transverse_modes(lattice, A_k)  # (the drawn modes freed)
        A, E = _data(lattice, A_k, mass)
        del A_k
        rms = float(np.sqrt(np.mean(A**2)))
    _check_rms(rms, slope)
    for f in (A, E):  # amplitude * f / rms, in place (the same two roundings)
        f *= amplitude
        f /= rms
    return A, E


def _no_mode(cut: float, lattice: Lattice) -> ParameterError:
    return ParameterError("cutoff", f"no lattice mode has 0 < |k| <= cutoff = {cut:g}; raise it, e.g. to "
                          f"{4 * np.pi / max(lattice.lengths):.4g}")


def _weight(kabs: np.ndarray, mask: np.ndarray, slope: float) -> np.ndarray:
    """``|k|^(slope/2)`` on ``mask``, 0 elsewhere; refused naming ``slope`` where it is not finite."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        weight = np.where(mask, np.where(kabs > 0, kabs, 1.0) ** (0.5 * slope), 0.0)
    if not np.all(np.isfinite(weight)):
        raise ParameterError("slope", f"the spectrum |k|^(slope/2) is not finite for slope = {slope:g}; use e.g. "
                             "a slope between -4 and 4")
    return weight


def _check_rms(rms: float, slope: float) -> None:
    if not np.isfinite(rms):
        raise ParameterError("slope", f"the spectrum |k|^(slope/2) overflows the field for slope = {slope:g}; use "
                             "e.g. a slope between -4 and 4")
    if not rms > 0:
        raise ParameterError("cutoff", "no transverse mode below the cutoff; raise it")


def random_photons_split(
    lattice: Lattice, mesh: Any, seed: int = 0, amplitude: float = 0.1, cutoff: float | None = None,
    slope: float = 0.0, mass: float = 0.0,
) -> tuple[Any, Any]:
    """:func:`random_photons` built split over ``mesh`` along the first lattice axis (``(A, E)``, each ``(D,
    *shape)`` split along its axis 1), with the same errors; equal to it to round-off.

    Each process streams NumPy's one sequence of ``seed`` plane by plane of the first axis
    (:func:`nnfield.initial._split.noise_planes`: the ``2 D`` draws of ``shape`` that ``standard_normal((D,
    *shape))`` twice makes, bit for bit) and keeps its devices' planes of the modes; the weights, the transverse
    projection and ``omega_k`` are the same expressions on each slab's momenta; each component's two inverse FFTs
    are distributed (:func:`nnfield.initial.inverse_fft_split`), the normalization one all-reduce."""
    import jax
    import jax.numpy as jnp

    from ...initial._split import _kabs, _local_rows, _split_array, inverse_fft_split, noise_planes, slab_momenta

    _need_transverse(lattice)
    shape, D = tuple(int(m) for m in lattice.shape), lattice.ndim
    cut = cutoff if cutoff is not None else 0.5 * np.pi / lattice.spacing
    found = False
    for r in range(shape[0]):  # the whole build's checks, plane by plane
        kabs = _kabs(slab_momenta(lattice, slice(r, r + 1)))
        mask = (kabs > 0) & (kabs <= cut)
        if mask.any():
            found = True
            _weight(kabs, mask, slope)
    if not found:
        raise _no_mode(cut, lattice)
    planes = noise_planes(seed, shape, 2 * D, _local_rows(mesh, shape))

    def modes(rows: slice) -> np.ndarray:  # (D, rows, ...): random_photons's expressions on the slab
        k = slab_momenta(lattice, rows)
        kabs = _kabs(k)
        A_k = np.empty((D, rows.stop - rows.start, *shape[1:]), np.complex128)
        for c in range(D):
            for i, r in enumerate(range(rows.start, rows.stop)):
                A_k[c, i].real, A_k[c, i].imag = planes[c].pop(r), planes[D + c].pop(r)
        A_k *= _weight(kabs, (kabs > 0) & (kabs <= cut), slope)[None]
        with np.errstate(over="ignore", invalid="ignore"):
            return transverse_modes(lattice, A_k, k)

    # one split array per component (the planes of a slab are read once: all components of a slab together)
    cache: dict[int, np.ndarray] = {}

    def component(c: int) -> jax.Array:
        def slab(rows: slice) -> np.ndarray:
            if rows.start not in cache:
                cache[rows.start] = modes(rows)
            return cache[rows.start][c] if c < D - 1 else cache.pop(rows.start)[c]

        return _split_array(mesh, shape, slab)

    A_k = [component(c) for c in range(D)]
    cache.clear()
    omega = _split_array(mesh, shape, lambda rows: photon_omega(lattice, mass, slab_momenta(lattice, rows)))
    inverse = inverse_fft_split(mesh, D)
    from ...sharding import state_sharding

    out = state_sharding(mesh, D)

    @jax.jit
    def fields(A_k: list[jax.Array], w: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        A = jnp.stack([inverse(a).real for a in A_k])
        E = jnp.stack([inverse(-1j * w * a).real for a in A_k])
        A, E = jax.lax.with_sharding_constraint(A, out), jax.lax.with_sharding_constraint(E, out)
        return A, E, jnp.sqrt(jnp.mean(A**2))

    with np.errstate(over="ignore", invalid="ignore"):
        A, E, rms_ = fields(A_k, omega)
    del A_k, omega
    rms = float(rms_)
    _check_rms(rms, slope)

    @jax.jit
    def scaled(A: jax.Array, E: jax.Array) -> tuple[jax.Array, jax.Array]:  # amplitude * f / rms (two roundings)
        return (A * amplitude) / rms, (E * amplitude) / rms

    return scaled(A, E)
