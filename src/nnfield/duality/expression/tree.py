"""The safe parser's expression tree: small, immutable, hashable nodes (usable as static data in JAX PyTrees).

The nodes only hold data; the tree walks live in their own modules and are reached through the methods of
:class:`Expr`: numeric evaluation (:mod:`.evaluate`), exact differentiation and substitution
(:mod:`.calculus`), printing (:mod:`.printing`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ...errors import NNFieldError

#: the functions the grammar admits (one positional argument each)
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "sinh", "cosh", "tanh", "abs", "sign")
#: other spellings of functions (SymPy prints ``Abs``), read as the function they name
ALIASES = {"Abs": "abs"}
#: the named real constants the grammar admits (SymPy's spelling, so that SymPy output reads back) and values
CONSTANTS = {"pi": math.pi, "E": math.e}


class ExpressionError(NNFieldError, ValueError):
    """An expression string was rejected by the safe parser; the message names the offending part."""


@dataclasses.dataclass(frozen=True)
class Expr:
    """An immutable, hashable expression node (usable as static data in JAX PyTrees)."""

    def children(self) -> tuple[Expr, ...]:
        return ()

    # -- evaluation ------------------------------------------------------------------------------------
    def evaluate(self, env: Mapping[str, Any], xp: Any = None) -> Any:
        """Evaluate with the array module ``xp`` (``numpy`` or ``jax.numpy``; default numpy).

        ``env`` maps every variable and parameter name to a value (scalars or arrays, broadcast elementwise).
        """
        import numpy as np

        from .evaluate import evaluate

        return evaluate(self, env, np if xp is None else xp)

    @property
    def names(self) -> frozenset[str]:
        """Variable and parameter names used."""
        out: set[str] = set()
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, Symbol):
                out.add(node.name)
            stack.extend(node.children())
        return frozenset(out)

    def diff(self, name: str) -> Expr:
        """The exact derivative with respect to ``name`` (chain rule over the tree; lightly simplified)."""
        from .calculus import diff

        return diff(self, name)

    def subs(self, values: Mapping[str, Expr | float]) -> Expr:
        """Replace symbols by expressions or numbers."""
        from .calculus import subs

        return subs(self, {k: (v if isinstance(v, Expr) else Number(v)) for k, v in values.items()})

    def __str__(self) -> str:
        from .printing import to_str

        return to_str(self)


@dataclasses.dataclass(frozen=True)
class Number(Expr):
    value: int | float

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise TypeError(f"Number needs an int or float, got {type(self.value).__name__}")


@dataclasses.dataclass(frozen=True)
class Constant(Expr):
    """A named real constant, one of :data:`CONSTANTS` (``pi``, ``E``): exact in SymPy, a float numerically."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in CONSTANTS:
            raise TypeError(f"unknown constant {self.name!r} (known: {', '.join(CONSTANTS)})")

    @property
    def value(self) -> float:
        """The float64 value."""
        return CONSTANTS[self.name]


@dataclasses.dataclass(frozen=True)
class Symbol(Expr):
    name: str


@dataclasses.dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-" or "+"
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclasses.dataclass(frozen=True)
class Binary(Expr):
    op: str  # "+", "-", "*", "/", "**"
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclasses.dataclass(frozen=True)
class Call(Expr):
    func: str  # one of FUNCTIONS
    arg: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)
