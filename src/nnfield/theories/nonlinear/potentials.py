r"""Local potentials ``V(phi)`` of the nonlinear scalar fields (elementwise, JAX-traceable PyTree callables).

``V'`` and ``V''`` are never written: the loss and the Hamiltonian use ``V``, autodiff does the rest. Any other
elementwise PyTree callable works too (e.g. a safe-parsed expression, :class:`nnfield.duality.parse.ExprFunction`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..._module import Module


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
