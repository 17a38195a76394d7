r"""Covariant differences with spatial links: the gauged bias map ``B(U)`` and the covariant central difference.

The Dirac bias maps of Sec. 4 (forward (4.24), twisted Wilson) with the link ``U_mu,i = X_0^(alpha_mu,i)`` on
every hop from ``i`` to ``i + e_mu`` (and ``U_mu,i-mu^T`` on the hop back)::

    forward:  (B(U) pi)_i = sum_mu X_mu (U_mu,i pi_{i+e_mu} - pi_i) / a                           (order 1 in a)
    wilson:   (B(U) pi)_i = sum_mu [X_mu (U_mu,i pi_{i+mu} - U_mu,i-mu^T pi_{i-mu}) / (2a)
                                     + (r/(2a)) X_0 (2 pi_i - U_mu,i pi_{i+mu} - U_mu,i-mu^T pi_{i-mu})]   (order 1)

    central:  (D_mu f)_i = (U_mu,i f_{i+mu} - U_mu,i-mu^T f_{i-mu}) / (2a)                          (order 2 in a)

Under ``U_mu,i -> G_i U_mu,i G_{i+mu}^-1`` all three are covariant to round-off: ``B(U') G = G B(U)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ParameterError
from ...lattice import Lattice
from ...operators import LatticeOperator
from .. import dirac
from .links import U1Links, x0_power


def covariant_bias(
    X: Any, lattice: Lattice, alpha: Any = None, bias: str = "forward", r: float = 1.0
) -> LatticeOperator:
    """``B(U)``: the bias map (4.24) (``bias="forward"``) or the twisted-Wilson map with spatial links.

    With ``alpha = None`` (or zero links) it equals :func:`nnfield.theories.dirac.bias_map`.
    """
    X = np.asarray(X, dtype=float)
    nd, K, a = lattice.ndim, X.shape[1], lattice.spacing
    if bias not in dirac.BIASES:
        raise ParameterError("bias", f"expected one of {dirac.BIASES}, got {bias!r}")
    terms: list[tuple[tuple[int, ...], Any]] = []
    zero = (0,) * nd
    for mu in range(nd):
        e = tuple(1 if nu == mu else 0 for nu in range(nd))
        me = tuple(-v for v in e)
        if alpha is None:
            U = np.eye(K)
            Ub = np.eye(K)
        else:
            U = x0_power(X[0], np.asarray(alpha[mu], dtype=float))  # (K, K, *shape)
            # U_{mu, i - e_mu}^T at site i: shift by -e_mu over the site axes
            Ub = np.asarray(np.swapaxes(np.roll(U, 1, axis=2 + mu), 0, 1))

        def mul(C: np.ndarray, M: np.ndarray) -> np.ndarray:
            return C @ M if M.ndim == 2 else np.einsum("ab,bc...->ac...", C, M)

        if bias == "forward":
            terms.append((e, mul(X[mu + 1], U) / a))
            terms.append((zero, -X[mu + 1] / a))
        else:
            terms.append((e, mul(0.5 * X[mu + 1] - 0.5 * r * X[0], U) / a))
            terms.append((me, mul(-0.5 * X[mu + 1] - 0.5 * r * X[0], Ub) / a))
            terms.append((zero, r * X[0] / a))
    return LatticeOperator.from_terms(terms, nd, K)


def constant_coefficients(B: LatticeOperator) -> LatticeOperator:
    """Collapse per-site coefficients that are the same on every site to constant ``(K, K)`` matrices."""
    terms = []
    for s, c in B.terms.items():
        c = np.asarray(c)
        if c.ndim > 2:
            flat = c.reshape(c.shape[0], c.shape[1], -1)
            if not np.allclose(flat, flat[..., :1], rtol=0, atol=0):
                return B
            c = flat[..., 0]
        terms.append((s, c))
    return LatticeOperator.from_terms(terms, B.ndim, B.K)


def gauged_bias_map(X: Any, lattice: Lattice, links: U1Links, bias: str = "forward", r: float = 1.0) -> LatticeOperator:
    """``B(U)`` of ``links`` as the gauged networks use it: uniform links collapse to constant coefficients, so
    the network stays translation invariant (analysable by its Fourier symbol)."""
    return constant_coefficients(covariant_bias(X, lattice, links.alpha, bias, r))


def covariant_central(X0: Any, lattice: Lattice, alpha: Any, mu: int) -> LatticeOperator:
    """``D_mu f_i = (U_mu,i f_{i+mu} - U_mu,i-mu^T f_{i-mu}) / (2a)`` (covariant central difference)."""
    nd, K, a = lattice.ndim, np.asarray(X0).shape[0], lattice.spacing
    e = tuple(1 if nu == mu else 0 for nu in range(nd))
    me = tuple(-v for v in e)
    U = x0_power(X0, np.asarray(alpha[mu], dtype=float))
    Ub = np.swapaxes(np.roll(U, 1, axis=2 + mu), 0, 1)
    return LatticeOperator.from_terms({e: U / (2 * a), me: -Ub / (2 * a)}, nd, K)
