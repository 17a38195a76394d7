r"""Initial data of the first release's signatures, now thin wrappers of :mod:`nnfield.initial` (deprecated).

``gaussian_packet(lattice, amplitude, width, center, wavevector, velocity)`` is
``nnfield.initial.gaussian_packet(lattice, NoDispersion(velocity), center, width, momentum, amplitude)`` and
``random_spectrum(lattice, amplitude, kmax, seed)`` is
``nnfield.initial.random_spectrum(lattice, NoDispersion(), seed, amplitude, cutoff)`` (``0`` and ``()`` meaning
"default" as before). Both warn (``DeprecationWarning``); the kink (:func:`nnfield.initial.kink`) is re-exported
by the package unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ... import initial
from ...lattice import Lattice


def gaussian_packet(
    lattice: Lattice, amplitude: float = 1.0, width: float = 0.0, center: Sequence[float] = (),
    wavevector: Sequence[float] = (), velocity: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Deprecated: :func:`nnfield.initial.gaussian_packet` with :class:`~nnfield.initial.NoDispersion`."""
    warnings.warn(
        "nnfield.theories.nonlinear.gaussian_packet is deprecated; use nnfield.initial.gaussian_packet(lattice, "
        "nnfield.initial.NoDispersion(velocity), center, width, momentum, amplitude)",
        DeprecationWarning,
        stacklevel=2,
    )
    return initial.gaussian_packet(
        lattice, initial.NoDispersion(velocity), list(center) if len(center) else None, width if width > 0 else None,
        list(wavevector) if len(wavevector) else None, amplitude,
    )


def random_spectrum(
    lattice: Lattice, amplitude: float = 0.1, kmax: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Deprecated: :func:`nnfield.initial.random_spectrum` with :class:`~nnfield.initial.NoDispersion`."""
    warnings.warn(
        "nnfield.theories.nonlinear.random_spectrum is deprecated; use nnfield.initial.random_spectrum(lattice, "
        "nnfield.initial.NoDispersion(), seed, amplitude, cutoff)",
        DeprecationWarning,
        stacklevel=2,
    )
    return initial.random_spectrum(lattice, initial.NoDispersion(), seed, amplitude, kmax if kmax > 0 else None)
