"""A JAX-ready callable made from an expression: elementwise ``jax.numpy`` (or NumPy) evaluation.

:class:`ExprFunction` is hashable and a static JAX PyTree, so a potential ``V(phi)`` typed by a user can be
part of a network's loss and cross ``jit``; its derivatives for reference solvers are exact tree derivatives
(:mod:`.calculus`), while the network's learning uses ``jax.grad`` of the loss.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .evaluate import evaluate
from .limits import MAX_CONSTANT, MAX_LENGTH
from .parser import parse_expression
from .tree import Expr, ExpressionError


def _register_static_callable(cls: type) -> type:
    import jax

    jax.tree_util.register_static(cls)
    return cls


@_register_static_callable
@dataclasses.dataclass(frozen=True)
class ExprFunction:
    """``f(*args)``: an :class:`Expr` evaluated elementwise with ``jax.numpy`` (or NumPy via :meth:`numpy`).

    ``args`` name the positional variables; ``params`` are fixed numeric parameter values. Hashable and a
    static JAX PyTree, so it can be part of a network's loss and cross ``jit``.
    """

    expr: Expr
    args: tuple[str, ...]
    params: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_string(
        cls, text: str, args: Iterable[str] = ("phi",), params: Mapping[str, float] | None = None
    ) -> ExprFunction:
        """Parse ``text`` (safe parser) with variables ``args`` and numeric ``params``."""
        params = dict(params or {})
        for k, v in params.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or abs(v) > MAX_CONSTANT:
                raise ExpressionError(f"parameter {k!r} must be a finite number, got {v!r}")
        args = tuple(args)
        expr = parse_expression(text, args, tuple(params))
        # with the values substituted, the constant checks (division by zero, overflow, ...) apply again
        values = str(expr.subs({k: float(v) for k, v in params.items()}))
        parse_expression(values, args, max_length=max(MAX_LENGTH, 4 * len(values)))
        return cls(expr, args, tuple(sorted((k, float(v)) for k, v in params.items())))

    def _env(self, values: tuple[Any, ...]) -> dict[str, Any]:
        if len(values) != len(self.args):
            raise TypeError(f"expected {len(self.args)} arguments {self.args}, got {len(values)}")
        env: dict[str, Any] = dict(self.params)
        env.update(zip(self.args, values, strict=True))
        return env

    def __call__(self, *values: Any) -> Any:
        import jax.numpy as jnp

        return self._broadcast(evaluate(self.expr, self._env(values), jnp), values, jnp)

    def numpy(self, *values: Any) -> Any:
        """Evaluate with NumPy (for SciPy reference solvers)."""
        import numpy as np

        return self._broadcast(evaluate(self.expr, self._env(values), np), values, np)

    @staticmethod
    def _broadcast(out: Any, values: tuple[Any, ...], xp: Any) -> Any:
        """Constant expressions still return one value per element of the (first) argument (in its precision: a
        float32 field stays float32; an integer argument gives floats)."""
        if not values:
            return out
        first = xp.asarray(values[0])
        if not xp.issubdtype(first.dtype, xp.inexact):
            first = first.astype(float)
        return out + xp.zeros_like(first)

    def diff(self, name: str) -> ExprFunction:
        """The exact derivative with respect to the variable ``name`` (tree differentiation)."""
        return ExprFunction(self.expr.diff(name), self.args, self.params)

    def __str__(self) -> str:
        return str(self.expr)
