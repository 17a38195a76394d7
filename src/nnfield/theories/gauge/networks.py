r"""Dirac networks with exact link variables (Wilson / Kogut-Susskind form): covariant to round-off.

One tick is the Dirac network's tick of Sec. 4 with the gauged bias map ``B(U)`` (learning by autodiff of its
per-type loss, so the learning update keeps the form ``pi <- ... - dt B(U)^T phi``) followed by the temporal
parallel transport ``(phi, pi) <- U0 (phi, pi)``: the last layer of the tick has the site-local weight ``U0``.
For the stable network (alternating scheme)::

    phi(t+1) = U0 (R phi + dt B(U) pi),      pi(t+1) = U0 (R^T pi - dt B(U)^T U0^-1 phi(t+1))

(``R = X_0^(2 m dt / pi)``); for the paper network (4.26) with ``B(U)`` (simultaneous scheme), then ``U0``.
Under ``U_mu,i -> G_i U_mu,i G_{i+e_mu}^-1`` and ``U0_i -> G_i(t+1) U0_i G_i(t)^-1`` the tick is covariant to
round-off. ``U0`` enters ``phi`` and ``pi`` with the same sign: a potential (``i d_t psi = ... + q A0 psi``), not a
mass. The continuum limit is (5.10), ``i d_t psi = [alpha.(-i grad - q A) + beta m + q A0] psi``; order 1 in dt
(both networks) and in a (forward and Wilson bias maps).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._deprecation import positional_options, renamed_arguments
from ...errors import ParameterError
from ...lattice import Lattice
from ...network import AbstractNetwork, Network
from ...operators import apply_local
from ...state import State
from .. import clifford, dirac
from .bias import gauged_bias_map
from .links import U1Links, check_links, x0_power


class GaugedNetwork(AbstractNetwork):
    """A Dirac network with link variables: the inner network's tick, then the temporal transport by ``U0``.

    ``inner`` is a :class:`~nnfield.network.Network` whose bias map is ``B(U)``; ``U0`` is ``(K, K)`` (uniform)
    or ``(K, K, *shape)`` per site, or ``None`` (no temporal link). Offers exactly the
    :class:`~nnfield.network.AbstractNetwork` interface; ``U0`` sits between ticks, so ``advance`` is the loop of
    :meth:`step` (nothing to fuse for the alternating and simultaneous schemes). The state keeps its dtype
    (``U0`` is applied in it, as the inner network applies its coefficients).
    """

    inner: Network
    U0: Any
    name: str = eqx.field(static=True, default="gauged dirac")

    @property
    def lattice(self) -> Lattice:
        return self.inner.lattice

    @property
    def K(self) -> int:
        return self.inner.K

    @property
    def dt(self) -> Any:
        return self.inner.dt

    @property
    def tick(self) -> Any:
        return self.inner.tick

    @property
    def order(self) -> int:
        return self.inner.order

    @property
    def loop_unroll(self) -> int:
        return self.inner.scheme.unroll

    @property
    def loop_ping_pong(self) -> bool:
        return self.inner.scheme.ping_pong

    def step(self, state: State) -> State:
        s = self.inner.step(state)
        if self.U0 is None:
            return s
        U0 = jnp.asarray(self.U0, s.phi.dtype) if jnp.issubdtype(s.phi.dtype, jnp.floating) else self.U0
        return State(apply_local(U0, s.phi), apply_local(U0, s.pi))


def clifford_matrices(lattice: Lattice, X: Any = None) -> np.ndarray:
    """The validated ``X_0..X_D`` for ``lattice`` (default: :func:`nnfield.theories.clifford.representation`)."""
    X = clifford.validate_clifford(clifford.representation(lattice.ndim) if X is None else X)
    if X.shape[0] != lattice.ndim + 1:
        raise ParameterError("X", f"need D + 1 = {lattice.ndim + 1} X matrices for this lattice, got {X.shape[0]}")
    return X


@renamed_arguments(r="wilson_r")
@positional_options
def link_network(
    lattice: Lattice,
    m: float,
    dt: float,
    links: U1Links | None = None,
    *,
    network: str = "stable",
    bias: str = "forward",
    wilson_r: float = 1.0,
    X: Any = None,
) -> GaugedNetwork:
    """A Dirac network coupled to ``links`` exactly (covariant to round-off).

    ``network="stable"``: ``phi' = R phi + dt B(U) pi``, ``pi' = R^T pi - dt B(U)^T phi'`` (alternating scheme,
    per-type loss), then ``U0``. ``network="paper"``: (4.26) with ``B(U)`` (simultaneous scheme), then ``U0``.
    Order 1 in dt (both), first order in a (forward and Wilson bias maps).

    ``links``: :class:`U1Links` on ``lattice`` (or ``None``: no field), checked by
    :func:`~.links.check_links` (a :class:`~nnfield.errors.ParameterError` naming ``links`` for another type,
    another lattice's shapes, or links built for another ``dt``). ``dt`` and the temporal links may be traced.
    """
    X = clifford_matrices(lattice, X)
    links = check_links(links, lattice, dt)
    B = gauged_bias_map(X, lattice, links, bias, wilson_r)
    if bias == "wilson":  # its shared contiguous-axis reads fuse when lowered like the other axes (docs/performance.md)
        B = replace(B, minor="repeat")
    # the Dirac networks of Sec. 4 with the gauged bias map B(U) in place of B
    if network == "stable":
        inner = dirac.stable_network(lattice, m, dt, X=X, bias=bias, wilson_r=wilson_r)
    elif network == "paper":
        inner = dirac.paper_network(lattice, m, dt, X=X, scheme="simultaneous", bias=bias, wilson_r=wilson_r,
                                    loss="corrected")
    else:
        raise ParameterError("network", f"expected 'stable' or 'paper', got {network!r}")
    inner = replace(inner, B=B, name=f"gauged {inner.name}")
    if isinstance(links.alpha0, jax.core.Tracer):  # traced (e.g. built from a traced dt): per site
        U0 = x0_power(X[0], links.alpha0)
    elif not np.any(a0 := np.asarray(links.alpha0)):
        U0 = None
    elif links.uniform:
        U0 = x0_power(X[0], float(a0.reshape(-1)[0]))
    else:
        U0 = x0_power(X[0], a0)
    return GaugedNetwork(inner, U0, name=inner.name + " + links")
