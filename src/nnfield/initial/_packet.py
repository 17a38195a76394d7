r"""The Gaussian packet ``psi = A exp(-|x - c|^2 / (2 w^2)) exp(i k0.(x - c))`` on the periodic box.

``|x - c|`` is the minimum-image distance (:func:`~nnfield.initial.minimum_image`, ``"wrap"``). The width
``w`` is the rms width of the field profile (``exp(-r^2/(2 w^2))``); spinor packets use the density
convention (``|psi|^2`` of rms width ``w``, :func:`~nnfield.initial.periodized_gaussian`). The theory's rule
gives the data:

- :class:`PositiveFrequency`: ``(Re psi, Re ifft(-i omega_k psi_k))``, a packet moving with the group velocity
  ``d omega / dk`` at ``k0`` (``k0 = 0``: a standing packet that splits in two);
- :class:`NoDispersion`: ``phi = A exp(-|x - c|^2 / (2 w^2)) cos(k0.(x - c))`` and
  ``pi = -v d phi / dx_0`` (analytic derivative): rigid translation along axis 0 with ``velocity`` ``v``,
  exact for a massless field in 1D.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._modes import Modes, NoDispersion, PositiveFrequency
from ._params import finite_data, packet_geometry
from ._periodic import minimum_image_distances


def gaussian_packet(
    lattice: Any, modes: Modes, center: Sequence[float] | None = None, width: float | None = None,
    momentum: Sequence[float] | None = None, amplitude: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Data ``(phi, pi)``, each ``(1, *shape)``, of the Gaussian packet (see the module docstring).

    Args:
        lattice: the periodic lattice.
        modes: the theory's rule (:class:`PositiveFrequency` or :class:`NoDispersion`).
        center: ``c`` per axis, physical units (default: the box centre).
        width: ``w >= a``, physical units (default: 0.1 x the shortest side, at least ``a``).
        momentum: the carrier ``k0`` per axis, ``|k0_mu| < pi / a`` (default: 0).
        amplitude: ``A``.
    """
    center, width, k0 = packet_geometry(lattice, center, width, momentum)
    d = minimum_image_distances(lattice, center)
    r2 = sum(dd**2 for dd in d)
    phase = sum(kk * dd for kk, dd in zip(k0, d, strict=True))
    if isinstance(modes, PositiveFrequency):
        with np.errstate(over="ignore", invalid="ignore"):
            psi = amplitude * np.exp(-r2 / (2 * width**2)) * np.exp(1j * phase)
            return finite_data(modes.fields(psi), "amplitude", amplitude)
    if isinstance(modes, NoDispersion):
        # the real form, written as in the first release (bit-identical results)
        with np.errstate(over="ignore", invalid="ignore"):
            env = amplitude * np.exp(-r2 / (2 * width * width))
            phi = env * np.cos(phase)
            dphi0 = -d[0] / (width * width) * phi - env * np.sin(phase) * k0[0]
            return finite_data((phi[None], (-modes.velocity * dphi0)[None]), "amplitude", amplitude)
    raise TypeError(f"modes: expected PositiveFrequency or NoDispersion, got {type(modes).__name__}")
