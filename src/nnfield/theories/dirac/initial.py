r"""Initial data of the Dirac field (paper Sec. 4) from the one initial-condition library :mod:`nnfield.initial`.

:class:`DiracModes` is the Dirac theory's :class:`~nnfield.initial.SpinorModes`: the eigenvectors of its
``H(k)`` (:meth:`~.physics.Dirac.hamiltonian_symbol`, lattice by default), the energy projectors on the FFT
grid, and the packing of the complex spinor into the network's real ``(phi, pi)``, each ``(K, *shape)``, with
:meth:`~.physics.Dirac.unpack` (4.19)/(4.30). The profiles themselves (plane wave, periodized Gaussian packet)
are the library's :func:`~nnfield.initial.spinor_plane_wave` and :func:`~nnfield.initial.spinor_packet`;
:func:`plane_wave` and :func:`gaussian_packet` keep the first release's signatures. Exact (no discretization
error beyond the lattice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import initial
from ...errors import ParameterError
from ...lattice import Lattice
from .physics import Dirac

#: the energy branches of the packets (a plane wave takes the first two)
BRANCHES = initial.PACKET_BRANCHES
#: how many sites of the FFT grid :meth:`DiracModes.project` builds the energy projector for at once (whole planes of
#: the first axis, at least one): 2^14 sites of ``4 x 4`` complex matrices are about 4 MiB each
PROJECT_BLOCK_SITES = 1 << 14


def energy_projector(theory: Dirac, sign: int, kind: str | None = None, k: Sequence[Any] | None = None
                     ) -> np.ndarray:
    """Projector onto positive (``sign=+1``) or negative energies of ``H(k)`` on the FFT grid (or on the momenta
    ``k``), ``(*shape, K, K)`` (:meth:`~.physics.Dirac.spectral_symbol` of the step function)."""
    return theory.spectral_symbol(lambda E: ((E > 0) if sign > 0 else (E < 0)).astype(float), kind, k)


@dataclasses.dataclass(frozen=True, eq=False)
class DiracModes:
    """The Dirac theory's :class:`~nnfield.initial.SpinorModes`, with ``H(k)`` of ``kind`` (default: the theory's)."""

    theory: Dirac
    kind: str | None = None

    @property
    def lattice(self) -> Lattice:
        return self.theory.lattice

    def branch_vector(self, k: Sequence[float], sign: int, spin: int) -> np.ndarray:
        """The normalized eigenvector of ``H(k)`` with energy sign ``sign``, the ``spin``-th of the K/2 of that sign
        (``spin`` a whole number ``0 .. K/2 - 1``; the eigenvectors of each sign in ascending ``|E|``)."""
        half = self.theory.K // 2
        whole = not isinstance(spin, bool | np.bool_) and isinstance(spin, int | np.integer)
        if not (whole and 0 <= spin < half):  # (a float spin failed as an IndexError, a bool was taken as 0 or 1)
            raise ParameterError("spin", f"expected 0..{half - 1} (a whole number: one of the K/2 = {half} spinors), "
                                 f"got {spin!r}")
        H = self.theory.hamiltonian_symbol([np.asarray(float(kk)) for kk in k], self.kind)
        E, V = np.linalg.eigh(H)
        idx = (half + spin) if sign > 0 else (half - 1 - spin)
        return V[:, idx]

    def energy_projector(self, sign: int) -> np.ndarray:
        """:func:`energy_projector` of the theory with this ``kind``."""
        return energy_projector(self.theory, sign, self.kind)

    def energy_projector_at(self, sign: int, k: Sequence[Any]) -> np.ndarray:
        """:func:`energy_projector` at the momenta ``k`` (e.g. a block of a device's slab of the FFT grid: a split
        build, :func:`nnfield.initial.spinor_packet_split`), ``(*k[0].shape, K, K)``."""
        return energy_projector(self.theory, sign, self.kind, k)

    def apply_symbol(self, symbol: np.ndarray, psi: np.ndarray) -> np.ndarray:
        """:meth:`~.physics.Dirac.apply_symbol`: ``psi_k <- symbol(k) psi_k``."""
        return self.theory.apply_symbol(symbol, psi)

    def project(self, sign: int, psi: np.ndarray) -> np.ndarray:
        """``apply_symbol(energy_projector(sign), psi)``, the same numbers bit for bit, with the projector built a
        block of planes of the FFT grid at a time (:data:`PROJECT_BLOCK_SITES` sites): its ``(*shape, K, K)``
        complex arrays (``H(k)``, its eigenvectors and the projector, with the sums that build them) held 312 bytes
        per component and site of a 3D packet's build, six times the state's, for the whole grid at once
        (``scripts/measure_initial_memory.py``). Each ``H(k)`` is diagonalized on its own either way."""
        theory = self.theory
        theory.check_spinor(psi)
        ax = theory._axes()
        pk = np.fft.fftn(np.asarray(psi), axes=ax)
        k1d = theory.lattice.momenta_1d()
        plane = int(np.prod(theory.lattice.shape[1:], dtype=np.int64))
        rows = max(1, PROJECT_BLOCK_SITES // max(1, plane))
        # laid out as the whole einsum's result (the spinor index innermost), so that the inverse FFT, and the sums
        # over the packet that follow (its norm), see the same memory order and give the same bits
        out = np.moveaxis(np.empty((*pk.shape[1:], pk.shape[0]), pk.dtype), -1, 0)
        for i in range(0, len(k1d[0]), rows):
            k = np.meshgrid(k1d[0][i:i + rows], *k1d[1:], indexing="ij")
            S = energy_projector(theory, sign, self.kind, k)
            out[:, i:i + rows] = np.einsum("...ab,b...->a...", S, pk[:, i:i + rows])
        del pk
        return np.fft.ifftn(out, axes=ax)

    def unpack(self, psi: np.ndarray) -> tuple[Any, Any]:
        """:meth:`~.physics.Dirac.unpack` (4.19)/(4.30)."""
        return self.theory.unpack(psi)


def _naming(exc: ParameterError, names: dict[str, str]) -> ParameterError:
    """``exc`` naming this module's parameter (``mode``, ``k0``) instead of the library's (``n``, ``momentum``)."""
    return ParameterError(names[exc.param], exc.problem) if exc.param in names else exc


def plane_wave(
    theory: Dirac, mode: Sequence[int], branch: str = "positive", spin: int = 0, amplitude: float = 1.0,
    kind: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``psi = amplitude u exp(i k.x)``, ``k_mu = 2 pi n_mu / (N_mu a)`` (``n = mode``, ``|n_mu| <= N_mu/2``), ``u``
    an eigenvector of ``H(k)`` with positive or negative energy (lattice ``H`` of the theory by default). Returns
    real ``(phi, pi)`` (:func:`~nnfield.initial.spinor_plane_wave`)."""
    try:
        return initial.spinor_plane_wave(theory.lattice, DiracModes(theory, kind), mode, amplitude, 0.0, branch, spin)
    except ParameterError as exc:
        raise _naming(exc, {"n": "mode"}) from None


def gaussian_packet(
    theory: Dirac, center: Sequence[float] | None = None, width: float = 1.0, k0: Sequence[float] | None = None,
    branch: str = "positive", spin: int = 0, kind: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian spinor packet ``exp(-|x - c|^2/(4 w^2) + i k0.(x - c)) u`` of unit charge.

    ``branch="positive"``/``"negative"``: projected on that energy sign (``u = u_+-(k0)``); ``"mixed"``:
    ``u = (u_+(k0) + u_-(k0))/sqrt(2)`` unprojected (shows Zitterbewegung at frequency ``~ 2 omega(k0)``).
    The Gaussian is periodized (summed over images), so it is smooth on the torus. Returns real ``(phi, pi)``
    (:func:`~nnfield.initial.spinor_packet`; ``a <= width`` and ``|k0_mu| < pi / a`` are required).
    """
    try:
        return initial.spinor_packet(theory.lattice, DiracModes(theory, kind), center, width, k0, branch, spin)
    except ParameterError as exc:
        raise _naming(exc, {"momentum": "k0"}) from None
