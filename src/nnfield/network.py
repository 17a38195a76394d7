r"""Networks whose activation and learning dynamics are the paper's equations of motion.

One tick with step ``dt`` (the paper's unit step is ``dt = 1``; eq. 2.11, 4.6, 4.11):

    activation:  phi <- phi + dt ((W - I) phi + B pi)
    learning:    pi  <- pi  - dt dH/dpi,    dH/dpi = dH/dpi|explicit + B^T dH/dphi

The learning gradient is computed by JAX autodiff of the loss through the activation map with the
single-step backprop Jacobian ``d phi / d pi = B`` (eq. 2.3, 3.12): ``jax.grad`` of
``p -> H(phi + B (p - pi), p)`` at ``p = pi``. It is never written by hand.

A loss is a scalar ``H(phi, pi)``, or a :class:`PerTypeLoss` returning ``(H_1, ..., H_K)`` where neuron type
``a`` descends its own ``H_a`` with respect to its own ``pi^a`` only (eq. 4.14): the loss declares which. A
:class:`SplitPerTypeLoss` also declares which part of the ``H_a`` all types share, so that the diagonal
``dH_a/dpi^a`` is one reverse-mode pass instead of K (still autodiff of the loss).

The seam every generic layer uses is :class:`AbstractNetwork` (``step``, ``advance``, ``advance_synced``,
``lattice``, ``dt``, ``tick``, ``K``, ``name``, ``order``); :class:`Network` (gradient learning) and
:class:`LinearNetwork` (the four operators of (2.17)/(4.2) given directly) are its final implementations in the
core. Networks are equinox modules (PyTrees): they work under ``jit``, ``vmap`` and ``grad``; ``run`` is a single
jitted ``lax.scan``.
"""


import abc
import functools
import types
import weakref
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from ._checks import check_number, weak_scalar
from ._layout import SiteMajor
from ._module import Module
from ._trace import trace_once
from ._xla import jit
from .errors import ParameterError
from .lattice import Lattice, check_lattice
from .operators import LatticeOperator, identity, share_shifts
from .schemes import Scheme, get_scheme, tick_loop
from .state import State

Observer = Callable[[Any], dict[str, Any]]


class _Probe(eqx.Module):
    def method(self) -> None:
        return None


_BOUND_METHOD = type(_Probe().method)  # the type equinox gives a module's bound methods (a PyTree)


def as_pytree_callable(f: Any) -> Any:
    """Wrap a plain Python function as a PyTree (``jax.tree_util.Partial``) so it can cross ``jit``.

    A bound method of a module (``model.observables``) is wrapped as the plain bound method: its module is a
    constant of the compiled program (hashed by identity), as for any Python method. To trace a module's
    arrays instead, pass ``Partial(type(model).observables, model)``.
    """
    if isinstance(f, _BOUND_METHOD):  # equinox's bound-method PyTree -> a plain method (a constant)
        f = types.MethodType(f.__func__, f.__self__)
    if isinstance(f, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)) and not isinstance(
        f, Partial
    ):
        return Partial(f)
    return f


# ----------------------------------------------------------------------------------------------------------
# the declared seam
# ----------------------------------------------------------------------------------------------------------
def _broadcast(value: Any, k: int) -> jax.Array:
    """``jnp.broadcast_to(jnp.asarray(value), (k,))`` (``value`` a number, or ``k`` of them), in one compiled
    program instead of two eager ones; a Python number stays weakly typed, a list or tuple becomes a strongly typed
    array, as with ``jnp.asarray``."""
    if isinstance(value, (list, tuple)):
        value = jnp.asarray(value) if any(isinstance(v, jax.Array) for v in value) else np.asarray(value)
    return _broadcast_jit(value, k)


@functools.partial(jax.jit, static_argnums=1)
def _broadcast_jit(value: Any, k: int) -> jax.Array:
    return jnp.broadcast_to(value, (k,))


class AbstractNetwork(Module):
    """What every network offers the generic layers (runner, analysis, command line, checks).

    Attributes (abstract; a subclass provides each as a field or a property):
        lattice: the periodic lattice the fields live on.
        dt: the step of the updates (the learning rate and activation rate; ``dt = 1`` is the paper).
        tick: physical time per step (equal to ``dt`` except for networks whose weights encode ``dt``).
        name: a label for reports.

    Methods: :meth:`step` (one tick, ``state -> state``; abstract), :meth:`advance` (``n`` ticks, fused where
    the network can), :meth:`run` (jitted ``lax.scan`` with observables), :attr:`K` (components per site of
    the state's ``phi`` and ``pi``) and :attr:`order` (declared order of accuracy in ``dt``).
    """

    lattice: eqx.AbstractVar[Lattice]
    dt: eqx.AbstractVar[Any]
    tick: eqx.AbstractVar[Any]
    name: eqx.AbstractVar[str]

    @property
    @abc.abstractmethod
    def K(self) -> int:
        """Components (neuron types) per site."""

    @property
    @abc.abstractmethod
    def order(self) -> int:
        """Declared order of accuracy in ``dt`` of one tick."""

    @abc.abstractmethod
    def step(self, state: Any) -> Any:
        """One tick.

        Called outside ``jit`` it runs operation by operation (tens of milliseconds a tick for a small lattice,
        each operation dispatched on its own); to step from a Python loop, use ``jax.jit(network.step)``, or
        :meth:`advance` / :func:`run` (one compiled loop of many ticks)."""

    @property
    def loop_unroll(self) -> int:
        """Ticks per iteration of the default :meth:`advance` loop: 2 (see there)."""
        return 2

    @property
    def loop_ping_pong(self) -> bool:
        """Whether the default :meth:`advance` loop carries both ticks' states (:func:`~nnfield.schemes.tick_loop`):
        a network whose ticks follow the simultaneous scheme returns its scheme's ``True``."""
        return False

    @property
    def loop_layout(self) -> SiteMajor:
        """``loop_layout(state)``: ``state`` (the same values) with each multi-component field on the lattice
        stored site-major inside a compiled loop on one CPU device: ``(K, N_1, ..., N_D)`` laid out as
        ``(N_1, K, N_2, ..., N_D)``, so that XLA:CPU splits the loops over threads by lattice planes rather than
        by components (:class:`nnfield._layout.SiteMajor`; ``docs/performance.md``). :meth:`advance` applies it to
        the carried state, :func:`run` to the state between observations."""
        return SiteMajor(self.lattice.shape)

    def advance(self, state: Any, n: int) -> Any:
        """``n`` ticks (``n`` static); the default is a loop of :meth:`step`, :attr:`loop_unroll` ticks per
        iteration (with two, the second tick writes into the loop's own buffers, so XLA needs no copy of the state
        per tick; :func:`~nnfield.schemes.tick_loop`), the state stored as :meth:`loop_layout` says."""
        return tick_loop(self.step, state, n, self.loop_unroll, self.loop_ping_pong, self.loop_layout)

    def advance_synced(self, state: Any, n: int, sync: Callable[[Any], Any]) -> Any:
        """``n`` ticks with ``sync`` (``state -> state``) applied before every tick, or before every part of a
        fused tick that reads shifted neighbours of what the previous part wrote (no part spans more than one
        tick): the hook of the explicit halo exchange (:mod:`nnfield.halo`), which refreshes the ghost rows of a
        device's block there. The default is a loop of ``step(sync(s))``; :class:`Network` keeps its scheme's
        fused form (:meth:`nnfield.schemes.Scheme.advance`). Equal to :meth:`advance` up to rounding for
        ``sync`` the identity."""
        return tick_loop(lambda s: self.step(sync(s)), state, n, self.loop_unroll, self.loop_ping_pong,
                         self.loop_layout)

    def perturbation_step(self, delta: State) -> State:
        """One tick of a perturbation ``delta`` about the network's ground state, packed as ``State(phi, pi)`` of
        ``K`` components each: the map the linear analysis (:mod:`nnfield.analysis`) linearizes at zero.

        The default is :meth:`step` (ground state zero, the state a ``State``). A network with several named
        fields, or a ground state that is not zero (a Higgs vacuum), overrides it.
        """
        return self.step(delta)

    def run(self, state: Any, steps: int, every: int = 1, observer: Any = None) -> tuple[Any, Any]:
        """Advance ``steps`` ticks in one jitted ``lax.scan``; see :func:`run`."""
        return run(self, state, steps, every, observer)


# ----------------------------------------------------------------------------------------------------------
# losses: scalar or per type (declared by the loss, not by a flag on the network)
# ----------------------------------------------------------------------------------------------------------
class PerTypeLoss(Module):
    """Base of per-type losses: ``__call__(phi, pi)`` returns ``(H_1, ..., H_K)`` (eq. 4.14).

    Neuron type ``a`` descends its own ``H_a`` with respect to its own ``pi^a`` only. Subclass it (and
    implement ``__call__``), or wrap a plain function with :class:`PerTypeLossFn`.
    """

    @abc.abstractmethod
    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """The ``(K,)`` vector of per-type losses."""


class SplitPerTypeLoss(PerTypeLoss):
    r"""A per-type loss that declares its structure: ``H_a(phi, pi) = S(phi, pi) + h_a(phi, pi, pi)`` (eq. 4.14).

    - :meth:`shared` ``S(phi, pi)``: the part common to every type (a scalar);
    - :meth:`own` ``h(phi, pi, frozen)``: the ``(K,)`` vector of the rest, where entry ``a`` depends on ``pi``
      only through ``pi^a`` and on ``phi`` only through ``phi^a``; ``frozen`` receives ``pi`` again and carries
      the dependence of ``H_a`` on the other types' ``pi^b`` (``b != a``); entry ``a`` must not read
      ``frozen^a``.

    With this declaration the diagonal of the per-type Jacobian, ``dH_a/dpi^a`` through the activation map
    ``phi + B (p - pi)``, is one reverse-mode pass (``jax.grad``) of the scalar
    ``S(phi_s, p) + sum_a h_a(phi_o, p, pi)`` (``pi`` held fixed in the ``frozen`` slot):

        dH_a/dpi^a = [dS/dpi + B^T dS/dphi]^a + dh_a/dpi^a + [diag(B)^T dh/dphi_o]^a

    (``diag(B)``: the type-diagonal blocks ``B_aa`` of ``B``, the only part of ``B`` through which ``pi^a``
    reaches ``phi^a``). Without the declaration (:class:`PerTypeLoss`) the engine takes one reverse pass per
    type and keeps the diagonal, K times the work. Both are autodiff of the loss; the declaration only says
    which partial derivatives make up the diagonal (an exact identity: no discretization, the two agree to
    round-off, ``tests/test_fast_gradient.py``). ``__call__`` (the ``(K,)`` vector) defaults to
    ``shared + own(phi, pi, pi)``.
    """

    @abc.abstractmethod
    def shared(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """The part ``S`` of every ``H_a`` that is common to all types (a scalar)."""

    @abc.abstractmethod
    def own(self, phi: jax.Array, pi: jax.Array, frozen: jax.Array) -> jax.Array:
        """The ``(K,)`` vector ``h_a`` (entry ``a`` reads ``pi^a``, ``phi^a`` and ``frozen^b``, ``b != a``)."""

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return self.shared(phi, pi) + self.own(phi, pi, pi)


class PerTypeLossFn(PerTypeLoss):
    """A plain function ``(phi, pi) -> (K,)`` declared as a per-type loss."""

    fn: Any

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return self.fn(phi, pi)


# ----------------------------------------------------------------------------------------------------------
# the gradient-learning network
# ----------------------------------------------------------------------------------------------------------
class Network(AbstractNetwork):
    """A linear-activation network with gradient-descent learning on a loss (the paper's Sec. 2-5).

    Attributes:
        W: the weight operator of the unit-step activation ``phi(t+1) = W phi + B pi``.
        B: the bias map, ``beta = B pi``.
        loss: ``H(phi, pi) -> scalar``, or a :class:`PerTypeLoss` (``(K,)``); a PyTree callable.
        dt: the step (learning rate and activation rate); ``dt = 1`` is the paper.
        tick: physical time per step (defaults to ``dt``; differs for networks whose ``W`` encodes ``dt``).
        lattice: the lattice (static).
        scheme: the ordering of the updates (static), see :mod:`nnfield.schemes`.
        name: a label (static).
        declared_order: the order in ``tick`` a network built for it declares (static; ``None``: the scheme's, see
            :attr:`order`), e.g. network (3.14), whose ``W`` encodes the physical step: a three-level (Stormer-Verlet)
            scheme of order 2 advanced by a simultaneous update at a unit learning rate.
        ground: the uniform static state ``phi = ground`` (one value per component, shape ``(K,)``), ``pi = 0``,
            about which :meth:`perturbation_step` (the linear analysis, the stability gate) linearizes; it must be
            a fixed point of :meth:`step` (``dH/dphi = 0`` there, e.g. the vacuum ``+v`` of a double well).
            ``None``: zero.
    """

    W: LatticeOperator
    B: LatticeOperator
    loss: Any
    dt: Any
    tick: Any
    lattice: Lattice = eqx.field(static=True)
    scheme: Scheme = eqx.field(static=True)
    name: str = eqx.field(static=True, default="network")
    declared_order: int | None = eqx.field(static=True, default=None)
    ground: Any = None

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
        order: int | None = None,
        ground: Any = None,
    ) -> "Network":
        """Validate and build a network (plain functions are wrapped to cross ``jit``).

        ``per_type=True`` declares a plain function ``loss`` as a per-type loss (:class:`PerTypeLossFn`);
        a :class:`PerTypeLoss` instance declares itself. ``order`` declares the order in ``tick`` of a network whose
        weights encode its physical step (default: derived from the scheme, :attr:`order`). ``ground`` (``K``
        numbers, or one for every component) is the static state the linear analysis linearizes about
        (:meth:`perturbation_step`; default zero).
        """
        check_lattice(lattice)
        for label, op in (("W", W), ("B", B)):
            if not isinstance(op, LatticeOperator):
                raise ParameterError(label, f"expected a LatticeOperator (nnfield.operators), got {type(op).__name__}; "
                                     f"e.g. nnfield.operators.local(M, ndim) for a site-local (K, K) matrix M, "
                                     f"identity(ndim, K), laplacian(ndim, spacing)")
        if not callable(loss):
            raise ParameterError("loss", f"expected a callable H(phi, pi) returning a scalar (or a PerTypeLoss), got "
                                 f"{type(loss).__name__}")
        if W.ndim != lattice.ndim or B.ndim != lattice.ndim:
            raise ParameterError(
                "W, B", f"expected operators on a {lattice.ndim}-dimensional lattice, got ndim {W.ndim}/{B.ndim}"
            )
        if W.K != B.K:
            raise ParameterError("B", f"expected K = {W.K} neuron types like W, got K = {B.K}")
        if ground is not None:
            if np.ndim(ground) > 1 or np.size(ground) not in (1, W.K):
                raise ParameterError("ground", f"expected one number per component ({W.K}) or one for all, got an "
                                     f"array of shape {np.shape(ground)}")
            ground = _broadcast(ground, W.K)
        check_number("dt", dt, positive=True)
        if tick is not None:
            check_number("tick", tick, positive=True)
        dt, tick = weak_scalar(dt), weak_scalar(tick)  # a NumPy float64 step would promote a float32 state
        loss = as_pytree_callable(loss)
        if per_type and not isinstance(loss, PerTypeLoss):
            loss = PerTypeLossFn(loss)
        return cls(
            W=W,
            B=B,
            loss=loss,
            dt=dt,
            tick=dt if tick is None else tick,
            lattice=lattice,
            scheme=get_scheme(scheme),
            name=name,
            declared_order=order,
            ground=ground,
        )

    # -- basic properties ------------------------------------------------------------------------------
    @property
    def K(self) -> int:
        """Number of neuron types per site."""
        return self.W.K

    @property
    def order(self) -> int:
        """Declared order of accuracy of the scheme (see :mod:`nnfield.schemes`): the scheme's, but at most 1 when
        ``W != I`` (the activation sub-step is then explicit Euler and the splitting first order in general:
        measured 1.0 for a leapfrog and a yoshida4 neuron network (2.16) with ``W != I``,
        ``tests/test_schemes.py``) or when the learning gradient depends on ``pi`` (a loss ``H(phi, pi)`` that is not
        ``T(pi) + V(phi)`` in the learning direction: the kick sub-step is then explicit Euler too;
        :func:`_learning_depends_on_pi`, ``tests/test_network.py``)."""
        if self.declared_order is not None:
            return self.declared_order
        if self.scheme.order > 1 and (not _is_identity(self.W) or _learning_depends_on_pi(self)):
            return 1
        return self.scheme.order

    @property
    def per_type(self) -> bool:
        """Whether the loss is a :class:`PerTypeLoss` (eq. 4.14)."""
        return isinstance(self.loss, PerTypeLoss)

    @property
    def W_minus_I(self) -> LatticeOperator:
        return self.W - identity(self.W.ndim, self.W.K)

    def perturbation_step(self, delta: State) -> State:
        """One tick of a perturbation ``delta`` about :attr:`ground` (``phi = ground``, ``pi = 0``): the map the linear
        analysis linearizes at zero. Without a ground state, :meth:`step`."""
        if self.ground is None:
            return self.step(delta)
        g = jnp.asarray(self.ground, delta.phi.dtype).reshape((self.K,) + (1,) * (delta.phi.ndim - 1))
        out = self.step(State(delta.phi + g, delta.pi))
        return State(out.phi - g, out.pi)

    def with_scheme(self, scheme: str | Scheme) -> "Network":
        return eqx.tree_at(lambda n: n.scheme, self, get_scheme(scheme))

    def with_dt(self, dt: Any, tick: Any = None) -> "Network":
        return eqx.tree_at(lambda n: (n.dt, n.tick), self, (dt, dt if tick is None else tick))

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

        With a :class:`PerTypeLoss` the component ``a`` is ``dH_a / dpi^a`` (eq. 4.14): type ``a``
        differentiates only its own loss with respect to only its own trainable variables. A
        :class:`SplitPerTypeLoss` gets all K components from one reverse pass; any other per-type loss from
        one pass per type (``learning_gradient_generic``, the reference).

        Evaluation: ``jax.vjp`` of the loss at the activation output ``phi + B (pi - pi) = phi`` gives
        ``(dH/dphi, dH/dpi|explicit)``; ``jax.vjp`` of the activation map ``p -> phi + B (p - pi)`` pulls
        ``dH/dphi`` back to ``pi`` (``B^T``). This is the chain rule ``jax.grad`` applies to the composition,
        without materializing ``phi + B 0`` (equal to ``phi`` for finite states and coefficients), and is
        evaluated with :func:`~nnfield.operators.share_shifts` (identical shifted reads computed once).
        """
        return _SHARED_GRADIENT(self, phi, pi)

    def learning_gradient_generic(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """:meth:`learning_gradient` without using a :class:`SplitPerTypeLoss`'s declared structure (one VJP
        per type, diagonal kept): the reference the structured pass is tested against."""
        return _SHARED_GENERIC_GRADIENT(self, phi, pi)

    def learn(self, phi_eval: jax.Array, pi: jax.Array, dt: Any) -> jax.Array:
        """Gradient descent ``pi - dt dH/dpi(phi_eval, pi)`` (eq. 2.2, 2.11)."""
        return pi - dt * self.learning_gradient(phi_eval, pi)

    # -- time stepping ---------------------------------------------------------------------------------
    def step(self, state: State) -> State:
        """One tick of the network with its scheme: the activation ``phi <- phi + dt ((W - I) phi + B pi)``
        (eq. 2.11) and the learning ``pi <- pi - dt dH/dpi`` by autodiff (eqs. 2.3, 2.12), ordered by
        :mod:`nnfield.schemes` (global order :attr:`order`: 1 to 4)."""
        return self.scheme.step(self, state, self.dt)

    @property
    def loop_unroll(self) -> int:
        return self.scheme.unroll

    @property
    def loop_ping_pong(self) -> bool:
        return self.scheme.ping_pong

    def advance(self, state: State, n: int) -> State:
        """``n`` ticks (``n`` static), fused by the scheme where it can (leapfrog merges half kicks)."""
        if n == 0:
            return state
        return self.scheme.advance(self, state, n, self.dt)

    def advance_synced(self, state: State, n: int, sync: Callable[[Any], Any]) -> State:
        """:meth:`advance` with the scheme's ``sync`` hook (:meth:`AbstractNetwork.advance_synced`)."""
        if n == 0:
            return state
        return self.scheme.advance(self, state, n, self.dt, sync)


class LinearNetwork(AbstractNetwork):
    """The general linear network (2.17), (3.7), (4.2) given directly by its four operators.

    ``phi <- phi + dt ((W - I) phi + B pi)``, ``pi <- pi + dt (A phi + (V - I) pi)``: no loss, for comparing
    the paper's printed tensors (e.g. (3.8)) with loss-generated networks. Schemes: ``simultaneous`` (both
    from time-t values, as printed) and ``alternating`` (the ``pi`` update uses the new ``phi``). Order 1.
    """

    W: LatticeOperator
    B: LatticeOperator
    A: LatticeOperator
    V: LatticeOperator
    dt: Any
    tick: Any
    lattice: Lattice = eqx.field(static=True)
    scheme: Scheme = eqx.field(static=True)
    name: str = eqx.field(static=True, default="linear network")

    @classmethod
    def create(
        cls, lattice: Lattice, W: LatticeOperator, B: LatticeOperator, A: LatticeOperator, V: LatticeOperator,
        dt: float = 1.0, scheme: str | Scheme = "simultaneous", tick: float | None = None, name: str = "linear",
    ) -> "LinearNetwork":
        """Validate and build the linear network of (2.17)-(2.18) with the matrices ``W, B`` (activation) and
        ``A, V`` (learning) as lattice operators; ``scheme`` ``"simultaneous"`` (the paper) or ``"alternating"``."""
        check_lattice(lattice)
        for label, op in (("W", W), ("B", B), ("A", A), ("V", V)):
            if not isinstance(op, LatticeOperator):
                raise ParameterError(label, f"expected a LatticeOperator (nnfield.operators), got {type(op).__name__}")
            if op.ndim != lattice.ndim or op.K != W.K:
                raise ParameterError(label, f"expected an operator with K = {W.K} on a {lattice.ndim}-dimensional "
                                     f"lattice, got K = {op.K}, ndim {op.ndim}")
        check_number("dt", dt, positive=True)
        if tick is not None:
            check_number("tick", tick, positive=True)
        dt, tick = weak_scalar(dt), weak_scalar(tick)
        sch = get_scheme(scheme)
        if sch.name not in ("simultaneous", "alternating"):
            raise ParameterError(
                "scheme", f"a linear network runs 'simultaneous' or 'alternating', got {sch.name!r}; use one of them"
            )
        return cls(W=W, B=B, A=A, V=V, dt=dt, tick=dt if tick is None else tick, lattice=lattice, scheme=sch, name=name)

    @property
    def K(self) -> int:
        return self.W.K

    @property
    def order(self) -> int:
        return self.scheme.order

    @property
    def loop_unroll(self) -> int:
        return self.scheme.unroll

    @property
    def loop_ping_pong(self) -> bool:
        return self.scheme.ping_pong

    def step(self, state: State) -> State:
        """``phi' = phi + dt ((W - I) phi + B pi)``, ``pi' = pi + dt (A phi_e + (V - I) pi)`` (eqs. 2.17-2.18 at
        ``dt = 1``), ``phi_e = phi`` (simultaneous) or ``phi'`` (alternating). Global order 1."""
        dt, K, nd = self.dt, self.W.K, self.W.ndim
        eye = identity(nd, K)
        phi = state.phi + dt * ((self.W - eye).apply(state.phi) + self.B.apply(state.pi))
        phi_eval = phi if self.scheme.name == "alternating" else state.phi
        pi = state.pi + dt * (self.A.apply(phi_eval) + (self.V - eye).apply(state.pi))
        return State(phi, pi)


def _learning_gradient(net: Network, phi: jax.Array, pi: jax.Array) -> jax.Array:
    """See :meth:`Network.learning_gradient` (one reverse pass for a :class:`SplitPerTypeLoss`)."""
    if isinstance(net.loss, SplitPerTypeLoss):
        return _split_learning_gradient(net, phi, pi)
    return _generic_learning_gradient(net, phi, pi)


def _split_learning_gradient(net: Network, phi: jax.Array, pi: jax.Array) -> jax.Array:
    """``dH_a/dpi^a`` of a :class:`SplitPerTypeLoss` by one ``jax.grad`` (see its docstring for the identity)."""
    loss = net.loss

    def total(phi_s: jax.Array, phi_o: jax.Array, p: jax.Array) -> jax.Array:
        return loss.shared(phi_s, p) + jnp.sum(loss.own(phi_o, p, pi))  # ``pi`` in the frozen slot: a constant

    g_s, g_o, g_p = jax.grad(total, argnums=(0, 1, 2))(phi, phi, pi)
    _, pull = jax.vjp(lambda p: phi + net.B.apply(p - pi), pi)  # the activation map's VJP: B^T
    g = g_p + pull(g_s)[0]
    Bd = net.B.type_diagonal()
    if Bd.shifts:  # pi^a reaches phi^a through the diagonal blocks B_aa only
        _, pull_d = jax.vjp(Bd.apply, pi)
        g = g + pull_d(g_o)[0]
    return g


def _generic_learning_gradient(net: Network, phi: jax.Array, pi: jax.Array) -> jax.Array:
    """Scalar loss: one ``jax.grad``. :class:`PerTypeLoss`: one VJP per type (``vmap`` over ``eye(K)``),
    diagonal kept; the reference for :func:`_split_learning_gradient`."""
    _, pull = jax.vjp(lambda p: phi + net.B.apply(p - pi), pi)  # the activation map's VJP: B^T
    if not isinstance(net.loss, PerTypeLoss):
        g_phi, g_pi = jax.grad(net.loss, argnums=(0, 1))(phi, pi)
        return g_pi + pull(g_phi)[0]
    losses, vjp = jax.vjp(net.loss, phi, pi)

    def grad_of(e: jax.Array) -> jax.Array:
        g_phi, g_pi = vjp(e)
        return g_pi + pull(g_phi)[0]

    grads = jax.vmap(grad_of)(jnp.eye(net.K, dtype=losses.dtype))  # grads[a] = d H_a / d pi (all types)
    return jnp.stack([grads[a, a] for a in range(net.K)])


#: the learning gradients as the network evaluates them: identical shifted reads shared, and traced once per
#: network structure inside a run's traces (:func:`nnfield._trace.trace_once`: a run used to trace the same
#: gradient up to seven times)
_SHARED_GRADIENT = trace_once(share_shifts(_learning_gradient))
_SHARED_GENERIC_GRADIENT = trace_once(share_shifts(_generic_learning_gradient))


# ----------------------------------------------------------------------------------------------------------
# runs
# ----------------------------------------------------------------------------------------------------------
def _run_impl(net: AbstractNetwork, state: Any, steps: int, every: int, observer: Any) -> tuple[Any, Any]:
    if observer is None:  # nothing to record: one fused block of ticks
        return net.advance(state, steps), None

    # the carry between observations stored as the ticks' loops store it (no relayout per observation)
    state = net.loop_layout(state)

    def outer(s: Any, _: Any) -> tuple[Any, Any]:
        s = net.loop_layout(net.advance(s, every))
        return s, observer(s)

    nout, rest = divmod(steps, every)
    state, obs = jax.lax.scan(outer, state, None, length=nout)
    return net.advance(state, rest), obs


_run_jit = jit(_run_impl, static_argnames=("steps", "every"))


def _run_snapshots_impl(
    net: AbstractNetwork, state: Any, intervals: int, snapshot_every: int, every: int, observer: Any
) -> tuple[Any, Any, Any]:
    def interval(s: Any, _: Any) -> tuple[Any, Any]:
        s, obs = _run_impl(net, s, snapshot_every, every, observer)
        return s, (obs, s)

    state, (obs, snaps) = jax.lax.scan(interval, state, None, length=intervals)
    if obs is not None:  # (intervals, samples per interval, ...) -> one sample axis
        obs = jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[2:]), obs)
    return state, obs, snaps


_run_snapshots_jit = jit(_run_snapshots_impl, static_argnames=("intervals", "snapshot_every", "every"))


def run_snapshots(
    net: AbstractNetwork, state: Any, intervals: int, snapshot_every: int, every: int = 1, observer: Any = None
) -> tuple[Any, Any, Any]:
    """:func:`run` of ``intervals * snapshot_every`` ticks that also returns the state after each
    ``snapshot_every`` ticks (stacked along a leading axis), in one compiled program.

    What a run of a small lattice uses to cover several snapshot intervals per chunk (``nnfield.runner``): each
    interval is the program of ``run(net, s, snapshot_every, every, observer)`` inside an outer ``lax.scan``.
    Returns ``(final_state, observables, snapshots)``; ``observables`` has ``intervals * (snapshot_every //
    every)`` samples (``None`` without an observer). ``snapshot_every`` must be a multiple of ``every``.
    """
    check_state(net, state)
    if intervals < 1 or every < 1 or snapshot_every < every or snapshot_every % every:
        raise ParameterError("intervals, snapshot_every, every", f"need intervals >= 1 and snapshot_every a multiple "
                             f"of every >= 1, got {intervals}, {snapshot_every}, {every}")
    return _run_snapshots_jit(net, state, int(intervals), int(snapshot_every), int(every),
                              as_pytree_callable(observer))


def run(net: AbstractNetwork, state: Any, steps: int, every: int = 1, observer: Any = None) -> tuple[Any, Any]:
    """Advance ``steps`` ticks of ``net`` in one jitted ``lax.scan``; observables every ``every`` ticks.

    Args:
        net: an :class:`AbstractNetwork`.
        state: the initial state.
        steps: number of ticks (static).
        every: observe after every ``every`` ticks (static); ``steps // every`` samples are returned.
        observer: ``state -> dict`` of scalars (a PyTree callable or plain function), evaluated inside the scan.

    Returns:
        ``(final_state, observables)`` where ``observables`` stacks the observer's outputs (``None`` if none).

    A pure function of the network (a PyTree) and the state, so JAX's transformations go through a whole run:
    ``jax.vmap`` over networks built from a batch of parameters (one compiled program), ``jax.grad`` of a
    quantity measured after the run with respect to a parameter or the initial state (the gradient of the final
    energy with respect to the mass matches finite differences to ~3e-11). Tutorials: ``docs/tutorials/``.
    """
    _check_count("steps", steps, 0)
    _check_count("every", every, 1)
    check_state(net, state)
    check_observer(observer)
    return _run_jit(net, state, int(steps), int(every), as_pytree_callable(observer))


_DEPENDS_ON_PI: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


def _learning_depends_on_pi(net: "Network") -> bool:
    """Whether ``net``'s learning gradient ``dH/dpi(phi, pi)`` changes with ``pi`` (then a splitting scheme's kick is
    not the exact flow of its sub-step and the scheme is first order).

    Decided by forward-mode autodiff at a random point of the network's own lattice: the JVP of
    ``pi -> learning_gradient(phi, pi)`` along a random tangent is exactly zero (symbolic zeros, every term of the
    tangent cancels to the bit) when the gradient does not depend on ``pi``, and nonzero otherwise except on a set
    of measure zero. Cached per network (by identity). Traced parameters (under ``jit``, ``vmap``, ``grad``) are
    replaced by random concrete values first (:func:`_with_concrete_leaves`), so the answer inside JAX's
    transformations is the one outside.
    """
    try:
        return _DEPENDS_ON_PI[net]
    except KeyError:
        pass
    rng = np.random.default_rng(0)
    shape = (net.K, *net.lattice.shape)
    dtype = jnp.result_type(float)
    concrete = _with_concrete_leaves(net)
    with jax.ensure_compile_time_eval():  # evaluated now, also while an outer jit traces
        phi, pi, tangent = (jnp.asarray(rng.normal(size=shape), dtype) for _ in range(3))
        _, d = jax.jvp(lambda p: concrete.learning_gradient(phi, p), (pi,), (tangent,))
    depends = bool(np.any(np.asarray(d) != 0))
    _DEPENDS_ON_PI[net] = depends
    return depends


def check_observer(observer: Any) -> None:
    """``observer`` ``None`` or a callable ``state -> dict`` (checked before tracing: a number or a string given
    as the observer failed inside ``lax.scan`` as "'DynamicJaxprTracer' object is not callable")."""
    if observer is not None and not callable(observer):
        raise ParameterError("observer", f"expected a callable state -> dict of scalars (e.g. model.observables) or "
                             f"None, got {type(observer).__name__}")


def _with_concrete_leaves(net: Any) -> Any:
    """``net`` with each traced leaf (a parameter under ``jit``, ``vmap`` or ``grad``) replaced by a concrete array of
    its shape and dtype, drawn at random from [0.5, 1.5]: what :func:`_learning_depends_on_pi` and
    :func:`_is_identity` decide is structural, so it holds for the traced values too, except on a set of
    measure zero."""
    rng = np.random.default_rng(1)

    def concrete(x: Any) -> Any:
        if isinstance(x, jax.core.Tracer):
            return jnp.asarray(rng.uniform(0.5, 1.5, size=x.shape), x.dtype)
        return x

    return jax.tree_util.tree_map(concrete, net)


def _is_identity(op: LatticeOperator) -> bool:
    """Whether ``op`` is the identity: ``op - I`` has only zero coefficients. A traced coefficient (e.g. under
    ``vmap`` over masses) is replaced by a random concrete value (:func:`_with_concrete_leaves`), so the answer
    is the same inside and outside JAX's transformations."""
    with jax.ensure_compile_time_eval():
        rest = _with_concrete_leaves(op) - identity(op.ndim, op.K)
    return all(not np.any(np.asarray(c)) for c in rest.coeffs)


def _check_count(name: str, value: Any, least: int) -> None:
    """``value`` a whole number (an ``int``, or an integral NumPy/float scalar) of at least ``least``."""
    if isinstance(value, jax.core.Tracer):
        raise ParameterError(name, f"expected a Python int, got a traced value ({value}): it sets the length of the "
                             f"compiled loop, so it must be static; inside jax.jit pass it with static_argnums "
                             f"(or static_argnames)")
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer, float, np.floating)) and \
        float(value).is_integer() and value >= least
    if not ok:
        raise ParameterError(name, f"expected a whole number >= {least}, got {value!r}")


def check_state(net: AbstractNetwork, state: Any) -> None:
    """Refuse a state that ``net`` cannot run, with one :class:`~nnfield.errors.ParameterError` naming the fix.

    Every field must be an array ``(components, *net.lattice.shape)`` (a state of another lattice would run, on
    a periodic box of another size); a :class:`State` (required by :class:`Network`) must have ``phi`` and ``pi``
    of one shape and one dtype with ``net.K`` components, floating point (real for gradient learning). Checks
    shapes and dtypes only, so it passes under ``jit``, ``vmap`` and ``grad``.
    """
    from .state import field_items

    if isinstance(net, (Network, LinearNetwork)) and not isinstance(state, State):
        raise ParameterError("state", f"expected a State(phi, pi) for a {type(net).__name__}, got "
                             f"{type(state).__name__}; e.g. State(phi, pi) or model.encode(phi, pi)")
    want = ", ".join(str(n) for n in net.lattice.shape)
    for name, leaf in field_items(state).items():
        shape = getattr(leaf, "shape", None)
        if shape is None or tuple(shape[1:]) != net.lattice.shape or len(shape) != net.lattice.ndim + 1:
            got = f"shape {tuple(shape)}" if shape is not None else f"type {type(leaf).__name__}"
            raise ParameterError("state", f"field {name} has {got}; the network's lattice needs (components, {want})"
                                 f" (the lattice's {net.lattice.shape}: a state of another lattice is refused, "
                                 f"not run on a periodic box of another size)")
    if not isinstance(state, State):
        return
    phi, pi = state.phi, state.pi
    if phi.dtype != pi.dtype:
        raise ParameterError("state", f"phi is {phi.dtype} and pi {pi.dtype}; give both one dtype, e.g. "
                             f"state.astype(jnp.float64) (State.astype)")
    if not jnp.issubdtype(phi.dtype, jnp.inexact):
        raise ParameterError("state", f"expected floating-point fields, got {phi.dtype}; e.g. "
                             f"state.astype(jnp.float64) (State.astype)")
    if isinstance(net, Network) and not jnp.issubdtype(phi.dtype, jnp.floating):
        raise ParameterError("state", f"expected real fields (learning is jax.grad of a real loss), got {phi.dtype}; "
                             f"a complex field is packed into real (phi, pi), e.g. by the model's encode")
    if phi.shape[0] != net.K or pi.shape[0] != net.K:
        raise ParameterError("state", f"expected K = {net.K} components (neuron types) per site in phi and pi, got "
                             f"{phi.shape[0]} and {pi.shape[0]}")


def trajectory(net: AbstractNetwork, state: Any, steps: int) -> Any:
    """The states after each of ``steps`` ticks, stacked along a leading axis (for tests and analysis)."""
    _check_count("steps", steps, 0)
    check_state(net, state)
    return _trajectory(net, state, int(steps))


@jit(static_argnames=("steps",))
def _trajectory(net: AbstractNetwork, state: Any, steps: int) -> Any:
    def body(s: Any, _: Any) -> tuple[Any, Any]:
        s = net.step(s)
        return s, s

    return jax.lax.scan(body, state, None, length=steps)[1]


@jit
def jit_step(net: AbstractNetwork, state: Any) -> Any:
    """One tick, jitted (compiled once per network structure; ``dt`` and coefficients are traced)."""
    return net.step(state)
