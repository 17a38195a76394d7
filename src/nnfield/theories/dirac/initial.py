r"""Initial data of the Dirac field: plane-wave eigenmodes and Gaussian spinor packets (paper Sec. 4).

Physics data are the network's real ``(phi, pi)``, each ``(K, *shape)``, built as a complex spinor and unpacked
with :meth:`~.physics.Dirac.unpack` (4.19)/(4.30). The spinors ``u`` are eigenvectors of the theory's ``H(k)``
(lattice by default), of positive or negative energy; exact (no discretization error beyond the lattice).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import ParameterError
from .physics import Dirac

BRANCHES = ("positive", "negative", "mixed")


def _branch_vector(theory: Dirac, k: Sequence[float], sign: int, spin: int, kind: str | None) -> np.ndarray:
    H = theory.hamiltonian_symbol([np.asarray(float(kk)) for kk in k], kind)
    E, V = np.linalg.eigh(H)
    half = theory.K // 2
    idx = (half + spin) if sign > 0 else (half - 1 - spin)
    if not 0 <= spin < half:
        raise ParameterError("spin", f"expected 0..{half - 1} (one of the K/2 = {half} spinors), got {spin}")
    return V[:, idx]


def plane_wave(
    theory: Dirac, mode: Sequence[int], branch: str = "positive", spin: int = 0, amplitude: float = 1.0,
    kind: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``psi = amplitude u exp(i k.x)``, ``k_mu = 2 pi n_mu / (N_mu a)``, ``u`` an eigenvector of ``H(k)`` with
    positive or negative energy (lattice ``H`` of the theory by default). Returns real ``(phi, pi)``."""
    lat = theory.lattice
    if len(mode) != lat.ndim:
        raise ParameterError("mode", f"expected {lat.ndim} integers (one per lattice axis), got {list(mode)}")
    k = [2 * np.pi * n / (N * lat.spacing) for n, N in zip(mode, lat.shape, strict=True)]
    if branch not in BRANCHES[:2]:
        raise ParameterError("branch", f"expected one of {BRANCHES[:2]}, got {branch!r}")
    u = _branch_vector(theory, k, 1 if branch == "positive" else -1, spin, kind)
    phase = np.exp(1j * sum(kk * x for kk, x in zip(k, lat.coordinates(), strict=True)))
    psi = amplitude * u.reshape((-1,) + (1,) * lat.ndim) * phase[None]
    return theory.unpack(psi)


def energy_projector(theory: Dirac, sign: int, kind: str | None = None) -> np.ndarray:
    """Projector onto positive (``sign=+1``) or negative energies of ``H(k)`` on the FFT grid, ``(*shape, K, K)``."""
    H = theory.hamiltonian_symbol(theory.lattice.momenta(), kind)
    E, V = np.linalg.eigh(H)
    w = (E > 0) if sign > 0 else (E < 0)
    return np.einsum("...ab,...b,...cb->...ac", V, w.astype(float), V.conj())


def gaussian_packet(
    theory: Dirac, center: Sequence[float] | None = None, width: float = 1.0, k0: Sequence[float] | None = None,
    branch: str = "positive", spin: int = 0, kind: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian spinor packet ``exp(-|x - c|^2/(4 w^2) + i k0.(x - c)) u`` of unit charge.

    ``branch="positive"``/``"negative"``: projected on that energy sign (``u = u_+-(k0)``); ``"mixed"``:
    ``u = (u_+(k0) + u_-(k0))/sqrt(2)`` unprojected (shows Zitterbewegung at frequency ``~ 2 omega(k0)``).
    The Gaussian is periodized (summed over images), so it is smooth on the torus. Returns real ``(phi, pi)``.
    """
    lat = theory.lattice
    L = np.asarray(lat.lengths)
    c = L / 2 if center is None else np.asarray(center, dtype=float)
    k0 = np.zeros(lat.ndim) if k0 is None else np.asarray(k0, dtype=float)
    if c.shape != (lat.ndim,):
        raise ParameterError("center", f"expected {lat.ndim} numbers (one per lattice axis), got {c.tolist()}")
    if k0.shape != (lat.ndim,):
        raise ParameterError("k0", f"expected {lat.ndim} numbers (one per lattice axis), got {k0.tolist()}")
    xs = lat.coordinates()
    env = np.ones(lat.shape, dtype=complex)
    for mu in range(lat.ndim):  # periodized Gaussian (sum over images): smooth on the torus
        d = xs[mu] - c[mu]
        d = d - L[mu] * np.round(d / L[mu])
        n_img = int(np.ceil(8 * width / L[mu])) + 1
        g = sum(np.exp(-((d - j * L[mu]) ** 2) / (4 * width**2) + 1j * k0[mu] * (d - j * L[mu]))
                for j in range(-n_img, n_img + 1))
        env = env * g
    if branch == "mixed":
        u = (_branch_vector(theory, k0, 1, spin, kind) + _branch_vector(theory, k0, -1, spin, kind)) / np.sqrt(2)
        psi = u.reshape((-1,) + (1,) * lat.ndim) * env[None]
    elif branch in ("positive", "negative"):
        sign = 1 if branch == "positive" else -1
        u = _branch_vector(theory, k0, sign, spin, kind)
        psi = u.reshape((-1,) + (1,) * lat.ndim) * env[None]
        psi = theory.apply_symbol(energy_projector(theory, sign, kind), psi)
    else:
        raise ParameterError("branch", f"expected one of {BRANCHES}, got {branch!r}")
    psi = psi / np.sqrt(lat.cell_volume * np.sum(np.abs(psi) ** 2))
    return theory.unpack(psi)
