"""Limits against hostile expression input, checked on the syntax tree before anything is built from it.

At most :data:`MAX_LENGTH` characters, :data:`MAX_NODES` nodes and nesting depth :data:`MAX_DEPTH`; a constant
exponent must satisfy ``|e| <= MAX_EXPONENT`` and constants are bounded by
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


def segment(text: str, node: ast.AST) -> str:
    """The source text of ``node`` (shortened to 60 characters) for error messages."""
    seg = ast.get_source_segment(text, node)
    if seg is None:
        return type(node).__name__
    return seg if len(seg) <= 60 else seg[:57] + "..."


def check_shape(root: ast.AST, text: str) -> None:
    """Reject trees that are too deep or too large, without recursion."""
    stack = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply (depth > {MAX_DEPTH}) near {segment(text, node)!r}")
        if count > MAX_NODES:
            raise ExpressionError(f"expression too large (more than {MAX_NODES} nodes)")
        dunder = (isinstance(node, ast.Name) and node.id.startswith("_")) or (
            isinstance(node, ast.Attribute) and node.attr.startswith("_")
        )
        if dunder:  # report the most suspicious part first, wherever it is
            raise ExpressionError(f"names starting with '_' are not allowed: {segment(text, node)!r}")
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1))
