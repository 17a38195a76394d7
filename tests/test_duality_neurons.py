"""N neurons (2.10)-(2.16): the loss (2.16) as an autodiff network equals Hamilton's equations of (2.14) when
every condition holds (random matrices), and each failing condition raises its named error."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from nnfield.duality.conditions import (
    AsymmetricWeightError,
    IntegrabilityError,
    NonCommutingError,
    SingularBiasError,
)
from nnfield.duality.neuron import evolve
from nnfield.duality.neurons import NeuronsDuality, euler_reference, flow_mismatch
from nnfield.errors import ConditionError

EPS = np.finfo(float).eps


def _orthogonal(rng, n):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return q


def _separable_setup(rng, n):
    """W = Q diag Q^T with doubly degenerate eigenvalues; non-symmetric B = Q (rotation blocks) Q^T commuting with
    W; V separable in q = Q^T phi, so Hess V = Q diag Q^T commutes with B B^T."""
    Q = _orthogonal(rng, n)
    W = Q @ np.diag(np.repeat(rng.normal(size=n // 2), 2)) @ Q.T
    blocks = np.zeros((n, n))
    for k in range(0, n, 2):
        th, r = rng.uniform(0, np.pi), rng.uniform(0.5, 2.0)
        blocks[k:k + 2, k:k + 2] = r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    B = Q @ blocks @ Q.T
    Qj = jnp.asarray(Q)

    def V(phi):
        y = Qj.T @ phi
        return jnp.sum(0.25 * y**4 + jnp.cos(y) + 0.5 * y**2)

    return W, B, V


def _scalar_bias_setup(rng, n):
    """B = c O with O orthogonal commuting with W (B B^T = c^2 I): any V is integrable."""
    X = rng.normal(size=(n, n))
    W = X + X.T
    evals, Q = np.linalg.eigh(W)
    signs = np.diag(rng.choice([-1.0, 1.0], size=n))
    B = 1.7 * Q @ signs @ Q.T  # orthogonal, symmetric, commutes with W

    def V(phi):
        return jnp.sum(phi**4) / 4 + 0.3 * (phi[0] * phi[1]) ** 2 + jnp.sin(jnp.sum(phi))

    return W, B, V


@pytest.mark.parametrize("setup", [_separable_setup, _scalar_bias_setup])
def test_n_neuron_loss_network_is_hamiltons_flow(setup, rng):
    n = 4
    W, B, V = setup(rng, n)
    dual = NeuronsDuality(W, B, V, F=jnp.tanh)
    viol = dual.check()
    assert max(v for k, v in viol.items() if k != "1/cond(B)") < 1e-13
    net = dual.network(0.05)
    phis, betas = rng.normal(size=(4, n)), rng.normal(size=(4, n))
    assert flow_mismatch(dual, net, phis, betas) < 1e-12


def test_simultaneous_network_is_explicit_euler_of_hamiltons_equations(rng):
    n, dt, steps = 4, 0.01, 50
    W, B, V = _separable_setup(rng, n)
    dual = NeuronsDuality(W, B, V)
    phi0, beta0 = 0.5 * rng.normal(size=n), 0.5 * rng.normal(size=n)
    s = evolve(dual.network(dt, "simultaneous"), dual.state(phi0, beta0), steps)
    phi_ref, beta_ref = euler_reference(dual, phi0, beta0, dt, steps)
    scale = max(np.abs(phi_ref).max(), np.abs(beta_ref).max())
    assert np.abs(np.asarray(s.phi)[:, 0] - phi_ref).max() < 1e-12 * scale
    assert np.abs(B @ np.asarray(s.pi)[:, 0] - beta_ref).max() < 1e-12 * scale


def test_each_condition_raises_its_named_error(rng):
    n = 3
    V = lambda phi: jnp.sum(phi**2)  # noqa: E731  (quadratic: integrable with anything)
    sym = rng.normal(size=(n, n))
    sym = sym + sym.T
    cases = [
        (np.eye(n), np.diag([1.0, 1.0, 0.0]), SingularBiasError, "B invertible"),
        (sym + np.triu(np.ones((n, n)), 1), np.eye(n), AsymmetricWeightError, "W = W^T"),
        (sym, np.diag([1.0, 2.0, 3.0]), NonCommutingError, "W B = B W"),
    ]
    for W, B, err, text in cases:
        with pytest.raises(err) as info:
            NeuronsDuality(W, B, V).check()
        assert isinstance(info.value, ConditionError) and text in str(info.value)
        assert info.value.violation > 1e-3


def test_missing_integrability_condition_is_detected_and_matters(rng):
    n = 3
    X = rng.normal(size=(n, n))
    B = X @ X.T + n * np.eye(n)
    W = 0.5 * B + 0.1 * B @ B  # W = W^T and [W, B] = 0: the paper's conditions hold
    dual = NeuronsDuality(W, B, lambda phi: 0.25 * jnp.sum(phi**4))
    with pytest.raises(IntegrabilityError) as info:
        dual.check()
    assert info.value.violation > 1e-2
    assert "[B B^T, Hess V]" in str(info.value) and "missing from the paper" in str(info.value)
    with pytest.raises(IntegrabilityError):
        dual.network(0.1)
    mism = flow_mismatch(dual, dual.network(0.1, check=False), rng.normal(size=(3, n)), rng.normal(size=(3, n)))
    assert mism > 1e-2  # no loss of the form (2.16) reproduces Hamilton's equations
    # a quadratic V has a constant Hessian: with B B^T commuting with it the construction works again
    ok = NeuronsDuality(W, B, lambda phi: 0.5 * phi @ (jnp.asarray(B @ B.T) @ phi))
    ok.check()
    assert flow_mismatch(ok, ok.network(0.1), rng.normal(size=(3, n)), rng.normal(size=(3, n))) < 1e-12


@pytest.mark.parametrize("which,value", [("B", np.nan), ("B", np.inf), ("W", np.nan)])
def test_non_finite_matrices_are_refused_up_front(which, value):
    """A NaN or inf in ``B`` gave NumPy's ``LinAlgError`` (SVD did not converge) from the invertibility check; it is
    a ``ValueError`` naming the matrix and the entry when the duality is made."""
    from nnfield.duality.conditions import check_invertible

    mats = {"W": np.eye(2), "B": np.eye(2)}
    mats[which][1, 0] = value
    with pytest.raises(ValueError, match=rf"{which} must be finite: {which}\[1, 0\] = {value!r}"):
        NeuronsDuality(mats["W"], mats["B"], lambda phi: 0.5 * jnp.sum(phi**2))
    if which == "B":
        with pytest.raises(ValueError, match="B must be finite"):
            check_invertible(mats["B"])


@pytest.mark.parametrize("scheme", ["leapfrog", "yoshida4"])
def test_the_declared_order_of_a_neuron_network_is_the_measured_one(scheme, rng):
    """With ``W != I`` the activation sub-step is explicit Euler and a splitting scheme is first order: the network
    declared its scheme's 2 or 4 (an API user measured 1.0). Self-convergence at t = 1 (dt, dt/2, dt/4): the
    error ratio is 2^p with p the declared order; with ``W = I`` (separable) the scheme's own order."""
    n = 4
    W, B, V = _separable_setup(rng, n)
    phi0, beta0 = 0.5 * rng.normal(size=n), 0.5 * rng.normal(size=n)

    def measured(dual: NeuronsDuality) -> tuple[int, float]:
        ends = []
        for dt in (0.04, 0.02, 0.01, 0.005):
            s = evolve(dual.network(dt, scheme), dual.state(phi0, beta0), round(1.0 / dt))
            ends.append(np.concatenate([np.asarray(s.phi)[:, 0], np.asarray(s.pi)[:, 0]]))
        errs = [np.abs(a - b).max() for a, b in zip(ends, ends[1:], strict=False)]
        return dual.network(0.01, scheme).order, float(np.log2(errs[-2] / errs[-1]))

    order, p = measured(NeuronsDuality(W, B, V))  # W != I
    assert np.abs(W - np.eye(n)).max() > 0.1 and order == 1 and abs(p - 1) < 0.2
    order, p = measured(NeuronsDuality(np.eye(n), B, V))  # W = I: separable
    assert order == {"leapfrog": 2, "yoshida4": 4}[scheme] and abs(p - order) < 0.3


def test_a_vector_potential_and_states_of_another_size_are_refused_by_name():
    """``V`` returning a vector passed ``check()`` and failed in the first run inside JAX ("Gradient only defined
    for scalar-output functions"); ``state`` of 3 numbers for 2 neurons gave a NumPy gufunc error."""
    with pytest.raises(ValueError, match=r"V must map the 2 neuron states to a scalar .* returns \(2,\)"):
        NeuronsDuality(np.eye(2), np.eye(2), lambda p: p**4 / 4).check()
    dual = NeuronsDuality(np.eye(2), np.eye(2), lambda p: jnp.sum(p**4) / 4)
    with pytest.raises(ValueError, match=r"phi: expected 2 numbers \(one per neuron\), got shape \(3,\)"):
        dual.state(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"beta: expected 2 numbers"):
        dual.state(np.zeros(2), np.zeros(3))
