r"""The physics side of scalar QED (the Abelian Higgs model) on the lattice, written independently of the network.

Complex ``phi = (phi_1 + i phi_2) / sqrt(2)``, links ``U = exp(i q a A)``, ``E = dA/dt``, temporal gauge:

    H = a^D sum_x [ E^2/2 + (1/(q^2 a^4)) sum_{mu<nu} (1 - cos(q a^2 F)) + |pi_phi|^2
                    + sum_mu |U_mu(x) phi(x + mu) - phi(x)|^2 / a^2 + m^2 |phi|^2 + lambda (|phi|^2 - v^2)^2 ]

(``|pi_phi|^2 = (pi_1^2 + pi_2^2)/2``). Tree level about the Higgs vacuum ``|phi| = v_e`` (``v_e^2 = v^2 - m^2 /
(2 lambda)``): ``m_A = sqrt(2) q v_e``, ``m_H = 2 sqrt(lambda) v_e``; in the symmetric phase (``v_e = 0``) the
scalar has ``M^2 = m^2 - 2 lambda v^2`` and the photon is massless.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..u1 import U1Theory


class ScalarQED(U1Theory):
    """The Abelian Higgs model (see the module docstring); ``lam`` lambda, ``v``, ``m`` and the charge ``q``."""

    lam: Any = 0.0
    v: Any = 0.0
    m: Any = 0.0

    def matter_energy(self, A: jax.Array, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """The scalar's energy in the field ``A``: kinetic, covariant hopping and potential (the module docstring)."""
        a, q = self.lattice.spacing, self.charge
        f = (phi[0] + 1j * phi[1]) / jnp.sqrt(2.0)
        hop = 0.0
        for mu in range(A.shape[0]):
            hop = hop + jnp.abs(jnp.exp(1j * q * a * A[mu]) * jnp.roll(f, -1, mu) - f) ** 2
        r2 = jnp.abs(f) ** 2
        dens = 0.5 * (pi[0] ** 2 + pi[1] ** 2) + hop / a**2 + self.m**2 * r2 + self.lam * (r2 - self.v**2) ** 2
        return self.lattice.cell_volume * jnp.sum(dens)
