r"""A Gaussian random real scalar field with any power spectrum, e.g. vacuum fluctuations (``docs/spectra.md``).

In the conventions of :mod:`nnfield.spectra` (``f_k = a^D sum_x f(x) exp(-i k.x)``, ``P_f(k) = |f_k|^2 / V``,
``V = N a^D``) the field has, averaged over the seeds,

    <P_phi(k)> = S(k),     <P_pi(k)> = omega_k^2 S(k)

with ``S`` the given spectrum (a function of ``|k|`` and ``omega_k``, the theory's lattice dispersion at each
mode), ``phi`` and ``pi`` independent (random phases: every mode has the mean occupation
``n_k = omega_k S(k)``). The vacuum, ``S = 1/(2 omega_k)``, gives ``<P_phi> = 1/(2 omega_k)``,
``<P_pi> = omega_k / 2`` and ``n_k = 1/2``.

Construction: ``phi = ifft(fft(w) sqrt(S / a^D))`` with ``w`` white noise on the sites (standard normal,
``numpy.random.default_rng(seed)``; ``pi`` from a second, independent ``w``). Because ``w`` is real, ``fft(w)``
is Hermitian (``w_{-k} = conj(w_k)``, real at the self-conjugate modes ``k = 0`` and the Nyquist momenta), so
the field is real for any ``S`` even in ``k`` (every ``S(|k|, omega_k)`` is), and ``<|fft(w)_k|^2> = N`` at
every mode, self-conjugate ones included. The zero mode: kept where ``S`` is finite there (massive vacuum:
``1/(2m)``), set to zero where it is not (massless vacuum, ``S ~ 1/|k|``); any other mode with a negative or
non-finite ``S``, or a non-real ``omega_k``, is an error. ``cutoff`` zeroes every mode with ``|k| > cutoff``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ParameterError
from ._params import finite_data

Spectrum = Callable[[np.ndarray, np.ndarray], Any]


def vacuum(k: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """``S(k) = 1 / (2 omega_k)``: the vacuum fluctuations of a free field (``n_k = 1/2``)."""
    del k
    with np.errstate(divide="ignore"):
        return 1.0 / (2.0 * omega)


def unstable_vacuum(omega: float, kabs: float) -> ParameterError:
    """The error for a mode with ``omega_k^2 < 0`` (a NaN ``omega``) at ``|k| = kabs``."""
    return ParameterError(
        "omega", f"expected a real dispersion omega_k >= 0 at every mode, got {omega:g} at |k| = {kabs:.4g}: "
        "omega_k^2 < 0, an unstable vacuum (e.g. a potential without a minimum, taken about phi = 0); a Gaussian "
        "field needs a stable one, V''(phi_0) >= 0 at the ground state phi_0 (a double well's +-v)")


def bad_spectrum(s: float, kabs: float, omega: float) -> ParameterError:
    """The error for a negative or non-finite spectrum ``s`` at ``|k| = kabs``."""
    return ParameterError(
        "spectrum", f"expected a finite, non-negative spectrum at every mode, got {s:g} at |k| = {kabs:.4g} "
        f"(omega = {omega:.4g}); use an expression that is finite and non-negative for k > 0"
    )


def unused_spectrum(lattice: Any, positive: bool) -> ParameterError:
    """The error for a spectrum that no kept mode uses: zero everywhere (``positive`` false) or cut away."""
    if not positive:
        return ParameterError("spectrum", "expected a spectrum that is positive at some lattice mode, got S = 0 at "
                              "every mode; e.g. \"vacuum\" or \"exp(-k**2)\"")
    kmin = 2 * np.pi / max(lattice.lengths)
    return ParameterError("cutoff", f"no lattice mode has a positive spectrum with |k| <= cutoff; the smallest "
                          f"|k| is {kmin:.4g}, raise the cutoff")


def gaussian_field(
    lattice: Any, omega: np.ndarray, spectrum: Spectrum = vacuum, seed: int = 0, amplitude: float = 1.0,
    cutoff: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Data ``(phi, pi)``, each ``(1, *shape)``, with ``<P_phi> = amplitude^2 S(k)`` and
    ``<P_pi> = amplitude^2 omega_k^2 S(k)`` (see the module docstring).

    Args:
        lattice: the periodic lattice.
        omega: ``omega_k`` on the lattice's FFT grid (``lattice.shape``).
        spectrum: ``S(|k|, omega_k)`` (NumPy arrays in, an array or number out); default :func:`vacuum`.
        seed: the seed of ``numpy.random.default_rng``.
        amplitude: scales both fields.
        cutoff: the largest ``|k|`` kept (default: every mode).
    """
    kabs = np.sqrt(sum(k**2 for k in lattice.momenta()))
    omega = np.broadcast_to(np.asarray(omega, dtype=np.float64), lattice.shape)
    keep = np.ones(lattice.shape, bool) if cutoff is None else kabs <= cutoff
    if not np.all(np.isfinite(omega[keep]) & (omega[keep] >= 0)):
        # omega_k^2 < 0 (a NaN omega): a tachyonic, unstable state (e.g. a potential without a minimum, linearized
        # about phi = 0); there is no Gaussian vacuum to sample (the spectrum check below said "got nan")
        j = np.unravel_index(int(np.argmax(keep & ~(np.isfinite(omega) & (omega >= 0)))), lattice.shape)
        raise unstable_vacuum(omega[j], kabs[j])
    with np.errstate(all="ignore"):
        s = np.broadcast_to(np.asarray(spectrum(kabs, omega), dtype=np.float64), lattice.shape).copy()
    zero = kabs == 0
    s[zero & ~np.isfinite(s)] = 0.0  # the zero mode of e.g. a massless vacuum
    positive = bool(np.any(np.isfinite(s) & (s > 0)))  # before the cutoff: which key to blame when none is used
    s[~keep] = 0.0
    bad = keep & ~(np.isfinite(s) & (s >= 0))
    if bad.any():
        j = np.unravel_index(int(np.argmax(bad)), lattice.shape)
        raise bad_spectrum(s[j], kabs[j], omega[j])
    used = keep & (s > 0)
    if not used.any():
        raise unused_spectrum(lattice, positive)
    if not np.all(np.isfinite(omega[used]) & (omega[used] >= 0)):
        raise ParameterError("spectrum", "the theory's omega_k is not real at every mode (an unstable vacuum); "
                             "a Gaussian field needs real mode frequencies")
    rng = np.random.default_rng(seed)
    cell = lattice.cell_volume

    def draw(power: np.ndarray) -> np.ndarray:
        noise = np.fft.fftn(rng.standard_normal(lattice.shape))
        return np.fft.ifftn(noise * np.sqrt(power / cell)).real

    with np.errstate(over="ignore", invalid="ignore"):
        phi = amplitude * draw(s)
        pi = amplitude * draw(np.where(used, omega**2 * s, 0.0))
    return finite_data((phi[None], pi[None]), "amplitude", amplitude)
