r"""The stable Dirac network of Sec. 4/5 as the matter sector of learning links (``docs/maxwell_dirac.md``).

``K`` neuron types per site (2 for D = 1, 4 for D = 2, 3), ``phi`` and ``pi`` each ``(K, *shape)``. The links are
the X_0 powers of Sec. 5 in the convention of the u1 core: ``U_mu(x) = exp(-theta_mu(x) X_0) = cos(theta) -
sin(theta) X_0`` (``X_0 -> -i``, so ``U -> exp(i theta)``, ``theta = a q A``), sitting in the bias map (5.8)::

    forward (4.24):  (B(theta) f)(x) = sum_mu X_mu (U_mu(x) f(x + mu) - f(x)) / a
    wilson:          (B(theta) f)(x) = sum_mu [X_mu (U_mu(x) f(x+mu) - U_mu(x-mu)^T f(x-mu)) / (2a)
                                          + (r / (2a)) X_0 (2 f(x) - U_mu(x) f(x+mu) - U_mu(x-mu)^T f(x-mu))]

``B(theta)`` commutes with ``X_0`` and is covariant: ``B(theta') G = G B(theta)`` for ``G(x) = exp(-chi(x) X_0)``
(``Phi -> exp(i chi) Phi``) and ``theta'_mu = theta_mu + chi(x) - chi(x + mu)`` (:mod:`nnfield.theories.u1.transform`).

The stable network (:func:`nnfield.theories.dirac.stable_network`) with these links: the orthogonal mass weight
``R = X_0^(2 m h / pi)`` realized by the rates ``(ac, sv)`` of :func:`~nnfield.theories.dirac.orthogonal_rates`
(``R = (1 + h ac) I + h sv X_0``), the activation ``phi <- R phi + h B(theta) pi`` and the learning of ``pi`` by
``jax.grad`` of the per-type loss (4.14, corrected) through the activation (``d phi / d pi = B``)::

    H_a(phi, pi) = 1/2 sum_b phi^b.phi^b + pi^a.(C pi)^a - 1/2 C_aa pi^a.pi^a,   C = (I - R^T) / h = -ac I + sv X_0

so that ``pi <- pi - h dH_a/dpi^a = R^T pi - h B(theta)^T phi``.

The links learn from the Dirac energy written with the links in the bias map (the loss whose ``X_0``-rotated
gradients are the activation and the learning above: ``X_0 dL_D/dpi = -B^T phi``, ``X_0 dL_D/dphi = B pi``)::

    L_D(theta; phi, w) = - sum_x phi . X_0 B(theta) w

evaluated at the time-centred matter of a tick (``phi(t+1)`` and ``w = T (pi(t+1/2) + pi(t+3/2))``,
``T = I - tan(m h/2) X_0``); its ``jax.grad`` in ``theta`` is ``-1/(q a)`` times the current that kicks ``E``.
The charge density it pairs with is the local form of the stable network's exact invariant
(:func:`~nnfield.theories.dirac.stable_invariant` is its sum)::

    rho(x) = q [ |pi(t+1/2)|^2 + phi(t) . T phi(t+1) ]            (at the half step of pi and E)
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import weak_scalar
from ..._trace import trace_once
from ...errors import ParameterError
from ...operators import half_sum_of_squares
from ...state import State
from .. import dirac
from ..params import check_number
from ..u1 import AbstractMatter
from ..u1._lattice import backward, forward
from ..u1.network import check_charge

BIASES = ("forward", "wilson")


def check_matter_parameters(dt: Any, charge: Any, m: Any, bias: Any, r: Any) -> None:
    """A :class:`~nnfield.errors.ParameterError` naming the argument unless ``dt`` is positive, ``charge`` a
    coupling :func:`~nnfield.theories.u1.network.check_charge` accepts, ``m >= 0``, ``bias`` one of
    :data:`BIASES` and ``r`` (the Wilson parameter, ``wilson_r`` of the builder) positive; all finite. Checked
    before the mass rotation is built (``dt = 0`` was a ``ZeroDivisionError`` there, ``dt = nan`` a ``ValueError``
    of the rational approximation). Traced values pass unchecked (``jax.jit``, ``jax.vmap``, ``jax.grad``)."""
    check_number("dt", dt, positive=True)
    check_charge(charge)
    check_number("m", m, minimum=0.0)
    if not (isinstance(bias, str) and bias in BIASES):
        raise ParameterError("bias", f"expected one of {BIASES} (the forward map (4.24) or the doubler-free Wilson "
                                     f"map), got {bias!r}")
    check_number("wilson_r", r, positive=True)


def _mix(M: Any, f: jax.Array) -> jax.Array:
    """``M f`` per site for a constant ``(K, K)`` matrix ``M``."""
    return jnp.einsum("ab,b...->a...", jnp.asarray(M, jnp.result_type(f)), f)


#: ``(c, signs)``: the matrix ``M[a, b] = signs[a]`` if ``b = a XOR c``, else 0 (a signed "bit-flip" permutation)
XorPattern = tuple[int, tuple[float, ...]]
#: ``(cos theta, sin theta)`` of the links (:meth:`DiracMatter.factors`)
LinkFactors = tuple[jax.Array, jax.Array]


def xor_pattern(M: Any) -> XorPattern | None:
    """``(c, signs)`` when ``M`` (``(K, K)``, ``K`` a power of 2) is a signed permutation ``b = a XOR c``, else
    ``None``. Every Kronecker product of the real 2x2 Pauli-type factors (``I``, ``sigma_x``, ``sigma_z``,
    ``i sigma_y``) is one, so the built-in Clifford matrices of every dimension are (:mod:`..clifford`)."""
    M = np.asarray(M, dtype=float)
    K = M.shape[0]
    if M.shape != (K, K) or K & (K - 1):
        return None
    for c in range(K):
        cols = [a ^ c for a in range(K)]
        signs = tuple(float(M[a, cols[a]]) for a in range(K))
        dense = np.zeros((K, K))
        dense[np.arange(K), cols] = signs
        if all(abs(sg) == 1.0 for sg in signs) and np.array_equal(dense, M):
            return c, signs
    return None


def _apply_xor(pattern: XorPattern, f: jax.Array) -> jax.Array:
    """``M f`` for the signed bit-flip permutation ``pattern`` (:func:`xor_pattern`) of ``f`` ``(K, *shape)``:
    reversals of the type index's binary digits and one sign per type, which XLA fuses into the loops around
    them (an ``einsum`` with the matrix compiles to a ``dot`` and two transposes per application on the CPU;
    the reversal is its own transpose, so reverse-mode autodiff stays fused as well). Exact: the same numbers
    as the matrix product, each a signed copy of one entry."""
    c, signs = pattern
    K, rest = f.shape[0], f.shape[1:]
    n = K.bit_length() - 1
    flip = tuple(i for i in range(n) if (c >> (n - 1 - i)) & 1)
    g = jnp.flip(f.reshape((2,) * n + rest), axis=flip).reshape(f.shape) if flip else f
    if all(sg == 1.0 for sg in signs):
        return g
    return jnp.asarray(np.asarray(signs).reshape((K,) + (1,) * len(rest)), jnp.result_type(f)) * g


class DiracMatter(AbstractMatter):
    """The stable Dirac network's matter sector with links in its bias map (see the module docstring).

    Attributes: ``X`` the Clifford matrices ``X_0..X_D`` (``(D + 1, K, K)``), ``m`` the mass, ``charge`` q,
    ``ac``, ``sv`` the rates of the mass rotation, ``tan_half`` ``tan(theta_eff/2)`` of the realized rotation,
    ``dt`` the step ``h``; static: ``spacing`` a, ``bias`` (``"forward"``/``"wilson"``), ``r`` (Wilson).
    """

    X: Any
    m: Any
    charge: Any
    ac: Any
    sv: Any
    tan_half: Any
    dt: Any
    spacing: float = eqx.field(static=True, default=1.0)
    bias_kind: str = eqx.field(static=True, default="forward")
    r: float = eqx.field(static=True, default=1.0)
    #: :func:`xor_pattern` of each ``X_mu`` (``None`` where not one; empty: none computed): static, so that the
    #: Clifford factors are applied as signed permutations even where ``X`` is a traced leaf (the runner's chunks)
    patterns: tuple[XorPattern | None, ...] = eqx.field(static=True, default=())

    @classmethod
    def create(cls, X: Any, m: float, charge: float, dt: float, spacing: float, bias: str = "forward",
               r: float = 1.0) -> DiracMatter:
        """The Dirac sector with Clifford matrices ``X`` (``(D + 1, K, K)``, ``X_0`` first), mass ``m >= 0``,
        coupling ``charge``, step ``dt > 0``, lattice ``spacing``, bias map ``bias`` (``"forward"`` (4.24) or
        ``"wilson"``) and Wilson parameter ``r > 0`` (:func:`check_matter_parameters`); the rates of the orthogonal
        mass rotation ``R = X_0^(2 m dt / pi)`` come from :func:`~nnfield.theories.dirac.orthogonal_rates`."""
        check_matter_parameters(dt, charge, m, bias, r)
        # NumPy float64 scalars would promote a float32 state (a VJP's dtype error)
        m, charge, dt, spacing, r = (weak_scalar(x) for x in (m, charge, dt, spacing, r))
        ac, sv, tan_half = dirac.orthogonal_rates(m * dt, dt)
        X = np.asarray(X, dtype=float)
        return cls(X=X, m=m, charge=charge, ac=ac, sv=sv, tan_half=tan_half, dt=dt, spacing=spacing,
                   bias_kind=bias, r=r, patterns=tuple(xor_pattern(M) for M in X))

    def mix(self, mu: int, f: jax.Array) -> jax.Array:
        """``X_mu f`` per site: a signed permutation of the types where ``X_mu`` is one (:func:`_apply_xor`),
        else the matrix product."""
        pattern = self.patterns[mu] if mu < len(self.patterns) else None
        return _apply_xor(pattern, f) if pattern is not None else _mix(self.X[mu], f)

    # -- the bias map with links ---------------------------------------------------------------------------
    @property
    def K(self) -> int:
        """Neuron types per site (the size of the Clifford matrices)."""
        return int(np.shape(self.X)[1])

    @property
    def D(self) -> int:
        """The lattice's dimension (``X_1..X_D`` after ``X_0``)."""
        return int(np.shape(self.X)[0]) - 1

    def link(self, theta: jax.Array, f: jax.Array) -> jax.Array:
        """``U f = cos(theta) f - sin(theta) X_0 f`` per site (``theta`` shaped like one component of ``f``)."""
        return jnp.cos(theta)[None] * f - jnp.sin(theta)[None] * self.mix(0, f)

    @staticmethod
    def factors(theta: jax.Array) -> LinkFactors:
        """``(cos theta, sin theta)``: the links' factors ``U = cos - sin X_0`` (``theta`` ``(D, *shape)``)."""
        return jnp.cos(theta), jnp.sin(theta)

    def hop(self, theta: jax.Array | LinkFactors, f: jax.Array) -> jax.Array:
        """``B(theta) f`` (the gauged bias map, see the module docstring); ``theta`` ``(D, *shape)``, or its
        :meth:`factors` (a tuple), which a tick computes once per link configuration and passes to every map that
        uses them (``cos``/``sin`` cost 4-5 ns per float64 entry on the CPU, 8x an ``exp``: a 2D Wilson tick at 256^2
        still makes 11 passes of them over the links, about 6 of its 23-24 ms, since XLA's fusions repeat some;
        ``docs/performance.md``).

        The Wilson map's backward hop ``U_mu(x - mu)^T`` uses the shifted factors (``cos``, ``-sin`` at ``x -
        mu``; the transpose of ``exp(-theta X_0)`` is ``exp(+theta X_0)``), not functions of the shifted, negated
        angle: the same numbers, with no transcendental evaluation of its own."""
        D, a = self.D, self.spacing
        out = jnp.zeros_like(f)
        cos, sin = theta if isinstance(theta, tuple) else self.factors(theta)
        for mu in range(D):
            fx = forward(f, mu, D)
            up = cos[mu][None] * fx - sin[mu][None] * self.mix(0, fx)  # U_mu(x) f(x + mu)
            if self.bias_kind == "forward":
                out = out + self.mix(mu + 1, up - f) / a
            else:
                fb = backward(f, mu, D)  # U_mu(x - mu)^T f(x - mu) = (cos + sin X_0)(x - mu) f(x - mu)
                down = backward(cos[mu], mu, D)[None] * fb + backward(sin[mu], mu, D)[None] * self.mix(0, fb)
                out = out + self.mix(mu + 1, up - down) / (2 * a)
                out = out + self.r / (2 * a) * self.mix(0, 2 * f - up - down)
        return out

    def bias(self, pi: jax.Array) -> jax.Array:
        """``B pi`` at trivial links (the protocol's bias; the network uses :meth:`hop` with its links)."""
        return self.hop(jnp.zeros((self.D, *pi.shape[1:]), jnp.result_type(pi)), pi)

    # -- the network's two updates --------------------------------------------------------------------------
    def activate(self, theta: jax.Array | LinkFactors, phi: jax.Array, pi: jax.Array) -> jax.Array:
        """The activation ``phi + h ((W - I) phi + B(theta) pi)`` with ``W - I = ac I + sv X_0`` (``= R phi + h B pi``):
        the first line of (4.11) with the orthogonal weight ``R = X_0^(2 m h / pi)`` of the stable network in place
        of (4.13)'s ``W - I = m X_0`` (times ``h``; order 1 in ``h`` either way) and the gauged bias map (4.24) with
        the links of (5.8) as exact link variables."""
        h = self.dt
        return phi + h * (self.ac * phi + self.sv * self.mix(0, phi) + self.hop(theta, pi))

    def learning_loss(self, theta: jax.Array, phi_new: jax.Array, pi: jax.Array, p: jax.Array) -> jax.Array:
        """``sum_a H_a`` as a function of ``p`` (the per-type loss of the module docstring, through the activation
        ``p -> phi_new + B(theta) (p - pi)``). The other types' ``pi`` inside ``C pi`` are the current ``pi``, not
        ``p`` (type ``a`` descends its own ``H_a`` w.r.t. ``pi^a`` only), so that one ``jax.grad`` in ``p`` gives
        every type its own gradient (as :class:`~nnfield.network.SplitPerTypeLoss`; no ``stop_gradient``, so
        that a linearization of the tick sees every dependence on ``pi``)."""
        return self._loss_at_activation(phi_new + self.hop(theta, p - pi), p, pi)

    def learning_gradient(self, theta: jax.Array | LinkFactors, phi_new: jax.Array, pi: jax.Array) -> jax.Array:
        """``dH_a/dpi^a = B(theta)^T phi_new + C pi`` by autodiff of :meth:`learning_loss` (never written by hand):
        the gradient of the learning ``pi <- pi - h dH_a/dpi^a``, the second line of (4.11) realized by per-type
        losses (4.14, corrected as in ``docs/errata.md``) with the stable network's ``R``; order 1 in ``h``.

        Evaluated as :meth:`nnfield.network.Network.learning_gradient` is: ``jax.grad`` of the loss at the
        activation output ``phi_new + B(theta) (pi - pi) = phi_new`` gives ``(dH/dphi, dH/dpi|explicit)``, and
        ``jax.vjp`` of the activation map ``p -> phi_new + B(theta) (p - pi)`` pulls ``dH/dphi`` back to ``pi``:
        the chain rule ``jax.grad`` applies to the composition, without evaluating ``B(theta) 0`` (a whole hop,
        with its ``cos`` and ``sin``, whose value is zero for finite states; `tests/test_maxwell_dirac.py`
        compares the two). Traced once per run (:func:`nnfield._trace.trace_once`)."""
        return _LEARNING_GRADIENT(self, theta, phi_new, pi)

    def _loss_at_activation(self, phi_act: jax.Array, p: jax.Array, pi: jax.Array) -> jax.Array:
        """:meth:`learning_loss` with the activation output ``phi_act`` given."""
        own = p * (self.sv * self.mix(0, pi)) - 0.5 * self.ac * p * p  # C = -ac I + sv X_0 (X_0 off-diagonal)
        return 0.5 * jnp.sum(phi_act * phi_act) + jnp.sum(own)

    def T(self, f: jax.Array) -> jax.Array:
        """``(I - tan(m h/2) X_0) f`` (the time-centring factor of the exact invariant)."""
        return f - self.tan_half * self.mix(0, f)

    def energy_loss(self, theta: jax.Array | LinkFactors, phi: jax.Array, w: jax.Array) -> jax.Array:
        """``L_D(theta; phi, w) = -sum phi . X_0 B(theta) w`` (gauge invariant; see the module docstring); with
        the :meth:`factors` for ``theta``, a function of ``(cos theta, sin theta)``."""
        return -jnp.sum(phi * self.mix(0, self.hop(theta, w)))

    # -- the protocol -----------------------------------------------------------------------------------------
    def loss(self, theta: jax.Array, phi: jax.Array) -> jax.Array:
        """The shared part ``1/2 |phi|^2`` of the per-type loss (no links: they enter through the activation)."""
        del theta
        return half_sum_of_squares(phi)

    def charge_density(self, state: State) -> jax.Array:
        """``q (|phi|^2 + |pi|^2)`` per site (= ``q |psi|^2``; the network's time-centred density is
        :meth:`network_charge`)."""
        return self.charge * (jnp.sum(state.phi**2, axis=0) + jnp.sum(state.pi**2, axis=0))

    def network_charge(self, theta_mid: jax.Array, state: State) -> jax.Array:
        """``q [|pi|^2 + phi . T phi(t+1)]`` per site with ``phi(t+1)`` the activation at the links ``theta_mid``."""
        phi_next = self.activate(theta_mid, state.phi, state.pi)
        return self.charge * (jnp.sum(state.pi**2, axis=0) + jnp.sum(state.phi * self.T(phi_next), axis=0))

    def charge_scale(self, state: State) -> jax.Array:
        """``|q| max_x (|phi|^2 + |pi|^2)``: the largest charge density of the matter."""
        return jnp.abs(self.charge) * jnp.max(jnp.sum(state.phi**2, axis=0) + jnp.sum(state.pi**2, axis=0))

    def densities(self, theta: jax.Array, state: State) -> dict[str, jax.Array]:
        """``energy`` ``m (|phi|^2 - |pi|^2) - 2 phi . X_0 B(theta) pi`` (the Dirac energy density, ``psi^dagger H
        psi``), ``psi_abs2`` ``|phi|^2 + |pi|^2``."""
        phi, pi = state.phi, state.pi
        mass = self.m * (jnp.sum(phi**2, axis=0) - jnp.sum(pi**2, axis=0))
        hop = -2.0 * jnp.sum(phi * self.mix(0, self.hop(theta, pi)), axis=0)
        return {"energy": mass + hop, "psi_abs2": jnp.sum(phi**2, axis=0) + jnp.sum(pi**2, axis=0)}

    def vacuum(self, shape: tuple[int, ...], dtype: Any) -> State:
        """The empty vacuum: ``phi = pi = 0``."""
        z = jnp.zeros((self.K, *shape), dtype)
        return State(z, z)


def _learning_gradient(matter: Any, theta: Any, phi_new: jax.Array, pi: jax.Array) -> jax.Array:
    """See :meth:`DiracMatter.learning_gradient`."""
    g_phi, g_p = jax.grad(matter._loss_at_activation, argnums=(0, 1))(phi_new, pi, pi)
    _, pull = jax.vjp(lambda p: matter.hop(theta, p - pi), pi)
    return g_p + pull(g_phi)[0]


_LEARNING_GRADIENT = trace_once(_learning_gradient)
