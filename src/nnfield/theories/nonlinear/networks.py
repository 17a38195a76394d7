r"""The nonlinear-field network: ``W = I``, ``B = I`` (as (3.8)) with a loss in the (3.11) style.

    ``H(phi, pi) = sum_mu sum_i (phi_{i+e_mu} - phi_i)^2 / (2 a^2) + sum_i V(phi_i)``

(``= -1/2 phi.Lap_a phi + sum V(phi)`` by summation by parts), so autodiff learning is
``pi <- pi + dt (Lap_a phi - V'(phi))``: of the order of the scheme in dt (1 simultaneous/alternating,
2 leapfrog, 4 yoshida4) and of order 2 in a (the Laplacian).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..._deprecation import positional_options
from ..._module import Module
from ...lattice import Lattice
from ...network import Network, as_pytree_callable
from ...operators import forward_difference, identity
from ...schemes import Scheme
from .physics import edge


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
                d = d + self.twist * jnp.asarray(edge(phi.shape, 1, phi.shape[1] - 1), phi.dtype)
            grad2 = grad2 + jnp.sum(d * d)
        return 0.5 * grad2 / self.spacing**2 + jnp.sum(self.potential(phi))


@positional_options
def network(
    lattice: Lattice, potential: Any, dt: float, *, scheme: str | Scheme = "leapfrog", twist: float = 0.0,
    name: str = "nonlinear field", ground: Any = None,
) -> Network:
    """The network W = I, B = I with loss :class:`NonlinearLoss`; learning ``pi <- pi + dt (Lap phi - V'(phi))``.
    ``ground``: the uniform vacuum ``phi_0`` (``V'(phi_0) = 0``) its linear analysis is taken about (default 0)."""
    nd = lattice.ndim
    loss = NonlinearLoss(as_pytree_callable(potential), lattice.spacing, float(twist), lattice.shape)
    return Network.create(lattice, identity(nd), identity(nd), loss, dt, scheme, name=name, ground=ground)
