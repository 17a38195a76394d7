r"""The charged scalar as a matter sector of the gauge network: the Sec. 3 network with two neuron types.

``phi = (phi_1, phi_2)`` (``Phi = phi_1 + i phi_2``, the complex field ``phi = Phi / sqrt(2)`` with
``|phi|^2 = (phi_1^2 + phi_2^2)/2``), activation ``phi <- phi + h pi`` (``W = B = I``), learning by ``jax.grad`` of the
gauge-invariant loss (``1/a^D`` times the potential energy; each link is the X_0 power ``X_0^(2 theta / pi)`` of
Sec. 5, a rotation of the neighbour's two types):

    L_m(theta, phi) = sum_x [ sum_mu |U_mu(x) Phi(x + mu) - Phi(x)|^2 / (2 a^2) + V ],
    V = m^2 |phi|^2 + lambda (|phi|^2 - v^2)^2

Gauss's law pairs ``div E`` with ``rho = q (pi_1 phi_2 - pi_2 phi_1)`` (the Noether charge of ``Phi -> exp(i chi)
Phi`` with ``E = dA/dt``; ``docs/gauge_dynamics.md``).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ...state import State
from ..u1 import AbstractMatter
from ..u1._lattice import forward


def vev(lam: float, v: float, m: float) -> float:
    """The vacuum ``|phi| = v_e``: ``v_e^2 = v^2 - m^2 / (2 lambda)`` when positive (Higgs phase), else 0."""
    if lam <= 0:
        return 0.0
    return float(max(v**2 - m**2 / (2 * lam), 0.0) ** 0.5)


class ScalarMatter(AbstractMatter):
    """The charged scalar (see the module docstring): ``lam`` lambda, ``v``, ``m``, the charge ``q``, spacing ``a``."""

    lam: Any
    v: Any
    m: Any
    charge: Any
    spacing: float = eqx.field(static=True, default=1.0)
    v_e: float = eqx.field(static=True, default=0.0)
    #: the contiguous-axis shifts of the hopping and of the network's Wilson loss as a slice of the field repeated
    #: twice, not slice/pad/select (the same values): XLA:CPU materialized each wrapped edge of the latter in the
    #: learning gradient as a field-sized temporary, 10 of the 16 field-sized fusions of a 3D tick; 1.05-1.19x
    #: faster at 8^3-64^3 (``benchmarks/gauge_lowering.py``, ``docs/performance.md``, "Session 32")
    minor: str = eqx.field(static=True, default="repeat")

    @property
    def K(self) -> int:
        """2 neuron types per site (``phi_1``, ``phi_2``)."""
        return 2

    def bias(self, pi: jax.Array) -> jax.Array:
        """``B pi = pi`` (``B = I`` of (3.8); the activation is ``phi <- phi + h pi``, (3.9))."""
        return pi

    def potential(self, phi: jax.Array) -> jax.Array:
        """``V`` per site."""
        r2 = 0.5 * (phi[0] ** 2 + phi[1] ** 2)
        return self.m**2 * r2 + self.lam * (r2 - self.v**2) ** 2

    def hopping(self, theta: Any, phi: jax.Array) -> jax.Array:
        """``sum_mu |U Phi(x + mu) - Phi(x)|^2 / (2 a^2)`` per site (the link rotates the neighbour's two types);
        ``theta`` is ``(D, *shape)`` or a sequence of the ``D`` components."""
        D = len(theta)
        out = jnp.zeros(phi.shape[1:], jnp.result_type(phi))
        for mu in range(D):
            c, s = jnp.cos(theta[mu]), jnp.sin(theta[mu])
            n1, n2 = forward(phi[0], mu, D, self.minor), forward(phi[1], mu, D, self.minor)
            d1 = c * n1 - s * n2 - phi[0]
            d2 = s * n1 + c * n2 - phi[1]
            out = out + (d1**2 + d2**2)
        return out / (2 * self.spacing**2)

    def loss(self, theta: Any, phi: jax.Array) -> jax.Array:
        """``L_m(theta, phi)``: the covariant hopping plus the potential, summed over sites (the module docstring)."""
        return jnp.sum(self.hopping(theta, phi) + self.potential(phi))

    def charge_density(self, state: State) -> jax.Array:
        """``rho = q (pi_1 phi_2 - pi_2 phi_1)`` per site."""
        phi, pi = state.phi, state.pi
        return self.charge * (pi[0] * phi[1] - pi[1] * phi[0])

    def charge_scale(self, state: State) -> jax.Array:
        """``|q| max (phi_1^2 + phi_2^2) / a``: the charge density of the field rotating at the lattice frequency."""
        return jnp.abs(self.charge) * jnp.max(state.phi[0] ** 2 + state.phi[1] ** 2) / self.spacing

    def densities(self, theta: jax.Array, state: State) -> dict[str, jax.Array]:
        """Per site: ``energy`` (kinetic + hopping + potential), ``phi_abs2`` ``|phi|^2``, ``kinetic_energy``,
        ``gradient_energy``, ``potential_energy``."""
        phi, pi = state.phi, state.pi
        kin = 0.5 * (pi[0] ** 2 + pi[1] ** 2)
        hop = self.hopping(theta, phi)
        pot = self.potential(phi)
        return {"energy": kin + hop + pot, "phi_abs2": 0.5 * (phi[0] ** 2 + phi[1] ** 2), "kinetic_energy": kin,
                "gradient_energy": hop, "potential_energy": pot}

    def vacuum(self, shape: tuple[int, ...], dtype: Any) -> State:
        """``phi_1 = sqrt(2) v_e``, ``phi_2 = pi = 0`` (the Higgs vacuum; ``phi = 0`` in the symmetric phase)."""
        phi = jnp.zeros((2, *shape), dtype).at[0].set(jnp.sqrt(2.0) * self.v_e)
        return State(phi, jnp.zeros((2, *shape), dtype))
