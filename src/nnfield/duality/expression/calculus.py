"""Exact differentiation and substitution on the expression tree, with light algebraic simplification.

:func:`diff` applies the chain rule node by node (exact: no finite differences, no truncation error);
the constructors ``_add``, ``_sub``, ``_neg``, ``_mul``, ``_div``, ``_pow`` drop zeros and ones and fold
products of literals, so derivatives of polynomials stay small. ``|u|' = sign(u) u'`` (the internal ``sign``
function, whose derivative is 0 away from the jump at 0). Named constants (``pi``, ``E``) have derivative 0.
"""

from __future__ import annotations

from collections.abc import Mapping

from .tree import Binary, Call, Constant, Expr, Number, Symbol, Unary


def _num(e: Expr) -> float | None:
    if isinstance(e, Number):
        return e.value
    if isinstance(e, Unary) and isinstance(e.operand, Number):
        return -e.operand.value if e.op == "-" else e.operand.value
    return None


def _add(a: Expr, b: Expr) -> Expr:
    if _num(a) == 0:
        return b
    if _num(b) == 0:
        return a
    return Binary("+", a, b)


def _sub(a: Expr, b: Expr) -> Expr:
    if _num(b) == 0:
        return a
    if _num(a) == 0:
        return _neg(b)
    return Binary("-", a, b)


def _neg(a: Expr) -> Expr:
    n = _num(a)
    if n is not None:
        return Number(-n) if n != 0 else Number(0)
    if isinstance(a, Unary) and a.op == "-":
        return a.operand
    return Unary("-", a)


def _mul(a: Expr, b: Expr) -> Expr:
    na, nb = _num(a), _num(b)
    if na == 0 or nb == 0:
        return Number(0)
    if na == 1:
        return b
    if nb == 1:
        return a
    if na is not None and nb is not None:
        return Number(na * nb)
    return Binary("*", a, b)


def _div(a: Expr, b: Expr) -> Expr:
    if _num(a) == 0:
        return Number(0)
    if _num(b) == 1:
        return a
    return Binary("/", a, b)


def _pow(a: Expr, b: Expr) -> Expr:
    nb = _num(b)
    if nb == 0:
        return Number(1)
    if nb == 1:
        return a
    return Binary("**", a, b)


def diff(e: Expr, x: str) -> Expr:
    """The exact derivative ``de/dx`` by the chain rule, node by node."""
    if isinstance(e, (Number, Constant)):
        return Number(0)
    if isinstance(e, Symbol):
        return Number(1 if e.name == x else 0)
    if x not in e.names:
        return Number(0)
    if isinstance(e, Unary):
        d = diff(e.operand, x)
        return _neg(d) if e.op == "-" else d
    if isinstance(e, Binary):
        u, v = e.left, e.right
        du, dv = diff(u, x), diff(v, x)
        if e.op == "+":
            return _add(du, dv)
        if e.op == "-":
            return _sub(du, dv)
        if e.op == "*":
            return _add(_mul(du, v), _mul(u, dv))
        if e.op == "/":
            return _sub(_div(du, v), _div(_mul(u, dv), _pow(v, Number(2))))
        # power
        if x not in v.names:  # d(u^c) = c u^(c-1) du
            nv = _num(v)
            expo = Number(nv - 1) if nv is not None else _sub(v, Number(1))
            return _mul(_mul(v, _pow(u, expo)), du)
        # general: u^v (dv log u + v du / u)
        return _mul(e, _add(_mul(dv, Call("log", u)), _div(_mul(v, du), u)))
    if isinstance(e, Call):
        u = e.arg
        du = diff(u, x)
        f = e.func
        if f == "sin":
            d = Call("cos", u)
        elif f == "cos":
            d = _neg(Call("sin", u))
        elif f == "tan":
            d = _add(Number(1), _pow(Call("tan", u), Number(2)))
        elif f == "exp":
            d = Call("exp", u)
        elif f == "log":
            d = _div(Number(1), u)
        elif f == "sqrt":
            d = _div(Number(1), _mul(Number(2), Call("sqrt", u)))
        elif f == "sinh":
            d = Call("cosh", u)
        elif f == "cosh":
            d = Call("sinh", u)
        elif f == "tanh":
            d = _sub(Number(1), _pow(Call("tanh", u), Number(2)))
        elif f == "abs":
            d = Call("sign", u)
        elif f == "sign":
            d = Number(0)
        else:  # pragma: no cover - the parser admits only FUNCTIONS
            raise TypeError(f"unknown function {f}")
        return _mul(d, du)
    raise TypeError(f"unknown node {e!r}")


def subs(e: Expr, values: Mapping[str, Expr]) -> Expr:
    """``e`` with the symbols named in ``values`` replaced by those trees."""
    if isinstance(e, Symbol):
        return values.get(e.name, e)
    if isinstance(e, Unary):
        return Unary(e.op, subs(e.operand, values))
    if isinstance(e, Binary):
        return Binary(e.op, subs(e.left, values), subs(e.right, values))
    if isinstance(e, Call):
        return Call(e.func, subs(e.arg, values))
    return e
