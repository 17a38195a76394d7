r"""The physics side of Maxwell-Dirac on the lattice (temporal gauge), written independently of the network.

Complex spinor ``psi = (u, v)`` (``K`` complex components, ``u`` and ``v`` ``K/2`` each, (4.30)), links
``exp(i q a A)``, ``E = dA/dt`` (the u1 core's convention), the complex ``X~_mu`` of (4.29) (``X~_0 = -i``)::

    H = a^D sum_x [ E^2/2 + (1/(q^2 a^4)) sum_{mu<nu} (1 - cos(q a^2 F)) + m (|u|^2 - |v|^2) + 2 Re(i u^dagger (b v)) ]

    forward: (b v)(x) = sum_mu X~_mu (exp(i q a A_mu(x)) v(x + mu) - v(x)) / a
    wilson:  (b v)(x) = sum_mu [X~_mu (e^{i q a A_mu(x)} v(x+mu) - e^{-i q a A_mu(x-mu)} v(x-mu)) / (2a)
                         - i (r/(2a)) (2 v(x) - e^{i q a A_mu(x)} v(x+mu) - e^{-i q a A_mu(x-mu)} v(x-mu))]

i.e. ``i d_t psi = h psi`` with ``h = [[m, i b], [-i b^dagger, -m]]``, the continuum limit of the network (5.10).
Canonical data (so that :meth:`~nnfield.model.AbstractTheory.equations`, ``jax.grad`` of :meth:`hamiltonian`,
are Hamilton's equations with ``c = 1``): ``phi = (A_1..A_D, Q)``, ``pi = (E_1..E_D, P)`` with ``psi = (Q + i P) /
sqrt(2)``. Gauss's law: ``div E = q |psi|^2 - rho_0`` with a uniform static background ``rho_0`` (the classical
Dirac charge ``|psi|^2`` is positive; the torus needs a neutral total); the equations keep it exactly.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..u1 import U1Theory


class MaxwellDirac(U1Theory):
    """Maxwell-Dirac (see the module docstring): ``m``, the charge ``q``, ``Xc`` the complex ``X~_1..X~_D``
    (``(D, K/2, K/2)``), ``kind`` ``"forward"`` or ``"wilson"`` (Wilson parameter ``r``)."""

    m: Any = 0.0
    Xc: Any = None
    kind: str = eqx.field(static=True, default="forward")
    r: float = eqx.field(static=True, default=1.0)

    def spinor(self, Q: jax.Array, P: jax.Array) -> jax.Array:
        """``psi = (Q + i P) / sqrt(2)``."""
        return (Q + 1j * P) / jnp.sqrt(2.0)

    def b(self, A: jax.Array, v: jax.Array) -> jax.Array:
        """The covariant forward (or Wilson) difference ``b v`` of the module docstring, links ``exp(i q a A)``,
        computed in the precision of ``v``."""
        a, q = self.lattice.spacing, self.charge
        out = jnp.zeros_like(v)
        for mu in range(A.shape[0]):
            ax = 1 + mu
            up = jnp.exp(1j * q * a * A[mu])[None] * jnp.roll(v, -1, ax)
            # in the spinor's precision: the builder stores X~ as complex128 NumPy, which promoted a float32
            # (complex64) state's hopping, hence the recorded energy, to complex128
            X = jnp.asarray(self.Xc[mu], v.dtype)
            if self.kind == "forward":
                out = out + jnp.einsum("ab,b...->a...", X, up - v) / a
            else:
                down = jnp.roll(jnp.exp(-1j * q * a * A[mu])[None] * v, 1, ax)
                out = out + jnp.einsum("ab,b...->a...", X, up - down) / (2 * a)
                out = out - 1j * self.r / (2 * a) * (2 * v - up - down)
        return out

    def density(self, A: jax.Array, Q: jax.Array, P: jax.Array) -> jax.Array:
        """``psi^dagger h psi`` per site."""
        psi = self.spinor(Q, P)
        h = psi.shape[0] // 2
        u, v = psi[:h], psi[h:]
        mass = self.m * (jnp.sum(jnp.abs(u) ** 2, axis=0) - jnp.sum(jnp.abs(v) ** 2, axis=0))
        return mass + 2.0 * jnp.real(jnp.sum(1j * jnp.conj(u) * self.b(A, v), axis=0))

    def matter_energy(self, A: jax.Array, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """``a^D sum psi^dagger h psi`` of the spinor ``(Q, P) = (phi, pi)`` in the field ``A``."""
        return self.lattice.cell_volume * jnp.sum(self.density(A, phi, pi))

    def charge_density(self, Q: jax.Array, P: jax.Array) -> jax.Array:
        """``q |psi|^2``."""
        return self.charge * 0.5 * jnp.sum(Q**2 + P**2, axis=0)
