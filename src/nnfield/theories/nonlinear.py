r"""Nonlinear scalar fields from a network: the duality of Sec. 2 with a local potential on a D-dim lattice.

Physics side (written independently of the network code, with ``jnp.roll``):
    Hamiltonian: ``Ham = a^D sum_i [ pi_i^2/2 + sum_mu (phi_{i+e_mu} - phi_i)^2/(2 a^2) + V(phi_i) ]``
    Hamilton's equations (semi-discrete): ``dphi/dt = pi``, ``dpi/dt = Lap_a phi - V'(phi)``
    reference solvers: classical RK4 (order 4, jitted ``fori_loop``) and SciPy ``DOP853`` (small lattices).

Network (W = I, B = I as in (3.8), loss in the (3.11) style, gradient energy plus potential):
    ``H(phi, pi) = sum_mu sum_i (phi_{i+e_mu} - phi_i)^2 / (2 a^2) + sum_i V(phi_i)``
    (``= -1/2 phi.Lap_a phi + sum V(phi)`` by summation by parts), so autodiff learning is
    ``pi <- pi + dt (Lap_a phi - V'(phi))``: the order of the scheme (1 simultaneous/alternating,
    2 leapfrog, 4 yoshida4) in dt, and 2 in a for the Laplacian.

Potentials: :class:`Phi4Potential` ``m^2 phi^2/2 + lam phi^4/4`` and :class:`SineGordonPotential`
``(m^2/b^2)(1 - cos(b phi))``, or any elementwise JAX-traceable PyTree callable (e.g. a safe-parsed expression,
:class:`nnfield.duality.parse.ExprFunction`); ``V'`` is ``jax.grad`` of ``V``.

Twisted boundary: ``phi`` of sine-Gordon lives on a circle (mod ``2 pi / b``); a kink winds once. With
``twist = t`` the field obeys ``phi_{i + N e_0} = phi_i + t`` along axis 0 (the stored array is one period
of the lifted field); the network loss and the physics side both use the twisted differences. A single kink
needs ``twist = 2 pi / b``; with ``twist = 0`` the kink initial condition is a kink-antikink pair half a box
apart (see :func:`kink`).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._module import Module
from ..lattice import Lattice
from ..model import BOUNDED, AbstractModel, AbstractTheory, Conserved
from ..network import AbstractNetwork, Network, as_pytree_callable
from ..operators import forward_difference, identity
from ..schemes import Scheme
from ..state import State


# ----------------------------------------------------------------------------------------------------------
# potentials
# ----------------------------------------------------------------------------------------------------------
class Phi4Potential(Module):
    """``V = m^2 phi^2/2 + lam phi^4/4`` (elementwise); ``m^2 < 0`` gives the double well."""

    m2: Any
    lam: Any

    def __call__(self, phi: jax.Array) -> jax.Array:
        return 0.5 * self.m2 * phi**2 + 0.25 * self.lam * phi**4


class SineGordonPotential(Module):
    """``V = (m^2 / b^2) (1 - cos(b phi))`` (elementwise); ``phi -> phi + 2 pi / b`` is a symmetry."""

    m: Any
    b: Any

    def __call__(self, phi: jax.Array) -> jax.Array:
        return (self.m / self.b) ** 2 * (1.0 - jnp.cos(self.b * phi))


# ----------------------------------------------------------------------------------------------------------
# physics side
# ----------------------------------------------------------------------------------------------------------
def _edge(shape: tuple[int, ...], axis: int, index: int) -> np.ndarray:
    """1 at ``index`` along ``axis`` (broadcast over the other axes), 0 elsewhere; shape ``shape``."""
    sel = np.zeros(shape[axis])
    sel[index] = 1.0
    view = [1] * len(shape)
    view[axis] = shape[axis]
    return np.broadcast_to(sel.reshape(view), shape).copy()


def _forward_diffs_roll(f: jax.Array, twist: float) -> list[jax.Array]:
    """``phi_{i+e_mu} - phi_i`` (lifted across the twisted boundary of axis 0), by ``jnp.roll``."""
    out = []
    for ax in range(f.ndim):
        d = jnp.roll(f, -1, ax) - f
        if ax == 0 and twist:
            d = d + twist * jnp.asarray(_edge(f.shape, 0, f.shape[0] - 1))
        out.append(d)
    return out


class NonlinearField(Module, AbstractTheory):
    """The lattice scalar field with potential ``V`` (fields shaped ``(1, *shape)``); see the module docstring."""

    potential: Any
    lattice: Lattice = eqx.field(static=True)
    twist: float = eqx.field(static=True, default=0.0)

    def hamiltonian(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """``a^D sum [pi^2/2 + |grad_+ phi|^2/2 + V(phi)]`` (twisted differences along axis 0)."""
        a = self.lattice.spacing
        grad2 = sum(d**2 for d in _forward_diffs_roll(phi[0], self.twist)) / a**2
        dens = 0.5 * pi[0] ** 2 + 0.5 * grad2 + self.potential(phi[0])
        return self.lattice.cell_volume * jnp.sum(dens)

    def dispersion(self, k: list[Any]) -> np.ndarray:
        """Small-amplitude waves about ``phi = 0``: ``omega^2 = V''(0) + (4/a^2) sum_mu sin^2(k_mu a/2)``.

        ``nan`` where ``omega^2 < 0`` (e.g. the double well's unstable vacuum at 0).
        """
        a = self.lattice.spacing
        v2 = float(jax.grad(jax.grad(lambda f: jnp.sum(self.potential(f))))(jnp.zeros(())))
        w2 = v2 + sum(4.0 / a**2 * np.sin(np.asarray(kk) * a / 2) ** 2 for kk in k)
        return np.where(w2 >= 0, np.sqrt(np.abs(w2)), np.nan)

    def reference(self, phi: Any, pi: Any, t: float) -> tuple[np.ndarray, ...]:
        """The reference solution at ``t``: :meth:`dop853` on Hamilton's equations ``(pi, Lap_a phi - V'(phi))``,
        which are :meth:`equations`, derived from :meth:`hamiltonian` by ``jax.grad``."""
        return self.dop853(phi, pi, t)

    def rk4(self, phi: Any, pi: Any, t: float, dt: float) -> tuple[jax.Array, jax.Array]:
        """Classical Runge-Kutta 4 to time ``t`` with step ``<= dt`` (order 4; the reference solver)."""
        n = max(1, int(np.ceil(abs(t) / dt - 1e-9)))
        return _rk4(self, jnp.asarray(phi, dtype=float), jnp.asarray(pi, dtype=float), t / n, n)

    def dop853(self, phi: Any, pi: Any, t: float, rtol: float = 1e-12, atol: float = 1e-12) -> tuple[np.ndarray, ...]:
        """SciPy ``DOP853`` on the semi-discrete equations (small lattices; each RHS call is a jitted JAX call)."""
        from scipy.integrate import solve_ivp

        shape = np.shape(phi)
        n = int(np.prod(shape))
        rhs_jit = jax.jit(lambda y: jnp.concatenate([x.ravel() for x in self.equations(
            y[:n].reshape(shape), y[n:].reshape(shape))]))
        y0 = np.concatenate([np.ravel(phi), np.ravel(pi)]).astype(float)
        sol = solve_ivp(lambda _, y: np.asarray(rhs_jit(jnp.asarray(y))), (0.0, t), y0, method="DOP853",
                        rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover
            raise RuntimeError(f"DOP853 failed: {sol.message}")
        y = sol.y[:, -1]
        return y[:n].reshape(shape), y[n:].reshape(shape)


def _rk4_impl(field: NonlinearField, phi: jax.Array, pi: jax.Array, h: Any, n: int) -> tuple[jax.Array, jax.Array]:
    def step(_: int, y: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        p, q = y
        k1 = field.equations(p, q)
        k2 = field.equations(p + 0.5 * h * k1[0], q + 0.5 * h * k1[1])
        k3 = field.equations(p + 0.5 * h * k2[0], q + 0.5 * h * k2[1])
        k4 = field.equations(p + h * k3[0], q + h * k3[1])
        return (
            p + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
            q + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]),
        )

    return jax.lax.fori_loop(0, n, step, (phi, pi))


_rk4 = jax.jit(_rk4_impl)


# ----------------------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------------------
class NonlinearLoss(Module):
    """``H = sum_mu sum_i (D_mu phi + c_mu)^2 / (2 a^2) + sum_i V(phi_i)`` with ``D_mu = T_{e_mu} - 1``.

    ``c_0`` is the twist on the last slice of axis 0 (zero for periodic fields). Built on
    :func:`nnfield.operators.forward_difference`; autodiff gives ``dH/dphi = -Lap_a phi + V'(phi)``.

    The twist is a boundary condition of the lattice of ``shape``: on fields of any other shape (e.g. the
    small probe lattices of :mod:`nnfield.analysis`, which linearize the bulk dynamics about ``phi = 0``) the
    loss is the periodic one.
    """

    potential: Any
    spacing: float = eqx.field(static=True, default=1.0)
    twist: float = eqx.field(static=True, default=0.0)
    shape: tuple[int, ...] | None = eqx.field(static=True, default=None)

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        nd = phi.ndim - 1
        twisted = bool(self.twist) and (self.shape is None or tuple(phi.shape[1:]) == tuple(self.shape))
        grad2 = jnp.zeros((), phi.dtype)
        for mu in range(nd):
            d = forward_difference(mu, nd).apply(phi)
            if mu == 0 and twisted:
                d = d + self.twist * jnp.asarray(_edge(phi.shape, 1, phi.shape[1] - 1))
            grad2 = grad2 + jnp.sum(d * d)
        return 0.5 * grad2 / self.spacing**2 + jnp.sum(self.potential(phi))


def network(
    lattice: Lattice, potential: Any, dt: float, scheme: str | Scheme = "leapfrog", twist: float = 0.0,
    name: str = "nonlinear field",
) -> Network:
    """The network W = I, B = I with loss :class:`NonlinearLoss`; learning ``pi <- pi + dt (Lap phi - V'(phi))``."""
    nd = lattice.ndim
    loss = NonlinearLoss(as_pytree_callable(potential), lattice.spacing, float(twist), lattice.shape)
    return Network.create(lattice, identity(nd), identity(nd), loss, dt, scheme, name=name)


class NonlinearModel(AbstractModel):
    """A nonlinear-field network with its physics side (momentum encoding: the state is ``(phi, pi)``)."""

    network: AbstractNetwork
    theory: NonlinearField
    declared: tuple[Conserved, ...] = eqx.field(static=True, default=())

    def encode(self, phi: Any, pi: Any) -> State:
        phi = jnp.asarray(phi, dtype=float)
        return State(phi, jnp.asarray(pi, phi.dtype))

    def decode(self, state: State) -> tuple[jax.Array, jax.Array]:
        return state.phi, state.pi

    def conserved(self) -> tuple[Conserved, ...]:
        """What this network conserves (declared by :func:`model`, see :func:`conserved_quantities`)."""
        return self.declared

    def dispersion(self, k: list[Any]) -> np.ndarray:
        """Small-amplitude waves about ``phi = 0`` (:meth:`NonlinearField.dispersion`)."""
        return self.theory.dispersion(k)

    def discrete_energy(self, state: State) -> jax.Array:
        """``a^D sum [ |phi' - phi|^2/(2 dt^2) + grad phi'.grad phi/2 + (V(phi) + V(phi'))/2 ]``, ``phi'`` = next phi.

        For ``V = 0`` (or any quadratic V written bilinearly) this is the leapfrog invariant, conserved to
        round-off by ``alternating``/``leapfrog``; with a nonlinear V it is conserved to ``O(dt^2)`` without drift.
        """
        th = self.theory
        phi = state.phi
        nxt = self.network.step(state).phi
        dn = _forward_diffs_roll(nxt[0], th.twist)
        d0 = _forward_diffs_roll(phi[0], th.twist)
        grad = sum(x * y for x, y in zip(dn, d0, strict=True)) / th.lattice.spacing**2
        kin = ((nxt[0] - phi[0]) / self.network.tick) ** 2
        dens = 0.5 * kin + 0.5 * grad + 0.5 * (th.potential(phi[0]) + th.potential(nxt[0]))
        return th.lattice.cell_volume * jnp.sum(dens)

    def observables(self, state: State) -> dict[str, jax.Array]:
        phi, pi = self.decode(state)
        return {
            "energy": self.theory.hamiltonian(phi, pi),
            "discrete_energy": self.discrete_energy(state),
            "phi_mean": jnp.mean(phi),
            "phi_rms": jnp.sqrt(jnp.mean(phi**2)),
            "phi_max": jnp.max(jnp.abs(phi)),
        }


def conserved_quantities(scheme: str) -> tuple[Conserved, ...]:
    """What a nonlinear-field network conserves: with the ``alternating`` or ``leapfrog`` scheme the energy and
    ``discrete_energy`` are bounded (``O(dt^2)``, no drift; ``discrete_energy`` is exact only for quadratic V);
    with ``yoshida4`` the energy (``O(dt^4)``); with ``simultaneous`` (explicit Euler) nothing."""
    energy = Conserved("energy", BOUNDED, "the lattice Hamiltonian; oscillates at O(dt^order), no drift")
    if scheme in ("alternating", "leapfrog"):
        return (Conserved("discrete_energy", BOUNDED, "the leapfrog energy; exact for quadratic V, else O(dt^2)"),
                energy)
    if scheme == "yoshida4":
        return (energy,)
    return ()


def model(
    lattice: Lattice, potential: Any, dt: float, scheme: str | Scheme = "leapfrog", twist: float = 0.0,
    name: str = "nonlinear field",
) -> NonlinearModel:
    """Network + physics side for the potential ``V`` (any elementwise PyTree callable)."""
    potential = as_pytree_callable(potential)
    net = network(lattice, potential, dt, scheme, twist, name)
    field = NonlinearField(potential, lattice, float(twist))
    return NonlinearModel(net, field, conserved_quantities(net.scheme.name))


def phi4_model(
    lattice: Lattice, mass: float, lam: float, dt: float, scheme: str | Scheme = "leapfrog"
) -> NonlinearModel:
    """phi^4: ``V = m^2 phi^2/2 + lam phi^4/4``."""
    return model(lattice, Phi4Potential(mass**2, lam), dt, scheme, name="phi^4 field")


def sine_gordon_model(
    lattice: Lattice, mass: float, b: float, dt: float, scheme: str | Scheme = "leapfrog", twist: float = 0.0
) -> NonlinearModel:
    """sine-Gordon: ``V = (m^2/b^2)(1 - cos(b phi))``; ``twist = 2 pi / b`` for a single kink."""
    return model(lattice, SineGordonPotential(mass, b), dt, scheme, twist, name="sine-Gordon field")


# ----------------------------------------------------------------------------------------------------------
# exact solutions and initial data (NumPy)
# ----------------------------------------------------------------------------------------------------------
def kink_profile(x: Any, t: float, mass: float = 1.0, b: float = 1.0, v: float = 0.0, x0: float = 0.0,
                 charge: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The sine-Gordon (anti)kink ``phi = (4/b) arctan(exp(q m gamma (x - x0 - v t)))``, ``gamma = 1/sqrt(1-v^2)``.

    An exact solution of ``phi_tt = phi_xx - (m^2/b) sin(b phi)`` on the line; returns ``(phi, dphi/dt)``.
    """
    if not abs(v) < 1:
        raise ValueError(f"kink velocity must satisfy |v| < 1 (units c = 1), got {v}")
    g = 1.0 / np.sqrt(1.0 - v * v)
    z = charge * mass * g * (np.asarray(x, dtype=float) - x0 - v * t)
    phi = 4.0 / b * np.arctan(np.exp(z))
    pi = -charge * 2.0 / b * mass * g * v / np.cosh(z)
    return phi, pi


def kink(
    lattice: Lattice, t: float = 0.0, mass: float = 1.0, b: float = 1.0, v: float = 0.0, center: float = 0.5,
    twist: float = 0.0, charge: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Sine-Gordon kink data on ``lattice`` (a planar wall along axis 0), shape ``(1, *shape)`` each.

    ``center`` is the kink's position at ``t = 0`` as a fraction of the box length ``L`` along axis 0.

    - ``twist = charge * 2 pi / b``: one kink at ``x0 = center L`` in the fundamental domain ``[0, L)``; exact up
      to ``exp(-m gamma d)``, ``d`` the distance of the kink from the box edge.
    - ``twist = 0`` (periodic): a kink at ``x0`` and an antikink at ``x0 + L/2``, both moving with ``v``;
      exact up to their tail overlap ``~ exp(-m gamma L / 4)``. The seam is placed between them.
    """
    a, n0 = lattice.spacing, lattice.shape[0]
    L = n0 * a
    x = a * np.arange(n0)
    x0 = center * L
    period = 2 * np.pi / b
    if twist and abs(twist - charge * period) < 1e-12 * period:
        phi, pi = kink_profile(x, t, mass, b, v, x0, charge)
    elif twist == 0:
        xi = np.mod(x - x0 - v * t + L / 4, L) - L / 4  # kink at xi = 0, antikink at xi = L/2, seam at -L/4
        pk, qk = kink_profile(xi, 0.0, mass, b, v, 0.0, charge)
        pa, qa = kink_profile(xi, 0.0, mass, b, v, L / 2, charge)
        phi, pi = pk - pa, qk - qa
    else:
        raise ValueError(
            f"kink: twist must be 0 (kink-antikink pair) or charge * 2 pi / b = {charge * period!r} (one kink), "
            f"got {twist!r}"
        )
    view = (n0,) + (1,) * (lattice.ndim - 1)
    phi = np.broadcast_to(phi.reshape(view), lattice.shape)[None].copy()
    pi = np.broadcast_to(pi.reshape(view), lattice.shape)[None].copy()
    return phi, pi


def gaussian_packet(
    lattice: Lattice, amplitude: float = 1.0, width: float = 0.0, center: Any = (), wavevector: Any = (),
    velocity: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``phi = A exp(-|x - c|^2 / (2 w^2)) cos(k . (x - c))`` (minimum-image distance on the periodic box).

    ``width = 0`` means a tenth of the shortest box side; ``center`` defaults to the box centre (physical
    coordinates); ``pi = -velocity d phi / d x_0`` (a packet translating along axis 0, exact for a free
    massless field in 1D).
    """
    lengths = lattice.lengths
    w = width if width > 0 else 0.1 * min(lengths)
    c = list(center) if len(center) else [0.5 * L for L in lengths]
    k = list(wavevector) if len(wavevector) else [0.0] * lattice.ndim
    if len(c) != lattice.ndim or len(k) != lattice.ndim:
        raise ValueError(f"center and wavevector need {lattice.ndim} components, got {len(c)} and {len(k)}")
    xs = lattice.coordinates()
    d = [np.mod(x - cc + L / 2, L) - L / 2 for x, cc, L in zip(xs, c, lengths, strict=True)]
    r2 = sum(dd**2 for dd in d)
    env = amplitude * np.exp(-r2 / (2 * w * w))
    phase = sum(kk * dd for kk, dd in zip(k, d, strict=True))
    phi = env * np.cos(phase)
    dphi0 = -d[0] / (w * w) * phi - env * np.sin(phase) * k[0]
    return phi[None], (-velocity * dphi0)[None]


def random_spectrum(
    lattice: Lattice, amplitude: float = 0.1, kmax: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Band-limited random ``phi`` and ``pi``: Gaussian Fourier modes with ``|k| <= kmax``, rms ``amplitude``.

    ``kmax = 0`` means a quarter of the lattice cutoff ``pi / a``. ``pi`` is drawn independently with rms
    ``amplitude`` times the mode frequency scale ``sqrt(<k^2>)`` (so kinetic and gradient energies are similar).
    """
    rng = np.random.default_rng(seed)
    k = lattice.momenta()
    kk = np.sqrt(sum(x**2 for x in k))
    cut = kmax if kmax > 0 else 0.25 * np.pi / lattice.spacing
    mask = (kk <= cut) & (kk > 0)
    if not mask.any():
        raise ValueError(f"random_spectrum: no lattice momentum with 0 < |k| <= kmax = {cut}; increase kmax")

    def field() -> np.ndarray:
        noise = rng.normal(size=lattice.shape) + 1j * rng.normal(size=lattice.shape)
        f = np.fft.ifftn(np.where(mask, noise, 0.0)).real
        return f / max(np.sqrt(np.mean(f**2)), np.finfo(float).tiny)

    kscale = float(np.sqrt(np.mean(kk[mask] ** 2)))
    return (amplitude * field())[None], (amplitude * kscale * field())[None]
