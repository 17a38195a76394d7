"""``nnfield dual``: the one-neuron Hamiltonian <-> loss duality (paper (2.1)-(2.9)) from the command line.

    nnfield dual --hamiltonian "beta**2/2 + phi**4/4" [--F "sin(w)"] [--latex | --json]
    nnfield dual --loss "phi**4/4 + (phi - beta)**2" [--param lam=0.5] [--latex | --json]

Expressions use the variables ``phi`` and ``beta`` (``w`` in ``--F``), the constants ``pi`` and ``E``, the
functions sin cos tan exp log sqrt sinh cosh tanh abs sign (``Abs`` is read as abs), and parameters declared
with ``--param NAME`` (kept symbolic) or ``--param NAME=VALUE``.
They are read by the safe parser (:mod:`nnfield.duality.parse`), never evaluated as Python, within its
limits (length, size, nesting of transcendental functions and of powers, size of constants). ``--param`` may
not name a variable (:data:`RESERVED`) or a constant. The SymPy work runs under a wall-clock limit (``--time-limit``,
default :data:`DEFAULT_TIME_LIMIT` s). Errors, and a computation over the limit, print one line and return
exit status 2.

``--json`` prints one JSON object (:func:`compute_json`): the direction, the input, the Hamiltonian, potential,
loss and ``F`` (each as ``expr``, in the expression language, which ``--hamiltonian``/``--loss`` read back, and
``latex``), the equations (activation, learning, continuum, Hamilton's), the conditions with their measured
values and the notes the text prints. Every ``expr`` and ``rhs`` is checked to read back, through the safe
parser, to the expression it prints (floats with all 17 digits); a result the language cannot write
(``I``, ``DiracDelta`` from the derivative of ``sign``, ``atan2``, ...) is refused with one line naming it.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..errors import NNFieldError

DEFAULT_TIME_LIMIT = 10.0
#: ``nnfield dual --help``: what the command does (plain text: argparse prints it as is)
DESCRIPTION = ("The Hamiltonian <-> loss duality of one neuron (paper (2.1)-(2.9)): give a Hamiltonian (2.7) "
               "and get its dual loss (2.9), or give a loss and get its Hamiltonian; printed with the network's "
               "activation and learning equations and Hamilton's equations, and the measured residual between them.")
#: names that are variables of ``nnfield dual`` (expressions, F, and the printed equations), not parameters
RESERVED = ("phi", "beta", "w", "t", "dt")
#: ``nnfield dual --help``: examples and the expression syntax (plain text)
EPILOG = f"""examples:
  nnfield dual --hamiltonian "beta**2/2 + phi**4/4"
  nnfield dual --loss "lam*phi**4/4 + sin(phi - beta)" --param lam
  nnfield dual --hamiltonian "beta**2/2 + 1 - cos(phi)" --F "w**2" --latex
  nnfield dual --hamiltonian "beta**2/2 + phi**4/4" --json

Expressions use the variables phi and beta (w in --F), numbers, the constants pi and
E, + - * / ** and the functions sin cos tan exp log sqrt sinh cosh tanh abs sign (Abs
is read as abs); other names must be declared with --param NAME (kept symbolic) or
--param NAME=VALUE (not one of {", ".join(RESERVED)}, pi, E). They are read by a
whitelist parser, never evaluated as Python; the expressions --json prints read back.
Bad input, or symbolic work longer than --time-limit, prints one line and exits with
status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``dual`` options to ``parser``."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--hamiltonian", metavar="EXPR",
        help='Hamiltonian (2.7) in phi, beta, e.g. "beta**2/2 + phi**4/4": prints the dual loss (2.9)',
    )
    group.add_argument(
        "--loss", metavar="EXPR",
        help='loss H(phi, beta), e.g. "phi**4/4 + sin(phi - beta)": prints the dual Hamiltonian (2.7)',
    )
    parser.add_argument(
        "--F", dest="F", metavar="EXPR", default=None,
        help='with --hamiltonian: the arbitrary F(w) of (2.9), an expression in w (default 0)',
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME[=VALUE]",
        help="declare a parameter (symbolic, or with a numeric value); repeatable",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true", help="print LaTeX instead of pretty text")
    out.add_argument("--json", action="store_true", help="print one JSON object (expressions, equations, "
                     "conditions; for scripts) instead of pretty text")
    parser.add_argument(
        "--time-limit", dest="time_limit", metavar="SECONDS", type=float, default=DEFAULT_TIME_LIMIT,
        help=f"refuse (exit 2) when the symbolic work takes longer (default {DEFAULT_TIME_LIMIT:g} s)",
    )


def _params(items: list[str]) -> tuple[list[str], dict[str, float]]:
    from .parse import CONSTANTS, ExpressionError

    names: list[str] = []
    values: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not name:
            raise ExpressionError(f"--param {item!r}: expected NAME or NAME=VALUE")
        if name in CONSTANTS:
            raise ExpressionError(f"--param {item!r}: {name!r} is the constant {name} = {CONSTANTS[name]!r}, "
                                  "not a parameter")
        if name in RESERVED:
            raise ExpressionError(
                f"--param {item!r}: {name!r} is a variable, not a parameter (reserved: {', '.join(RESERVED)})"
            )
        if name in names or name in values:
            raise ExpressionError(f"--param {item!r}: {name!r} is declared twice; give each parameter once")
        if sep:
            try:
                val = float(raw)
            except ValueError:
                raise ExpressionError(f"--param {item!r}: the value {raw.strip()!r} is not a number") from None
            if not math.isfinite(val):
                raise ExpressionError(f"--param {item!r}: the value must be finite")
            values[name] = val
        else:
            names.append(name)
    return names, values


def compute(args: Any) -> str:
    """The report for parsed ``args`` (raises :class:`~nnfield.errors.NNFieldError` on bad input).

    Raises:
        TimeLimitError: the symbolic work took longer than ``args.time_limit`` seconds.
    """
    if getattr(args, "json", False):
        import json

        return json.dumps(compute_json(args), indent=2)
    return _limited(args, _text)


def compute_json(args: Any) -> dict[str, Any]:
    """The duality for parsed ``args`` as a JSON-ready dict (what ``nnfield dual --json`` prints).

    Keys: ``direction`` (``"hamiltonian -> loss"`` or ``"loss -> hamiltonian"``), ``input`` (the expressions and
    parameters as given), ``hamiltonian``, ``potential``, ``loss``, ``F`` (``null`` for ``F = 0``; each
    ``{"expr", "latex"}``), ``equations`` (``activation``, ``learning``, ``continuum``, ``hamilton``: ``{"lhs",
    "rhs", "latex"}``), ``conditions`` (each ``{"equation", "holds", "measured"}``) and ``notes``.

    Raises:
        TimeLimitError: the symbolic work took longer than ``args.time_limit`` seconds.
    """
    return _limited(args, _json)


def _limited(args: Any, fmt: Any) -> Any:
    from .timelimit import time_limit

    limit = args.time_limit
    if not (isinstance(limit, (int, float)) and math.isfinite(limit) and limit > 0):
        from .parse import ExpressionError

        raise ExpressionError(f"--time-limit {limit!r}: expected a positive number of seconds")
    with time_limit(limit, "nnfield dual"):
        return fmt(args, *_dual(args))


def _dual(args: Any) -> tuple[Any, str, Any, list[str], dict[str, float]]:
    """``(duality, title, F, symbolic parameter names, parameter values)`` of ``args``."""
    from . import symbolic as S
    from .parse import ExpressionError

    names, values = _params(list(args.param))
    F = None
    if args.F is not None:
        if args.hamiltonian is None:
            raise ExpressionError("--F goes with --hamiltonian (a loss already contains its F)")
        F = S.parse_sympy(args.F, ("w",), names, values).subs(S.sp.Symbol("w", real=True), S.W_ARG)
    if args.hamiltonian is not None:
        dual = S.loss_from_hamiltonian(S.parse_sympy(args.hamiltonian, ("phi", "beta"), names, values), F,
                                       parameters=names)
        title = "Hamiltonian -> loss"
    else:
        dual = S.hamiltonian_from_loss(S.parse_sympy(args.loss, ("phi", "beta"), names, values), parameters=names)
        title = "loss -> Hamiltonian"
    return dual, title, F, names, values


def _text(args: Any, dual: Any, title: str, F: Any, names: list[str], values: dict[str, float]) -> str:
    residual = dual.residual()
    if args.latex:
        head = f"% nnfield dual: {title} (one neuron, paper (2.1)-(2.9))"
        tail = f"% check: (2.5) equals Hamilton's equations (2.6), measured residual {residual:.1e}"
    else:
        head = f"One neuron, {title} (paper (2.1)-(2.9)); H = loss, Ham = Hamiltonian, dt = learning rate"
        tail = f"check: learning (2.5) equals Hamilton's equations (2.6), measured residual {residual:.1e}"
        if args.hamiltonian is not None and F is None:
            tail = "any F(phi - beta) may be added to the loss (2.9) (--F EXPR in w)\n" + tail
    return "\n".join([head, dual.report(latex=args.latex), tail])


def _json(args: Any, dual: Any, title: str, F: Any, names: list[str], values: dict[str, float]) -> dict[str, Any]:
    import sympy as sp

    from .symbolic.neuron import total_gradient
    from .symbolic.zero import measure

    def text(what: str, e: Any) -> str:
        """``e`` in the expression language; refused (one line) when it does not read back to ``e``."""
        out = to_text(e)
        why = read_back(out, e, names)
        if why is not None:
            raise ExpressionError(
                f"--json: the {what} cannot be written in the expression language that reads it back ({why}); "
                "the text output (without --json) shows it"
            )
        return out

    def expr(what: str, e: Any) -> dict[str, str] | None:
        return None if e is None else {"expr": text(what, e), "latex": sp.latex(e)}

    tex = {"phi(t+dt)": r"\phi(t+dt)", "beta(t+dt)": r"\beta(t+dt)", "dphi/dt": r"\frac{d\phi}{dt}",
           "dbeta/dt": r"\frac{d\beta}{dt}"}

    def eq(what: str, lhs: str, rhs: Any) -> dict[str, str]:
        return {"lhs": lhs, "rhs": text(f"{what} {lhs}", rhs), "latex": f"{tex[lhs]} = {sp.latex(rhs)}"}

    from .parse import ExpressionError
    from .symbolic.convert import BETA, DT, PHI, read_back, to_text

    rhs = dual.learning_rhs()
    ham = dual.hamilton()
    residual = dual.residual()
    ham_form = measure(sp.diff(dual.hamiltonian - BETA**2 / 2, BETA))  # (2.7): Ham - beta^2/2 has no beta
    dual_condition = measure(sp.diff(dual.potential, PHI) - total_gradient(dual.loss))  # (2.8), any beta
    notes = []
    if args.hamiltonian is not None and F is None:
        notes.append("any F(phi - beta) may be added to the loss (2.9) (--F EXPR in w)")
    tol = 1e-10
    return {
        "direction": title.lower(),
        "input": {"hamiltonian": args.hamiltonian, "loss": args.loss, "F": args.F,
                  "parameters": {**{n: None for n in names}, **values}},
        "hamiltonian": expr("Hamiltonian", dual.hamiltonian),
        "potential": expr("potential", dual.potential),
        "loss": expr("loss", dual.loss),
        "F": expr("F", dual.F),
        "equations": {
            "activation": eq("activation", "phi(t+dt)", PHI + DT * BETA),
            "learning": eq("learning equation", "beta(t+dt)", BETA + DT * rhs),
            "continuum": [eq("continuum equation", "dphi/dt", BETA),
                          eq("continuum equation", "dbeta/dt", rhs)],
            "hamilton": [eq("Hamilton equation", "dphi/dt", ham[0].rhs),
                         eq("Hamilton equation", "dbeta/dt", ham[1].rhs)],
        },
        "conditions": [
            {"equation": "(2.7)", "condition": "Ham - beta^2/2 does not depend on beta",
             "holds": ham_form <= tol, "measured": ham_form},
            {"equation": "(2.8)", "condition": "dV/dphi = dH/dbeta + dH/dphi",
             "holds": dual_condition <= tol, "measured": dual_condition},
            {"equation": "(2.5) = (2.6)", "condition": "learning equals Hamilton's equations",
             "holds": residual <= tol, "measured": residual},
        ],
        "notes": notes,
    }


def run(args: Any) -> int:
    """Run ``nnfield dual``; returns the exit status (2 on bad input, with one line on stderr)."""
    try:
        print(compute(args))
    except (NNFieldError, ValueError, TypeError) as exc:
        msg = " ".join(str(exc).split())
        print(f"nnfield dual: error: {msg}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m nnfield.duality.command``)."""
    parser = argparse.ArgumentParser(prog="nnfield dual", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
