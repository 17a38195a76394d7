r"""The Maxwell-Dirac network: the stable Dirac network of Sec. 4/5 whose links learn with momentum.

State (named fields, as the u1 core): ``links`` ``theta = a q A`` and ``matter.phi`` at integer times ``t``,
``electric`` ``E`` and ``matter.pi`` at half-integer times ``t + 1/2`` (the stable Dirac network is a staggered
leapfrog of ``phi`` and ``pi``; the links and ``E`` are staggered the same way). One tick, step ``h``::

    theta(t+1)   = theta(t) + h q a E(t+1/2)                     weights move with their velocity buffer
    phi(t+1)     = R phi(t) + h B(theta(t+1/2)) pi(t+1/2)        activation, theta(t+1/2) = theta(t) + h q a E / 2
    pi(t+3/2)    = pi(t+1/2) - h dH_a/dpi^a                      learning: jax.grad of the per-type loss through
                 = R^T pi(t+1/2) - h B(theta(t+1))^T phi(t+1)    the activation at the links theta(t+1)
    E(t+3/2)     = E(t+1/2) - h q a d(L_W + L_D)/dtheta          learning of the links with momentum: jax.grad of
                                                                 the Wilson loss and the Dirac energy L_D(theta;
                                                                 phi(t+1), T (pi(t+1/2) + pi(t+3/2)))

(:mod:`.matter`). With the links held fixed (``E = 0``, no Wilson force) the matter update is exactly
:func:`nnfield.theories.dirac.stable_network` with the gauged bias map, and the discrete continuity equation
``rho(t+3/2) - rho(t+1/2) = -h div j`` holds to round-off with the current ``j`` that the ``E`` update
receives (a discrete Noether identity: ``docs/maxwell_dirac.md``). With moving links the network's conserved
charge (the stable invariant, which depends on ``B(theta)``) is evaluated at different links before and after a
tick; the Gauss law is then kept to ``O(h^3)`` per tick, not to round-off (measured and explained there).
Order 1 in ``h`` (the data are read as if ``pi`` and ``E`` were at ``t``, as for the stable Dirac network).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax

from ..._checks import weak_scalar
from ...errors import ParameterError
from ...lattice import Lattice
from ...state import State
from ..params import check_number
from ..u1 import ELECTRIC, LINKS, MATTER, GaugeNetwork, WilsonLoss
from ..u1.network import check_charge
from .matter import DiracMatter


class MaxwellDiracNetwork(GaugeNetwork):
    """Dynamical U(1) links and the stable Dirac network (see the module docstring); ``matter`` is a
    :class:`~.matter.DiracMatter`."""

    matter: DiracMatter
    name: str = eqx.field(static=True, default="maxwell-dirac network")

    @classmethod
    def create(cls, lattice: Lattice, charge: float, dt: float, matter: Any = None,
               name: str = "maxwell-dirac network") -> MaxwellDiracNetwork:
        """The network on ``lattice`` with coupling ``charge`` (``q``;
        :func:`~nnfield.theories.u1.network.check_charge`), step ``dt`` (positive) and the Dirac sector ``matter``
        (a :class:`~.matter.DiracMatter` built with the same ``charge`` and ``dt``); ``name`` labels it."""
        check_number("dt", dt, positive=True)
        check_charge(charge)
        dt, charge = weak_scalar(dt), weak_scalar(charge)  # NumPy float64 scalars would promote a float32 state
        if not isinstance(matter, DiracMatter):
            raise ParameterError("matter", "the Maxwell-Dirac network needs a DiracMatter sector")
        return cls(wilson=WilsonLoss(charge, lattice.spacing, matter.minor), matter=matter, dt=dt, tick=dt,
                   lattice=lattice, name=name)

    @property
    def order(self) -> int:
        """1: the data are read as if ``pi`` and ``E`` were at ``t`` (as for the stable Dirac network)."""
        return 1

    def midpoint_links(self, state: dict[str, Any]) -> jax.Array:
        """``theta(t+1/2) = theta(t) + (h/2) q a E(t+1/2)``: the links the activation of this tick uses."""
        return state[LINKS] + (0.5 * self.dt * self.charge * self.lattice.spacing) * state[ELECTRIC]

    def link_gradient(self, theta: jax.Array, phi_new: jax.Array, w: jax.Array) -> jax.Array:
        """``d(L_W + L_D)/dtheta`` by ``jax.grad`` (the learning signal of the links)."""
        return jax.grad(lambda th: self.wilson(th) + self.matter.energy_loss(th, phi_new, w))(theta)

    def step(self, state: dict[str, Any]) -> dict[str, Any]:
        """One tick (the module docstring), order 1 in ``h`` (:attr:`order`): the links move with their velocity
        buffer ``E`` (beyond the paper), the activation is the first line of (4.11) with the stable network's
        orthogonal weight ``R`` and the gauged bias map (4.24)/(5.8) at the midpoint links, the learning of ``pi`` the
        second line of (4.11) by per-type losses (4.14, corrected), and ``E`` learns by gradient descent with
        momentum on the Wilson loss plus the Dirac energy ``L_D`` (beyond the paper).

        The links' factors ``(cos theta, sin theta)`` are computed once per link configuration (``theta(t+1/2)``,
        ``theta(t+1)``) and handed to every map that uses them; the links' gradient is still ``jax.grad``: of
        ``L_D`` in the factors, pulled back to ``theta`` by the ``jax.vjp`` of :meth:`~.matter.DiracMatter.factors`
        (the chain rule of ``jax.grad`` of ``L_D(theta)``, which :meth:`link_gradient` takes in one piece;
        ``tests/test_maxwell_dirac.py`` compares the two)."""
        h, qa = self.dt, self.charge * self.lattice.spacing
        theta, E, m = state[LINKS], state[ELECTRIC], state[MATTER]
        theta_new = theta + (h * qa) * E
        phi_new = self.matter.activate(self.matter.factors(self.midpoint_links(state)), m.phi, m.pi)
        cs_new, pull = jax.vjp(self.matter.factors, theta_new)
        pi_new = m.pi - h * self.matter.learning_gradient(cs_new, phi_new, m.pi)
        w = self.matter.T(m.pi + pi_new)
        g_cs = jax.grad(lambda cs: self.matter.energy_loss(cs, phi_new, w))(cs_new)
        E_new = E - (h * qa) * (jax.grad(self.wilson)(theta_new) + pull(g_cs)[0])
        out = dict(state)
        out[LINKS], out[ELECTRIC], out[MATTER] = theta_new, E_new, State(phi_new, pi_new)
        return out

    def advance(self, state: dict[str, Any], n: int) -> dict[str, Any]:
        """``n`` ticks of :meth:`step` (a loop; order 1 in ``h``)."""
        if n == 0:
            return state
        if n == 1:
            return self.step(state)
        lay = self.loop_layout  # the fields stored site-major inside the loop (AbstractNetwork.loop_layout)
        return jax.lax.fori_loop(0, n, lambda _, s: lay(self.step(s)), lay(state))

    def advance_synced(self, state: dict[str, Any], n: int, sync: Any) -> dict[str, Any]:
        """A loop of ``step(sync(s))`` (the tick is not a kick/drift splitting; :mod:`nnfield.halo`)."""
        if n == 0:
            return state
        if n == 1:
            return self.step(sync(state))
        lay = self.loop_layout
        return jax.lax.fori_loop(0, n, lambda _, s: lay(self.step(sync(s))), lay(state))

    def kick(self, state: dict[str, Any], h: Any) -> dict[str, Any]:  # pragma: no cover - not a split scheme
        """Not defined: the tick is not a kick/drift splitting (:meth:`step`)."""
        raise NotImplementedError("the Maxwell-Dirac tick is not a kick/drift splitting; use step")

    def drift(self, state: dict[str, Any], h: Any) -> dict[str, Any]:  # pragma: no cover
        """Not defined: the tick is not a kick/drift splitting (:meth:`step`)."""
        raise NotImplementedError("the Maxwell-Dirac tick is not a kick/drift splitting; use step")
