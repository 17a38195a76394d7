"""Printing of the expression tree as text the parser reads back to the same tree value.

Parentheses only where precedence needs them (``**`` binds tighter than unary minus and is right
associative, as in Python); numbers print with ``repr``, so floats round-trip exactly.
"""

from __future__ import annotations

from .tree import Binary, Call, Constant, Expr, Number, Symbol, Unary

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "u": 3, "**": 4}


def to_str(e: Expr, parent: int = 0) -> str:
    """The text of ``e``; ``parent`` is the precedence of the enclosing operator (0 at the top)."""
    if isinstance(e, Number):
        s = repr(e.value)
        return f"({s})" if e.value < 0 and parent > 0 else s
    if isinstance(e, (Symbol, Constant)):
        return e.name
    if isinstance(e, Call):
        return f"{e.func}({to_str(e.arg)})"
    if isinstance(e, Unary):
        s = e.op + to_str(e.operand, _PREC["u"])
        return f"({s})" if parent >= _PREC["u"] else s
    if isinstance(e, Binary):
        p = _PREC[e.op]
        if e.op == "**":  # right associative
            s = f"{to_str(e.left, p + 1)}**{to_str(e.right, p)}"
        else:
            s = f"{to_str(e.left, p)} {e.op} {to_str(e.right, p + 1)}"
        return f"({s})" if parent > p else s
    raise TypeError(f"unknown node {e!r}")
