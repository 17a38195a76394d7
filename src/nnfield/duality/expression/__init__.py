"""The safe expression language: a whitelist parser, its immutable tree, and what is built from the tree.

No module here imports SymPy; only :mod:`.function` imports JAX. Modules:

- :mod:`.tree`: the nodes (:class:`Expr` and subclasses), :data:`FUNCTIONS`, :class:`ExpressionError`;
- :mod:`.limits`: size and nesting limits, checked on the syntax tree;
- :mod:`.fold`: bounded folding of constant sub-expressions;
- :mod:`.parser`: :func:`parse_expression` (the whitelist converter from Python's :mod:`ast`);
- :mod:`.evaluate`: numeric evaluation with NumPy or ``jax.numpy``;
- :mod:`.calculus`: exact derivatives and substitution with light simplification;
- :mod:`.printing`: text that parses back to the same tree value;
- :mod:`.function`: :class:`ExprFunction`, a hashable JAX/NumPy callable.
"""

from __future__ import annotations

from .evaluate import apply_binary as apply_binary
from .evaluate import evaluate as evaluate
from .fold import MAX_CONSTANT as MAX_CONSTANT
from .function import ExprFunction as ExprFunction
from .limits import MAX_DEPTH as MAX_DEPTH
from .limits import MAX_EXPONENT as MAX_EXPONENT
from .limits import MAX_LENGTH as MAX_LENGTH
from .limits import MAX_NODES as MAX_NODES
from .parser import parse_expression as parse_expression
from .tree import ALIASES as ALIASES
from .tree import CONSTANTS as CONSTANTS
from .tree import FUNCTIONS as FUNCTIONS
from .tree import Binary as Binary
from .tree import Call as Call
from .tree import Constant as Constant
from .tree import Expr as Expr
from .tree import ExpressionError as ExpressionError
from .tree import Number as Number
from .tree import Symbol as Symbol
from .tree import Unary as Unary
