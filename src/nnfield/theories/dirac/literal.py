r"""Literal transcriptions of the paper's component equations (4.17) and (4.26), with ``jnp.roll``.

Written independently of the network and operator code, for the checks that the autodiff networks reproduce
the printed updates exactly (one explicit Euler tick, order 1, step ``dt``, spacing ``a``; the paper's
unit step is ``dt = a = 1``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def literal_update_1d(phi: Any, pi: Any, m: float, dt: float = 1.0, a: float = 1.0) -> tuple[jax.Array, jax.Array]:
    """(4.17) written out, with step ``dt`` and spacing ``a`` (``phi, pi`` of shape ``(2, N)``)."""
    p1, p2 = pi[0], pi[1]
    f1, f2 = phi[0], phi[1]

    def up(f):  # f_{i+1}
        return jnp.roll(f, -1)

    def dn(f):  # f_{i-1}
        return jnp.roll(f, 1)

    nf1 = f1 + dt * ((up(p2) - p2) / a + m * f2)
    np1 = p1 + dt * (-(f2 - dn(f2)) / a - m * p2)
    nf2 = f2 + dt * (-(up(p1) - p1) / a - m * f1)
    np2 = p2 + dt * ((f1 - dn(f1)) / a + m * p1)
    return jnp.stack([nf1, nf2]), jnp.stack([np1, np2])


def literal_update(phi: Any, pi: Any, X: Any, m: float, dt: float = 1.0, a: float = 1.0) -> tuple[jax.Array, jax.Array]:
    """(4.26) written out (index typo ``pi_j -> pi_i`` corrected), with step ``dt`` and spacing ``a``, any D."""
    X = np.asarray(X)
    D = phi.ndim - 1

    def mat(M, f):
        return jnp.einsum("ab,b...->a...", M, f)

    dphi = m * mat(X[0], phi)
    dpi = -m * mat(X[0], pi)
    for mu in range(D):
        ax = 1 + mu
        dphi = dphi + mat(X[mu + 1], jnp.roll(pi, -1, ax) - pi) / a
        dpi = dpi - mat(X[mu + 1], phi - jnp.roll(phi, 1, ax)) / a
    return phi + dt * dphi, pi + dt * dpi
