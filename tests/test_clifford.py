"""Clifford tools (paper Sec. 4): relations (4.25), spinor packing (4.19)/(4.30), gammas (4.21)-(4.23), (4.31)-(4.36).

Everything here is exact algebra on small integer-valued matrices: tolerances are ``1e3 eps``.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnfield.errors import ConditionError
from nnfield.theories import clifford as cl

EPS = np.finfo(np.float64).eps
TOL = 1e3 * EPS
SIG = cl.SIGMA


@pytest.mark.parametrize("D,K", [(1, 2), (2, 4), (3, 4)])
def test_builtin_representations_satisfy_425(D, K):
    X = cl.representation(D)
    assert X.shape == (D + 1, K, K)
    rep = cl.check_clifford(X)
    assert rep.ok, str(rep)
    assert max(rep.residuals.values()) <= TOL
    # every relation named: antisymmetry (D+1), X0^2, [X0, X_mu] (D), {X_mu, X_nu} (D(D+1)/2)
    assert len(rep.residuals) == (D + 1) + 1 + D + D * (D + 1) // 2


def test_435_matrices_are_printed_ones():
    X = cl.representation(3)
    e = np.array([[0, 1], [-1, 0]])
    assert np.array_equal(X[0], np.kron(np.eye(2), e))
    assert np.array_equal(X[1], -np.kron(SIG[0].real, e))
    assert np.array_equal(X[2], np.kron(e, np.eye(2)))
    assert np.array_equal(X[3], -np.kron(SIG[2].real, e))
    assert np.array_equal(cl.representation(1), np.stack([e, e]))  # (4.16)


@pytest.mark.parametrize(
    "breaker,relation",
    [
        (lambda X: X.__setitem__((2,), X[2] + 0.1 * np.eye(4)), "X_2 antisymmetric"),
        (lambda X: X.__setitem__((0,), 2.0 * X[0]), "X_0 X_0 = -I"),
        (lambda X: X.__setitem__((1,), 1.5 * X[1]), "{X_1, X_1} = -2 delta I"),
        (lambda X: X.__setitem__((1,), X[0].copy()), "{X_1, X_2} = -2 delta I"),
        (lambda X: X.__setitem__((3,), X[2].copy()), "{X_2, X_3} = -2 delta I"),
    ],
)
def test_broken_X_reports_the_failing_relation(breaker, relation):
    X = cl.representation(3).copy()
    breaker(X)
    rep = cl.check_clifford(X)
    assert not rep.ok
    assert relation in rep.failures
    assert rep.failures[relation] > 1e-2
    with pytest.raises(cl.CliffordError) as exc:
        cl.validate_clifford(X)
    err = exc.value
    assert isinstance(err, ConditionError)
    assert err.report.failures == rep.failures
    assert err.violation == max(rep.failures.values())
    assert relation in str(err) and "4.25" in str(err)


def test_commutation_with_X0_failure_is_named():
    X = cl.representation(3).copy()
    X[0] = X[1].copy()  # antisymmetric, squares to -1, but anticommutes with X_2, X_3
    rep = cl.check_clifford(X)
    assert set(rep.failures) == {"[X_0, X_2] = 0", "[X_0, X_3] = 0"}
    assert rep.failures["[X_0, X_2] = 0"] == pytest.approx(2.0)


@pytest.mark.parametrize("D", [1, 2, 3])
def test_pack_unpack_roundtrip_and_layout(D, rng):
    K = cl.representation(D).shape[1]
    phi, pi = rng.normal(size=(K, 5)), rng.normal(size=(K, 5))
    psi = cl.pack(phi, pi)
    assert psi.shape == (K, 5) and np.iscomplexobj(psi)
    # (4.19)/(4.30): psi = (phi1 + i phi2, phi3 + i phi4, pi1 + i pi2, pi3 + i pi4)
    assert np.array_equal(psi[0], phi[0] + 1j * phi[1])
    assert np.array_equal(psi[K // 2], pi[0] + 1j * pi[1])
    back = cl.unpack(psi)
    assert np.array_equal(back[0], phi) and np.array_equal(back[1], pi)
    # charge: sum |psi|^2 = sum phi^2 + pi^2
    assert abs(np.sum(np.abs(psi) ** 2) - np.sum(phi**2) - np.sum(pi**2)) <= TOL * np.sum(phi**2 + pi**2)


def test_complex_form_434():
    Xc = cl.complex_X(cl.representation(3))
    assert np.abs(Xc[0] + 1j * np.eye(2)).max() <= TOL  # X~_0 = -i I
    for mu in range(3):
        assert np.abs(Xc[mu + 1] - 1j * SIG[mu]).max() <= TOL  # X~_mu = i sigma_mu
    # complexify is a homomorphism: pack(M v) = M~ pack(v)
    X = cl.representation(3)
    v = np.arange(4.0) - 1.5
    for x, xc in zip(X, Xc, strict=True):
        assert np.abs(cl.pack_components(x @ v) - xc @ cl.pack_components(v)).max() <= TOL
        assert np.abs(cl.realify(xc) - x).max() <= TOL


def test_gamma_matrices_436_and_433():
    g = cl.gamma_matrices(cl.representation(3))
    assert np.abs(g[0] - np.kron(SIG[2], np.eye(2))).max() <= TOL
    for mu in range(3):
        assert np.abs(g[mu + 1] - np.kron(SIG[0], 1j * SIG[mu])).max() <= TOL
    res = cl.anticommutator_residuals(g)
    assert len(res) == 10 and max(res.values()) <= TOL


def test_gammas_1p1_421_423_and_sign_convention():
    gp = cl.gammas_1p1_printed()
    assert np.array_equal(gp[0], SIG[2]) and np.array_equal(gp[1], 1j * SIG[0])
    assert max(cl.anticommutator_residuals(gp).values()) <= TOL  # (4.23)
    g = cl.gamma_matrices(cl.representation(1))
    assert max(cl.anticommutator_residuals(g).values()) <= TOL
    # (4.31) with K = 2 gives gamma^1 = -i sigma_1: (4.20) with + and (4.37) with - are the same equation
    assert np.abs(g[1] + gp[1]).max() <= TOL


def test_alpha_beta_hermitian_and_anticommuting():
    for D in (1, 2, 3):
        al, be = cl.alpha_beta(cl.representation(D))
        W = cl.twisted_wilson_matrix(cl.representation(D))
        mats = [be, *al, W]
        for i, A in enumerate(mats):
            assert np.abs(A - A.conj().T).max() <= TOL
            for j, Bm in enumerate(mats):
                target = 2 * np.eye(A.shape[0]) if i == j else 0
                assert np.abs(A @ Bm + Bm @ A - target).max() <= TOL


def test_mass_rotation_is_power_of_X0():
    X0 = cl.representation(3)[0]
    theta = 0.37
    R = cl.mass_rotation(X0, theta)
    assert np.abs(R @ R.T - np.eye(4)).max() <= TOL
    # X0^(2 theta / pi) via the eigendecomposition of X0 (eigenvalues +-i)
    w, V = np.linalg.eig(X0)
    p = 2 * theta / np.pi
    Rp = (V * np.exp(p * np.log(w.astype(complex)))) @ np.linalg.inv(V)
    assert np.abs(Rp - R).max() <= TOL
    assert np.abs(cl.mass_rotation(X0, np.pi / 2) - X0).max() <= TOL


def test_general_representation_via_complex_structure(rng):
    # an orthogonally rotated representation: X'_mu = O X_mu O^T still satisfies (4.25)
    O, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    X = np.einsum("ab,mbc,dc->mad", O, cl.representation(3), O)
    assert cl.check_clifford(X).ok
    U = cl.complex_structure(X[0])
    assert np.abs(U.T @ X[0] @ U - np.kron(np.eye(2), cl.EPS)).max() <= 1e-12
    g = cl.gamma_matrices(X)
    assert max(cl.anticommutator_residuals(g).values()) <= 1e-12
