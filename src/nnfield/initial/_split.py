r"""Initial data built split over devices, each process its own slabs: the random fields of :mod:`._random` and
:mod:`._gaussian`, the packets of :mod:`._packet` and the plane waves of :mod:`._plane_wave` (their profile evaluated
on each slab's sites), and the planar walls of :mod:`._kink` and :mod:`._phi4_kink`.

A run split over devices (``[parallel]``, ``--devices``, several processes) keeps each device's slab of the first
lattice axis; until session 45 every process built the whole initial data on its host first (the noise, its
inverse FFT and their temporaries: 144 bytes per site for a Klein-Gordon random field, :mod:`nnfield.resources`)
and kept its slabs. Here the same data are built slab by slab:

1. **The noise, per slab of ``k_0``.** NumPy's normal sequence of ``seed`` is streamed plane by plane of the first
   axis (one ``standard_normal`` call of ``n`` numbers then one of ``m`` gives the numbers one call of ``n + m``
   gives; checked in ``tests/test_split_initial_s45.py``), so each process keeps the planes of its devices' slabs
   only, and each device receives exactly the Fourier modes the whole build draws there. The spectral weight
   (``|k|^(slope/2)``, the cutoff) and, for :class:`~._modes.PositiveFrequency`, ``omega_k`` are evaluated on the
   slab's momenta, the same expressions elementwise.
2. **A distributed inverse FFT** (:func:`inverse_fft_split`, in ``jax.shard_map``): the inverse FFTs along axes
   ``1 .. D-1`` on the device's own slab, the last axis padded to a multiple of the device count, one all-to-all
   that splits it instead of the first axis, the inverse FFT along the first axis, and the all-to-all back. XLA's
   partitioner would all-gather a sharded FFT (the whole array on every device).
3. The scale (``rms(phi) = amplitude``), a global mean, is one all-reduce.

The data equal the whole build's to round-off (the same modes; the FFT's 1D transforms in another order and by
XLA's FFT instead of NumPy's), not bit for bit; ``D >= 2`` only (a 1D lattice's data are small). The Gaussian field
(:func:`gaussian_field_split`) draws white noise on the sites (a slab of ``x_1``) and also needs the forward FFT
(:func:`forward_fft_split`); a packet (:func:`gaussian_packet_split`) is its profile on each slab's sites, bit for
bit the whole build's, and for the positive-frequency rule ``pi`` by the two distributed FFTs; so is a plane wave
(:func:`plane_wave_split`, session 46). A planar wall (the kinks: a function of the first axis only) is built on
that axis alone and each slab broadcast from its planes (:func:`planar_split`, bit for bit).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._modes import NoDispersion
from ._params import overflowed
from ._random import _no_mode, _overflow

#: planes of the first axis drawn per ``standard_normal`` call while streaming: at least this many numbers a call
_STREAM_NUMBERS = 1 << 16


def noise_planes(seed: int, shape: Sequence[int], parts: int, rows: Iterable[int]) -> list[dict[int, np.ndarray]]:
    """The planes ``rows`` (indices along the first axis) of ``parts`` consecutive arrays of ``shape`` drawn by
    ``numpy.random.default_rng(seed).standard_normal`` (e.g. ``parts = 2``: the real and imaginary parts of
    ``standard_normal(shape) + 1j standard_normal(shape)``), streamed: memory for the kept planes and one block.

    Returns one ``{row: plane}`` per part; the planes are the whole draw's ``[row]``, bit for bit."""
    rng = np.random.default_rng(seed)
    n0, plane = int(shape[0]), math.prod(int(n) for n in shape[1:])
    keep = sorted(set(int(r) for r in rows))
    per_call = max(1, _STREAM_NUMBERS // max(plane, 1))
    out: list[dict[int, np.ndarray]] = []
    for _ in range(parts):
        got: dict[int, np.ndarray] = {}
        for start in range(0, n0, per_call):
            stop = min(n0, start + per_call)
            wanted = [r for r in keep if start <= r < stop]
            block = rng.standard_normal((stop - start) * plane)
            for r in wanted:
                got[r] = block[(r - start) * plane:(r - start + 1) * plane].reshape(tuple(shape[1:]))
            del block
        out.append(got)
    return out


def slab_momenta(lattice: Any, rows: slice) -> list[np.ndarray]:
    """The momentum grid ``k_mu`` (FFT order, ``indexing='ij'``) of the planes ``rows`` of the first axis: the
    rows of :meth:`~nnfield.lattice.Lattice.momenta`, elementwise the same numbers."""
    k1d = lattice.momenta_1d()
    return list(np.meshgrid(k1d[0][rows], *k1d[1:], indexing="ij"))


def slab_coordinates(lattice: Any, rows: slice) -> list[np.ndarray]:
    """The site positions ``x_mu`` (``indexing='ij'``) of the planes ``rows`` of the first axis: the rows of
    :meth:`~nnfield.lattice.Lattice.coordinates`, elementwise the same numbers."""
    x1d = [lattice.spacing * np.arange(n) for n in lattice.shape]
    return list(np.meshgrid(x1d[0][rows], *x1d[1:], indexing="ij"))


def _omega_slab(lattice: Any, dispersion: Callable[[list[np.ndarray]], Any]) -> Callable[[slice], np.ndarray]:
    """The theory's ``omega_k`` (``dispersion(k)``) on the planes ``rows`` of the FFT grid's first axis."""
    return lambda rows: np.asarray(dispersion(slab_momenta(lattice, rows)), np.float64)


def _rows_of(index: tuple[slice, ...], n0: int) -> slice:
    return slice(*index[0].indices(n0)[:2])


def inverse_fft_split(mesh: Any, D: int) -> Callable[[jax.Array], jax.Array]:
    """``ifftn`` of a complex field ``(N_1, ..., N_D)`` split along its first axis over ``mesh`` (the modes
    ``k_1`` of each device's slab in, the sites ``x_1`` of the same slab out), ``D >= 2``: the 1D inverse FFTs
    along axes ``2 .. D`` on each slab, one all-to-all to split the (padded) last axis instead, the 1D inverse FFT
    along the first axis, and the all-to-all back. Exact up to round-off (the same transform, its 1D FFTs in
    another order); no device ever holds more than a slab and its padding."""
    from jax.sharding import PartitionSpec

    from ..sharding import AXIS

    if D < 2:
        raise ValueError(f"inverse_fft_split: expected a lattice of at least 2 dimensions, got {D}")

    def local(f: jax.Array) -> jax.Array:
        n_last = f.shape[-1]
        x = jnp.fft.ifftn(f, axes=tuple(range(1, D)))
        n = jax.lax.axis_size(AXIS)
        pad = (-n_last) % n
        if pad:
            x = jnp.pad(x, [(0, 0)] * (D - 1) + [(0, pad)])
        x = jax.lax.all_to_all(x, AXIS, split_axis=D - 1, concat_axis=0, tiled=True)
        x = jnp.fft.ifft(x, axis=0)
        x = jax.lax.all_to_all(x, AXIS, split_axis=0, concat_axis=D - 1, tiled=True)
        return x[..., :n_last]

    spec = PartitionSpec(AXIS, *([None] * (D - 1)))
    return jax.shard_map(local, mesh=mesh, in_specs=spec, out_specs=spec)


def forward_fft_split(mesh: Any, D: int, lead: int = 0) -> Callable[[jax.Array], jax.Array]:
    """``fftn`` of a field ``(N_1, ..., N_D)`` split along its first axis over ``mesh`` (the sites ``x_1`` of each
    device's slab in, the modes ``k_1`` of the same slab out), ``D >= 2``: the reverse of
    :func:`inverse_fft_split` (one all-to-all to split the padded last axis instead of the first, the 1D FFT along
    the first axis, the all-to-all back, the FFTs along axes ``2 .. D`` on each slab). Exact up to round-off.
    ``lead``: the number of axes before the lattice's (a spinor's components, ``(K, N_1, ..., N_D)``), not
    transformed (session 47: :func:`nnfield.sharding.lattice_fftn`)."""
    from jax.sharding import PartitionSpec

    from ..sharding import AXIS

    if D < 2:
        raise ValueError(f"forward_fft_split: expected a lattice of at least 2 dimensions, got {D}")
    first, last = lead, lead + D - 1

    def local(f: jax.Array) -> jax.Array:
        n_last = f.shape[-1]
        n = jax.lax.axis_size(AXIS)
        pad = (-n_last) % n
        x = f.astype(jnp.result_type(f.dtype, jnp.complex64))
        if pad:
            x = jnp.pad(x, [(0, 0)] * last + [(0, pad)])
        x = jax.lax.all_to_all(x, AXIS, split_axis=last, concat_axis=first, tiled=True)
        x = jnp.fft.fft(x, axis=first)
        x = jax.lax.all_to_all(x, AXIS, split_axis=first, concat_axis=last, tiled=True)
        return jnp.fft.fftn(x[..., :n_last], axes=tuple(range(first + 1, last + 1)))

    spec = PartitionSpec(*([None] * lead), AXIS, *([None] * (D - 1)))
    return jax.shard_map(local, mesh=mesh, in_specs=spec, out_specs=spec)


def _first_axis_split(mesh: Any, ndim: int) -> Any:
    """The sharding of an array of ``ndim`` axes split along its first over ``mesh``."""
    from jax.sharding import NamedSharding, PartitionSpec

    from ..sharding import AXIS

    return NamedSharding(mesh, PartitionSpec(AXIS, *([None] * (ndim - 1))))


def _split_array(mesh: Any, shape: tuple[int, ...], slab: Callable[[slice], np.ndarray]) -> jax.Array:
    """The global array of ``shape`` split along its first axis over ``mesh`` whose block on each of this
    process's devices is ``slab(rows)``."""
    return jax.make_array_from_callback(shape, _first_axis_split(mesh, len(shape)),
                                        lambda index: slab(_rows_of(index, shape[0])))


def _local_rows(mesh: Any, shape: tuple[int, ...]) -> list[int]:
    """The planes of the first axis that this process's devices hold."""
    rows: set[int] = set()
    for index in _first_axis_split(mesh, len(shape)).addressable_devices_indices_map(shape).values():
        rows.update(range(*_rows_of(index, shape[0]).indices(shape[0])))
    return sorted(rows)


def _complex_noise(seed: int, shape: tuple[int, ...], mesh: Any, fields: int) -> list[Callable[[slice], np.ndarray]]:
    """For each of ``fields`` consecutive complex draws ``standard_normal(shape) + 1j standard_normal(shape)``,
    a function giving its planes ``rows`` (of this process's slabs only; each once: the planes are freed as they
    are read)."""
    planes = noise_planes(seed, shape, 2 * fields, _local_rows(mesh, shape))

    def of(f: int) -> Callable[[slice], np.ndarray]:
        re, im = planes[2 * f], planes[2 * f + 1]

        def slab(rows: slice) -> np.ndarray:  # (each plane is read once: freed as it is used)
            out = np.empty((rows.stop - rows.start, *shape[1:]), np.complex128)
            for i, r in enumerate(range(rows.start, rows.stop)):
                out[i].real, out[i].imag = re.pop(r), im.pop(r)
            return out

        return slab

    return [of(f) for f in range(fields)]


def random_spectrum_split(
    lattice: Any, mesh: Any, dispersion: Callable[[list[np.ndarray]], np.ndarray] | NoDispersion, seed: int = 0,
    amplitude: float = 1.0, cutoff: float | None = None, slope: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
    """:func:`~._random.random_spectrum` built split over ``mesh`` along the first lattice axis (see the module
    docstring): ``(phi, pi)``, each ``(1, *shape)`` and split along its axis 1, equal to the whole build to
    round-off; the same errors. ``dispersion``: the theory's ``omega`` at momenta ``k`` (its ``dispersion(k)``,
    evaluated slab by slab: the rule :class:`~._modes.PositiveFrequency`), or :class:`~._modes.NoDispersion`."""
    shape = tuple(int(n) for n in lattice.shape)
    if len(shape) < 2:
        raise ValueError("random_spectrum_split: a lattice of at least 2 dimensions (build 1D data whole)")
    if isinstance(dispersion, NoDispersion):
        return _independent_split(lattice, mesh, seed, amplitude, cutoff, slope)
    if not callable(dispersion):
        raise TypeError(f"random_spectrum_split: dispersion: expected omega(k) or NoDispersion(), got "
                        f"{type(dispersion).__name__}")
    return _positive_frequency_split(lattice, mesh, seed, amplitude, cutoff, slope, dispersion)


def _kabs(k: list[np.ndarray]) -> np.ndarray:
    return np.sqrt(sum(x**2 for x in k))


def _positive_frequency_split(
    lattice: Any, mesh: Any, seed: int, amplitude: float, cutoff: float | None, slope: float,
    dispersion: Callable[[list[np.ndarray]], np.ndarray],
) -> tuple[jax.Array, jax.Array]:
    shape = tuple(int(n) for n in lattice.shape)
    cutoff = cutoff if cutoff is not None else 0.5 * np.pi / lattice.spacing
    (noise,) = _complex_noise(seed, shape, mesh, 1)

    def psi_k(rows: slice) -> np.ndarray:  # the same expressions as _random._positive_frequency, on a slab
        kabs = _kabs(slab_momenta(lattice, rows))
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            weight = np.where(kabs > 0, kabs ** (0.5 * slope), 1.0 if slope == 0 else 0.0)
            weight = np.where(kabs <= cutoff, weight, 0.0)
            return noise(rows) * weight

    modes, w = _split_array(mesh, shape, psi_k), _split_array(mesh, shape, _omega_slab(lattice, dispersion))
    inverse = inverse_fft_split(mesh, len(shape))

    @jax.jit  # (not donated: no output has the inputs' shape and dtype)
    def fields(fk: jax.Array, w: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        phi = inverse(fk).real
        pi = inverse(-1j * w * fk).real
        return phi, pi, jnp.sqrt(jnp.mean(phi**2))

    with np.errstate(over="ignore", invalid="ignore"):
        phi, pi, rms_ = fields(modes, w)
    del modes, w
    rms = float(rms_)
    if not np.isfinite(rms):
        raise _overflow(slope)
    if rms == 0.0:
        raise _no_mode(cutoff, lattice)
    return _scaled((phi, pi), (amplitude / rms, amplitude / rms), amplitude)


def _independent_split(
    lattice: Any, mesh: Any, seed: int, amplitude: float, cutoff: float | None, slope: float
) -> tuple[jax.Array, jax.Array]:
    shape = tuple(int(n) for n in lattice.shape)
    cut = cutoff if cutoff is not None else 0.25 * np.pi / lattice.spacing
    kept, k2sum = 0, 0.0  # the modes kept and their mean k^2 (the pi scale), plane by plane: the whole grid never
    for r in range(shape[0]):
        kk = _kabs(slab_momenta(lattice, slice(r, r + 1)))
        mask = (kk <= cut) & (kk > 0)
        kept += int(mask.sum())
        k2sum += float(np.sum(kk[mask] ** 2))
        if slope and mask.any():
            with np.errstate(over="ignore"):
                if not np.all(np.isfinite(kk[mask] ** (0.5 * slope))):
                    raise _overflow(slope)
    if not kept:
        raise _no_mode(cut, lattice)
    kscale = float(np.sqrt(k2sum / kept))
    draws = _complex_noise(seed, shape, mesh, 2)

    def masked(noise: Callable[[slice], np.ndarray]) -> Callable[[slice], np.ndarray]:
        def slab(rows: slice) -> np.ndarray:  # the same expressions as _random._independent, on a slab
            kk = _kabs(slab_momenta(lattice, rows))
            mask = (kk <= cut) & (kk > 0)
            x = noise(rows)
            if slope:
                with np.errstate(over="ignore"):
                    x = x * np.where(mask, kk, 1.0) ** (0.5 * slope)
            return np.where(mask, x, 0.0)

        return slab

    inverse = inverse_fft_split(mesh, len(shape))

    @jax.jit
    def field(fk: jax.Array) -> tuple[jax.Array, jax.Array]:
        f = inverse(fk).real
        return f, jnp.sqrt(jnp.mean(f**2))

    out, scales = [], []
    for noise in draws:
        with np.errstate(over="ignore", invalid="ignore"):
            f, rms_ = field(_split_array(mesh, shape, masked(noise)))
        rms = float(rms_)
        if not np.isfinite(rms):
            raise _overflow(slope)
        out.append(f)
        scales.append(1.0 / max(rms, np.finfo(float).tiny))
    return _scaled((out[0], out[1]), (amplitude * scales[0], amplitude * kscale * scales[1]), amplitude)


def gaussian_field_split(
    lattice: Any, mesh: Any, dispersion: Callable[[list[np.ndarray]], Any], spectrum: Any = None, seed: int = 0,
    amplitude: float = 1.0, cutoff: float | None = None,
) -> tuple[jax.Array, jax.Array]:
    """:func:`~._gaussian.gaussian_field` built split over ``mesh`` along the first lattice axis: ``(phi, pi)``,
    each ``(1, *shape)`` split along its axis 1, equal to the whole build to round-off, with the same errors.
    ``dispersion(k)``: the theory's ``omega`` at momenta ``k`` (evaluated plane by plane of the first axis, the
    whole build's ``omega`` on the FFT grid elementwise); ``spectrum``: ``S(|k|, omega_k)`` (default
    :func:`~._gaussian.vacuum`). The white noise of each field is streamed by rows (its sites' planes of the
    first axis), transformed by :func:`forward_fft_split`, weighted by ``sqrt(S / a^D)`` on the device's slab of
    modes and transformed back by :func:`inverse_fft_split`."""
    from ._gaussian import bad_spectrum, unstable_vacuum, unused_spectrum, vacuum

    spectrum = vacuum if spectrum is None else spectrum
    shape = tuple(int(n) for n in lattice.shape)
    if len(shape) < 2:
        raise ValueError("gaussian_field_split: a lattice of at least 2 dimensions (build 1D data whole)")

    def modes(rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``|k|``, ``omega_k`` and which modes the cutoff keeps, on the planes ``rows``."""
        k = slab_momenta(lattice, rows)
        kabs = _kabs(k)
        omega = np.broadcast_to(np.asarray(dispersion(k), dtype=np.float64), kabs.shape)
        keep = np.ones(kabs.shape, bool) if cutoff is None else kabs <= cutoff
        return kabs, omega, keep

    def power(rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The whole build's ``S`` (zero mode and cutoff applied) on the planes ``rows``, with ``|k|``, ``omega_k``
        and ``keep``."""
        kabs, omega, keep = modes(rows)
        with np.errstate(all="ignore"):
            s = np.broadcast_to(np.asarray(spectrum(kabs, omega), dtype=np.float64), kabs.shape).copy()
        s[(kabs == 0) & ~np.isfinite(s)] = 0.0
        return s, kabs, omega, keep

    # the whole build's checks, in its order, plane by plane (the first bad mode in C order is the whole grid's)
    planes = [slice(r, r + 1) for r in range(shape[0])]
    for rows in planes:
        kabs, omega, keep = modes(rows)
        bad = keep & ~(np.isfinite(omega) & (omega >= 0))
        if bad.any():
            j = np.unravel_index(int(np.argmax(bad)), kabs.shape)
            raise unstable_vacuum(omega[j], kabs[j])
    positive = used_any = False
    for rows in planes:
        s, kabs, omega, keep = power(rows)
        positive = positive or bool(np.any(np.isfinite(s) & (s > 0)))
        s[~keep] = 0.0
        bad = keep & ~(np.isfinite(s) & (s >= 0))
        if bad.any():
            j = np.unravel_index(int(np.argmax(bad)), kabs.shape)
            raise bad_spectrum(s[j], kabs[j], omega[j])
        used_any = used_any or bool(np.any(keep & (s > 0)))
    if not used_any:
        raise unused_spectrum(lattice, positive)

    cell = lattice.cell_volume

    def weight(field: int) -> Callable[[slice], np.ndarray]:
        def slab(rows: slice) -> np.ndarray:  # sqrt(power / cell): the whole build's expressions on a slab
            s, _, omega, keep = power(rows)
            s[~keep] = 0.0
            with np.errstate(over="ignore", invalid="ignore"):
                p = s if field == 0 else np.where(keep & (s > 0), omega**2 * s, 0.0)
                return np.sqrt(p / cell)

        return slab

    noise = noise_planes(seed, shape, 2, _local_rows(mesh, shape))

    def white(field: int) -> Callable[[slice], np.ndarray]:
        planes = noise[field]
        return lambda rows: np.stack([planes.pop(r) for r in range(rows.start, rows.stop)])

    D = len(shape)
    forward, inverse = forward_fft_split(mesh, D), inverse_fft_split(mesh, D)

    @jax.jit
    def draw(w: jax.Array, sq: jax.Array) -> jax.Array:
        return inverse(forward(w) * sq).real

    out = []
    for field in (0, 1):
        with np.errstate(over="ignore", invalid="ignore"):
            out.append(draw(_split_array(mesh, shape, white(field)), _split_array(mesh, shape, weight(field))))
    return _scaled((out[0], out[1]), (amplitude, amplitude), amplitude)


def gaussian_packet_split(
    lattice: Any, mesh: Any, dispersion: Callable[[list[np.ndarray]], np.ndarray] | NoDispersion,
    center: Sequence[float] | None = None, width: float | None = None, momentum: Sequence[float] | None = None,
    amplitude: float = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """:func:`~._packet.gaussian_packet` built split over ``mesh`` along the first lattice axis: ``(phi, pi)``,
    each ``(1, *shape)`` split along its axis 1, with the same errors. The profile is evaluated on each slab's
    sites, the same expressions elementwise. :class:`~._modes.NoDispersion` (an analytic ``pi``): bit for bit the
    whole build. With ``dispersion`` (the positive-frequency rule, ``omega`` at momenta ``k``): ``pi = Re
    ifft(-i omega_k fft(psi))`` by :func:`forward_fft_split` and :func:`inverse_fft_split`, equal to the whole build
    to round-off."""
    from ._params import packet_geometry
    from ._periodic import minimum_image

    shape = tuple(int(n) for n in lattice.shape)
    if len(shape) < 2:
        raise ValueError("gaussian_packet_split: a lattice of at least 2 dimensions (build 1D data whole)")
    center, width, k0 = packet_geometry(lattice, center, width, momentum)

    def distances(rows: slice) -> list[np.ndarray]:  # minimum_image_distances on the planes ``rows``
        x = slab_coordinates(lattice, rows)
        return [minimum_image(xx, c, ell) for xx, c, ell in zip(x, center, lattice.lengths, strict=True)]

    def geometry(rows: slice) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        d = distances(rows)
        return d, sum(dd**2 for dd in d), sum(kk * dd for kk, dd in zip(k0, d, strict=True))

    if isinstance(dispersion, NoDispersion):
        v = dispersion.velocity

        def field(which: int) -> Callable[[slice], np.ndarray]:
            def slab(rows: slice) -> np.ndarray:  # the whole build's real form (bit for bit)
                d, r2, phase = geometry(rows)
                with np.errstate(over="ignore", invalid="ignore"):
                    env = amplitude * np.exp(-r2 / (2 * width * width))
                    phi = env * np.cos(phase)
                    if which == 0:
                        return phi
                    dphi0 = -d[0] / (width * width) * phi - env * np.sin(phase) * k0[0]
                    return -v * dphi0

            return slab

        phi, pi = (_split_array(mesh, shape, field(i)) for i in (0, 1))
        return _scaled((phi, pi), (1.0, 1.0), amplitude)
    if not callable(dispersion):
        raise TypeError(f"gaussian_packet_split: dispersion: expected omega(k) or NoDispersion(), got "
                        f"{type(dispersion).__name__}")

    def psi(rows: slice) -> np.ndarray:
        _, r2, phase = geometry(rows)
        with np.errstate(over="ignore", invalid="ignore"):
            return amplitude * np.exp(-r2 / (2 * width**2)) * np.exp(1j * phase)

    return _positive_frequency_profile(lattice, mesh, dispersion, psi, amplitude)


def _positive_frequency_profile(
    lattice: Any, mesh: Any, dispersion: Callable[[list[np.ndarray]], np.ndarray],
    psi: Callable[[slice], np.ndarray], amplitude: float,
) -> tuple[jax.Array, jax.Array]:
    """:meth:`~._modes.PositiveFrequency.fields` of the complex profile ``psi`` (its planes ``rows``) split over
    ``mesh``: ``phi = Re psi`` (bit for bit) and ``pi = Re ifft(-i omega_k fft(psi))`` by :func:`forward_fft_split`
    and :func:`inverse_fft_split` (to round-off); refused naming ``amplitude`` where a value is not finite."""
    shape = tuple(int(n) for n in lattice.shape)
    D = len(shape)
    forward, inverse = forward_fft_split(mesh, D), inverse_fft_split(mesh, D)

    @jax.jit
    def fields(p: jax.Array, w: jax.Array) -> tuple[jax.Array, jax.Array]:
        return p.real, inverse(-1j * w * forward(p)).real

    with np.errstate(over="ignore", invalid="ignore"):
        phi, pi = fields(_split_array(mesh, shape, psi), _split_array(mesh, shape, _omega_slab(lattice, dispersion)))
    return _scaled((phi, pi), (1.0, 1.0), amplitude)


def plane_wave_split(
    lattice: Any, mesh: Any, dispersion: Callable[[list[np.ndarray]], np.ndarray], n: Sequence[int] | None = None,
    amplitude: float = 1.0, phase: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
    """:func:`~._plane_wave.plane_wave` built split over ``mesh`` along the first lattice axis: ``(phi, pi)``, each
    ``(1, *shape)`` split along its axis 1, with the same errors. ``psi = A exp(i (k.x + phase))`` on each slab's
    sites (the same expressions: ``phi`` bit for bit); ``pi = Re ifft(-i omega_k fft(psi))`` with ``omega`` the
    theory's dispersion at momenta ``k`` (:func:`forward_fft_split`, :func:`inverse_fft_split`: to round-off, the
    whole build's FFTs)."""
    from .._checks import check_number
    from ._params import wave_numbers

    check_number("amplitude", amplitude)
    check_number("phase", phase)
    k = wave_numbers(lattice, n)
    shape = tuple(int(m) for m in lattice.shape)
    if len(shape) < 2:
        raise ValueError("plane_wave_split: a lattice of at least 2 dimensions (build 1D data whole)")
    if not callable(dispersion):
        raise TypeError(f"plane_wave_split: dispersion: expected omega(k), got {type(dispersion).__name__}")

    def psi(rows: slice) -> np.ndarray:  # plane_wave's expressions on the planes ``rows``
        kx = sum(kk * xx for kk, xx in zip(k, slab_coordinates(lattice, rows), strict=True))
        with np.errstate(over="ignore", invalid="ignore"):
            return amplitude * np.exp(1j * (kx + phase))

    return _positive_frequency_profile(lattice, mesh, dispersion, psi, amplitude)


def spinor_plane_wave_split(
    lattice: Any, mesh: Any, modes: Any, n: Sequence[int] | None = None, amplitude: float = 1.0, phase: float = 0.0,
    branch: str = "positive", spin: int = 0,
) -> tuple[jax.Array, jax.Array]:
    """:func:`~._spinor.spinor_plane_wave` built split over ``mesh`` along the first lattice axis: ``(phi, pi)``,
    each ``(K, *shape)`` split along its axis 1, with the same errors. ``psi = A u exp(i (k.x + phase))`` on each
    slab's sites (the same expressions, bit for bit), unpacked by the theory's ``modes.unpack`` in one program on
    the split spinor (its real and imaginary parts, with the theory's basis change ``U`` if any: to round-off)."""
    from ..sharding import state_sharding
    from ._spinor import plane_wave_profile, plane_wave_spinor

    k, u = plane_wave_spinor(lattice, modes, n, amplitude, phase, branch, spin)
    shape = tuple(int(m) for m in lattice.shape)
    D = len(shape)
    if D < 2:
        raise ValueError("spinor_plane_wave_split: a lattice of at least 2 dimensions (build 1D data whole)")
    sharding = state_sharding(mesh, D)

    def block(index: tuple[slice, ...]) -> np.ndarray:  # the profile on the planes of the slab
        rows = _rows_of(index[1:], shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            return plane_wave_profile(slab_coordinates(lattice, rows), k, u, amplitude, phase)

    psi = jax.make_array_from_callback((len(u), *shape), sharding, block)

    @jax.jit
    def unpacked(psi: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        phi, pi = modes.unpack(psi)
        phi, pi = jax.lax.with_sharding_constraint(phi, sharding), jax.lax.with_sharding_constraint(pi, sharding)
        return phi, pi, jnp.all(jnp.isfinite(phi)) & jnp.all(jnp.isfinite(pi))

    phi, pi, finite = unpacked(psi)
    if not bool(finite):
        raise overflowed("amplitude", amplitude)
    return phi, pi


#: the sites of the FFT grid a spinor packet's energy projector is built for at once (as the Dirac theory's own
#: ``DiracModes.project`` builds it: ``(sites, K, K)`` complex matrices)
_PROJECT_BLOCK_SITES = 1 << 14


def spinor_packet_split(
    lattice: Any, mesh: Any, modes: Any, center: Sequence[float] | None = None, width: float | None = None,
    momentum: Sequence[float] | None = None, branch: str = "positive", spin: int = 0, amplitude: float = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """:func:`~._spinor.spinor_packet` built split over ``mesh`` along the first lattice axis: ``(phi, pi)``, each
    ``(K, *shape)`` split along its axis 1, with the same errors; equal to it to round-off.

    The periodized Gaussian times ``u`` on each slab's sites (the same expressions); for a projected branch, each
    component's FFT distributed (:func:`forward_fft_split`), the energy projector ``P_+-(k)`` applied on each device's
    slab of momenta a block of planes at a time (``modes.energy_projector_at(sign, k)``, the theory's symbol at the
    momenta ``k``: the ``K x K`` matrices of a block only), the inverse FFT distributed; the unit-charge
    normalization one all-reduce; ``modes.unpack`` and the scale by ``amplitude`` in one program."""
    from ..sharding import state_sharding
    from ._periodic import periodized_gaussian_at
    from ._spinor import _spinor, packet_spinor

    c, width, k0, u, sign = packet_spinor(lattice, modes, center, width, momentum, branch, spin, amplitude)
    shape = tuple(int(m) for m in lattice.shape)
    D = len(shape)
    if D < 2:
        raise ValueError("spinor_packet_split: a lattice of at least 2 dimensions (build 1D data whole)")
    if sign is not None and not callable(getattr(modes, "energy_projector_at", None)):
        raise TypeError(f"spinor_packet_split: {type(modes).__name__} has no energy_projector_at(sign, k)")
    n = len(u)
    sharding = state_sharding(mesh, D)

    def block(index: tuple[slice, ...]) -> np.ndarray:  # u times the periodized Gaussian on the slab's sites
        rows = _rows_of(index[1:], shape[0])
        xs = slab_coordinates(lattice, rows)
        return _spinor(u, D) * periodized_gaussian_at(xs, lattice.lengths, c, width, k0)[None]

    def profile() -> jax.Array:
        return jax.make_array_from_callback((n, *shape), sharding, block)

    psi = profile() if sign is None else _project_split(lattice, mesh, modes, sign, profile)
    volume = lattice.cell_volume

    @jax.jit
    def data(psi: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        psi = psi / jnp.sqrt(volume * jnp.sum(jnp.abs(psi) ** 2))
        phi, pi = modes.unpack(psi)
        phi, pi = phi * amplitude, pi * amplitude
        phi, pi = jax.lax.with_sharding_constraint(phi, sharding), jax.lax.with_sharding_constraint(pi, sharding)
        return phi, pi, jnp.all(jnp.isfinite(phi)) & jnp.all(jnp.isfinite(pi))

    with np.errstate(over="ignore", invalid="ignore"):
        phi, pi, finite = data(psi)
    if not bool(finite):
        raise overflowed("amplitude", amplitude)
    return phi, pi


def _project_split(lattice: Any, mesh: Any, modes: Any, sign: int, profile: Callable[[], jax.Array]) -> jax.Array:
    """``IFFT[P_sign(k) FFT[psi](k)]`` of the spinor ``psi = profile()``, ``(n, *shape)`` split along axis 1: the FFTs
    distributed, the projector applied on each device's slab of momenta, :data:`_PROJECT_BLOCK_SITES` at a time, as
    that slab is placed (the host holds one slab); each transform donates its input (on the CPU: one spinor field
    less at the peak)."""
    shape = tuple(int(m) for m in lattice.shape)
    D = len(shape)
    forward, inverse = forward_fft_split(mesh, D), inverse_fft_split(mesh, D)
    psi = profile()
    n, sharding = psi.shape[0], psi.sharding

    def transformed(fft: Callable[[jax.Array], jax.Array]) -> Callable[[jax.Array], jax.Array]:
        return jax.jit(lambda p: jnp.stack([fft(p[i]) for i in range(n)]), out_shardings=sharding, donate_argnums=0)

    pk = transformed(forward)(psi)
    del psi
    shards = {_rows_of(shard.index[1:], shape[0]).start: shard for shard in pk.addressable_shards}
    k1d = lattice.momenta_1d()
    step = max(1, _PROJECT_BLOCK_SITES // max(1, math.prod(shape[1:])))

    def projected(index: tuple[slice, ...]) -> np.ndarray:  # the slab of P(k) psi_k, block by block of planes
        rows = _rows_of(index[1:], shape[0])
        data = np.asarray(shards[rows.start].data)
        out = np.empty_like(data)
        for i in range(0, rows.stop - rows.start, step):
            r = slice(rows.start + i, min(rows.stop, rows.start + i + step))
            S = modes.energy_projector_at(sign, np.meshgrid(k1d[0][r], *k1d[1:], indexing="ij"))
            out[:, i:i + step] = np.einsum("...ab,b...->a...", S, data[:, i:i + step])
        return out

    out = jax.make_array_from_callback((n, *shape), sharding, projected)
    shards.clear()
    del pk
    psi = transformed(inverse)(out)
    jax.block_until_ready(psi)
    from ..resources import release_freed_memory

    release_freed_memory()  # (the transforms' freed buffers, kept in the C heap otherwise: 395 -> 364 MiB measured)
    return psi


def planar_split(
    lattice: Any, mesh: Any, build: Callable[[Any], tuple[np.ndarray, np.ndarray]]
) -> tuple[jax.Array, jax.Array]:
    """Data of a planar wall (a function of the first axis only: :func:`~._kink.kink`,
    :func:`~._kink.kink_antikink`, :func:`~._phi4_kink.phi4_kink_pair`) built split over ``mesh``: ``(phi, pi)``,
    each ``(1, *shape)`` split along its axis 1, bit for bit the whole build.

    ``build(line)`` builds the data on ``line``, the lattice's first axis alone (shape ``(N_0, 1, ..., 1)``, the
    same spacing: the same positions and box length along it); each device's slab is the planes of its rows, each
    plane one value broadcast (a view: only the devices' blocks are ever allocated)."""
    from ..lattice import Lattice
    from ..sharding import state_sharding

    shape = tuple(int(n) for n in lattice.shape)
    D = len(shape)
    if D < 2:
        raise ValueError("planar_split: a lattice of at least 2 dimensions (build 1D data whole)")
    line = Lattice((shape[0],) + (1,) * (D - 1), lattice.spacing)
    lines = [np.asarray(f).reshape(shape[0]) for f in build(line)]
    sharding = state_sharding(mesh, D)

    def field(values: np.ndarray) -> jax.Array:
        def block(index: tuple[slice, ...]) -> np.ndarray:
            v = values[_rows_of(index[1:], shape[0])]
            return np.broadcast_to(v.reshape((1, v.size) + (1,) * (D - 1)), (1, v.size, *shape[1:]))

        return jax.make_array_from_callback((1, *shape), sharding, block)

    phi, pi = lines
    return field(phi), field(pi)


def _scaled(fields: tuple[jax.Array, jax.Array], scales: tuple[float, float], amplitude: float
            ) -> tuple[jax.Array, jax.Array]:
    """``(scale f)[None]`` of each field, split along its axis 1 as a run's fields are; refused
    (:func:`~._params.overflowed`, naming ``amplitude``) where a value is not finite."""
    from ..sharding import state_sharding

    out = state_sharding(fields[0].sharding.mesh, fields[0].ndim)  # (a run's field (K, N_1, ...), K = 1)

    @jax.jit
    def scale(a: jax.Array, b: jax.Array, sa: Any, sb: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
        x, y = (a * sa)[None], (b * sb)[None]
        x, y = jax.lax.with_sharding_constraint(x, out), jax.lax.with_sharding_constraint(y, out)
        return x, y, jnp.all(jnp.isfinite(x)) & jnp.all(jnp.isfinite(y))

    x, y, finite = scale(*fields, *scales)
    if not bool(finite):
        raise overflowed("amplitude", amplitude)
    return x, y
