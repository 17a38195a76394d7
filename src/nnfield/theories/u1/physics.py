r"""The physics side of lattice U(1) gauge theories (Kogut-Susskind Hamiltonian, temporal gauge ``A_0 = 0``).

Written independently of the network code (``jnp.roll``, complex numbers, the vector potential ``A`` in physical
units). Canonical data, packed: ``phi = (A_1..A_D [, matter phi])``, ``pi = (E_1..E_D [, matter pi])`` with
``E = dA/dt`` (CosmoLattice's ``E_i = F_0i``), each ``(K, *shape)``:

    H = a^D sum_x [ sum_mu E_mu^2 / 2 + (1 / (q^2 a^4)) sum_{mu<nu} (1 - cos(q a^2 F_{mu nu})) ] + H_matter
    F_{mu nu}(x) = (A_nu(x + mu) - A_nu(x) - A_mu(x + nu) + A_mu(x)) / a

Hamilton's equations come from :meth:`~nnfield.model.AbstractTheory.equations` (``jax.grad``); the reference
solver is SciPy's DOP853 on them (small lattices; tolerance ``1e-12``). The Gauss law ``div E = rho`` is a
constraint the equations keep (it generates the time-independent gauge transformations).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._module import Module
from ...lattice import Lattice
from ...model import AbstractTheory


def field_strength(A: jax.Array, spacing: float) -> list[jax.Array]:
    """``F_{mu nu}`` for ``mu < nu`` (forward differences, ``jnp.roll``)."""
    D = A.shape[0]
    out = []
    for mu in range(D):
        for nu in range(mu + 1, D):
            out.append((jnp.roll(A[nu], -1, mu) - A[nu] - jnp.roll(A[mu], -1, nu) + A[mu]) / spacing)
    return out


class U1Theory(Module, AbstractTheory):
    """Compact lattice U(1) in temporal gauge, plus the matter energy of a subclass (:meth:`matter_energy`)."""

    charge: Any
    lattice: Lattice = eqx.field(static=True)

    def gauge_energy(self, A: jax.Array, E: jax.Array) -> jax.Array:
        """``a^D sum [E^2/2 + (1 - cos(q a^2 F)) / (q^2 a^4)]``, with ``1 - cos x`` computed as ``2 sin^2(x/2)`` (no
        cancellation for a weak field: in float32, ``1 - cos x`` made a plane wave's energy 5.5e-5 off)."""
        a, q = self.lattice.spacing, self.charge
        mag = sum(jnp.sum(2.0 * jnp.sin(0.5 * q * a**2 * F) ** 2) for F in field_strength(A, a)) / (q**2 * a**4)
        return self.lattice.cell_volume * (0.5 * jnp.sum(E**2) + mag)

    def matter_energy(self, A: jax.Array, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """The matter's energy in the field ``A`` (none for pure Maxwell)."""
        return jnp.zeros((), jnp.result_type(A))

    def hamiltonian(self, phi: Any, pi: Any) -> jax.Array:
        """``H`` of the packed canonical data (the module docstring): the gauge field's energy plus the matter's."""
        D = self.lattice.ndim
        phi, pi = jnp.asarray(phi), jnp.asarray(pi)
        return self.gauge_energy(phi[:D], pi[:D]) + self.matter_energy(phi[:D], phi[D:], pi[D:])

    def reference(self, phi: Any, pi: Any, t: float) -> tuple[np.ndarray, np.ndarray]:
        """DOP853 (SciPy, ``rtol = atol = 1e-12``) on Hamilton's equations from ``jax.grad`` of :meth:`hamiltonian`."""
        from scipy.integrate import solve_ivp

        shape = np.shape(phi)
        n = int(np.prod(shape))
        rhs = jax.jit(lambda y: jnp.concatenate([x.ravel() for x in self.equations(
            y[:n].reshape(shape), y[n:].reshape(shape))]))
        y0 = np.concatenate([np.ravel(phi), np.ravel(pi)]).astype(float)
        sol = solve_ivp(lambda _, y: np.asarray(rhs(y)), (0.0, t), y0, method="DOP853",
                        rtol=1e-12, atol=1e-12)
        if not sol.success:  # pragma: no cover
            raise RuntimeError(f"DOP853 failed: {sol.message}")
        y = sol.y[:, -1]
        return y[:n].reshape(shape), y[n:].reshape(shape)
