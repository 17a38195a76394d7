"""Numeric evaluation of an expression tree with NumPy or ``jax.numpy`` (elementwise, IEEE semantics).

Every operation is one array operation of ``xp``, so the accuracy is that of the floating-point type
(float64: relative round-off ~1e-16 per operation); integer powers by a literal are exact repeated
multiplication in JAX/NumPy. Values are bounded by the floating-point range: evaluation cannot run away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .tree import Binary, Call, Constant, Expr, ExpressionError, Number, Symbol, Unary


def apply_binary(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for the whitelisted operators ``+ - * / **`` (shared by evaluation and the SymPy builder)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a**b


def evaluate(e: Expr, env: Mapping[str, Any], xp: Any) -> Any:
    """The value of ``e`` with ``env`` (name -> scalar or array) and the array module ``xp``."""
    if isinstance(e, (Number, Constant)):
        v = e.value
        if isinstance(v, int):  # a float operand: an integer array to a negative integer power is an error in
            v = float(v)        # NumPy and JAX ('(2)**(-(abs(2)))'); integer exponents are taken below, unevaluated
        if xp.__name__ == "numpy" and isinstance(v, float):
            v = xp.float64(v)  # IEEE semantics (inf/nan, no ZeroDivisionError), as for the symbols
        return v
    if isinstance(e, Symbol):
        try:
            v = env[e.name]
        except KeyError:
            raise ExpressionError(f"no value given for {e.name!r}") from None
        if xp.__name__ == "numpy" and isinstance(v, (int, float)):
            v = xp.float64(v)  # IEEE semantics (inf/nan, no ZeroDivisionError) for plain numbers
        return v
    if isinstance(e, Unary):
        v = evaluate(e.operand, env, xp)
        return -v if e.op == "-" else v
    if isinstance(e, Binary):
        a, b = evaluate(e.left, env, xp), evaluate(e.right, env, xp)
        if e.op == "**" and isinstance(e.right, Number) and isinstance(e.right.value, int):
            return a ** e.right.value  # integer power: exact repeated multiplication in JAX/NumPy
        return apply_binary(e.op, a, b)
    if isinstance(e, Call):
        v = evaluate(e.arg, env, xp)
        return getattr(xp, e.func)(v)
    raise TypeError(f"unknown node {e!r}")
