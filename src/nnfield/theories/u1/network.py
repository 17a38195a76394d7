r"""The gauge network: links that learn by gradient descent with momentum; the momentum buffer is ``E``.

State (a PyTree of named fields, ``nnfield.state.field_items``): ``links`` ``theta_mu(x) = a q A_mu(x)``
(``(D, *shape)``), ``electric`` ``E_mu(x)`` (``(D, *shape)``) and, with matter, ``matter`` = ``State(phi, pi)``
of a Sec. 3/4 network (:class:`~.loss.AbstractMatter`). One loss, gauge invariant, written once:

    L(theta, phi) = L_W(theta) + L_m(theta, phi)        (Wilson plaquettes + matter hopping and potential)

Learning (``jax.grad`` of ``L``, never a hand-written gradient; ``d phi / d pi = B`` through the activation):

    kick(h):   E  <- E  - h q a dL/dtheta        (momentum buffer: v = a q E is the links' velocity)
               pi <- pi - h dL/dpi               (the matter's biases, single-step backprop (3.12))
    drift(h):  theta <- theta + h a q E          (the optimizer applies its velocity to the weights)
               phi   <- phi + h B pi             (activation, W = I)

i.e. heavy-ball gradient descent ``v <- v - h (a q)^2 grad L``, ``theta <- theta + h v`` with momentum 1 (no
friction). A tick is kick(dt/2) drift(dt) kick(dt/2) (Stormer-Verlet, order 2 in dt); ``advance`` merges the
half kicks of consecutive ticks, which is the staggered leapfrog of CosmoLattice (links and ``phi`` at integer
times, ``E`` and ``pi`` at half-integer times). Gauss's law ``div E = rho`` is kept to round-off by both
sub-steps (the discrete Noether identity of the gauge-invariant ``L``; ``docs/gauge_dynamics.md``).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import weak_scalar
from ..._trace import trace_once
from ...errors import ParameterError
from ...lattice import Lattice
from ...network import AbstractNetwork
from ...state import State
from ..params import check_number
from .loss import AbstractMatter, WilsonLoss

LINKS = "links"
ELECTRIC = "electric"
MATTER = "matter"

#: the magnitudes of the coupling ``q`` the dynamical U(1) theories accept (the config's ``theory.charge`` and the
#: Python builders): the magnetic term ``1/(q^2 a^4)`` and the links ``a q A`` stay finite
MIN_CHARGE, MAX_CHARGE = 1e-8, 1e8
#: the range, as the messages write it
CHARGE_RANGE = "1e-8 <= |q| <= 1e8"


def check_charge(charge: Any) -> None:
    """A :class:`~nnfield.errors.ParameterError` naming ``charge`` unless it is a real number with
    ``MIN_CHARGE <= |q| <= MAX_CHARGE`` (finite and non-zero: the links are ``theta = a q A``, the magnetic term
    ``1/(q^2 a^4)``; a NaN charge used to run to all-NaN observables). A traced charge (``jax.jit``, ``jax.vmap``,
    ``jax.grad``) is not checked; a concrete array (a batch) is checked element by element."""
    check_number("charge", charge)
    if isinstance(charge, jax.core.Tracer):
        return
    try:
        values = np.abs(np.asarray(charge, dtype=float))
    except (TypeError, ValueError, jax.errors.TracerArrayConversionError,
            jax.errors.ConcretizationTypeError):  # pragma: no cover - a tracer inside a container
        return
    if not (np.all(np.isfinite(values)) and np.all(values >= MIN_CHARGE) and np.all(values <= MAX_CHARGE)):
        shown = float(charge) if np.ndim(charge) == 0 else np.asarray(charge).tolist()
        raise ParameterError("charge", f"expected a non-zero coupling q with {CHARGE_RANGE} "
                                       f"(links are theta = a q A, the magnetic term 1/(q^2 a^4)), got {shown!r}")


class GaugeNetwork(AbstractNetwork):
    """Dynamical U(1) links (and optional matter) learning by momentum gradient descent; see the module docstring.

    Attributes:
        wilson: the plaquette loss (:class:`~.loss.WilsonLoss`; holds the charge ``q``).
        matter: the charged matter sector, or ``None`` (pure lattice Maxwell).
        dt, tick: the step (``tick = dt``).
        lattice, name: static.
    """

    wilson: WilsonLoss
    matter: AbstractMatter | None
    dt: Any
    tick: Any
    lattice: Lattice = eqx.field(static=True)
    name: str = eqx.field(static=True, default="gauge network")

    @classmethod
    def create(cls, lattice: Lattice, charge: float, dt: float, matter: AbstractMatter | None = None,
               name: str = "gauge network") -> GaugeNetwork:
        """The network on ``lattice`` with coupling ``charge`` (``q``, checked by :func:`check_charge`), step ``dt``
        (positive) and the matter sector ``matter`` (``None``: pure lattice Maxwell); ``name`` labels it."""
        check_number("dt", dt, positive=True)
        check_charge(charge)
        dt, charge = weak_scalar(dt), weak_scalar(charge)  # NumPy float64 scalars would promote a float32 state
        minor = "pad" if matter is None else matter.minor  # the plaquettes' shifts lowered as the matter's
        return cls(wilson=WilsonLoss(charge, lattice.spacing, minor), matter=matter, dt=dt, tick=dt, lattice=lattice,
                   name=name)

    # -- the declared seam ---------------------------------------------------------------------------------
    @property
    def K(self) -> int:
        """Components per site of the packed canonical data: ``D`` links (+ the matter's types)."""
        return self.lattice.ndim + (0 if self.matter is None else self.matter.K)

    @property
    def order(self) -> int:
        """2: the tick is Stormer-Verlet (kick, drift, kick), second order in ``dt``."""
        return 2

    @property
    def charge(self) -> Any:
        """The coupling ``q`` (held by the Wilson loss)."""
        return self.wilson.charge

    def loss(self, theta: Any, phi: jax.Array | None = None) -> jax.Array:
        """``L(theta, phi) = L_W(theta) + L_m(theta, phi)`` (gauge invariant; the only source of the learning)."""
        total = self.wilson(theta)
        if self.matter is not None:
            total = total + self.matter.loss(theta, phi)
        return total

    def gradients(self, state: dict[str, Any]) -> tuple[jax.Array, jax.Array | None]:
        """``(dL/dtheta, dL/dpi)`` by autodiff of ``L`` through the activation map ``p -> phi + B (p - pi)``.

        The chain rule that ``jax.grad`` of the composition applies, in two parts (as in
        :meth:`nnfield.network.Network.learning_gradient`): ``jax.grad`` of ``L`` at ``(theta, phi)`` gives
        ``(dL/dtheta, dL/dphi)``, and ``jax.vjp`` of the activation map pulls ``dL/dphi`` back to ``pi`` (``B^T``).
        The loss is evaluated at ``phi`` itself, not at ``phi + B (pi - pi)`` (equal for finite fields): that sum
        made every read of ``phi`` in the loss read ``pi`` too, and XLA materialized the matter's components
        (``benchmarks/u1_step.py``). Traced once per run (:func:`nnfield._trace.trace_once`; a run traced it three
        times: the first half kick, the loop body and the last half kick)."""
        return _GRADIENTS(self, state)

    def kick(self, state: dict[str, Any], h: Any) -> dict[str, Any]:
        """Learning (positions fixed): ``E <- E - h q a dL/dtheta``, ``pi <- pi - h dL/dpi``.

        The matter's is the gradient-descent learning (3.10) of the paper (``pi`` its ``beta``) on the covariant
        loss, the Laplacian of (3.11) with the links in it, through the single-step backprop ``d phi / d pi = B``
        (3.12); the links' is gradient descent with momentum on the same loss (beyond the paper: its Sec. 5 keeps
        the links (5.8) fixed). One half of the Stormer-Verlet tick (:meth:`step`, order 2); alone, explicit
        Euler in ``h`` (order 1)."""
        g_theta, g_pi = self.gradients(state)
        out = dict(state)
        hqa = h * self.charge * self.lattice.spacing
        out[ELECTRIC] = state[ELECTRIC] - hqa * g_theta
        if self.matter is not None:
            # E and pi updated by separate expressions: with jaxlib 0.10 this compiles to fewer materialized
            # shifted copies (32 instead of 46 MiB of temporaries at 64^3) and ran 10-20% faster than one
            # concatenated update array (benchmarks/u1_step.py)
            out[MATTER] = State(state[MATTER].phi, state[MATTER].pi - h * g_pi)
        return out

    def drift(self, state: dict[str, Any], h: Any) -> dict[str, Any]:
        """The weights move with their velocity buffer and the neurons activate: ``theta <- theta + h a q E``,
        ``phi <- phi + h B pi`` (the activation (3.9) with ``W = I``, step ``h``; the links' move is beyond the
        paper). The middle of the Stormer-Verlet tick (:meth:`step`, order 2); alone, explicit Euler (order 1)."""
        out = dict(state)
        out[LINKS] = state[LINKS] + (h * self.charge * self.lattice.spacing) * state[ELECTRIC]
        if self.matter is not None:
            m = state[MATTER]
            out[MATTER] = State(m.phi + h * self.matter.bias(m.pi), m.pi)
        return out

    def step(self, state: dict[str, Any]) -> dict[str, Any]:
        """One tick: kick(dt/2), drift(dt), kick(dt/2) (Stormer-Verlet of the activation (3.9) and the learning
        (3.10) with links that learn with momentum; order 2 in ``dt``, :attr:`order`)."""
        s = self.kick(state, self.dt / 2)
        s = self.drift(s, self.dt)
        return self.kick(s, self.dt / 2)

    def advance(self, state: dict[str, Any], n: int) -> dict[str, Any]:
        """``n`` ticks with the closing and opening half kicks merged (the staggered leapfrog; the same map as ``n``
        :meth:`step` ticks, order 2 in ``dt``)."""
        if n == 0:
            return state
        if n == 1:
            return self.step(state)
        # the loop body is drift-then-kick: XLA then copies one loop-carried field per iteration instead of seven
        # (kick-then-drift); the same operations in the same order, 10% faster at 64^3 (benchmarks/u1_step.py)
        lay = self.loop_layout  # the fields stored site-major inside the loop (AbstractNetwork.loop_layout)
        s = lay(self.kick(state, self.dt / 2))
        s = jax.lax.fori_loop(0, n - 1, lambda _, st: lay(self.kick(self.drift(st, self.dt), self.dt)), s)
        return self.kick(self.drift(s, self.dt), self.dt / 2)

    def advance_synced(self, state: dict[str, Any], n: int, sync: Any) -> dict[str, Any]:
        """:meth:`advance` (merged kicks) with ``sync`` before its first kick and before every drift-kick pair:
        each part between two syncs is at most one tick (the explicit halo exchange, :mod:`nnfield.halo`)."""
        if n == 0:
            return state
        if n == 1:
            return self.step(sync(state))
        lay = self.loop_layout
        s = lay(self.kick(sync(state), self.dt / 2))
        s = jax.lax.fori_loop(0, n - 1, lambda _, st: lay(self.kick(self.drift(sync(st), self.dt), self.dt)), s)
        return self.kick(self.drift(sync(s), self.dt), self.dt / 2)

    # -- packing (the linear analysis and the models) ------------------------------------------------------
    def zero_state(self, dtype: Any = None, shape: tuple[int, ...] | None = None) -> dict[str, Any]:
        """The vacuum: no field, and the matter sector's ground state (on ``shape``, default the lattice's), in
        ``dtype`` as JAX has it (:func:`jax.dtypes.canonicalize_dtype`: ``float64`` is float32 without JAX's 64-bit
        mode, without the truncation warning ``jnp.zeros`` gives for an explicit ``float64``)."""
        shape = self.lattice.shape if shape is None else tuple(shape)
        dtype = None if dtype is None else jax.dtypes.canonicalize_dtype(dtype)
        z = jnp.zeros((self.lattice.ndim, *shape), dtype)
        out: dict[str, Any] = {LINKS: z, ELECTRIC: z}
        if self.matter is not None:
            out[MATTER] = self.matter.vacuum(shape, z.dtype)
        return out

    def pack(self, state: dict[str, Any]) -> State:
        """``State(concat(theta, phi), concat(E, pi))`` (``K`` components each)."""
        if self.matter is None:
            return State(state[LINKS], state[ELECTRIC])
        m = state[MATTER]
        return State(jnp.concatenate([state[LINKS], m.phi]), jnp.concatenate([state[ELECTRIC], m.pi]))

    def unpack(self, packed: State) -> dict[str, Any]:
        """The inverse of :meth:`pack`: the named state from ``K`` packed components."""
        D = self.lattice.ndim
        out: dict[str, Any] = {LINKS: packed.phi[:D], ELECTRIC: packed.pi[:D]}
        if self.matter is not None:
            out[MATTER] = State(packed.phi[D:], packed.pi[D:])
        return out

    def perturbation_step(self, delta: State) -> State:
        """One tick of a perturbation about the vacuum (:meth:`zero_state`), packed: the map the linear analysis
        linearizes (its eigenvalues are the photon, and in the Higgs phase the Higgs, branches)."""
        vac = self.pack(self.zero_state(delta.phi.dtype, delta.phi.shape[1:]))
        out = self.pack(self.step(self.unpack(State(vac.phi + delta.phi, vac.pi + delta.pi))))
        return State(out.phi - vac.phi, out.pi - vac.pi)


def _gradients(net: Any, state: dict[str, Any]) -> tuple[jax.Array, jax.Array | None]:
    """See :meth:`GaugeNetwork.gradients`."""
    # the loss takes the D link components as a sequence: each gradient is its own array (no scatter-add
    # into slices of one array), stacked once
    theta = tuple(state[LINKS][mu] for mu in range(net.lattice.ndim))
    if net.matter is None:
        return jnp.stack(jax.grad(net.wilson)(theta)), None
    phi, pi = state[MATTER].phi, state[MATTER].pi
    matter = net.matter

    g_theta, g_phi = jax.grad(net.loss, argnums=(0, 1))(theta, phi)
    _, pull = jax.vjp(lambda p: phi + matter.bias(p - pi), pi)  # the activation map's VJP: B^T
    return jnp.stack(g_theta), pull(g_phi)[0]


_GRADIENTS = trace_once(_gradients)
