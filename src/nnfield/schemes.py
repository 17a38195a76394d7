"""Orderings of the activation and learning updates within one tick of a network.

Let ``A(h): phi <- phi + h ((W - I) phi + B pi)`` be the activation update (eq. 2.11, 4.6) and
``L(h, phi_eval): pi <- pi - h dH/dpi(phi_eval, pi)`` the learning update, with ``dH/dpi`` computed by
autodiff through the activation map (single-step backprop, ``d phi / d pi = B``, eq. 2.3, 3.12).

==================  =====================================================  =================================
scheme              one tick                                               order (Hamiltonian networks)
==================  =====================================================  =================================
``simultaneous``    phi', pi' both from time-t values (the paper exactly)  1 (explicit Euler; energy grows)
``alternating``     A(dt), then L(dt) evaluated at the new phi             1 (symplectic Euler)
``leapfrog``        L(dt/2), A(dt), L(dt/2)                                2 (Stormer-Verlet)
``yoshida4``        three leapfrog ticks with Yoshida's weights             4 (symmetric composition)
==================  =====================================================  =================================

The declared orders hold for separable networks (``W = I`` and a learning gradient independent of ``pi``,
e.g. the Klein-Gordon network (3.8)/(3.11) or one neuron (2.9)); when ``W != I`` or the loss depends on
``pi`` the sub-steps are explicit Euler and the splitting is first order in general (``Network.order`` then
declares 1: ``W != I`` from the coefficients, a learning gradient depending on ``pi`` by forward-mode autodiff).
Reference: E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration* (2006), II.3 and II.4,
doi:10.1007/3-540-30666-8; H. Yoshida, Phys. Lett. A 150, 262 (1990), doi:10.1016/0375-9601(90)90092-3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ._layout import SiteMajor
from .errors import ParameterError
from .state import State

if TYPE_CHECKING:  # pragma: no cover
    from .network import Network


def tick_loop(step: Callable[[Any], Any], state: Any, n: int, unroll: int = 2, ping_pong: bool = False,
              layout: SiteMajor | None = None) -> Any:
    """``n`` applications of ``step`` (``n`` static) as one compiled loop, ``unroll`` ticks per iteration.

    A tick reads shifted neighbours, so it cannot update its input in place, and XLA's while loop keeps each
    carried value in one buffer: with one tick per iteration it copies the state after every tick. With two
    (``unroll=2``) the second tick writes into the loop's buffers while the first tick's output is a temporary.

    ``ping_pong=True`` carries the first tick's output as a second state (a ping-pong pair of buffers, as a
    hand-written loop swaps two arrays). For the simultaneous scheme, where both updates of a tick read both old
    fields, XLA:CPU otherwise fused part of the first tick into the second one's loops, kept the old state alive
    across the iteration and copied it (3+1 paper Dirac network, 64^3: 4 loops and 2 copies per tick against 2
    loops with the pair, 1.3-1.4x faster; ``docs/performance.md``). XLA drops a loop carry that nothing reads
    after the loop, so the pair's second state is kept alive by a select after the loop whose condition,
    ``iterations < 0``, is never true: the result is the first state, bit for bit. For ``n = 2`` or ``3`` the pair
    loop would have one iteration, which XLA removes (the ticks then fused into each other: 2.8-4.9x slower per
    tick at ``n = 3``, ``benchmarks/tick_loop_every.py``); those are a loop of one tick per iteration instead. Equal
    to ``n`` calls of ``step`` in every case (the loop changes the buffers, not the map).

    ``layout`` (a :class:`~nnfield._layout.SiteMajor`, the identity on values), if given, is applied to the loop's
    initial state and to every tick's output: where XLA stores the carried fields (``AbstractNetwork.loop_layout``,
    site-major multi-component fields on one CPU device). Where it applies (``layout.applies(state)``)
    the layout constraints also keep XLA from fusing one tick into the next, so the loop needs no ping-pong pair:
    the plain loop is then used, as fast at 64^3 and 1.2x faster at 128^3 for the 3+1 paper Dirac network
    (``docs/performance.md``).
    """
    if n == 0:
        return state
    if n == 1:
        return step(state)
    lay = layout or (lambda s: s)
    if ping_pong and layout is not None and layout.applies(state):
        ping_pong = False
    state = lay(state)
    if not ping_pong:
        return jax.lax.fori_loop(0, n, lambda _, s: lay(step(s)), state, unroll=unroll)
    half, odd = divmod(n, 2)
    if half == 1:
        # A pair loop of one iteration is no loop: XLA removes it, and the two or three ticks then fused into each
        # other as the pair exists to prevent (simultaneous scheme, 64^3, 3 ticks: 5-13x slower per tick and
        # 2-4.5x the temporaries of 4 ticks; ``docs/performance.md``). A loop of one tick per iteration stays one.
        return jax.lax.fori_loop(0, n, lambda _, s: lay(step(s)), state, unroll=1)

    def body(_: Any, carry: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
        i, a, _b = carry
        b = lay(step(a))
        return i + 1, lay(step(b)), b

    # (a fori_loop with static bounds is a scan: reverse-mode differentiable, unlike a while_loop)
    i, a, b = jax.lax.fori_loop(0, half, body, (np.int32(0), state, state))
    never = i < 0  # i counts the iterations: never negative; XLA does not fold it, so ``b`` stays a loop output
    a = jax.tree_util.tree_map(lambda x, y: jnp.where(never, y, x), a, b)
    return step(a) if odd else a


@dataclasses.dataclass(frozen=True)
class Scheme:
    """Abstract scheme: ``step(network, state, dt) -> state`` with a declared ``order``."""

    name: str = "abstract"
    order: int = 0
    #: ticks per iteration of :meth:`advance`'s loop (see there); not a dataclass field (a class constant)
    unroll: ClassVar[int] = 2
    #: whether the loop carries both ticks' states (:func:`tick_loop`); a class constant
    ping_pong: ClassVar[bool] = False

    def step(self, net: Network, state: State, dt: Any) -> State:  # pragma: no cover - abstract
        raise NotImplementedError

    def advance(self, net: Network, state: State, n: int, dt: Any, sync: Callable[[Any], Any] | None = None
                ) -> State:
        """``n`` ticks (``n`` static); equal to ``n`` calls of :meth:`step` (schemes may fuse them).

        :attr:`unroll` ticks per loop iteration (two), where the second writes the state into the loop's own
        buffers, so XLA does not copy the state after every tick (a tick reads shifted neighbours and cannot
        update in place); :class:`Simultaneous` carries both ticks' states (:attr:`ping_pong`,
        :func:`tick_loop`).

        ``sync`` (``state -> state``), if given, is applied to the state before every tick, or before every part
        of a fused tick that reads shifted neighbours of what the previous part wrote (no part spans more than
        one tick). The explicit halo exchange of a sharded run (:mod:`nnfield.halo`) refreshes its ghost rows
        there.
        """
        layout = net.loop_layout
        if sync is not None:
            return tick_loop(lambda s: self.step(net, sync(s), dt), state, n, self.unroll, self.ping_pong, layout)
        return tick_loop(lambda s: self.step(net, s, dt), state, n, self.unroll, self.ping_pong, layout)


@dataclasses.dataclass(frozen=True)
class Simultaneous(Scheme):
    """The paper's update (2.1)-(2.2), (3.7), (4.2): both updates use time-t values. Order 1, not symplectic.

    :meth:`advance` runs two ticks per loop iteration and carries both ticks' states (``ping_pong``,
    :func:`tick_loop`): with a temporary first tick XLA:CPU fused part of it into the second tick's loops (both
    updates read both old fields) and materialized the rest, 3-7x slower; with one tick per iteration it copied
    the state after every tick (``benchmarks/dirac_step.py`` and ``gauge_step.py``, ``:paper`` cases;
    ``docs/performance.md``). Where the network's site-major loop layout applies (one CPU device, several
    components on a 2D or 3D lattice) its constraints keep the ticks apart and the plain loop is run instead.
    """

    name: str = "simultaneous"
    order: int = 1
    ping_pong: ClassVar[bool] = True

    def step(self, net: Network, state: State, dt: Any) -> State:
        """``phi' = A(dt) phi``, ``pi' = L(dt, phi) pi``, both from time-t values (eqs. 2.1-2.2, 3.7, 4.2).
        Explicit Euler: local error ``O(dt^2)``, global order 1."""
        phi, pi = state.phi, state.pi
        return State(net.activate(phi, pi, dt), net.learn(phi, pi, dt))


@dataclasses.dataclass(frozen=True)
class Alternating(Scheme):
    """Activation first, then learning evaluated on the activation output (symplectic Euler). Order 1."""

    name: str = "alternating"
    order: int = 1

    def step(self, net: Network, state: State, dt: Any) -> State:
        """``phi' = A(dt) phi`` (eq. 2.11), then ``pi' = L(dt, phi') pi`` (eq. 2.12 at the new ``phi``).
        Symplectic Euler: global order 1."""
        phi = net.activate(state.phi, state.pi, dt)
        return State(phi, net.learn(phi, state.pi, dt))


@dataclasses.dataclass(frozen=True)
class Leapfrog(Scheme):
    """Half learning steps around a full activation step (Stormer-Verlet, kick-drift-kick). Order 2."""

    name: str = "leapfrog"
    order: int = 2

    def step(self, net: Network, state: State, dt: Any) -> State:
        """``L(dt/2) A(dt) L(dt/2)`` (kick-drift-kick; for the Klein-Gordon network (3.8) the leapfrog (3.19)).
        Stormer-Verlet: symmetric, global order 2 for separable networks."""
        pi = net.learn(state.phi, state.pi, dt / 2)
        phi = net.activate(state.phi, pi, dt)
        return State(phi, net.learn(phi, pi, dt / 2))

    def advance(self, net: Network, state: State, n: int, dt: Any, sync: Callable[[Any], Any] | None = None
                ) -> State:
        """``n`` ticks with the closing and opening half kicks of consecutive ticks merged into one full kick.

        ``L(dt/2) [A(dt) L(dt)]^(n-1) A(dt) L(dt/2)``: the same map as ``n`` ticks (identical up to rounding;
        the learning gradient is the same autodiff gradient), one learning sweep fewer per tick. ``sync`` (see
        :meth:`Scheme.advance`) comes before every kick-drift pair and before the closing half kick.
        """
        if n == 1 and sync is None:
            return self.step(net, state, dt)
        sync = sync or (lambda s: s)

        def kick_drift(h: Any, s: State) -> State:
            s = sync(s)
            pi = net.learn(s.phi, s.pi, h)
            return State(net.activate(s.phi, pi, dt), pi)

        # [L(dt/2) A] [L(dt) A]^(n-1) L(dt/2); kick-then-drift bodies compile to tighter loops on CPU
        lay = getattr(net, "loop_layout", None) or (lambda st: st)  # where XLA stores the carry (tick_loop)
        s = lay(kick_drift(dt / 2, state))
        if n > 1:
            s = jax.lax.fori_loop(0, n - 1, lambda _, st: lay(kick_drift(dt, st)), s)
        s = sync(s)
        return State(s.phi, net.learn(s.phi, s.pi, dt / 2))


@dataclasses.dataclass(frozen=True)
class Yoshida4(Scheme):
    """Yoshida's symmetric composition of three leapfrog ticks. Order 4 for separable networks."""

    name: str = "yoshida4"
    order: int = 4

    def step(self, net: Network, state: State, dt: Any) -> State:
        """Leapfrog ticks of ``w1 dt, w0 dt, w1 dt`` with ``w1 = 1/(2 - 2^(1/3))``, ``w0 = 1 - 2 w1`` (Yoshida
        1990). Global order 4 for separable networks."""
        w1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
        w0 = 1.0 - 2.0 * w1
        lf = Leapfrog()
        for w in (w1, w0, w1):
            state = lf.step(net, state, w * dt)
        return state


SCHEMES: dict[str, Scheme] = {s.name: s for s in (Simultaneous(), Alternating(), Leapfrog(), Yoshida4())}


def get_scheme(scheme: str | Scheme) -> Scheme:
    """Look a scheme up by name (``simultaneous``, ``alternating``, ``leapfrog``, ``yoshida4``)."""
    if isinstance(scheme, Scheme):
        return scheme
    try:
        return SCHEMES[scheme]
    except KeyError:
        raise ParameterError("scheme", f"expected one of {sorted(SCHEMES)}, got {scheme!r}; e.g. 'leapfrog'") from None
