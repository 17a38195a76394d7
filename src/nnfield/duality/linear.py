r"""The general linear system (paper (2.17)-(2.21)), both directions, numerically (NumPy; networks in JAX).

Network -> Hamiltonian. A linear learning system (2.17)

    dphi/dt = (W - I) phi + B pi,        dpi/dt = A phi + (V - I) pi

reads, with ``beta = B pi`` (B invertible), as (2.18). If (2.19) ``V = 2I - B^-1 W B``, ``A = -B^T``,
``W = W^T`` hold, (2.18) are exactly Hamilton's equations of (2.21)

    Ham(phi, beta) = 1/2 phi^T B B^T phi + 1/2 beta.beta + beta^T (W - I) phi

for any invertible B (no commutation needed). The loss (2.20)
``H = 1/2 phi.phi - 1/2 pi.pi + 1/2 pi^T (B^-1 W B) pi`` produces this system by gradient descent
(``A = -B^T`` from single-step backprop) only if ``B^-1 W B`` is symmetric (equivalently ``[W, B B^T] = 0``):
a quadratic form sees only the symmetric part of its matrix.

Hamiltonian -> network. ``Ham = 1/2 phi^T P phi + 1/2 beta^T R beta + beta^T Q phi`` is dual to a network iff
``R = I`` (the activation is ``dphi/dt = beta + ...``) and ``P`` is positive definite; then ``W = I + Q``,
``B`` is any factor with ``B B^T = P`` (Cholesky, the symmetric square root, either times any orthogonal
matrix: the relation is many-to-one), ``A = -B^T`` and ``V = I - B^-1 Q^T B`` (= (2.19) when Q is symmetric;
a non-symmetric ``Q`` still gives a valid general network (2.17), outside (2.19)).
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._deprecation import deprecated_method, deprecated_names
from .._module import Module
from ..lattice import Lattice
from ..network import LinearNetwork, Network
from ..operators import local
from ..schemes import get_scheme
from ..state import State
from .conditions import (
    DEFAULT_TOL,
    HamiltonianFormError,
    LinearSystemError,
    check_invertible,
    check_loss_validity,
    check_symmetric,
    rel,
)


def _sq(x: Any, name: str) -> np.ndarray:
    """``x`` as a finite, non-empty square float matrix (``ValueError`` naming ``name`` otherwise)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[0] != x.shape[1] or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {x.shape}")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise ValueError(f"{name} must be finite: {name}[{i}, {j}] = {float(x[i, j])!r}")
    return x


def _pair(W: Any, B: Any) -> tuple[np.ndarray, np.ndarray]:
    """``W`` and ``B`` as finite square matrices of the same shape."""
    W, B = _sq(W, "W"), _sq(B, "B")
    if W.shape != B.shape:
        raise ValueError(f"W and B must have the same shape, got {W.shape} and {B.shape}")
    return W, B


def symplectic_J(n: int) -> np.ndarray:
    """``J = [[0, I], [-I, 0]]``: Hamilton's equations of ``1/2 z^T M z`` are ``dz/dt = J M z``."""
    z, i = np.zeros((n, n)), np.eye(n)
    return np.block([[z, i], [-i, z]])


@dataclasses.dataclass(frozen=True)
class LinearSystem:
    """The linear learning system (2.17) given by ``(W, B, A, V)`` (``N x N`` each)."""

    W: np.ndarray
    B: np.ndarray
    A: np.ndarray
    V: np.ndarray

    def __post_init__(self) -> None:
        for name in ("W", "B", "A", "V"):
            object.__setattr__(self, name, _sq(getattr(self, name), name))
        if len({getattr(self, n).shape for n in ("W", "B", "A", "V")}) != 1:
            raise ValueError("W, B, A, V must have the same shape")

    @property
    def N(self) -> int:
        return self.W.shape[0]

    def matrix_phi_pi(self) -> np.ndarray:
        """The flow matrix in ``(phi, pi)``, (2.17): ``d(phi, pi)/dt = [[W - I, B], [A, V - I]] (phi, pi)``."""
        i = np.eye(self.N)
        return np.block([[self.W - i, self.B], [self.A, self.V - i]])

    def matrix_phi_beta(self) -> np.ndarray:
        """The flow matrix in ``(phi, beta)``, (2.18): ``d(phi, beta)/dt = [[W - I, I], [B A, B (V - I) B^-1]]
        (phi, beta)``; needs B invertible."""
        check_invertible(self.B)
        i = np.eye(self.N)
        Binv = np.linalg.inv(self.B)
        return np.block([[self.W - i, i], [self.B @ self.A, self.B @ (self.V - i) @ Binv]])

    def check_hamiltonian_conditions(self, tol: float = DEFAULT_TOL) -> dict[str, float]:
        """Verify the conditions (2.19) under which (2.17) is Hamilton's flow of (2.21): ``V = 2I - B^-1 W B``,
        ``A = -B^T``, ``W = W^T`` (and B invertible).

        Raises:
            SingularBiasError: ``B`` is (numerically) singular.
            AsymmetricWeightError: ``W != W^T``.
            LinearSystemError: ``A != -B^T`` or ``V != 2I - B^-1 W B`` (the message names the failing part).
        """
        out = {"1/cond(B)": check_invertible(self.B, tol), "W - W^T": check_symmetric(self.W, tol, "(2.19)")}
        v_target = 2 * np.eye(self.N) - np.linalg.solve(self.B, self.W @ self.B)
        va = rel(self.A + self.B.T, self.B)
        if va > tol:
            raise LinearSystemError("A = -B^T (2.19)", va, "learning by gradient descent on a loss gives A = -B^T")
        vv = rel(self.V - v_target, v_target)
        if vv > tol:
            raise LinearSystemError("V = 2I - B^-1 W B (2.19)", vv, "set V = 2I - B^-1 W B")
        out["A + B^T"], out["V - (2I - B^-1 W B)"] = va, vv
        return out

    matrix_217 = deprecated_method("LinearSystem", "matrix_217", "matrix_phi_pi")
    matrix_218 = deprecated_method("LinearSystem", "matrix_218", "matrix_phi_beta")
    check_219 = deprecated_method("LinearSystem", "check_219", "check_hamiltonian_conditions")

    def hamiltonian_matrix(self, tol: float = DEFAULT_TOL) -> np.ndarray:
        """``M`` of (2.21), ``Ham = 1/2 z^T M z`` with ``z = (phi, beta)``; checks (2.19) first."""
        self.check_hamiltonian_conditions(tol)
        return linear_hamiltonian_matrix(self.W, self.B)

    def linear_network(self, dt: float, scheme: str = "simultaneous") -> LinearNetwork:
        """The literal network (2.17) (no loss) on a 1-site lattice with ``K = N``."""
        lat = Lattice((1,))
        return LinearNetwork.create(lat, local(self.W, 1), local(self.B, 1), local(self.A, 1), local(self.V, 1),
                                    dt, scheme, name="linear system (2.17)")


def hamiltonian_system(W: Any, B: Any) -> LinearSystem:
    """The system (2.17) with the learning matrices ``A``, ``V`` of (2.19) (Hamilton's flow of (2.21))."""
    W, B = _pair(W, B)
    check_invertible(B)
    return LinearSystem(W, B, -B.T, 2 * np.eye(W.shape[0]) - np.linalg.solve(B, W @ B))


def linear_hamiltonian_matrix(W: Any, B: Any) -> np.ndarray:
    """The Hamiltonian (2.21) of the linear system as a matrix: ``M = [[B B^T, (W - I)^T], [W - I, I]]``
    (``Ham = 1/2 z^T M z``, z = (phi, beta))."""
    W, B = _pair(W, B)
    n = W.shape[0]
    WmI = W - np.eye(n)
    return np.block([[B @ B.T, WmI.T], [WmI, np.eye(n)]])


class LinearLoss(Module):
    """The loss (2.20) on ``(N, 1)`` fields: ``1/2 phi.phi - 1/2 pi.pi + 1/2 pi^T (B^-1 W B) pi``."""

    S: Any  # B^-1 W B

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        f, p = phi[:, 0], pi[:, 0]
        return 0.5 * f @ f - 0.5 * p @ p + 0.5 * p @ (self.S @ p)


def linear_loss(W: Any, B: Any, check: bool = True, tol: float = DEFAULT_TOL) -> LinearLoss:
    """The loss (2.20) of the linear system; with ``check`` its validity condition (``B^-1 W B`` symmetric) is
    verified first.

    Raises:
        LossValidityError: ``B^-1 W B`` is not symmetric (measured relative asymmetry).
    """
    W, B = _pair(W, B)
    check_invertible(B, tol)
    if check:
        check_loss_validity(W, B, tol)
    return LinearLoss(jnp.asarray(np.linalg.solve(B, W @ B)))


def loss_network(W: Any, B: Any, dt: float, scheme: str = "simultaneous", check: bool = True) -> Network:
    """The autodiff network with loss (2.20): ``K = N`` types on a 1-site lattice, local ``W`` and ``B``."""
    W, B = _pair(W, B)
    return Network.create(Lattice((1,)), local(W, 1), local(B, 1), linear_loss(W, B, check), dt, scheme,
                          name="loss (2.20)")


def network_matrix(net: Any) -> np.ndarray:
    """The matrix of a linear network's continuous-time flow in ``(phi, beta)``, read from its own updates.

    Columns are the flows of unit vectors: ``dphi/dt = activate(phi, pi, 1) - phi``, ``dbeta/dt = B dpi/dt``
    with ``dpi/dt = -dH/dpi`` (autodiff) for a :class:`Network`, or ``A phi + (V - I) pi`` for a
    :class:`LinearNetwork` (one step at ``dt = 1`` with the simultaneous rule).
    """
    B = np.asarray(net.B.coeffs[net.B.shifts.index((0,))]) if net.B.shifts else np.zeros((net.K, net.K))
    return np.asarray(_flow_matrix(net, jnp.asarray(B), jnp.asarray(np.linalg.inv(B))))


@jax.jit
def _flow_matrix(net: Any, B: jax.Array, Binv: jax.Array) -> jax.Array:
    n = B.shape[0]

    def flow(z: jax.Array) -> jax.Array:
        phi, beta = z[:n, None], z[n:, None]
        pi = Binv @ beta
        if isinstance(net, Network):
            dphi = net.activate(phi, pi, 1.0) - phi
            dpi = -net.learning_gradient(phi, pi)
        else:
            s = replace(net, dt=1.0, scheme=get_scheme("simultaneous")).step(State(phi, pi))
            dphi, dpi = s.phi - phi, s.pi - pi
        return jnp.concatenate([dphi[:, 0], (B @ dpi)[:, 0]])

    return jax.jacfwd(flow)(jnp.zeros(2 * n, dtype=B.dtype))


def hamilton_matrix(M: Any) -> np.ndarray:
    """``J M``: Hamilton's equations of ``1/2 z^T M z``."""
    M = _sq(M, "M")
    return symplectic_J(M.shape[0] // 2) @ M


# ----------------------------------------------------------------------------------------------------------
# Hamiltonian -> network (the reverse direction) and many-to-one
# ----------------------------------------------------------------------------------------------------------
def split_quadratic(M: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(P, Q, R)`` of ``Ham = 1/2 phi^T P phi + 1/2 beta^T R beta + beta^T Q phi`` from its ``2N x 2N`` matrix."""
    M = _sq(M, "M")
    if M.shape[0] % 2:
        raise ValueError(f"the Hamiltonian matrix must be 2N x 2N, got {M.shape}")
    Ms = 0.5 * (M + M.T)
    n = M.shape[0] // 2
    return Ms[:n, :n], Ms[n:, :n], Ms[n:, n:]


def bias_factor(P: Any, choice: str | np.ndarray = "cholesky") -> np.ndarray:
    """A ``B`` with ``B B^T = P``: ``"cholesky"`` (lower triangular), ``"sqrt"`` (symmetric square root), or
    an orthogonal matrix ``O`` (gives ``sqrt(P) O``)."""
    P = _sq(P, "P")
    evals, evecs = np.linalg.eigh(0.5 * (P + P.T))
    if not evals.min() > 0:
        raise ValueError(f"P must be symmetric positive definite to have a factor B B^T = P; smallest eigenvalue "
                         f"{evals.min():.3e}")
    if isinstance(choice, str) and choice == "cholesky":
        return np.linalg.cholesky(P)
    root = evecs @ np.diag(np.sqrt(evals)) @ evecs.T
    if isinstance(choice, str):
        if choice != "sqrt":
            raise ValueError(f"choice: expected 'cholesky', 'sqrt' or an orthogonal matrix, got {choice!r}")
        return root
    O = _sq(choice, "O")
    if O.shape != P.shape:
        raise ValueError(f"the orthogonal matrix given as choice must have the shape of P {P.shape}, got {O.shape}")
    v = rel(O @ O.T - np.eye(O.shape[0]), np.eye(O.shape[0]))
    if v > 1e-10:
        raise ValueError(f"the matrix given as choice is not orthogonal (||O O^T - I|| / ||I|| = {v:.2e})")
    return root @ O


def from_hamiltonian(M: Any, choice: str | np.ndarray = "cholesky", tol: float = DEFAULT_TOL) -> LinearSystem:
    """A network (2.17) whose (phi, beta) dynamics are Hamilton's equations of ``1/2 z^T M z``.

    Raises:
        HamiltonianFormError: ``R != I`` (the beta.beta/2 term of (2.21)) or ``P`` not positive definite.
    """
    P, Q, R = split_quadratic(M)
    n = P.shape[0]
    vr = rel(R - np.eye(n), np.eye(n))
    if vr > tol:
        raise HamiltonianFormError(
            "the beta-beta block of the Hamiltonian is the identity ((2.21): 1/2 beta.beta)", vr,
            "the activation (2.17) fixes dphi/dt = beta + (W - I) phi; rescale beta",
        )
    evals = np.linalg.eigvalsh(P)
    if evals.min() <= tol * max(abs(evals).max(), 1.0):
        raise HamiltonianFormError(
            "the phi-phi block P = B B^T is positive definite (2.21)", float(-evals.min()),
            f"smallest eigenvalue {evals.min():.3e}; an invertible B with B B^T = P needs P > 0",
        )
    B = bias_factor(P, choice)
    W = np.eye(n) + Q
    V = np.eye(n) - np.linalg.solve(B, Q.T @ B)
    return LinearSystem(W, B, -B.T, V)


def equivalent_networks(M: Any, n_random: int = 1, seed: int = 0) -> list[LinearSystem]:
    """Several different networks (2.17) for one Hamiltonian (many-to-one, the paper's remark after (3.19)).

    The Cholesky factor, the symmetric square root and ``n_random`` random orthogonal rotations of it.
    """
    P, _, _ = split_quadratic(M)
    rng = np.random.default_rng(seed)
    out = [from_hamiltonian(M, "cholesky"), from_hamiltonian(M, "sqrt")]
    for _ in range(n_random):
        O, _ = np.linalg.qr(rng.normal(size=P.shape))
        out.append(from_hamiltonian(M, O))
    return out


#: deprecated names (equation numbers) -> their names
DEPRECATED = {
    "system_219": "hamiltonian_system",
    "hamiltonian_221": "linear_hamiltonian_matrix",
    "Loss220": "LinearLoss",
    "loss_220": "linear_loss",
}

__getattr__ = deprecated_names(__name__, DEPRECATED, globals())
