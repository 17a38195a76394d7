"""Arguments of the public symbolic functions: text goes through the safe parser (never ``sympify``), SymPy input
may contain only the variables and parameters of the paper's (2.7)-(2.9), and ``F`` is a function of ``w``."""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from nnfield.duality import command
from nnfield.duality import symbolic as S
from nnfield.duality.parse import ExpressionError
from nnfield.errors import NNFieldError

PHI, BETA, W = S.PHI, S.BETA, S.W_ARG
HAMILTONIANS = ["beta**2/2 + phi**4/4", "beta**2/2 + phi**2", "beta**2/2 + 1 - cos(phi)"]


def _same(a: S.NeuronDuality, b: S.NeuronDuality) -> None:
    assert a.loss == b.loss and a.hamiltonian == b.hamiltonian and a.potential == b.potential and a.F == b.F


def _values(expr: sp.Expr) -> np.ndarray:
    """``expr`` at fixed points in float64 (through the JAX conversion)."""
    f = S.lambdify_jax(expr, (PHI, BETA))
    phi = jnp.linspace(-1.5, 1.5, 7, dtype=jnp.float64)
    out = jnp.broadcast_to(jnp.asarray(f(phi, 0.3 - phi), dtype=jnp.float64), phi.shape)
    assert out.dtype == jnp.float64
    return np.asarray(out)


# -- text and SymPy give the same duality --------------------------------------------------------------------
@pytest.mark.parametrize("ham", HAMILTONIANS)
def test_text_gives_the_same_duality_as_sympy(ham):
    by_text = S.loss_from_hamiltonian(ham, "w**2 + sin(w)")
    by_sympy = S.loss_from_hamiltonian(S.parse_sympy(ham), W**2 + sp.sin(W))
    _same(by_text, by_sympy)
    assert by_text.hamiltonian.free_symbols <= {PHI, BETA}  # the names are the module's symbols
    assert by_text.residual() == 0.0
    np.testing.assert_array_equal(_values(by_text.loss), _values(by_sympy.loss))
    np.testing.assert_array_equal(_values(by_text.learning_rhs()), _values(by_sympy.learning_rhs()))


def test_quartic_text_has_the_expected_dual():
    d = S.loss_from_hamiltonian("beta**2/2 + phi**4/4")
    assert d.potential == PHI**4 / 4 and d.hamiltonian == BETA**2 / 2 + PHI**4 / 4
    assert d.learning_rhs() == -PHI**3 and d.F is None


def test_loss_text_gives_the_same_hamiltonian_as_sympy():
    text = "phi**4/4 + (phi - beta)**2 + exp(phi - beta)"
    _same(S.hamiltonian_from_loss(text), S.hamiltonian_from_loss(S.parse_sympy(text)))


def test_text_with_declared_parameters():
    by_text = S.loss_from_hamiltonian("beta**2/2 + lam*phi**4/4", "c*w**2", parameters=("lam", "c"))
    lam, c = sp.symbols("lam c", real=True)
    _same(by_text, S.loss_from_hamiltonian(BETA**2 / 2 + lam * PHI**4 / 4, c * W**2, parameters=(lam, c)))
    assert by_text.potential == lam * PHI**4 / 4
    back = S.hamiltonian_from_loss("lam*phi**4/4 + c*(phi - beta)**2", parameters=["lam", "c"])
    assert back.potential == lam * PHI**4 / 4 and back.F == c * W**2


def test_numbers_are_accepted_where_expressions_are():
    d = S.loss_from_hamiltonian(BETA**2 / 2 + PHI**2, F=3)  # a constant F (the paper: "may include a constant")
    assert d.loss == PHI**2 + 3 and d.F == 3 and d.residual() == 0.0
    assert S.loss_from_hamiltonian(BETA**2 / 2 + PHI**2, F=0).loss == PHI**2
    assert S.measure(0) == 0.0 and S.measure(np.float64(0.5)) == 0.5


# -- text is never evaluated --------------------------------------------------------------------------------
def _malicious(path) -> str:
    return f"open({str(path)!r}, 'w').write('x') + beta**2/2"


@pytest.mark.parametrize(
    "call",
    [
        lambda text: S.loss_from_hamiltonian(text),
        lambda text: S.hamiltonian_from_loss(text),
        lambda text: S.loss_from_hamiltonian("beta**2/2", F=text),
    ],
)
def test_malicious_text_is_refused_by_the_safe_parser(tmp_path, call):
    target = tmp_path / "pwned"
    with pytest.raises(ExpressionError, match="not allowed") as info:
        call(_malicious(target))
    assert isinstance(info.value, NNFieldError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)
    assert not target.exists()


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda text: S.measure(text), "expr"),
        (lambda text: S.measure(PHI, text), "scale"),
        (lambda text: S.is_zero(text), "expr"),
        (lambda text: S.total_gradient(text), "loss"),
        (lambda text: S.hessian(text, S.neuron_symbols(1)[0]), "V"),
        (lambda text: S.hamilton_flow(text, [PHI], [BETA]), "hamiltonian"),
        (lambda text: S.quadratic_matrix(text, [PHI, BETA]), "expr"),
        (lambda text: S.n_neuron_hamiltonian(sp.eye(1), PHI**2, [PHI], [text]), "betas"),
        (lambda text: S.linear_hamiltonian(sp.eye(1), sp.eye(1), [text], [BETA]), "phis"),
        (lambda text: S.NeuronDuality(loss=text, hamiltonian=BETA**2 / 2, potential=0), "loss"),
    ],
)
def test_text_where_it_makes_no_sense_is_a_type_error(tmp_path, call, argument):
    target = tmp_path / "pwned"
    with pytest.raises(TypeError, match=f"^{argument}: expected") as info:
        call(_malicious(target))
    assert "string" in str(info.value)
    assert not target.exists()


def test_other_objects_are_type_errors():
    with pytest.raises(TypeError, match="expected a SymPy expression or a number, got object"):
        S.measure(object())
    with pytest.raises(TypeError, match="got bool"):
        S.loss_from_hamiltonian(True)
    with pytest.raises(TypeError, match="W: expected a SymPy matrix"):
        S.hamiltonian_learning_matrices([[1, 0], [0, 1]], sp.eye(2))
    with pytest.raises(TypeError, match="parameters: expected a sequence of names"):
        S.loss_from_hamiltonian("beta**2/2", parameters="lam")


# -- foreign symbols ----------------------------------------------------------------------------------------
def test_foreign_symbol_in_a_hamiltonian_is_refused():
    x = sp.Symbol("x")
    with pytest.raises(ExpressionError) as info:
        S.loss_from_hamiltonian(x**2 + BETA**2 / 2)
    msg = str(info.value)
    assert msg.startswith("hamiltonian:") and "unexpected symbol x" in msg
    assert "phi (symbolic.PHI)" in msg and "beta (symbolic.BETA)" in msg
    with pytest.raises(ExpressionError, match=r"undeclared name \(allowed names: beta, phi.*'x'"):
        S.loss_from_hamiltonian("x**2 + beta**2/2")
    # with declared parameters, only those are allowed (even a real symbol)
    xr, lam = sp.symbols("x lam", real=True)
    with pytest.raises(ExpressionError, match="unexpected symbol x; .*the parameters lam"):
        S.loss_from_hamiltonian(lam * xr**2 + BETA**2 / 2, parameters=["lam"])
    assert S.loss_from_hamiltonian(xr**2 + BETA**2 / 2, parameters=["x"]).potential == xr**2


def test_foreign_symbols_in_a_loss_are_refused():
    x, y = sp.symbols("x y")
    with pytest.raises(ExpressionError, match=r"^loss: the loss H\(phi, beta\) contains the unexpected symbols x, y"):
        S.hamiltonian_from_loss(x * PHI**2 + y)


def test_variables_with_other_assumptions_or_in_the_wrong_place_are_refused():
    phi, beta = sp.symbols("phi beta")  # not real: not the module's PHI, BETA
    with pytest.raises(ExpressionError, match=r"beta \(not symbolic\.BETA.*phi \(not symbolic\.PHI"):
        S.loss_from_hamiltonian(beta**2 / 2 + phi**2)
    with pytest.raises(ExpressionError, match="unexpected symbol w;"):
        S.loss_from_hamiltonian(BETA**2 / 2 + W**2)
    with pytest.raises(ExpressionError, match="'phi' is a variable, not a parameter"):
        S.loss_from_hamiltonian(BETA**2 / 2, parameters=["phi"])


def test_parameters_built_by_parse_sympy_are_accepted_without_declaring_them():
    loss = S.parse_sympy("lam*phi**4/4 + exp(phi - beta) + c", ("phi", "beta"), ("lam", "c"))
    d = S.hamiltonian_from_loss(loss)
    assert d.potential == sp.Symbol("lam", real=True) * PHI**4 / 4


# -- F is a function of w = phi - beta only -----------------------------------------------------------------
@pytest.mark.parametrize("F", [BETA, PHI, PHI * W, "beta", "phi + w"])
def test_F_that_is_not_a_function_of_w_is_refused(F):
    with pytest.raises(ExpressionError) as info:
        S.loss_from_hamiltonian(BETA**2 / 2 + PHI**2, F=F)
    msg = str(info.value)
    assert msg.startswith("F:") and ("phi" in msg or "beta" in msg)
    assert "w" in msg  # the allowed variable is named


def test_F_of_w_gives_a_dual_loss():
    d = S.loss_from_hamiltonian(BETA**2 / 2 + PHI**2, F=W**3)
    assert d.loss == PHI**2 + (PHI - BETA) ** 3 and d.residual() == 0.0
    assert S.measure(S.total_gradient(d.loss) - sp.diff(d.potential, PHI)) == 0.0  # (2.8)


# -- the command line keeps its parameters ------------------------------------------------------------------
def test_cli_parameters_still_reach_the_duality(capsys):
    parser = argparse.ArgumentParser(prog="nnfield dual")
    command.add_arguments(parser)
    args = ["--hamiltonian", "beta**2/2 + lam*phi**2", "--F", "c*w**2", "--param", "lam", "--param", "c"]
    rc = command.run(parser.parse_args(args))
    out, err = capsys.readouterr()
    assert rc == 0 and not err and "measured residual 0.0e+00" in out
