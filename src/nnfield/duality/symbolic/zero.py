"""Numerical zero tests: is a SymPy expression zero? measured at random real points, never by ``simplify``.

The conditions of Sec. 2 are decided by :func:`measure` (``max |expr|`` relative to a scale, at 12 random
points, evaluated with mpmath); ``sympy.simplify`` has unbounded cost on user input and is used only by
:func:`is_zero` on small, library-built expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from .inputs import as_expr

# derivatives of abs/sign at random points (never exactly at the kink): distributions vanish there
_MEASURE_FUNCS: dict[str, Callable[..., Any]] = {
    "DiracDelta": lambda *args: 0.0,
    "Heaviside": lambda x, *args: 1.0 if x > 0 else 0.0,
}


# the same in complex128 for the range test (the derivative of |x| is sign(x); Heaviside at complex points:
# its real part decides, as it only serves to detect overflow)
_RANGE_FUNCS: dict[str, Callable[..., Any]] = {
    "DiracDelta": lambda *args: 0.0,
    "Heaviside": lambda x, *args: 1.0 if np.real(x) > 0 else 0.0,
}


def within_float_range(expr: sp.Expr, syms: list[sp.Symbol]) -> Callable[..., bool]:
    """``ok(*point)``: False when evaluating ``expr`` at ``point`` in complex128 overflows anywhere.

    This bounds every intermediate value of the exact (mpmath, SymPy) evaluations that follow by the float64
    range (about 1.8e308): beyond it they can cost unbounded time and memory (``exp`` of a number with a
    10^38-digit exponent). Anything else that goes wrong here (a function NumPy cannot print or evaluate) is
    left to the exact evaluation, as before, and bounded by the caller's time limit.
    """
    try:
        f = sp.lambdify(syms, expr, modules=[_RANGE_FUNCS, "numpy"])
    except Exception:  # noqa: BLE001 - printer limitations: no test possible
        return lambda *pt: True

    def ok(*pt: float) -> bool:
        try:
            with np.errstate(over="raise", divide="ignore", invalid="ignore", under="ignore"):
                f(*[np.complex128(x) for x in pt])
        except (FloatingPointError, OverflowError):
            return False
        except Exception:  # noqa: BLE001 - not an overflow: the exact evaluation decides
            return True
        return True

    return ok


def _evaluator(expr: sp.Expr, syms: list[sp.Symbol]) -> Callable[..., Any]:
    """A fast mpmath function of ``syms``, or (for what lambdify cannot print) point-wise substitution."""
    try:
        return sp.lambdify(syms, expr, modules=[_MEASURE_FUNCS, "mpmath", "sympy"])
    except Exception:  # noqa: BLE001 - printer limitations (unevaluated derivatives, zoo, ...)
        def slow(*pt: float) -> Any:
            return expr.evalf(subs=dict(zip(syms, pt, strict=True)))

        return slow


def _parameter_value(s: sp.Symbol, rng: np.random.Generator) -> float:
    """A random value of a parameter: ``|x|`` in ``[0.5, 1.5]``, of either sign unless ``s`` is positive.

    A real parameter may be negative: a condition that holds only for ``lam > 0`` (``(lam - |lam|) beta``) must
    not be decided at positive values alone.
    """
    x = rng.uniform(0.5, 1.5)
    return x if s.is_positive or rng.uniform() < 0.5 else -x


#: of :func:`measure`'s points, how many are drawn far from the origin (``|x|`` log-uniform in ``[1.5, 15]``)
WIDE_POINTS = 8


def _wide_value(rng: np.random.Generator) -> float:
    """A value far from the origin: ``|x|`` log-uniform in ``[1.5, 15]``, either sign."""
    x = 1.5 * 10.0 ** rng.uniform(0.0, 1.0)
    return x if rng.uniform() < 0.5 else -x


def measure(expr: sp.Expr, scale: sp.Expr | None = None, n: int = 12, seed: int = 0, floor: float = 1.0) -> float:
    """``max |expr| / max(floor, max |scale|)`` over ``n`` random real points of its free symbols.

    ``floor = 1`` (the default) measures absolutely below a scale of 1; ``floor = 0`` measures relative to the
    scale whatever its size (a form condition, where a term of 1e-11 against a potential of 1e-11 is not zero),
    and an ``expr`` that is 0 at every point measures 0.

    ``n`` points are drawn in ``[-1.5, 1.5]`` (parameters, i.e. symbols other than phi/beta/w, with ``|x|`` in
    ``[0.5, 1.5]`` and either sign; positive symbols such as ``dt`` positive), and :data:`WIDE_POINTS` more with
    every symbol far from the origin (:func:`_wide_value`, ``|x|`` in ``[1.5, 15]``): a dependence that vanishes
    near the origin only (``abs(beta - 2) + beta``, constant for ``beta < 2``) is still seen;
    points where the expression is not finite are skipped, and so are points where an intermediate value
    leaves the float64 range (:func:`within_float_range`; there ``scale`` counts as not finite). Returns
    ``nan`` when no point gives a finite value (callers treat that as "not shown to vanish").

    Raises:
        TypeError: ``expr`` or ``scale`` is not a SymPy expression or number (text is never evaluated: build
            an expression from it with :func:`~.convert.parse_sympy`).
    """
    expr = as_expr(expr, "expr")
    scale = None if scale is None else as_expr(scale, "scale")
    syms = sorted(expr.free_symbols | (scale.free_symbols if scale is not None else set()), key=str)
    rng = np.random.default_rng(seed)
    worst, big, finite = 0.0, float(floor), 0
    fe = _evaluator(expr, syms)
    fs = _evaluator(scale, syms) if scale is not None else None
    ge = within_float_range(expr, syms)
    gs = within_float_range(scale, syms) if scale is not None else None
    for i in range(n + WIDE_POINTS):
        if i >= n:  # far from the origin (a positive symbol stays positive)
            pt = [abs(_wide_value(rng)) if s.is_positive else _wide_value(rng) for s in syms]
        else:
            pt = [
                _parameter_value(s, rng) if s.name not in ("phi", "beta", "w")
                and not s.name.startswith(("phi_", "beta_", "pi_"))
                else rng.uniform(-1.5, 1.5)
                for s in syms
            ]
        try:
            if not ge(*pt):
                continue  # an intermediate value beyond the float64 range: skipped like an undefined point
            v = abs(complex(fe(*pt)))
            if fs is not None and gs is not None:
                sv = abs(complex(fs(*pt))) if gs(*pt) else float("inf")
                big = max(big, sv) if np.isfinite(sv) else big
        except Exception:  # noqa: BLE001 - a point where the expression is undefined is skipped
            continue
        if np.isfinite(v):
            worst = max(worst, v)
            finite += 1
    if not finite:
        return float("nan")
    if worst == 0.0:
        return 0.0
    return worst / big if big > 0 else float("inf")


def magnitude(expr: sp.Expr) -> sp.Expr:
    """The rounding scale of ``expr``: the expression with every sum replaced by the sum of its terms' magnitudes.

    ``|a| + |b|`` for ``a + b`` (recursively through products and positive integer powers; ``|e|`` otherwise):
    what evaluating ``expr`` in floating point can lose to cancellation. A form condition measured relative to
    it refuses a small non-zero term next to large ones (``1e-5`` in ``d/dbeta (1e6 phi^2 + 1e-5 beta)``) and
    still accepts terms that cancel to round-off.
    """
    if expr.is_Add:
        return sp.Add(*[magnitude(a) for a in expr.args])
    if expr.is_Mul:
        return sp.Mul(*[magnitude(a) for a in expr.args])
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return magnitude(expr.base) ** expr.exp
    return sp.Abs(expr)


def is_zero(expr: sp.Expr) -> bool:
    """Symbolic zero test (``simplify``); use on small expressions only.

    Raises:
        TypeError: ``expr`` is not a SymPy expression or number (``simplify`` would evaluate text as Python).
    """
    return sp.simplify(as_expr(expr, "expr")) == 0
