r"""The plane wave ``psi = A exp(i (k.x + phase))``, ``k_mu = 2 pi n_mu / (N_mu a)`` (a lattice momentum).

With :class:`~nnfield.initial.PositiveFrequency` data it is the exact travelling wave
``phi = A cos(k.x - omega_k t + phase)`` of the theory's (continuous-time) lattice equations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import check_number
from ._modes import PositiveFrequency
from ._params import finite_data, wave_numbers


def plane_wave(
    lattice: Any, modes: PositiveFrequency, n: Sequence[int] | None = None, amplitude: float = 1.0,
    phase: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Data ``(phi, pi)`` of the plane wave with wave numbers ``n`` (default ``[1, 0, ..]``; ``|n_mu| <= N_mu/2``).

    Args:
        lattice: the periodic lattice.
        modes: the theory's rule for turning ``psi`` into ``(phi, pi)`` (:class:`PositiveFrequency`).
        n: integer wave numbers per axis.
        amplitude: ``A``.
        phase: the phase offset in radians.

    A non-finite ``amplitude`` or ``phase`` is refused naming it (a NaN phase was reported as an overflow of the
    amplitude).
    """
    check_number("amplitude", amplitude)
    check_number("phase", phase)
    k = wave_numbers(lattice, n)
    x = lattice.coordinates()
    kx = sum(kk * xx for kk, xx in zip(k, x, strict=True))
    with np.errstate(over="ignore", invalid="ignore"):
        psi = amplitude * np.exp(1j * (kx + phase))
        return finite_data(modes.fields(psi), "amplitude", amplitude)
