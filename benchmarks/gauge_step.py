r"""Site-updates per second of a gauged Dirac network step: nnfield vs plain JAX vs a hand-fused numba loop.

The update: one tick of the stable Dirac network with exact U(1) links (paper Sec. 5, link form;
:func:`nnfield.theories.gauge.link_network`; a case ending in ``:paper``: the paper's network (4.26), simultaneous
scheme, learning from the old ``phi``), a uniform magnetic field through the (x, y) plane with
``n_flux`` flux quanta (Landau gauge, as ``examples/gauge_magnetic_2p1.toml``), no temporal link:

    phi' = phi + dt ((W - I) phi + B(U) pi)        pi' = pi - dt (B(U)^T phi' + C pi)

where the bias map ``B(U)`` (forward (4.24) or twisted Wilson with the link ``U_mu,i = X_0^(alpha_mu,i)`` on every
hop) has per-site ``K x K`` coefficients. The three implementations are those of ``benchmarks/dirac_step.py``
(the plain-JAX and numba twins multiply by the per-site coefficient arrays read from the network's ``B(U)``
and ``B(U)^T``); see there and ``benchmarks/README.md``.

Usage::

    python benchmarks/gauge_step.py --quick                      # 2+1 wilson 128^2, float64
    python benchmarks/gauge_step.py --out /tmp/gauge.md          # 2+1 wilson and forward, 128^2 and 512^2
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dirac_step import DT, M, bench_network, default_steps, split_case, table  # noqa: E402
from nnfield import Lattice  # noqa: E402
from nnfield.theories import gauge  # noqa: E402

CASES = ("2+1:wilson", "2+1:forward", "2+1:wilson:paper", "2+1:forward:paper")


def gauged_network(case: str, n: int, n_flux: int) -> object:
    nd, bias, network = split_case(case)
    lat = Lattice((n,) * nd, 1.0)
    links, _ = gauge.uniform_magnetic(lat, n_flux)
    return gauge.link_network(lat, M, DT, links, network=network, bias=bias)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", nargs="+", default=list(CASES),
                    help=f"dimension:bias[:stable|paper] (default {' '.join(CASES)})")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 512], help="N of the N^2 lattices")
    ap.add_argument("--n-flux", type=int, default=4, help="flux quanta through the torus (default 4)")
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--quick", action="store_true", help="2+1 wilson 128^2 only")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed run (default: ~2e7 site-updates)")
    ap.add_argument("--check-steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per implementation; the best is kept")
    ap.add_argument("--out", default=None, help="append the markdown table here")
    args = ap.parse_args(argv)
    cases = ["2+1:wilson"] if args.quick else args.cases
    sizes = [128] if args.quick else args.sizes
    for case in cases:  # a bad case stops the run before the first timing, not after minutes
        if split_case(case)[0] < 2:
            raise SystemExit(f"case {case!r}: a magnetic field through the (x, y) plane needs D >= 2")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rows = []
    for case in cases:
        for n in sizes:
            for dtype in args.dtypes:
                net = gauged_network(case, n, args.n_flux)
                steps = args.steps or default_steps(n * n)
                rows.append(bench_network(case + " B-field", net, dtype, steps, args.check_steps, args.repeats, log))
    tab = table(rows, args.check_steps)
    print(tab)
    if args.out:
        with open(args.out, "a") as fh:
            fh.write(tab + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
