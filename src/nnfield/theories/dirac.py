r"""The Dirac field from K neuron types on a D-dimensional lattice (paper Sec. 4), D = 1, 2, 3.

Networks (``phi, pi`` of shape ``(K, *shape)``, step ``dt = h``, spacing ``a``; all learning by autodiff):

``paper_network`` (4.11)/(4.26): ``W - I = m X_0`` (4.13), ``B`` a bias map, per-type losses (4.14) so that

    phi <- phi + h (m X_0 phi + B pi),        pi <- pi - h (B^T phi + m X_0 pi)                   (4.11)

    with the corrected per-type loss ``H_a = 1/2 sum_b phi^b.phi^b + m pi^a.(X_0 pi)^a`` (no sum over a;
    type ``a`` descends ``H_a`` w.r.t. ``pi^a``). The printed (4.14) ``H_a = 1/2 phi^a.phi^a - m pi^a.(X_0 pi)^a``
    loses ``-B^T phi`` (the diagonal blocks of ``B`` vanish) and flips the mass sign (``loss="printed"``);
    ``loss="printed_summed"`` sums the phi-term over types (mass sign still wrong); ``loss="4.12"`` is the scalar
    loss (4.12), which needs ``W = W^T`` and drops the mass term here (``pi.X_0 pi = 0``).
    With the ``simultaneous`` scheme this is the paper's map: order 1, ``|lambda|^2 = 1 + h^2 (m^2 + sigma^2(k))``
    per step, unstable for every ``h > 0``.

``stable_network``: a network with the orthogonal mass weight ``R = X_0^(2 m h / pi) = cos(mh) + sin(mh) X_0``.
    The engine's activation is ``phi + h ((W - I) phi + B pi)``; with ``W - I = (R - I) / h`` it is
    ``R phi + h B pi``. With the ``alternating`` scheme (learning evaluated on the activation output) and the
    per-type loss ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a``, ``C = (I - R^T) / h``,
    autodiff gives ``dH_a/dpi^a = (B^T phi(t+1))^a + (C pi)^a``, i.e.

        phi(t+1) = R phi + h B pi,        pi(t+1) = R^T pi - h B^T phi(t+1).

    Order 1. Per mode (singular value sigma of B) the map has determinant 1 and trace
    ``2 cos(mh) - h^2 sigma^2``: stable iff ``h sigma_max(B) < 2 cos(mh/2)``. Its exact quadratic invariant is

        I = |phi|^2 + |pi|^2 + h phi.((I - tan(mh/2) X_0) B pi)                      (a modified charge)

    (derived per mode: ``Q = [[1, q], [q*, 1]]``, ``q = (h sigma / 2) exp(i mh/2) / cos(mh/2)``; positive
    definite exactly below the stability bound). The plain charge ``|phi|^2 + |pi|^2`` oscillates, bounded.

Bias maps (``bias=``): ``"forward"`` (4.15)/(4.24), ``B = sum_mu X_mu (x) (T_mu - 1) / a`` (the paper; in D >= 2
``B B^T`` has zero modes away from k = 0: doublers on curves in 3D); ``"wilson"``, the doubler-free twisted
Wilson map ``B = sum_mu X_mu (x) (T_mu - T_mu^-1) / (2a) + (r a / 2) X_0 (x) (-Lap_a)`` (the extra term commutes
with ``X_0``), with ``B B^T = (sum_mu sin^2(k_mu a)/a^2 + (r/a)^2 (sum_mu (1 - cos k_mu a))^2) (x) I``.

Physics side (:class:`Dirac`, numpy FFT, written from the gamma matrices, independent of the network code):
the Dirac equation (4.20)/(4.37) ``i d_t psi = H psi`` with ``H(k) = m beta + alpha.k`` (continuum) or its
lattice forms (see :meth:`Dirac.hamiltonian_symbol`), exact spectral propagation, Dirac and Klein-Gordon (4.40)
residuals, charge, energy, current, density.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import network as network_mod
from .._module import Module
from ..errors import ConfigError
from ..lattice import Lattice
from ..model import BOUNDED, INVARIANT, AbstractModel, Conserved
from ..network import LinearNetwork, Network
from ..operators import (
    LatticeOperator,
    apply_local,
    central_difference,
    forward_difference,
    identity,
    kron,
    laplacian,
    local,
)
from ..schemes import Scheme, get_scheme
from ..state import State
from . import clifford

NETWORKS = ("paper", "stable")
BIASES = ("forward", "wilson")
LOSSES = ("corrected", "printed", "printed_summed", "4.12")


# ----------------------------------------------------------------------------------------------------------
# bias maps
# ----------------------------------------------------------------------------------------------------------
def bias_forward(X: Any, lattice: Lattice) -> LatticeOperator:
    """(4.15)/(4.24): ``B = sum_mu X_mu (x) (T_{e_mu} - 1) / a`` (first order in a)."""
    X = np.asarray(X, dtype=float)
    nd, K = lattice.ndim, X.shape[1]
    B = LatticeOperator.zero(nd, K)
    for mu in range(nd):
        B = B + forward_difference(mu, nd, K, coeff=X[mu + 1])
    return B * (1.0 / lattice.spacing)


def bias_wilson(X: Any, lattice: Lattice, r: float = 1.0) -> LatticeOperator:
    """Doubler-free ``B = sum_mu X_mu (x) (T_mu - T_mu^-1)/(2a) + (r a/2) X_0 (x) (-Lap_a)`` (first order in a).

    The Wilson-type term carries ``X_0`` (it commutes with ``X_0``: the structure of (4.24) is kept) and
    ``B B^T = (sum_mu sin^2(k_mu a)/a^2 + (r/a)^2 (sum_mu (1 - cos k_mu a))^2) (x) I`` exactly.
    """
    X = np.asarray(X, dtype=float)
    nd, K, a = lattice.ndim, X.shape[1], lattice.spacing
    B = LatticeOperator.zero(nd, K)
    for mu in range(nd):
        B = B + central_difference(mu, nd, K, coeff=X[mu + 1])
    B = B * (1.0 / a)
    if r:
        B = B + kron(X[0], laplacian(nd, a)) * (-0.5 * r * a)
    return B


def bias_map(X: Any, lattice: Lattice, bias: str = "forward", r: float = 1.0) -> LatticeOperator:
    """``bias="forward"`` (the paper) or ``"wilson"`` (doubler-free, Wilson parameter ``r``)."""
    if bias == "forward":
        return bias_forward(X, lattice)
    if bias == "wilson":
        return bias_wilson(X, lattice, r)
    raise ConfigError(f"theory.bias: expected one of {BIASES}, got {bias!r}; e.g. bias = \"wilson\"")


# ----------------------------------------------------------------------------------------------------------
# losses
# ----------------------------------------------------------------------------------------------------------
def _site_axes(f: jax.Array) -> tuple[int, ...]:
    return tuple(range(1, f.ndim))


class Loss43(Module):
    """Loss (4.3): ``H = 1/2 phi.phi + 1/2 pi.pi - 1/2 pi.V pi`` (``V`` a lattice operator). Gives ``A = -B^T`` (4.5)
    and the learning matrix ``V`` (its symmetric part, if ``V`` is not symmetric)."""

    V: LatticeOperator

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(phi * phi) + 0.5 * jnp.sum(pi * pi) - 0.5 * jnp.sum(pi * self.V.apply(pi))


class Loss412(Module):
    """Loss (4.12): ``H = 1/2 phi.phi - 1/2 pi.pi + 1/2 pi.W pi = 1/2 phi.phi + 1/2 pi.(W - I) pi``.

    Gives (4.11) only for symmetric ``W``: autodiff yields ``B^T phi + sym(W - I) pi``.
    """

    W_minus_I: LatticeOperator

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        return 0.5 * jnp.sum(phi * phi) + 0.5 * jnp.sum(pi * self.W_minus_I.apply(pi))


class PerTypeLoss(network_mod.PerTypeLoss):
    """Per-type losses ``H_a`` (a = 1..K), returned as a ``(K,)`` vector; type ``a`` descends ``H_a`` w.r.t. ``pi^a``.

    ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a``   (``phi_sum=True``)
    ``H_a = 1/2 phi^a.phi^a       + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a``   (``phi_sum=False``, as printed in 4.14)

    (dots sum over sites). ``C`` is a constant ``(K, K)`` matrix or one per site, ``(K, K, *shape)`` (the
    gauged networks of Sec. 5). With ``phi_sum`` autodiff gives ``dH_a/dpi^a = (B^T phi)^a + (C pi)^a``: the
    learning update ``pi <- pi - dt (B^T phi + C pi)``. ``C = m X_0`` is the corrected (4.14) (``C_aa = 0``);
    ``C = -m X_0`` with ``phi_sum=False`` is (4.14) as printed.
    """

    C: Any
    phi_sum: bool = eqx.field(static=True, default=True)

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        ax = _site_axes(pi)
        C = jnp.asarray(self.C, pi.dtype)
        if C.ndim == 2:
            diag_term = 0.5 * jnp.diagonal(C) * jnp.sum(pi * pi, axis=ax)
        else:  # per-site C: the diagonal C_aa(x) stays inside the site sum
            diag = jnp.moveaxis(jnp.diagonal(C, axis1=0, axis2=1), -1, 0)
            diag_term = 0.5 * jnp.sum(diag * pi * pi, axis=ax)
        quad = jnp.sum(pi * apply_local(C, pi), axis=ax) - diag_term
        if self.phi_sum:
            phiterm = 0.5 * jnp.sum(phi * phi) * jnp.ones(phi.shape[0], phi.dtype)
        else:
            phiterm = 0.5 * jnp.sum(phi * phi, axis=ax)
        return phiterm + quad


def per_type_loss(X0: Any, m: float, form: str = "corrected") -> Any:
    """The per-type loss of (4.14): ``form="corrected"`` (gives (4.11)), ``"printed"``, ``"printed_summed"``."""
    X0 = np.asarray(X0, dtype=float)
    if form == "corrected":
        return PerTypeLoss(m * X0, True)
    if form == "printed":
        return PerTypeLoss(-m * X0, False)
    if form == "printed_summed":
        return PerTypeLoss(-m * X0, True)
    raise ConfigError(f"theory.loss: expected one of {LOSSES[:3]}, got {form!r}")


# ----------------------------------------------------------------------------------------------------------
# networks
# ----------------------------------------------------------------------------------------------------------
def _check_X(X: Any, lattice: Lattice) -> np.ndarray:
    X = clifford.validate_clifford(X)
    if X.shape[0] != lattice.ndim + 1:
        raise ConfigError(
            f"the lattice has D = {lattice.ndim} dimensions but {X.shape[0]} X matrices were given; "
            f"expected D + 1 = {lattice.ndim + 1} (X_0 for the mass, X_1..X_D for the bias)"
        )
    return X


def paper_network(
    lattice: Lattice,
    m: float,
    dt: float,
    X: Any = None,
    scheme: str | Scheme = "simultaneous",
    bias: str = "forward",
    wilson_r: float = 1.0,
    loss: str = "corrected",
) -> Network:
    """The paper's Dirac network (4.11) with (4.13), bias (4.15)/(4.24) and per-type losses (4.14).

    ``loss="corrected"`` reproduces (4.11)/(4.17)/(4.26) exactly; ``"printed"``/``"printed_summed"`` are the
    printed (4.14) readings (they do not); ``"4.12"`` the scalar loss (4.12) (no mass term for antisymmetric W).
    """
    X = _check_X(clifford.representation(lattice.ndim) if X is None else X, lattice)
    nd = lattice.ndim
    W = identity(nd, X.shape[1]) + local(m * X[0], nd)
    B = bias_map(X, lattice, bias, wilson_r)
    if loss == "4.12":
        lossfn, per_type = Loss412(local(m * X[0], nd)), False
    else:
        lossfn, per_type = per_type_loss(X[0], m, loss), True
    name = f"dirac {nd}+1 paper (4.11) [{bias}, loss {loss}]"
    return Network.create(lattice, W, B, lossfn, dt, scheme, per_type=per_type, name=name)


def orthogonal_rates(theta: float, dt: float, search: int = 4) -> tuple[float, float, float]:
    """Rates ``(A_c, A_s)`` with ``R = I + dt (A_c I + A_s X_0) ~ cos(theta) + sin(theta) X_0`` as exactly
    orthogonal as float64 allows, and ``tan(theta_eff / 2)`` of the rotation actually realized.

    The engine applies ``phi + dt ((W - I) phi + ...)`` with ``W - I`` formed as ``fl(1 + A_c) - 1`` on the
    diagonal; a determinant ``|R|^2 = (1 + dt A_c)^2 + (dt A_s)^2`` off 1 by ~eps would make every invariant drift
    by that much per step. Among the floats within ``search`` ulps of ``fl(1 + (cos - 1)/dt)`` and
    ``fl(sin / dt)`` the pair minimizing ``| |R|^2 - 1 |`` (evaluated exactly, in rationals) is returned.
    """
    from fractions import Fraction

    c0 = 1.0 + (math.cos(theta) - 1.0) / dt
    s0 = math.sin(theta) / dt
    fdt = Fraction(dt)
    best = None
    for i in range(-search, search + 1):
        w = float(np.nextafter(c0, math.inf * np.sign(i))) if i else c0
        for _ in range(abs(i) - 1):
            w = float(np.nextafter(w, math.inf * np.sign(i)))
        ac = Fraction(w) - 1  # exact: fl(w - 1) = w - 1 (Sterbenz) for w in [1/2, 2]
        for j in range(-search, search + 1):
            sv = float(np.nextafter(s0, math.inf * np.sign(j))) if j else s0
            for _ in range(abs(j) - 1):
                sv = float(np.nextafter(sv, math.inf * np.sign(j)))
            dev = abs((1 + fdt * ac) ** 2 + (fdt * Fraction(sv)) ** 2 - 1)
            if best is None or dev < best[0]:
                best = (dev, float(ac), sv)
    _, ac, sv = best
    c_eff, s_eff = 1.0 + dt * ac, dt * sv
    return ac, sv, s_eff / (1.0 + c_eff)


def stable_network(
    lattice: Lattice, m: float, dt: float, X: Any = None, bias: str = "forward", wilson_r: float = 1.0
) -> Network:
    """The stable Dirac network: ``phi' = R phi + h B pi``, ``pi' = R^T pi - h B^T phi'``, ``R = X_0^(2 m h/pi)``.

    Built as ``W - I = (R - I)/h`` with per-type loss ``C = (I - R^T)/h`` and the ``alternating`` scheme (the
    rates from :func:`orthogonal_rates`, so that ``R`` is orthogonal to round-off). Order 1; stable iff
    ``h sigma_max(B) < 2 cos(m h/2)``; exact invariant: see :func:`stable_invariant`.
    """
    X = _check_X(clifford.representation(lattice.ndim) if X is None else X, lattice)
    nd, K = lattice.ndim, X.shape[1]
    ac, sv, _ = orthogonal_rates(m * dt, dt)
    W = local((1.0 + ac) * np.eye(K) + sv * X[0], nd)  # W - I = ac I + sv X_0 exactly
    B = bias_map(X, lattice, bias, wilson_r)
    loss = PerTypeLoss(-ac * np.eye(K) + sv * X[0], True)  # C = (I - R^T)/h: learning pi - h C pi = R^T pi
    name = f"dirac {nd}+1 stable [{bias}]"
    return Network.create(lattice, W, B, loss, dt, "alternating", per_type=True, name=name)


def linear_network_411(
    lattice: Lattice, m: float, dt: float = 1.0, X: Any = None, bias: str = "forward", wilson_r: float = 1.0,
    scheme: str = "simultaneous",
) -> LinearNetwork:
    """(4.11) literally as a (4.2) network: ``W = I + m X_0``, ``A = -B^T`` (4.5), ``V = 2I - W``. No loss."""
    X = _check_X(clifford.representation(lattice.ndim) if X is None else X, lattice)
    nd, K = lattice.ndim, X.shape[1]
    eye = identity(nd, K)
    W = eye + local(m * X[0], nd)
    B = bias_map(X, lattice, bias, wilson_r)
    return LinearNetwork.create(lattice, W, B, -1.0 * B.T, 2.0 * eye - W, dt, scheme, name="(4.11) literal")


def stable_invariant(B: LatticeOperator, dt: Any, tan_half: Any, X0: Any, phi: jax.Array, pi: jax.Array) -> jax.Array:
    """``|phi|^2 + |pi|^2 + h phi.((I - tan(mh/2) X_0) B pi)``: conserved exactly by :func:`stable_network`.

    Per mode (singular value ``sigma`` of ``B``, ``X_0 -> -i``) the map is ``a' = e^{-i theta} a + s b``,
    ``b' = e^{i theta} b - s a'`` (``theta = mh``, ``s = h sigma``), which preserves
    ``|a|^2 + |b|^2 + s Re(a* b e^{i theta/2}) / cos(theta/2)``; ``e^{i theta/2}/cos(theta/2)`` is the spinor form
    of ``I - tan(theta/2) X_0``. ``tan_half = tan(theta/2)`` (of the realized rotation, see
    :func:`orthogonal_rates`).
    """
    Bpi = B.apply(pi)
    corr = Bpi - tan_half * apply_local(jnp.asarray(X0, Bpi.dtype), Bpi)
    return jnp.sum(phi * phi) + jnp.sum(pi * pi) + dt * jnp.sum(phi * corr)


# ----------------------------------------------------------------------------------------------------------
# literal transcriptions of the paper's component equations (jnp.roll; for checks)
# ----------------------------------------------------------------------------------------------------------
def update_417(phi: Any, pi: Any, m: float, dt: float = 1.0, a: float = 1.0) -> tuple[jax.Array, jax.Array]:
    """(4.17) written out, with step ``dt`` and spacing ``a`` (``phi, pi`` of shape ``(2, N)``)."""
    p1, p2 = pi[0], pi[1]
    f1, f2 = phi[0], phi[1]

    def up(f):  # f_{i+1}
        return jnp.roll(f, -1)

    def dn(f):  # f_{i-1}
        return jnp.roll(f, 1)

    nf1 = f1 + dt * ((up(p2) - p2) / a + m * f2)
    np1 = p1 + dt * (-(f2 - dn(f2)) / a - m * p2)
    nf2 = f2 + dt * (-(up(p1) - p1) / a - m * f1)
    np2 = p2 + dt * ((f1 - dn(f1)) / a + m * p1)
    return jnp.stack([nf1, nf2]), jnp.stack([np1, np2])


def update_426(phi: Any, pi: Any, X: Any, m: float, dt: float = 1.0, a: float = 1.0) -> tuple[jax.Array, jax.Array]:
    """(4.26) written out (index typo ``pi_j -> pi_i`` corrected), with step ``dt`` and spacing ``a``."""
    X = np.asarray(X)
    D = phi.ndim - 1

    def mat(M, f):
        return jnp.einsum("ab,b...->a...", M, f)

    dphi = m * mat(X[0], phi)
    dpi = -m * mat(X[0], pi)
    for mu in range(D):
        ax = 1 + mu
        dphi = dphi + mat(X[mu + 1], jnp.roll(pi, -1, ax) - pi) / a
        dpi = dpi - mat(X[mu + 1], phi - jnp.roll(phi, 1, ax)) / a
    return phi + dt * dphi, pi + dt * dpi


# ----------------------------------------------------------------------------------------------------------
# physics side: the Dirac field (numpy FFT; independent of the network code)
# ----------------------------------------------------------------------------------------------------------
KINDS = ("continuum", "forward", "wilson")


@dataclasses.dataclass(frozen=True, eq=False)
class Dirac:
    """The free Dirac field in D + 1 dimensions on ``lattice``: ``i d_t psi = H psi`` (4.20), (4.37).

    ``psi`` has K complex components (K = 2 for D = 1, 4 for D = 2, 3), shape ``(K, *shape)``. The gamma
    matrices are (4.31) built from ``X``; ``H(k) = m beta + sum_mu alpha^mu k_mu`` in the continuum
    (``alpha^mu = -gamma^0 gamma^mu``, ``beta = gamma^0``). ``kind`` selects the spatial discretization whose
    exact (continuous-time) evolution :meth:`evolve` computes by default: ``"forward"`` (the paper's bias map),
    ``"wilson"`` (twisted Wilson, parameter ``r``) or ``"continuum"``.
    """

    m: float
    lattice: Lattice
    X: Any = None
    kind: str = "forward"
    r: float = 1.0

    def __post_init__(self) -> None:
        X = clifford.representation(self.lattice.ndim) if self.X is None else self.X
        X = clifford.validate_clifford(X)
        if X.shape[0] != self.lattice.ndim + 1:
            raise ConfigError(f"need D + 1 = {self.lattice.ndim + 1} X matrices, got {X.shape[0]}")
        if self.kind not in KINDS:
            raise ConfigError(f"kind: expected one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "X", X)

    # -- algebra ----------------------------------------------------------------------------------------
    @property
    def D(self) -> int:
        return self.lattice.ndim

    @property
    def K(self) -> int:
        return int(self.X.shape[1])

    @functools.cached_property
    def U(self) -> np.ndarray:
        """Orthogonal basis change to the canonical complex structure (identity for built-in reps)."""
        return clifford.complex_structure(self.X[0])

    @functools.cached_property
    def gammas(self) -> np.ndarray:
        """(4.31): ``gamma^0 = sigma_3 (x) I``, ``gamma^mu = sigma_1 (x) X~_mu``."""
        return clifford.gamma_matrices(self.X)

    @functools.cached_property
    def alpha(self) -> np.ndarray:
        return clifford.alpha_beta(self.X)[0]

    @property
    def beta(self) -> np.ndarray:
        return self.gammas[0]

    @functools.cached_property
    def gamma_w(self) -> np.ndarray:
        return clifford.twisted_wilson_matrix(self.X)

    # -- spinor packing ---------------------------------------------------------------------------------
    def pack(self, phi: Any, pi: Any) -> Any:
        """(4.19)/(4.30): ``psi`` from the real ``(phi, pi)`` (works on numpy and JAX arrays)."""
        xp = np if isinstance(phi, np.ndarray) and isinstance(pi, np.ndarray) else jnp
        if not np.allclose(self.U, np.eye(self.K)):
            U = xp.asarray(self.U.T)
            phi = xp.einsum("ab,b...->a...", U, phi)
            pi = xp.einsum("ab,b...->a...", U, pi)
        return clifford.pack(phi, pi, xp)

    def unpack(self, psi: Any) -> tuple[Any, Any]:
        xp = np if isinstance(psi, np.ndarray) else jnp
        phi, pi = clifford.unpack(psi, xp)
        if not np.allclose(self.U, np.eye(self.K)):
            U = xp.asarray(self.U)
            phi = xp.einsum("ab,b...->a...", U, phi)
            pi = xp.einsum("ab,b...->a...", U, pi)
        return phi, pi

    # -- Fourier symbols ----------------------------------------------------------------------------------
    def hamiltonian_symbol(self, k: Sequence[Any], kind: str | None = None) -> np.ndarray:
        """``H(k)``, shape ``(*k.shape, K, K)`` (Hermitian), for ``kind`` (default: the theory's own).

        continuum: ``m beta + sum_mu alpha^mu k_mu``
        forward:   ``m beta + sum_mu [alpha^mu sin(k_mu a)/a - i gamma^mu (1 - cos k_mu a)/a]``
        wilson:    ``m beta + sum_mu alpha^mu sin(k_mu a)/a + (r/a) sum_mu (1 - cos k_mu a) (sigma_1 (x) I)``

        The lattice forms are the spinor form of the semi-discrete system ``d_t phi = m X_0 phi + B pi``,
        ``d_t pi = -B^T phi - m X_0 pi`` (``X_0 -> -i``, ``B -> X~.(difference symbol)``), derived by hand.
        """
        kind = self.kind if kind is None else kind
        a = self.lattice.spacing
        k = [np.asarray(kk, dtype=float) for kk in k]
        shape = np.broadcast(*k).shape
        H = np.broadcast_to(self.m * self.beta, (*shape, self.K, self.K)).astype(complex)
        for mu, kk in enumerate(k):
            kk = kk[..., None, None]
            if kind == "continuum":
                H = H + kk * self.alpha[mu]
            elif kind == "forward":
                H = H + np.sin(kk * a) / a * self.alpha[mu] - 1j * (1 - np.cos(kk * a)) / a * self.gammas[mu + 1]
            elif kind == "wilson":
                H = H + np.sin(kk * a) / a * self.alpha[mu] + self.r * (1 - np.cos(kk * a)) / a * self.gamma_w
            else:
                raise ConfigError(f"kind: expected one of {KINDS}, got {kind!r}")
        return H

    def dispersion_branches(self, k: Sequence[Any], kind: str | None = None) -> np.ndarray:
        """The positive energies of ``H(k)``, ascending, shape ``(*k.shape, K/2)``."""
        ev = np.linalg.eigvalsh(self.hamiltonian_symbol(k, kind))
        return ev[..., self.K // 2 :]

    def dispersion(self, k: Sequence[Any], continuum: bool = False) -> np.ndarray:
        """``omega(k)``: ``sqrt(m^2 + k^2)`` (continuum) or the lowest positive lattice branch, shape ``k.shape``.

        Along a lattice axis both lattice branches coincide (``sqrt(m^2 + 4 sin^2(k a/2)/a^2)`` for the forward
        map); off the axes the forward map splits them in D >= 2 (see :meth:`dispersion_branches`).
        """
        if continuum:
            return np.sqrt(self.m**2 + sum(np.asarray(kk, dtype=float) ** 2 for kk in k))
        return self.dispersion_branches(k)[..., 0]

    def omega(self, continuum: bool = False) -> np.ndarray:
        """The lowest positive branch on the lattice's FFT grid."""
        return self.dispersion(self.lattice.momenta(), continuum)

    # -- exact evolution ----------------------------------------------------------------------------------
    def _axes(self) -> tuple[int, ...]:
        return tuple(range(1, self.D + 1))

    def propagator(self, t: float, continuum: bool = False) -> np.ndarray:
        """``exp(-i H(k) t)`` on the FFT grid, shape ``(*shape, K, K)`` (from the eigendecomposition of ``H``)."""
        kind = "continuum" if continuum else self.kind
        H = self.hamiltonian_symbol(self.lattice.momenta(), kind)
        E, V = np.linalg.eigh(H)
        return np.einsum("...ab,...b,...cb->...ac", V, np.exp(-1j * E * t), V.conj())

    def apply_symbol(self, S: np.ndarray, psi: Any) -> np.ndarray:
        """``(S psi)(x) = IFFT[S(k) FFT[psi](k)]`` for a symbol ``S`` of shape ``(*shape, K, K)``."""
        ax = self._axes()
        pk = np.fft.fftn(np.asarray(psi), axes=ax)
        out = np.einsum("...ab,b...->a...", S, pk)
        return np.fft.ifftn(out, axes=ax)

    def evolve(self, psi0: Any, t: float, continuum: bool = False) -> np.ndarray:
        """Exact ``psi(t) = exp(-i H t) psi(0)``: the continuum (band-limited data) or the theory's lattice kind.

        The lattice evolution is the exact solution of the semi-discrete system (continuous time, spacing a):
        the limit ``dt -> 0`` of the networks at fixed ``a``.
        """
        return self.apply_symbol(self.propagator(t, continuum), psi0)

    def exact(self, phi0: Any, pi0: Any, t: float, continuum: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Exact real fields ``(phi, pi)`` at time ``t`` from real initial data (via the spinor)."""
        psi = self.evolve(self.pack(np.asarray(phi0), np.asarray(pi0)), t, continuum)
        return self.unpack(psi)

    # -- equations and residuals --------------------------------------------------------------------------
    def _ik(self) -> list[np.ndarray]:
        return [1j * kk for kk in self.lattice.momenta()]

    def gradient(self, psi: Any) -> np.ndarray:
        """Spectral ``d_mu psi``, shape ``(D, K, *shape)`` (exact for band-limited data)."""
        ax = self._axes()
        pk = np.fft.fftn(np.asarray(psi), axes=ax)
        return np.stack([np.fft.ifftn(ik * pk, axes=ax) for ik in self._ik()])

    def laplacian(self, f: Any) -> np.ndarray:
        """Spectral Laplacian over the trailing D axes."""
        ax = self._axes()
        k2 = sum(kk**2 for kk in self.lattice.momenta())
        return np.fft.ifftn(-k2 * np.fft.fftn(np.asarray(f), axes=ax), axes=ax)

    def dirac_operator(self, dpsi_dt: Any, psi: Any) -> np.ndarray:
        """``i gamma^0 d_t psi - i gamma^k d_k psi - m psi`` (4.37) (for D = 1 equal to (4.20) with (4.21)/(4.22))."""
        g = self.gammas
        grad = self.gradient(psi)
        out = 1j * np.einsum("ab,b...->a...", g[0], np.asarray(dpsi_dt)) - self.m * np.asarray(psi)
        for mu in range(self.D):
            out = out - 1j * np.einsum("ab,b...->a...", g[mu + 1], grad[mu])
        return out

    def dirac_residual(self, psi_prev: Any, psi: Any, psi_next: Any, dt: float) -> float:
        """Relative continuum residual of (4.37) with a centred time difference (order 2) and spectral space.

        ``|| (i gamma^0 d_t - i gamma^k d_k - m) psi || / || gamma^0 d_t psi ||``.
        """
        dpsi = (np.asarray(psi_next) - np.asarray(psi_prev)) / (2 * dt)
        r = self.dirac_operator(dpsi, psi)
        return float(np.linalg.norm(r) / np.linalg.norm(dpsi))

    def klein_gordon_residual(self, f_prev: Any, f: Any, f_next: Any, dt: float) -> np.ndarray:
        """Per real component, ``|| d_t^2 f - Lap f + m^2 f || / || d_t^2 f ||`` (4.40), centred in time."""
        f_prev, f, f_next = (np.asarray(x) for x in (f_prev, f, f_next))
        ftt = (f_next - 2 * f + f_prev) / dt**2
        r = ftt - self.laplacian(f).real + self.m**2 * f
        ax = self._axes()
        return np.sqrt(np.sum(r**2, axis=ax) / np.sum(ftt**2, axis=ax))

    # -- observables (jittable) -----------------------------------------------------------------------------
    def charge(self, psi: Any) -> jax.Array:
        """``Q = a^D sum_i |psi_i|^2`` (``= a^D sum (phi^2 + pi^2)``), conserved by the Dirac equation."""
        return self.lattice.cell_volume * jnp.sum(jnp.abs(psi) ** 2)

    def density(self, psi: Any) -> jax.Array:
        """``|psi_i|^2`` per site (summed over spinor components), shape ``lattice.shape``."""
        return jnp.sum(jnp.abs(psi) ** 2, axis=0)

    @functools.cached_property
    def _H_grid(self) -> np.ndarray:
        return np.moveaxis(self.hamiltonian_symbol(self.lattice.momenta()), (-2, -1), (0, 1))

    def energy(self, psi: Any) -> jax.Array:
        """``E = a^D sum_i psi^dagger H psi`` with the theory's (lattice or continuum) ``H``, via FFT."""
        ax = self._axes()
        pk = jnp.fft.fftn(psi, axes=ax)
        Hpk = jnp.einsum("ab...,b...->a...", jnp.asarray(self._H_grid, pk.dtype), pk)
        return self.lattice.cell_volume / self.lattice.size * jnp.real(jnp.sum(jnp.conj(pk) * Hpk))

    def current(self, psi: Any) -> jax.Array:
        """``J^mu = a^D sum_i psi^dagger alpha^mu psi`` (the continuum velocity operator), shape ``(D,)``."""
        al = jnp.asarray(self.alpha, jnp.result_type(psi.dtype, jnp.complex64))
        return self.lattice.cell_volume * jnp.real(jnp.einsum("a...,mab,b...->m", jnp.conj(psi), al, psi))

    def mean_position(self, psi: Any) -> jax.Array:
        """``<x_mu> = sum x |psi|^2 / sum |psi|^2`` (plain coordinates; for packets away from the boundary)."""
        rho = self.density(psi)
        xs = [jnp.asarray(x, rho.dtype) for x in self.lattice.coordinates()]
        tot = jnp.sum(rho)
        return jnp.stack([jnp.sum(x * rho) / tot for x in xs])


# ----------------------------------------------------------------------------------------------------------
# initial conditions (physics data: real phi, pi, each (K, *shape))
# ----------------------------------------------------------------------------------------------------------
def _branch_vector(theory: Dirac, k: Sequence[float], sign: int, spin: int, kind: str | None) -> np.ndarray:
    H = theory.hamiltonian_symbol([np.asarray(float(kk)) for kk in k], kind)
    E, V = np.linalg.eigh(H)
    half = theory.K // 2
    idx = (half + spin) if sign > 0 else (half - 1 - spin)
    if not 0 <= spin < half:
        raise ConfigError(f"initial.spin: expected 0..{half - 1}, got {spin}")
    return V[:, idx]


def plane_wave(
    theory: Dirac, mode: Sequence[int], branch: str = "positive", spin: int = 0, amplitude: float = 1.0,
    kind: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``psi = amplitude u exp(i k.x)``, ``k_mu = 2 pi n_mu / (N_mu a)``, ``u`` an eigenvector of ``H(k)`` with
    positive or negative energy (lattice ``H`` of the theory by default). Returns real ``(phi, pi)``."""
    lat = theory.lattice
    if len(mode) != lat.ndim:
        raise ConfigError(f"initial.mode: expected {lat.ndim} integers, got {list(mode)}")
    k = [2 * np.pi * n / (N * lat.spacing) for n, N in zip(mode, lat.shape, strict=True)]
    u = _branch_vector(theory, k, 1 if branch == "positive" else -1, spin, kind)
    phase = np.exp(1j * sum(kk * x for kk, x in zip(k, lat.coordinates(), strict=True)))
    psi = amplitude * u.reshape((-1,) + (1,) * lat.ndim) * phase[None]
    return theory.unpack(psi)


def energy_projector(theory: Dirac, sign: int, kind: str | None = None) -> np.ndarray:
    """Projector onto positive (``sign=+1``) or negative energies of ``H(k)`` on the FFT grid, ``(*shape, K, K)``."""
    H = theory.hamiltonian_symbol(theory.lattice.momenta(), kind)
    E, V = np.linalg.eigh(H)
    w = (E > 0) if sign > 0 else (E < 0)
    return np.einsum("...ab,...b,...cb->...ac", V, w.astype(float), V.conj())


def gaussian_packet(
    theory: Dirac, center: Sequence[float] | None = None, width: float = 1.0, k0: Sequence[float] | None = None,
    branch: str = "positive", spin: int = 0, kind: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian spinor packet ``exp(-|x - c|^2/(4 w^2) + i k0.(x - c)) u`` of unit charge.

    ``branch="positive"``/``"negative"``: projected on that energy sign (``u = u_+-(k0)``); ``"mixed"``:
    ``u = (u_+(k0) + u_-(k0))/sqrt(2)`` unprojected (shows Zitterbewegung at frequency ``~ 2 omega(k0)``).
    The Gaussian is periodized (summed over images), so it is smooth on the torus. Returns real ``(phi, pi)``.
    """
    lat = theory.lattice
    L = np.asarray(lat.lengths)
    c = L / 2 if center is None else np.asarray(center, dtype=float)
    k0 = np.zeros(lat.ndim) if k0 is None else np.asarray(k0, dtype=float)
    if c.shape != (lat.ndim,) or k0.shape != (lat.ndim,):
        raise ConfigError(f"initial.center and initial.k: expected {lat.ndim} numbers each")
    xs = lat.coordinates()
    env = np.ones(lat.shape, dtype=complex)
    for mu in range(lat.ndim):  # periodized Gaussian (sum over images): smooth on the torus
        d = xs[mu] - c[mu]
        d = d - L[mu] * np.round(d / L[mu])
        n_img = int(np.ceil(8 * width / L[mu])) + 1
        g = sum(np.exp(-((d - j * L[mu]) ** 2) / (4 * width**2) + 1j * k0[mu] * (d - j * L[mu]))
                for j in range(-n_img, n_img + 1))
        env = env * g
    if branch == "mixed":
        u = (_branch_vector(theory, k0, 1, spin, kind) + _branch_vector(theory, k0, -1, spin, kind)) / np.sqrt(2)
        psi = u.reshape((-1,) + (1,) * lat.ndim) * env[None]
    elif branch in ("positive", "negative"):
        sign = 1 if branch == "positive" else -1
        u = _branch_vector(theory, k0, sign, spin, kind)
        psi = u.reshape((-1,) + (1,) * lat.ndim) * env[None]
        psi = theory.apply_symbol(energy_projector(theory, sign, kind), psi)
    else:
        raise ConfigError(f"initial.branch: expected 'positive', 'negative' or 'mixed', got {branch!r}")
    psi = psi / np.sqrt(lat.cell_volume * np.sum(np.abs(psi) ** 2))
    return theory.unpack(psi)


# ----------------------------------------------------------------------------------------------------------
# analysis: doublers, dispersion branches, stability
# ----------------------------------------------------------------------------------------------------------
def bbt_eigenvalues(B: LatticeOperator, k: Sequence[Any], spacing: float) -> np.ndarray:
    """Eigenvalues of ``B(k) B(k)^dagger`` (the symbol of ``B B^T``), ascending, shape ``(*k.shape, K)``."""
    Bk = B.symbol(k, spacing)
    return np.linalg.eigvalsh(Bk @ np.conj(np.swapaxes(Bk, -1, -2)))


def doubler_analysis(B: LatticeOperator, lattice: Lattice, n: int | None = None, tol: float = 1e-10) -> dict[str, Any]:
    """Zero modes of ``B B^T`` in the Brillouin zone away from ``k = 0`` (fermion doublers).

    On an ``n^D`` grid (default 64 in 1D/2D, 24 in 3D; multiples of 4 include ``k = pi/2``-type points):
    ``count`` of grid momenta ``k != 0`` where the smallest eigenvalue of ``B(k) B(k)^dagger`` is below
    ``tol * max``; ``locations`` (first 24, in units of ``pi/a``); ``min_sigma_away``: the smallest singular
    value of ``B(k)`` over ``|k| >= pi/(2a)`` (0 with doublers); ``sigma_max``: the largest over the grid.
    """
    nd, a = lattice.ndim, lattice.spacing
    n = n or {1: 64, 2: 64, 3: 24}.get(nd, 12)
    k1 = 2 * np.pi * np.fft.fftfreq(n, d=a)
    k = list(np.meshgrid(*([k1] * nd), indexing="ij"))
    ev = bbt_eigenvalues(B, k, a)
    lam_min = np.clip(ev[..., 0], 0.0, None)
    scale = float(ev.max())
    origin = np.all([kk == 0 for kk in k], axis=0)
    zero = (lam_min <= tol * scale) & ~origin
    where = np.argwhere(zero)
    locs = [[float(k[mu][tuple(w)] * a / np.pi) for mu in range(nd)] for w in where[:24]]
    kabs = np.sqrt(sum(kk**2 for kk in k))
    away = kabs >= np.pi / (2 * a)
    return {
        "grid": n,
        "count": int(zero.sum()),
        "locations_pi_over_a": locs,
        "min_sigma_away": float(np.sqrt(lam_min[away].min())) if away.any() else float("nan"),
        "sigma_max": float(np.sqrt(scale)),
        "doubler_free": bool(zero.sum() == 0),
    }


def forward_doubler_curve_point(lattice: Lattice) -> list[float]:
    """A momentum on the 3D forward-map doubler curves, ``k = (pi/2, -pi/2, 0)/a`` (D >= 2; for tests)."""
    a = lattice.spacing
    return [np.pi / (2 * a), -np.pi / (2 * a)] + [0.0] * (lattice.ndim - 2)


def stability_bound(m: float, dt: float, sigma_max: float) -> dict[str, float | bool]:
    """The stable network's bound ``h sigma_max(B) < 2 cos(m h/2)`` and the largest stable ``h`` (bisection)."""
    lhs, rhs = dt * sigma_max, 2 * math.cos(m * dt / 2)
    lo, hi = 0.0, min(math.pi / max(m, 1e-300), 2.0 / sigma_max) if sigma_max > 0 else math.inf
    if math.isfinite(hi):
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid * sigma_max < 2 * math.cos(m * mid / 2):
                lo = mid
            else:
                hi = mid
    return {"h_sigma_max": lhs, "two_cos_mh_2": rhs, "stable": bool(lhs < rhs), "dt_max": lo if math.isfinite(hi) else
            math.inf}


def paper_growth_per_step(m: float, dt: float, sigma: Any) -> Any:
    """``|lambda| = sqrt(1 + h^2 (m^2 + sigma^2))``: the paper scheme's amplification of a mode (NOTES Sec. 4)."""
    return np.sqrt(1.0 + dt**2 * (m**2 + np.asarray(sigma) ** 2))


# ----------------------------------------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------------------------------------
class DiracModel(AbstractModel):
    """A Dirac network with its physics side; the network state is the physics state ``(phi, pi)`` itself.

    ``psi = pack(phi, pi)`` (4.19)/(4.30). Observables: ``charge`` (``a^D sum |psi|^2``), ``energy``
    (``a^D sum psi^dagger H psi``, lattice H of the bias map), ``current_<mu>`` (``a^D sum psi^dagger alpha psi``),
    ``mean_<mu>`` (``<x_mu>`` of the density ``|psi|^2``, for packets), ``invariant`` (the exact invariant of the
    stable map; equal to the charge for the paper network), ``psi_max``.
    """

    network: Any
    tan_half: Any = 0.0
    theory: Dirac = eqx.field(static=True, default=None)
    kind: str = eqx.field(static=True, default="paper")

    @property
    def m(self) -> float:
        return self.theory.m

    def encode(self, phi: Any, pi: Any) -> State:
        phi = jnp.asarray(phi)
        return State(phi, jnp.asarray(pi, phi.dtype))

    def decode(self, state: State) -> tuple[jax.Array, jax.Array]:
        return state.phi, state.pi

    def conserved(self) -> tuple[Conserved, ...]:
        """The stable network: its exact invariant (``invariant``) and the charge (bounded). The paper network
        (eq. 4.11, unstable with the paper's simultaneous scheme): nothing."""
        if self.kind == "stable":
            return (
                Conserved("invariant", INVARIANT, "the stable map's modified charge (see stable_invariant)"),
                Conserved("charge", BOUNDED, "a^D sum |psi|^2; oscillates at O(dt), no drift"),
            )
        return ()

    def dispersion(self, k: list[Any]) -> np.ndarray:
        """The target lattice dispersion (lowest branch; :meth:`Dirac.dispersion`)."""
        return self.theory.dispersion(k)

    def psi(self, state: State) -> jax.Array:
        return self.theory.pack(state.phi, state.pi)

    def invariant(self, state: State) -> jax.Array:
        """``a^D I`` with ``I`` of :func:`stable_invariant` (stable network) or the charge (paper network)."""
        if self.kind == "stable":
            net = self.network
            inv = stable_invariant(net.B, net.dt, self.tan_half, self.theory.X[0], state.phi, state.pi)
            return self.theory.lattice.cell_volume * inv
        return self.theory.lattice.cell_volume * (jnp.sum(state.phi**2) + jnp.sum(state.pi**2))

    def observables(self, state: State) -> dict[str, jax.Array]:
        psi = self.psi(state)
        out = {
            "charge": self.theory.charge(psi),
            "energy": self.theory.energy(psi),
            "invariant": self.invariant(state),
            "psi_max": jnp.sqrt(jnp.max(self.theory.density(psi))),
        }
        cur = self.theory.current(psi)
        pos = self.theory.mean_position(psi)
        for mu in range(self.theory.D):
            out[f"current_{'xyz'[mu]}"] = cur[mu]
            out[f"mean_{'xyz'[mu]}"] = pos[mu]
        return out

    def analysis_extra(self) -> dict[str, Any]:
        """Doublers of ``B B^T``, dispersion branches vs ``omega^2 = m^2 + k^2``, stability (``nnfield analyze``)."""
        from ..analysis import network_dispersion

        lat, net, th = self.theory.lattice, self.network, self.theory
        dbl = doubler_analysis(net.B, lat)
        h = float(net.dt)
        out: dict[str, Any] = {"doublers": dbl, "dirac_network": self.kind}
        if self.kind == "stable":
            out["stability_bound"] = stability_bound(self.m, h, dbl["sigma_max"])
        else:
            out["growth_per_step_max"] = float(paper_growth_per_step(self.m, h, dbl["sigma_max"]))
        a = lat.spacing
        t = np.linspace(0.0, np.pi / a, 9)
        paths = {"axis": [t] + [np.zeros_like(t)] * (lat.ndim - 1)}
        if lat.ndim >= 2:
            paths["diagonal_1,-1"] = [t, -t] + [np.zeros_like(t)] * (lat.ndim - 2)

        def rounded(x: Any) -> Any:
            return np.vectorize(lambda v: float(f"{v:.6g}"))(np.asarray(x)).tolist()

        disp: dict[str, Any] = {"k_over_pi_a": rounded(t * a / np.pi)}
        dev: dict[str, float] = {}
        for name, path in paths.items():
            om_net = network_dispersion(net, path)
            om_lat = th.dispersion_branches(path)
            om_cont = th.dispersion(path, continuum=True)
            disp[name] = {"network": rounded(om_net), "lattice": rounded(om_lat), "continuum": rounded(om_cont)}
            dev[f"{name}: network vs lattice (lowest branch)"] = float(
                np.abs(om_net[:, 0] - om_lat[:, 0]).max() / om_lat[:, 0].max())
            small = t <= np.pi / (4 * a)
            dev[f"{name}: lattice vs continuum, |k| <= pi/(4a)"] = float(
                np.abs(om_lat[small] - om_cont[small, None]).max() / om_cont[small].max())
        out["dispersion_rel_dev"] = dev
        out["dispersion_branches"] = disp
        return out


def model(
    lattice: Lattice,
    m: float,
    dt: float,
    network: str = "paper",
    scheme: str | Scheme | None = None,
    bias: str = "forward",
    wilson_r: float = 1.0,
    loss: str = "corrected",
    X: Any = None,
) -> DiracModel:
    """Build a Dirac model: ``network="paper"`` (scheme default ``simultaneous``) or ``"stable"`` (``alternating``)."""
    if network not in NETWORKS:
        raise ConfigError(f"theory.network: expected one of {NETWORKS}, got {network!r}")
    if bias not in BIASES:
        raise ConfigError(f"theory.bias: expected one of {BIASES}, got {bias!r}")
    if loss not in LOSSES:
        raise ConfigError(f"theory.loss: expected one of {LOSSES}, got {loss!r}")
    theory = Dirac(m=m, lattice=lattice, X=X, kind=bias, r=wilson_r)
    if network == "paper":
        sch = get_scheme("simultaneous" if scheme is None else scheme)
        net = paper_network(lattice, m, dt, theory.X, sch, bias, wilson_r, loss)
    else:
        if scheme is not None and get_scheme(scheme).name != "alternating":
            raise ConfigError(
                f"time.scheme: the stable Dirac network is defined with the 'alternating' scheme (learning on the "
                f"activation output), got {get_scheme(scheme).name!r}; set scheme = \"alternating\""
            )
        net = stable_network(lattice, m, dt, theory.X, bias, wilson_r)
        return DiracModel(net, orthogonal_rates(m * dt, dt)[2], theory, network)
    return DiracModel(net, 0.0, theory, network)
