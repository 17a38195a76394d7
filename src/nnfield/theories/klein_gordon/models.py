r"""The Klein-Gordon model: a network of :mod:`.networks` with its physics side, state maps and observables.

Encodings: ``"momentum"`` (:func:`~.networks.momentum_network`, (3.8)): the state is ``(phi, pi)`` with
``pi = d phi/dt``. ``"previous"`` (:func:`~.networks.leapfrog_network`, (3.14)): ``pi(t) = -phi(t - dt)``
(3.17); the initial ``pi`` comes from the exact lattice solution at ``-dt`` and the momentum is read back as
``(phi(t+dt) - phi(t-dt)) / (2 dt)`` (order 2 in ``dt``).

Declared conserved quantities (:func:`conserved_quantities`): the leapfrog invariant ``discrete_energy``
(exact to round-off) and the energy (3.5) (bounded, ``O(dt^order)``) where the scheme has them.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._deprecation import positional_options
from ..._xla import device_array
from ...errors import ParameterError
from ...lattice import Lattice, check_lattice
from ...model import BOUNDED, INVARIANT, AbstractModel, Conserved, real_fields
from ...network import AbstractNetwork
from ...operators import shift
from ...schemes import Scheme
from ...state import State
from ..params import check_number
from .networks import leapfrog_network, momentum_network
from .physics import KleinGordon


def _lap_shift(phi: jax.Array, a: float) -> jax.Array:
    """The nearest-neighbour Laplacian, O(a^2): :func:`~.physics.lap_roll`'s operations in its order, with the
    fusible ``periodic_shift`` primitive in place of ``jnp.roll`` (whose concatenates XLA:CPU materializes:
    ``benchmarks/observer_cost.py``)."""
    out = -2.0 * phi.ndim * phi
    for ax in range(phi.ndim):
        minus, plus = [0] * phi.ndim, [0] * phi.ndim
        minus[ax], plus[ax] = -1, 1
        out = out + shift(phi, minus) + shift(phi, plus)  # jnp.roll(phi, 1, ax) + jnp.roll(phi, -1, ax)
    return out / a**2


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
        phi, pi = real_fields(self, phi, pi)
        if self.encoding == "momentum":
            return State(phi, jnp.asarray(pi, phi.dtype))
        if any(isinstance(x, jax.core.Tracer) for x in (phi, pi, self.theory.m, self.network.tick)):
            prev = _exact_field_traced(self.theory, phi, pi, -self.network.tick)  # jit, vmap, grad
        else:
            prev, _ = self.theory.exact(phi, pi, -self.network.tick)
            if np.asarray(prev).dtype == phi.dtype:  # (float64: negated on the host, exactly; no eager program)
                return State(phi, device_array(-np.asarray(prev), private=True))
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
        kphi = -_lap_shift(phi[0], self.theory.lattice.spacing) + self.theory.m**2 * phi[0]
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

    def spectral_fields(self, state: State) -> dict[str, jax.Array]:
        """The physical ``phi`` and ``pi = d phi/dt`` (decoded; spectra and occupation numbers)."""
        phi, pi = self.decode(state)
        return {"phi": phi, "pi": pi}

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


def _exact_field_traced(theory: Any, phi: Any, pi: Any, t: Any) -> jax.Array:
    """The field of :meth:`KleinGordon.exact` at ``t`` (lattice dispersion, spectral propagation), in JAX: for a
    traced mass, ``dt`` or initial data (inside ``jax.jit``, ``jax.vmap`` or ``jax.grad``), where the NumPy
    version cannot run. The same formula; concrete inputs keep the NumPy version (the same values to rounding)."""
    w2 = theory.m**2 - jnp.asarray(theory.lattice.laplacian_symbol())
    # the square root only where w^2 > 0: sqrt'(0) is infinite, and jnp.where's other branch would carry it into
    # the gradient as 0 * inf = nan (the gradient with respect to m at m = 0, where w = 0 at k = 0)
    positive = w2 > 0
    w = jnp.sqrt(jnp.where(positive, w2, 1.0))
    ph, pk = jnp.fft.fftn(jnp.asarray(phi)[0]), jnp.fft.fftn(jnp.asarray(pi)[0])
    c = jnp.where(positive, jnp.cos(w * t), 1.0)
    sinc_t = jnp.where(positive, jnp.sin(w * t) / w, t)  # sin(w t)/w -> t as w -> 0
    return jnp.fft.ifftn(ph * c + pk * sinc_t).real[None]


@positional_options
def model(
    lattice: Lattice,
    m: float,
    dt: float,
    *,
    network: str = "3.8",
    scheme: str | Scheme = "leapfrog",
    sign: str = "corrected",
) -> KleinGordonModel:
    """Build a Klein-Gordon model: ``network="3.8"`` (:func:`~.networks.momentum_network`, with ``scheme`` and
    ``sign``) or ``network="3.14"`` (:func:`~.networks.leapfrog_network`, itself a leapfrog (3.19): ``scheme``
    "leapfrog" or "simultaneous", ``sign`` "corrected"); the paper's names of the networks. ``m >= 0`` and
    ``dt > 0`` finite (checked when they are numbers, not traced)."""
    check_lattice(lattice)
    check_number("m", m, minimum=0.0)
    check_number("dt", dt, positive=True)
    if network == "3.14":
        name = scheme if isinstance(scheme, str) else getattr(scheme, "name", scheme)
        if name not in ("leapfrog", "simultaneous"):
            raise ParameterError("scheme", f'network "3.14" runs the paper\'s update rule and is itself a leapfrog '
                                 f'(3.19); expected "leapfrog" (or "simultaneous"), got {name!r}')
        if sign != "corrected":
            raise ParameterError("sign", f'applies to network "3.8" only (the sign of A in (3.8)); got {sign!r} '
                                 f'with network "3.14"')
    theory = KleinGordon(m=m, lattice=lattice)
    if network == "3.8":
        net = momentum_network(lattice, m, dt, scheme=scheme, sign=sign)
        return KleinGordonModel(net, theory, "momentum", conserved_quantities(network, net.scheme.name, sign))
    if network == "3.14":
        declared = conserved_quantities(network, "leapfrog", sign)
        return KleinGordonModel(leapfrog_network(lattice, m, dt), theory, "previous", declared)
    raise ParameterError("network", f"expected '3.8' or '3.14', got {network!r}")
