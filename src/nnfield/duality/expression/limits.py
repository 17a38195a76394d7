"""Limits against hostile expression input, checked on the syntax tree before anything is built from it.

At most :data:`MAX_LENGTH` characters, :data:`MAX_NODES` nodes and nesting depth :data:`MAX_DEPTH`; at most
:data:`MAX_FUNCTION_DEPTH` transcendental functions (:data:`TRANSCENDENTAL`) nested in one another and at most
:data:`MAX_POWER_DEPTH` powers nested in one another (in base or exponent), because each level can
exponentiate the size of a number (``exp(exp(exp(exp(exp(exp(phi))))))`` has about 10^(10^38) digits'
worth of exponent at phi = 1.5) and the size of a derivative (a tower ``phi**phi**...``). A constant exponent
must satisfy ``|e| <= MAX_EXPONENT`` and constants are bounded by
:data:`~nnfield.duality.expression.fold.MAX_CONSTANT` (see :mod:`.fold`). The shape check walks the tree
without recursion, so no input can exhaust the stack.
"""

from __future__ import annotations

import ast

from .fold import MAX_CONSTANT as MAX_CONSTANT
from .tree import ExpressionError

MAX_LENGTH = 1000
MAX_DEPTH = 64
MAX_NODES = 400
MAX_EXPONENT = 100
MAX_FUNCTION_DEPTH = 4
MAX_POWER_DEPTH = 6

#: the functions that count towards :data:`MAX_FUNCTION_DEPTH` (sqrt and abs are algebraic)
TRANSCENDENTAL = ("sin", "cos", "tan", "exp", "log", "sinh", "cosh", "tanh")


def segment(text: str, node: ast.AST) -> str:
    """The source text of ``node`` (shortened to 60 characters) for error messages."""
    seg = ast.get_source_segment(text, node)
    if seg is None:
        return type(node).__name__
    return seg if len(seg) <= 60 else seg[:57] + "..."


def _nesting(node: ast.AST, depth: int, top: ast.AST | None, what: str, limit: int, text: str) -> tuple[int, ast.AST]:
    """One more level of a nest (``top`` is its outermost node); raises past ``limit`` naming the whole nest."""
    depth += 1
    top = node if top is None else top
    if depth > limit:
        raise ExpressionError(f"{what} nested too deeply (limit {limit} levels): {segment(text, top)!r}")
    return depth, top


def check_shape(root: ast.AST, text: str, max_nodes: int = MAX_NODES) -> None:
    """Reject trees that are too deep, too large (``max_nodes``), or nest transcendental functions or powers
    too deeply.

    Walks without recursion; each error is one line naming the limit and the offending sub-expression.
    """
    stack: list[tuple[ast.AST, int, int, ast.AST | None, int, ast.AST | None]] = [(root, 1, 0, None, 0, None)]
    count = 0
    while stack:
        node, depth, fdepth, ftop, pdepth, ptop = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply (depth > {MAX_DEPTH}) near {segment(text, node)!r}")
        if count > max_nodes:
            raise ExpressionError(f"expression too large (more than {max_nodes} nodes)")
        dunder = (isinstance(node, ast.Name) and node.id.startswith("_")) or (
            isinstance(node, ast.Attribute) and node.attr.startswith("_")
        )
        if dunder:  # report the most suspicious part first, wherever it is
            raise ExpressionError(f"names starting with '_' are not allowed: {segment(text, node)!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TRANSCENDENTAL:
            fdepth, ftop = _nesting(node, fdepth, ftop, "transcendental functions", MAX_FUNCTION_DEPTH, text)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            pdepth, ptop = _nesting(node, pdepth, ptop, "powers", MAX_POWER_DEPTH, text)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1, fdepth, ftop, pdepth, ptop))
