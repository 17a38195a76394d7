"""Regression tests for the duality hunt (session 27): silent acceptances and a float32 false refusal."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield.duality import HamiltonianFormError, IntegrabilityError, LossFormError
from nnfield.duality import linear as L
from nnfield.duality import symbolic as S
from nnfield.duality.command import main
from nnfield.duality.neurons import NeuronsDuality


# -- one neuron: a small beta term next to a large potential --------------------------------------------------
def test_small_beta_term_next_to_large_potential_is_refused() -> None:
    # Ham - beta^2/2 = 1e6 phi^2 + 1e-5 beta depends on beta (dphi/dt = beta + 1e-5): not (2.7); it was accepted
    # and the beta term silently dropped (measured relative to the whole potential, 5e-12 < 1e-10)
    with pytest.raises(HamiltonianFormError):
        S.loss_from_hamiltonian("beta**2/2 + 1e6*phi**2 + 1e-5*beta")


def test_small_mixed_term_in_loss_is_refused() -> None:
    # dH/dbeta + dH/dphi = 2e6 phi + 1e-5 (phi + beta) depends on beta: no dual Hamiltonian (it was accepted)
    with pytest.raises(LossFormError):
        S.hamiltonian_from_loss("1e6*phi**2 + 1e-5*beta*phi")


def test_terms_that_cancel_are_still_accepted() -> None:
    d = S.hamiltonian_from_loss("phi**2 - 2*phi*beta + beta**2 + 1e8*phi**4 + 0.3*(phi - beta)**3")
    assert d.residual() <= 1e-10
    d = S.loss_from_hamiltonian("beta**2/2 + tanh(beta) - sinh(beta)/cosh(beta) + phi**2")
    assert d.residual() <= 1e-10


def test_cli_refuses_small_beta_term(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--hamiltonian", "beta**2/2 + 1e6*phi**2 + 1e-5*beta"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(2.7)" in err


# -- symbolic parameters are real: negative values count -------------------------------------------------------
def test_symbolic_parameter_negative_values_count() -> None:
    # (a - |a|) beta vanishes only for a >= 0; a declared (real) parameter was sampled in [0.5, 1.5] only
    with pytest.raises(HamiltonianFormError):
        S.loss_from_hamiltonian("beta**2/2 + (a - abs(a))*beta + phi**2", parameters=["a"])


def test_symbolic_parameter_valid_for_all_signs_still_accepted() -> None:
    d = S.hamiltonian_from_loss("lam*phi**4/4 + sqrt(lam**2)*sin(phi - beta)", parameters=["lam"])
    assert d.residual() <= 1e-10


# -- N neurons without x64: float32 Hessians ---------------------------------------------------------------
def _separable_duality() -> NeuronsDuality:
    # W and B share the eigenbasis (0.6, 0.8), (-0.8, 0.6); V is separable in it: every condition holds exactly
    e1, e2 = np.array([0.6, 0.8]), np.array([-0.8, 0.6])
    W = 1.0 * np.outer(e1, e1) + 0.7 * np.outer(e2, e2)
    B = 1.3 * np.outer(e1, e1) + 0.6 * np.outer(e2, e2)

    def V(p: jax.Array) -> jax.Array:
        u, v = 0.6 * p[0] + 0.8 * p[1], -0.8 * p[0] + 0.6 * p[1]
        return jnp.cosh(u) + v**4 / 4 + jnp.sin(v)

    return NeuronsDuality(W, B, V)


def test_integrability_check_float32_accepts_a_valid_duality() -> None:
    d = _separable_duality()
    with jax.enable_x64(False):
        out = d.check()  # raised IntegrabilityError (measured 1.8e-8: float32 rounding of the Hessians)
    assert out["[B B^T, Hess V]"] < 1e-5


def test_integrability_check_float32_still_refuses_a_path_dependent_potential() -> None:
    d = NeuronsDuality(np.eye(2), np.array([[1.0, 1.0], [0.0, 1.0]]), lambda p: jnp.sum(p**4))
    with jax.enable_x64(False), pytest.raises(IntegrabilityError):
        d.check()


# -- the linear duality: invalid matrices ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_from_hamiltonian_refuses_non_finite(bad: float) -> None:
    M = np.eye(4)
    M[1, 2] = M[2, 1] = bad
    with pytest.raises(ValueError, match="finite"):  # NaN gave a LinearSystem of NaNs
        L.from_hamiltonian(M)


def test_hamiltonian_system_and_loss_refuse_non_finite_and_mismatched() -> None:
    W = np.eye(2)
    W[0, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        L.hamiltonian_system(W, np.eye(2))
    with pytest.raises(ValueError, match="finite"):
        L.linear_loss(W, np.eye(2))
    with pytest.raises(ValueError, match="same shape"):  # was NumPy's matmul message
        L.hamiltonian_system(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="same shape"):
        L.linear_loss(np.eye(2), np.eye(3))


def test_bias_factor_refuses_non_positive_definite() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="positive definite"):  # "sqrt" returned NaNs with a RuntimeWarning
            L.bias_factor(-np.eye(2), "sqrt")
    with pytest.raises(ValueError, match="positive definite"):
        L.bias_factor(np.diag([1.0, -1.0]), "cholesky")
    with pytest.raises(ValueError, match="shape of P"):
        L.bias_factor(np.eye(2), np.eye(3))
    B = L.bias_factor(np.array([[2.0, 0.5], [0.5, 1.0]]), "sqrt")
    np.testing.assert_allclose(B @ B.T, [[2.0, 0.5], [0.5, 1.0]], atol=1e-14)


def test_a_singular_bias_without_the_checks_is_named_not_a_linalg_error():
    """``NeuronsDuality(..., check=False)``'s loss (2.16) needs ``(B B^T)^-1`` and its state ``B^-1 beta``: a singular
    ``B`` raised NumPy's ``LinAlgError: Singular matrix``; now the named :class:`SingularBiasError`."""
    from nnfield.duality.conditions import SingularBiasError
    from nnfield.duality.neurons import NeuronsDuality

    dual = NeuronsDuality(np.eye(2), np.array([[1.0, 2.0], [2.0, 4.0]]), lambda p: jnp.sum(p**4) / 4)
    with pytest.raises(SingularBiasError, match="choose an invertible bias matrix"):
        dual.network(0.1, check=False)
    with pytest.raises(SingularBiasError, match="choose an invertible bias matrix"):
        dual.state(np.zeros(2), np.ones(2))


def test_a_python_keyword_is_refused_as_a_parameter_name():
    """``--param lambda`` was accepted, yet no expression can use it (``lambda*phi`` is a syntax error): refused in
    one line naming it, by the CLI and the Python API."""
    from nnfield import cli
    from nnfield.duality import symbolic
    from nnfield.duality.expression.tree import ExpressionError

    with pytest.raises(ExpressionError, match=r"parameter name 'lambda' is a Python keyword"):
        symbolic.loss_from_hamiltonian("beta**2/2 + phi**2", parameters=("lambda",))
    assert cli.main(["dual", "--hamiltonian", "beta**2/2 + lam*phi**2", "--param", "lambda"]) == 2


# -- session 28: a dependence that vanishes near the origin only -----------------------------------------------
@pytest.mark.parametrize("hamiltonian", ["beta**2/2 + abs(beta - 2) + beta + phi**2"])
def test_a_beta_dependence_beyond_the_inner_points_is_refused(hamiltonian: str) -> None:
    # abs(beta - 2) + beta = 2 for beta < 2: every point in [-1.5, 1.5] saw no beta, and it was accepted
    with pytest.raises(HamiltonianFormError):
        S.loss_from_hamiltonian(hamiltonian)


@pytest.mark.parametrize("loss", ["phi**2 + (phi - beta)**2 + (abs(beta - 2) + beta)*phi",
                                  "phi**2 + (phi - beta)**2 + (abs(phi - beta - 2) + phi - beta)*phi"])
def test_a_loss_not_of_the_dual_form_beyond_the_inner_points_is_refused(loss: str) -> None:
    with pytest.raises(LossFormError):
        S.hamiltonian_from_loss(loss)
