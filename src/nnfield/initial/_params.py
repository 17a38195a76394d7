"""Checks shared by the initial conditions: per-axis lists and the resolution of a packet on the lattice.

Errors are :class:`~nnfield.errors.ParameterError` naming the library parameter (``center``, ``width``,
``momentum``, ``n``); the config layer renames them to the TOML key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ParameterError


def per_axis(name: str, value: Sequence[Any] | None, ndim: int, default: list[Any]) -> list[Any]:
    """``value`` (one entry per lattice axis) or ``default`` when ``None``; a wrong length is refused."""
    if value is None:
        return default
    if len(value) != ndim:
        example = ", ".join(str(v) for v in default)
        raise ParameterError(
            name, f"expected {ndim} values (one per lattice axis), got {list(value)}; e.g. [{example}]"
        )
    return list(value)


def wave_numbers(lattice: Any, n: Sequence[int] | None) -> list[float]:
    """``k_mu = 2 pi n_mu / (N_mu a)`` for integer ``n`` (default ``[1, 0, ..]``) with ``|n_mu| <= N_mu / 2``."""
    n = per_axis("n", n, lattice.ndim, [1] + [0] * (lattice.ndim - 1))
    integral = [not isinstance(v, bool | np.bool_) and isinstance(v, int | float | np.integer | np.floating)
                and math.isfinite(v) and float(v).is_integer() for v in n]
    if not all(integral):
        raise ParameterError("n", f"expected whole mode numbers (a periodic wave has k = 2 pi n / (N a) with integer "
                             f"n), got {list(n)}")
    n = [int(v) for v in n]
    for mu, (nm, N) in enumerate(zip(n, lattice.shape, strict=True)):
        if abs(nm) > N // 2:
            raise ParameterError(
                "n", f"expected wave numbers with |n| <= N/2 = {N // 2} on axis {mu}, got {n}; larger n alias to n - N"
            )
    return [2 * np.pi * nm / (N * lattice.spacing) for nm, N in zip(n, lattice.shape, strict=True)]


def packet_geometry(
    lattice: Any, center: Sequence[float] | None, width: float | None, momentum: Sequence[float] | None
) -> tuple[list[float], float, list[float]]:
    """``(center, width, momentum)`` of a Gaussian packet with defaults and range checks.

    Defaults: the box centre, 0.1 x the shortest side (at least ``a``), zero momentum. The width must resolve the
    lattice (``>= a``) and each momentum component must lie in the Brillouin zone (``|k| < pi / a``).
    """
    a, L = lattice.spacing, lattice.lengths
    center = per_axis("center", center, lattice.ndim, [0.5 * ell for ell in L])
    k0 = per_axis("momentum", momentum, lattice.ndim, [0.0] * lattice.ndim)
    for mu, (c, ell) in enumerate(zip(center, L, strict=True)):
        if not -ell <= c <= 2 * ell:
            raise ParameterError(
                "center", f"expected a centre in the box, 0 <= c <= L = {ell:g} on axis {mu} (periodic images within "
                f"one box length are accepted), got {c:g}; e.g. {0.5 * ell:g}"
            )
    auto = max(a, 0.1 * min(L))  # a small box: at least one spacing, so the default is always accepted
    width = width if width is not None else auto
    if not width <= max(L):
        raise ParameterError(
            "width", f"expected at most the longest box side L = {max(L):g} (a wider Gaussian is a constant field, "
            f"not a packet), got {width:g}; e.g. {auto:g}"
        )
    if not width >= a:
        raise ParameterError(
            "width", f"expected at least the lattice spacing a = {a:g} (a narrower packet is not resolved), "
            f"got {width:g}; e.g. {min(max(L), max(2 * a, auto)):g}"
        )
    for mu, kk in enumerate(k0):
        if not abs(kk) < math.pi / a:
            raise ParameterError(
                "momentum", f"expected |k| < pi/a = {math.pi / a:.4g} (the Brillouin zone) on axis {mu}, "
                f"got {kk:g}; use a smaller momentum or a finer lattice"
            )
    return center, width, k0


def finite_data(data: tuple[np.ndarray, np.ndarray], param: str, value: float) -> tuple[np.ndarray, np.ndarray]:
    """``data`` unchanged if every value is finite; otherwise the parameter ``param`` (``= value``) overflowed it."""
    if not all(np.all(np.isfinite(x)) for x in data):
        raise overflowed(param, value)
    return data


def overflowed(param: str, value: float) -> ParameterError:
    """The error for initial data that the parameter ``param`` (``= value``) made overflow (values not finite)."""
    return ParameterError(
        param, f"the initial data overflow (values not finite) for {param} = {value:g}; use a smaller {param}"
    )

