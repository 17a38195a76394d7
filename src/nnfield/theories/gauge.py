r"""U(1) gauge fields in the weights and biases of a Dirac network (paper Sec. 5).

Global U(1) (5.1): ``G = X_0^theta = cos(theta pi/2) + sin(theta pi/2) X_0`` commutes with every ``X_mu`` (4.25),
hence with ``W`` and ``B``: every Dirac network is invariant, ``step(G s) = G step(s)``. In the spinor
language ``X_0 -> -i`` and ``G -> exp(-i theta pi/2)``.

Local transformations (5.2), ``G_i(t) = X_0^(theta_i(t))``, break that invariance; two ways to restore it:

**Exact link variables** (Wilson / Kogut-Susskind; the form nnfield recommends). Spatial links
``U_mu,i = X_0^(alpha_mu,i)`` sit inside the bias map and a temporal link ``U0_i = X_0^(alpha0_i)`` inside the
weights::

    forward:  (B(U) pi)_i = sum_mu X_mu (U_mu,i pi_{i+e_mu} - pi_i) / a
    wilson:   (B(U) pi)_i = sum_mu [X_mu (U_mu,i pi_{i+mu} - U_mu,i-mu^T pi_{i-mu}) / (2a)
                                     + (r/(2a)) X_0 (2 pi_i - U_mu,i pi_{i+mu} - U_mu,i-mu^T pi_{i-mu})]

One tick is the Dirac network's tick with ``B(U)`` (learning by autodiff of its per-type loss, so the learning
update keeps the form ``pi <- ... - dt B(U)^T phi``) followed by the temporal parallel transport
``(phi, pi) <- U0 (phi, pi)``: the last layer of the tick has the site-local weight ``U0`` (for the alternating
scheme this is the same as ``W = U0 R``, ``B -> U0 B(U)`` in the activation and ``V -> U0 V`` in the learning).
Under ``U_mu,i -> G_i U_mu,i G_{i+e_mu}^-1`` and ``U0_i -> G_i(t+1) U0_i G_i(t)^-1`` the tick is covariant to
round-off. ``U0`` enters ``phi`` and ``pi`` with the same sign: it is a potential (``i d_t psi = ... + q A0 psi``),
not a mass. Links from physical potentials: ``U_mu = X_0^(2 q a A_mu / pi)`` (``-> exp(-i q a A_mu)``, covariant
derivative ``d_mu - i q A_mu``), ``U0 = X_0^(2 q dt A0 / pi)`` (``-> exp(-i q dt A0)``). The continuum limit is
(5.10) in the form ``i d_t psi = [alpha.(-i grad - q A) + beta m + q A0] psi``.

**The paper's linearized form** (5.3)-(5.9): ``W - I = m X_0 + A_0`` (5.6)/(5.7) and
``B = sum_mu X_mu (T_mu - 1 + A_mu) / a`` (5.6)/(5.8), per-site matrices ``A_0, A_mu``, learning by the per-type
loss ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a`` with

* ``placement="printed"``: ``C = m X_0 + A_0`` (the paper's ``V = 2I - W``): ``A_0`` enters the ``pi`` equation
  with the sign of the mass and acts as a mass shift, ``|omega| = sqrt(k^2 + (m + A0)^2)``;
* ``placement="potential"``: ``C = m X_0 - A_0`` (``V - I = -m X_0 + A_0``): a potential, every frequency shifted
  by ``A0``. This is (5.9) corrected, ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(X_0 (m - A0) pi)^a``.

and the gauge-field transformations (5.3)/(5.4) as printed,
``A_0 -> A_0 + (I - X_0^(theta(t-1) - theta(t)))``, ``A_mu,i -> A_mu,i + (I - X_0^(theta_{i-mu} - theta_i))``,
or corrected (first order in the gradients of theta), ``A_0 -> A_0 + (X_0^(theta(t+1) - theta(t)) - I)``,
``A_mu,i -> A_mu,i + (X_0^(theta_i - theta_{i+mu}) - I)``. The linearized form is covariant only approximately:
see :func:`covariance_residuals`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._module import Module
from ..errors import ConfigError
from ..lattice import Lattice
from ..model import AbstractModel, Conserved
from ..network import AbstractNetwork, Network
from ..operators import LatticeOperator, apply_local, identity
from ..state import State
from . import clifford, dirac

PLACEMENTS = ("potential", "printed")
RULES = ("corrected", "printed", "none")


# ----------------------------------------------------------------------------------------------------------
# X_0 powers and links
# ----------------------------------------------------------------------------------------------------------
def x0_power(X0: Any, alpha: Any) -> Any:
    """``X_0^alpha = cos(alpha pi/2) I + sin(alpha pi/2) X_0`` (5.1); ``alpha`` scalar or per site.

    Returns ``(K, K)`` for scalar ``alpha`` and ``(K, K, *alpha.shape)`` otherwise (NumPy in, NumPy out).
    """
    xp = np if isinstance(alpha, (int, float, np.ndarray, np.floating)) else jnp
    X0 = xp.asarray(X0)
    alpha = xp.asarray(alpha, dtype=float)
    K = X0.shape[0]
    extra = (1,) * alpha.ndim
    c = xp.cos(alpha * np.pi / 2)[None, None]
    s = xp.sin(alpha * np.pi / 2)[None, None]
    return c * xp.eye(K).reshape((K, K) + extra) + s * X0.reshape((K, K) + extra)


class U1Links(Module):
    """A U(1) background on the lattice as X_0-powers.

    ``alpha[mu]`` (shape ``(D, *shape)``): spatial link ``U_mu,i = X_0^(alpha_mu,i)`` from site ``i`` to
    ``i + e_mu``; ``alpha0`` (shape ``shape``): temporal link ``U0_i = X_0^(alpha0_i)`` applied once per tick.
    """

    alpha: Any
    alpha0: Any

    @classmethod
    def zero(cls, lattice: Lattice) -> U1Links:
        return cls(np.zeros((lattice.ndim, *lattice.shape)), np.zeros(lattice.shape))

    @classmethod
    def from_potentials(
        cls, lattice: Lattice, dt: float, A: Any = None, A0: Any = None, q: float = 1.0
    ) -> U1Links:
        """Links from the vector potential ``A[mu]`` (at link midpoints) and the scalar potential ``A0`` (at sites).

        ``alpha_mu = 2 q a A_mu / pi``, ``alpha0 = 2 q dt A0 / pi`` (``U -> exp(-i q a A)``, ``U0 -> exp(-i q dt A0)``).
        """
        a = lattice.spacing
        A = np.zeros((lattice.ndim, *lattice.shape)) if A is None else np.broadcast_to(
            np.asarray(A, dtype=float), (lattice.ndim, *lattice.shape)
        )
        A0 = np.zeros(lattice.shape) if A0 is None else np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape)
        return cls(2 * q * a * A / np.pi, 2 * q * dt * A0 / np.pi)

    @classmethod
    def load(cls, path: str | Path, lattice: Lattice) -> U1Links:
        """Read ``alpha`` (``(D, *shape)``) and optional ``alpha0`` (``shape``) from a ``.npz`` file."""
        path = Path(path)
        if not path.exists():
            raise ConfigError(
                f"gauge.file: {str(path)!r} does not exist; give a .npz with arrays 'alpha' [, 'alpha0']"
            )
        with np.load(path) as data:
            if "alpha" not in data:
                raise ConfigError(
                    f"gauge.file: {str(path)!r} has no array 'alpha' (expected shape (D, *lattice.shape))"
                )
            alpha = np.asarray(data["alpha"], dtype=float)
            alpha0 = np.asarray(data["alpha0"], dtype=float) if "alpha0" in data else np.zeros(lattice.shape)
        if alpha.shape != (lattice.ndim, *lattice.shape) or alpha0.shape != lattice.shape:
            raise ConfigError(
                f"gauge.file: 'alpha' has shape {alpha.shape} and 'alpha0' {alpha0.shape}; expected "
                f"{(lattice.ndim, *lattice.shape)} and {lattice.shape} for this lattice"
            )
        return cls(alpha, alpha0)

    def save(self, path: str | Path) -> None:
        np.savez(path, alpha=np.asarray(self.alpha), alpha0=np.asarray(self.alpha0))

    @property
    def uniform(self) -> bool:
        """True when every link is the same (the network is then translation invariant)."""
        al, a0 = np.asarray(self.alpha), np.asarray(self.alpha0)
        flat = al.reshape(al.shape[0], -1)
        return bool(np.all(flat == flat[:, :1]) and np.all(a0 == a0.reshape(-1)[0]))

    def plaquettes(self) -> np.ndarray:
        """Plaquette angles ``P_{mu nu,i} = alpha_mu,i + alpha_nu,i+mu - alpha_mu,i+nu - alpha_nu,i`` (X_0-power units).

        Shape ``(n_pairs, *shape)`` for the pairs ``mu < nu``; gauge invariant modulo 4.
        """
        al = np.asarray(self.alpha)
        D = al.shape[0]
        out = []
        for mu in range(D):
            for nu in range(mu + 1, D):
                out.append(al[mu] + np.roll(al[nu], -1, mu) - np.roll(al[mu], -1, nu) - al[nu])
        return np.stack(out) if out else np.zeros((0, *al.shape[1:]))


def uniform_electric(
    lattice: Lattice, dt: float, E: float, direction: int = 0, q: float = 1.0, center: float | None = None
) -> U1Links:
    """A uniform electric field ``E`` along ``direction`` as the static potential ``A0 = -E (x - center)``.

    The force on a charge ``q`` is ``q E``. On the periodic lattice the potential jumps at the box edge
    (``center`` defaults to the middle): keep packets away from the edge.
    """
    x = lattice.coordinates()[direction]
    c = lattice.lengths[direction] / 2 if center is None else center
    return U1Links.from_potentials(lattice, dt, A0=-E * (x - c), q=q)


def uniform_magnetic(
    lattice: Lattice, n_flux: int, q: float = 1.0, plane: tuple[int, int] = (0, 1)
) -> tuple[U1Links, float]:
    """A uniform magnetic field through the ``plane`` with ``n_flux`` flux quanta through the torus.

    ``q B = 2 pi n_flux / (L_x L_y)`` (flux quantization on the torus). Landau gauge ``A_y = B x`` with the
    boundary twist ``a A_x(x = L_x - a, y) = -B L_x y`` that makes every plaquette carry the same flux
    ``q B a^2``. Returns ``(links, B)``.
    """
    mu, nu = plane
    if lattice.ndim < 2:
        raise ConfigError("gauge.kind = 'magnetic' needs a lattice with at least 2 dimensions")
    a = lattice.spacing
    Lx, Ly = lattice.lengths[mu], lattice.lengths[nu]
    qB = 2 * np.pi * n_flux / (Lx * Ly)
    xs = lattice.coordinates()
    A = np.zeros((lattice.ndim, *lattice.shape))
    A[nu] = (qB / q) * xs[mu]
    edge = np.isclose(xs[mu], Lx - a)
    # the edge links carry the gauge transformation chi = B L_x y that glues x = L_x to x = 0: a A_x = -B L_x y
    A[mu] = np.where(edge, -(qB / q) * Lx * xs[nu] / a, 0.0)
    return U1Links.from_potentials(lattice, 1.0, A=A, q=q), qB / q


def random_links(lattice: Lattice, rng: np.random.Generator, scale: float = 0.5) -> U1Links:
    """Random links (for covariance tests)."""
    return U1Links(
        scale * rng.standard_normal((lattice.ndim, *lattice.shape)), scale * rng.standard_normal(lattice.shape)
    )


# ----------------------------------------------------------------------------------------------------------
# gauge transformations
# ----------------------------------------------------------------------------------------------------------
def transform_state(state: State, X0: Any, theta: Any) -> State:
    """``(phi, pi) -> G (phi, pi)`` with ``G_i = X_0^(theta_i)`` (5.1)/(5.2)."""
    G = x0_power(X0, theta)
    return State(apply_local(G, state.phi), apply_local(G, state.pi))


def transform_links(links: U1Links, theta: Any, theta_next: Any = None) -> U1Links:
    """``U_mu,i -> G_i U_mu,i G_{i+mu}^-1`` and ``U0_i -> G_i(t+1) U0_i G_i(t)^-1`` (X_0 powers add).

    ``theta`` is the gauge function at time ``t``; ``theta_next`` at ``t + 1`` (default: the same).
    """
    th = np.asarray(theta, dtype=float)
    th1 = th if theta_next is None else np.asarray(theta_next, dtype=float)
    al = np.asarray(links.alpha)
    new = np.stack([al[mu] + th - np.roll(th, -1, mu) for mu in range(al.shape[0])])
    return U1Links(new, np.asarray(links.alpha0) + th1 - th)


# ----------------------------------------------------------------------------------------------------------
# covariant bias maps
# ----------------------------------------------------------------------------------------------------------
def covariant_bias(
    X: Any, lattice: Lattice, alpha: Any = None, bias: str = "forward", r: float = 1.0
) -> LatticeOperator:
    """``B(U)``: the bias map (4.24) (``bias="forward"``) or the twisted-Wilson map with spatial links.

    With ``alpha = None`` (or zero links) it equals :func:`nnfield.theories.dirac.bias_map`.
    """
    X = np.asarray(X, dtype=float)
    nd, K, a = lattice.ndim, X.shape[1], lattice.spacing
    if bias not in dirac.BIASES:
        raise ConfigError(f"theory.bias: expected one of {dirac.BIASES}, got {bias!r}")
    terms: list[tuple[tuple[int, ...], Any]] = []
    zero = (0,) * nd
    for mu in range(nd):
        e = tuple(1 if nu == mu else 0 for nu in range(nd))
        me = tuple(-v for v in e)
        if alpha is None:
            U = np.eye(K)
            Ub = np.eye(K)
        else:
            U = x0_power(X[0], np.asarray(alpha[mu], dtype=float))  # (K, K, *shape)
            # U_{mu, i - e_mu}^T at site i: shift by -e_mu over the site axes
            Ub = np.asarray(np.swapaxes(np.roll(U, 1, axis=2 + mu), 0, 1))

        def mul(C: np.ndarray, M: np.ndarray) -> np.ndarray:
            return C @ M if M.ndim == 2 else np.einsum("ab,bc...->ac...", C, M)

        if bias == "forward":
            terms.append((e, mul(X[mu + 1], U) / a))
            terms.append((zero, -X[mu + 1] / a))
        else:
            terms.append((e, mul(0.5 * X[mu + 1] - 0.5 * r * X[0], U) / a))
            terms.append((me, mul(-0.5 * X[mu + 1] - 0.5 * r * X[0], Ub) / a))
            terms.append((zero, r * X[0] / a))
    return LatticeOperator.from_terms(terms, nd, K)


# ----------------------------------------------------------------------------------------------------------
# per-type loss with per-site matrices
# ----------------------------------------------------------------------------------------------------------
SiteLoss = dirac.PerTypeLoss  # the same loss with per-site C (kept name)


# ----------------------------------------------------------------------------------------------------------
# networks
# ----------------------------------------------------------------------------------------------------------
class GaugedNetwork(AbstractNetwork):
    """A Dirac network with link variables: the inner network's tick, then the temporal transport by ``U0``.

    ``inner`` is a :class:`~nnfield.network.Network` whose bias map is ``B(U)``; ``U0`` is ``(K, K)`` (uniform)
    or ``(K, K, *shape)`` per site, or ``None`` (no temporal link).
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
    def B(self) -> LatticeOperator:
        return self.inner.B

    @property
    def scheme(self) -> Any:
        return self.inner.scheme

    def step(self, state: State) -> State:
        s = self.inner.step(state)
        if self.U0 is None:
            return s
        return State(apply_local(self.U0, s.phi), apply_local(self.U0, s.pi))


def _X(lattice: Lattice, X: Any) -> np.ndarray:
    X = clifford.validate_clifford(clifford.representation(lattice.ndim) if X is None else X)
    if X.shape[0] != lattice.ndim + 1:
        raise ConfigError(f"need D + 1 = {lattice.ndim + 1} X matrices, got {X.shape[0]}")
    return X


def link_network(
    lattice: Lattice,
    m: float,
    dt: float,
    links: U1Links | None = None,
    network: str = "stable",
    bias: str = "forward",
    r: float = 1.0,
    X: Any = None,
) -> GaugedNetwork:
    """A Dirac network coupled to ``links`` exactly (covariant to round-off).

    ``network="stable"``: ``phi' = R phi + dt B(U) pi``, ``pi' = R^T pi - dt B(U)^T phi'`` (alternating scheme,
    per-type loss), then ``U0``. ``network="paper"``: (4.26) with ``B(U)`` (simultaneous scheme), then ``U0``.
    Order 1 in dt (both), first order in a (forward and Wilson bias maps).
    """
    X = _X(lattice, X)
    links = U1Links.zero(lattice) if links is None else links
    # uniform links collapse to constant coefficients: the network stays translation invariant (analysable)
    B = _constant_coeffs(covariant_bias(X, lattice, links.alpha, bias, r))
    # the Dirac networks of Sec. 4 with the gauged bias map B(U) in place of B
    if network == "stable":
        inner = dirac.stable_network(lattice, m, dt, X, bias, r)
    elif network == "paper":
        inner = dirac.paper_network(lattice, m, dt, X, "simultaneous", bias, r, "corrected")
    else:
        raise ConfigError(f"theory.network: expected 'stable' or 'paper', got {network!r}")
    inner = replace(inner, B=B, name=f"gauged {inner.name}")
    a0 = np.asarray(links.alpha0)
    if not np.any(a0):
        U0 = None
    elif links.uniform:
        U0 = x0_power(X[0], float(a0.reshape(-1)[0]))
    else:
        U0 = x0_power(X[0], a0)
    return GaugedNetwork(inner, U0, name=inner.name + " + links")


def _constant_coeffs(B: LatticeOperator) -> LatticeOperator:
    """Collapse per-site coefficients that are the same on every site to constant ``(K, K)`` matrices."""
    terms = []
    for s, c in B.terms.items():
        c = np.asarray(c)
        if c.ndim > 2:
            flat = c.reshape(c.shape[0], c.shape[1], -1)
            if not np.allclose(flat, flat[..., :1], rtol=0, atol=0):
                return B
            c = flat[..., 0]
        terms.append((s, c))
    return LatticeOperator.from_terms(terms, B.ndim, B.K)


def linearized_network(
    lattice: Lattice,
    m: float,
    dt: float,
    A0: Any = None,
    A: Any = None,
    placement: str = "potential",
    X: Any = None,
    scheme: str = "simultaneous",
) -> Network:
    """The paper's linearized gauge coupling (5.6)-(5.9) with per-site ``K x K`` matrices ``A0``, ``A[mu]``.

    ``W - I = m X_0 + A_0``, ``B = sum_mu X_mu (T_mu - 1 + A_mu) / a``, per-type loss with
    ``C = m X_0 + A_0`` (``placement="printed"``: ``V = 2I - W``, a mass shift) or ``C = m X_0 - A_0``
    (``"potential"``: (5.9) corrected). ``A0``/``A[mu]`` may be ``(K, K)`` (uniform) or ``(K, K, *shape)``.
    """
    if placement not in PLACEMENTS:
        raise ConfigError(f"gauge.placement: expected one of {PLACEMENTS}, got {placement!r}")
    X = _X(lattice, X)
    nd, K, a = lattice.ndim, X.shape[1], lattice.spacing
    zero = (0,) * nd
    A0 = np.zeros((K, K)) if A0 is None else np.asarray(A0, dtype=float)
    terms: list[tuple[tuple[int, ...], Any]] = []
    for mu in range(nd):
        e = tuple(1 if nu == mu else 0 for nu in range(nd))
        terms.append((e, X[mu + 1] / a))
        terms.append((zero, -X[mu + 1] / a))
        if A is not None:
            Amu = np.asarray(A[mu], dtype=float)
            XA = X[mu + 1] @ Amu if Amu.ndim == 2 else np.einsum("ab,bc...->ac...", X[mu + 1], Amu)
            terms.append((zero, XA / a))
    B = LatticeOperator.from_terms(terms, nd, K)
    mX0 = m * X[0] if A0.ndim == 2 else m * X[0].reshape((K, K) + (1,) * nd)
    W = identity(nd, K) + LatticeOperator.from_terms({zero: mX0 + A0}, nd, K)
    C = mX0 + A0 if placement == "printed" else mX0 - A0
    loss = dirac.PerTypeLoss(C, True)
    return Network.create(
        lattice, W, B, loss, dt, scheme, per_type=True, name=f"dirac (5.6)-(5.9) linearized [{placement}]"
    )


def transform_linearized(
    X0: Any,
    A0: Any,
    A: Any,
    theta_prev: Any,
    theta: Any,
    theta_next: Any,
    rule: str = "corrected",
    dt: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Gauge-transform the linearized fields: (5.3)/(5.4) as printed, corrected, or ``"none"`` (uncompensated).

    The paper's unit step is ``dt = 1``; with a step ``dt`` the temporal field enters the tick as ``dt A0``, so its
    shift is divided by ``dt`` (the spatial one sits inside the difference and is dimensionless).
    Returns full per-site matrices ``A0 (K, K, *shape)`` and ``A (D, K, K, *shape)``.
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {rule!r}")
    th = np.asarray(theta, dtype=float)
    shape = th.shape
    nd = th.ndim
    K = np.asarray(X0).shape[0]
    eye = np.eye(K).reshape((K, K) + (1,) * nd)
    A0 = np.broadcast_to(np.asarray(A0, dtype=float).reshape((K, K) + (1,) * nd) if np.ndim(A0) == 2 else A0,
                         (K, K, *shape)).copy()
    A = np.stack([np.broadcast_to(
        np.asarray(A[mu], dtype=float).reshape((K, K) + (1,) * nd) if np.ndim(A[mu]) == 2 else A[mu],
        (K, K, *shape)) for mu in range(nd)])
    if rule == "none":
        return A0, A
    if rule == "printed":
        A0 = A0 + (eye - x0_power(X0, np.asarray(theta_prev) - th)) / dt
        A = np.stack([A[mu] + (eye - x0_power(X0, np.roll(th, 1, mu) - th)) for mu in range(nd)])
    else:
        A0 = A0 + (x0_power(X0, np.asarray(theta_next) - th) - eye) / dt
        A = np.stack([A[mu] + (x0_power(X0, th - np.roll(th, -1, mu)) - eye) for mu in range(nd)])
    return A0, A


# ----------------------------------------------------------------------------------------------------------
# gauge-invariant observables
# ----------------------------------------------------------------------------------------------------------
def covariant_central(X0: Any, lattice: Lattice, alpha: Any, mu: int) -> LatticeOperator:
    """``D_mu f_i = (U_mu,i f_{i+mu} - U_mu,i-mu^T f_{i-mu}) / (2a)`` (covariant central difference)."""
    nd, K, a = lattice.ndim, np.asarray(X0).shape[0], lattice.spacing
    e = tuple(1 if nu == mu else 0 for nu in range(nd))
    me = tuple(-v for v in e)
    U = x0_power(X0, np.asarray(alpha[mu], dtype=float))
    Ub = np.swapaxes(np.roll(U, 1, axis=2 + mu), 0, 1)
    return LatticeOperator.from_terms({e: U / (2 * a), me: -Ub / (2 * a)}, nd, K)


class GaugedDiracModel(AbstractModel):
    """A gauged Dirac network with its physics side and gauge-invariant observables.

    Observables: ``charge`` (``a^D sum phi^2 + pi^2``), ``energy`` (``a^D <psi, H(U) psi>`` of the continuous-time
    generator with the links, ``q A0`` included), ``momentum_<x>`` (kinetic, covariant central difference),
    ``wavenumber_<x>`` (canonical mean lattice momentum from the FFT),
    ``position_<x>`` (charge-weighted, minimum image about the box centre), ``plaquette`` (mean
    ``cos(pi P/2)`` of the background: constant, gauge invariant).
    """

    network: Any
    theory: dirac.Dirac = eqx.field(static=True)
    links: U1Links | None = None
    central: tuple[LatticeOperator, ...] = ()
    qA0: Any = 0.0
    plaquette_mean: Any = 1.0
    kind: str = eqx.field(static=True, default="stable")

    @classmethod
    def create(cls, network: Any, theory: dirac.Dirac, links: U1Links | None, kind: str) -> GaugedDiracModel:
        """Precompute the background-dependent pieces (covariant differences, ``q A0``, plaquettes) once."""
        lat = theory.lattice
        X0 = np.asarray(theory.X[0])
        alpha = np.zeros((lat.ndim, *lat.shape)) if links is None else np.asarray(links.alpha)
        central = tuple(covariant_central(X0, lat, alpha, mu) for mu in range(lat.ndim))
        qA0 = 0.0 if links is None else np.asarray(links.alpha0)[None] * (np.pi / 2) / float(network.dt)
        plaq = 1.0
        if links is not None and lat.ndim >= 2:
            plaq = float(np.mean(np.cos(np.pi / 2 * links.plaquettes())))
        return cls(network, theory, links, central, qA0, plaq, kind)

    def encode(self, phi: Any, pi: Any) -> State:
        phi = jnp.asarray(phi)
        return State(phi, jnp.asarray(pi, phi.dtype))

    def decode(self, state: State) -> tuple[jax.Array, jax.Array]:
        return state.phi, state.pi

    def conserved(self) -> tuple[Conserved, ...]:
        """Nothing is declared yet: in a non-uniform background the charge of the stable network drifts slowly
        (docs/gauge.md)."""
        return ()

    def _X0(self) -> np.ndarray:
        return np.asarray(self.theory.X[0])

    def charge(self, state: State) -> jax.Array:
        return self.theory.lattice.cell_volume * (jnp.sum(state.phi**2) + jnp.sum(state.pi**2))

    def energy(self, state: State) -> jax.Array:
        """``a^D [m (|phi|^2 - |pi|^2) + q A0 (|phi|^2 + |pi|^2) - phi.X_0 B pi + pi.X_0 B^T phi]``.

        The quadratic form ``-s.(J L s)`` of the generator ``L`` (``J = X_0`` on phi and pi), i.e.
        ``psi^dagger H psi`` with ``X_0 -> -i``; invariant under static gauge transformations.
        """
        X0 = jnp.asarray(self._X0(), state.phi.dtype)
        B = self.network.B
        phi, pi = state.phi, state.pi
        m = self.theory.m
        dens = (
            m * (phi**2 - pi**2)
            + self.qA0 * (phi**2 + pi**2)
            - phi * jnp.einsum("ab,b...->a...", X0, B.apply(pi))
            + pi * jnp.einsum("ab,b...->a...", X0, B.T.apply(phi))
        )
        return self.theory.lattice.cell_volume * jnp.sum(dens)

    def momentum(self, state: State) -> jax.Array:
        """Kinetic momentum per unit charge, ``<psi, -i D psi> / <psi, psi>`` per direction (``-i -> X_0``)."""
        X0 = jnp.asarray(self._X0(), state.phi.dtype)
        out = []
        for Dmu in self.central:
            p = jnp.sum(state.phi * jnp.einsum("ab,b...->a...", X0, Dmu.apply(state.phi)))
            p = p + jnp.sum(state.pi * jnp.einsum("ab,b...->a...", X0, Dmu.apply(state.pi)))
            out.append(p)
        return jnp.stack(out) / (jnp.sum(state.phi**2) + jnp.sum(state.pi**2))

    def wavenumber(self, state: State) -> jax.Array:
        """Mean canonical lattice momentum ``sum_k k |psi_k|^2 / sum_k |psi_k|^2`` (FFT; ``k`` in ``[-pi/a, pi/a)``).

        Equals the kinetic momentum where the vector potential vanishes (e.g. an electric field as ``A0``); then
        ``d<k>/dt = q E`` holds on the lattice without discretization error in the momentum operator.
        """
        lat = self.theory.lattice
        axes = tuple(range(1, lat.ndim + 1))
        psi = self.theory.pack(state.phi, state.pi)
        w = jnp.sum(jnp.abs(jnp.fft.fftn(psi, axes=axes)) ** 2, axis=0)
        return jnp.stack([jnp.sum(w * k) for k in lat.momenta()]) / jnp.sum(w)

    def position(self, state: State) -> jax.Array:
        lat = self.theory.lattice
        dens = jnp.sum(state.phi**2, axis=0) + jnp.sum(state.pi**2, axis=0)
        out = []
        for mu, x in enumerate(lat.coordinates()):
            L = lat.lengths[mu]
            d = x - L / 2
            d = d - L * np.round(d / L)
            out.append(jnp.sum(dens * (d + L / 2)) / jnp.sum(dens))
        return jnp.stack(out)

    def plaquette(self) -> Any:
        """Mean ``cos(pi P / 2)`` over the plaquettes of the background (1 without a field)."""
        return self.plaquette_mean

    def observables(self, state: State) -> dict[str, jax.Array]:
        out = {"charge": self.charge(state), "energy": self.energy(state)}
        p = self.momentum(state)
        kk = self.wavenumber(state)
        x = self.position(state)
        for mu in range(self.theory.lattice.ndim):
            out[f"momentum_{'xyz'[mu]}"] = p[mu]
            out[f"wavenumber_{'xyz'[mu]}"] = kk[mu]
            out[f"position_{'xyz'[mu]}"] = x[mu]
        out["plaquette"] = jnp.asarray(self.plaquette())
        return out

    def analysis_extra(self, max_dense: int = 2048) -> dict[str, Any]:
        """For ``nnfield analyze``: uniform links are analysed by the Fourier symbol; a non-uniform background
        (magnetic field, ``A0 = -E x``) on a small lattice (``K N <= max_dense``) by the dense spectrum of the
        complex one-tick map (growth per step and the lowest positive frequencies, e.g. Landau levels);
        otherwise the report says that it cannot (magnetic translations are not implemented)."""
        uniform = self.links is None or self.links.uniform
        out: dict[str, Any] = {"uniform": bool(uniform), "plaquette": float(self.plaquette())}
        if uniform:
            out["note"] = "uniform links: translation invariant, analysed by the Fourier symbol"
            return {"gauge": out}
        n = self.network.K * self.theory.lattice.size
        if n > max_dense:
            out["note"] = (
                f"non-uniform background: no Fourier symbol (magnetic translations are not implemented) and the "
                f"dense spectrum needs K N = {n} > {max_dense}; use a smaller lattice for the spectrum"
            )
            return {"gauge": out}
        lam = np.linalg.eigvals(complex_step_matrix(self.network))
        w = np.sort(-np.angle(lam) / float(self.network.tick))
        levels = distinct_levels(w[w > 0], 1e-3 * max(1.0, float(np.abs(w).max())))[:6]
        out.update({
            "dense_spectrum": True,
            "max_amplification": float(np.abs(lam).max()),
            "stable": bool(np.abs(lam).max() <= 1 + 1e-6),
            "lowest_levels": [round(x, 6) for x, _ in levels],
            "multiplicities": [k for _, k in levels],
            "note": "non-uniform background: dense spectrum of the one-tick map (network_frequencies)",
        })
        return {"gauge": out}


def model(
    lattice: Lattice,
    m: float,
    dt: float,
    links: U1Links | None = None,
    network: str = "stable",
    bias: str = "forward",
    r: float = 1.0,
    X: Any = None,
) -> GaugedDiracModel:
    """A gauged Dirac model (link form) on ``lattice`` with background ``links``."""
    X = _X(lattice, X)
    net = link_network(lattice, m, dt, links, network, bias, r, X)
    theory = dirac.Dirac(m=m, lattice=lattice, X=X, kind=bias, r=r)
    return GaugedDiracModel.create(net, theory, links, network)


# ----------------------------------------------------------------------------------------------------------
# physics side: the continuum gauged Dirac equation (5.10)
# ----------------------------------------------------------------------------------------------------------
class ContinuumReference:
    """The gauged Dirac equation (5.10) in Hamiltonian form, solved independently of the network code.

    ``i d_t psi = [sum_mu alpha^mu (-i d_mu - q A_mu) + beta m + q A0] psi`` with spectral (FFT) derivatives on
    the lattice's periodic box and SciPy's DOP853 in time (``rtol`` 1e-10). The gamma matrices come from the
    Dirac theory (4.31); ``A``/``A0`` are read from links (``A_mu = pi alpha_mu / (2 q a)`` at sites,
    ``A0 = pi alpha0 / (2 q dt)``). Spectrally accurate in space for smooth fields, so the network's error
    against it measures the network's own discretization (order 1 in a and dt).
    """

    def __init__(self, theory: dirac.Dirac, links: U1Links | None = None, dt: float = 1.0, q: float = 1.0):
        self.theory = theory
        lat = theory.lattice
        self.k = lat.momenta()
        if links is None:
            self.A = np.zeros((lat.ndim, *lat.shape))
            self.A0 = np.zeros(lat.shape)
        else:
            self.A = np.pi * np.asarray(links.alpha) / (2 * q * lat.spacing)
            self.A0 = np.pi * np.asarray(links.alpha0) / (2 * q * dt)
        self.q = q

    def hamiltonian(self, psi: np.ndarray) -> np.ndarray:
        th = self.theory
        axes = tuple(range(1, psi.ndim))
        out = th.m * np.einsum("ab,b...->a...", th.beta, psi) + self.q * self.A0[None] * psi
        fpsi = np.fft.fftn(psi, axes=axes)
        for mu, k in enumerate(self.k):
            dpsi = np.fft.ifftn(1j * k[None] * fpsi, axes=axes)
            out = out + np.einsum("ab,b...->a...", th.alpha[mu], -1j * dpsi - self.q * self.A[mu][None] * psi)
        return out

    def evolve(self, psi0: np.ndarray, t: float, rtol: float = 1e-10) -> np.ndarray:
        from scipy.integrate import solve_ivp

        psi0 = np.asarray(psi0, dtype=complex)
        shape = psi0.shape

        def rhs(_: float, y: np.ndarray) -> np.ndarray:
            return (-1j * self.hamiltonian(y.reshape(shape))).ravel()

        sol = solve_ivp(rhs, (0.0, t), psi0.ravel(), method="DOP853", rtol=rtol, atol=rtol * np.abs(psi0).max())
        return sol.y[:, -1].reshape(shape)


# ----------------------------------------------------------------------------------------------------------
# spectra
# ----------------------------------------------------------------------------------------------------------
def complex_step_matrix(network: Any, dtype: Any = jnp.float64) -> np.ndarray:
    """The one-tick map as a complex matrix on ``psi = pack(phi, pi)`` (it commutes with ``X_0``).

    Built from the network's own ``step`` applied to the ``K N`` complex basis vectors; dense, small lattices.
    """
    lat: Lattice = network.lattice
    K, N = network.K, lat.size
    half = K // 2
    n = K * N  # complex dimension: K/2 (phi~) + K/2 (pi~) per site

    def col(j: jax.Array) -> jax.Array:
        re = jnp.zeros((n,), dtype).at[j].set(1.0).reshape((K, *lat.shape))
        # re holds the complex basis vector psi = e_j (real part); unpack to (phi, pi)
        phi = jnp.stack([re[c // 2] if c % 2 == 0 else jnp.zeros_like(re[0]) for c in range(K)])
        pi = jnp.stack([re[half + c // 2] if c % 2 == 0 else jnp.zeros_like(re[0]) for c in range(K)])
        out = network.step(State(phi, pi))
        psi = jnp.concatenate([out.phi[0::2] + 1j * out.phi[1::2], out.pi[0::2] + 1j * out.pi[1::2]], axis=0)
        return psi.reshape(-1)

    cols = jax.lax.map(col, jnp.arange(n), batch_size=256)
    return np.asarray(cols).T


def network_frequencies(network: Any) -> np.ndarray:
    """All frequencies ``Omega`` with ``lambda = exp(-i Omega tick)`` of the complex one-tick map, sorted."""
    lam = np.linalg.eigvals(complex_step_matrix(network))
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


def with_links(
    m: GaugedDiracModel, links: U1Links, lattice: Lattice, dt: float, bias: str, r: float
) -> GaugedDiracModel:
    """The same model with other links (e.g. gauge transformed)."""
    net = link_network(lattice, m.theory.m, dt, links, m.kind, bias, r, m.theory.X)
    return GaugedDiracModel.create(net, m.theory, links, m.kind)


__all__ = [
    "ContinuumReference",
    "GaugedDiracModel",
    "GaugedNetwork",
    "SiteLoss",
    "U1Links",
    "apply_local",
    "complex_step_matrix",
    "covariant_bias",
    "covariant_central",
    "distinct_levels",
    "landau_levels",
    "link_network",
    "linearized_network",
    "model",
    "network_frequencies",
    "random_links",
    "transform_linearized",
    "transform_links",
    "transform_state",
    "uniform_electric",
    "uniform_magnetic",
    "with_links",
    "x0_power",
]
