r"""The dense spectrum of a gauged network's one-tick map (small lattices) and the relativistic Landau levels.

Every gauged Dirac tick commutes with ``X_0`` (the links are X_0 powers), so it is complex linear on the spinor
``psi = pack(phi, pi)`` (4.19)/(4.30) of :class:`nnfield.theories.dirac.Dirac` (which applies the complex
structure of the representation). Its eigenvalues ``lambda = exp(-i Omega tick)`` give the network's
frequencies ``Omega`` exactly (no discretization error beyond the network's own); in a uniform magnetic field they
cluster at ``omega_n = sqrt(m^2 + 2 n |q B|)`` (Landau levels) up to the network's O(a, dt) errors.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ...lattice import Lattice
from ...network import AbstractNetwork
from ...state import State
from .. import dirac


def _theory_or_default(network: AbstractNetwork, theory: dirac.Dirac | None) -> dirac.Dirac:
    if theory is not None:
        return theory
    warnings.warn(
        "complex_step_matrix/network_frequencies without the theory assume the built-in Clifford representation; "
        "pass the model's theory (e.g. network_frequencies(model.network, model.theory)) so that the spinor packing "
        "uses its complex structure",
        DeprecationWarning,
        stacklevel=3,
    )
    return dirac.Dirac(m=0.0, lattice=network.lattice)


def complex_step_matrix(
    network: AbstractNetwork, theory: dirac.Dirac | None = None, dtype: Any = jnp.float64
) -> np.ndarray:
    """The one-tick map as a complex ``K N x K N`` matrix on ``psi = theory.pack(phi, pi)`` (dense; small lattices).

    Column ``j`` is ``pack(step(unpack(e_j)))`` for the ``K N`` complex basis vectors ``e_j`` (the map commutes
    with ``X_0``, so it is complex linear and the real basis vectors determine it). ``theory`` supplies the spinor
    packing (its complex structure ``U``: the spectrum does not depend on the Clifford representation).
    """
    theory = _theory_or_default(network, theory)
    n = network.K * network.lattice.size  # complex dimension: K/2 (phi~) + K/2 (pi~) per site
    cols = jax.jit(functools.partial(_step_columns, theory=theory, dtype=jnp.dtype(dtype)))(network, jnp.arange(n))
    return np.asarray(cols).T


def _step_columns(network: AbstractNetwork, js: jax.Array, *, theory: dirac.Dirac, dtype: Any) -> jax.Array:
    # Called under one jax.jit: run eagerly, the batched step compiled each of its ~150 primitives on its own
    # (10 s for a 10 x 10 lattice). The network is an argument, not a constant, so its links are not folded
    # into the program.
    lat: Lattice = network.lattice
    K, n = network.K, js.shape[0]

    def col(j: jax.Array) -> jax.Array:
        e = jnp.zeros((n,), dtype).at[j].set(1.0).reshape((K, *lat.shape))  # the basis spinor psi = e_j
        phi, pi = theory.unpack(e)
        out = network.step(State(phi, pi))
        return theory.pack(out.phi, out.pi).reshape(-1)

    return jax.lax.map(col, js, batch_size=256)


def network_frequencies(network: AbstractNetwork, theory: dirac.Dirac | None = None) -> np.ndarray:
    """All frequencies ``Omega`` with ``lambda = exp(-i Omega tick)`` of the complex one-tick map, sorted."""
    lam = np.linalg.eigvals(complex_step_matrix(network, _theory_or_default(network, theory)))
    return np.sort(-np.angle(lam) / float(network.tick))


def landau_levels(m: float, qB: float, n: int) -> np.ndarray:
    """Relativistic Landau levels ``omega_n = sqrt(m^2 + 2 n |q B|)``, ``n = 0..n-1``."""
    return np.sqrt(m**2 + 2 * np.arange(n) * abs(qB))


def distinct_levels(omegas: Sequence[float], tol: float) -> list[tuple[float, int]]:
    """Cluster sorted frequencies into levels (mean, multiplicity) separated by more than ``tol``."""
    w = np.sort(np.asarray(omegas))
    levels: list[list[float]] = []
    for x in w:
        if levels and x - levels[-1][-1] <= tol:
            levels[-1].append(float(x))
        else:
            levels.append([float(x)])
    return [(float(np.mean(g)), len(g)) for g in levels]
