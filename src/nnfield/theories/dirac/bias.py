r"""Bias maps ``B`` of the Dirac networks: the paper's forward differences and the doubler-free twisted Wilson map.

``"forward"`` (4.15)/(4.24): ``B = sum_mu X_mu (x) (T_mu - 1) / a`` (the paper; first order in ``a``; in
D >= 2 ``B B^T`` has zero modes away from k = 0: doublers on curves in 3D).

``"wilson"``: ``B = sum_mu X_mu (x) (T_mu - T_mu^-1) / (2a) + (r a / 2) X_0 (x) (-Lap_a)`` (first order in
``a``); the extra term commutes with ``X_0`` and
``B B^T = (sum_mu sin^2(k_mu a)/a^2 + (r/a)^2 (sum_mu (1 - cos k_mu a))^2) (x) I``: no doublers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ParameterError
from ...lattice import Lattice
from ...operators import LatticeOperator, central_difference, forward_difference, kron, laplacian

BIASES = ("forward", "wilson")


def bias_forward(X: Any, lattice: Lattice) -> LatticeOperator:
    """(4.15)/(4.24): ``B = sum_mu X_mu (x) (T_{e_mu} - 1) / a`` (first order in a)."""
    X = np.asarray(X, dtype=float)
    nd, K = lattice.ndim, X.shape[1]
    B = LatticeOperator.zero(nd, K)
    for mu in range(nd):
        B = B + forward_difference(mu, nd, K, coeff=X[mu + 1])
    return B * (1.0 / lattice.spacing)


def bias_wilson(X: Any, lattice: Lattice, r: float = 1.0) -> LatticeOperator:
    """Doubler-free ``B = sum_mu X_mu (x) (T_mu - T_mu^-1)/(2a) + (r a/2) X_0 (x) (-Lap_a)`` (first order in a).

    The Wilson-type term carries ``X_0`` (it commutes with ``X_0``: the structure of (4.24) is kept) and
    ``B B^T = (sum_mu sin^2(k_mu a)/a^2 + (r/a)^2 (sum_mu (1 - cos k_mu a))^2) (x) I`` exactly.
    """
    X = np.asarray(X, dtype=float)
    nd, K, a = lattice.ndim, X.shape[1], lattice.spacing
    B = LatticeOperator.zero(nd, K)
    for mu in range(nd):
        B = B + central_difference(mu, nd, K, coeff=X[mu + 1])
    B = B * (1.0 / a)
    if r:
        B = B + kron(X[0], laplacian(nd, a)) * (-0.5 * r * a)
    return B


def bias_map(X: Any, lattice: Lattice, bias: str = "forward", r: float = 1.0) -> LatticeOperator:
    """``bias="forward"`` (the paper, (4.24)) or ``"wilson"`` (doubler-free, Wilson parameter ``r``)."""
    if bias == "forward":
        return bias_forward(X, lattice)
    if bias == "wilson":
        return bias_wilson(X, lattice, r)
    raise ParameterError("bias", f"expected one of {BIASES}, got {bias!r}; e.g. bias=\"wilson\"")
