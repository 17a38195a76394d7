"""Expression trees to SymPy, and SymPy to JAX: the only ways user text reaches SymPy or leaves it.

:func:`to_sympy` builds SymPy objects by a walk over the safe parser's tree (text is never passed to
``sympify``); integers stay exact (``phi**4/4`` has ``Rational(1, 4)``). :func:`lambdify_jax` turns SymPy
expressions into jittable, differentiable JAX functions (``sympy.lambdify`` with a ``jax.numpy`` mapping).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from ..expression import (
    MAX_LENGTH,
    Binary,
    Call,
    Constant,
    Expr,
    ExpressionError,
    Number,
    Symbol,
    Unary,
    apply_binary,
    parse_expression,
)
from ..expression.fold import FOLDABLE, ConstantError, fold_binary, fold_call

PHI = sp.Symbol("phi", real=True)
BETA = sp.Symbol("beta", real=True)
W_ARG = sp.Symbol("w", real=True)  # the argument of F in (2.9)
T = sp.Symbol("t", real=True)
DT = sp.Symbol("dt", positive=True)
#: the variables of Sec. 2 by name: what these names mean wherever text is read as SymPy (never parameters)
VARIABLES: dict[str, sp.Symbol] = {"phi": PHI, "beta": BETA, "w": W_ARG, "t": T, "dt": DT}

_SP_FUNCS: dict[str, Callable[[Any], Any]] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "abs": sp.Abs, "sign": sp.sign,
}
_SP_CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}


def to_sympy(expr: Expr, symbols: Mapping[str, sp.Basic] | None = None) -> sp.Expr:
    """Build a SymPy expression from a safe-parser tree (ints stay exact: ``phi**4/4`` has ``Rational(1, 4)``).

    ``symbols`` maps names to SymPy objects (numbers substitute parameters); missing names become real symbols.
    SymPy evaluates operations on numbers at once (exactly, for integers); each such operation is bounded first
    like the parser's constant folding (:mod:`nnfield.duality.expression.fold`), so numbers that only become
    constant here (parameter values, ``phi - phi``) cannot start a runaway computation.

    Raises:
        ExpressionError: a constant sub-expression overflows (``> 1e300``) or is undefined; names it.
    """
    table = dict(symbols or {})

    def walk(e: Expr) -> sp.Expr:
        if isinstance(e, Number):
            return sp.Integer(e.value) if isinstance(e.value, int) else sp.Float(e.value)
        if isinstance(e, Constant):
            return _SP_CONSTANTS[e.name]
        if isinstance(e, Symbol):
            if e.name not in table:
                table[e.name] = sp.Symbol(e.name, real=True)
            return table[e.name]
        if isinstance(e, Unary):
            v = walk(e.operand)
            return -v if e.op == "-" else v
        if isinstance(e, Binary):
            a, b = walk(e.left), walk(e.right)
            _check_constants(e, a, b)
            return apply_binary(e.op, a, b)
        if isinstance(e, Call):
            a = walk(e.arg)
            _check_constants(e, a)
            return _SP_FUNCS[e.func](a)
        raise TypeError(f"unknown node {e!r}")

    return walk(expr)


def _check_constants(e: Binary | Call, *args: sp.Basic) -> None:
    """Bound ``e`` applied to SymPy numbers before SymPy evaluates it (no-op unless every argument is finite)."""
    values = []
    for a in args:
        if not (isinstance(a, sp.Basic) and a.is_Number and a.is_finite):
            return
        values.append(float(a))
    try:
        if isinstance(e, Binary):
            fold_binary(e.op, values[0], values[1])
        elif e.func in FOLDABLE:
            fold_call(e.func, values[0])
    except ConstantError as exc:
        raise ExpressionError(f"{exc.reason} (after cancellation or substituted values): {_short(str(e))!r}") from None


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def parse_sympy(
    text: str,
    variables: Sequence[str] = ("phi", "beta"),
    parameters: Iterable[str] = (),
    values: Mapping[str, float] | None = None,
) -> sp.Expr:
    """Safe-parse ``text`` and build SymPy. ``phi``/``beta`` map to :data:`PHI`/:data:`BETA`, and the other
    names of :data:`VARIABLES` among ``variables`` (``w``, ``t``, ``dt``) to their symbols; parameters with
    ``values`` are substituted as floats, the others stay (real) symbols."""
    values = dict(values or {})
    parameters = tuple(parameters)
    params = parameters + tuple(k for k in values if k not in parameters)
    tree = parse_expression(text, variables, params)
    table: dict[str, sp.Basic] = {"phi": PHI, "beta": BETA}
    table.update({v: VARIABLES[v] for v in variables if v in VARIABLES})
    table.update({k: sp.Float(float(v)) for k, v in values.items()})
    return to_sympy(tree, table)


def _jax_modules() -> list[Any]:
    import jax.numpy as jnp

    mapping = {
        "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "exp": jnp.exp, "log": jnp.log, "sqrt": jnp.sqrt,
        "sinh": jnp.sinh, "cosh": jnp.cosh, "tanh": jnp.tanh, "Abs": jnp.abs, "sign": jnp.sign,
        "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan, "pi": jnp.pi, "E": jnp.e,
    }
    return [mapping, jnp]


def lambdify_jax(expr: sp.Expr, args: Sequence[sp.Symbol]) -> Callable[..., Any]:
    """``sympy.lambdify`` with a ``jax.numpy`` module mapping: a jittable, differentiable JAX function."""
    return sp.lambdify(list(args), expr, modules=_jax_modules())


class _TextPrinter(StrPrinter):
    """SymPy's ``str`` printer in the safe parser's language: ``abs`` for ``Abs``; a float64 ``Float`` as
    Python's ``repr`` (17 significant digits, so that it reads back to the same float, where SymPy's ``str``
    keeps 15)."""

    def _print_Float(self, expr: sp.Float) -> str:
        v = float(expr)
        if expr._prec <= 53 and math.isfinite(v):
            return repr(v)
        return super()._print_Float(expr)

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"abs({self._print(expr.args[0])})"


def to_text(expr: sp.Expr) -> str:
    """``expr`` as text in the safe parser's language (SymPy's ``str`` syntax with ``abs``, float64 floats
    exact); :func:`read_back` checks that the text reads back to ``expr``."""
    return _TextPrinter().doprint(expr)


def read_back(text: str, expr: sp.Expr, parameters: Iterable[str] = ()) -> str | None:
    """``None`` when ``text`` parses back (safe parser) to an expression equal to ``expr``; else why not.

    ``text`` may use the variables ``phi beta w dt`` (the symbols :data:`PHI`, :data:`BETA`, :data:`W_ARG`,
    :data:`DT`) and the symbolic ``parameters``; the length and size limits are raised to the text's own size
    (this reads the package's own output, not user input). Equal means SymPy-identical, or (after SymPy
    regroups a float coefficient) a difference that measures 0 relative to ``expr`` up to round-off (1e-12).
    """
    from .zero import measure

    size = max(MAX_LENGTH, len(text))
    try:
        tree = parse_expression(text, ("phi", "beta", "w", "dt"), tuple(parameters), max_length=size,
                                max_nodes=size)
        back = to_sympy(tree, {"phi": PHI, "beta": BETA, "w": W_ARG, "dt": DT})
    except ExpressionError as exc:
        return str(exc)
    if back == expr:
        return None
    diff = measure(back - expr, expr, floor=0.0)
    return None if diff <= 1e-12 else f"it reads back as {_short(to_text(back))!r} (measured difference {diff:.1e})"
