r"""Initial data of Maxwell-Dirac; every kind satisfies the network's Gauss law to round-off.

Physics data ``phi = (A, Q)``, ``pi = (E, P)`` (:mod:`.models`). The electric field is ``E = E_0 e_dir + E_T +
E_L``: an applied uniform field ``E_0`` (the ``k = 0`` mode, which Gauss's law leaves free), transverse photons
``E_T`` (D >= 2) and the longitudinal ``E_L = grad psi`` of the network's charge density with the lattice Poisson
solve ``Lap_a psi = rho - <rho>`` (:func:`~nnfield.theories.u1.longitudinal_field`; the uniform ``<rho>`` is the
static neutralizing background). The network's ``rho`` is time-centred: it depends on the links at the half
step, ``theta + (h/2) q a E``, hence on ``E`` itself; :func:`with_gauss` solves that by fixed-point iteration
(a contraction of factor ``~ h q^2``; it stops at round-off).

- :func:`charged_packets`: one Gaussian spinor packet (positive energy, momentum ``k0``) or two colliding ones
  (``+-k0``), each carrying ``norm`` units of ``a^D sum |psi|^2``, optionally in an applied uniform field;
- :func:`vacuum_photons`: transverse photons about the empty vacuum (D >= 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from ...errors import InputError, ParameterError
from ...initial import packet_geometry, per_axis
from .. import dirac
from ..params import check_number
from ..u1 import project
from ..u1._args import finite_point, integer
from ..u1.datafile import gauss_tolerance
from ..u1.gauss import precision


def with_gauss(model: Any, A: np.ndarray, E_free: np.ndarray, Q: np.ndarray, P: np.ndarray,
               iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Packed data with ``E = E_T + E_L``: ``E_T`` the transverse and uniform part of ``E_free``, ``E_L`` the
    longitudinal field of the network's charge (see the module docstring; :func:`~nnfield.theories.u1.project`).
    A longitudinal part of ``E_free`` is replaced (it was added to ``E_L``: a relative Gauss residual of 1).

    The fixed point ``E = E_T + grad Lap_a^-1 (rho(E) - <rho(E)>)`` is found by iteration. It contracts while the
    half-step links ``theta + (h/2) q a E`` move little with ``E``; for a strong charge (e.g. ``q = 30``, ``norm =
    10``, ``dt = 0.2``: the links turn by ~100 rad in half a step) the iteration wanders and the data violated
    Gauss's law by ~1e-2 (relative), silently. Unless it stops at round-off, the result's relative Gauss residual
    (the recorded ``gauss_residual``) must be within :func:`~nnfield.theories.u1.datafile.gauss_tolerance` (as for
    an initial-data file), else an :class:`~nnfield.errors.InputError` says so and what to reduce."""
    lat = model.lattice
    E = np.array(E_free, dtype=float)
    rho_fn = jax.jit(lambda p, q: model.charge_density(model.encode(p, q)))
    prev = None
    converged = False
    for _ in range(max(int(iterations), 1)):
        phi, pi = np.concatenate([A, Q]), np.concatenate([E, P])
        rho_net = rho_fn(phi, pi)  # float32 without JAX's 64-bit mode
        eps = precision(rho_net)
        rho = np.asarray(rho_net, dtype=float)  # the background subtracted in float64: neutral to ~1e-16
        E_new = project(lat, E_free, rho - rho.mean(), scale=float(np.sum(np.abs(rho))))  # (round-off of rho)
        delta = float(np.abs(E_new - E).max()) if prev is not None else np.inf
        E, prev = E_new, E
        if delta <= 4 * eps * max(float(np.abs(E).max()), 1e-300):
            converged = True
            break
    phi, pi = np.concatenate([A, Q]), np.concatenate([E, P])
    if not converged:
        r = float(jax.jit(lambda s: model.gauss_residual(s))(model.encode(phi, pi)))  # (runner._spectral_shapes)
        tol = gauss_tolerance(eps)
        if not r <= tol:
            h, q, a = float(model.network.dt), float(model.network.charge), lat.spacing
            turn = 0.5 * h * abs(q) * a * float(np.abs(E).max())
            raise InputError(f"the electric field of the matter's charge does not converge: after {iterations} "
                             f"iterations its relative Gauss residual is {r:.3e} > {tol:g} (the network's charge "
                             f"is taken at the half-step links theta + (dt/2) q a E, which turn by up to {turn:.3g} "
                             f"rad here); reduce dt, the charge q or the matter's norm")
    return phi, pi


def _canonical(phi: np.ndarray, pi: np.ndarray, packing: Any) -> tuple[np.ndarray, np.ndarray]:
    psi = packing.pack(phi, pi)
    return np.sqrt(2.0) * np.real(psi), np.sqrt(2.0) * np.imag(psi)


def charged_packets(model: Any, count: int = 1, center: Sequence[float] | None = None,
                    separation: float | None = None, width: float | None = None,
                    momentum: Sequence[float] | None = None, norm: float = 1.0, field: float = 0.0,
                    direction: int = 0, spin: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` (1 or 2) positive-energy Gaussian spinor packets of :func:`nnfield.theories.dirac.gaussian_packet`
    (width ``w``, momentum ``k0``; the second at ``-k0``), each with ``a^D sum |psi|^2 = norm`` (charge ``q norm``),
    centred at ``center`` (one) or ``center -+ separation e_0 / 2`` (two), in the applied uniform field ``field``
    along axis ``direction``; ``A = 0``.

    Checked before any data are built (a :class:`~nnfield.errors.ParameterError` naming the argument; an infinite
    norm or a NaN field gave NaN data, a string or a float count, direction or spin failed inside NumPy, a bad
    momentum was reported as ``k0``): ``count`` 1 or 2, ``direction`` an axis and
    ``spin`` (each an integer, not a bool or a float); ``center`` and ``momentum`` one finite real number per axis,
    ``center`` in the box and ``momentum`` in the Brillouin zone, ``width`` between ``a`` and the longest side
    (:func:`nnfield.initial.packet_geometry`); ``separation`` (when given) finite, and with two packets
    ``0 < separation < L_0``; ``norm`` finite and positive; ``field`` finite. A charge too strong for the
    network's Gauss law to be solved (:func:`with_gauss`) is a :class:`~nnfield.errors.ParameterError` naming
    ``norm``."""
    lat = model.lattice
    D = lat.ndim
    count = integer("count", count)
    if count not in (1, 2):
        raise ParameterError("count", f"expected 1 or 2 packets, got {count}")
    check_number("norm", norm)
    if not norm > 0:
        raise ParameterError("norm", f"expected a positive norm (a^D sum |psi|^2 of a packet), got {norm}")
    check_number("field", field)
    direction = integer("direction", direction)
    if not 0 <= direction < D:
        raise ParameterError("direction", f"expected an axis 0..{D - 1} of the lattice, got {direction}")
    spin = integer("spin", spin)
    if center is not None:
        center = finite_point("center", per_axis("center", center, D, [x / 2 for x in lat.lengths]))
    if momentum is not None:
        momentum = finite_point("momentum", per_axis("momentum", momentum, D, [0.0] * D))
    if width is not None:
        check_number("width", width, positive=True)
    if separation is not None:
        check_number("separation", separation)
    center, width, momentum = packet_geometry(lat, center, width, momentum)
    L = lat.lengths
    c = np.asarray(center, dtype=float)
    k0 = np.asarray(momentum, dtype=float)
    packing = model.packing
    phi = np.zeros((packing.K, *lat.shape))
    pi = np.zeros_like(phi)
    if count == 1:
        places = [(c, k0)]
    else:
        sep = separation if separation is not None else L[0] / 2
        if not 0 < sep < L[0]:
            raise ParameterError("separation", f"expected 0 < separation < L_0 = {L[0]:g}, got {sep:g}")
        e0 = np.zeros(D)
        e0[0] = sep / 2
        places = [(c - e0, k0), (c + e0, -k0)]
    for cc, kk in places:
        f, p = dirac.gaussian_packet(packing, list(cc), width, list(kk), "positive", spin)
        phi += np.sqrt(norm) * np.asarray(f)
        pi += np.sqrt(norm) * np.asarray(p)
    Q, P = _canonical(phi, pi, packing)
    E0 = np.zeros((D, *lat.shape))
    E0[direction] = field
    try:
        return with_gauss(model, np.zeros((D, *lat.shape)), E0, Q, P)
    except InputError as exc:  # the packets' charge is too strong for the network's Gauss law (with_gauss)
        raise ParameterError("norm", str(exc)) from None


def vacuum_photons(model: Any, A: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transverse photons ``(A, E)``, each ``(D, *lattice.shape)``, about the empty vacuum (no matter: ``rho = 0``);
    another shape is a :class:`~nnfield.errors.ParameterError` naming ``A`` or ``E`` (it was packed silently with
    the wrong number of components, or failed inside NumPy)."""
    lat = model.lattice
    want = (lat.ndim, *lat.shape)
    for name, x in (("A", A), ("E", E)):
        if np.shape(x) != want:
            raise ParameterError(name, f"expected shape (D, *lattice.shape) = {want}, got {np.shape(x)}")
    z = np.zeros((model.packing.K, *lat.shape))
    return np.concatenate([np.asarray(A), z]), np.concatenate([np.asarray(E), z])


__all__ = ["charged_packets", "vacuum_photons", "with_gauss"]
