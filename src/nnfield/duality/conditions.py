"""The conditions the Sec. 2 constructions need, as named errors with measured violations.

Every error is a :class:`~nnfield.errors.ConditionError` (so also a ``ValueError``): its ``condition`` states
the condition with the paper's equation number and its ``violation`` is the measured relative size of the
failure (e.g. ``||W - W^T|| / ||W||``).

==========================  =====================================================================
error                       condition
==========================  =====================================================================
``SingularBiasError``       B invertible (assumed after (2.10))
``AsymmetricWeightError``   W = W^T ((2.16), (2.19))
``NonCommutingError``       W B = B W ((2.16))
``IntegrabilityError``      [B B^T, Hess V(phi)] = 0 for all phi: the integral term of (2.16) is a
                            function only then (missing from the paper; see ``NOTES.md``)
``LinearSystemError``       A = -B^T and V = 2I - B^-1 W B ((2.19))
``LossValidityError``       B^-1 W B symmetric, equivalently [W, B B^T] = 0 for symmetric W: only
                            then does the loss (2.20) produce the learning dynamics of (2.19)
``HamiltonianFormError``    the Hamiltonian has the dual form ((2.7), (2.14) or (2.21))
``LossFormError``           the loss has the dual form V(phi) + F(phi - beta) ((2.8)-(2.9))
==========================  =====================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConditionError

DEFAULT_TOL = 1e-10


class DualityConditionError(ConditionError):
    """Base class of the Sec. 2 condition failures."""


class SingularBiasError(DualityConditionError):
    """The bias matrix B is not invertible (the duality needs beta = B pi to be invertible)."""


class AsymmetricWeightError(DualityConditionError):
    """W is not symmetric."""


class NonCommutingError(DualityConditionError):
    """W and B do not commute."""


class IntegrabilityError(DualityConditionError):
    """[B B^T, Hess V] != 0: no loss of the form (2.16) exists (its integral term is path dependent)."""


class LinearSystemError(DualityConditionError):
    """The linear system (2.17) does not satisfy (2.19)."""


class LossValidityError(DualityConditionError):
    """B^-1 W B is not symmetric: the loss (2.20) does not reproduce (2.19)."""


class HamiltonianFormError(DualityConditionError):
    """The Hamiltonian is not of the dual form ((2.7), (2.14), (2.21))."""


class LossFormError(DualityConditionError):
    """The loss is not of the dual form V(phi) + F(phi - beta) (2.9)."""


def rel(x: Any, scale: Any) -> float:
    """``||x||_F / max(||scale||_F, tiny)``: a relative violation."""
    x = np.asarray(x, dtype=float)
    s = float(np.linalg.norm(np.asarray(scale, dtype=float)))
    return float(np.linalg.norm(x)) / max(s, np.finfo(float).tiny)


def check_invertible(B: Any, tol: float = DEFAULT_TOL) -> float:
    """Raise :class:`SingularBiasError` unless ``B`` is invertible; returns ``1 / cond(B)``.

    Raises:
        ValueError: ``B`` has a NaN or infinite entry (NumPy's SVD would fail with ``LinAlgError``).
    """
    B = np.asarray(B, dtype=float)
    if B.ndim != 2 or B.shape[0] != B.shape[1]:
        raise SingularBiasError("B square", float("inf"), f"B has shape {B.shape}")
    if not np.all(np.isfinite(B)):
        raise ValueError(f"B must be finite, got {int(np.sum(~np.isfinite(B)))} NaN or infinite entries")
    inv_cond = 1.0 / float(np.linalg.cond(B))
    if not inv_cond > tol:
        raise SingularBiasError(
            "B invertible (after (2.10))", 1.0 - inv_cond,
            f"1/cond(B) = {inv_cond:.3e} <= {tol:.1e}; choose an invertible bias matrix",
        )
    return inv_cond


def check_symmetric(W: Any, tol: float = DEFAULT_TOL, eq: str = "(2.16)") -> float:
    """Raise :class:`AsymmetricWeightError` unless ``W = W^T``; returns ``||W - W^T|| / ||W||``."""
    W = np.asarray(W, dtype=float)
    v = rel(W - W.T, W)
    if v > tol:
        raise AsymmetricWeightError(f"W = W^T {eq}", v, "the duality needs a symmetric weight matrix")
    return v


def check_commute(W: Any, B: Any, tol: float = DEFAULT_TOL) -> float:
    """Raise :class:`NonCommutingError` unless ``W B = B W``; returns ``||[W, B]|| / (||W|| ||B||)``."""
    W, B = np.asarray(W, dtype=float), np.asarray(B, dtype=float)
    v = rel(W @ B - B @ W, np.linalg.norm(W) * np.linalg.norm(B))
    if v > tol:
        raise NonCommutingError("W B = B W (2.16)", v, "choose B commuting with W (e.g. a function of W)")
    return v


def integrability_violation(BBt: Any, hessians: Any) -> float:
    """``max_x ||[B B^T, Hess V(x)]|| / (||B B^T|| ||Hess V(x)||)`` over the given Hessians."""
    M = np.asarray(BBt, dtype=float)
    worst = 0.0
    for h in np.asarray(hessians, dtype=float):
        scale = np.linalg.norm(M) * np.linalg.norm(h)
        if scale == 0.0:
            continue
        worst = max(worst, rel(M @ h - h @ M, scale))
    return worst


def check_integrable(BBt: Any, hessians: Any, tol: float = DEFAULT_TOL) -> float:
    """Raise :class:`IntegrabilityError` unless ``[B B^T, Hess V] = 0`` at every sampled point."""
    v = integrability_violation(BBt, hessians)
    if v > tol:
        raise IntegrabilityError(
            "[B B^T, Hess V] = 0 (integrability of the integral term in (2.16); missing from the paper)",
            v,
            "the integral of (B^-T B^-1 grad V) . dphi is path dependent, so no loss (2.16) exists; "
            "use B with B B^T commuting with Hess V (e.g. B orthogonal times a scalar)",
        )
    return v


def check_loss_validity(W: Any, B: Any, tol: float = DEFAULT_TOL) -> float:
    """Raise :class:`LossValidityError` unless ``B^-1 W B`` is symmetric (validity of (2.20))."""
    W, B = np.asarray(W, dtype=float), np.asarray(B, dtype=float)
    S = np.linalg.solve(B, W @ B)
    v = rel(S - S.T, S)
    if v > tol:
        raise LossValidityError(
            "B^-1 W B symmetric (validity of the loss (2.20); equivalently [W, B B^T] = 0)",
            v,
            "the loss only sees the symmetric part of B^-1 W B; use the general linear network (2.17) instead",
        )
    return v
