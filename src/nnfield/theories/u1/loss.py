r"""The gauge field's own loss: the Wilson plaquette (magnetic) energy, and the protocol of a matter sector.

    L_W(theta) = (1 / (q^2 a^4)) sum_x sum_{mu < nu} (1 - cos P_{mu nu}(x))          (P: :func:`~._lattice.plaquettes`)

is ``1/a^D`` times the magnetic energy ``a^D sum B^2/2 + O(a^2)`` (``P = a^2 q F``); it is gauge invariant exactly
(``P`` changes by nothing under a gauge transformation). The learning of the links is ``jax.grad`` of the total
loss ``L_W + L_matter`` (:class:`~.network.GaugeNetwork`).

A matter sector (:class:`AbstractMatter`) is a Sec. 3/4 network whose loss depends on the links: it declares its
activation (``phi <- phi + h B pi``), its gauge-invariant loss ``L_m(theta, phi)``, its charge density and its
local U(1) rotation; the scalar of :mod:`nnfield.theories.scalar_qed` is one, a Dirac sector can be another.
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..._module import Module
from ...state import State
from ._lattice import plaquette_planes


class WilsonLoss(Module):
    """``(1/(q^2 a^4)) sum (1 - cos P)`` (see the module docstring); ``charge`` q, ``spacing`` a; ``minor``: the CPU
    lowering of the plaquettes' shifts along the contiguous axis (:func:`nnfield.operators.shift`; the same values
    either way): ``"pad"``, or ``"repeat"`` where the network's matter asks for it (:attr:`AbstractMatter.minor`)."""

    charge: Any
    spacing: float = eqx.field(static=True, default=1.0)
    minor: str = eqx.field(static=True, default="pad")

    def __call__(self, theta: Any) -> jax.Array:
        """``theta``: ``(D, *shape)`` or a sequence of the ``D`` link components."""
        zero = jnp.zeros((), jnp.result_type(theta[0]))  # JAX's dtype: float32 for float64 data without x64
        total = sum((jnp.sum(1.0 - jnp.cos(P)) for P in plaquette_planes(theta, self.minor)), zero)
        return total / (self.charge**2 * self.spacing**4)


class AbstractMatter(Module):
    """A charged matter sector of a :class:`~.network.GaugeNetwork` (the links enter its loss).

    ``K`` neuron types per site; ``State(phi, pi)`` of shape ``(K, *shape)`` each. The network's learning is
    ``jax.grad`` of ``loss`` through the activation map (single-step backprop ``d phi / d pi = B``).
    """

    @property
    @abc.abstractmethod
    def K(self) -> int:
        """Neuron types per site."""

    @property
    def minor(self) -> str:
        """The CPU lowering of the contiguous-axis shifts in this sector's loss and in its network's Wilson loss
        (:func:`nnfield.operators.shift`'s ``minor``; the same values either way, a choice of speed): ``"pad"``
        unless a sector declares otherwise (the charged scalar: ``"repeat"``)."""
        return "pad"

    @abc.abstractmethod
    def bias(self, pi: jax.Array) -> jax.Array:
        """``beta = B pi`` (the activation is ``phi <- phi + h beta``)."""

    @abc.abstractmethod
    def loss(self, theta: Any, phi: jax.Array) -> jax.Array:
        """The gauge-invariant matter loss ``L_m(theta, phi)`` (``1/a^D`` times its potential energy); ``theta`` is
        ``(D, *shape)`` or a sequence of the ``D`` link components."""

    @abc.abstractmethod
    def charge_density(self, state: State) -> jax.Array:
        """``rho(x)`` (physical units) whose Gauss law ``div E = rho`` the dynamics keeps."""

    @abc.abstractmethod
    def densities(self, theta: jax.Array, state: State) -> dict[str, jax.Array]:
        """Gauge-invariant per-site densities, ``{name: (*shape)}``; ``"energy"`` is the matter's energy density
        (kinetic + hopping + potential, physical units) whose ``a^D`` sum is its energy."""

    @abc.abstractmethod
    def charge_scale(self, state: State) -> jax.Array:
        """A charge density the matter could carry (the Gauss residual's floor; e.g. ``|q| max |Phi|^2 / a``)."""

    @abc.abstractmethod
    def vacuum(self, shape: tuple[int, ...], dtype: Any) -> State:
        """The ground state about which the linear analysis perturbs."""
