r"""N neurons (paper (2.10)-(2.16)) numerically: the loss (2.16) for given ``W``, ``B``, ``V`` as a JAX network.

The network is :class:`nnfield.network.Network` with ``K = N`` neuron types on a 1-site lattice, ``W`` and
``B`` site-local ``N x N`` matrices and the loss (2.16)

    H(phi, pi) = 1/2 pi^T (W - I) pi + U(phi) + sum_i F_i(phi_i - (B pi)_i),
    U(phi)     = int_0^1 phi . (B B^T)^-1 grad V(s phi) ds      (Gauss-Legendre, ``nodes`` points)

(``grad U = (B B^T)^-1 grad V`` exactly when the integrability condition holds; the quadrature is exact for
polynomial V of degree < 2 nodes + 1). Autodiff learning then gives Hamilton's equations (2.13) of (2.14)
``Ham = 1/2 beta.beta + beta^T (W - I) phi + V(phi)``, ``beta = B pi``, provided

- ``B`` is invertible, ``W = W^T`` and ``W B = B W`` (the paper's assumptions), and
- ``[B B^T, Hess V(phi)] = 0`` for all phi (missing from the paper, ``NOTES.md``): otherwise
  ``(B B^T)^-1 grad V`` is not a gradient and no loss of the form (2.16) exists.

:meth:`NeuronsDuality.check` tests all of them (integrability at sampled points) and raises the named errors of
:mod:`nnfield.duality.conditions`. ``grad V`` and ``Hess V`` come from ``jax.grad``/``jax.hessian`` of ``V``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._deprecation import deprecated_names
from .._module import Module
from ..lattice import Lattice
from ..network import Network, as_pytree_callable
from ..operators import local
from ..state import State
from .conditions import DEFAULT_TOL, check_commute, check_integrable, check_invertible, check_symmetric


class LineIntegralPotential(Module):
    """``U(phi) = int_0^1 phi . M grad V(s phi) ds`` with ``M = (B B^T)^-1`` by Gauss-Legendre quadrature."""

    M: Any
    V: Any
    nodes: Any
    weights: Any

    def __call__(self, phi: jax.Array) -> jax.Array:
        grad_v = jax.grad(self.V)

        def integrand(s: jax.Array) -> jax.Array:
            return phi @ (self.M @ grad_v(s * phi))

        return jnp.sum(self.weights * jax.vmap(integrand)(self.nodes))


class NNeuronLoss(Module):
    """The loss (2.16) of N neurons on fields ``(N, 1)`` (one site, N neuron types)."""

    WmI: Any
    B: Any
    U: LineIntegralPotential
    F: Any = eqx.field(static=True, default=None)

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        f, p = phi[:, 0], pi[:, 0]
        h = 0.5 * p @ (self.WmI @ p) + self.U(f)
        if self.F is not None:
            h = h + jnp.sum(self.F(f - self.B @ p))
        return h


@dataclasses.dataclass(frozen=True)
class NeuronsDuality:
    """Given ``W``, ``B`` (``N x N``) and ``V`` (``(N,) -> scalar``, JAX-traceable), the loss (2.16) and the
    Hamiltonian (2.14). ``F`` (optional) is applied elementwise to ``phi - B pi``."""

    W: np.ndarray
    B: np.ndarray
    V: Callable[[jax.Array], jax.Array]
    F: Callable[[jax.Array], jax.Array] | None = None
    nodes: int = 24

    def __post_init__(self) -> None:
        """Validate ``W`` and ``B`` up front: equal square shapes, finite entries.

        Raises:
            ValueError: the shapes differ or are not square, or an entry of ``W`` or ``B`` is NaN or infinite
                (named with its index; otherwise NumPy's SVD in the invertibility check fails later with
                ``LinAlgError``).
        """
        W, B = np.asarray(self.W, dtype=float), np.asarray(self.B, dtype=float)
        if W.ndim != 2 or W.shape != B.shape or W.shape[0] != W.shape[1]:
            raise ValueError(f"W and B must be equal square matrices, got {W.shape} and {B.shape}")
        for name, M in (("W", W), ("B", B)):
            bad = np.argwhere(~np.isfinite(M))
            if bad.size:
                i, j = (int(k) for k in bad[0])
                raise ValueError(f"{name} must be finite: {name}[{i}, {j}] = {float(M[i, j])!r} "
                                 f"({len(bad)} non-finite entr{'y' if len(bad) == 1 else 'ies'})")
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "B", B)

    @property
    def N(self) -> int:
        return self.W.shape[0]

    # -- conditions ------------------------------------------------------------------------------------
    def sample_points(self, n: int = 6, seed: int = 0, scale: float = 1.0) -> np.ndarray:
        """Points where the integrability condition is sampled: the origin and ``n`` random points."""
        rng = np.random.default_rng(seed)
        return np.vstack([np.zeros(self.N), scale * rng.normal(size=(n, self.N))])

    def hessians(self, points: Any) -> np.ndarray:
        return np.asarray(jax.jit(jax.vmap(jax.hessian(self.V)))(jnp.asarray(points, dtype=float)))

    def check(self, points: Any = None, tol: float = DEFAULT_TOL) -> dict[str, float]:
        """Verify every condition (2.16) needs; returns the measured violations or raises the named error.

        Raises:
            SingularBiasError: ``B`` is (numerically) singular.
            AsymmetricWeightError: ``W != W^T``.
            NonCommutingError: ``W B != B W``.
            IntegrabilityError: ``[B B^T, Hess V] != 0`` at a sampled point (no loss (2.16) exists); measured
                against ``max(tol, 100 eps)`` with ``eps`` of the Hessians' dtype (float32 without x64).
        """
        out = jax.eval_shape(self.V, jax.ShapeDtypeStruct((self.N,), jnp.float64 if jax.config.read(
            "jax_enable_x64") else jnp.float32))
        if getattr(out, "shape", None) != ():
            raise ValueError(f"V must map the {self.N} neuron states to a scalar (the potential), but it returns "
                             f"{getattr(out, 'shape', type(out).__name__)}; e.g. jnp.sum(...) of a per-neuron term")
        pts = self.sample_points() if points is None else np.atleast_2d(points)
        hess = self.hessians(pts)
        # the Hessians carry JAX's precision (float32 without x64): a tolerance below their rounding would refuse
        # every V whose Hessian is not exactly representable
        tol_hess = max(tol, 100 * float(np.finfo(hess.dtype).eps))
        return {
            "1/cond(B)": check_invertible(self.B, tol),
            "W - W^T": check_symmetric(self.W, tol),
            "[W, B]": check_commute(self.W, self.B, tol),
            "[B B^T, Hess V]": check_integrable(self.B @ self.B.T, hess, tol_hess),
        }

    # -- the two sides ---------------------------------------------------------------------------------
    def hamiltonian(self, phi: jax.Array, beta: jax.Array) -> jax.Array:
        """(2.14): ``1/2 beta.beta + beta^T (W - I) phi + V(phi)``."""
        WmI = jnp.asarray(self.W) - jnp.eye(self.N)
        return 0.5 * beta @ beta + beta @ (WmI @ phi) + self.V(phi)

    def hamilton_flow(self, phi: jax.Array, beta: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Hamilton's equations (2.13): ``(dHam/dbeta, -dHam/dphi)`` by ``jax.grad`` of (2.14)."""
        dphi, dbeta = jax.grad(self.hamiltonian, argnums=(0, 1))(phi, beta)
        return dbeta, -dphi

    def loss(self, check: bool = True) -> NNeuronLoss:
        """The loss (2.16); ``check=False`` builds it even when a condition fails (to measure the failure)."""
        if check:
            self.check()
        else:  # (2.16) needs (B B^T)^-1: a singular B gives no loss to measure (NumPy's LinAlgError before)
            check_invertible(self.B, float(np.finfo(float).eps))
        x, w = np.polynomial.legendre.leggauss(self.nodes)
        M = np.linalg.inv(self.B @ self.B.T)
        U = LineIntegralPotential(jnp.asarray(M), as_pytree_callable(self.V), jnp.asarray((x + 1) / 2),
                                  jnp.asarray(w / 2))
        F = None if self.F is None else as_pytree_callable(self.F)
        return NNeuronLoss(jnp.asarray(self.W - np.eye(self.N)), jnp.asarray(self.B), U, F)

    def network(self, dt: float, scheme: str = "simultaneous", check: bool = True) -> Network:
        """The network (2.11): ``K = N`` types on a 1-site lattice, local ``W``, ``B``, loss (2.16)."""
        lat = Lattice((1,))
        return Network.create(lat, local(self.W, 1), local(self.B, 1), self.loss(check), dt, scheme,
                              name=f"{self.N} neurons (2.16)")

    def state(self, phi: Any, beta: Any) -> State:
        """Network state from physics data: ``pi = B^-1 beta`` (``phi`` and ``beta``: ``N`` numbers each)."""
        for name, v in (("phi", phi), ("beta", beta)):
            if np.shape(v) != (self.N,):
                raise ValueError(f"{name}: expected {self.N} numbers (one per neuron), got shape {np.shape(v)}")
        check_invertible(self.B, float(np.finfo(float).eps))  # pi = B^-1 beta (a named error, not NumPy's)
        pi = np.linalg.solve(self.B, np.asarray(beta, dtype=float))
        return State(jnp.asarray(phi, dtype=float)[:, None], jnp.asarray(pi)[:, None])


def network_flow(net: Network, state: State) -> tuple[jax.Array, jax.Array]:
    """The network's continuous-time equations (2.11)-(2.12) at ``state``, read off its own updates.

    ``dphi/dt = activate(phi, pi, 1) - phi = (W - I) phi + B pi`` and ``dbeta/dt = -B dH/dpi`` with ``dH/dpi``
    from the network's autodiff learning gradient. Returns ``(dphi/dt, dbeta/dt)`` as ``(N,)`` vectors.
    """
    phi, pi = state.phi, state.pi
    drive = net.activate(phi, pi, 1.0) - phi
    dpi = -net.learning_gradient(phi, pi)
    return drive[:, 0], net.bias(dpi)[:, 0]


def flow_mismatch(duality: NeuronsDuality, net: Network, phis: Any, betas: Any) -> float:
    """``max |network flow - Hamilton flow| / max |Hamilton flow|`` over the given ``(phi, beta)`` points.

    One jitted, vmapped evaluation of :func:`network_flow` and :meth:`NeuronsDuality.hamilton_flow`.
    """
    Binv = jnp.asarray(np.linalg.inv(duality.B))

    def both(n: Network, phi: jax.Array, beta: jax.Array) -> tuple[jax.Array, jax.Array]:
        a = network_flow(n, State(phi[:, None], (Binv @ beta)[:, None]))
        b = duality.hamilton_flow(phi, beta)
        return jnp.concatenate(a), jnp.concatenate(b)

    fn = jax.jit(jax.vmap(both, in_axes=(None, 0, 0)))
    a, b = fn(net, jnp.asarray(np.atleast_2d(phis), dtype=float), jnp.asarray(np.atleast_2d(betas), dtype=float))
    return float(jnp.max(jnp.abs(a - b))) / max(float(jnp.max(jnp.abs(b))), np.finfo(float).tiny)


def euler_reference(duality: NeuronsDuality, phi: Any, beta: Any, dt: float, steps: int) -> tuple[np.ndarray, ...]:
    """Explicit Euler for Hamilton's equations of (2.14) written out by hand in NumPy (``grad V`` by JAX).

    ``phi' = phi + dt (beta + (W - I) phi)``, ``beta' = beta - dt ((W - I)^T beta + grad V(phi))``: what the
    ``simultaneous`` network must reproduce step by step.
    """
    WmI = duality.W - np.eye(duality.N)
    gv = jax.jit(jax.grad(duality.V))
    phi, beta = np.asarray(phi, dtype=float), np.asarray(beta, dtype=float)
    for _ in range(steps):
        phi, beta = phi + dt * (beta + WmI @ phi), beta - dt * (WmI.T @ beta + np.asarray(gv(jnp.asarray(phi))))
    return phi, beta


#: deprecated names (equation numbers) -> their names
DEPRECATED = {"Loss216": "NNeuronLoss"}

__getattr__ = deprecated_names(__name__, DEPRECATED, globals())
