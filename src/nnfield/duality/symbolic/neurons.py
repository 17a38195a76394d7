r"""N neurons, paper (2.10)-(2.16), in SymPy: the loss (2.16) and the Hamiltonian (2.14) for given W, B, V.

The loss ``H = 1/2 pi^T (W - I) pi + U(phi) + sum_i F_i(phi_i - (B pi)_i)`` with
``grad U = (B B^T)^-1 grad V`` gives Hamilton's equations of ``Ham = 1/2 beta^2 + beta^T (W - I) phi + V(phi)``
when ``W = W^T``, ``W B = B W`` and (missing from the paper) ``[B B^T, Hess V] = 0``, without which ``U`` does
not exist. Here ``U`` is built as the line integral ``U(phi) = int_0^1 phi . (B B^T)^-1 grad V(s phi) ds``
(exact, by ``sympy.integrate``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from ..conditions import AsymmetricWeightError, IntegrabilityError, NonCommutingError, SingularBiasError
from .inputs import as_expr, as_matrix, as_symbols
from .zero import measure


def neuron_symbols(n: int) -> tuple[list[sp.Symbol], list[sp.Symbol], list[sp.Symbol]]:
    """``phi_1..n``, ``pi_1..n``, ``beta_1..n`` (real)."""
    return (
        list(sp.symbols(f"phi_1:{n + 1}", real=True)),
        list(sp.symbols(f"pi_1:{n + 1}", real=True)),
        list(sp.symbols(f"beta_1:{n + 1}", real=True)),
    )


def n_neuron_hamiltonian(
    W: sp.Matrix, V: sp.Expr, phis: Sequence[sp.Symbol], betas: Sequence[sp.Symbol]
) -> sp.Expr:
    """The Hamiltonian of N neurons, (2.14): ``1/2 beta.beta + beta^T (W - I) phi + V(phi)`` (exact).

    Every argument is a SymPy object (a number for ``V``); anything else, text included, is a ``TypeError``.
    """
    W, V = as_matrix(W, "W"), as_expr(V, "V")
    phis, betas = as_symbols(phis, "phis"), as_symbols(betas, "betas")
    n = len(phis)
    b, p = sp.Matrix(betas), sp.Matrix(phis)
    return (b.T * b)[0] / 2 + (b.T * (W - sp.eye(n)) * p)[0] + V


def hessian(V: sp.Expr, phis: Sequence[sp.Symbol]) -> sp.Matrix:
    """The Hessian of ``V`` in ``phis`` (``TypeError`` unless ``V`` is SymPy or a number and ``phis`` symbols)."""
    V, phis = as_expr(V, "V"), as_symbols(phis, "phis")
    return sp.Matrix([[sp.diff(V, a, b) for b in phis] for a in phis])


def _matrix_zero(M: sp.Matrix) -> bool:
    return all(sp.simplify(x) == 0 for x in M)


def check_n_neuron_conditions(W: sp.Matrix, B: sp.Matrix, V: sp.Expr, phis: Sequence[sp.Symbol]) -> None:
    """Symbolic checks of every condition the N-neuron loss (2.16) needs; raises the named error with a measured
    violation (B invertible, ``W = W^T``, ``W B = B W``, ``[B B^T, Hess V] = 0``); ``TypeError`` unless every
    argument is a SymPy object."""
    W, B, V, phis = as_matrix(W, "W"), as_matrix(B, "B"), as_expr(V, "V"), as_symbols(phis, "phis")
    det = sp.simplify(B.det())
    if det == 0:
        raise SingularBiasError("B invertible (after (2.10))", 1.0, "det B = 0")
    if not _matrix_zero(W - W.T):
        raise AsymmetricWeightError("W = W^T (2.16)", max(measure(x) for x in W - W.T), f"W - W^T = {W - W.T}")
    comm = W * B - B * W
    if not _matrix_zero(comm):
        raise NonCommutingError("W B = B W (2.16)", max(measure(x) for x in comm), f"[W, B] = {comm}")
    H = hessian(V, phis)
    BBt = B * B.T
    c = BBt * H - H * BBt
    if not _matrix_zero(c):
        raise IntegrabilityError(
            "[B B^T, Hess V] = 0 (integrability of (2.16); missing from the paper)",
            max(measure(x, sum(abs(y) for y in H) + 1) for x in c),
            "the integral term of (2.16) is path dependent",
        )


def line_integral_potential(B: sp.Matrix, V: sp.Expr, phis: Sequence[sp.Symbol]) -> sp.Expr:
    """The integral term of (2.16) as the line integral ``int_0^1 phi . (B B^T)^-1 grad V(s phi) ds``.

    Its gradient is ``(B B^T)^-1 grad V`` exactly when the integrability condition holds.
    """
    B, V, phis = as_matrix(B, "B"), as_expr(V, "V"), as_symbols(phis, "phis")
    s = sp.Dummy("s")
    M = (B * B.T).inv()
    grad = sp.Matrix([sp.diff(V, p) for p in phis]).subs({p: s * p for p in phis}, simultaneous=True)
    integrand = sp.expand((sp.Matrix(phis).T * M * grad)[0])
    return sp.simplify(sp.integrate(integrand, (s, 0, 1)))


def n_neuron_loss(
    W: sp.Matrix,
    B: sp.Matrix,
    V: sp.Expr,
    phis: Sequence[sp.Symbol],
    pis: Sequence[sp.Symbol],
    F: Sequence[Callable[[sp.Expr], sp.Expr]] | None = None,
    check: bool = True,
) -> sp.Expr:
    """The N-neuron loss (2.16) ``1/2 pi^T (W - I) pi + U(phi) + sum_i F_i(phi_i - (B pi)_i)``.

    With ``check`` every condition is verified first (:func:`check_n_neuron_conditions`). ``TypeError`` unless
    ``W``, ``B``, ``V``, ``phis`` and ``pis`` are SymPy objects (a number for ``V``).
    """
    W, B, V = as_matrix(W, "W"), as_matrix(B, "B"), as_expr(V, "V")
    phis, pis = as_symbols(phis, "phis"), as_symbols(pis, "pis")
    if check:
        check_n_neuron_conditions(W, B, V, phis)
    n = len(phis)
    P = sp.Matrix(pis)
    loss = (P.T * (W - sp.eye(n)) * P)[0] / 2 + line_integral_potential(B, V, phis)
    if F is not None:
        bp = B * P
        loss += sum(Fi(phis[i] - bp[i]) for i, Fi in enumerate(F))
    return loss


def network_flow(
    loss: sp.Expr, W: sp.Matrix, B: sp.Matrix, phis: Sequence[sp.Symbol], pis: Sequence[sp.Symbol],
    betas: Sequence[sp.Symbol],
) -> tuple[sp.Matrix, sp.Matrix]:
    """The continuous-time network (2.11)-(2.12) in terms of ``(phi, beta)``: ``(dphi/dt, dbeta/dt)``.

    ``dphi/dt = (W - I) phi + B pi``, ``dpi/dt = -(dH/dpi + B^T dH/dphi)``, ``beta = B pi``.
    """
    loss, W, B = as_expr(loss, "loss"), as_matrix(W, "W"), as_matrix(B, "B")
    phis, pis, betas = as_symbols(phis, "phis"), as_symbols(pis, "pis"), as_symbols(betas, "betas")
    n = len(phis)
    P = sp.Matrix(pis)
    grad_pi = sp.Matrix([sp.diff(loss, p) for p in pis])
    grad_phi = sp.Matrix([sp.diff(loss, q) for q in phis])
    dphi = (W - sp.eye(n)) * sp.Matrix(phis) + B * P
    dbeta = -B * (grad_pi + B.T * grad_phi)
    sub = dict(zip(pis, B.inv() * sp.Matrix(betas), strict=True))
    return dphi.subs(sub, simultaneous=True), dbeta.subs(sub, simultaneous=True)


def hamilton_flow(
    hamiltonian: sp.Expr, phis: Sequence[sp.Symbol], betas: Sequence[sp.Symbol]
) -> tuple[sp.Matrix, sp.Matrix]:
    """Hamilton's equations (2.13): ``(dHam/dbeta, -dHam/dphi)``."""
    hamiltonian = as_expr(hamiltonian, "hamiltonian")
    phis, betas = as_symbols(phis, "phis"), as_symbols(betas, "betas")
    return (
        sp.Matrix([sp.diff(hamiltonian, b) for b in betas]),
        sp.Matrix([-sp.diff(hamiltonian, p) for p in phis]),
    )


def flow_residual(a: tuple[sp.Matrix, sp.Matrix], b: tuple[sp.Matrix, sp.Matrix], exact: bool = False) -> float:
    """Measured (or, with ``exact``, symbolic: 0.0 or 1.0) difference between two flows."""
    diffs = [x - y for x, y in zip(list(a[0]) + list(a[1]), list(b[0]) + list(b[1]), strict=True)]
    if exact:
        return 0.0 if all(sp.simplify(d) == 0 for d in diffs) else 1.0
    scale = sum(abs(x) for x in list(a[0]) + list(a[1]))
    return max(measure(d, scale) for d in diffs)
