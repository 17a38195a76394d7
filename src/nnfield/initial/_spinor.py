r"""Spinor initial data: the plane wave and the Gaussian packet of a spinor theory (e.g. Dirac, paper Sec. 4).

Written once against :class:`~nnfield.initial.SpinorModes` (the theory's ``H(k)`` eigenvectors, energy
projectors and packing); the profiles are those of every theory (``docs/config.md``):

- :func:`spinor_plane_wave`: ``psi = A u exp(i (k.x + phase))``, ``k_mu = 2 pi n_mu / (N_mu a)``
  (:func:`~nnfield.initial.wave_numbers`), ``u`` the eigenvector of ``H(k)`` of the chosen energy sign: an exact
  eigenmode of the theory's (continuous-time) lattice equations.
- :func:`spinor_packet`: the periodized Gaussian ``exp(-|x - c|^2/(4 w^2) + i k0.(x - c))``
  (:func:`~nnfield.initial.periodized_gaussian`, the *density* width convention: ``|psi|^2`` has rms width
  ``w``) times ``u``, projected on the energy sign (``u = u_+-(k0)``) or unprojected for ``"mixed"``
  (``u = (u_+(k0) + u_-(k0))/sqrt 2``, Zitterbewegung at ``~ 2 omega(k0)``), normalized to unit charge
  ``a^D sum |psi|^2 = 1`` and then scaled by ``amplitude`` (charge ``amplitude^2``).

Exact (no discretization error beyond the lattice itself). Errors are :class:`~nnfield.errors.ParameterError`
naming the parameter (``n``, ``center``, ``momentum``, ``branch``, ``spin``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import check_number
from ..errors import ParameterError
from ._modes import SpinorModes
from ._params import finite_data, packet_geometry, wave_numbers
from ._periodic import periodized_gaussian

#: the energy branches of a plane wave (an eigenmode has one sign)
PLANE_WAVE_BRANCHES = ("positive", "negative")
#: the energy branches of a packet (``"mixed"``: both signs, unprojected)
PACKET_BRANCHES = ("positive", "negative", "mixed")


def _spinor(u: np.ndarray, ndim: int) -> np.ndarray:
    """The constant spinor ``u`` shaped to multiply a scalar profile ``(*shape)`` into ``(components, *shape)``."""
    return u.reshape((-1,) + (1,) * ndim)


def spinor_plane_wave(
    lattice: Any, modes: SpinorModes, n: Sequence[int] | None = None, amplitude: float = 1.0, phase: float = 0.0,
    branch: str = "positive", spin: int = 0,
) -> tuple[Any, Any]:
    """Data ``(phi, pi)`` (the theory's :meth:`~SpinorModes.unpack`) of ``psi = A u exp(i (k.x + phase))``.

    Args:
        lattice: the periodic lattice (the theory's).
        modes: the spinor theory's modes.
        n: integer wave numbers per axis (default ``[1, 0, ..]``, ``|n_mu| <= N_mu / 2``).
        amplitude: ``A``.
        phase: the phase offset in radians.
        branch: ``"positive"`` or ``"negative"`` energy.
        spin: which of the degenerate eigenvectors of that sign.
    """
    k, u = plane_wave_spinor(lattice, modes, n, amplitude, phase, branch, spin)
    with np.errstate(over="ignore", invalid="ignore"):
        psi = plane_wave_profile(lattice.coordinates(), k, u, amplitude, phase)
        return finite_data(modes.unpack(psi), "amplitude", amplitude)


def plane_wave_spinor(lattice: Any, modes: SpinorModes, n: Sequence[int] | None, amplitude: float, phase: float,
                      branch: str, spin: int) -> tuple[list[float], np.ndarray]:
    """``(k, u)`` of :func:`spinor_plane_wave`, with its checks."""
    # each named for itself: a NaN phase was reported as an overflow of the amplitude ("use a smaller amplitude")
    check_number("amplitude", amplitude)
    check_number("phase", phase)
    k = wave_numbers(lattice, n)
    if branch not in PLANE_WAVE_BRANCHES:
        raise ParameterError("branch", f"expected one of {PLANE_WAVE_BRANCHES}, got {branch!r}")
    return k, modes.branch_vector(k, 1 if branch == "positive" else -1, spin)


def plane_wave_profile(xs: Sequence[np.ndarray], k: Sequence[float], u: np.ndarray, amplitude: float, phase: float
                       ) -> np.ndarray:
    """``psi = A u exp(i (k.x + phase))`` at the sites ``xs`` (the coordinates' grids: the lattice's or a slab's),
    ``(components, *xs[0].shape)``."""
    kx = sum(kk * x for kk, x in zip(k, xs, strict=True))
    # phase = 0: exp(i k.x) exactly as the first release wrote it (kx + 0.0 would flip the sign of a zero)
    wave = np.exp(1j * (kx + phase)) if phase else np.exp(1j * kx)
    return amplitude * _spinor(u, len(xs)) * wave[None]


def spinor_packet(
    lattice: Any, modes: SpinorModes, center: Sequence[float] | None = None, width: float | None = None,
    momentum: Sequence[float] | None = None, branch: str = "positive", spin: int = 0, amplitude: float = 1.0,
) -> tuple[Any, Any]:
    """Data ``(phi, pi)`` of the Gaussian spinor packet of charge ``amplitude^2`` (see the module docstring).

    Args:
        lattice: the periodic lattice (the theory's).
        modes: the spinor theory's modes.
        center: ``c`` per axis, physical units (default: the box centre).
        width: ``w >= a``, the rms width of ``|psi|^2`` (default: 0.1 x the shortest side, at least ``a``).
        momentum: the carrier ``k0`` per axis, ``|k0_mu| < pi / a`` (default: 0).
        branch: ``"positive"``, ``"negative"`` (projected on that energy sign) or ``"mixed"``.
        spin: which of the eigenvectors of ``H(k0)`` of each sign.
        amplitude: the scale of the unit-charge packet (charge ``amplitude^2``).
    """
    c, width, k0, u, sign = packet_spinor(lattice, modes, center, width, momentum, branch, spin, amplitude)
    env = periodized_gaussian(lattice, c, width, k0)
    psi = _spinor(u, lattice.ndim) * env[None]
    if sign is not None:
        project = getattr(modes, "project", None)  # (a theory's own, e.g. block by block; else the whole symbol)
        psi = project(sign, psi) if project is not None else modes.apply_symbol(modes.energy_projector(sign), psi)
    psi = psi / np.sqrt(lattice.cell_volume * np.sum(np.abs(psi) ** 2))
    phi, pi = modes.unpack(psi)
    with np.errstate(over="ignore", invalid="ignore"):
        return finite_data((phi * amplitude, pi * amplitude), "amplitude", amplitude)


def packet_spinor(
    lattice: Any, modes: SpinorModes, center: Sequence[float] | None, width: float | None,
    momentum: Sequence[float] | None, branch: str, spin: int, amplitude: float,
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, int | None]:
    """``(c, w, k0, u, sign)`` of :func:`spinor_packet`, with its checks: ``sign`` the energy sign projected on
    (``None`` for ``"mixed"``, whose ``u = (u_+(k0) + u_-(k0))/sqrt 2``)."""
    check_number("amplitude", amplitude)
    center, width, k0 = packet_geometry(lattice, center, width, momentum)
    c, k0 = np.asarray(center, dtype=float), np.asarray(k0, dtype=float)
    if branch not in PACKET_BRANCHES:
        raise ParameterError("branch", f"expected one of {PACKET_BRANCHES}, got {branch!r}")
    if branch == "mixed":
        return c, width, k0, (modes.branch_vector(k0, 1, spin) + modes.branch_vector(k0, -1, spin)) / np.sqrt(2), None
    sign = 1 if branch == "positive" else -1
    return c, width, k0, modes.branch_vector(k0, sign, spin), sign
