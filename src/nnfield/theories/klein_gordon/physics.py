r"""The physics side of the Klein-Gordon field (paper Sec. 3), written independently of the network code.

    Hamiltonian (3.3)/(3.5):  H = a^D sum_i [ pi_i^2/2 + sum_mu (phi_{i+e_mu} - phi_i)^2/(2 a^2) + m^2 phi_i^2/2 ]
    Hamilton's equations (3.2)/(3.4): d phi/dt = pi,  d pi/dt = Lap_a phi - m^2 phi  (by ``jax.grad`` of H)
    exact lattice solution: each Fourier mode rotates with omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)
    exact continuum solution (band-limited data): omega_k^2 = m^2 + |k|^2.

The Laplacian here is ``jnp.roll`` (independent of :mod:`nnfield.operators`); the spatial discretization is of
order 2 in ``a``, the reference solution is exact in time.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_number
from ..._module import Module
from ...lattice import Lattice
from ...model import AbstractTheory, check_field_shapes


def lap_roll(phi: jax.Array, a: float) -> jax.Array:
    """Nearest-neighbour Laplacian by ``jnp.roll`` over all axes of ``phi`` (independent of operators), O(a^2)."""
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
        check_field_shapes(self.lattice, 1, phi, pi)
        a = self.lattice.spacing
        f = phi[0]
        grad2 = sum(((jnp.roll(f, -1, ax) - f) / a) ** 2 for ax in range(f.ndim))
        dens = 0.5 * pi[0] ** 2 + 0.5 * grad2 + 0.5 * self.m**2 * f**2
        return self.lattice.cell_volume * jnp.sum(dens)

    def exact(self, phi0: Any, pi0: Any, t: float, continuum: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Exact solution at time ``t`` by spectral propagation (lattice dispersion, or continuum); ``t`` finite."""
        check_field_shapes(self.lattice, 1, phi0, pi0)
        check_number("t", t)
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
