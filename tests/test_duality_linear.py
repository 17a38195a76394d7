"""The general linear system (2.17)-(2.21): both directions, the validity of (2.20), many-to-one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from nnfield.duality import linear as L
from nnfield.duality.conditions import (
    AsymmetricWeightError,
    HamiltonianFormError,
    LinearSystemError,
    LossValidityError,
    SingularBiasError,
)
from nnfield.duality.neuron import evolve
from nnfield.state import State

TOL = 1e-12


def _random(rng, n=4):
    X = rng.normal(size=(n, n))
    W = X + X.T
    B = rng.normal(size=(n, n)) + n * np.eye(n)  # generic, invertible, not commuting with W
    return W, B


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_hamiltonian_system_is_hamiltons_flow_for_generic_B(rng):
    for _ in range(3):
        W, B = _random(rng)
        system = L.hamiltonian_system(W, B)
        system.check_hamiltonian_conditions()
        target = L.hamilton_matrix(system.hamiltonian_matrix())
        assert _rel(system.matrix_phi_beta(), target) < TOL
        # the literal network (2.17), read off its own update, has the same flow
        assert _rel(L.network_matrix(system.linear_network(0.1)), target) < TOL


def test_hamiltonian_condition_violations_are_named(rng):
    W, B = _random(rng)
    s = L.hamiltonian_system(W, B)
    with pytest.raises(LinearSystemError, match=r"A = -B\^T"):
        L.LinearSystem(s.W, s.B, s.A + 0.1, s.V).check_hamiltonian_conditions()
    with pytest.raises(LinearSystemError, match="V = 2I"):
        L.LinearSystem(s.W, s.B, s.A, s.V + 0.1 * np.eye(4)).check_hamiltonian_conditions()
    with pytest.raises(AsymmetricWeightError, match=r"\(2.19\)"):
        L.LinearSystem(s.W + np.triu(np.ones((4, 4)), 1), s.B, s.A, s.V).check_hamiltonian_conditions()
    with pytest.raises(SingularBiasError):
        L.hamiltonian_system(W, np.diag([1.0, 1.0, 1.0, 0.0]))


def test_linear_loss_valid_only_when_B_inv_W_B_is_symmetric(rng):
    W, B = _random(rng)
    with pytest.raises(LossValidityError) as info:
        L.linear_loss(W, B)
    assert info.value.violation > 1e-2
    target = L.hamilton_matrix(L.linear_hamiltonian_matrix(W, B))
    assert _rel(L.network_matrix(L.loss_network(W, B, 0.1, check=False)), target) > 1e-2
    # B = Q diag Q^T times an orthogonal reflection commuting with W: [W, B B^T] = 0, (2.20) valid
    evals, Q = np.linalg.eigh(W)
    Bc = Q @ np.diag(rng.uniform(0.5, 2.0, 4)) @ Q.T @ (Q @ np.diag([1.0, -1.0, 1.0, -1.0]) @ Q.T)
    tc = L.hamilton_matrix(L.linear_hamiltonian_matrix(W, Bc))
    assert _rel(L.network_matrix(L.loss_network(W, Bc, 0.1)), tc) < TOL


def test_autodiff_network_follows_hamiltons_flow_in_time(rng):
    """The (2.20) network's trajectory converges to exp(J M t) z0 at first order (alternating scheme)."""
    n = 3
    X = rng.normal(size=(n, n))
    W = 0.3 * (X + X.T)
    evals, Q = np.linalg.eigh(W)
    B = Q @ np.diag(rng.uniform(0.8, 1.5, n)) @ Q.T
    M = L.linear_hamiltonian_matrix(W, B)
    z0 = rng.normal(size=2 * n)
    T = 1.0
    exact = expm(L.hamilton_matrix(M) * T) @ z0
    net = L.loss_network(W, B, 0.1, "alternating")
    s0 = State(z0[:n, None], np.linalg.solve(B, z0[n:])[:, None])
    errs = []
    dts = [0.02, 0.01, 0.005]
    for dt in dts:
        s = evolve(net.with_dt(dt), s0, int(round(T / dt)))
        z = np.concatenate([np.asarray(s.phi)[:, 0], B @ np.asarray(s.pi)[:, 0]])
        errs.append(np.abs(z - exact).max())
    order = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(order - 1) < 0.1, (errs, order)


def test_reverse_direction_and_its_conditions(rng):
    n = 3
    W, B = _random(rng, n)
    M = L.linear_hamiltonian_matrix(W, B)
    for choice in ("cholesky", "sqrt", np.linalg.qr(rng.normal(size=(n, n)))[0]):
        s = L.from_hamiltonian(M, choice)
        s.check_hamiltonian_conditions()
        assert _rel(L.linear_hamiltonian_matrix(s.W, s.B), M) < TOL
    bad_r = M.copy()
    bad_r[n:, n:] *= 2.0
    with pytest.raises(HamiltonianFormError, match="identity"):
        L.from_hamiltonian(bad_r)
    bad_p = M.copy()
    bad_p[:n, :n] = -np.eye(n)
    with pytest.raises(HamiltonianFormError, match="positive definite"):
        L.from_hamiltonian(bad_p)
    with pytest.raises(ValueError, match="orthogonal"):
        L.from_hamiltonian(M, 2.0 * np.eye(n))


def test_non_symmetric_Q_gives_a_general_network_outside_the_hamiltonian_conditions(rng):
    n = 3
    P = np.eye(n) + 0.1 * np.ones((n, n))
    Q = rng.normal(size=(n, n))  # not symmetric
    M = np.block([[P, Q.T], [Q, np.eye(n)]])
    s = L.from_hamiltonian(M)
    assert _rel(s.matrix_phi_beta(), L.hamilton_matrix(M)) < TOL
    with pytest.raises(AsymmetricWeightError):
        s.check_hamiltonian_conditions()


def test_many_to_one_networks_share_the_phi_beta_dynamics(rng):
    n = 3
    X = rng.normal(size=(n, n))
    W = 0.5 * (X + X.T)
    P = 2.0 * np.eye(n) + 0.5 * W @ W  # commutes with W: the loss (2.20) is valid for every factor
    Bp = np.linalg.cholesky(P)
    M = L.linear_hamiltonian_matrix(W, Bp)
    systems = L.equivalent_networks(M, n_random=2)
    assert min(np.abs(a.B - b.B).max() for i, a in enumerate(systems) for b in systems[i + 1:]) > 1e-2
    target = L.hamilton_matrix(M)
    z0 = rng.normal(size=2 * n)
    finals, pis = [], []
    for s in systems:
        net = L.loss_network(s.W, s.B, 0.01, "alternating")  # autodiff learning on (2.20)
        assert _rel(L.network_matrix(net), target) < TOL
        out = evolve(net, State(z0[:n, None], np.linalg.solve(s.B, z0[n:])[:, None]), 100)
        finals.append(np.concatenate([np.asarray(out.phi)[:, 0], s.B @ np.asarray(out.pi)[:, 0]]))
        pis.append(np.asarray(out.pi)[:, 0])
    # the (phi, beta) dynamics coincide step by step (same map in these variables), the pi's differ
    for f in finals[1:]:
        assert np.abs(f - finals[0]).max() < 1e-12 * np.abs(finals[0]).max()
    assert max(np.abs(p - pis[0]).max() for p in pis[1:]) > 1e-2
    # and they converge to Hamilton's flow
    exact = expm(target * 1.0) @ z0
    assert np.abs(finals[0] - exact).max() < 0.1
