r"""Lattice calculus of a compact U(1) gauge field (network language: the fusible shift primitive).

Conventions (``docs/gauge_dynamics.md``): a link from site ``x`` to ``x + e_mu`` carries the angle
``theta_mu(x) = a q A_mu(x)`` (``U = exp(i theta)``, the X_0 power ``alpha = 2 theta / pi`` of Sec. 5); fields are
arrays ``(D, *shape)`` (one component per direction) or ``(*shape)``.

    plaquette    P_{mu nu}(x) = theta_mu(x) + theta_nu(x + mu) - theta_mu(x + nu) - theta_nu(x)
                 (= a^2 q F_{mu nu} + O(a^3))
    divergence   (div E)(x) = sum_mu (E_mu(x) - E_mu(x - mu)) / a       (backward; O(a^2) at the site)
    gradient     (grad f)_mu(x) = (f(x + mu) - f(x)) / a                (forward: lives on links)

``div grad`` is the nearest-neighbour Laplacian (symbol ``-(4/a^2) sum sin^2(k a/2)``), so the Gauss law
``div E = rho`` is solved for a longitudinal ``E = grad psi`` by one Poisson solve (:mod:`.gauss`). All maps here
are exact lattice identities (no discretization error of their own).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ...operators import shift


def _unit(ndim: int, mu: int, sign: int = 1) -> list[int]:
    s = [0] * ndim
    s[mu] = sign
    return s


def forward(f: Any, mu: int, ndim: int, minor: str = "pad") -> jax.Array:
    """``f(x + e_mu)`` over the trailing ``ndim`` axes of ``f`` (``minor``: the CPU lowering along the contiguous
    axis, :func:`nnfield.operators.shift`; scalar QED's losses use ``"repeat"``, :attr:`.loss.AbstractMatter.minor`)."""
    f = jnp.asarray(f)
    return shift(f, _unit(ndim, mu), axis0=f.ndim - ndim, minor=minor)


def backward(f: Any, mu: int, ndim: int, minor: str = "pad") -> jax.Array:
    """``f(x - e_mu)`` over the trailing ``ndim`` axes of ``f`` (``minor`` as in :func:`forward`)."""
    f = jnp.asarray(f)
    return shift(f, _unit(ndim, mu, -1), axis0=f.ndim - ndim, minor=minor)


def pairs(ndim: int) -> list[tuple[int, int]]:
    """The planes ``(mu, nu)``, ``mu < nu`` (none in D = 1, one in 2D, three in 3D)."""
    return [(mu, nu) for mu in range(ndim) for nu in range(mu + 1, ndim)]


def plaquette_planes(theta: Any, minor: str = "pad") -> list[jax.Array]:
    """``[P_{mu nu}(x) for mu < nu]`` from the link components ``theta[0..D-1]`` (an array ``(D, *shape)`` or a
    sequence of ``D`` arrays: the loss takes the sequence, so its gradient needs no scatter into one array);
    ``minor`` as in :func:`forward`."""
    D = len(theta)
    return [theta[mu] + forward(theta[nu], mu, D, minor) - forward(theta[mu], nu, D, minor) - theta[nu]
            for mu, nu in pairs(D)]


def plaquettes(theta: Any) -> jax.Array:
    """Plaquette angles ``P_{mu nu}(x)``, shape ``(n_pairs, *shape)`` (``(0, *shape)`` in 1D); gauge invariant
    modulo ``2 pi``."""
    theta = jnp.asarray(theta)
    out = plaquette_planes(theta)
    return jnp.stack(out) if out else jnp.zeros((0, *theta.shape[1:]), jnp.result_type(theta))


def wrap(angle: Any) -> jax.Array:
    """``angle`` mapped into ``(-pi, pi]`` (the compact plaquette: the flux a plaquette carries)."""
    angle = jnp.asarray(angle)
    return angle - 2 * jnp.pi * jnp.ceil((angle - jnp.pi) / (2 * jnp.pi))


def divergence(E: Any, spacing: float) -> jax.Array:
    """``sum_mu (E_mu(x) - E_mu(x - e_mu)) / a`` (the backward divergence; ``E`` shaped ``(D, *shape)``)."""
    E = jnp.asarray(E)
    D = E.shape[0]
    return sum(E[mu] - backward(E[mu], mu, D) for mu in range(D)) / spacing


def gradient(f: Any, spacing: float) -> jax.Array:
    """``(f(x + e_mu) - f(x)) / a`` for every ``mu`` (the forward gradient, a field on links, ``(D, *shape)``)."""
    f = jnp.asarray(f)
    D = f.ndim
    return jnp.stack([forward(f, mu, D) - f for mu in range(D)]) / spacing


def divergence_scale(E: Any, rho: Any, spacing: float) -> jax.Array:
    """The magnitude of the terms of ``div E - rho`` at the worst site: ``max_x [sum_mu (|E_mu(x)| + |E_mu(x -
    e_mu)|) / a + |rho(x)|]`` (the scale the Gauss residual is measured against)."""
    E = jnp.abs(jnp.asarray(E))
    D = E.shape[0]
    terms = sum(E[mu] + backward(E[mu], mu, D) for mu in range(D)) / spacing + jnp.abs(rho)
    return jnp.max(terms)
