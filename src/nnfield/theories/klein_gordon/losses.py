r"""The losses of the two Klein-Gordon networks (paper Sec. 3); learning is ``jax.grad`` of these.

- :class:`LaplacianLoss`, (3.11) with spacing: ``H = -1/2 phi.Lap_a phi + m^2/2 phi.phi`` (times ``sign``;
  ``-1`` is the printed sign of A in (3.8)); with ``W = B = I`` autodiff learning gives (3.10)
  ``pi <- pi + dt (Lap_a - m^2) phi``. The Laplacian is of order 2 in ``a``.
- :class:`SquaredNormLoss`, (3.18): ``H = 1/2 phi.phi + 1/2 beta.beta`` with ``beta = B pi = pi``; with unit
  learning rate ``pi(t + dt) = -phi(t)`` (3.17).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..._module import Module
from ...operators import laplacian


class LaplacianLoss(Module):
    """Loss (3.11) with spacing: ``H = -1/2 phi.Lap_a phi + m^2/2 phi.phi`` (times ``sign``: -1 = printed A)."""

    m: Any
    sign: float
    spacing: float = eqx.field(static=True, default=1.0)

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        lap = laplacian(phi.ndim - 1, self.spacing)
        return self.sign * (-0.5 * jnp.sum(phi * lap.apply(phi)) + 0.5 * self.m**2 * jnp.sum(phi * phi))


class SquaredNormLoss(Module):
    """Loss (3.18): ``H = 1/2 phi.phi + 1/2 beta.beta`` with ``beta = B pi = pi``."""

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(phi * phi) + 0.5 * jnp.sum(pi * pi)
