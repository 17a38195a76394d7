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
