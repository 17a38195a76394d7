r"""Losses of the Dirac networks (paper Sec. 4); the learning dynamics is their autodiff gradient.

- :class:`LearningMatrixLoss` (4.3): ``H = 1/2 phi.phi + 1/2 pi.pi - 1/2 pi.V pi``; gives ``A = -B^T`` (4.5).
- :class:`ScalarMassLoss` (4.12): ``H = 1/2 phi.phi + 1/2 pi.(W - I) pi``; gives (4.11) only for ``W = W^T``.
- :class:`PerTypeLoss` (4.14): one loss per neuron type, ``H_a``, each type descending its own (corrected,
  printed and printed-summed readings by :func:`per_type_loss`).

Dots sum over sites and components. The losses are exact (no discretization error of their own).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ... import network as network_mod
from ..._module import Module
from ...errors import ParameterError
from ...operators import LatticeOperator, apply_local, half_sum_of_squares, nonzero_pattern

#: the per-type readings of (4.14) and the scalar loss (4.12) (``paper_network(loss=...)``)
LOSSES = ("corrected", "printed", "printed_summed", "4.12")


def _in_dtype(C: Any, dtype: Any) -> Any:
    """``C`` in the field's precision (NumPy coefficients stay NumPy: their entries fold into constants)."""
    if isinstance(C, np.ndarray):
        return C.astype(dtype)
    return jnp.asarray(C, dtype)


def _site_axes(f: jax.Array) -> tuple[int, ...]:
    return tuple(range(1, f.ndim))


class LearningMatrixLoss(Module):
    """Loss (4.3): ``H = 1/2 phi.phi + 1/2 pi.pi - 1/2 pi.V pi`` (``V`` a lattice operator). Gives ``A = -B^T`` (4.5)
    and the learning matrix ``V`` (its symmetric part, if ``V`` is not symmetric)."""

    V: LatticeOperator

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(phi * phi) + 0.5 * jnp.sum(pi * pi) - 0.5 * jnp.sum(pi * self.V.apply(pi))


class ScalarMassLoss(Module):
    """Loss (4.12): ``H = 1/2 phi.phi - 1/2 pi.pi + 1/2 pi.W pi = 1/2 phi.phi + 1/2 pi.(W - I) pi``.

    Gives (4.11) only for symmetric ``W``: autodiff yields ``B^T phi + sym(W - I) pi`` (for the antisymmetric
    mass weight ``W - I = m X_0`` the mass term is lost).
    """

    W_minus_I: LatticeOperator

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(phi * phi) + 0.5 * jnp.sum(pi * self.W_minus_I.apply(pi))


class PerTypeLoss(network_mod.SplitPerTypeLoss):
    """Per-type losses ``H_a`` (a = 1..K), returned as a ``(K,)`` vector; type ``a`` descends ``H_a`` w.r.t. ``pi^a``.

    ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a``   (``phi_sum=True``)
    ``H_a = 1/2 phi^a.phi^a       + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a``   (``phi_sum=False``, as printed in 4.14)

    (dots sum over sites). ``C`` is a constant ``(K, K)`` matrix or one per site, ``(K, K, *shape)`` (the
    gauged networks of Sec. 5). With ``phi_sum`` autodiff gives ``dH_a/dpi^a = (B^T phi)^a + (C pi)^a``: the
    learning update ``pi <- pi - dt (B^T phi + C pi)``. ``C = m X_0`` is the corrected (4.14) (``C_aa = 0``);
    ``C = -m X_0`` with ``phi_sum=False`` is (4.14) as printed.

    As a :class:`~nnfield.network.SplitPerTypeLoss` it declares its shared part ``S = 1/2 phi.phi``
    (``phi_sum=True``; none otherwise) and its own part
    ``h_a = [1/2 phi^a.phi^a] + pi^a.(C_off frozen)^a + 1/2 C_aa pi^a.pi^a`` (``C_off``: ``C`` without its
    diagonal), so the learning gradient is one autodiff pass. ``C`` is applied entry by entry over its static
    nonzero pattern (``pattern``, taken from ``C`` when it is concrete; every entry otherwise).
    """

    C: Any
    phi_sum: bool = eqx.field(static=True, default=True)
    pattern: tuple[tuple[int, int], ...] = eqx.field(static=True, default=())

    def __init__(self, C: Any, phi_sum: bool = True, pattern: tuple[tuple[int, int], ...] | None = None):
        self.C = C
        self.phi_sum = phi_sum
        self.pattern = nonzero_pattern(C) if pattern is None else tuple(pattern)

    def shared(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """``S = 1/2 sum_b phi^b.phi^b`` (``phi_sum=True``), else 0."""
        if self.phi_sum:
            return half_sum_of_squares(phi)
        return jnp.zeros((), jnp.result_type(phi))

    def own(self, phi: jax.Array, pi: jax.Array, frozen: jax.Array) -> jax.Array:
        """``h_a = [1/2 phi^a.phi^a] + pi^a.(C_off frozen)^a + 1/2 C_aa pi^a.pi^a`` (no sum over ``a``).

        Written on whole ``(K, *shape)`` fields (only ``frozen``, which is not differentiated, is read per
        component), so that the reverse pass has no per-component slices to transpose.
        """
        dtype = jnp.result_type(pi)  # the dtype JAX has (float32 for NumPy float64 data without x64)
        C = _in_dtype(self.C, dtype)
        K, nd = pi.shape[0], pi.ndim - 1
        rows = []
        for a in range(K):
            acc = None
            for aa, b in self.pattern:
                if aa == a and b != a:
                    t = C[a, b] * frozen[b]
                    acc = t if acc is None else acc + t
            rows.append(jnp.zeros(pi.shape[1:], dtype) if acc is None else jnp.broadcast_to(acc, pi.shape[1:]))
        dens = pi * jnp.stack(rows)
        diag = [a for a in range(K) if (a, a) in self.pattern]
        if diag:
            if np.ndim(C) == 2:
                cd = jnp.asarray([C[a, a] if a in diag else 0.0 for a in range(K)], dtype).reshape((K,) + (1,) * nd)
            else:
                cd = jnp.stack([C[a, a] if a in diag else jnp.zeros(pi.shape[1:], dtype) for a in range(K)])
            dens = dens + 0.5 * cd * jnp.square(pi)  # gradient cd pi, with no (x + x) / 2 (half_sum_of_squares)
        if not self.phi_sum:
            dens = dens + 0.5 * jnp.square(phi)  # its gradient is phi, with no copy pass (half_sum_of_squares)
        return jnp.sum(dens, axis=_site_axes(pi))

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        # The operations keep the order of the first release (the cotangents of ``pi`` are accumulated in
        # reverse order of use, so reordering them changes the last bit of the learning gradient).
        ax = _site_axes(pi)
        C = jnp.asarray(self.C, jnp.result_type(pi))  # the dtype JAX has (NumPy float64 data without x64)
        if C.ndim == 2:
            quad = jnp.sum(pi * apply_local(C, pi), axis=ax) - 0.5 * jnp.diagonal(C) * jnp.sum(pi * pi, axis=ax)
        else:  # per-site C: the diagonal C_aa(x) stays inside the site sum
            diag = jnp.moveaxis(jnp.diagonal(C, axis1=0, axis2=1), -1, 0)
            quad = jnp.sum(pi * apply_local(C, pi), axis=ax) - 0.5 * jnp.sum(diag * pi * pi, axis=ax)
        if self.phi_sum:
            phiterm = 0.5 * jnp.sum(phi * phi) * jnp.ones(phi.shape[0], jnp.result_type(phi))
        else:
            phiterm = 0.5 * jnp.sum(phi * phi, axis=ax)
        return phiterm + quad


def per_type_loss(X0: Any, m: float, form: str = "corrected") -> PerTypeLoss:
    """The per-type loss of (4.14): ``form="corrected"`` (gives (4.11)), ``"printed"``, ``"printed_summed"``."""
    X0 = np.asarray(X0, dtype=float)
    if form == "corrected":
        return PerTypeLoss(m * X0, True)
    if form == "printed":
        return PerTypeLoss(-m * X0, False)
    if form == "printed_summed":
        return PerTypeLoss(-m * X0, True)
    raise ParameterError("form", f"expected one of {LOSSES[:3]}, got {form!r}; e.g. form=\"corrected\"")
