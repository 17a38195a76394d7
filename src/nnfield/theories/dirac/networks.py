r"""The Dirac networks of paper Sec. 4 (``phi, pi`` of shape ``(K, *shape)``, step ``dt = h``, spacing ``a``).

All learning is by autodiff of the losses in :mod:`.losses`.

:func:`paper_network` (4.11)/(4.26): ``W - I = m X_0`` (4.13), ``B`` a bias map, per-type losses (4.14) so that

    phi <- phi + h (m X_0 phi + B pi),        pi <- pi - h (B^T phi + m X_0 pi)                   (4.11)

with the corrected per-type loss ``H_a = 1/2 sum_b phi^b.phi^b + m pi^a.(X_0 pi)^a`` (no sum over a;
type ``a`` descends ``H_a`` w.r.t. ``pi^a``). The printed (4.14) ``H_a = 1/2 phi^a.phi^a - m pi^a.(X_0 pi)^a``
loses ``-B^T phi`` (the diagonal blocks of ``B`` vanish) and flips the mass sign (``loss="printed"``);
``loss="printed_summed"`` sums the phi-term over types (mass sign still wrong); ``loss="4.12"`` is the scalar
loss (4.12), which needs ``W = W^T`` and drops the mass term here (``pi.X_0 pi = 0``).
With the ``simultaneous`` scheme this is the paper's map: order 1, ``|lambda|^2 = 1 + h^2 (m^2 + sigma^2(k))``
per step, unstable for every ``h > 0``.

:func:`stable_network`: a network with the orthogonal mass weight ``R = X_0^(2 m h / pi) = cos(mh) + sin(mh) X_0``.
The engine's activation is ``phi + h ((W - I) phi + B pi)``; with ``W - I = (R - I) / h`` it is
``R phi + h B pi``. With the ``alternating`` scheme (learning evaluated on the activation output) and the
per-type loss ``H_a = 1/2 sum_b phi^b.phi^b + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a``, ``C = (I - R^T) / h``,
autodiff gives ``dH_a/dpi^a = (B^T phi(t+1))^a + (C pi)^a``, i.e.

    phi(t+1) = R phi + h B pi,        pi(t+1) = R^T pi - h B^T phi(t+1).

Order 1. Per mode (singular value sigma of B) the map has determinant 1 and trace
``2 cos(mh) - h^2 sigma^2``: stable iff ``h sigma_max(B) < 2 cos(mh/2)``. Its exact quadratic invariant is
:func:`~nnfield.theories.dirac.invariant.stable_invariant`; the plain charge oscillates, bounded.

:func:`literal_linear_network`: (4.11) literally as a (4.2) network (no loss), the reference of the checks.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_number
from ..._deprecation import positional_options
from ...errors import ParameterError
from ...lattice import Lattice
from ...network import LinearNetwork, Network
from ...operators import identity, local
from ...schemes import Scheme
from .. import clifford
from .bias import bias_map
from .losses import PerTypeLoss, ScalarMassLoss, per_type_loss

NETWORKS = ("paper", "stable")


def _check_mass(m: Any) -> None:
    """``m`` one finite real number (a traced one is taken as it is), else a :class:`ParameterError` naming ``m``.

    An array of masses was broadcast against the ``K x K`` matrix ``X_0`` (``m * X_0``): for ``K`` masses a wrong,
    non-antisymmetric mass weight in silence. Several masses are several networks (an ensemble, ``[sweep]``)."""
    check_number("m", m)
    if not isinstance(m, jax.core.Tracer) and np.ndim(m) != 0:
        raise ParameterError("m", f"expected one mass (a number), got an array of shape {np.shape(m)}; build one "
                             "network per mass, or sweep the mass with nnfield.ensemble ([sweep] in a config)")


def _check_X(X: Any, lattice: Lattice) -> np.ndarray:
    """``X_0..X_D`` validated (Clifford relations) and matched to the lattice's dimension (``X`` by default:
    :func:`~nnfield.theories.clifford.representation`)."""
    X = clifford.validate_clifford(clifford.representation(lattice.ndim) if X is None else X)
    if X.shape[0] != lattice.ndim + 1:
        raise ParameterError(
            "X",
            f"the lattice has D = {lattice.ndim} dimensions but {X.shape[0]} X matrices were given; "
            f"expected D + 1 = {lattice.ndim + 1} (X_0 for the mass, X_1..X_D for the bias)",
        )
    return X


@positional_options
def paper_network(
    lattice: Lattice,
    m: float,
    dt: float,
    *,
    X: Any = None,
    scheme: str | Scheme = "simultaneous",
    bias: str = "forward",
    wilson_r: float = 1.0,
    loss: str = "corrected",
) -> Network:
    """The paper's Dirac network (4.11) with (4.13), bias (4.15)/(4.24) and per-type losses (4.14).

    ``loss="corrected"`` reproduces (4.11)/(4.17)/(4.26) exactly; ``"printed"``/``"printed_summed"`` are the
    printed (4.14) readings (they do not); ``"4.12"`` the scalar loss (4.12) (no mass term for antisymmetric W).
    Order 1 (``simultaneous``, the paper: unstable for every ``dt > 0``).
    """
    _check_mass(m)
    X = _check_X(X, lattice)
    nd = lattice.ndim
    W = identity(nd, X.shape[1]) + local(m * X[0], nd)
    B = bias_map(X, lattice, bias, wilson_r)
    if loss == "4.12":
        lossfn = ScalarMassLoss(local(m * X[0], nd))
    else:
        try:
            lossfn = per_type_loss(X[0], m, loss)
        except ParameterError as exc:
            raise ParameterError("loss", exc.problem) from None
    name = f"dirac {nd}+1 paper (4.11) [{bias}, loss {loss}]"
    return Network.create(lattice, W, B, lossfn, dt, scheme, name=name)


def orthogonal_rates(theta: Any, dt: Any, search: int = 4) -> tuple[Any, Any, Any]:
    """Rates ``(A_c, A_s)`` with ``R = I + dt (A_c I + A_s X_0) ~ cos(theta) + sin(theta) X_0`` as exactly
    orthogonal as float64 allows, and ``tan(theta_eff / 2)`` of the rotation actually realized.

    The engine applies ``phi + dt ((W - I) phi + ...)`` with ``W - I`` formed as ``fl(1 + A_c) - 1`` on the
    diagonal; a determinant ``|R|^2 = (1 + dt A_c)^2 + (dt A_s)^2`` off 1 by ~eps would make every invariant drift
    by that much per step. Among the floats within ``search`` ulps of ``fl(1 + (cos - 1)/dt)`` and
    ``fl(sin / dt)`` the pair minimizing ``| |R|^2 - 1 |`` (evaluated exactly, in rationals) is returned.

    A traced ``theta`` or ``dt`` (a mass inside ``jax.jit``, ``jax.vmap`` or ``jax.grad``) cannot be tuned in
    exact arithmetic: the rates are then rounded once, ``((cos - 1)/dt, sin/dt)``, orthogonal to a few ulps,
    so the invariants drift at round-off per step; their derivatives are those of the tuned rates (the tuning
    moves them by ulps). Concrete masses give the tuned rates; ``nnfield.ensemble`` builds a mass sweep that way.
    """
    if isinstance(theta, jax.core.Tracer) or isinstance(dt, jax.core.Tracer):
        ac_t, sv_t = (jnp.cos(theta) - 1.0) / dt, jnp.sin(theta) / dt
        return ac_t, sv_t, dt * sv_t / (2.0 + dt * ac_t)
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
    if 1.0 + c_eff == 0.0:  # a rotation by pi (m dt = pi to ~1e-8, e.g. a probe of the dt_max search): tan = inf
        return ac, sv, math.copysign(math.inf, s_eff)
    return ac, sv, s_eff / (1.0 + c_eff)


@positional_options
def stable_network(
    lattice: Lattice, m: float, dt: float, *, X: Any = None, bias: str = "forward", wilson_r: float = 1.0
) -> Network:
    """The stable Dirac network: ``phi' = R phi + h B pi``, ``pi' = R^T pi - h B^T phi'``, ``R = X_0^(2 m h/pi)``.

    Built as ``W - I = (R - I)/h`` with per-type loss ``C = (I - R^T)/h`` and the ``alternating`` scheme (the
    rates from :func:`orthogonal_rates`, so that ``R`` is orthogonal to round-off). Order 1; stable iff
    ``h sigma_max(B) < 2 cos(m h/2)``; exact invariant: see
    :func:`~nnfield.theories.dirac.invariant.stable_invariant`.
    """
    _check_mass(m)
    check_number("dt", dt, positive=True)  # before the rates divide by it (a ZeroDivisionError for dt = 0)
    X = _check_X(X, lattice)
    nd, K = lattice.ndim, X.shape[1]
    ac, sv, _ = orthogonal_rates(m * dt, dt)
    W = local((1.0 + ac) * np.eye(K) + sv * X[0], nd)  # W - I = ac I + sv X_0 exactly
    B = bias_map(X, lattice, bias, wilson_r)
    loss = PerTypeLoss(-ac * np.eye(K) + sv * X[0], True)  # C = (I - R^T)/h: learning pi - h C pi = R^T pi
    name = f"dirac {nd}+1 stable [{bias}]"
    return Network.create(lattice, W, B, loss, dt, "alternating", name=name)


@positional_options
def literal_linear_network(
    lattice: Lattice, m: float, dt: float = 1.0, *, X: Any = None, bias: str = "forward", wilson_r: float = 1.0,
    scheme: str = "simultaneous",
) -> LinearNetwork:
    """(4.11) literally as a (4.2) network: ``W = I + m X_0``, ``A = -B^T`` (4.5), ``V = 2I - W``. No loss; order 1."""
    _check_mass(m)
    X = _check_X(X, lattice)
    nd, K = lattice.ndim, X.shape[1]
    eye = identity(nd, K)
    W = eye + local(m * X[0], nd)
    B = bias_map(X, lattice, bias, wilson_r)
    return LinearNetwork.create(lattice, W, B, -1.0 * B.T, 2.0 * eye - W, dt, scheme, name="(4.11) literal")
