r"""Gauss's law ``div E = rho`` on the lattice: the residual, the longitudinal field of a charge, the projection.

The backward divergence of a forward gradient is the nearest-neighbour Laplacian, so the longitudinal field of a
charge density ``rho`` is ``E_L = grad psi`` with the lattice Poisson equation

    Lap_a psi = rho,     psi_k = rho_k / (-(4/a^2) sum_mu sin^2(k_mu a/2))   (k != 0; FFT, exact on the lattice)

On the torus the ``k = 0`` mode requires a neutral total charge, ``sum_x rho = 0``. The projection of given data
``E`` adds the longitudinal correction ``grad psi`` with ``Lap_a psi = rho - div E`` (the smallest change in the
``l2`` norm that satisfies the law; the transverse part of ``E`` is untouched). Round-off: the residual after a
solve is ``~ eps`` times the field's scale.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from ...errors import ParameterError
from ...lattice import Lattice
from ._lattice import divergence, divergence_scale


def gauss_residual(E: Any, rho: Any, spacing: float, floor: Any = 0.0) -> Any:
    """``max_x |div E - rho| / scale``: the relative violation of Gauss's law (round-off: ``~1e-16``).

    ``scale`` is the larger of :func:`~._lattice.divergence_scale` (the largest magnitude of the terms of
    ``div E - rho`` at a site) and ``floor``, the charge scale of the matter (the model passes ``|q| max |Phi|^2 /
    a``, the charge density of the field at the lattice frequency ``1/a``), so that static data (``E``, ``pi`` at
    round-off level, e.g. a vortex) are not measured against their own round-off.
    """
    res = jnp.max(jnp.abs(divergence(E, spacing) - rho))
    scale = jnp.maximum(divergence_scale(E, rho, spacing), floor)
    return res / jnp.maximum(scale, jnp.finfo(jnp.asarray(res).dtype).tiny)


#: the neutrality tolerance of :func:`solve_poisson` for float64 data, relative to the charge scale
NEUTRAL_TOLERANCE = 1e-10
#: ... and for data of a coarser dtype: this many of its epsilons (float32: 7.6e-6), relative to the charge scale
NEUTRAL_EPS = 64


def precision(*arrays: Any) -> float:
    """The machine epsilon of the coarsest floating dtype among ``arrays`` (float64's for any other data): the
    precision the data were computed in."""
    eps = float(np.finfo(np.float64).eps)
    for x in arrays:
        dtype = getattr(x, "dtype", None)
        if dtype is not None and np.issubdtype(dtype, np.floating):
            eps = max(eps, float(np.finfo(dtype).eps))
    return eps


def neutrality_tolerance(eps: float) -> float:
    """The relative tolerance of the neutrality check for data computed with machine epsilon ``eps``:
    :data:`NEUTRAL_TOLERANCE` (float64), or :data:`NEUTRAL_EPS` ``eps`` if larger (float32: the round-off of a
    float32 charge density summed over the lattice is ~1e-7 relative, not a net charge)."""
    return max(NEUTRAL_TOLERANCE, NEUTRAL_EPS * eps)


def solve_poisson(lattice: Lattice, source: Any, *, what: str = "charge", scale: float = 0.0,
                  eps: float | None = None) -> np.ndarray:
    """``psi`` with ``Lap_a psi = source`` and zero mean (FFT; exact on the lattice; computed in float64).

    Raises :class:`~nnfield.errors.ParameterError` (``what``) when ``sum source`` is not zero to round-off:
    relative to the charge scale (``sum |source|`` or ``scale``, the sum of the magnitudes the source was computed
    from) it must be at most :func:`neutrality_tolerance` of ``eps``, the machine epsilon of the data (default: that
    of ``source``'s dtype, :func:`precision`; float32 data get float32's round-off). A periodic lattice holds no net
    charge (its field lines have nowhere to end).
    """
    eps = precision(source) if eps is None else float(eps)
    src = np.asarray(source, dtype=float)
    total, scale = float(np.sum(src)), max(float(np.sum(np.abs(src))), scale)
    if abs(total) > neutrality_tolerance(eps) * max(scale, np.finfo(float).tiny) and scale > 0:
        raise ParameterError(
            what, f"a periodic lattice needs a neutral total charge (sum of rho = 0, Gauss's law at k = 0), got "
            f"{total * lattice.cell_volume:.6g} (a^D sum rho); add an opposite charge (e.g. a pair of packets)"
        )
    symbol = lattice.laplacian_symbol()
    src_k = np.fft.fftn(src)
    with np.errstate(divide="ignore", invalid="ignore"):
        psi_k = np.where(symbol != 0, src_k / np.where(symbol != 0, symbol, 1.0), 0.0)
    return np.real(np.fft.ifftn(psi_k))


def longitudinal_field(lattice: Lattice, rho: Any, *, scale: float = 0.0) -> np.ndarray:
    """The curl-free ``E_L = grad psi`` with ``div E_L = rho`` (``(D, *shape)``; :func:`solve_poisson`, whose
    neutrality check measures ``sum rho`` against ``scale`` where that exceeds ``sum |rho|``)."""
    psi = solve_poisson(lattice, rho, scale=scale)
    a = lattice.spacing
    return np.stack([(np.roll(psi, -1, mu) - psi) / a for mu in range(lattice.ndim)])


def project(lattice: Lattice, E: Any, rho: Any, *, scale: float = 0.0) -> np.ndarray:
    """``E + grad psi`` with ``Lap_a psi = rho - div E``: user data made to satisfy Gauss's law (transverse part
    kept; the longitudinal part replaced by the field of ``rho``). The neutrality check of :func:`solve_poisson`
    allows the round-off of the coarser dtype of ``E`` and ``rho``, relative to ``sum |rho| + 2 sum |E| / a`` or
    ``scale`` where that is larger: the magnitude of the charge ``rho`` was computed from (a charge density less its
    uniform background, ``rho - <rho>``, is neutral to the round-off of ``rho``, not of the difference: a nearly
    uniform density, e.g. a packet as wide as the box, left a difference near zero everywhere and was refused)."""
    eps = precision(E, rho)
    E = np.asarray(E, dtype=float)
    if E.shape != (lattice.ndim, *lattice.shape):
        raise ParameterError("E", f"expected an electric field of shape {(lattice.ndim, *lattice.shape)}, "
                                  f"got {E.shape}")
    a = lattice.spacing
    rho = np.asarray(rho, dtype=float)
    div = sum(E[mu] - np.roll(E[mu], 1, mu) for mu in range(lattice.ndim)) / a
    psi = solve_poisson(lattice, rho - div, scale=max(float(np.sum(np.abs(rho)) + 2 * np.sum(np.abs(E)) / a),
                                                      float(scale)), eps=eps)
    return E + np.stack([(np.roll(psi, -1, mu) - psi) / a for mu in range(lattice.ndim)])


def transverse(lattice: Lattice, E: Any) -> np.ndarray:
    """The divergence-free part of ``E`` (:func:`project` with no charge)."""
    return project(lattice, E, np.zeros(lattice.shape))
