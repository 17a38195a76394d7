r"""How a theory turns a profile into initial data: the declared interface of the initial-condition library.

The library writes each profile once (a plane wave, a Gaussian packet, a random field); the *theory* says
how a profile becomes its physical data ``(phi, pi)`` by handing the library one of these:

- :class:`PositiveFrequency` (real scalar fields with a dispersion ``omega_k``, e.g. Klein-Gordon (3.4)): the
  complex profile ``psi`` is the positive-frequency part of the solution
  ``phi(x, t) = Re sum_k psi_k exp(i (k.x - omega_k t))``, so ``phi = Re psi`` and
  ``pi = Re ifft(-i omega_k psi_k)``. Exact for the continuous-time equations with that ``omega_k``.
- :class:`NoDispersion` (nonlinear fields, no linear dispersion about the data): ``phi = Re psi``; a packet
  translates rigidly along axis 0 with ``velocity`` (``pi = -v d phi / dx_0``, exact for a massless field in
  1D); a random field draws ``pi`` independently.
- :class:`SpinorModes` (spinor fields, e.g. Dirac): the theory's ``H(k)`` eigenvectors, energy projectors and
  its packing of the complex spinor into real ``(phi, pi)``. An interface only here: the spinor theory
  implements it (the Dirac package's ``DiracModes``); :mod:`._spinor` builds the spinor profiles from it.

A theory with a dispersion satisfies :class:`Dispersion` (``omega()`` on the lattice's FFT grid).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ParameterError


@runtime_checkable
class Dispersion(Protocol):
    """A theory with real mode frequencies: ``omega()`` is ``omega_k`` on the lattice's FFT grid (``lattice.shape``)."""

    def omega(self) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True, eq=False)
class PositiveFrequency:
    """Positive-frequency data of a real scalar field with dispersion ``omega_k`` (see the module docstring)."""

    omega: np.ndarray

    def __post_init__(self) -> None:
        if callable(self.omega) or np.asarray(self.omega).dtype.kind not in "iuf":
            raise ParameterError("omega", f"expected the real mode frequencies omega_k as an array on the lattice's "
                                 f"FFT grid, got {type(self.omega).__name__}; e.g. PositiveFrequency.of(theory)")

    @classmethod
    def of(cls, theory: Dispersion) -> PositiveFrequency:
        """The positive-frequency rule of ``theory`` (its ``omega()`` on the FFT grid)."""
        return cls(np.asarray(theory.omega()))

    def fields(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(Re psi, Re ifft(-i omega_k psi_k))``, each shaped ``(1, *shape)``."""
        if np.shape(self.omega) != np.shape(psi):  # (it would broadcast, e.g. a 1D omega over a 2D lattice)
            raise ParameterError("omega", f"expected omega_k on the lattice's FFT grid, shape {np.shape(psi)}, got "
                                 f"shape {np.shape(self.omega)}; e.g. PositiveFrequency.of(theory)")
        pi = np.fft.ifftn(-1j * self.omega * np.fft.fftn(psi)).real
        return psi.real[None].copy(), pi[None]


@dataclasses.dataclass(frozen=True)
class NoDispersion:
    """Data of a field with no linear dispersion about it (nonlinear fields; see the module docstring).

    Attributes:
        velocity: the speed of rigid translation along axis 0 of a packet (``pi = -v d phi / dx_0``).
    """

    velocity: float = 0.0


@runtime_checkable
class SpinorModes(Protocol):
    """What a spinor theory provides to the library (implemented by the spinor theory's package).

    ``K`` real components per site pack a complex spinor of ``K/2`` components (or ``K``, per the theory's
    complex structure); the library builds complex spinor profiles ``psi`` shaped ``(components, *shape)``
    and asks the theory to project and unpack them.
    """

    lattice: Any

    def branch_vector(self, k: Sequence[float], sign: int, spin: int) -> np.ndarray:
        """The normalized eigenvector ``u`` of ``H(k)`` with energy sign ``sign`` (``+1``/``-1``), ``spin``-th."""
        ...

    def energy_projector(self, sign: int) -> np.ndarray:
        """The projector onto energies of sign ``sign`` of ``H(k)`` on the FFT grid, ``(*shape, n, n)``."""
        ...

    def apply_symbol(self, symbol: np.ndarray, psi: np.ndarray) -> np.ndarray:
        """``psi_k <- symbol(k) psi_k`` (a ``(*shape, n, n)`` Fourier multiplier) on a spinor field."""
        ...

    # optional: ``energy_projector_at(sign, k)``, the projector at the momenta ``k`` (``(*k[0].shape, n, n)``), for
    # a packet built split over devices (:func:`~nnfield.initial.spinor_packet_split`); ``project(sign, psi)``, a
    # theory's own projection of a whole field (e.g. block by block)

    def unpack(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The real network-side data ``(phi, pi)`` of the complex spinor ``psi``."""
        ...


Modes = PositiveFrequency | NoDispersion
