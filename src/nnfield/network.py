r"""Networks whose activation and learning dynamics are the paper's equations of motion.

One tick with step ``dt`` (the paper's unit step is ``dt = 1``; eq. 2.11, 4.6, 4.11):

    activation:  phi <- phi + dt ((W - I) phi + B pi)
    learning:    pi  <- pi  - dt dH/dpi,    dH/dpi = dH/dpi|explicit + B^T dH/dphi

The learning gradient is computed by JAX autodiff of the loss through the activation map with the
single-step backprop Jacobian ``d phi / d pi = B`` (eq. 2.3, 3.12): ``jax.grad`` of
``p -> H(phi + B (p - pi), p)`` at ``p = pi``. It is never written by hand.

With ``per_type=True`` the loss returns a vector ``(H_1, ..., H_K)`` and neuron type ``a`` descends its own
``H_a`` with respect to its own ``pi^a`` only (eq. 4.14).

The order of the two updates is a :mod:`~nnfield.schemes` scheme. Networks are PyTrees: they work under
``jit``, ``vmap`` and ``grad``; ``run`` is a single jitted ``lax.scan``.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import Partial

from ._pytree import pytree_dataclass, replace, static_field
from .lattice import Lattice
from .operators import LatticeOperator, identity, share_shifts
from .schemes import Scheme, get_scheme
from .state import State

Observer = Callable[[State], dict[str, Any]]


def as_pytree_callable(f: Any) -> Any:
    """Wrap a plain Python function as a PyTree (``jax.tree_util.Partial``) so it can cross ``jit``."""
    if isinstance(f, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)) and not isinstance(
        f, Partial
    ):
        return Partial(f)
    return f


@pytree_dataclass
class Network:
    """A linear-activation network with gradient-descent learning on a loss (the paper's Sec. 2-5).

    Attributes:
        W: the weight operator of the unit-step activation ``phi(t+1) = W phi + B pi``.
        B: the bias map, ``beta = B pi``.
        loss: ``H(phi, pi) -> scalar`` (or ``(K,)`` per-type losses when ``per_type``); a PyTree callable.
        dt: the step (learning rate and activation rate); ``dt = 1`` is the paper.
        tick: physical time per step (defaults to ``dt``; differs for networks whose ``W`` encodes ``dt``).
        lattice: the lattice (static).
        scheme: the ordering of the updates (static).
        per_type: whether ``loss`` returns per-type losses (static).
        name: a label (static).
    """

    W: LatticeOperator
    B: LatticeOperator
    loss: Any
    dt: Any
    tick: Any
    lattice: Lattice = static_field()
    scheme: Scheme = static_field()
    per_type: bool = static_field(default=False)
    name: str = static_field(default="network")

    @classmethod
    def create(
        cls,
        lattice: Lattice,
        W: LatticeOperator,
        B: LatticeOperator,
        loss: Any,
        dt: float,
        scheme: str | Scheme = "leapfrog",
        *,
        per_type: bool = False,
        tick: float | None = None,
        name: str = "network",
    ) -> Network:
        """Validate and build a network (plain functions are wrapped to cross ``jit``)."""
        if W.ndim != lattice.ndim or B.ndim != lattice.ndim:
            raise ValueError(f"operators have ndim {W.ndim}/{B.ndim}, lattice has {lattice.ndim}")
        if W.K != B.K:
            raise ValueError(f"W has K={W.K} neuron types but B has K={B.K}")
        return cls(
            W=W,
            B=B,
            loss=as_pytree_callable(loss),
            dt=dt,
            tick=dt if tick is None else tick,
            lattice=lattice,
            scheme=get_scheme(scheme),
            per_type=per_type,
            name=name,
        )

    # -- basic properties ------------------------------------------------------------------------------
    @property
    def K(self) -> int:
        """Number of neuron types per site."""
        return self.W.K

    @property
    def order(self) -> int:
        """Declared order of accuracy of the scheme (see :mod:`nnfield.schemes`)."""
        return self.scheme.order

    @property
    def W_minus_I(self) -> LatticeOperator:
        return self.W - identity(self.W.ndim, self.W.K)

    def with_scheme(self, scheme: str | Scheme) -> Network:
        return replace(self, scheme=get_scheme(scheme))

    def with_dt(self, dt: Any, tick: Any = None) -> Network:
        return replace(self, dt=dt, tick=dt if tick is None else tick)

    # -- the two updates -------------------------------------------------------------------------------
    def bias(self, pi: jax.Array) -> jax.Array:
        """``beta = B pi`` (eq. 2.10, 4.8)."""
        return self.B.apply(pi)

    def activate(self, phi: jax.Array, pi: jax.Array, dt: Any) -> jax.Array:
        """``phi + dt ((W - I) phi + B pi)`` (eq. 2.11; ``W phi + B pi`` at ``dt = 1``, eq. 3.7, 4.2)."""
        wmi = self.W_minus_I
        drive = self.B.apply(pi)
        if wmi.shifts:
            drive = drive + wmi.apply(phi)
        return phi + dt * drive

    def learning_gradient(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """``dH/dpi = dH/dpi|explicit + B^T dH/dphi`` by autodiff through ``p -> phi + B (p - pi)``.

        With ``per_type`` the component ``a`` is ``dH_a / dpi^a`` (eq. 4.14): type ``a`` differentiates
        only its own loss with respect to only its own trainable variables.

        Evaluation: ``jax.vjp`` of the loss at the activation output ``phi + B (pi - pi) = phi`` gives
        ``(dH/dphi, dH/dpi|explicit)``; ``jax.vjp`` of the activation map ``p -> phi + B (p - pi)`` pulls
        ``dH/dphi`` back to ``pi`` (``B^T``). This is the chain rule ``jax.grad`` applies to the composition,
        without materializing ``phi + B 0`` (equal to ``phi`` for finite states and coefficients), and is
        evaluated with :func:`~nnfield.operators.share_shifts` (identical shifted reads computed once).
        """
        return share_shifts(_learning_gradient)(self, phi, pi)

    def learn(self, phi_eval: jax.Array, pi: jax.Array, dt: Any) -> jax.Array:
        """Gradient descent ``pi - dt dH/dpi(phi_eval, pi)`` (eq. 2.2, 2.11)."""
        return pi - dt * self.learning_gradient(phi_eval, pi)

    # -- time stepping ---------------------------------------------------------------------------------
    def step(self, state: State) -> State:
        """One tick of the network with its scheme."""
        return self.scheme.step(self, state, self.dt)

    def advance(self, state: State, n: int) -> State:
        """``n`` ticks (``n`` static), fused by the scheme where it can (leapfrog merges half kicks)."""
        return self.scheme.advance(self, state, n, self.dt)

    def run(self, state: State, steps: int, every: int = 1, observer: Any = None) -> tuple[State, Any]:
        """Advance ``steps`` ticks in one jitted ``lax.scan``; see :func:`run`."""
        return run(self, state, steps, every, observer)


@pytree_dataclass
class LinearNetwork:
    """The general linear network (2.17), (3.7), (4.2) given directly by its four operators.

    ``phi <- phi + dt ((W - I) phi + B pi)``, ``pi <- pi + dt (A phi + (V - I) pi)``: no loss, for comparing
    the paper's printed tensors (e.g. (3.8)) with loss-generated networks. Schemes: ``simultaneous`` (both
    from time-t values, as printed) and ``alternating`` (the ``pi`` update uses the new ``phi``).
    """

    W: LatticeOperator
    B: LatticeOperator
    A: LatticeOperator
    V: LatticeOperator
    dt: Any
    tick: Any
    lattice: Lattice = static_field()
    scheme: Scheme = static_field()
    name: str = static_field(default="linear network")

    @classmethod
    def create(
        cls, lattice: Lattice, W: LatticeOperator, B: LatticeOperator, A: LatticeOperator, V: LatticeOperator,
        dt: float = 1.0, scheme: str | Scheme = "simultaneous", tick: float | None = None, name: str = "linear",
    ) -> LinearNetwork:
        sch = get_scheme(scheme)
        if sch.name not in ("simultaneous", "alternating"):
            raise ValueError(f"LinearNetwork supports 'simultaneous' and 'alternating', got {sch.name!r}")
        return cls(W, B, A, V, dt, dt if tick is None else tick, lattice, sch, name)

    @property
    def K(self) -> int:
        return self.W.K

    @property
    def order(self) -> int:
        return self.scheme.order

    def step(self, state: State) -> State:
        dt, K, nd = self.dt, self.W.K, self.W.ndim
        eye = identity(nd, K)
        phi = state.phi + dt * ((self.W - eye).apply(state.phi) + self.B.apply(state.pi))
        phi_eval = phi if self.scheme.name == "alternating" else state.phi
        pi = state.pi + dt * (self.A.apply(phi_eval) + (self.V - eye).apply(state.pi))
        return State(phi, pi)

    def run(self, state: State, steps: int, every: int = 1, observer: Any = None) -> tuple[State, Any]:
        return run(self, state, steps, every, observer)


def _learning_gradient(net: Network, phi: jax.Array, pi: jax.Array) -> jax.Array:
    """See :meth:`Network.learning_gradient`."""
    _, pull = jax.vjp(lambda p: phi + net.B.apply(p - pi), pi)  # the activation map's VJP: B^T
    if not net.per_type:
        g_phi, g_pi = jax.grad(net.loss, argnums=(0, 1))(phi, pi)
        return g_pi + pull(g_phi)[0]
    losses, vjp = jax.vjp(net.loss, phi, pi)

    def grad_of(e: jax.Array) -> jax.Array:
        g_phi, g_pi = vjp(e)
        return g_pi + pull(g_phi)[0]

    grads = jax.vmap(grad_of)(jnp.eye(net.K, dtype=losses.dtype))  # grads[a] = d H_a / d pi (all types)
    return jnp.stack([grads[a, a] for a in range(net.K)])


def _advance(net: Any, state: State, n: int) -> State:
    """``n`` ticks: the network's own (possibly fused) ``advance`` if it has one, else a loop of ``step``."""
    if n == 0:
        return state
    adv = getattr(net, "advance", None)
    if adv is not None:
        return adv(state, n)
    if n == 1:
        return net.step(state)
    return jax.lax.fori_loop(0, n, lambda _, s: net.step(s), state)


def _run_impl(net: Any, state: State, steps: int, every: int, observer: Any) -> tuple[State, Any]:
    if observer is None:  # nothing to record: one fused block of ticks
        return _advance(net, state, steps), None

    def outer(s: State, _: Any) -> tuple[State, Any]:
        s = _advance(net, s, every)
        return s, observer(s)

    nout, rest = divmod(steps, every)
    state, obs = jax.lax.scan(outer, state, None, length=nout)
    return _advance(net, state, rest), obs


_run_jit = jax.jit(_run_impl, static_argnames=("steps", "every"))


def run(net: Any, state: State, steps: int, every: int = 1, observer: Any = None) -> tuple[State, Any]:
    """Advance ``steps`` ticks of ``net`` in one jitted ``lax.scan``; observables every ``every`` ticks.

    Args:
        net: a :class:`Network` or :class:`LinearNetwork` (anything with ``step(state) -> state``).
        state: the initial state.
        steps: number of ticks (static).
        every: observe after every ``every`` ticks (static); ``steps // every`` samples are returned.
        observer: ``state -> dict`` of scalars (a PyTree callable or plain function), evaluated inside the scan.

    Returns:
        ``(final_state, observables)`` where ``observables`` stacks the observer's outputs (``None`` if none).
    """
    if steps < 0 or every < 1:
        raise ValueError(f"need steps >= 0 and every >= 1, got steps={steps}, every={every}")
    return _run_jit(net, state, int(steps), int(every), as_pytree_callable(observer))


def trajectory(net: Any, state: State, steps: int) -> State:
    """The states after each of ``steps`` ticks, stacked along a leading axis (for tests and analysis)."""
    return _trajectory(net, state, int(steps))


@partial(jax.jit, static_argnames=("steps",))
def _trajectory(net: Any, state: State, steps: int) -> State:
    def body(s: State, _: Any) -> tuple[State, State]:
        s = net.step(s)
        return s, s

    return jax.lax.scan(body, state, None, length=steps)[1]


@jax.jit
def jit_step(net: Any, state: State) -> State:
    """One tick, jitted (compiled once per network structure; ``dt`` and coefficients are traced)."""
    return net.step(state)
