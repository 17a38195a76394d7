r"""The Hamiltonian <-> loss duality of the paper's Sec. 2 in SymPy (outside the JAX core).

One neuron, (2.1)-(2.9). Activation ``phi <- phi + beta`` and learning
``beta <- beta - (dH/dbeta + dH/dphi)`` (single-step backprop, (2.3)-(2.4)) are, in continuous time (2.5),
Hamilton's equations (2.6) (the paper says "Hamilton-Jacobi"; they are Hamilton's equations) of
``Ham = beta^2/2 + V(phi)`` (2.7) iff ``dV/dphi = dH/dbeta + dH/dphi`` (2.8), i.e. iff the loss is
``H = V(phi) + F(phi - beta)`` (2.9) for an arbitrary F: the F terms cancel in the total gradient.

N neurons, (2.10)-(2.16): the loss (2.16)
``H = 1/2 pi^T (W - I) pi + U(phi) + sum_i F_i(phi_i - (B pi)_i)`` with ``grad U = (B B^T)^-1 grad V`` gives
Hamilton's equations of (2.14) ``Ham = 1/2 beta^2 + beta^T (W - I) phi + V(phi)`` when ``W = W^T``,
``W B = B W`` and (missing from the paper) ``[B B^T, Hess V] = 0``, without which ``U`` does not exist. Here
``U`` is built as the line integral ``U(phi) = int_0^1 phi . (B B^T)^-1 grad V(s phi) ds``.

General linear system, (2.17)-(2.21): :func:`linear_network_matrix` (2.18), :func:`hamiltonian_221`,
:func:`loss_220`; see :mod:`nnfield.duality.linear` for the numeric side.

Expression strings come only through the safe parser :func:`nnfield.duality.parse.parse_expression`;
:func:`to_sympy` builds SymPy objects from its tree (text is never passed to ``sympify``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from .conditions import (
    AsymmetricWeightError,
    HamiltonianFormError,
    IntegrabilityError,
    LossFormError,
    NonCommutingError,
    SingularBiasError,
)
from .parse import Binary, Call, Expr, Number, Symbol, Unary, apply_binary, parse_expression

PHI = sp.Symbol("phi", real=True)
BETA = sp.Symbol("beta", real=True)
W_ARG = sp.Symbol("w", real=True)  # the argument of F in (2.9)
T = sp.Symbol("t", real=True)
DT = sp.Symbol("dt", positive=True)

_SP_FUNCS: dict[str, Callable[[Any], Any]] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "abs": sp.Abs, "sign": sp.sign,
}


# ----------------------------------------------------------------------------------------------------------
# expression trees -> SymPy -> JAX
# ----------------------------------------------------------------------------------------------------------
def to_sympy(expr: Expr, symbols: Mapping[str, sp.Basic] | None = None) -> sp.Expr:
    """Build a SymPy expression from a safe-parser tree (ints stay exact: ``phi**4/4`` has ``Rational(1, 4)``).

    ``symbols`` maps names to SymPy objects (numbers substitute parameters); missing names become real symbols.
    """
    table = dict(symbols or {})

    def walk(e: Expr) -> sp.Expr:
        if isinstance(e, Number):
            return sp.Integer(e.value) if isinstance(e.value, int) else sp.Float(e.value)
        if isinstance(e, Symbol):
            if e.name not in table:
                table[e.name] = sp.Symbol(e.name, real=True)
            return table[e.name]
        if isinstance(e, Unary):
            v = walk(e.operand)
            return -v if e.op == "-" else v
        if isinstance(e, Binary):
            return apply_binary(e.op, walk(e.left), walk(e.right))
        if isinstance(e, Call):
            return _SP_FUNCS[e.func](walk(e.arg))
        raise TypeError(f"unknown node {e!r}")

    return walk(expr)


def parse_sympy(
    text: str,
    variables: Sequence[str] = ("phi", "beta"),
    parameters: Iterable[str] = (),
    values: Mapping[str, float] | None = None,
) -> sp.Expr:
    """Safe-parse ``text`` and build SymPy. ``phi``/``beta`` map to :data:`PHI`/:data:`BETA`; parameters with
    ``values`` are substituted as floats, the others stay symbols."""
    values = dict(values or {})
    params = tuple(parameters) + tuple(k for k in values if k not in parameters)
    tree = parse_expression(text, variables, params)
    table: dict[str, sp.Basic] = {"phi": PHI, "beta": BETA}
    table.update({k: sp.Float(float(v)) for k, v in values.items()})
    return to_sympy(tree, table)


def _jax_modules() -> list[Any]:
    import jax.numpy as jnp

    mapping = {
        "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "exp": jnp.exp, "log": jnp.log, "sqrt": jnp.sqrt,
        "sinh": jnp.sinh, "cosh": jnp.cosh, "tanh": jnp.tanh, "Abs": jnp.abs, "sign": jnp.sign,
        "asin": jnp.arcsin, "acos": jnp.arccos, "atan": jnp.arctan, "pi": jnp.pi, "E": jnp.e,
    }
    return [mapping, jnp]


def lambdify_jax(expr: sp.Expr, args: Sequence[sp.Symbol]) -> Callable[..., Any]:
    """``sympy.lambdify`` with a ``jax.numpy`` module mapping: a jittable, differentiable JAX function."""
    return sp.lambdify(list(args), expr, modules=_jax_modules())


# ----------------------------------------------------------------------------------------------------------
# numeric zero tests (robust; symbolic simplification is attempted only as a confirmation)
# ----------------------------------------------------------------------------------------------------------
# derivatives of abs/sign at random points (never exactly at the kink): distributions vanish there
_MEASURE_FUNCS: dict[str, Callable[..., Any]] = {
    "DiracDelta": lambda *args: 0.0,
    "Heaviside": lambda x, *args: 1.0 if x > 0 else 0.0,
}


def _evaluator(expr: sp.Expr, syms: list[sp.Symbol]) -> Callable[..., Any]:
    """A fast mpmath function of ``syms``, or (for what lambdify cannot print) point-wise substitution."""
    try:
        return sp.lambdify(syms, expr, modules=[_MEASURE_FUNCS, "mpmath", "sympy"])
    except Exception:  # noqa: BLE001 - printer limitations (unevaluated derivatives, zoo, ...)
        def slow(*pt: float) -> Any:
            return expr.evalf(subs=dict(zip(syms, pt, strict=True)))

        return slow


def measure(expr: sp.Expr, scale: sp.Expr | None = None, n: int = 12, seed: int = 0) -> float:
    """``max |expr| / max(1, max |scale|)`` over ``n`` random real points of its free symbols.

    Points are drawn in ``[-1.5, 1.5]`` (parameters, i.e. symbols other than phi/beta/w, in ``[0.5, 1.5]``);
    points where the expression is not finite are skipped. Returns ``nan`` when no point gives a finite
    value (callers treat that as "not shown to vanish").
    """
    expr = sp.sympify(expr)
    scale = None if scale is None else sp.sympify(scale)
    syms = sorted(expr.free_symbols | (scale.free_symbols if scale is not None else set()), key=str)
    rng = np.random.default_rng(seed)
    worst, big, finite = 0.0, 1.0, 0
    fe = _evaluator(expr, syms)
    fs = _evaluator(scale, syms) if scale is not None else None
    for _ in range(n):
        pt = [
            rng.uniform(0.5, 1.5) if s.name not in ("phi", "beta", "w") and not s.name.startswith(("phi_", "beta_",
                                                                                                    "pi_"))
            else rng.uniform(-1.5, 1.5)
            for s in syms
        ]
        try:
            v = abs(complex(fe(*pt)))
            if fs is not None:
                sv = abs(complex(fs(*pt)))
                big = max(big, sv) if np.isfinite(sv) else big
        except Exception:  # noqa: BLE001 - a point where the expression is undefined is skipped
            continue
        if np.isfinite(v):
            worst = max(worst, v)
            finite += 1
    return worst / big if finite else float("nan")


def is_zero(expr: sp.Expr) -> bool:
    """Symbolic zero test (``simplify``); use on small expressions only."""
    return sp.simplify(expr) == 0


# ----------------------------------------------------------------------------------------------------------
# one neuron (2.1)-(2.9)
# ----------------------------------------------------------------------------------------------------------
def total_gradient(loss: sp.Expr, phi: sp.Symbol = PHI, beta: sp.Symbol = BETA) -> sp.Expr:
    """``dH/dbeta = dH/dbeta|explicit + dH/dphi dphi/dbeta`` with ``dphi/dbeta = 1`` (2.3)-(2.4)."""
    return sp.diff(loss, beta) + sp.diff(loss, phi)


@dataclasses.dataclass(frozen=True)
class NeuronDuality:
    """One neuron: the loss ``H(phi, beta)``, its dual Hamiltonian ``Ham(phi, beta)`` and the potential ``V``.

    ``F`` is ``F(w)`` of (2.9) (``None`` for ``F = 0``).
    """

    loss: sp.Expr
    hamiltonian: sp.Expr
    potential: sp.Expr
    F: sp.Expr | None = None

    # -- the equations -----------------------------------------------------------------------------------
    def learning_rhs(self) -> sp.Expr:
        """``-(dH/dbeta + dH/dphi)`` (2.4), a function of phi only for a dual pair (2.8).

        Written as ``-(dH/dbeta + dH/dphi)`` at ``beta = phi``, where the ``F(phi - beta)`` terms cancel
        automatically (the value is the same for every beta; user input never goes through ``simplify``,
        whose cost is unbounded).
        """
        return -total_gradient(self.loss).subs(BETA, PHI)

    def activation(self) -> sp.Eq:
        """(2.1) with step dt: ``phi(t+dt) = phi(t) + dt beta(t)``."""
        return sp.Eq(sp.Symbol("phi(t+dt)"), PHI + DT * BETA, evaluate=False)

    def learning(self) -> sp.Eq:
        """(2.2)/(2.4) with learning rate dt: ``beta(t+dt) = beta(t) - dt (dH/dbeta + dH/dphi)``."""
        return sp.Eq(sp.Symbol("beta(t+dt)"), BETA + DT * self.learning_rhs(), evaluate=False)

    def continuum(self) -> tuple[sp.Eq, sp.Eq]:
        """(2.5): ``dphi/dt = beta``, ``dbeta/dt = -(dH/dbeta + dH/dphi)``."""
        return (
            sp.Eq(sp.Symbol("dphi/dt"), BETA, evaluate=False),
            sp.Eq(sp.Symbol("dbeta/dt"), self.learning_rhs(), evaluate=False),
        )

    def hamilton(self) -> tuple[sp.Eq, sp.Eq]:
        """Hamilton's equations (2.6) of the Hamiltonian: ``dphi/dt = dHam/dbeta``, ``dbeta/dt = -dHam/dphi``."""
        h = self.hamiltonian
        return (
            sp.Eq(sp.Symbol("dphi/dt"), sp.diff(h, BETA), evaluate=False),
            sp.Eq(sp.Symbol("dbeta/dt"), -sp.diff(h, PHI), evaluate=False),
        )

    def residual(self) -> float:
        """Measured mismatch between (2.5) and (2.6): ``max |beta - dHam/dbeta| + |rhs(2.5) + dHam/dphi|``."""
        r1 = BETA - sp.diff(self.hamiltonian, BETA)
        r2 = -total_gradient(self.loss) + sp.diff(self.hamiltonian, PHI)
        return max(measure(r1), measure(r2))

    # -- output ----------------------------------------------------------------------------------------
    def lines(self, latex: bool = False) -> list[tuple[str, str]]:
        """``(label, formula)`` pairs: the Hamiltonian, potential, loss and the four equations."""
        if latex:
            def fmt(lhs: str, rhs: sp.Expr) -> str:
                return f"{lhs} = {sp.latex(rhs)}"
            ham, loss, v = r"\mathcal{H}(\phi, \beta)", r"H(\phi, \beta)", r"\mathcal{V}(\phi)"
            eqs = [
                (r"\phi(t+dt)", PHI + DT * BETA), (r"\beta(t+dt)", BETA + DT * self.learning_rhs()),
                (r"\frac{d\phi}{dt}", BETA), (r"\frac{d\beta}{dt}", self.learning_rhs()),
            ]
            hh = self.hamilton()
            heqs = [(r"\frac{\partial \mathcal{H}}{\partial \beta}", hh[0].rhs),
                    (r"-\frac{\partial \mathcal{H}}{\partial \phi}", hh[1].rhs)]
            f = r"F(w)"
        else:
            def fmt(lhs: str, rhs: sp.Expr) -> str:
                return sp.pretty(sp.Eq(sp.Symbol(lhs), rhs, evaluate=False), use_unicode=True)

            ham, loss, v, f = "Ham(phi, beta)", "H(phi, beta)", "V(phi)", "F(w)"
            eqs = [
                ("phi(t+dt)", PHI + DT * BETA), ("beta(t+dt)", BETA + DT * self.learning_rhs()),
                ("dphi/dt", BETA), ("dbeta/dt", self.learning_rhs()),
            ]
            hh = self.hamilton()
            heqs = [("dHam/dbeta", hh[0].rhs), ("-dHam/dphi", hh[1].rhs)]
        out = [
            ("Hamiltonian (2.7)", fmt(ham, self.hamiltonian)),
            ("potential (2.8)", fmt(v, self.potential)),
            ("loss (2.9)", fmt(loss, self.loss)),
        ]
        if self.F is not None:
            out.append(("F in (2.9)", fmt(f, self.F)))
        out += [
            ("activation (2.1)", fmt(eqs[0][0], eqs[0][1])),
            ("learning (2.4)", fmt(eqs[1][0], eqs[1][1])),
            ("continuum (2.5)", fmt(eqs[2][0], eqs[2][1])),
            ("", fmt(eqs[3][0], eqs[3][1])),
            ("Hamilton's equations (2.6)", fmt(eqs[2][0], heqs[0][1])),
            ("", fmt(eqs[3][0], heqs[1][1])),
        ]
        return out

    def report(self, latex: bool = False) -> str:
        rows = self.lines(latex)
        if latex:
            return "\n".join(f"% {label}\n{formula}" if label else formula for label, formula in rows)
        width = max(len(label) for label, _ in rows)
        text = []
        for label, formula in rows:
            block = formula.split("\n")
            base = next((i for i, r in enumerate(block) if " = " in r), 0)  # the row of the equals sign
            text.extend(f"{label if i == base else '':<{width}}  {r}".rstrip() for i, r in enumerate(block))
        return "\n".join(text)


def loss_from_hamiltonian(hamiltonian: sp.Expr, F: sp.Expr | None = None, tol: float = 1e-10) -> NeuronDuality:
    """Hamiltonian (2.7) ``beta^2/2 + V(phi)`` -> loss (2.9) ``V(phi) + F(phi - beta)``.

    ``F`` is an expression in :data:`W_ARG` (``w``) or ``None`` (``F = 0``).

    Raises:
        HamiltonianFormError: ``Ham - beta^2/2`` depends on beta (measured: ``max |d/dbeta (Ham - beta^2/2)|``).
    """
    hamiltonian = sp.sympify(hamiltonian)
    rest = hamiltonian - BETA**2 / 2
    viol = measure(sp.diff(rest, BETA), rest)
    if not viol <= tol:
        raise HamiltonianFormError(
            "Ham = beta^2/2 + V(phi) (2.7)", viol,
            f"Ham - beta^2/2 = {rest} depends on beta; one neuron with W = 1 realizes only (2.7)",
        )
    V = rest.subs(BETA, 0)
    loss = V if F is None else V + F.subs(W_ARG, PHI - BETA)
    return NeuronDuality(loss=loss, hamiltonian=BETA**2 / 2 + V, potential=V, F=F)


def _regular_point(loss: sp.Expr) -> sp.Expr:
    """A point ``p`` (0 if possible) where ``H(p, p)`` is finite: the reference of the V/F split."""
    for p in (0, 1, sp.Rational(1, 2), -1, 2, sp.Rational(1, 3)):
        val = loss.subs({PHI: p, BETA: p}, simultaneous=True)
        if val.is_finite is not False and not val.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            return sp.Integer(p) if isinstance(p, int) else p
    raise LossFormError("the loss is finite somewhere on phi = beta", float("inf"),
                        "H(p, p) is singular at every reference point tried")


def hamiltonian_from_loss(loss: sp.Expr, tol: float = 1e-10) -> NeuronDuality:
    """Loss ``H(phi, beta)`` -> potential (2.8) and Hamiltonian (2.7), when the loss has the form (2.9).

    (2.8) requires ``D = dH/dbeta + dH/dphi`` to depend on phi only; then ``H = V(phi) + F(phi - beta)`` with
    (no integration needed) ``V(phi) = H(phi, phi) - H(p, p)`` and ``F(w) = H(p, p - w)`` for a regular
    reference point ``p`` (0 when ``H`` is finite there).

    Raises:
        LossFormError: ``dD/dbeta != 0`` (measured relative to ``D``), or the split does not reproduce ``H``.
    """
    loss = sp.sympify(loss)
    D = total_gradient(loss)
    viol = measure(sp.diff(D, BETA), D)
    if not viol <= tol:
        raise LossFormError(
            "dH/dbeta + dH/dphi depends on phi only (2.8)", viol,
            "the loss is not of the form V(phi) + F(phi - beta) (2.9), so no Hamiltonian beta^2/2 + V(phi) is dual",
        )
    ref = _regular_point(loss)
    V = loss.subs(BETA, PHI) - loss.subs({PHI: ref, BETA: ref}, simultaneous=True)
    F = loss.subs({PHI: ref, BETA: ref - W_ARG}, simultaneous=True)
    rebuilt = V + F.subs(W_ARG, PHI - BETA)
    viol2 = measure(loss - rebuilt, loss)
    if not viol2 <= tol:
        raise LossFormError("H = V(phi) + F(phi - beta) (2.9)", viol2, "the split does not reproduce the loss")
    F_out = None if F == 0 else F
    return NeuronDuality(loss=loss, hamiltonian=BETA**2 / 2 + V, potential=V, F=F_out)


def general_one_neuron_residual() -> sp.Expr:
    """The total gradient of ``V(phi) + F(phi - beta)`` minus ``V'(phi)`` for undefined functions V, F.

    Returns the simplified residual; it is exactly ``0``: the F terms cancel in (2.4) for *any* F (2.9).
    """
    V, F = sp.Function("V"), sp.Function("F")
    loss = V(PHI) + F(PHI - BETA)
    return sp.simplify(total_gradient(loss) - sp.diff(V(PHI), PHI))


# ----------------------------------------------------------------------------------------------------------
# N neurons (2.10)-(2.16)
# ----------------------------------------------------------------------------------------------------------
def neuron_symbols(n: int) -> tuple[list[sp.Symbol], list[sp.Symbol], list[sp.Symbol]]:
    """``phi_1..n``, ``pi_1..n``, ``beta_1..n`` (real)."""
    return (
        list(sp.symbols(f"phi_1:{n + 1}", real=True)),
        list(sp.symbols(f"pi_1:{n + 1}", real=True)),
        list(sp.symbols(f"beta_1:{n + 1}", real=True)),
    )


def hamiltonian_214(W: sp.Matrix, V: sp.Expr, phis: Sequence[sp.Symbol], betas: Sequence[sp.Symbol]) -> sp.Expr:
    """(2.14): ``1/2 beta.beta + beta^T (W - I) phi + V(phi)``."""
    n = len(phis)
    b, p = sp.Matrix(betas), sp.Matrix(phis)
    return (b.T * b)[0] / 2 + (b.T * (W - sp.eye(n)) * p)[0] + V


def hessian(V: sp.Expr, phis: Sequence[sp.Symbol]) -> sp.Matrix:
    return sp.Matrix([[sp.diff(V, a, b) for b in phis] for a in phis])


def _matrix_zero(M: sp.Matrix) -> bool:
    return all(sp.simplify(x) == 0 for x in M)


def check_216_conditions(W: sp.Matrix, B: sp.Matrix, V: sp.Expr, phis: Sequence[sp.Symbol]) -> None:
    """Symbolic checks of every condition (2.16) needs; raises the named error with a measured violation."""
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


def potential_term_216(B: sp.Matrix, V: sp.Expr, phis: Sequence[sp.Symbol]) -> sp.Expr:
    """The integral term of (2.16) as the line integral ``int_0^1 phi . (B B^T)^-1 grad V(s phi) ds``.

    Its gradient is ``(B B^T)^-1 grad V`` exactly when the integrability condition holds.
    """
    s = sp.Dummy("s")
    M = (B * B.T).inv()
    grad = sp.Matrix([sp.diff(V, p) for p in phis]).subs({p: s * p for p in phis}, simultaneous=True)
    integrand = sp.expand((sp.Matrix(phis).T * M * grad)[0])
    return sp.simplify(sp.integrate(integrand, (s, 0, 1)))


def loss_216(
    W: sp.Matrix,
    B: sp.Matrix,
    V: sp.Expr,
    phis: Sequence[sp.Symbol],
    pis: Sequence[sp.Symbol],
    F: Sequence[Callable[[sp.Expr], sp.Expr]] | None = None,
    check: bool = True,
) -> sp.Expr:
    """The loss (2.16) ``1/2 pi^T (W - I) pi + U(phi) + sum_i F_i(phi_i - (B pi)_i)``.

    With ``check`` every condition is verified first (:func:`check_216_conditions`).
    """
    if check:
        check_216_conditions(W, B, V, phis)
    n = len(phis)
    P = sp.Matrix(pis)
    loss = (P.T * (W - sp.eye(n)) * P)[0] / 2 + potential_term_216(B, V, phis)
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


# ----------------------------------------------------------------------------------------------------------
# the general linear system (2.17)-(2.21)
# ----------------------------------------------------------------------------------------------------------
def linear_network_matrix(W: sp.Matrix, B: sp.Matrix, A: sp.Matrix, V: sp.Matrix) -> sp.Matrix:
    """(2.18): ``d(phi, beta)/dt = [[W - I, I], [B A, B (V - I) B^-1]] (phi, beta)``."""
    n = W.shape[0]
    eye = sp.eye(n)
    return sp.Matrix(sp.BlockMatrix([[W - eye, eye], [B * A, B * (V - eye) * B.inv()]]))


def matrices_219(W: sp.Matrix, B: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """(2.19): ``A = -B^T``, ``V = 2I - B^-1 W B``."""
    return -B.T, 2 * sp.eye(W.shape[0]) - B.inv() * W * B


def hamiltonian_221(W: sp.Matrix, B: sp.Matrix, phis: Sequence[sp.Symbol], betas: Sequence[sp.Symbol]) -> sp.Expr:
    """(2.21): ``1/2 phi^T B B^T phi + 1/2 beta.beta + beta^T (W - I) phi``."""
    p, b = sp.Matrix(phis), sp.Matrix(betas)
    n = len(phis)
    return (p.T * B * B.T * p)[0] / 2 + (b.T * b)[0] / 2 + (b.T * (W - sp.eye(n)) * p)[0]


def loss_220(W: sp.Matrix, B: sp.Matrix, phis: Sequence[sp.Symbol], pis: Sequence[sp.Symbol]) -> sp.Expr:
    """(2.20): ``1/2 phi.phi - 1/2 pi.pi + 1/2 pi^T (B^-1 W B) pi``."""
    p, q = sp.Matrix(phis), sp.Matrix(pis)
    return (p.T * p)[0] / 2 - (q.T * q)[0] / 2 + (q.T * B.inv() * W * B * q)[0] / 2


def quadratic_matrix(expr: sp.Expr, variables: Sequence[sp.Symbol]) -> sp.Matrix:
    """The symmetric matrix ``M`` with ``expr = 1/2 z^T M z`` (Hessian of a quadratic form)."""
    return sp.Matrix([[sp.diff(expr, a, b) for b in variables] for a in variables])


def hamilton_matrix(hamiltonian: sp.Expr, phis: Sequence[sp.Symbol], betas: Sequence[sp.Symbol]) -> sp.Matrix:
    """``J M`` with ``J = [[0, I], [-I, 0]]``: Hamilton's equations of a quadratic Hamiltonian as a matrix."""
    n = len(phis)
    M = quadratic_matrix(hamiltonian, list(phis) + list(betas))
    J = sp.Matrix(sp.BlockMatrix([[sp.zeros(n), sp.eye(n)], [-sp.eye(n), sp.zeros(n)]]))
    return J * M


def loss_network_matrix(loss: sp.Expr, B: sp.Matrix, W: sp.Matrix, phis: Sequence[sp.Symbol],
                        pis: Sequence[sp.Symbol]) -> tuple[sp.Matrix, sp.Matrix]:
    """The ``(A, V)`` a quadratic loss produces by gradient descent: ``dpi/dt = A phi + (V - I) pi``.

    ``dpi/dt = -(dH/dpi + B^T dH/dphi)`` read off as a linear map (single-step backprop).
    """
    n = len(phis)
    grad = sp.Matrix([sp.diff(loss, p) for p in pis]) + B.T * sp.Matrix([sp.diff(loss, q) for q in phis])
    rhs = -grad
    A = rhs.jacobian(list(phis))
    Vm = rhs.jacobian(list(pis)) + sp.eye(n)
    return A, Vm
