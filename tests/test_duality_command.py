"""``nnfield dual``: Hamiltonian <-> loss from the command line; errors are one line and exit status 2."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnfield.duality import command
from nnfield.duality.parse import FUNCTIONS
from nnfield.errors import NNFieldError


def _run(argv, capsys):
    parser = argparse.ArgumentParser(prog="nnfield dual")
    command.add_arguments(parser)
    rc = command.run(parser.parse_args(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_hamiltonian_to_loss(capsys):
    rc, out, err = _run(["--hamiltonian", "beta**2/2 + phi**4/4"], capsys)
    assert rc == 0 and not err
    assert "loss (2.9)" in out and "Hamilton's equations (2.6)" in out
    assert "measured residual 0.0e+00" in out


def test_loss_to_hamiltonian_latex_with_parameters(capsys):
    rc, out, _ = _run(["--loss", "lam*phi**4/4 + sin(phi - beta)", "--param", "lam", "--latex"], capsys)
    assert rc == 0
    assert r"\mathcal{H}(\phi, \beta) = \frac{\beta^{2}}{2} + \frac{lam \phi^{4}}{4}" in out
    assert r"F(w) = \sin{\left(w \right)}" in out
    rc, out, _ = _run(["--loss", "lam*phi**4/4", "--param", "lam=2", "--latex"], capsys)
    assert rc == 0 and r"\frac{d\beta}{dt} = - 2.0 \phi^{3}" in out


def test_a_parameter_declared_twice_is_refused(capsys):
    rc, out, err = _run(["--loss", "lam*phi**4/4", "--param", "lam=1", "--param", "lam=2"], capsys)
    assert rc == 2 and not out and "'lam' is declared twice" in err  # (the last value was used silently)


def test_hamiltonian_with_F(capsys):
    rc, out, _ = _run(["--hamiltonian", "beta**2/2 + 1 - cos(phi)", "--F", "w**2", "--latex"], capsys)
    assert rc == 0 and r"\left(- \beta + \phi\right)^{2}" in out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--hamiltonian", "__import__('os').system('true')"], "'_'"),
        (["--hamiltonian", "().__class__"], "'_'"),
        (["--loss", "x.y"], "attribute access"),
        (["--loss", "f(1)"], "unknown function"),
        (["--hamiltonian", "beta**3 + phi**2"], "(2.7)"),
        (["--loss", "phi**2*beta"], "(2.8)"),
        (["--loss", "phi + m"], "undeclared"),
        (["--loss", "phi", "--param", "m=abc"], "not a number"),
        (["--loss", "phi", "--param", "=1"], "NAME"),
        (["--loss", "phi", "--F", "w"], "--F goes with --hamiltonian"),
        (["--hamiltonian", "beta**2/2", "--F", "phi"], "undeclared"),
        (["--hamiltonian", "9**9**9"], "exponent too large"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, needle, capsys):
    rc, out, err = _run(argv, capsys)
    assert rc == 2 and not out
    assert err.count("\n") == 1 and err.startswith("nnfield dual: error: ")
    assert needle in err


def test_standalone_main(capsys):
    assert command.main(["--hamiltonian", "beta**2/2 + phi**2/2"]) == 0
    assert "V(phi)" in capsys.readouterr().out


_LEAF = st.sampled_from(["phi", "beta", "2", "0.5", "(phi - beta)"])
_EXPR = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
    ),
    max_leaves=6,
)


@settings(max_examples=40, deadline=None)
@given(_EXPR, st.booleans())
def test_random_expressions_give_a_report_or_a_clean_error(text, as_loss):
    parser = argparse.ArgumentParser(prog="nnfield dual")
    command.add_arguments(parser)
    args = parser.parse_args(["--loss" if as_loss else "--hamiltonian", text])
    with np.errstate(all="ignore"):
        try:
            out = command.compute(args)
        except NNFieldError as exc:
            assert str(exc)
            return
    assert "measured residual" in out


def test_small_terms_that_break_the_form_are_not_measured_as_zero(capsys):
    """The form conditions (2.7), (2.8) are measured relative to the expression, not against 1: a beta term of
    1e-11 in a potential of 1e-11 is not zero (it was dropped, and the report said the conditions held)."""
    rc, _, err = _run(["--hamiltonian", "beta**2/2 + 1e-11*phi**2 + 1e-11*beta*phi"], capsys)
    assert rc == 2 and "(2.7) violated" in err
    rc, _, err = _run(["--loss", "1e-11*phi**2*beta + 1e-11*phi**2"], capsys)
    assert rc == 2 and "(2.8) violated" in err
    rc, out, _ = _run(["--hamiltonian", "beta**2/2 + 1e-11*phi**2"], capsys)  # a small but valid potential
    assert rc == 0 and "measured residual 0.0e+00" in out


def _args(argv):
    parser = argparse.ArgumentParser(prog="nnfield dual")
    command.add_arguments(parser)
    return parser.parse_args(argv)


def _strings(obj):
    """Every expression string of a ``--json`` object: ``(field, text)``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("expr", "rhs") and isinstance(v, str):
                yield k, v
            elif k != "input":
                yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


@pytest.mark.parametrize(
    "argv",
    [
        ["--hamiltonian", "beta**2/2 + abs(phi)"],
        ["--hamiltonian", "beta**2/2 + 1 - cos(2*pi*phi)", "--F", "Abs(w)"],
        ["--hamiltonian", "beta**2/2 + exp(1)*phi**2 + E*phi"],
        ["--loss", "0.123456789012345678*phi**4 + sin(phi - beta)"],
        ["--loss", "lam*phi**4/4 + abs(phi - beta)", "--param", "lam", "--param", "m=0.1"],
        ["--loss", "log(-phi)"],
        ["--loss", "0.25/tan(phi)"],
    ],
)
def test_json_expressions_read_back_through_the_parser(argv):
    """Every ``expr``/``rhs`` of ``--json`` parses back (safe parser) to the expression it prints: ``Abs``, ``pi``,
    ``E`` and floats with 17 digits used to fail (SymPy's spelling; 15 digits), and ``log(-phi)`` put ``I*pi`` into V
    and F (a complex reference point)."""
    import sympy as sp

    from nnfield.duality.parse import parse_expression
    from nnfield.duality.symbolic.convert import BETA, DT, PHI, W_ARG, to_sympy

    args = _args([*argv, "--json"])
    out = command.compute_json(args)
    dual = command._dual(args)[0]
    names = tuple(a for a in args.param if "=" not in a)
    table = {"phi": PHI, "beta": BETA, "w": W_ARG, "dt": DT}
    back = {}
    for field, text in _strings(out):
        assert "I" not in text.replace("I(", "")
        tree = parse_expression(text, ("phi", "beta", "w", "dt"), names)
        back.setdefault(field, []).append(to_sympy(tree, table))
    originals = [dual.hamiltonian, dual.potential, dual.loss] + ([] if dual.F is None else [dual.F])
    for a, b in zip(back["expr"], originals, strict=True):
        assert sp.simplify(a - b) == 0, (a, b)
    assert not dual.potential.has(sp.I)
    assert all(c["holds"] for c in out["conditions"])
    params = [x for p in args.param for x in ("--param", p)]
    again = command.compute_json(_args(["--loss", out["loss"]["expr"], *params, "--json"]))  # --loss reads it
    assert sp.simplify(to_sympy(parse_expression(again["hamiltonian"]["expr"], ("phi", "beta"), names), table)
                       - dual.hamiltonian) == 0


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--hamiltonian", "beta**2/2 + sign(phi)"], "DiracDelta"),
        (["--hamiltonian", "beta**2/2 + abs(sqrt(phi))"], "atan2"),
    ],
)
def test_json_refuses_what_the_language_cannot_write(argv, needle, capsys):
    """A result the expression language cannot write (the delta of sign's jump, SymPy's complex-argument forms) is
    one line naming it under ``--json``, not a string that does not read back; the text output shows it."""
    rc, out, err = _run([*argv, "--json"], capsys)
    assert rc == 2 and not out and err.count("\n") == 1 and needle in err and "--json" in err
    rc, out, _ = _run(argv, capsys)
    assert rc == 0 and "measured residual" in out


def test_loss_with_F_singular_at_zero_has_its_dual(capsys):
    """``log(phi) + log(phi - beta)`` is (2.9) with V = log(phi), F = log(w); it was refused because the split
    evaluated the loss at phi = beta, where F(0) is singular. The dual is checked against Hamilton's equations
    symbolically and by central differences of the loss and the Hamiltonian."""
    import sympy as sp

    from nnfield.duality.symbolic import BETA, PHI, W_ARG, hamiltonian_from_loss, parse_sympy

    rc, out, err = _run(["--loss", "log(phi) + log(phi - beta)"], capsys)
    assert rc == 0 and not err and "measured residual 0.0e+00" in out
    loss = parse_sympy("log(phi) + log(phi - beta)")
    dual = hamiltonian_from_loss(loss)
    assert sp.simplify(dual.potential - sp.log(PHI)) == 0 and sp.simplify(dual.F - sp.log(W_ARG)) == 0
    ham = dual.hamiltonian
    assert sp.simplify(sp.diff(ham, BETA) - BETA) == 0  # dphi/dt = beta = dHam/dbeta
    assert sp.simplify(-(sp.diff(loss, BETA) + sp.diff(loss, PHI)) + sp.diff(ham, PHI)) == 0  # (2.5) = (2.6)
    H = sp.lambdify((PHI, BETA), loss)
    Ham = sp.lambdify((PHI, BETA), ham)
    h = 1e-5
    for phi, beta in [(2.0, 0.5), (1.3, -0.7), (0.4, 0.1)]:
        learning = -(H(phi + h, beta + h) - H(phi - h, beta - h)) / (2 * h)  # total gradient, dphi/dbeta = 1
        hamilton = -(Ham(phi + h, beta) - Ham(phi - h, beta)) / (2 * h)
        assert learning == pytest.approx(hamilton, rel=1e-8)


def test_a_loss_singular_at_every_reference_point_is_refused_with_the_reason(capsys):
    rc, out, err = _run(["--loss", "1/sin(42*pi*phi)"], capsys)
    assert rc == 2 and not out and err.count("\n") == 1
    assert "singular at every reference point tried" in err and "phi - beta in" in err
