r"""The general linear system, paper (2.17)-(2.21), in SymPy: matrices, the Hamiltonian (2.21), the loss (2.20).

Exact matrix algebra on small symbolic or rational matrices; :mod:`nnfield.duality.linear` is the numeric
side (NumPy, and networks in JAX). Every argument is a SymPy matrix, expression or symbol; anything else (text
included, which SymPy would evaluate as Python) is a ``TypeError`` naming the argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from .inputs import as_expr, as_matrix, as_symbols


def linear_network_matrix(W: sp.Matrix, B: sp.Matrix, A: sp.Matrix, V: sp.Matrix) -> sp.Matrix:
    """(2.18): ``d(phi, beta)/dt = [[W - I, I], [B A, B (V - I) B^-1]] (phi, beta)``."""
    W, B, A, V = as_matrix(W, "W"), as_matrix(B, "B"), as_matrix(A, "A"), as_matrix(V, "V")
    n = W.shape[0]
    eye = sp.eye(n)
    return sp.Matrix(sp.BlockMatrix([[W - eye, eye], [B * A, B * (V - eye) * B.inv()]]))


def hamiltonian_learning_matrices(W: sp.Matrix, B: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """The learning matrices (2.19) that make the linear system (2.17) Hamiltonian: ``A = -B^T``,
    ``V = 2I - B^-1 W B``; returns ``(A, V)``."""
    W, B = as_matrix(W, "W"), as_matrix(B, "B")
    return -B.T, 2 * sp.eye(W.shape[0]) - B.inv() * W * B


def linear_hamiltonian(
    W: sp.Matrix, B: sp.Matrix, phis: Sequence[sp.Symbol], betas: Sequence[sp.Symbol]
) -> sp.Expr:
    """The Hamiltonian (2.21) of the linear system: ``1/2 phi^T B B^T phi + 1/2 beta.beta + beta^T (W - I) phi``."""
    W, B = as_matrix(W, "W"), as_matrix(B, "B")
    phis, betas = as_symbols(phis, "phis"), as_symbols(betas, "betas")
    p, b = sp.Matrix(phis), sp.Matrix(betas)
    n = len(phis)
    return (p.T * B * B.T * p)[0] / 2 + (b.T * b)[0] / 2 + (b.T * (W - sp.eye(n)) * p)[0]


def linear_loss(W: sp.Matrix, B: sp.Matrix, phis: Sequence[sp.Symbol], pis: Sequence[sp.Symbol]) -> sp.Expr:
    """The loss (2.20) of the linear system: ``1/2 phi.phi - 1/2 pi.pi + 1/2 pi^T (B^-1 W B) pi``."""
    W, B = as_matrix(W, "W"), as_matrix(B, "B")
    phis, pis = as_symbols(phis, "phis"), as_symbols(pis, "pis")
    p, q = sp.Matrix(phis), sp.Matrix(pis)
    return (p.T * p)[0] / 2 - (q.T * q)[0] / 2 + (q.T * B.inv() * W * B * q)[0] / 2


def quadratic_matrix(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> sp.Matrix:
    """The symmetric matrix ``M`` with ``expr = 1/2 z^T M z`` (Hessian of a quadratic form)."""
    expr, variables = as_expr(expr, "expr"), as_symbols(variables, "variables")
    return sp.Matrix([[sp.diff(expr, a, b) for b in variables] for a in variables])


def hamilton_matrix(hamiltonian: sp.Expr, phis: Sequence[sp.Symbol], betas: Sequence[sp.Symbol]) -> sp.Matrix:
    """``J M`` with ``J = [[0, I], [-I, 0]]``: Hamilton's equations of a quadratic Hamiltonian as a matrix."""
    hamiltonian = as_expr(hamiltonian, "hamiltonian")
    phis, betas = as_symbols(phis, "phis"), as_symbols(betas, "betas")
    n = len(phis)
    M = quadratic_matrix(hamiltonian, list(phis) + list(betas))
    J = sp.Matrix(sp.BlockMatrix([[sp.zeros(n), sp.eye(n)], [-sp.eye(n), sp.zeros(n)]]))
    return J * M


def loss_network_matrix(loss: sp.Expr, B: sp.Matrix, W: sp.Matrix, phis: Sequence[sp.Symbol],
                        pis: Sequence[sp.Symbol]) -> tuple[sp.Matrix, sp.Matrix]:
    """The ``(A, V)`` a quadratic loss produces by gradient descent: ``dpi/dt = A phi + (V - I) pi``.

    ``dpi/dt = -(dH/dpi + B^T dH/dphi)`` read off as a linear map (single-step backprop).
    """
    loss, B, W = as_expr(loss, "loss"), as_matrix(B, "B"), as_matrix(W, "W")
    phis, pis = as_symbols(phis, "phis"), as_symbols(pis, "pis")
    n = len(phis)
    grad = sp.Matrix([sp.diff(loss, p) for p in pis]) + B.T * sp.Matrix([sp.diff(loss, q) for q in phis])
    rhs = -grad
    A = rhs.jacobian(list(phis))
    Vm = rhs.jacobian(list(pis)) + sp.eye(n)
    return A, Vm
