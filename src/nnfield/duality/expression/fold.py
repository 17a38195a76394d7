"""Folding of constant sub-expressions in floating point, bounded: no value beyond :data:`MAX_CONSTANT`.

The parser folds every sub-expression made of literals only, and rejects it when it overflows
(``|value| > MAX_CONSTANT``), divides by zero or leaves a function's domain, so that no later stage (NumPy,
SymPy's exact integers, mpmath) ever sees e.g. ``9**9**9``. Powers are bounded *before* they are computed
(``b log10|a| <= log10 MAX_CONSTANT``). Float64 round-off only: the folded value is a bound, not a result.
"""

from __future__ import annotations

import math

from .tree import ExpressionError

MAX_CONSTANT = 1e300

_MATH = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "log": math.log,
    "sqrt": math.sqrt, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh, "abs": abs,
    "sign": lambda c: math.copysign(1.0, c) if c != 0 else 0.0,
}

#: the functions :func:`fold_call` folds
FOLDABLE = tuple(_MATH)


class ConstantError(ExpressionError):
    """A constant sub-expression overflows or is undefined; ``reason`` says how (the caller names where)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fold_binary(op: str, a: float, b: float) -> float:
    """``a op b`` for two constants; raises :class:`ConstantError` unless finite and at most MAX_CONSTANT."""
    try:
        if op == "+":
            v = a + b
        elif op == "-":
            v = a - b
        elif op == "*":
            v = a * b
        elif op == "/":
            if b == 0:
                raise ConstantError("division by zero")
            v = a / b
        else:
            if a == 0:
                if b < 0:
                    raise ConstantError("zero to a negative power")
                v = 0.0 if b > 0 else 1.0
            else:
                if a < 0 and b != int(b):
                    raise ConstantError("negative number to a non-integer power")
                if b * math.log10(abs(a)) > math.log10(MAX_CONSTANT):
                    raise ConstantError("constant too large")
                v = a**b
    except ExpressionError:
        raise
    except (OverflowError, ZeroDivisionError, ValueError):
        raise ConstantError("constant overflows or is undefined") from None
    if not math.isfinite(v) or abs(v) > MAX_CONSTANT:
        raise ConstantError("constant too large")
    return v


def fold_call(func: str, c: float) -> float:
    """``func(c)`` for a constant ``c``; raises :class:`ConstantError` unless finite and at most MAX_CONSTANT."""
    try:
        v = float(_MATH[func](c))
    except (OverflowError, ValueError):
        raise ConstantError(f"{func}() of this constant overflows or is undefined") from None
    if not math.isfinite(v) or abs(v) > MAX_CONSTANT:
        raise ConstantError("constant too large")
    return v
