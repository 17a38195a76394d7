r"""Local potentials ``V(phi)`` of the nonlinear scalar fields (elementwise, JAX-traceable PyTree callables).

``V'`` and ``V''`` are never written: the loss and the Hamiltonian use ``V``, autodiff does the rest. Any other
elementwise PyTree callable works too (e.g. a safe-parsed expression, :class:`nnfield.duality.parse.ExprFunction`).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._module import Module


class LocalPotential(Module):
    """A built-in elementwise potential ``V(phi)`` that knows its uniform ground state (:meth:`vacuum`); any other
    elementwise PyTree callable works too, its ground state then found numerically (:func:`vacuum`)."""

    def vacuum(self) -> Any:
        """The ground state ``phi_0`` (see :func:`vacuum`); the default searches ``V`` numerically."""
        return numeric_vacuum(self)


class Phi4Potential(LocalPotential):
    """``V = m^2 phi^2/2 + lam phi^4/4`` (elementwise); ``m^2 < 0`` gives the double well (vacua
    ``+-sqrt(-m^2/lam)``, where ``V = -m^4/(4 lam)``; :class:`DoubleWellPotential` is the same well shifted to
    ``V = 0`` there)."""

    m2: Any
    lam: Any

    def __call__(self, phi: jax.Array) -> jax.Array:
        return 0.5 * self.m2 * phi**2 + 0.25 * self.lam * phi**4

    def vacuum(self) -> Any:
        m2, lam = _concrete(self.m2), _concrete(self.lam)
        if m2 is None or lam is None:  # traced or batched (a vmap over masses): m^2 >= 0 is all a builder makes
            return 0.0
        if m2 >= 0:
            return 0.0
        return math.sqrt(-m2 / lam) if lam > 0 else None


class SineGordonPotential(LocalPotential):
    """``V = (m^2 / b^2) (1 - cos(b phi))`` (elementwise); ``phi -> phi + 2 pi / b`` is a symmetry."""

    m: Any
    b: Any

    def __call__(self, phi: jax.Array) -> jax.Array:
        return (self.m / self.b) ** 2 * (1.0 - jnp.cos(self.b * phi))

    def vacuum(self) -> Any:
        return 0.0


class DoubleWellPotential(LocalPotential):
    """``V = lam/4 (phi^2 - v^2)^2`` (elementwise): the broken phase of phi^4, vacua ``phi = +-v`` with ``V = 0``
    there, meson mass ``m = sqrt(2 lam) v`` (``V''(+-v) = 2 lam v^2``), static kink
    ``phi = v tanh(m x / 2)`` of energy ``(2 sqrt 2 / 3) sqrt(lam) v^3 = m^3 / (3 lam)``."""

    lam: Any
    v: Any

    def __call__(self, phi: jax.Array) -> jax.Array:
        return 0.25 * self.lam * (phi**2 - self.v**2) ** 2

    def vacuum(self) -> Any:
        """``+v`` (a traced ``v`` stays traced: the ground state of a vmapped family of wells)."""
        return self.v


def _concrete(value: Any) -> float | None:
    """``value`` as a float when it is a concrete scalar; ``None`` for a batch (array) or a traced value."""
    if np.ndim(value) != 0:
        return None
    try:
        return float(value)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return None


def vacuum(potential: Any) -> Any:
    """The uniform ground state ``phi_0`` of a local potential ``V``: the point about which small waves (the
    dispersion ``omega^2 = V''(phi_0) + k_lat^2``), the stability gate's linearization and the initial data of
    the nonlinear fields are taken. A :class:`LocalPotential` says (:meth:`LocalPotential.vacuum`); any other
    callable is searched numerically (:func:`numeric_vacuum`). ``None``: ``V`` has no minimum (nothing to
    linearize about but ``phi = 0``)."""
    if isinstance(potential, LocalPotential):
        return potential.vacuum()
    return numeric_vacuum(potential)


#: the grid of |phi| on which :func:`vacuum` looks for the minima of ``V`` (geometric: 1e-4 to 1e4, both signs)
_VACUUM_GRID = np.geomspace(1e-4, 1e4, 1601)


def _derivatives(potential: Any, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``V``, ``V'`` and ``V''`` at the points ``phi`` (float64 NumPy arrays; by autodiff of ``V``)."""
    x = np.asarray(phi, np.float64 if jax.config.read("jax_enable_x64") else np.float32)
    return tuple(np.asarray(a, float) for a in _derivatives_jit(potential, x))  # type: ignore[return-value]


@jax.jit
def _derivatives_jit(potential: Any, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    def v(f: jax.Array) -> jax.Array:
        return jnp.sum(potential(f))

    return (jnp.broadcast_to(potential(x), x.shape), jax.vmap(jax.grad(v))(x),
            jax.vmap(jax.grad(jax.grad(v)))(x))


def numeric_vacuum(potential: Any) -> float | None:
    """The ground state of ``V`` (:func:`vacuum`) found numerically (cached per potential and its numbers):

    - ``0.0`` when ``phi = 0`` is a minimum (``V'(0) = 0`` and ``V''(0) > 0``, or ``V''(0) = 0`` and ``V`` rising on
      both sides): the massive and massless phi^4 and sine-Gordon potentials (not the flat top of ``phi^6/6 -
      phi^4/4``, a maximum).
    - Else the lowest local minimum of ``V`` found on ``|phi|`` in ``[1e-4, 1e4]`` (a geometric grid of both signs,
      then Newton's method on ``V'`` with ``V''``, both by autodiff): ``+v`` for the double well ``lam/4 (phi^2 -
      v^2)^2`` (of two equal minima the one nearer ``0``, then the positive one), the true vacuum of a tilted one.
    - ``None`` when ``V`` has no local minimum there (e.g. ``V = phi``): nothing to linearize about but ``0``.
    - ``0.0`` for a potential whose numbers are traced or batched (it cannot be searched), also where they are
      closed over (a plain function of a traced number, e.g. ``model`` inside ``jax.vmap`` or ``jax.grad``).
    """
    from ...network import as_pytree_callable  # a plain function crosses jit as a Partial

    potential = as_pytree_callable(potential)
    try:
        leaves, treedef = jax.tree_util.tree_flatten(potential)
        numbers = tuple(_concrete(x) for x in leaves)
        key: Any = (treedef, numbers, bool(jax.config.read("jax_enable_x64")))
        hash(key)
    except TypeError:  # an unhashable part: search every time
        key = None
    else:
        if any(x is None for x in numbers):
            return 0.0
        if key in _VACUA:
            return _VACUA[key]
    try:
        found = _search_vacuum(potential)
    except jax.errors.JAXTypeError:  # a closed-over tracer met np.asarray or float(): nothing to search
        return 0.0
    if key is not None:
        _VACUA[key] = found
    return found


_VACUA: dict[Any, float | None] = {}


def _search_vacuum(potential: Any) -> float | None:
    v0, d1, d2 = (float(a[0]) for a in _derivatives(potential, np.zeros(1)))
    grid = np.concatenate([-_VACUUM_GRID[::-1], [0.0], _VACUUM_GRID])
    with np.errstate(all="ignore"):
        vals = _derivatives(potential, grid)[0]
    # 0 is the minimum when V'(0) = 0 (to a Newton step of 1e-12: invariant under V -> c V + C) and V''(0) > 0, or
    # V''(0) = 0 and V rises on both sides (phi^4; not the flat top of phi^6/6 - phi^4/4, a maximum)
    n = len(_VACUUM_GRID)  # grid[n] = 0
    if d2 > 0 and abs(d1) <= 1e-12 * d2:
        return 0.0
    if d2 == 0 and d1 == 0 and vals[n - 1] >= v0 and vals[n + 1] >= v0:
        return 0.0
    vals = np.where(np.isfinite(vals), vals, np.inf)
    inner = np.flatnonzero((vals[1:-1] <= vals[:-2]) & (vals[1:-1] <= vals[2:]) & np.isfinite(vals[1:-1])) + 1
    found: list[tuple[float, float]] = []
    for i in inner:
        lo, hi, x = grid[i - 1], grid[i + 1], grid[i]
        last = hi - lo
        # Newton on V' inside the bracket; a bisection step when it would leave it or shrink slower than bisection
        # (a flat minimum, V' ~ (phi - phi_0)^7: Newton alone gains a factor 6/7 a step)
        for _ in range(100):
            _, g, h = (float(a[0]) for a in _derivatives(potential, np.array([x])))
            nxt = x - g / h if h > 0 else np.nan
            if not (lo < nxt < hi and 2 * abs(nxt - x) <= abs(last)):
                nxt = 0.5 * (lo + x) if g > 0 else 0.5 * (x + hi)
            last = nxt - x
            if g > 0:
                hi = x
            else:
                lo = x
            if abs(nxt - x) <= 4 * np.finfo(float).eps * max(abs(x), 1e-300):
                x = nxt
                break
            x = nxt
        val, _, h = (float(a[0]) for a in _derivatives(potential, np.array([x])))
        if np.isfinite(val) and h >= 0:
            found.append((val, x))
    if not found:
        return None
    lowest = min(v for v, _ in found)
    # equal to round-off relative to V's own size (its values at the minima and at 0): a tilt of a tiny V counts
    scale = max([abs(v) for v, _ in found] + ([abs(v0)] if np.isfinite(v0) else []))
    best = [x for v, x in found if v <= lowest + 1e-9 * scale]
    # the nearest 0, then the positive one: |x| equal to the square root of the working precision (a flat minimum,
    # V' ~ (phi - phi_0)^7, is found to far less than the precision; float32 underflows V' there)
    near = min(abs(x) for x in best)
    rtol = float(np.sqrt(np.finfo(np.float64 if jax.config.read("jax_enable_x64") else np.float32).eps))
    return float(max(x for x in best if abs(x) <= near * (1 + rtol)))
