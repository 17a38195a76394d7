"""Arguments of the public symbolic functions: text through the safe parser, everything else checked.

SymPy turns text into code: ``sympify``, and every SymPy function that calls it on its arguments
(``diff``, ``simplify``, ``integrate``, ``Matrix``, ``subs``), evaluates a string as Python. The public
functions of :mod:`nnfield.duality.symbolic` therefore pass their arguments through this module first:

- :func:`read_expression`: text is read by the safe parser (:func:`~.convert.parse_sympy`; the names resolve to
  :data:`~.convert.PHI`, :data:`~.convert.BETA`, :data:`~.convert.W_ARG`, ...), SymPy expressions and numbers
  pass (:func:`as_expr`);
- :func:`as_expr`, :func:`as_symbols`, :func:`as_matrix`: SymPy objects and numbers only (numbers through
  ``sympify(strict=True)``); text, and any other object, is a :class:`TypeError` naming the argument;
- :func:`check_symbols`: an expression may contain only its variables and the parameters (a foreign symbol,
  e.g. ``x`` in a Hamiltonian of ``phi`` and ``beta``, is an :class:`~nnfield.duality.parse.ExpressionError`
  naming it and the allowed ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sympy as sp

from ..expression import ExpressionError
from .convert import VARIABLES, parse_sympy

#: how the variables are reached from Python (for the messages)
_ATTRIBUTES = {"phi": "PHI", "beta": "BETA", "w": "W_ARG", "t": "T", "dt": "DT"}


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def as_expr(value: Any, what: str) -> sp.Expr:
    """``value`` as a SymPy expression without reading text: SymPy expressions as they are, Python and NumPy
    numbers through ``sympify(strict=True)``.

    Raises:
        TypeError: ``value`` is text (which SymPy would evaluate as Python), a bool, or not a number or SymPy
            expression; the message names the argument ``what``.
    """
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, str | bytes):
        raise TypeError(
            f"{what}: expected a SymPy expression or a number, got the string {_short(str(value))!r}; text is read "
            "only by the safe parser: build the expression with symbolic.parse_sympy(text, variables, parameters)"
        )
    if not isinstance(value, bool):
        try:
            out = sp.sympify(value, strict=True)
        except (sp.SympifyError, TypeError, ValueError):
            out = None
        if isinstance(out, sp.Expr):
            return out
    raise TypeError(f"{what}: expected a SymPy expression or a number, got {type(value).__name__}")


def as_symbols(values: Any, what: str) -> list[sp.Symbol]:
    """``values`` as a list of SymPy symbols (e.g. :func:`~.neurons.neuron_symbols`).

    Raises:
        TypeError: ``values`` is text, not iterable, or holds something other than a SymPy ``Symbol``.
    """
    if isinstance(values, str | bytes):
        raise TypeError(f"{what}: expected a sequence of SymPy symbols, got the string {_short(str(values))!r}")
    try:
        out = list(values)
    except TypeError:
        raise TypeError(f"{what}: expected a sequence of SymPy symbols, got {type(values).__name__}") from None
    for s in out:
        if not isinstance(s, sp.Symbol):
            got = f"the string {_short(s)!r}" if isinstance(s, str) else type(s).__name__
            raise TypeError(f"{what}: expected a sequence of SymPy symbols (e.g. symbolic.neuron_symbols(n)), "
                            f"got {got} in it")
    return out


def as_matrix(value: Any, what: str) -> sp.MatrixBase:
    """``value`` if it is a SymPy matrix.

    Raises:
        TypeError: ``value`` is not a SymPy matrix (build one with ``sympy.Matrix`` from numbers or SymPy
            expressions).
    """
    if isinstance(value, sp.MatrixBase):
        return value
    raise TypeError(f"{what}: expected a SymPy matrix (e.g. sympy.Matrix([[2, 1], [1, 2]])), "
                    f"got {type(value).__name__}")


def parameter_names(parameters: Iterable[str | sp.Symbol] | None) -> tuple[str, ...] | None:
    """The names of the declared ``parameters`` (strings or SymPy symbols); ``None`` stays ``None``.

    Raises:
        TypeError: ``parameters`` is a single string, or holds something other than a string or symbol.
        ExpressionError: a parameter has the name of a variable (``phi beta w t dt``).
    """
    if parameters is None:
        return None
    if isinstance(parameters, str | bytes):
        raise TypeError(f"parameters: expected a sequence of names, got the string {_short(str(parameters))!r}; "
                        f"write ({str(parameters)!r},)")
    names: list[str] = []
    for p in parameters:
        if isinstance(p, sp.Symbol):
            name = p.name
        elif isinstance(p, str):
            name = p
        else:
            raise TypeError(f"parameters: expected names or SymPy symbols, got {type(p).__name__}")
        if name in VARIABLES:
            raise ExpressionError(
                f"parameters: {name!r} is a variable, not a parameter (variables: {', '.join(VARIABLES)})"
            )
        if name not in names:
            names.append(name)
    return tuple(names)


def read_expression(
    value: Any, what: str, variables: Sequence[str], parameters: tuple[str, ...] | None
) -> sp.Expr:
    """``value`` as SymPy: text through the safe parser in ``variables`` and ``parameters``, else :func:`as_expr`.

    Raises:
        ExpressionError: the text is not an allowed expression (an undeclared name is named with the allowed ones).
        TypeError: ``value`` is neither text nor a SymPy expression or number.
    """
    if isinstance(value, str):
        try:
            return parse_sympy(value, variables, parameters or ())
        except ExpressionError as exc:
            raise ExpressionError(f"{what}: {exc}") from None
    return as_expr(value, what)


def check_symbols(
    expr: sp.Expr, what: str, description: str, variables: Sequence[str], parameters: tuple[str, ...] | None
) -> None:
    """Refuse a free symbol of ``expr`` that is neither one of ``variables`` nor a parameter.

    ``variables`` are names of :data:`~.convert.VARIABLES` (the module's symbols, e.g. ``PHI``). With
    ``parameters`` (names) a parameter is a symbol of one of those names; with ``None`` (none declared) any
    real symbol whose name is not a variable counts as one (what :func:`~.convert.parse_sympy` builds for the
    parameters it declares), so that ``Symbol('x')`` (no assumptions), a second ``phi`` or ``w`` in a
    Hamiltonian are refused.

    Raises:
        ExpressionError: naming ``what``, the unexpected symbols and the allowed ones.
    """
    allowed = {VARIABLES[v] for v in variables}
    bad: list[tuple[str, sp.Basic]] = []
    for s in expr.free_symbols:
        name = str(getattr(s, "name", s))
        if s in allowed:
            continue
        if parameters is not None:
            if name in parameters:
                continue
        elif isinstance(s, sp.Symbol) and name not in VARIABLES and s.is_real is True:
            continue
        bad.append((name, s))
    if not bad:
        return
    parts = []
    for name, s in sorted(bad, key=lambda item: (item[0], str(item[1].assumptions0))):
        if name in VARIABLES and s != VARIABLES[name]:
            parts.append(f"{name} (not symbolic.{_ATTRIBUTES[name]}: a Symbol({name!r}) with other assumptions)")
        else:
            parts.append(name)
    names = ", ".join(f"{v} (symbolic.{_ATTRIBUTES[v]})" for v in variables)
    if parameters is None:
        params = ("parameters (real symbols such as Symbol('lam', real=True), or the names given as "
                  "parameters=...)")
    elif parameters:
        params = f"the parameters {', '.join(parameters)}"
    else:
        params = "no parameters (declare them with parameters=...)"
    plural = "s" if len(bad) > 1 else ""
    raise ExpressionError(
        f"{what}: {description} contains the unexpected symbol{plural} {', '.join(parts)}; "
        f"allowed: the variable{'s' if len(variables) > 1 else ''} {names} and {params}"
    )
