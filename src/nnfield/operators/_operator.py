r"""Lattice operators ``O = sum_s C_s (x) T_s`` acting on fields of shape ``(K, *lattice.shape)``.

``T_s`` is the periodic shift ``(T_s f)_i = f_{i+s}`` and ``C_s`` is a ``K x K`` matrix acting on the
neuron-type index, either constant (translation invariant) or one matrix per site (``(K, K, *shape)``, e.g.
gauge links). In the paper's index notation an operator with a single term ``C (x) T_s`` has the tensor
``O^{a,j}_{i,b} = C^a_b delta_i^{j - s}``; the forward difference of (4.24) is ``T_{e_mu} - 1``.

Conventions:
- Fourier symbol: on ``f_i = v exp(i k . x_i)``, ``(O f)_i = O(k) v exp(i k . x_i)`` with
  ``O(k) = sum_s C_s exp(i k . s a)``.
- Transpose (with respect to the Euclidean inner product ``sum_{a,i} f^a_i g^a_i``):
  ``O^T = sum_s C_s^T (x) T_{-s}`` (per-site coefficients are shifted accordingly).

Application is written as explicit sums over the nonzero entries of each ``C_s`` and periodic shifts, one
linear primitive (``periodic_shift``, transpose ``T_{-s}``) lowered to slice + pad + select, or on a single
CPU device to a slice of the field repeated twice for non-minor axes; XLA fuses either into a single loop
(``jnp.roll`` is lowered to a concatenate that the CPU backend does not fuse). :func:`share_shifts` lets a
learning gradient reuse the shifted reads of its forward pass. See ``docs/performance.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_number, show_value
from .._module import Module
from ..errors import ParameterError
from ._components import components
from ._shift import integer_offsets, shift

Shift = tuple[int, ...]
Pattern = tuple[tuple[int, int], ...]



def _in_dtype_of(c: Any, f: Any) -> Any:
    """A real coefficient in the precision of a real field (float32 fields stay float32 with x64 enabled).

    The precision is the one JAX has for ``f`` (``jnp.result_type``): without x64 a NumPy float64 field computes
    in float32, and asking JAX for float64 (``astype`` of a JAX coefficient) would warn that it truncates."""
    dt = getattr(c, "dtype", None)
    if dt is None or not (jnp.issubdtype(dt, jnp.floating) and jnp.issubdtype(f.dtype, jnp.floating)):
        return c
    target = jnp.result_type(f)
    return c.astype(target) if dt != target else c


def _is_concrete(x: Any) -> bool:
    return not isinstance(x, jax.core.Tracer)


def nonzero_pattern(c: Any) -> Pattern:
    """Entries ``(a, b)`` of a ``(K, K)`` or ``(K, K, *shape)`` coefficient that may be nonzero (all of them
    when traced): the static sparsity by which operators and losses apply a coefficient entry by entry."""
    K = c.shape[0]
    if _is_concrete(c):
        arr = np.asarray(c)
        nz = arr.reshape(K, K, -1) != 0
        return tuple((a, b) for a in range(K) for b in range(K) if nz[a, b].any())
    return tuple((a, b) for a in range(K) for b in range(K))


def array_module(*arrays: Any) -> Any:
    """``numpy`` if every one of ``arrays`` is a NumPy array, else ``jax.numpy``: data held on the host stays
    there (each eager ``jax.numpy`` operation would compile a small program of its own)."""
    return np if all(isinstance(a, np.ndarray) for a in arrays) else jnp


# ----------------------------------------------------------------------------------------------------------
# the operator
# ----------------------------------------------------------------------------------------------------------
class LatticeOperator(Module):
    """``sum_s C_s (x) T_s``; see the module docstring for conventions.

    Build with :meth:`from_terms` (or the helpers :func:`identity`, :func:`shift_operator`,
    :func:`forward_difference`, :func:`laplacian`) and combine with ``+``, ``-``, ``*`` (scalar) and ``@``
    (composition). Coefficients are PyTree leaves, so operators can be traced and differentiated.
    """

    coeffs: tuple[Any, ...]
    shifts: tuple[Shift, ...] = eqx.field(static=True)
    patterns: tuple[Pattern, ...] = eqx.field(static=True)
    ndim: int = eqx.field(static=True)
    K: int = eqx.field(static=True)
    #: CPU lowering of shifts along the contiguous axis in :meth:`apply` (``"pad"`` or ``"repeat"``; see
    #: :func:`~nnfield.operators.shift`): the same shifts, a different speed per program (and rounding, where XLA
    #: fuses the program differently). Kept by ``scale`` and ``transpose``; other algebra gives the default.
    minor: str = eqx.field(static=True, default="pad")

    # -- construction ----------------------------------------------------------------------------------
    @classmethod
    def from_terms(cls, terms: Mapping[Shift, Any] | Iterable[tuple[Shift, Any]], ndim: int, K: int) -> LatticeOperator:
        """Build from ``{shift: C}`` (``C`` scalar, ``(K, K)`` or ``(K, K, *shape)``); equal shifts are summed."""
        items = terms.items() if isinstance(terms, Mapping) else terms
        return cls._from_patterned_terms([(s, c, None) for s, c in items], ndim, K)

    @classmethod
    def _from_patterned_terms(cls, items: Iterable[tuple[Shift, Any, Pattern | None]], ndim: int, K: int
                              ) -> LatticeOperator:
        """:meth:`from_terms` with each coefficient's static pattern where it is known (``None`` otherwise).

        A concrete coefficient's pattern is read from its values. A traced one (the algebra of a network's
        operators inside ``jit``, e.g. ``W - I``) keeps the union of the known patterns of its summands: without
        them every entry would be applied, and a ``W - I`` with 8 nonzero entries cost 16 products per site.
        """
        merged: dict[Shift, Any] = {}
        known: dict[Shift, set[tuple[int, int]] | None] = {}
        for s, c, pat in items:
            s = integer_offsets(s, "shift")
            if len(s) != ndim:
                raise ValueError(f"shift {s} has {len(s)} components, expected ndim={ndim}")
            if np.ndim(c) == 0 and _is_concrete(c):
                c = float(c) * np.eye(K)
            elif isinstance(c, (list, tuple, np.ndarray, float, int)):
                c = np.asarray(c, dtype=float)
            if c.shape[:2] != (K, K):
                raise ValueError(f"coefficient for shift {s} has shape {c.shape}, expected ({K}, {K}, ...)")
            p = None if pat is None else set(pat)
            if s not in merged:
                merged[s], known[s] = c, p
            else:
                merged[s] = _add_coeffs(merged[s], c)
                prev = known[s]
                known[s] = None if prev is None or p is None else prev | p
        shifts, coeffs, patterns = [], [], []
        for s in sorted(merged):
            c = merged[s]
            pk = known[s]
            pat = nonzero_pattern(c) if _is_concrete(c) or pk is None else tuple(sorted(pk))
            if not pat:
                continue
            shifts.append(s)
            coeffs.append(c)
            patterns.append(pat)
        return cls(tuple(coeffs), tuple(shifts), tuple(patterns), ndim, K)

    def _patterned_terms(self) -> list[tuple[Shift, Any, Pattern]]:
        return list(zip(self.shifts, self.coeffs, self.patterns, strict=True))

    @classmethod
    def zero(cls, ndim: int, K: int = 1) -> LatticeOperator:
        return cls((), (), (), ndim, K)

    # -- properties ------------------------------------------------------------------------------------
    @property
    def terms(self) -> dict[Shift, Any]:
        return dict(zip(self.shifts, self.coeffs, strict=True))

    @property
    def translation_invariant(self) -> bool:
        """True when every coefficient is a constant ``K x K`` matrix."""
        return all(np.ndim(c) == 2 for c in self.coeffs)

    @property
    def radius(self) -> int:
        """Largest ``|s_mu|`` over the shifts (the stencil half-width)."""
        return max((max(abs(v) for v in s) for s in self.shifts), default=0)

    # -- application -----------------------------------------------------------------------------------
    def __call__(self, f: jax.Array) -> jax.Array:
        return self.apply(f)

    def apply(self, f: jax.Array) -> jax.Array:
        """``(O f)^a_i = sum_s sum_b C_s[a, b] f^b_{i+s}`` for ``f`` of shape ``(K, *shape)``."""
        if f.shape[0] != self.K or f.ndim != self.ndim + 1:
            raise ValueError(
                f"field of shape {f.shape} does not match operator with K={self.K}, ndim={self.ndim}; "
                f"expected (K, *lattice.shape) = ({self.K}, <{self.ndim} sizes>)"
            )
        if self.K == 1 and isinstance(f, jax.Array):
            # one component: shift the whole (1, *shape) field (no per-component slicing and restacking)
            acc = None
            for c, s in zip(self.coeffs, self.shifts, strict=True):
                term = _in_dtype_of(c[0, 0] if np.ndim(c) == 2 else c[0:1, 0], f) * shift(f, s, axis0=1,
                                                                                          minor=self.minor)
                acc = term if acc is None else acc + term
            return jnp.zeros_like(f) if acc is None else acc.astype(f.dtype)
        out: list[Any] = [None] * self.K
        comps = components(f)  # one read of the K components (its transpose is one stack, not K pads)
        for c, s, pat in zip(self.coeffs, self.shifts, self.patterns, strict=True):
            shifted: dict[int, jax.Array] = {}
            for a, b in pat:
                if b not in shifted:
                    shifted[b] = shift(comps[b], s, minor=self.minor)
                term = _in_dtype_of(c[a, b], f) * shifted[b]
                out[a] = term if out[a] is None else out[a] + term
        # the dtype JAX has for f: a NumPy float64 field (whose terms stay NumPy) without x64 gives float32
        dtype = jnp.result_type(f)
        zeros = jnp.zeros(f.shape[1:], dtype)
        return jnp.stack([zeros if o is None else o.astype(dtype) for o in out])

    # -- algebra ---------------------------------------------------------------------------------------
    def _check(self, other: LatticeOperator) -> None:
        if not isinstance(other, LatticeOperator):
            raise TypeError(f"expected a LatticeOperator, got {type(other).__name__}")
        if (self.ndim, self.K) != (other.ndim, other.K):
            raise ValueError(f"operators differ: (ndim, K) = {(self.ndim, self.K)} vs {(other.ndim, other.K)}")

    def __add__(self, other: LatticeOperator) -> LatticeOperator:
        self._check(other)
        return LatticeOperator._from_patterned_terms(
            self._patterned_terms() + other._patterned_terms(), self.ndim, self.K
        )

    def __neg__(self) -> LatticeOperator:
        return self.scale(-1.0)

    def __sub__(self, other: LatticeOperator) -> LatticeOperator:
        return self + (-other)

    def scale(self, alpha: Any) -> LatticeOperator:
        """``alpha * O`` for a scalar ``alpha`` (may be traced)."""
        if _is_concrete(alpha) and np.ndim(alpha) == 0:
            alpha = float(alpha)
            if alpha == 0.0:
                return LatticeOperator.zero(self.ndim, self.K)
            return LatticeOperator(
                tuple(alpha * c for c in self.coeffs), self.shifts, self.patterns, self.ndim, self.K, self.minor
            )
        return LatticeOperator(tuple(alpha * c for c in self.coeffs), self.shifts, self.patterns, self.ndim, self.K,
                               self.minor)

    def __mul__(self, alpha: Any) -> LatticeOperator:
        return self.scale(alpha)

    __rmul__ = __mul__

    def __matmul__(self, other: LatticeOperator) -> LatticeOperator:
        """Composition ``(self @ other) f = self(other(f))``.

        ``C1 T_s1 C2 T_s2 = C1 (T_s1 C2 T_-s1) T_(s1+s2)``; for per-site ``C2`` the middle factor is ``C2``
        shifted by ``s1``.
        """
        self._check(other)
        terms: list[tuple[Shift, Any, Pattern]] = []
        for s1, c1, p1 in self._patterned_terms():
            for s2, c2, p2 in other._patterned_terms():
                xp = array_module(c1, c2)
                c2s = c2 if np.ndim(c2) == 2 else shift(c2, s1, axis0=2)
                s = tuple(a + b for a, b in zip(s1, s2, strict=True))
                if np.ndim(c1) == 2 and np.ndim(c2s) == 2:
                    c = xp.asarray(c1) @ xp.asarray(c2s)
                else:
                    xp = jnp if xp is jnp or not (isinstance(c2s, np.ndarray)) else np
                    c = xp.einsum("ab...,bc...->ac...", _broadcast_site(c1, c2s, xp), _broadcast_site(c2s, c1, xp))
                pat = tuple(sorted({(a, d) for a, b in p1 for bb, d in p2 if b == bb}))
                terms.append((s, c, pat))
        return LatticeOperator._from_patterned_terms(terms, self.ndim, self.K)

    @property
    def T(self) -> LatticeOperator:
        return self.transpose()

    def transpose(self) -> LatticeOperator:
        """``O^T = sum_s C_s^T (x) T_{-s}``; per-site coefficients become ``C_s^T`` shifted by ``-s``."""
        terms = []
        for s, c, pat in self._patterned_terms():
            xp = array_module(c)
            ct = xp.swapaxes(xp.asarray(c), 0, 1)
            ms = tuple(-v for v in s)
            if np.ndim(c) > 2:
                ct = shift(ct, ms, axis0=2)
            terms.append((ms, ct, tuple(sorted((b, a) for a, b in pat))))
        return replace(LatticeOperator._from_patterned_terms(terms, self.ndim, self.K), minor=self.minor)

    def type_diagonal(self) -> LatticeOperator:
        """``sum_s diag(C_s) (x) T_s``: the blocks ``C_s[a, a]`` (type ``a`` to itself) only; exact.

        Built from the static patterns, so it stays sparse for traced coefficients (an empty operator when no
        coefficient has a possibly nonzero diagonal entry, e.g. a Dirac bias map).
        """
        coeffs, shifts, patterns = [], [], []
        for c, s, pat in zip(self.coeffs, self.shifts, self.patterns, strict=True):
            dpat = tuple((a, b) for a, b in pat if a == b)
            if not dpat:
                continue
            # (in the coefficient's dtype: a float64 mask made a float32 network's per-site coefficients float64)
            mask = np.eye(self.K, dtype=jnp.result_type(c)).reshape((self.K, self.K) + (1,) * (np.ndim(c) - 2))
            coeffs.append(c * mask)
            shifts.append(s)
            patterns.append(dpat)
        return LatticeOperator(tuple(coeffs), tuple(shifts), tuple(patterns), self.ndim, self.K)

    def commutator(self, other: LatticeOperator) -> LatticeOperator:
        """``[self, other] = self @ other - other @ self``."""
        return self @ other - other @ self

    # -- Fourier symbol and dense matrix ---------------------------------------------------------------
    def symbol(self, k: Sequence[Any], spacing: float = 1.0) -> np.ndarray:
        """``O(k) = sum_s C_s exp(i k . s a)`` for momenta ``k`` (D equal-shape arrays); shape ``(*k.shape, K, K)``."""
        if not self.translation_invariant:
            raise ValueError("the Fourier symbol exists only for translation-invariant operators (constant C_s)")
        k = [np.asarray(kk, dtype=float) for kk in k]
        if len(k) != self.ndim:
            raise ValueError(f"expected {self.ndim} momentum components, got {len(k)}")
        bshape = np.broadcast(*k).shape if k else ()
        out = np.zeros((*bshape, self.K, self.K), dtype=complex)
        for s, c in self.terms.items():
            phase = np.exp(1j * spacing * sum(kk * sv for kk, sv in zip(k, s, strict=True)))
            out = out + np.asarray(phase)[..., None, None] * np.asarray(c)
        return out

    def symbol_on(self, lattice: Any) -> np.ndarray:
        """The symbol on the lattice's own momentum grid, shape ``(*lattice.shape, K, K)``."""
        return self.symbol(lattice.momenta(), lattice.spacing)

    def dense(self, shape: Sequence[int]) -> np.ndarray:
        """The ``(K N, K N)`` matrix on a lattice of ``shape`` (index ``a * N + flat_site``). For tests."""
        shape = tuple(shape)
        n = int(np.prod(shape))
        idx = np.arange(n).reshape(shape)
        mat = np.zeros((self.K * n, self.K * n))
        for s, c in self.terms.items():
            c = np.asarray(c)
            cols = np.roll(idx, [-v for v in s], axis=tuple(range(len(shape)))).ravel()
            rows = idx.ravel()
            for a in range(self.K):
                for b in range(self.K):
                    val = c[a, b] if c.ndim == 2 else c[a, b].ravel()
                    mat[a * n + rows, b * n + cols] += val
        return mat


def _add_coeffs(c1: Any, c2: Any) -> Any:
    """``c1 + c2`` for coefficients ``(K, K)`` and/or ``(K, K, *shape)`` (constants gain trailing site axes)."""
    n1, n2 = np.ndim(c1), np.ndim(c2)
    if n1 < n2:
        c1 = c1.reshape(c1.shape + (1,) * (n2 - n1))
    elif n2 < n1:
        c2 = c2.reshape(c2.shape + (1,) * (n1 - n2))
    return c1 + c2


def _broadcast_site(c: Any, other: Any, xp: Any) -> Any:
    """Broadcast a constant ``(K, K)`` coefficient against a per-site one."""
    c = xp.asarray(c)
    if c.ndim == 2 and np.ndim(other) > 2:
        return xp.broadcast_to(c.reshape(c.shape + (1,) * (np.ndim(other) - 2)), c.shape + tuple(np.shape(other)[2:]))
    return c


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------
def _zero_shift(ndim: int) -> Shift:
    return (0,) * ndim


def _direction(mu: Any, ndim: int) -> int:
    """``mu`` as a lattice direction ``0 .. ndim - 1``, else a :class:`~nnfield.errors.ParameterError` naming ``mu``.

    A direction out of range (or not a whole number) gave no component of the shift ``mu e_mu``: the builders below
    then returned a wrong operator in silence (``forward_difference(3, 3)`` was ``-1``, not a difference)."""
    if isinstance(mu, bool | np.bool_) or not isinstance(mu, int | np.integer) or not 0 <= mu < ndim:
        raise ParameterError("mu", f"expected a direction 0..{ndim - 1} of a {ndim}D lattice, got {show_value(mu)}")
    return int(mu)


def identity(ndim: int, K: int = 1) -> LatticeOperator:
    """The identity ``1_K (x) T_0``."""
    return LatticeOperator.from_terms({_zero_shift(ndim): np.eye(K)}, ndim, K)


def local(matrix: Any, ndim: int) -> LatticeOperator:
    """A site-local operator ``C (x) T_0`` (``C`` is ``(K, K)`` or per site ``(K, K, *shape)``)."""
    c = matrix if not isinstance(matrix, (list, tuple)) else np.asarray(matrix, dtype=float)
    return LatticeOperator.from_terms({_zero_shift(ndim): c}, ndim, c.shape[0])


def shift_operator(mu: int, ndim: int, steps: int = 1, K: int = 1, coeff: Any = None) -> LatticeOperator:
    """``C (x) T_{steps e_mu}``: ``(T f)_i = f_{i + steps e_mu}``; ``C`` defaults to ``1_K``."""
    mu = _direction(mu, ndim)
    (steps,) = integer_offsets((steps,), "steps")
    s = tuple(steps if nu == mu else 0 for nu in range(ndim))
    return LatticeOperator.from_terms({s: np.eye(K) if coeff is None else coeff}, ndim, K)


def forward_difference(mu: int, ndim: int, K: int = 1, coeff: Any = None) -> LatticeOperator:
    """``C (x) (T_{e_mu} - 1)``: ``(D f)_i = C (f_{i+e_mu} - f_i)`` (unit spacing; divide by ``a`` yourself)."""
    mu = _direction(mu, ndim)
    c = np.eye(K) if coeff is None else coeff
    return LatticeOperator.from_terms(
        {tuple(1 if nu == mu else 0 for nu in range(ndim)): c, _zero_shift(ndim): -np.asarray(c)}, ndim, K
    )


def central_difference(mu: int, ndim: int, K: int = 1, coeff: Any = None) -> LatticeOperator:
    """``C (x) (T_{e_mu} - T_{-e_mu}) / 2`` (unit spacing)."""
    mu = _direction(mu, ndim)
    c = np.asarray(np.eye(K) if coeff is None else coeff, dtype=float)
    e = tuple(1 if nu == mu else 0 for nu in range(ndim))
    me = tuple(-v for v in e)
    return LatticeOperator.from_terms({e: 0.5 * c, me: -0.5 * c}, ndim, K)


def laplacian(ndim: int, spacing: float = 1.0, K: int = 1) -> LatticeOperator:
    """Nearest-neighbour Laplacian ``(1/a^2) sum_mu (T_{e_mu} - 2 + T_{-e_mu}) (x) 1_K``.

    Second-order accurate in ``a``; symbol ``-(4/a^2) sum_mu sin^2(k_mu a / 2)``. ``spacing`` must be positive
    and finite (a traced one is taken as it is).
    """
    check_number("spacing", spacing, positive=True)
    inv = 1.0 / spacing**2
    terms: dict[Shift, Any] = {_zero_shift(ndim): -2.0 * ndim * inv * np.eye(K)}
    for mu in range(ndim):
        for sgn in (1, -1):
            terms[tuple(sgn if nu == mu else 0 for nu in range(ndim))] = inv * np.eye(K)
    return LatticeOperator.from_terms(terms, ndim, K)


def kron(matrix: Any, op: LatticeOperator) -> LatticeOperator:
    """``M (x) O`` for a scalar-valued (K = 1) operator ``O`` and a ``(K, K)`` matrix ``M``.

    ``O``'s coefficients may be constants or per site (``(1, 1, *shape)``): ``(M (x) O)_s = M c_s`` with ``c_s`` the
    number (or the per-site field) of ``O``'s shift ``s``, giving ``(K, K)`` or ``(K, K, *shape)`` coefficients.
    """
    if op.K != 1:
        raise ValueError(f"kron expects a K=1 operator, got K={op.K}")
    m = np.asarray(matrix, dtype=float) if _is_concrete(matrix) else matrix
    if np.ndim(m) != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"kron expects a square (K, K) matrix, got shape {np.shape(m)}")
    terms = []
    for s, c in op.terms.items():
        c00 = c[0, 0]  # a number, or a field (*shape) for per-site coefficients
        # a per-site field times M entry by entry: M[a, b] c00(x) (M * c00 alone broadcast M's columns against the
        # sites: a wrong (K, K) constant when the lattice had K sites, an error otherwise)
        terms.append((s, m * c00 if np.ndim(c00) == 0 else m.reshape(m.shape + (1,) * np.ndim(c00)) * c00[None, None]))
    return LatticeOperator.from_terms(terms, op.ndim, m.shape[0])


def apply_local(M: Any, f: Any) -> Any:
    """``(M f)_i = M_i f_i``: a ``(K, K)`` matrix (or one per site, ``(K, K, *shape)``) on ``f`` of shape
    ``(K, *shape)``, acting on the neuron-type index only (NumPy in, NumPy out; JAX otherwise)."""
    xp = jnp if isinstance(f, jax.Array) or isinstance(M, jax.Array) else np
    M = xp.asarray(M)
    if M.ndim == 2:
        return xp.einsum("ab,b...->a...", M, f)
    return xp.einsum("ab...,b...->a...", M, f)


def half_sum_of_squares(f: Any, axis: Any = None) -> Any:
    """``1/2 sum f^2`` (over ``axis``, all axes by default), written so that its gradient lowers to ``f`` itself.

    The value is that of ``0.5 * jnp.sum(f * f)``; the difference is the reverse pass. Autodiff transposes
    ``f * f`` into two cotangent contributions, ``(ct f + ct f) * 1/2``, which XLA:CPU neither simplifies to
    ``f`` nor fuses into the shifted reads that consume it: a loss's ``1/2 phi.phi`` term cost the learning
    step a separate copy pass over the field (3+1 Dirac, 64^3 float64: 3 loop fusions per tick instead of 2,
    96 against 114 million site-updates/s; ``docs/performance.md``). ``jnp.square`` transposes to one product
    ``ct (2 f)`` that folds into ``f`` with the constant ``1/2``. Both are exact (a product by 2 and by 1/2), so
    the gradient has the same value bit for bit.
    """
    return 0.5 * jnp.sum(jnp.square(f), axis=axis)
