r"""The sine-Gordon kink: an exact travelling solution, as initial data on a lattice (a planar wall along axis 0).

``phi = (4/b) arctan(exp(q m gamma (x - x0 - v t)))``, ``gamma = 1/sqrt(1 - v^2)``, charge ``q = +-1``: exact for
``phi_tt = phi_xx - (m^2/b) sin(b phi)`` on the line (units ``c = 1``). On the lattice it is exact up to the
discretization of the equations (``O(a^2)``) and the box (see :func:`kink`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_number
from ..errors import ParameterError
from ._periodic import minimum_image


def kink_profile(x: Any, t: float, mass: float = 1.0, b: float = 1.0, v: float = 0.0, x0: float = 0.0,
                 charge: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The sine-Gordon (anti)kink ``phi = (4/b) arctan(exp(q m gamma (x - x0 - v t)))`` at positions ``x``.

    Returns ``(phi, dphi/dt)``.
    """
    _check_kink(mass, b, v, charge)
    g = 1.0 / np.sqrt(1.0 - v * v)
    z = charge * mass * g * (np.asarray(x, dtype=float) - x0 - v * t)
    with np.errstate(over="ignore"):  # far from the wall exp and cosh overflow to inf: arctan -> pi/2, 1/cosh -> 0
        phi = 4.0 / b * np.arctan(np.exp(z))
        pi = -charge * 2.0 / b * mass * g * v / np.cosh(z)
    return phi, pi


def _check_kink(mass: Any, b: Any, v: Any, charge: Any) -> None:
    """The kink's constants: ``m > 0``, ``b > 0`` finite, ``|v| < 1``, ``charge = +-1``."""
    check_number("mass", mass, positive=True)
    check_number("b", b, positive=True)
    check_number("v", v)
    if not abs(v) < 1:
        raise ParameterError("v", f"expected a kink speed |v| < 1 (units with c = 1), got {v!r}; e.g. 0.5")
    if isinstance(charge, bool) or charge not in (1, -1):
        raise ParameterError("charge", f"expected +1 (a kink) or -1 (an antikink), got {charge!r}")


def kink(
    lattice: Any, t: float = 0.0, mass: float = 1.0, b: float = 1.0, v: float = 0.0, center: float = 0.5,
    twist: float = 0.0, charge: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Sine-Gordon kink data on ``lattice`` (a planar wall along axis 0), shape ``(1, *shape)`` each.

    ``center`` is the kink's position at ``t = 0`` as a fraction of the box length ``L`` along axis 0.

    - ``twist = charge * 2 pi / b``: one kink at ``x0 + v t`` (any ``center``, any ``t``: the kink may cross the
      seam), the lifted field ``phi(x) = f(xi) + n twist`` with ``x - x0 - v t = xi + n L``, ``xi`` in
      ``[-L/2, L/2)`` (the nearest image, ``f`` the kink on the line); it obeys ``phi(x + L) = phi(x) + twist``
      and is exact up to ``exp(-m gamma L / 2)``. The stored period is the one a run reaches continuously.
    - ``twist = 0`` (periodic): a kink at ``x0`` and an antikink at ``x0 + L/2``, both moving with ``v``;
      exact up to their tail overlap ``~ exp(-m gamma L / 4)``. The seam is placed between them.
    """
    _check_kink(mass, b, v, charge)
    check_number("center", center)
    check_number("twist", twist)
    check_number("t", t)
    a, n0 = lattice.spacing, lattice.shape[0]
    L = n0 * a
    x = a * np.arange(n0)
    x0 = center * L
    period = 2 * np.pi / b
    if twist and abs(twist - charge * period) < 1e-12 * period:
        s_ = x - x0 - v * t
        n = np.floor((s_ + L / 2) / L)  # the kink image nearest to x
        phi, pi = kink_profile(s_ - n * L, 0.0, mass, b, v, 0.0, charge)
        phi = phi + n * twist
    elif twist == 0:
        xi = np.mod(x - x0 - v * t + L / 4, L) - L / 4  # kink at xi = 0, antikink at xi = L/2, seam at -L/4
        pk, qk = kink_profile(xi, 0.0, mass, b, v, 0.0, charge)
        pa, qa = kink_profile(xi, 0.0, mass, b, v, L / 2, charge)
        phi, pi = pk - pa, qk - qa
    else:
        raise ParameterError(
            "twist", f"expected 0 (a kink-antikink pair) or charge * 2 pi / b = {charge * period!r} (one kink), "
            f"got {twist!r}"
        )
    view = (n0,) + (1,) * (lattice.ndim - 1)
    phi = np.broadcast_to(phi.reshape(view), lattice.shape)[None].copy()
    pi = np.broadcast_to(pi.reshape(view), lattice.shape)[None].copy()
    return phi, pi


def kink_antikink(
    lattice: Any, t: float, mass: float = 1.0, b: float = 1.0, v: float = 0.5, center: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact sine-Gordon kink-antikink scattering solution at time ``t`` (planar walls along axis 0), shape
    ``(1, *shape)`` each:

        ``phi = (4/b) arctan( sinh(gamma v m t) / (v cosh(gamma m (x - x0))) )``,  ``gamma = 1/sqrt(1 - v^2)``

    (Perring and Skyrme 1962): for ``t < 0`` an antikink and a kink approach ``x0 = center L`` at speed ``v`` each,
    ``phi`` is ``-2 pi / b`` between them; they meet at ``t = 0`` and pass through each other, with no radiation
    and only a time delay (the field between them is then ``+2 pi / b``): sine-Gordon is integrable. Exact on the
    line; on the periodic box up to the tails at the seam (``c + L/2``), ``~ (4/(b v)) exp(-gamma m (L/2 - v |t|))``,
    and on the lattice up to ``O(a^2)``. Returns ``(phi, dphi/dt)``.
    """
    _check_kink(mass, b, v, 1)
    if v == 0:
        raise ParameterError("v", "expected a speed 0 < |v| < 1 (at v = 0 the pair is a static field only at t = 0); "
                             "e.g. 0.5")
    check_number("center", center)
    check_number("t", t)
    length = float(lattice.lengths[0])
    x = minimum_image(lattice.coordinates()[0][(slice(None),) + (0,) * (lattice.ndim - 1)], center * length, length)
    v = abs(v)  # the solution is even in v
    g = 1.0 / math.sqrt(1.0 - v * v)
    # r = sinh(T) / (v cosh(X)) and q = cosh(T) / (v cosh(X)), T = gamma v m |t|, X = gamma m |x|, in logarithms so
    # that nothing overflows (math.sinh raised OverflowError for T > 710): r = exp(lr), lr = T - X + log(a), with
    # a = (1 - exp(-2T)) / (v (1 + exp(-2X))) (expm1: exact at small T), q = exp(T - X) c, c = (1 + exp(-2T)) / (v (1
    # + exp(-2X))); where r > 1 (between the walls) arctan r = pi/2 - arctan(1/r) and q / (1 + r^2) = (c/a) exp(-lr)
    # / (1 + exp(-2 lr)). For r <= 1, T - X <= log 2 unless T is tiny (then T - X <= T): exp(T - X) stays finite.
    T = abs(((t * v) * g) * mass)
    X = np.abs((x * g) * mass)
    ex = np.exp(-2.0 * X)
    a = -math.expm1(-2.0 * T) / (v * (1.0 + ex))
    c = (1.0 + math.exp(-2.0 * T)) / (v * (1.0 + ex))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # log(0) = -inf at t = 0; the unused branch
        lr = (T - X) + np.log(a)
        inside = lr > 0
        angle = np.where(inside, np.pi / 2 - np.arctan(np.exp(-lr)), np.arctan(np.exp(lr)))
        rate = np.where(inside, c / np.where(inside, a, 1.0) * np.exp(-lr) / (1.0 + np.exp(-2.0 * lr)),
                        c * np.exp(T - X) / (1.0 + np.exp(2.0 * lr)))
    phi = math.copysign(4.0, t) / b * angle
    pi = ((rate * g) * v * mass) * 4.0 / b
    view = (lattice.shape[0],) + (1,) * (lattice.ndim - 1)
    phi = np.broadcast_to(phi.reshape(view), lattice.shape)[None].copy()
    pi = np.broadcast_to(pi.reshape(view), lattice.shape)[None].copy()
    return phi, pi
