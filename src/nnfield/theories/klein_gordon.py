r"""The Klein-Gordon field from a network (paper Sec. 3), any dimension D, mass m, spacing a, step dt.

Physics side (written independently of the network code, with ``jnp.roll``):
    Hamiltonian (3.3)/(3.5):  H = a^D sum_i [ pi_i^2/2 + sum_mu (phi_{i+e_mu} - phi_i)^2/(2 a^2) + m^2 phi_i^2/2 ]
    Hamilton's equations (3.2)/(3.4): d phi/dt = pi,  d pi/dt = Lap_a phi - m^2 phi
    exact lattice solution: each Fourier mode rotates with omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)
    exact continuum solution (band-limited data): omega_k^2 = m^2 + |k|^2.

Networks:
    ``network_38``: W = I, B = I (3.8), loss (3.11) ``H = 1/2 phi.(-Lap_a + m^2) phi``; autodiff learning gives
        (3.10) ``pi <- pi + dt (Lap_a - m^2) phi``. The printed (3.8) has the opposite sign of A; it is
        available as ``sign="printed"`` (loss -(3.11)) and is unstable (exponential growth of every mode with
        omega_k^2 > 0 ... growth factor 1 + dt omega_k per step).
    ``network_314``: (3.14)-(3.18) in D dimensions with step dt: ``W = 2 + dt^2 (Lap_a - m^2)`` (at
        dt = a = 1: ``-(2D - 2 + m^2) + sum_mu (T_mu + T_mu^-1)``), B = I, loss (3.18) ``(phi^2 + beta^2)/2``
        and unit learning rate, so ``pi(t+dt) = -phi(t)`` (3.17) and phi obeys the leapfrog (3.19).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._module import Module
from ..errors import ParameterError
from ..lattice import Lattice
from ..model import BOUNDED, INVARIANT, AbstractModel, AbstractTheory, Conserved
from ..network import AbstractNetwork, LinearNetwork, Network
from ..operators import identity, laplacian
from ..schemes import Scheme
from ..state import State

SIGNS = ("corrected", "printed")


# ----------------------------------------------------------------------------------------------------------
# physics side
# ----------------------------------------------------------------------------------------------------------
def _lap_roll(phi: jax.Array, a: float) -> jax.Array:
    """Nearest-neighbour Laplacian by ``jnp.roll`` over all axes of ``phi`` (independent of operators.py)."""
    out = -2.0 * phi.ndim * phi
    for ax in range(phi.ndim):
        out = out + jnp.roll(phi, 1, ax) + jnp.roll(phi, -1, ax)
    return out / a**2


class KleinGordon(Module, AbstractTheory):
    """The lattice Klein-Gordon field (3.3)-(3.5) with mass ``m`` on ``lattice``; fields shaped ``(1, *shape)``."""

    m: Any
    lattice: Lattice = eqx.field(static=True)

    def omega(self, continuum: bool = False) -> np.ndarray:
        """Mode frequencies on the lattice's FFT grid: lattice ``omega_k`` or continuum ``sqrt(m^2 + k^2)``."""
        lat = self.lattice
        if continuum:
            return np.sqrt(self.m**2 + sum(k**2 for k in lat.momenta()))
        return np.sqrt(self.m**2 - lat.laplacian_symbol())

    def dispersion(self, k: list[np.ndarray], continuum: bool = False) -> np.ndarray:
        """``omega(k)`` of the target field at arbitrary momenta (lattice: ``m^2 + (4/a^2) sum sin^2(k a/2)``)."""
        a = self.lattice.spacing
        if continuum:
            return np.sqrt(self.m**2 + sum(np.asarray(kk) ** 2 for kk in k))
        return np.sqrt(self.m**2 + sum(4.0 / a**2 * np.sin(np.asarray(kk) * a / 2) ** 2 for kk in k))

    def hamiltonian(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """Lattice Hamiltonian (3.5) with spacing: ``a^D sum [pi^2/2 + |grad_+ phi|^2/2 + m^2 phi^2/2]``."""
        a = self.lattice.spacing
        f = phi[0]
        grad2 = sum(((jnp.roll(f, -1, ax) - f) / a) ** 2 for ax in range(f.ndim))
        dens = 0.5 * pi[0] ** 2 + 0.5 * grad2 + 0.5 * self.m**2 * f**2
        return self.lattice.cell_volume * jnp.sum(dens)

    def exact(self, phi0: Any, pi0: Any, t: float, continuum: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Exact solution at time ``t`` by spectral propagation (lattice dispersion, or continuum)."""
        w = self.omega(continuum)
        ph, pk = np.fft.fftn(np.asarray(phi0)[0]), np.fft.fftn(np.asarray(pi0)[0])
        c, s = np.cos(w * t), np.sin(w * t)
        sinc_t = np.where(w > 0, s / np.where(w > 0, w, 1.0), t)  # sin(w t)/w -> t as w -> 0
        phit = ph * c + pk * sinc_t
        pit = -ph * w * s + pk * c
        return np.fft.ifftn(phit).real[None], np.fft.ifftn(pit).real[None]

    def reference(self, phi: Any, pi: Any, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The exact lattice solution at ``t`` (:meth:`exact`); Hamilton's equations (3.2)/(3.4),
        ``(pi, Lap_a phi - m^2 phi)``, are :meth:`equations`, derived from :meth:`hamiltonian` by ``jax.grad``."""
        return self.exact(phi, pi, t)


# ----------------------------------------------------------------------------------------------------------
# losses
# ----------------------------------------------------------------------------------------------------------
class Loss311(Module):
    """Loss (3.11) with spacing: ``H = -1/2 phi.Lap_a phi + m^2/2 phi.phi`` (times ``sign``: -1 = printed A)."""

    m: Any
    sign: float
    spacing: float = eqx.field(static=True, default=1.0)

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        lap = laplacian(phi.ndim - 1, self.spacing)
        return self.sign * (-0.5 * jnp.sum(phi * lap.apply(phi)) + 0.5 * self.m**2 * jnp.sum(phi * phi))


class Loss318(Module):
    """Loss (3.18): ``H = 1/2 phi.phi + 1/2 beta.beta`` with ``beta = B pi = pi``."""

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(phi * phi) + 0.5 * jnp.sum(pi * pi)


# ----------------------------------------------------------------------------------------------------------
# recipes
# ----------------------------------------------------------------------------------------------------------
def network_38(
    lattice: Lattice, m: float, dt: float, scheme: str | Scheme = "leapfrog", sign: str = "corrected"
) -> Network:
    """The network (3.7)/(3.8) with loss (3.11): W = I, B = I; learning by autodiff gives (3.10).

    ``sign="printed"`` uses the printed sign of A in (3.8) (equivalently the loss -(3.11)); it does not give
    (3.10) and its massive modes grow exponentially.
    """
    if sign not in SIGNS:
        raise ParameterError("sign", f"expected one of {SIGNS}, got {sign!r}")
    nd = lattice.ndim
    loss = Loss311(m=m, sign=1.0 if sign == "corrected" else -1.0, spacing=lattice.spacing)
    return Network.create(
        lattice, identity(nd), identity(nd), loss, dt, scheme, name=f"klein-gordon (3.8) [{sign}]"
    )


def linear_network_38(lattice: Lattice, m: float, dt: float = 1.0, sign: str = "printed") -> LinearNetwork:
    """The tensors (3.8) literally, ``A = -(Lap_a) + m^2`` as printed (or its negative, ``sign="corrected"``)."""
    nd = lattice.ndim
    eye = identity(nd)
    A = (-1.0) * laplacian(nd, lattice.spacing) + m**2 * eye
    if sign == "corrected":
        A = -A
    return LinearNetwork.create(lattice, eye, eye, A, eye, dt, "simultaneous", name=f"(3.8) literal [{sign}]")


def network_314(lattice: Lattice, m: float, dt: float) -> Network:
    """The network (3.14)-(3.18) in D dimensions with physical step ``dt`` (unit learning rate; tick = dt).

    ``W = 2 + dt^2 (Lap_a - m^2)``, ``B = I``, loss (3.18). Combined dynamics: the leapfrog (3.19)
    ``phi(t+dt) - 2 phi(t) + phi(t-dt) = dt^2 (Lap_a - m^2) phi(t)``. Order 2 in dt.
    """
    nd = lattice.ndim
    eye = identity(nd)
    W = 2.0 * eye + dt**2 * (laplacian(nd, lattice.spacing) - m**2 * eye)
    return Network.create(lattice, W, eye, Loss318(), 1.0, "simultaneous", tick=dt, name="klein-gordon (3.14)")


# ----------------------------------------------------------------------------------------------------------
# models: recipe + physics + state maps + observables
# ----------------------------------------------------------------------------------------------------------
class KleinGordonModel(AbstractModel):
    """A Klein-Gordon network with its physics side.

    ``encoding="momentum"`` (network (3.8)): the network state is ``(phi, pi)`` with ``pi = d phi/dt``.
    ``encoding="previous"`` (network (3.14)): ``pi(t) = -phi(t - dt)``; the initial ``pi`` is taken from the
    exact lattice solution at ``-dt`` and the momentum is read back as ``(phi(t+dt) - phi(t-dt)) / (2 dt)``.
    """

    network: AbstractNetwork
    theory: KleinGordon
    encoding: str = eqx.field(static=True, default="momentum")
    declared: tuple[Conserved, ...] = eqx.field(static=True, default=())

    def encode(self, phi: Any, pi: Any) -> State:
        phi = jnp.asarray(phi)
        if self.encoding == "momentum":
            return State(phi, jnp.asarray(pi, phi.dtype))
        prev, _ = self.theory.exact(phi, pi, -self.network.tick)
        return State(phi, -jnp.asarray(prev, phi.dtype))

    def decode(self, state: State) -> tuple[jax.Array, jax.Array]:
        if self.encoding == "momentum":
            return state.phi, state.pi
        nxt = self.network.step(state).phi
        return state.phi, (nxt + state.pi) / (2 * self.network.tick)

    def discrete_energy(self, state: State) -> jax.Array:
        """Leapfrog invariant ``a^D [|phi' - phi|^2/(2 dt^2) + phi'.(-Lap_a + m^2) phi/2]``, ``phi'`` = next phi.

        Conserved to round-off by the ``alternating`` and ``leapfrog`` schemes and by network (3.14).
        """
        phi = state.phi
        nxt = self.network.step(state).phi
        kphi = -_lap_roll(phi[0], self.theory.lattice.spacing) + self.theory.m**2 * phi[0]
        dens = 0.5 * ((nxt[0] - phi[0]) / self.network.tick) ** 2 + 0.5 * nxt[0] * kphi
        return self.theory.lattice.cell_volume * jnp.sum(dens)

    def observables(self, state: State) -> dict[str, jax.Array]:
        phi, pi = self.decode(state)
        return {
            "energy": self.theory.hamiltonian(phi, pi),
            "discrete_energy": self.discrete_energy(state),
            "phi_rms": jnp.sqrt(jnp.mean(phi**2)),
            "phi_max": jnp.max(jnp.abs(phi)),
        }

    def conserved(self) -> tuple[Conserved, ...]:
        """What this network conserves (declared by :func:`model`, see :func:`conserved_quantities`)."""
        return self.declared

    def dispersion(self, k: list[Any]) -> np.ndarray:
        """The lattice dispersion ``omega(k)`` of the Klein-Gordon field (3.4)."""
        return self.theory.dispersion(k)


ENERGY = Conserved("energy", BOUNDED, "the lattice Hamiltonian (3.5); oscillates at O(dt^order), no drift")
DISCRETE_ENERGY = Conserved("discrete_energy", INVARIANT, "the leapfrog invariant; conserved to round-off")


def conserved_quantities(network: str, scheme: str, sign: str) -> tuple[Conserved, ...]:
    """What a Klein-Gordon network conserves.

    (3.14) and (3.8) with the ``alternating`` or ``leapfrog`` scheme: the leapfrog invariant
    ``discrete_energy`` exactly and the energy (3.5) bounded; ``yoshida4``: the energy bounded (its modified
    invariant is not ``discrete_energy``); ``simultaneous`` (explicit Euler, the energy grows) and the printed
    sign (every massive mode grows): nothing.
    """
    if network == "3.14":
        return (DISCRETE_ENERGY, ENERGY)
    if sign != "corrected":
        return ()
    if scheme in ("alternating", "leapfrog"):
        return (DISCRETE_ENERGY, ENERGY)
    if scheme == "yoshida4":
        return (ENERGY,)
    return ()


def model(
    lattice: Lattice,
    m: float,
    dt: float,
    network: str = "3.8",
    scheme: str | Scheme = "leapfrog",
    sign: str = "corrected",
) -> KleinGordonModel:
    """Build a Klein-Gordon model: ``network="3.8"`` (with ``scheme``, ``sign``) or ``network="3.14"``."""
    theory = KleinGordon(m=m, lattice=lattice)
    if network == "3.8":
        net = network_38(lattice, m, dt, scheme, sign)
        return KleinGordonModel(net, theory, "momentum", conserved_quantities(network, net.scheme.name, sign))
    if network == "3.14":
        declared = conserved_quantities(network, "leapfrog", sign)
        return KleinGordonModel(network_314(lattice, m, dt), theory, "previous", declared)
    raise ParameterError("network", f"expected '3.8' or '3.14', got {network!r}")
