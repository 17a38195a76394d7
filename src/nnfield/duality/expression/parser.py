r"""The whitelist parser: Python's :mod:`ast` (no ``eval``, ``exec`` or ``sympify``) converted node by node.

Grammar accepted (everything else is rejected with :class:`ExpressionError`, naming the offending part)::

    expr := number | constant | name | expr (+ | - | * | / | **) expr | -expr | +expr | (expr) | func(expr)
    func := sin cos tan exp log sqrt sinh cosh tanh abs sign    (Abs: SymPy's spelling of abs)
    constant := pi E

``name`` must be one of the declared variables or parameters (which may not be called like a function or a
constant); ``pi`` and ``E`` are the real constants (SymPy's spelling, so that SymPy's printed output reads
back); there is no imaginary unit (``I``, ``1j``): expressions are real; names starting with ``_``, attribute access,
subscripts, other calls, keyword arguments, lambdas, strings, comparisons, boolean operators, conditional
expressions, containers, ``^`` (use ``**``), ``%``, ``//`` and ``@`` are rejected. The text is parsed by
``ast.parse(text, mode="eval")`` (parsing never runs code); the shape limits of :mod:`.limits` are checked on
that tree, and the accepted nodes become an :class:`~.tree.Expr` tree. Constant sub-expressions are folded
and bounded (:mod:`.fold`).
"""

from __future__ import annotations

import ast
import dataclasses
import keyword
import math
import re
from collections.abc import Iterable

from .fold import ConstantError, fold_binary, fold_call
from .limits import MAX_CONSTANT, MAX_EXPONENT, MAX_LENGTH, MAX_NODES, check_shape, segment
from .tree import ALIASES, CONSTANTS, FUNCTIONS, Binary, Call, Constant, Expr, ExpressionError, Number, Symbol, Unary

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REJECTED_BINOPS = {
    ast.BitXor: "'^' (write powers as '**')",
    ast.Mod: "'%'",
    ast.FloorDiv: "'//'",
    ast.MatMult: "'@'",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.BitAnd: "'&'",
    ast.BitOr: "'|'",
}
_NODE_WORDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda expressions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators",
    ast.IfExp: "conditional expressions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred expressions",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slices",
}


def _check_names(names: Iterable[str], what: str) -> tuple[str, ...]:
    out = tuple(names)
    for n in out:
        if not isinstance(n, str) or not _NAME_RE.match(n):
            raise ExpressionError(f"{what} name {n!r} is not a plain identifier (letters, digits, '_'; no leading '_')")
        if keyword.iskeyword(n):  # (``lambda``: accepted, but no expression could use it)
            raise ExpressionError(f"{what} name {n!r} is a Python keyword, which no expression can use; e.g. {n}_")
        if n in FUNCTIONS or n in ALIASES:
            raise ExpressionError(f"{what} name {n!r} clashes with the function {n}()")
        if n in CONSTANTS:
            raise ExpressionError(f"{what} name {n!r} clashes with the constant {n}")
    return out


def parse_expression(
    text: str, variables: Iterable[str] = ("phi",), parameters: Iterable[str] = (), *, max_length: int = MAX_LENGTH,
    max_nodes: int = MAX_NODES,
) -> Expr:
    """Parse ``text`` into an :class:`Expr` using only the whitelisted grammar (see module docstring).

    Args:
        text: the expression, e.g. ``"beta**2/2 + lam*phi**4/4"``.
        variables: the names of the variables (e.g. ``("phi", "beta")``).
        parameters: further allowed names (numeric constants supplied at evaluation time); a parameter may not
            have the name of a variable.
        max_length: the length limit (default :data:`MAX_LENGTH`).
        max_nodes: the size limit in syntax-tree nodes (default :data:`MAX_NODES`); both are raised only to
            read back the package's own output (e.g. ``nnfield dual --json``), never for user input.

    Raises:
        ExpressionError: the text is not an allowed expression; the message names the offending part.
    """
    variables = _check_names(variables, "variable")
    parameters = _check_names(parameters, "parameter")
    clash = sorted(set(variables) & set(parameters))
    if clash:
        raise ExpressionError(f"parameter name {clash[0]!r} is a variable of the expression, not a parameter")
    declared = set(variables) | set(parameters)
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression string, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExpressionError(f"expression too long: {len(text)} characters (limit {max_length})")
    if not text.strip():
        raise ExpressionError("empty expression; expected e.g. 'beta**2/2 + phi**4/4'")
    if "\x00" in text:
        raise ExpressionError("expression contains a NUL character")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        near = ""
        if exc.offset and exc.text:
            line = exc.text.rstrip("\n")
            near = f" near {line[max(exc.offset - 1, 0):exc.offset + 9]!r}"
        raise ExpressionError(f"not a valid expression{where}{near}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError) as exc:  # pathological nesting / bad characters
        raise ExpressionError(f"expression could not be parsed ({type(exc).__name__}); simplify it") from None
    body = tree.body
    check_shape(body, text.strip(), max_nodes)
    return _Converter(text.strip(), declared, variables).convert(body)


@dataclasses.dataclass
class _Converter:
    text: str
    declared: set[str]
    variables: tuple[str, ...]

    def fail(self, node: ast.AST, why: str) -> ExpressionError:
        return ExpressionError(f"{why}: {segment(self.text, node)!r}")

    def convert(self, node: ast.AST) -> Expr:
        expr, _ = self._conv(node)
        return expr

    def _conv(self, node: ast.AST) -> tuple[Expr, float | None]:
        """Return the expression and, for constant sub-expressions, its folded float value."""
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                what = "strings" if isinstance(v, (str, bytes)) else f"the constant {v!r}"
                raise self.fail(node, f"{what} not allowed (only numbers)")
            try:
                fv = float(v)
            except OverflowError:
                raise self.fail(node, "number too large") from None
            if not math.isfinite(fv) or abs(fv) > MAX_CONSTANT:
                raise self.fail(node, "number too large")
            return Number(v), fv
        if isinstance(node, ast.Name):
            name = node.id
            if name.startswith("_"):
                raise self.fail(node, "names starting with '_' are not allowed")
            if name in FUNCTIONS or name in ALIASES:
                raise self.fail(node, f"the function {name} must be called with one argument, e.g. {name}(phi)")
            if name in CONSTANTS:
                return Constant(name), CONSTANTS[name]
            if name not in self.declared:
                if name in ("I", "j", "oo", "zoo", "nan", "inf"):
                    what = "the imaginary unit is" if name in ("I", "j") else "infinities and nan are"
                    raise self.fail(node, f"{what} not allowed (expressions are real and finite)")
                allowed = ", ".join(sorted(self.declared)) or "none"
                raise self.fail(node, f"undeclared name (allowed names: {allowed}; constants: pi, E)")
            return Symbol(name), None
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                op = "-"
            elif isinstance(node.op, ast.UAdd):
                op = "+"
            else:
                word = "'not'" if isinstance(node.op, ast.Not) else "'~'"
                raise self.fail(node, f"the operator {word} is not allowed")
            e, c = self._conv(node.operand)
            return Unary(op, e), (None if c is None else (-c if op == "-" else c))
        if isinstance(node, ast.BinOp):
            opt = type(node.op)
            if opt not in _BINOPS:
                word = _REJECTED_BINOPS.get(opt, f"'{opt.__name__}'")
                raise self.fail(node, f"the operator {word} is not allowed")
            op = _BINOPS[opt]
            left, cl = self._conv(node.left)
            right, cr = self._conv(node.right)
            if op == "**" and cr is not None and abs(cr) > MAX_EXPONENT:
                raise self.fail(node, f"exponent too large (|exponent| <= {MAX_EXPONENT})")
            if op == "/" and cr == 0:
                raise self.fail(node, "division by zero")
            if op == "**" and cl == 0 and cr is None:
                raise self.fail(node, "zero to a variable power")
            if op == "**" and cl is not None and cl < 0 and cr is None:
                raise self.fail(node, "negative number to a variable power (not real for non-integer powers)")
            folded = None
            if cl is not None and cr is not None:
                try:
                    folded = fold_binary(op, cl, cr)
                except ConstantError as exc:
                    raise self.fail(node, exc.reason) from None
            return Binary(op, left, right), folded
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                raise self.fail(node, "attribute access (method calls) not allowed")
            if not isinstance(func, ast.Name):
                raise self.fail(node, "only calls of the functions " + ", ".join(FUNCTIONS) + " are allowed")
            if func.id.startswith("_"):
                raise self.fail(node, "names starting with '_' are not allowed")
            name = ALIASES.get(func.id, func.id)
            if name not in FUNCTIONS:
                raise self.fail(node, f"unknown function {func.id!r} (allowed: {', '.join(FUNCTIONS)})")
            if node.keywords:
                raise self.fail(node, "keyword arguments are not allowed")
            if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise self.fail(node, f"{func.id}() takes exactly one argument")
            arg, c = self._conv(node.args[0])
            folded = None
            if c is not None:
                try:
                    folded = fold_call(name, c)
                except ConstantError as exc:
                    raise self.fail(node, exc.reason) from None
            return Call(name, arg), folded
        word = _NODE_WORDS.get(type(node), f"'{type(node).__name__}' nodes")
        raise self.fail(node, f"{word} not allowed")
