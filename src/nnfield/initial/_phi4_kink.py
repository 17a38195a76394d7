r"""The phi^4 kink of the double well ``V = lam/4 (phi^2 - v^2)^2``, and a kink-antikink pair on a periodic box.

``phi = q v tanh(m gamma (x - x0 - u t) / 2)``, meson mass ``m = sqrt(2 lam) v``, ``gamma = 1/sqrt(1 - u^2)``, charge
``q = +-1``: the exact travelling solution of ``phi_tt = phi_xx - V'(phi)`` on the line (``c = 1``), rest energy
``M = (2 sqrt 2 / 3) sqrt(lam) v^3 = m^3 / (3 lam)``. A periodic box holds no single kink (it joins ``-v`` to
``+v``), so the initial data are a kink and an antikink (the sum ansatz of Campbell, Schonfeld and Wingate,
Physica D 9, 1 (1983)), which is exact up to their tail overlap ``~ 2 exp(-m gamma d)`` at the smaller distance
``d`` between the walls (across the collision point or the seam) and, on the lattice, up to ``O(a^2)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_number
from ..errors import ParameterError
from ._periodic import minimum_image


def _check(mass: Any, v: Any, velocity: Any) -> float:
    check_number("mass", mass, positive=True)
    check_number("v", v, positive=True)
    check_number("velocity", velocity)
    if not abs(velocity) < 1:
        raise ParameterError("velocity", f"expected a kink speed |v| < 1 (units with c = 1), got {velocity!r}; "
                             f"e.g. 0.2")
    return 1.0 / np.sqrt(1.0 - velocity * velocity)


def phi4_kink_profile(x: Any, t: float, mass: float = 1.0, v: float = 1.0, velocity: float = 0.0,
                      x0: float = 0.0, charge: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The phi^4 (anti)kink ``phi = q v tanh(m gamma (x - x0 - u t) / 2)`` at positions ``x`` (on the line), with
    ``m`` the meson mass ``sqrt(2 lam) v``. Returns ``(phi, dphi/dt)``."""
    gamma = _check(mass, v, velocity)
    if isinstance(charge, bool) or charge not in (1, -1):
        raise ParameterError("charge", f"expected +1 (a kink) or -1 (an antikink), got {charge!r}")
    z = 0.5 * mass * gamma * (np.asarray(x, dtype=float) - x0 - velocity * t)
    with np.errstate(over="ignore"):  # far from the wall cosh overflows: 1/cosh^2 -> 0
        sech2 = 1.0 / np.cosh(z) ** 2
    return charge * v * np.tanh(z), -charge * v * 0.5 * mass * gamma * velocity * sech2


def phi4_kink_pair(lattice: Any, mass: float = 1.0, v: float = 1.0, velocity: float = 0.0, center: float = 0.5,
                   separation: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A phi^4 kink and antikink approaching each other (planar walls along axis 0), shape ``(1, *shape)`` each.

    The kink sits at ``c - s/2`` moving with ``+velocity``, the antikink at ``c + s/2`` moving with ``-velocity``
    (``c = center L``, ``s = separation``, default ``L / 2``): they meet at ``c`` at ``t = s / (2 velocity)``. The field
    is ``+v`` between them and ``-v`` outside; the seam of the box is at ``c + L/2``, as far from both as the box
    allows. ``phi = v (tanh z_1 - tanh z_2 - 1)``, ``pi = -velocity v (m gamma / 2)(sech^2 z_1 + sech^2 z_2)`` with
    ``z_j = m gamma (x - x_j) / 2`` (:func:`phi4_kink_profile`).
    """
    _check(mass, v, velocity)
    check_number("center", center)
    if not 0 <= center < 1:
        raise ParameterError("center", f"expected a fraction of the box length in [0, 1), got {center!r}")
    length = float(lattice.lengths[0])
    s = 0.5 * length if separation is None else separation
    check_number("separation", s, positive=True)
    if not s < length:
        raise ParameterError("separation", f"expected a distance between the kink and the antikink below the box "
                             f"length {length:g}, got {s!r}; e.g. {0.5 * length:g}")
    x = minimum_image(lattice.coordinates()[0], center * length, length)  # in [-L/2, L/2): the seam at c + L/2
    k, pk = phi4_kink_profile(x, 0.0, mass, v, velocity, -0.5 * s, 1)
    a, pa = phi4_kink_profile(x, 0.0, mass, v, -velocity, 0.5 * s, -1)
    return (k + a - v)[None], (pk + pa)[None]
