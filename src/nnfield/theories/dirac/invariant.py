r"""The exact quadratic invariant of the stable Dirac network (:func:`~.networks.stable_network`).

    I = |phi|^2 + |pi|^2 + h phi.((I - tan(mh/2) X_0) B pi)                      (a modified charge)

conserved to round-off by the map ``phi' = R phi + h B pi``, ``pi' = R^T pi - h B^T phi'`` (no truncation
error: an identity of the discrete map). Positive definite exactly below the stability bound
``h sigma_max(B) < 2 cos(mh/2)``; it differs from the charge ``|phi|^2 + |pi|^2`` by O(h).

The observable ``invariant`` that a run records is ``a^D I`` (``DiracModel.invariant``): the normalization of
the charge ``a^D sum |psi|^2``, so that it tends to the recorded ``charge`` as ``h -> 0`` (``docs/observables.md``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ...operators import LatticeOperator, apply_local


def stable_invariant(B: LatticeOperator, dt: Any, tan_half: Any, X0: Any, phi: jax.Array, pi: jax.Array) -> jax.Array:
    """``|phi|^2 + |pi|^2 + h phi.((I - tan(mh/2) X_0) B pi)``: conserved exactly by the stable network.

    Per mode (singular value ``sigma`` of ``B``, ``X_0 -> -i``) the map is ``a' = e^{-i theta} a + s b``,
    ``b' = e^{i theta} b - s a'`` (``theta = mh``, ``s = h sigma``), which preserves
    ``|a|^2 + |b|^2 + s Re(a* b e^{i theta/2}) / cos(theta/2)``; ``e^{i theta/2}/cos(theta/2)`` is the spinor form
    of ``I - tan(theta/2) X_0`` (derived per mode: ``Q = [[1, q], [q*, 1]]``,
    ``q = (h sigma / 2) exp(i mh/2) / cos(mh/2)``). ``tan_half = tan(theta/2)`` (of the realized rotation, see
    :func:`~.networks.orthogonal_rates`).
    """
    Bpi = B.apply(pi)
    corr = Bpi - tan_half * apply_local(jnp.asarray(X0, jnp.result_type(Bpi)), Bpi)
    return jnp.sum(phi * phi) + jnp.sum(pi * pi) + dt * jnp.sum(phi * corr)
