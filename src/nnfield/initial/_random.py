r"""The Gaussian random field with a band-limited power-law spectrum.

Fourier modes ``psi_k = (xi_k + i eta_k) |k|^(slope/2)`` for ``|k| <= cutoff`` (``xi``, ``eta`` standard
normal from ``seed``; power ``|psi_k|^2 ~ |k|^slope``). The theory's rule gives the data:

- :class:`PositiveFrequency`: ``(phi, pi)`` the positive-frequency data of ``psi = ifft(psi_k)``, both scaled
  so that ``rms(phi) = amplitude``; the ``k = 0`` mode is kept only for ``slope = 0``; default cutoff
  ``pi / (2 a)``.
- :class:`NoDispersion`: ``phi`` and ``pi`` two independent draws (``k = 0`` excluded), ``rms(phi) =
  amplitude`` and ``rms(pi) = amplitude sqrt(<k^2>)`` (the mean over the kept modes: kinetic and gradient
  energies alike); default cutoff ``pi / (4 a)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParameterError
from ._modes import Modes, NoDispersion, PositiveFrequency
from ._params import finite_data


def random_spectrum(
    lattice: Any, modes: Modes, seed: int = 0, amplitude: float = 1.0, cutoff: float | None = None,
    slope: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Data ``(phi, pi)``, each ``(1, *shape)``, of the seeded random field (see the module docstring).

    Args:
        lattice: the periodic lattice.
        modes: the theory's rule (:class:`PositiveFrequency` or :class:`NoDispersion`).
        seed: the seed of ``numpy.random.default_rng``.
        amplitude: the rms of ``phi``.
        cutoff: the largest ``|k|`` kept (default: see the module docstring).
        slope: the spectral slope (power ``~ |k|^slope``).
    """
    if isinstance(modes, PositiveFrequency):
        return _positive_frequency(lattice, modes, seed, amplitude, cutoff, slope)
    if isinstance(modes, NoDispersion):
        return _independent(lattice, seed, amplitude, cutoff, slope)
    raise TypeError(f"modes: expected PositiveFrequency or NoDispersion, got {type(modes).__name__}")


def _no_mode(cutoff: float, lattice: Any) -> ParameterError:
    kmin = 2 * np.pi / max(lattice.lengths)
    return ParameterError(
        "cutoff", f"no lattice mode has 0 < |k| <= cutoff = {cutoff:g} (the smallest is {kmin:.4g}); "
        f"raise the cutoff, e.g. {2 * kmin:.4g}"
    )


def _overflow(slope: float) -> ParameterError:
    return ParameterError(
        "slope", f"the spectrum |k|^(slope/2) is not finite on this lattice for slope = {slope:g}; "
        "use a moderate slope, e.g. between -4 and 4"
    )


def _positive_frequency(
    lattice: Any, modes: PositiveFrequency, seed: int, amplitude: float, cutoff: float | None, slope: float
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cutoff = cutoff if cutoff is not None else 0.5 * np.pi / lattice.spacing
    kabs = np.sqrt(sum(k**2 for k in lattice.momenta()))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        weight = np.where(kabs > 0, kabs ** (0.5 * slope), 1.0 if slope == 0 else 0.0)
        weight = np.where(kabs <= cutoff, weight, 0.0)
        noise = rng.standard_normal(lattice.shape) + 1j * rng.standard_normal(lattice.shape)
        psi_k = noise * weight
        psi = np.fft.ifftn(psi_k)
        phi, pi = modes.fields(psi)
        rms = float(np.sqrt(np.mean(phi**2)))
    if not np.isfinite(rms):
        raise _overflow(slope)
    if rms == 0.0:
        raise _no_mode(cutoff, lattice)
    scale = amplitude / rms
    with np.errstate(over="ignore", invalid="ignore"):
        return finite_data((phi * scale, pi * scale), "amplitude", amplitude)


def _independent(
    lattice: Any, seed: int, amplitude: float, cutoff: float | None, slope: float
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = lattice.momenta()
    kk = np.sqrt(sum(x**2 for x in k))
    cut = cutoff if cutoff is not None else 0.25 * np.pi / lattice.spacing
    mask = (kk <= cut) & (kk > 0)
    if not mask.any():
        raise _no_mode(cut, lattice)
    if slope:
        with np.errstate(over="ignore"):
            weight = np.where(mask, kk, 1.0) ** (0.5 * slope)
        if not np.all(np.isfinite(weight[mask])):
            raise _overflow(slope)

    def field() -> np.ndarray:
        noise = rng.normal(size=lattice.shape) + 1j * rng.normal(size=lattice.shape)
        if slope:
            noise = noise * weight
        with np.errstate(over="ignore", invalid="ignore"):  # a steep slope: finite weights, overflowing f^2
            f = np.fft.ifftn(np.where(mask, noise, 0.0)).real
            rms = np.sqrt(np.mean(f**2))
        if not np.isfinite(rms):
            raise _overflow(slope)
        return f / max(rms, np.finfo(float).tiny)

    kscale = float(np.sqrt(np.mean(kk[mask] ** 2)))
    with np.errstate(over="ignore", invalid="ignore"):
        data = (amplitude * field())[None], (amplitude * kscale * field())[None]
    return finite_data(data, "amplitude", amplitude)
