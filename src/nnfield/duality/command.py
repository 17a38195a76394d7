"""``nnfield dual``: the one-neuron Hamiltonian <-> loss duality (paper (2.1)-(2.9)) from the command line.

    nnfield dual --hamiltonian "beta**2/2 + phi**4/4" [--F "sin(w)"] [--latex]
    nnfield dual --loss "phi**4/4 + (phi - beta)**2" [--param lam=0.5] [--latex]

Expressions use the variables ``phi`` and ``beta`` (``w`` in ``--F``), the functions sin cos tan exp log sqrt
sinh cosh tanh abs, and parameters declared with ``--param NAME`` (kept symbolic) or ``--param NAME=VALUE``.
They are read by the safe parser (:mod:`nnfield.duality.parse`), never evaluated as Python, within its
limits (length, size, nesting of transcendental functions and of powers, size of constants). ``--param`` may
not name a variable (:data:`RESERVED`). The SymPy work runs under a wall-clock limit (``--time-limit``,
default :data:`DEFAULT_TIME_LIMIT` s). Errors, and a computation over the limit, print one line and return
exit status 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ..errors import NNFieldError

DEFAULT_TIME_LIMIT = 10.0
#: names that are variables of ``nnfield dual`` (expressions, F, and the printed equations), not parameters
RESERVED = ("phi", "beta", "w", "pi", "t", "dt")


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
    parser.add_argument("--latex", action="store_true", help="print LaTeX instead of pretty text")
    parser.add_argument(
        "--time-limit", dest="time_limit", metavar="SECONDS", type=float, default=DEFAULT_TIME_LIMIT,
        help=f"refuse (exit 2) when the symbolic work takes longer (default {DEFAULT_TIME_LIMIT:g} s)",
    )


def _params(items: list[str]) -> tuple[list[str], dict[str, float]]:
    from .parse import ExpressionError

    names: list[str] = []
    values: dict[str, float] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not name:
            raise ExpressionError(f"--param {item!r}: expected NAME or NAME=VALUE")
        if name in RESERVED:
            raise ExpressionError(
                f"--param {item!r}: {name!r} is a variable, not a parameter (reserved: {', '.join(RESERVED)})"
            )
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
    from .timelimit import time_limit

    limit = args.time_limit
    if not (isinstance(limit, (int, float)) and math.isfinite(limit) and limit > 0):
        from .parse import ExpressionError

        raise ExpressionError(f"--time-limit {limit!r}: expected a positive number of seconds")
    with time_limit(limit, "nnfield dual"):
        return _compute(args)


def _compute(args: Any) -> str:
    from . import symbolic as S
    from .parse import ExpressionError

    names, values = _params(list(args.param))
    F = None
    if args.F is not None:
        if args.hamiltonian is None:
            raise ExpressionError("--F goes with --hamiltonian (a loss already contains its F)")
        F = S.parse_sympy(args.F, ("w",), names, values).subs(S.sp.Symbol("w", real=True), S.W_ARG)
    if args.hamiltonian is not None:
        dual = S.loss_from_hamiltonian(S.parse_sympy(args.hamiltonian, ("phi", "beta"), names, values), F)
        title = "Hamiltonian -> loss"
    else:
        dual = S.hamiltonian_from_loss(S.parse_sympy(args.loss, ("phi", "beta"), names, values))
        title = "loss -> Hamiltonian"
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
    parser = argparse.ArgumentParser(prog="nnfield dual", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
