r"""Safe expression input: a whitelist parser over Python's :mod:`ast` (no ``eval``, ``exec`` or ``sympify``).

Grammar accepted (everything else is rejected with :class:`ExpressionError`, naming the offending part)::

    expr := number | name | expr (+ | - | * | / | **) expr | -expr | +expr | (expr) | func(expr)
    func := sin cos tan exp log sqrt sinh cosh tanh abs

``name`` must be one of the declared variables or parameters; names starting with ``_``, attribute access,
subscripts, other calls, keyword arguments, lambdas, strings, comparisons, boolean operators, conditional
expressions, containers, ``^`` (use ``**``), ``%``, ``//`` and ``@`` are rejected. The text is parsed by
``ast.parse(text, mode="eval")`` (parsing never runs code) and the tree is converted into this module's own
small, immutable expression tree (:class:`Expr`), from which SymPy objects (:mod:`nnfield.duality.symbolic`),
NumPy/JAX functions (:meth:`Expr.evaluate`, :class:`ExprFunction`) and exact derivatives (:meth:`Expr.diff`)
are built by tree walks.

Limits against hostile input: at most :data:`MAX_LENGTH` characters, :data:`MAX_NODES` nodes, nesting depth
:data:`MAX_DEPTH`; a constant exponent must satisfy ``|e| <= MAX_EXPONENT``; constant sub-expressions are folded
in floating point and rejected when they overflow (``> 1e300``), divide by zero or leave a function's domain,
so SymPy never sees e.g. ``9**9**9``.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import NNFieldError

MAX_LENGTH = 1000
MAX_DEPTH = 64
MAX_NODES = 400
MAX_EXPONENT = 100
MAX_CONSTANT = 1e300

FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "sinh", "cosh", "tanh", "abs")
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


class ExpressionError(NNFieldError, ValueError):
    """An expression string was rejected by the safe parser; the message names the offending part."""


# ----------------------------------------------------------------------------------------------------------
# the expression tree
# ----------------------------------------------------------------------------------------------------------
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

        return _evaluate(self, env, np if xp is None else xp)

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
        return _diff(self, name)

    def subs(self, values: Mapping[str, Expr | float]) -> Expr:
        """Replace symbols by expressions or numbers."""
        return _subs(self, {k: (v if isinstance(v, Expr) else Number(v)) for k, v in values.items()})

    def __str__(self) -> str:
        return _to_str(self)


@dataclasses.dataclass(frozen=True)
class Number(Expr):
    value: int | float

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise TypeError(f"Number needs an int or float, got {type(self.value).__name__}")


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
    func: str  # one of FUNCTIONS (or the internal "sign")
    arg: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.arg,)


# ----------------------------------------------------------------------------------------------------------
# parsing
# ----------------------------------------------------------------------------------------------------------
def _segment(text: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(text, node)
    if seg is None:
        return type(node).__name__
    return seg if len(seg) <= 60 else seg[:57] + "..."


def _check_names(names: Iterable[str], what: str) -> tuple[str, ...]:
    out = tuple(names)
    for n in out:
        if not isinstance(n, str) or not _NAME_RE.match(n):
            raise ExpressionError(f"{what} name {n!r} is not a plain identifier (letters, digits, '_'; no leading '_')")
        if n in FUNCTIONS:
            raise ExpressionError(f"{what} name {n!r} clashes with the function {n}()")
    return out


def parse_expression(
    text: str, variables: Iterable[str] = ("phi",), parameters: Iterable[str] = (), *, max_length: int = MAX_LENGTH
) -> Expr:
    """Parse ``text`` into an :class:`Expr` using only the whitelisted grammar (see module docstring).

    Args:
        text: the expression, e.g. ``"beta**2/2 + lam*phi**4/4"``.
        variables: the names of the variables (e.g. ``("phi", "beta")``).
        parameters: further allowed names (numeric constants supplied at evaluation time).
        max_length: the length limit (default :data:`MAX_LENGTH`).

    Raises:
        ExpressionError: the text is not an allowed expression; the message names the offending part.
    """
    variables = _check_names(variables, "variable")
    parameters = _check_names(parameters, "parameter")
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
    _check_shape(body, text.strip())
    return _Converter(text.strip(), declared, variables).convert(body)


def _check_shape(root: ast.AST, text: str) -> None:
    """Reject trees that are too deep or too large, without recursion."""
    stack = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested too deeply (depth > {MAX_DEPTH}) near {_segment(text, node)!r}")
        if count > MAX_NODES:
            raise ExpressionError(f"expression too large (more than {MAX_NODES} nodes)")
        dunder = (isinstance(node, ast.Name) and node.id.startswith("_")) or (
            isinstance(node, ast.Attribute) and node.attr.startswith("_")
        )
        if dunder:  # report the most suspicious part first, wherever it is
            raise ExpressionError(f"names starting with '_' are not allowed: {_segment(text, node)!r}")
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1))


@dataclasses.dataclass
class _Converter:
    text: str
    declared: set[str]
    variables: tuple[str, ...]

    def fail(self, node: ast.AST, why: str) -> ExpressionError:
        return ExpressionError(f"{why}: {_segment(self.text, node)!r}")

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
            if name in FUNCTIONS:
                raise self.fail(node, f"the function {name} must be called with one argument, e.g. {name}(phi)")
            if name not in self.declared:
                allowed = ", ".join(sorted(self.declared)) or "none"
                raise self.fail(node, f"undeclared name (allowed names: {allowed})")
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
            folded = None
            if cl is not None and cr is not None:
                folded = self._fold(node, op, cl, cr)
            return Binary(op, left, right), folded
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                raise self.fail(node, "attribute access (method calls) not allowed")
            if not isinstance(func, ast.Name):
                raise self.fail(node, "only calls of the functions " + ", ".join(FUNCTIONS) + " are allowed")
            if func.id.startswith("_"):
                raise self.fail(node, "names starting with '_' are not allowed")
            if func.id not in FUNCTIONS:
                raise self.fail(node, f"unknown function {func.id!r} (allowed: {', '.join(FUNCTIONS)})")
            if node.keywords:
                raise self.fail(node, "keyword arguments are not allowed")
            if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
                raise self.fail(node, f"{func.id}() takes exactly one argument")
            arg, c = self._conv(node.args[0])
            folded = None if c is None else self._fold_call(node, func.id, c)
            return Call(func.id, arg), folded
        word = _NODE_WORDS.get(type(node), f"'{type(node).__name__}' nodes")
        raise self.fail(node, f"{word} not allowed")

    def _fold(self, node: ast.AST, op: str, a: float, b: float) -> float:
        try:
            if op == "+":
                v = a + b
            elif op == "-":
                v = a - b
            elif op == "*":
                v = a * b
            elif op == "/":
                if b == 0:
                    raise self.fail(node, "division by zero")
                v = a / b
            else:
                if a == 0:
                    if b < 0:
                        raise self.fail(node, "zero to a negative power")
                    v = 0.0 if b > 0 else 1.0
                else:
                    if a < 0 and b != int(b):
                        raise self.fail(node, "negative number to a non-integer power")
                    if b * math.log10(abs(a)) > math.log10(MAX_CONSTANT):
                        raise self.fail(node, "constant too large")
                    v = a**b
        except ExpressionError:
            raise
        except (OverflowError, ZeroDivisionError, ValueError):
            raise self.fail(node, "constant overflows or is undefined") from None
        if not math.isfinite(v) or abs(v) > MAX_CONSTANT:
            raise self.fail(node, "constant too large")
        return v

    def _fold_call(self, node: ast.AST, func: str, c: float) -> float:
        fn = {
            "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "log": math.log,
            "sqrt": math.sqrt, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh, "abs": abs,
        }[func]
        try:
            v = float(fn(c))
        except (OverflowError, ValueError):
            raise self.fail(node, f"{func}() of this constant overflows or is undefined") from None
        if not math.isfinite(v) or abs(v) > MAX_CONSTANT:
            raise self.fail(node, "constant too large")
        return v


# ----------------------------------------------------------------------------------------------------------
# tree walks
# ----------------------------------------------------------------------------------------------------------
def apply_binary(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for the whitelisted operators ``+ - * / **`` (shared by evaluation and the SymPy builder)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a**b


def _evaluate(e: Expr, env: Mapping[str, Any], xp: Any) -> Any:
    if isinstance(e, Number):
        return e.value
    if isinstance(e, Symbol):
        try:
            v = env[e.name]
        except KeyError:
            raise ExpressionError(f"no value given for {e.name!r}") from None
        if xp.__name__ == "numpy" and isinstance(v, (int, float)):
            v = xp.float64(v)  # IEEE semantics (inf/nan, no ZeroDivisionError) for plain numbers
        return v
    if isinstance(e, Unary):
        v = _evaluate(e.operand, env, xp)
        return -v if e.op == "-" else v
    if isinstance(e, Binary):
        a, b = _evaluate(e.left, env, xp), _evaluate(e.right, env, xp)
        if e.op == "**" and isinstance(e.right, Number) and isinstance(e.right.value, int):
            return a ** e.right.value  # integer power: exact repeated multiplication in JAX/NumPy
        return apply_binary(e.op, a, b)
    if isinstance(e, Call):
        v = _evaluate(e.arg, env, xp)
        return getattr(xp, {"abs": "abs", "sign": "sign"}.get(e.func, e.func))(v)
    raise TypeError(f"unknown node {e!r}")


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


def _diff(e: Expr, x: str) -> Expr:
    if isinstance(e, Number):
        return Number(0)
    if isinstance(e, Symbol):
        return Number(1 if e.name == x else 0)
    if x not in e.names:
        return Number(0)
    if isinstance(e, Unary):
        d = _diff(e.operand, x)
        return _neg(d) if e.op == "-" else d
    if isinstance(e, Binary):
        u, v = e.left, e.right
        du, dv = _diff(u, x), _diff(v, x)
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
        du = _diff(u, x)
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


def _subs(e: Expr, values: Mapping[str, Expr]) -> Expr:
    if isinstance(e, Symbol):
        return values.get(e.name, e)
    if isinstance(e, Unary):
        return Unary(e.op, _subs(e.operand, values))
    if isinstance(e, Binary):
        return Binary(e.op, _subs(e.left, values), _subs(e.right, values))
    if isinstance(e, Call):
        return Call(e.func, _subs(e.arg, values))
    return e


_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "u": 3, "**": 4}


def _to_str(e: Expr, parent: int = 0) -> str:
    if isinstance(e, Number):
        s = repr(e.value)
        return f"({s})" if e.value < 0 and parent > 0 else s
    if isinstance(e, Symbol):
        return e.name
    if isinstance(e, Call):
        return f"{e.func}({_to_str(e.arg)})"
    if isinstance(e, Unary):
        s = e.op + _to_str(e.operand, _PREC["u"])
        return f"({s})" if parent >= _PREC["u"] else s
    if isinstance(e, Binary):
        p = _PREC[e.op]
        if e.op == "**":  # right associative
            s = f"{_to_str(e.left, p + 1)}**{_to_str(e.right, p)}"
        else:
            s = f"{_to_str(e.left, p)} {e.op} {_to_str(e.right, p + 1)}"
        return f"({s})" if parent > p else s
    raise TypeError(f"unknown node {e!r}")


# ----------------------------------------------------------------------------------------------------------
# a JAX-ready callable
# ----------------------------------------------------------------------------------------------------------
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

        return self._broadcast(_evaluate(self.expr, self._env(values), jnp), values, jnp)

    def numpy(self, *values: Any) -> Any:
        """Evaluate with NumPy (for SciPy reference solvers)."""
        import numpy as np

        return self._broadcast(_evaluate(self.expr, self._env(values), np), values, np)

    @staticmethod
    def _broadcast(out: Any, values: tuple[Any, ...], xp: Any) -> Any:
        """Constant expressions still return one value per element of the (first) argument."""
        if not values:
            return out
        return out + xp.zeros_like(xp.asarray(values[0], dtype=float))

    def diff(self, name: str) -> ExprFunction:
        """The exact derivative with respect to the variable ``name`` (tree differentiation)."""
        return ExprFunction(self.expr.diff(name), self.args, self.params)

    def __str__(self) -> str:
        return str(self.expr)
