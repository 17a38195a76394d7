r"""The paper's linearized gauge coupling (5.3)-(5.9): per-site matrices ``A_0``, ``A_mu`` in the Dirac network.

``W - I = m X_0 + A_0`` (5.6)/(5.7) and ``B = sum_mu X_mu (T_mu - 1 + A_mu) / a`` (5.6)/(5.8), learning by the
per-type loss ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a`` with

* ``placement="printed"``: ``C = m X_0 + A_0`` (the paper's ``V = 2I - W``): ``A_0`` enters the ``pi`` equation
  with the sign of the mass and acts as a mass shift, ``|omega| = sqrt(k^2 + (m + A0)^2)``;
* ``placement="potential"``: ``C = m X_0 - A_0`` (``V - I = -m X_0 + A_0``): a potential, every frequency shifted
  by ``A0``. This is (5.9) corrected, ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(X_0 (m - A0) pi)^a``.

The gauge-field transformations (5.3)/(5.4) as printed,
``A_0 -> A_0 + (I - X_0^(theta(t-1) - theta(t)))``, ``A_mu,i -> A_mu,i + (I - X_0^(theta_{i-mu} - theta_i))``,
or corrected (first order in the gradients of theta), ``A_0 -> A_0 + (X_0^(theta(t+1) - theta(t)) - I)``,
``A_mu,i -> A_mu,i + (X_0^(theta_i - theta_{i+mu}) - I)``. The linearized form is covariant only approximately
(corrected rules: residual O(a) relative to no compensation); the simultaneous scheme is order 1 in dt.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._deprecation import positional_options
from ...errors import ParameterError
from ...lattice import Lattice
from ...network import Network
from ...operators import LatticeOperator, identity
from .. import dirac
from .links import x0_power
from .networks import clifford_matrices

PLACEMENTS = ("potential", "printed")
RULES = ("corrected", "printed", "none")


@positional_options
def linearized_network(
    lattice: Lattice,
    m: float,
    dt: float,
    *,
    A0: Any = None,
    A: Any = None,
    placement: str = "potential",
    X: Any = None,
    scheme: str = "simultaneous",
) -> Network:
    """The paper's linearized gauge coupling (5.6)-(5.9) with per-site ``K x K`` matrices ``A0``, ``A[mu]``.

    ``W - I = m X_0 + A_0``, ``B = sum_mu X_mu (T_mu - 1 + A_mu) / a``, per-type loss with
    ``C = m X_0 + A_0`` (``placement="printed"``: ``V = 2I - W``, a mass shift) or ``C = m X_0 - A_0``
    (``"potential"``: (5.9) corrected). ``A0``/``A[mu]`` may be ``(K, K)`` (uniform) or ``(K, K, *shape)``.
    """
    if placement not in PLACEMENTS:
        raise ParameterError("placement", f"expected one of {PLACEMENTS}, got {placement!r}")
    X = clifford_matrices(lattice, X)
    nd, K, a = lattice.ndim, X.shape[1], lattice.spacing
    zero = (0,) * nd
    A0 = np.zeros((K, K)) if A0 is None else np.asarray(A0, dtype=float)
    terms: list[tuple[tuple[int, ...], Any]] = []
    for mu in range(nd):
        e = tuple(1 if nu == mu else 0 for nu in range(nd))
        terms.append((e, X[mu + 1] / a))
        terms.append((zero, -X[mu + 1] / a))
        if A is not None:
            Amu = np.asarray(A[mu], dtype=float)
            XA = X[mu + 1] @ Amu if Amu.ndim == 2 else np.einsum("ab,bc...->ac...", X[mu + 1], Amu)
            terms.append((zero, XA / a))
    B = LatticeOperator.from_terms(terms, nd, K)
    mX0 = m * X[0] if A0.ndim == 2 else m * X[0].reshape((K, K) + (1,) * nd)
    W = identity(nd, K) + LatticeOperator.from_terms({zero: mX0 + A0}, nd, K)
    C = mX0 + A0 if placement == "printed" else mX0 - A0
    loss = dirac.PerTypeLoss(C, True)
    return Network.create(
        lattice, W, B, loss, dt, scheme, per_type=True, name=f"dirac (5.6)-(5.9) linearized [{placement}]"
    )


def transform_linearized(
    X0: Any,
    A0: Any,
    A: Any,
    theta_prev: Any,
    theta: Any,
    theta_next: Any,
    rule: str = "corrected",
    dt: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gauge-transform the linearized fields: (5.3)/(5.4) as printed, corrected, or ``"none"`` (uncompensated).

    The paper's unit step is ``dt = 1``; with a step ``dt`` the temporal field enters the tick as ``dt A0``, so its
    shift is divided by ``dt`` (the spatial one sits inside the difference and is dimensionless).
    Returns full per-site matrices ``A0 (K, K, *shape)`` and ``A (D, K, K, *shape)``.
    """
    if rule not in RULES:
        raise ParameterError("rule", f"expected one of {RULES}, got {rule!r}")
    th = np.asarray(theta, dtype=float)
    shape = th.shape
    nd = th.ndim
    K = np.asarray(X0).shape[0]
    eye = np.eye(K).reshape((K, K) + (1,) * nd)
    A0 = np.broadcast_to(np.asarray(A0, dtype=float).reshape((K, K) + (1,) * nd) if np.ndim(A0) == 2 else A0,
                         (K, K, *shape)).copy()
    A = np.stack([np.broadcast_to(
        np.asarray(A[mu], dtype=float).reshape((K, K) + (1,) * nd) if np.ndim(A[mu]) == 2 else A[mu],
        (K, K, *shape)) for mu in range(nd)])
    if rule == "none":
        return A0, A
    if rule == "printed":
        A0 = A0 + (eye - x0_power(X0, np.asarray(theta_prev) - th)) / dt
        A = np.stack([A[mu] + (eye - x0_power(X0, np.roll(th, 1, mu) - th)) for mu in range(nd)])
    else:
        A0 = A0 + (x0_power(X0, np.asarray(theta_next) - th) - eye) / dt
        A = np.stack([A[mu] + (x0_power(X0, th - np.roll(th, -1, mu)) - eye) for mu in range(nd)])
    return A0, A
