r"""One neuron (paper (2.1)-(2.9)), numerically: a network that is Hamilton's flow of ``beta^2/2 + V(phi)``.

The network is :class:`nnfield.network.Network` on a lattice of ``n`` sites with ``W = I``, ``B = I`` and the
loss (2.9) ``H(phi, pi) = sum_i [V(phi_i) + F(phi_i - pi_i)]`` (``beta = pi``): ``n`` independent neurons
(a batch of initial conditions). Learning is autodiff through the activation (single-step backprop), so

    dH/dpi = dH/dpi|explicit + dH/dphi = V'(phi)            (2.4), (2.8): the F terms cancel for any F

and one tick is, per scheme (see :mod:`nnfield.schemes`):

- ``simultaneous`` (the paper's (2.1)-(2.2)): explicit Euler for Hamilton's equations (2.6). Order 1; not
  symplectic: the energy grows without bound.
- ``alternating``: learning on the activation output: symplectic Euler. Order 1; energy bounded.
- ``leapfrog``: Stormer-Verlet. Order 2; energy bounded.

The reference is Hamilton's flow (2.6) of (2.7) by SciPy's ``DOP853`` (rtol = atol = 1e-12), with ``V'``
from an exact tree derivative of the potential expression (:meth:`~nnfield.duality.parse.Expr.diff`),
independent of the network code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._module import Module
from ..errors import ParameterError
from ..lattice import Lattice
from ..network import Network, as_pytree_callable, check_state
from ..operators import identity
from ..state import State
from .parse import ExprFunction

#: built-in potentials: name -> (expression in phi, default parameters)
POTENTIALS: dict[str, tuple[str, dict[str, float]]] = {
    "harmonic": ("omega**2*phi**2/2", {"omega": 1.0}),
    "quartic": ("lam*phi**4/4", {"lam": 1.0}),
    "double-well": ("lam*(phi**2 - v**2)**2/4", {"lam": 1.0, "v": 1.0}),
    "pendulum": ("omega**2*(1 - cos(phi))", {"omega": 1.0}),
}


def potential(name_or_expr: str, params: Mapping[str, float] | None = None) -> ExprFunction:
    """A potential ``V(phi)``: a built-in name (:data:`POTENTIALS`) or an expression in ``phi`` (safe parser).

    ``params`` override a built-in's defaults or supply an expression's parameters.
    """
    if name_or_expr in POTENTIALS:
        text, defaults = POTENTIALS[name_or_expr]
        values = {**defaults, **dict(params or {})}
        unknown = set(values) - set(defaults)
        if unknown:
            raise ValueError(f"potential {name_or_expr!r} has parameters {sorted(defaults)}, got {sorted(unknown)}")
        return ExprFunction.from_string(text, ("phi",), values)
    return ExprFunction.from_string(name_or_expr, ("phi",), params)


class NeuronLoss(Module):
    """The loss (2.9): ``H(phi, pi) = sum_i V(phi_i) + F(phi_i - pi_i)`` (``F = None`` means ``F = 0``)."""

    V: Any = eqx.field(static=True)
    F: Any = eqx.field(static=True, default=None)

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        h = jnp.sum(self.V(phi))
        if self.F is not None:
            h = h + jnp.sum(self.F(phi - pi))
        return h


def network(
    V: ExprFunction | str, dt: float, scheme: str = "leapfrog", F: Any = None, n: int = 1
) -> Network:
    """``n`` independent neurons with loss (2.9) (W = I, B = I on a 1D lattice of ``n`` sites)."""
    V = potential(V) if isinstance(V, str) else V
    lat = Lattice((int(n),))
    eye = identity(1)
    return Network.create(lat, eye, eye, NeuronLoss(V, F), dt, scheme, name=f"neuron (2.9) V = {V}")


def hamiltonian(V: Any, phi: Any, beta: Any) -> Any:
    """(2.7): ``beta^2/2 + V(phi)`` (elementwise)."""
    return 0.5 * beta**2 + V(phi)


def initial_state(phi0: Sequence[float] | float, beta0: Sequence[float] | float) -> State:
    """The state of ``len(phi0)`` neurons (``W = B = I``, so ``pi = beta``): ``phi`` and ``pi`` shaped ``(1, n)``."""
    phi = jnp.atleast_1d(jnp.asarray(phi0, dtype=float))
    beta = jnp.atleast_1d(jnp.asarray(beta0, dtype=float))
    if phi.ndim != 1 or beta.shape != phi.shape:
        raise ParameterError("beta0", f"expected one value per neuron like phi0 ({phi.size}), got {beta.size}")
    return State(phi[None], beta[None])


def evolve(net: Any, state: State, steps: Any) -> State:
    """``steps`` ticks (a traced count: one compilation per network structure, any dt and any count)."""
    check_state(net, state)
    return _evolve(net, state, steps)


@jax.jit
def _evolve(net: Any, state: State, steps: Any) -> State:
    return jax.lax.fori_loop(0, steps, lambda _, s: net.step(s), state)


def energy_history(net: Any, V: Any, state: State, steps: int, every: int) -> np.ndarray:
    """``Ham = beta^2/2 + V(phi)`` of each neuron after every ``every`` ticks, shape ``(steps // every, n)``."""
    check_state(net, state)
    return np.asarray(_scan_energy(net, state, int(every), as_pytree_callable(V), int(steps) // int(every)))


def _scan_energy_impl(net: Any, state: State, every: Any, V: Any, nout: int) -> Any:
    def body(s: State, _: Any) -> tuple[State, Any]:
        s = jax.lax.fori_loop(0, every, lambda _, x: net.step(x), s)
        return s, hamiltonian(V, s.phi[0], s.pi[0])

    return jax.lax.scan(body, state, None, length=nout)[1]


_scan_energy = jax.jit(_scan_energy_impl, static_argnames=("nout",))


# ----------------------------------------------------------------------------------------------------------
# reference: Hamilton's flow by DOP853
# ----------------------------------------------------------------------------------------------------------
def hamilton_reference(
    V: ExprFunction, phi0: Any, beta0: Any, times: Sequence[float], rtol: float = 1e-12, atol: float = 1e-12
) -> tuple[np.ndarray, np.ndarray]:
    """Hamilton's equations (2.6) of (2.7), ``phi' = beta``, ``beta' = -V'(phi)``, by SciPy ``DOP853``.

    ``V'`` is the exact tree derivative of the expression, evaluated with NumPy. Returns ``(phi, beta)`` of
    shape ``(len(times), n)``.
    """
    from scipy.integrate import solve_ivp

    dV = V.diff(V.args[0])
    phi0 = np.atleast_1d(np.asarray(phi0, dtype=float))
    beta0 = np.atleast_1d(np.asarray(beta0, dtype=float))
    n = phi0.size

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        return np.concatenate([y[n:], -np.asarray(dV.numpy(y[:n]), dtype=float)])

    times = np.asarray(times, dtype=float)
    sol = solve_ivp(rhs, (0.0, float(times.max())), np.concatenate([phi0, beta0]), method="DOP853",
                    t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"DOP853 failed: {sol.message}")
    return sol.y[:n].T, sol.y[n:].T


def convergence(
    V: ExprFunction | str,
    scheme: str,
    phi0: Any,
    beta0: Any,
    T: float,
    dts: Sequence[float],
    F: Any = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Max error at time ``T`` of the network (each ``dt`` in ``dts``) against :func:`hamilton_reference`.

    Returns ``(dts, errors, order)``, the order being the least-squares slope of ``log err`` vs ``log dt``.
    """
    V = potential(V) if isinstance(V, str) else V
    phi0 = np.atleast_1d(np.asarray(phi0, dtype=float))
    beta0 = np.atleast_1d(np.asarray(beta0, dtype=float))
    ref_phi, ref_beta = hamilton_reference(V, phi0, beta0, [T])
    base = network(V, float(dts[0]), scheme, F, n=phi0.size)
    s0 = initial_state(phi0, beta0)
    errs = []
    for dt in dts:
        steps = int(round(T / dt))
        if abs(steps * dt - T) > 1e-9 * T:
            raise ValueError(f"T = {T} is not a multiple of dt = {dt}")
        s = evolve(base.with_dt(float(dt)), s0, steps)
        e = max(np.abs(np.asarray(s.phi[0]) - ref_phi[0]).max(), np.abs(np.asarray(s.pi[0]) - ref_beta[0]).max())
        errs.append(e)
    dts_a, errs_a = np.asarray(dts, dtype=float), np.asarray(errs)
    order = float(np.polyfit(np.log(dts_a), np.log(errs_a), 1)[0])
    return dts_a, errs_a, order
