r"""Safe expression input: a whitelist parser over Python's :mod:`ast` (no ``eval``, ``exec`` or ``sympify``).

Grammar accepted (everything else is rejected with :class:`ExpressionError`, naming the offending part)::

    expr := number | constant | name | expr (+ | - | * | / | **) expr | -expr | +expr | (expr) | func(expr)
    func := sin cos tan exp log sqrt sinh cosh tanh abs sign    (Abs: SymPy's spelling of abs)
    constant := pi E

This module is the public face of :mod:`nnfield.duality.expression`, where each concept has its own module:
the tree (:class:`Expr`), the parser (:func:`parse_expression`), the limits, constant folding, numeric
evaluation (:meth:`Expr.evaluate`), exact derivatives (:meth:`Expr.diff`), printing and
:class:`ExprFunction` (JAX/NumPy callables). SymPy objects are built from the tree by
:func:`nnfield.duality.symbolic.to_sympy`.

Limits against hostile input: at most :data:`MAX_LENGTH` characters, :data:`MAX_NODES` nodes, nesting depth
:data:`MAX_DEPTH`; a constant exponent must satisfy ``|e| <= MAX_EXPONENT``; constant sub-expressions are folded
in floating point and rejected when they overflow (``> 1e300``), divide by zero or leave a function's domain,
so SymPy never sees e.g. ``9**9**9``; at most ``MAX_FUNCTION_DEPTH`` transcendental functions and
``MAX_POWER_DEPTH`` powers nested in one another (:mod:`nnfield.duality.expression.limits`).
"""

from __future__ import annotations

from .expression import ALIASES as ALIASES
from .expression import CONSTANTS as CONSTANTS
from .expression import FUNCTIONS as FUNCTIONS
from .expression import MAX_CONSTANT as MAX_CONSTANT
from .expression import MAX_DEPTH as MAX_DEPTH
from .expression import MAX_EXPONENT as MAX_EXPONENT
from .expression import MAX_LENGTH as MAX_LENGTH
from .expression import MAX_NODES as MAX_NODES
from .expression import Binary as Binary
from .expression import Call as Call
from .expression import Constant as Constant
from .expression import Expr as Expr
from .expression import ExpressionError as ExpressionError
from .expression import ExprFunction as ExprFunction
from .expression import Number as Number
from .expression import Symbol as Symbol
from .expression import Unary as Unary
from .expression import apply_binary as apply_binary
from .expression import parse_expression as parse_expression
