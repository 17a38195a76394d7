"""The safe expression parser: whitelist grammar, hostile input, limits, tree derivatives, JAX callables."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nnfield.duality import symbolic as S
from nnfield.duality.parse import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_LENGTH,
    Expr,
    ExpressionError,
    ExprFunction,
    parse_expression,
)
from nnfield.errors import NNFieldError

VARS = ("phi", "beta")

VALID = [
    "beta**2/2 + phi**4/4",
    "-phi + +beta",
    "lam*(phi**2 - v**2)**2/4",
    "omega**2*(1 - cos(phi))",
    "sin(phi)*cos(beta) + tan(phi/3) + exp(-phi**2) + log(1 + phi**2) + sqrt(2 + sin(beta))",
    "sinh(phi) - cosh(beta) + tanh(phi*beta) + abs(phi - beta)",
    "phi**-2 + 2**phi + phi**beta",
    "1e-3*phi + 2.5e2 - 7",
    "((phi))",
]

HOSTILE = {
    "__import__('os').system('true')": "__import__",
    "().__class__": "'_'",
    "(1).real": "attribute access",
    "phi.conjugate()": "attribute access",
    "x.y": "attribute access",
    "phi.real": "attribute access",
    "f(1)": "unknown function 'f'",
    "eval('1')": "unknown function 'eval'",
    "open('/etc/passwd')": "unknown function 'open'",
    "sin(phi, 2)": "exactly one argument",
    "sin(x=phi)": "keyword arguments",
    "sin(*phi)": "one argument",
    "exp": "must be called",
    "lambda x: x": "lambda",
    "phi if beta else 1": "conditional",
    "phi < beta": "comparisons",
    "phi and beta": "boolean",
    "not phi": "'not'",
    "~phi": "'~'",
    "phi[0]": "subscripts",
    "[phi]": "lists",
    "(phi, beta)": "tuples",
    "{phi}": "sets",
    "{1: phi}": "dicts",
    "[x for x in phi]": "comprehensions",
    "'phi'": "strings",
    "b'x'": "strings",
    "f'{phi}'": "f-strings",
    "(x := 1)": "assignment",
    "phi ^ 2": "'^'",
    "phi % 2": "'%'",
    "phi // 2": "'//'",
    "phi @ beta": "'@'",
    "phi << 1": "'<<'",
    "phi & 1": "'&'",
    "True": "True",
    "None": "None",
    "...": "Ellipsis",
    "1j": "1j",
    "_phi": "'_'",
    "__builtins__": "'_'",
    "x": "undeclared",
    "I*phi": "imaginary unit",
    "phi + oo": "infinities",
    "(-1)**phi": "negative number to a variable power",
    "pi(phi)": "unknown function",
    "import os": "not a valid expression",
    "phi = 1": "not a valid expression",
    "phi; beta": "not a valid expression",
    "yield phi": "not a valid expression",
    "await phi": "await",
    "": "empty",
    "   ": "empty",
    "phi\x00": "NUL",
}


@pytest.mark.parametrize("text", VALID)
def test_valid_expressions_parse_and_round_trip(text):
    params = ("lam", "v", "omega")
    e = parse_expression(text, VARS, params)
    assert isinstance(e, Expr)
    again = parse_expression(str(e), VARS, params)  # printing is re-parseable and means the same
    rng = np.random.default_rng(0)
    env = {n: rng.uniform(0.5, 1.5, size=8) for n in VARS + params}
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(again.evaluate(env), e.evaluate(env), rtol=1e-14)


def test_evaluation_matches_python_math():
    e = parse_expression("sin(phi)*exp(beta/2) - sqrt(phi)**3 / (1 + beta**2) + abs(-phi)", VARS)
    for phi, beta in [(0.3, -1.2), (2.0, 0.5), (1.1, 3.0)]:
        ref = math.sin(phi) * math.exp(beta / 2) - math.sqrt(phi) ** 3 / (1 + beta**2) + abs(-phi)
        assert e.evaluate({"phi": phi, "beta": beta}) == pytest.approx(ref, rel=1e-15)


@pytest.mark.parametrize("text,needle", list(HOSTILE.items()))
def test_hostile_input_is_rejected_with_a_named_error(text, needle):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, VARS)
    assert isinstance(info.value, NNFieldError) and isinstance(info.value, ValueError)
    assert needle.lower() in str(info.value).lower(), str(info.value)


def test_offending_part_is_named():
    with pytest.raises(ExpressionError, match=r"'x\.y'"):
        parse_expression("phi + 2*x.y", VARS)
    with pytest.raises(ExpressionError, match="'f\\(1\\)'"):
        parse_expression("phi + f(1)", VARS)


@pytest.mark.parametrize(
    "text,needle",
    [
        ("9**9**9", "exponent too large"),
        (f"phi**{MAX_EXPONENT + 1}", "exponent too large"),
        ("(2**100)**100", "too large"),
        ("10**200 * 10**200", "too large"),
        ("exp(1000)", "overflows"),
        ("1/0", "division by zero"),
        ("0**-1", "zero to a negative power"),
        ("(-8)**(1/3)", "negative number"),
        ("log(0)", "undefined"),
        ("sqrt(-1)", "undefined"),
        ("1e400", "too large"),
        ("1" * 400, "too large"),
        ("-" * (MAX_DEPTH + 5) + "phi", "nested too deeply"),
        ("sin(" * 70 + "phi" + ")" * 70, "nested too deeply"),
        ("(" * 300 + "phi" + ")" * 300, "not a valid expression"),
        ("phi+" * (MAX_LENGTH // 4 + 1) + "1", "too long"),
    ],
)
def test_limits(text, needle):
    with pytest.raises(ExpressionError, match=needle):
        parse_expression(text, VARS)


def test_node_limit():
    group = "(" + "+".join(["x"] * 15) + ")"
    text = "+".join([group] * 30)  # < MAX_LENGTH characters, depth < MAX_DEPTH, ~900 nodes
    assert len(text) <= MAX_LENGTH
    with pytest.raises(ExpressionError, match="too large"):
        parse_expression(text, ("x",))


def test_declared_names_are_checked():
    with pytest.raises(ExpressionError, match="clashes"):
        parse_expression("sin", ("sin",))
    with pytest.raises(ExpressionError, match="identifier"):
        parse_expression("x", ("_x",))
    with pytest.raises(ExpressionError, match="expression string"):
        parse_expression(1.0, VARS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "phi**4/4 - phi**2/2",
        "sin(phi)*cos(2*phi) + tan(phi)",
        "exp(-phi**2)*log(1 + phi**2)",
        "sqrt(1 + phi**2) + sinh(phi)/cosh(phi) - tanh(phi)",
        "phi**phi + 2**phi + phi**-3",
        "abs(phi - 0.3)*phi",
        "(1 - cos(phi))/(2 + sin(phi))",
    ],
)
def test_tree_derivative_matches_sympy(text):
    e = parse_expression(text, ("phi",))
    d_tree = e.diff("phi")
    d_sym = sp.diff(S.to_sympy(e, {"phi": S.PHI}), S.PHI)
    f = sp.lambdify([S.PHI], d_sym, "numpy")
    x = np.linspace(0.4, 1.7, 9)
    np.testing.assert_allclose(d_tree.evaluate({"phi": x}), f(x), rtol=1e-13, atol=1e-13)


def test_to_sympy_keeps_integers_exact():
    e = S.to_sympy(parse_expression("phi**4/4 + 1/3", ("phi",)), {"phi": S.PHI})
    assert e == S.PHI**4 / 4 + sp.Rational(1, 3)


def test_expr_function_in_jax_and_numpy():
    f = ExprFunction.from_string("lam*phi**4/4 + cos(phi)", ("phi",), {"lam": 2.0})
    x = jnp.linspace(-1.0, 1.0, 7)
    np.testing.assert_allclose(np.asarray(jax.jit(f)(x)), f.numpy(np.asarray(x)), rtol=1e-15)
    g = jax.vmap(jax.grad(lambda y: f(y)))(x)
    np.testing.assert_allclose(np.asarray(g), f.diff("phi").numpy(np.asarray(x)), rtol=1e-14, atol=1e-15)
    c = ExprFunction.from_string("2*lam", ("phi",), {"lam": 2.0})
    assert np.asarray(c(jnp.zeros(3))).shape == (3,)
    assert hash(f) == hash(ExprFunction.from_string("lam*phi**4/4 + cos(phi)", ("phi",), {"lam": 2.0}))
    with pytest.raises(ExpressionError, match="finite"):
        ExprFunction.from_string("lam*phi", ("phi",), {"lam": float("inf")})


def test_lambdify_jax_mapping():
    e = S.parse_sympy("sin(phi)*abs(beta) + sqrt(1 + phi**2)")
    f = S.lambdify_jax(e, [S.PHI, S.BETA])
    val = jax.jit(f)(0.7, -1.3)
    assert float(val) == pytest.approx(math.sin(0.7) * 1.3 + math.sqrt(1 + 0.49), rel=1e-15)
    d = jax.grad(f)(0.7, -1.3)
    assert float(d) == pytest.approx(math.cos(0.7) * 1.3 + 0.7 / math.sqrt(1.49), rel=1e-14)


def _outcome(text: str) -> None:
    """Anything but a clean ExpressionError or a valid, usable expression fails the property tests."""
    try:
        e = parse_expression(text, VARS, ("lam",))
    except ExpressionError as exc:
        assert str(exc)
        return
    assert isinstance(e, Expr)
    assert e.names <= {"phi", "beta", "lam"}
    try:  # conversion may still refuse cleanly: e.g. log(phi - phi) is log(0) once SymPy cancels
        S.to_sympy(e)
    except ExpressionError as exc:
        assert str(exc)
        return
    with np.errstate(all="ignore"):
        e.evaluate({"phi": 0.7, "beta": -0.4, "lam": 1.3})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_random_text_never_escapes(text):
    _outcome(text)


_TOKENS = st.sampled_from(
    ["phi", "beta", "lam", "x", "_", "__class__", "1", "2.5", "1e308", "9", "0", "+", "-", "*", "/", "**", "(",
     ")", ",", ".", "[", "]", "'", "lambda", ":", "=", "<", "^", "%", "if", "else", "import", " ",
     *[f + "(" for f in FUNCTIONS], "open(", "eval(", "__import__("]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=40).map("".join))
def test_random_token_soup_never_escapes(text):
    _outcome(text)


_LEAF = st.sampled_from(["phi", "beta", "lam", "2", "0.5", "3"])


def _expr_strategy() -> st.SearchStrategy[str]:
    return st.recursive(
        _LEAF,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(
                lambda t: f"({t[0]}){t[1]}({t[2]})"
            ),
            st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda s: f"-({s})"),
        ),
        max_leaves=12,
    )


@settings(max_examples=200, deadline=None)
@given(_expr_strategy())
@example("(2)**(-(abs(2)))")  # found by this test: an integer to a negative integer power raised in NumPy and JAX
def test_grammar_generated_expressions(text):
    _outcome(text)


@pytest.mark.parametrize("text, value", [("(2)**(-(abs(2)))", 0.25), ("(abs(3))**(-(2))", 1 / 9),
                                         ("(2)**(-(abs(phi)))", 2 ** -0.7), ("(3)**(2)", 9.0)])
def test_integer_operands_evaluate_as_floats_in_numpy_and_jax(text, value):
    """Integer literals are float operands: ``abs(2)`` is not an integer array that NumPy or JAX refuses to raise
    to a negative power. The result is the float64 value, to round-off (a few operations)."""
    e = parse_expression(text, VARS, ("lam",))
    for xp in (np, jnp):
        assert float(e.evaluate({"phi": 0.7, "beta": -0.4, "lam": 1.3}, xp)) == pytest.approx(value, rel=1e-15)


def test_parameter_values_are_checked_like_constants():
    with pytest.raises(ExpressionError, match="division by zero"):
        ExprFunction.from_string("phi/(m - 1)", ("phi",), {"m": 1.0})
    with pytest.raises(ExpressionError, match="too large"):
        ExprFunction.from_string("m**100*phi", ("phi",), {"m": 1e10})
    f = ExprFunction.from_string("phi/(m - 1)", ("phi",), {"m": -2.5})
    assert float(f.numpy(3.0)) == pytest.approx(3.0 / -3.5)


def test_constants_sign_and_sympy_spelling_of_abs():
    """``pi``, ``E`` (exact in SymPy, float64 numerically), ``sign`` and SymPy's ``Abs`` are part of the language,
    so that SymPy's printed output reads back; a parameter may not take a constant's name."""
    import sympy as sp

    from nnfield.duality.symbolic import parse_sympy

    e = parse_expression("1 - cos(2*pi*phi) + E**beta + Abs(phi) + sign(phi)", VARS)
    assert str(e) == "1 - cos(2 * pi * phi) + E**beta + abs(phi) + sign(phi)"
    phi, beta = 0.3, -0.7
    ref = 1 - math.cos(2 * math.pi * phi) + math.e**beta + abs(phi) + 1.0
    assert e.evaluate({"phi": phi, "beta": beta}) == pytest.approx(ref, rel=1e-15)
    assert float(e.diff("phi").evaluate({"phi": phi, "beta": beta})) == pytest.approx(
        2 * math.pi * math.sin(2 * math.pi * phi) + 1.0, rel=1e-14)
    P, B = sp.Symbol("phi", real=True), sp.Symbol("beta", real=True)
    assert parse_sympy("1 - cos(2*pi*phi) + E**beta + Abs(phi)") == 1 - sp.cos(2 * sp.pi * P) + sp.exp(B) + sp.Abs(P)
    assert parse_expression("sign(-2)*phi", VARS).evaluate({"phi": 2.0, "beta": 0.0}) == -2.0
    for name in ("pi", "E"):
        with pytest.raises(ExpressionError, match=f"clashes with the constant {name}"):
            parse_expression("phi", VARS, (name,))
    with pytest.raises(ExpressionError, match="clashes with the function Abs"):
        parse_expression("phi", VARS, ("Abs",))
