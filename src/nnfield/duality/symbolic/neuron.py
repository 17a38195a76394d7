r"""One neuron, paper (2.1)-(2.9), in SymPy: the loss <-> Hamiltonian duality in both directions.

Activation ``phi <- phi + beta`` and learning ``beta <- beta - (dH/dbeta + dH/dphi)`` (single-step backprop,
(2.3)-(2.4)) are, in continuous time (2.5), Hamilton's equations (2.6) (the paper says "Hamilton-Jacobi";
they are Hamilton's equations) of ``Ham = beta^2/2 + V(phi)`` (2.7) iff ``dV/dphi = dH/dbeta + dH/dphi``
(2.8), i.e. iff the loss is ``H = V(phi) + F(phi - beta)`` (2.9) for an arbitrary F: the F terms cancel in the
total gradient. Conditions are decided numerically (:func:`~.zero.measure`); the results are exact SymPy
expressions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import sympy as sp

from ..conditions import HamiltonianFormError, LossFormError
from .convert import BETA, DT, PHI, W_ARG
from .inputs import as_expr, check_symbols, parameter_names, read_expression
from .zero import magnitude, measure, within_float_range


def total_gradient(loss: sp.Expr, phi: sp.Symbol = PHI, beta: sp.Symbol = BETA) -> sp.Expr:
    """``dH/dbeta = dH/dbeta|explicit + dH/dphi dphi/dbeta`` with ``dphi/dbeta = 1`` (2.3)-(2.4).

    Raises:
        TypeError: ``loss`` is not a SymPy expression or number (text: build it with ``parse_sympy``), or
            ``phi``/``beta`` are not SymPy symbols.
    """
    loss = as_expr(loss, "loss")
    for name, s in (("phi", phi), ("beta", beta)):
        if not isinstance(s, sp.Symbol):
            raise TypeError(f"{name}: expected a SymPy symbol, got {type(s).__name__}")
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

    def __post_init__(self) -> None:
        """SymPy expressions or numbers only (text would reach ``sympify`` through ``diff``)."""
        for field in ("loss", "hamiltonian", "potential", "F"):
            value = getattr(self, field)
            if value is not None or field != "F":
                object.__setattr__(self, field, as_expr(value, field))

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


def loss_from_hamiltonian(
    hamiltonian: sp.Expr | str,
    F: sp.Expr | str | None = None,
    tol: float = 1e-10,
    *,
    parameters: Iterable[str | sp.Symbol] | None = None,
) -> NeuronDuality:
    """Hamiltonian (2.7) ``beta^2/2 + V(phi)`` -> loss (2.9) ``V(phi) + F(phi - beta)``.

    ``hamiltonian`` is a SymPy expression in :data:`PHI`, :data:`BETA` and parameters, or text in ``phi``,
    ``beta`` and the declared ``parameters``, read by the safe parser (:func:`~.convert.parse_sympy`; never by
    ``sympify``). ``F`` is ``F(w)`` of (2.9), a function of ``w = phi - beta`` only: an expression in
    :data:`W_ARG` and parameters (text in ``w``), a number, or ``None`` (``F = 0``).

    ``parameters`` (names or symbols) are the symbols besides the variables the expressions may contain
    (``lam`` in ``lam*phi**4/4``). Without them, SymPy input may contain any real symbol not named like a
    variable (what ``parse_sympy`` builds for declared parameters), text none.

    Raises:
        ExpressionError: text that the safe parser refuses; a symbol that is neither a variable nor a parameter
            (``x`` in ``beta**2/2 + x**2``, or ``phi``/``beta`` in ``F``: then the loss would not be dual).
        TypeError: an argument is neither text nor a SymPy expression or number.
        HamiltonianFormError: ``Ham - beta^2/2`` depends on beta (measured: ``max |d/dbeta (Ham - beta^2/2)|`` relative
            to the magnitude of its terms, :func:`~.zero.magnitude`).
    """
    names = parameter_names(parameters)
    hamiltonian = read_expression(hamiltonian, "hamiltonian", ("phi", "beta"), names)
    check_symbols(hamiltonian, "hamiltonian", "the Hamiltonian Ham(phi, beta) (2.7)", ("phi", "beta"), names)
    if F is not None:
        F = read_expression(F, "F", ("w",), names)
        check_symbols(F, "F", "F(w) of the loss (2.9), a function of w = phi - beta only,", ("w",), names)
    rest = hamiltonian - BETA**2 / 2
    d_rest = sp.diff(rest, BETA)
    viol = measure(d_rest, magnitude(d_rest), floor=0.0)  # relative to its own terms: a small beta term counts
    if not viol <= tol:
        raise HamiltonianFormError(
            "Ham = beta^2/2 + V(phi) (2.7)", viol,
            f"Ham - beta^2/2 = {rest} depends on beta; one neuron with W = 1 realizes only (2.7)",
        )
    V = rest.subs(BETA, 0)
    loss = V if F is None else V + F.subs(W_ARG, PHI - BETA)
    return NeuronDuality(loss=loss, hamiltonian=BETA**2 / 2 + V, potential=V, F=F)


#: reference points ``p`` and offsets ``w0 = p - beta`` tried for the V/F split, in this order (``w0 = 0`` first)
REFERENCE_POINTS = (0, 1, sp.Rational(1, 2), -1, 2, sp.Rational(1, 3), sp.Rational(-1, 2), -2, sp.Rational(3, 7))
REFERENCE_OFFSETS = (0, 1, -1, sp.Rational(1, 2), sp.Rational(-1, 2), 2, -2)


def _reference(loss: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """A point ``(p, w0)`` where ``H(p, p - w0)`` is finite, and real if possible: the reference of the V/F split.

    ``w0 = 0`` (the line ``phi = beta``) is tried first, with ``p = 0`` first; a loss whose ``F(w)`` is
    singular at ``w = 0`` (``log(phi - beta)``) is split at an offset ``w0 != 0``. A point where the value is
    real is preferred to one where it is complex (``log(-phi)`` at ``p = 1`` would put ``I*pi`` into V and F).
    Points where an intermediate value of ``H(p, p - w0)`` leaves the float64 range are skipped before SymPy
    substitutes them (its exact integer powers, e.g. ``2**2**2**2**2**2``, would run away).

    Raises:
        LossFormError: ``H(p, p - w0)`` is singular at every point tried (no finite value to split at).
    """
    bounded = within_float_range(loss, [PHI, BETA])
    complex_point = None
    for w0 in REFERENCE_OFFSETS:
        for p in REFERENCE_POINTS:
            if not bounded(float(p), float(p - w0)):
                continue
            val = loss.subs({PHI: p, BETA: p - w0}, simultaneous=True)
            if val.is_finite is False or val.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                continue
            point = (sp.sympify(p), sp.sympify(w0))
            if val.is_extended_real is not False and not val.has(sp.I):
                return point
            complex_point = complex_point or point
    if complex_point is not None:
        return complex_point  # complex wherever it is finite: the split is still exact
    raise LossFormError(
        "the loss is finite somewhere", float("inf"),
        "H(phi, beta) is singular at every reference point tried (phi in {0, 1, 1/2, -1, 2, 1/3, -1/2, -2, 3/7}, "
        "phi - beta in {0, 1, -1, 1/2, -1/2, 2, -2}), so V and F cannot be split off",
    )


def hamiltonian_from_loss(
    loss: sp.Expr | str, tol: float = 1e-10, *, parameters: Iterable[str | sp.Symbol] | None = None
) -> NeuronDuality:
    """Loss ``H(phi, beta)`` -> potential (2.8) and Hamiltonian (2.7), when the loss has the form (2.9).

    (2.8) requires ``D = dH/dbeta + dH/dphi`` to depend on phi only; then ``H = V(phi) + F(phi - beta)`` with
    (no integration needed) ``V(phi) = H(phi, phi - w0) - H(p, p - w0)`` and ``F(w) = H(p, p - w)`` for a
    reference point ``(p, w0)`` where ``H`` is finite (:func:`_reference`; ``p = w0 = 0`` when ``H(0, 0)`` is
    finite, then ``V(phi) = H(phi, phi) - H(0, 0)``). Indeed ``H(phi, phi - w0) = V(phi) + F(w0)`` and
    ``H(p, p - w) = V(p) + F(w)``, so the two sum to ``H`` and the constant is shared between them.

    ``loss`` is a SymPy expression in :data:`PHI`, :data:`BETA` and parameters, or text in ``phi``, ``beta``
    and the declared ``parameters`` (read by the safe parser, never by ``sympify``); ``parameters`` as for
    :func:`loss_from_hamiltonian`.

    Raises:
        ExpressionError: text that the safe parser refuses; a symbol that is neither a variable nor a parameter.
        TypeError: ``loss`` is neither text nor a SymPy expression or number.
        LossFormError: ``dD/dbeta != 0`` (measured relative to the magnitude of its terms), ``H`` is singular at
            every reference point tried, or the split does not reproduce ``H``.
    """
    names = parameter_names(parameters)
    loss = read_expression(loss, "loss", ("phi", "beta"), names)
    check_symbols(loss, "loss", "the loss H(phi, beta)", ("phi", "beta"), names)
    D = total_gradient(loss)
    dD = sp.diff(D, BETA)
    viol = measure(dD, magnitude(dD), floor=0.0)  # relative to its own terms, as for the Hamiltonian's form
    if not viol <= tol:
        raise LossFormError(
            "dH/dbeta + dH/dphi depends on phi only (2.8)", viol,
            "the loss is not of the form V(phi) + F(phi - beta) (2.9), so no Hamiltonian beta^2/2 + V(phi) is dual",
        )
    p, w0 = _reference(loss)
    V = loss.subs(BETA, PHI - w0) - loss.subs({PHI: p, BETA: p - w0}, simultaneous=True)
    F = loss.subs({PHI: p, BETA: p - W_ARG}, simultaneous=True)
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
