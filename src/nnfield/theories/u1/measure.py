r"""Measurements on runs of the gauge networks: frequencies of single modes, vortex positions.

:func:`mode_frequency`: a single linear mode under the leapfrog obeys ``x_{n+1} + x_{n-1} = 2 cos(Omega dt) x_n``
exactly, so the least-squares fit of ``x_{n+1} + x_{n-1} = 2 cos(Omega dt) x_n + d`` returns the mode's frequency
``Omega`` to round-off (the constant ``d`` absorbs a shift of the oscillation's centre). It is biased only by other
modes or by nonlinearity in the series (harmonics: first order in the amplitude). The continuous-time ``omega``
it corresponds to is ``(2/dt) sin(Omega dt/2)`` (the leapfrog's dispersion, order 2 in dt).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def mode_frequency(series: Any, dt: float) -> float:
    """``Omega`` of a single-mode series sampled every ``dt`` (see the module docstring)."""
    x = np.asarray(series, dtype=float)
    # x_{n+1} + x_{n-1} = 2 c x_n + d: the constant d absorbs the O(amplitude^2) shift of the centre of a
    # nonlinear oscillation (without it the estimate is biased at first order in the amplitude)
    lhs = np.stack([2 * x[1:-1], np.ones(x.size - 2)], axis=1)
    (c, _), *_ = np.linalg.lstsq(lhs, x[2:] + x[:-2], rcond=None)
    c = float(c)
    return float(np.arccos(np.clip(c, -1.0, 1.0)) / dt)


def leapfrog_omega(Omega: float, dt: float) -> float:
    """``(2/dt) sin(Omega dt/2)``: the continuous-time frequency whose leapfrog frequency is ``Omega``."""
    return float(2.0 / dt * np.sin(Omega * dt / 2))


def centroid(weight: Any, lattice: Any, center: Any = None) -> np.ndarray:
    """The ``weight``-weighted position (minimum image about ``center``, default the box centre), one per axis."""
    from ...initial import minimum_image

    w = np.asarray(weight, dtype=float)
    c = [x / 2 for x in lattice.lengths] if center is None else list(center)
    out = []
    for x, ci, ell in zip(lattice.coordinates(), c, lattice.lengths, strict=True):
        out.append(ci + float(np.sum(w * minimum_image(x, ci, ell)) / np.sum(w)))
    return np.asarray(out)
