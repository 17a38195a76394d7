"""Sec. 2 in SymPy: (2.1)-(2.9) for arbitrary V and F, (2.14)/(2.16) and (2.19)-(2.21) with and without their
conditions."""

from __future__ import annotations

import pytest
import sympy as sp

from nnfield.duality import symbolic as S
from nnfield.duality.conditions import (
    AsymmetricWeightError,
    HamiltonianFormError,
    IntegrabilityError,
    LossFormError,
    NonCommutingError,
    SingularBiasError,
)

PHI, BETA = S.PHI, S.BETA


def test_total_gradient_gives_V_prime_for_arbitrary_V_and_F():
    # (2.4) with dphi/dbeta = 1 (2.3): d/dbeta + d/dphi of V(phi) + F(phi - beta) is V'(phi); F cancels.
    assert S.general_one_neuron_residual() == 0
    V, F = sp.Function("V"), sp.Function("F")
    grad = S.total_gradient(V(PHI) + F(PHI - BETA))
    assert sp.simplify(grad - sp.Derivative(V(PHI), PHI)) == 0
    # and the loss without the F term is not special: any G(phi + beta) survives (it is not of the form 2.9)
    G = sp.Function("G")
    assert sp.simplify(S.total_gradient(G(PHI + BETA))) != 0


@pytest.mark.parametrize(
    "ham",
    ["beta**2/2 + phi**2/2", "beta**2/2 + phi**4/4", "beta**2/2 + (phi**2 - 1)**2/4", "beta**2/2 + 1 - cos(phi)"],
)
def test_hamiltonian_to_loss_and_back(ham):
    F = S.W_ARG**2 + sp.sin(S.W_ARG)
    d = S.loss_from_hamiltonian(S.parse_sympy(ham), F)
    assert d.residual() == 0.0
    back = S.hamiltonian_from_loss(d.loss)
    assert sp.simplify(back.hamiltonian - (d.hamiltonian - d.potential.subs(PHI, 0))) == 0
    dF = back.F - F
    assert sp.simplify(dF - dF.subs(S.W_ARG, 0)) == 0  # F is recovered up to a constant (shared with V)
    # Hamilton's equations (2.6) coincide with the continuum network (2.5)
    (e1, e2), (h1, h2) = d.continuum(), d.hamilton()
    assert sp.simplify(e1.rhs - h1.rhs) == 0 and sp.simplify(e2.rhs - h2.rhs) == 0


def test_loss_to_hamiltonian_with_parameters():
    loss = S.parse_sympy("lam*phi**4/4 + exp(phi - beta) + c", ("phi", "beta"), ("lam", "c"))
    d = S.hamiltonian_from_loss(loss)
    lam = sp.Symbol("lam", real=True)
    assert sp.simplify(d.potential - lam * PHI**4 / 4) == 0
    assert sp.simplify(d.learning_rhs() + lam * PHI**3) == 0


def test_non_dual_inputs_raise_with_measured_violation():
    with pytest.raises(HamiltonianFormError) as info:
        S.loss_from_hamiltonian(S.parse_sympy("beta**4/4 + phi**2/2"))
    assert info.value.violation > 0.1 and "(2.7)" in str(info.value)
    with pytest.raises(LossFormError) as info:
        S.hamiltonian_from_loss(S.parse_sympy("phi**2*beta"))
    assert info.value.violation > 0.1 and "(2.8)" in str(info.value)
    with pytest.raises(LossFormError):
        S.hamiltonian_from_loss(S.parse_sympy("sin(phi + beta)"))


def test_report_pretty_and_latex():
    d = S.loss_from_hamiltonian(S.parse_sympy("beta**2/2 + phi**4/4"))
    text = d.report()
    for label in ("Hamiltonian (2.7)", "loss (2.9)", "activation (2.1)", "learning (2.4)", "Hamilton's equations"):
        assert label in text
    tex = d.report(latex=True)
    assert r"\mathcal{H}(\phi, \beta) = \frac{\beta^{2}}{2} + \frac{\phi^{4}}{4}" in tex
    assert r"\frac{d\beta}{dt} = - \phi^{3}" in tex


# ----------------------------------------------------------------------------------------------------------
# N neurons
# ----------------------------------------------------------------------------------------------------------
def _circulant(a, b):
    return sp.Matrix([[a, b], [b, a]])


def test_n_neuron_loss_gives_hamiltons_equations_symbolically_when_conditions_hold():
    w1, w2, c1, c2 = sp.symbols("w1 w2 c1 c2", positive=True)
    phis, pis, betas = S.neuron_symbols(2)
    W, B = _circulant(w1, w2), _circulant(3, 1)  # symmetric, commuting; B B^T shares eigenvectors (1, +-1)
    s, d = phis[0] + phis[1], phis[0] - phis[1]
    V = c1 * s**4 + c2 * d**2  # separable in the common eigenbasis -> [B B^T, Hess V] = 0
    F = [lambda x: x**3, sp.sin]
    loss = S.n_neuron_loss(W, B, V, phis, pis, F)
    net = S.network_flow(loss, W, B, phis, pis, betas)
    ham = S.hamilton_flow(S.n_neuron_hamiltonian(W, V, phis, betas), phis, betas)
    # exact symbolic equality for all w1, w2, c1, c2
    assert S.flow_residual(net, ham, exact=True) == 0.0


def test_n_neuron_loss_fails_measurably_without_integrability():
    phis, pis, betas = S.neuron_symbols(2)
    B = sp.Matrix([[2, 1], [1, 1]])
    W = B  # symmetric and commuting with B: the paper's two conditions hold
    V = phis[0] ** 4 / 4 + phis[1] ** 4 / 4
    with pytest.raises(IntegrabilityError) as info:
        S.n_neuron_loss(W, B, V, phis, pis)
    assert info.value.violation > 1e-3
    loss = S.n_neuron_loss(W, B, V, phis, pis, check=False)  # the line integral from 0 anyway
    net = S.network_flow(loss, W, B, phis, pis, betas)
    ham = S.hamilton_flow(S.n_neuron_hamiltonian(W, V, phis, betas), phis, betas)
    assert S.flow_residual(net, ham) > 1e-3


def test_n_neuron_condition_errors():
    phis, _, _ = S.neuron_symbols(2)
    V = phis[0] ** 2 + phis[1] ** 2
    with pytest.raises(SingularBiasError):
        S.check_n_neuron_conditions(sp.eye(2), sp.Matrix([[1, 1], [1, 1]]), V, phis)
    with pytest.raises(AsymmetricWeightError):
        S.check_n_neuron_conditions(sp.Matrix([[1, 2], [0, 1]]), sp.eye(2), V, phis)
    with pytest.raises(NonCommutingError):
        S.check_n_neuron_conditions(sp.Matrix([[1, 2], [2, 1]]), sp.Matrix([[1, 0], [0, 2]]), V, phis)


# ----------------------------------------------------------------------------------------------------------
# the general linear system
# ----------------------------------------------------------------------------------------------------------
def _generic():
    w11, w12, w22 = sp.symbols("w11 w12 w22", real=True)
    b = sp.symbols("b11 b12 b21 b22", real=True)
    return sp.Matrix([[w11, w12], [w12, w22]]), sp.Matrix([[b[0], b[1]], [b[2], b[3]]])


def test_hamiltonian_learning_matrices_give_hamiltons_flow_for_any_invertible_B():
    W, B = _generic()
    phis, _, betas = S.neuron_symbols(2)
    A, V = S.hamiltonian_learning_matrices(W, B)
    lhs = S.linear_network_matrix(W, B, A, V)
    rhs = S.hamilton_matrix(S.linear_hamiltonian(W, B, phis, betas), phis, betas)
    assert (lhs - rhs).applyfunc(sp.simplify) == sp.zeros(4)
    # without W = W^T it fails
    w21 = sp.Symbol("w21", real=True)
    Wn = sp.Matrix([[W[0, 0], W[0, 1]], [w21, W[1, 1]]])
    A, V = S.hamiltonian_learning_matrices(Wn, B)
    diff = S.linear_network_matrix(Wn, B, A, V) - S.hamilton_matrix(S.linear_hamiltonian(Wn, B, phis, betas), phis,
                                                                      betas)
    assert diff.applyfunc(sp.simplify) != sp.zeros(4)


def test_linear_loss_validity_condition():
    W, B = _generic()
    phis, pis, _ = S.neuron_symbols(2)
    A_target, V_target = S.hamiltonian_learning_matrices(W, B)
    A, V = S.loss_network_matrix(S.linear_loss(W, B, phis, pis), B, W, phis, pis)
    assert (A - A_target).applyfunc(sp.simplify) == sp.zeros(2)  # A = -B^T from single-step backprop (4.5)
    dV = (V - V_target).applyfunc(sp.simplify)
    assert dV != sp.zeros(2)  # generic B: (2.20) does not give (2.19)
    # the difference is exactly the antisymmetric part of B^-1 W B
    S_ = B.inv() * W * B
    assert (dV - (S_ - S_.T) / 2).applyfunc(sp.simplify) == sp.zeros(2)
    # B commuting with W (B = b0 I + b1 W): B^-1 W B = W symmetric and (2.20) is valid
    b0, b1 = sp.symbols("b0 b1", positive=True)
    Bc = b0 * sp.eye(2) + b1 * W
    A, V = S.loss_network_matrix(S.linear_loss(W, Bc, phis, pis), Bc, W, phis, pis)
    assert (V - S.hamiltonian_learning_matrices(W, Bc)[1]).applyfunc(sp.simplify) == sp.zeros(2)
