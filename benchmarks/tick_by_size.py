"""An example's network tick rate over lattice sizes: is a small run bound by a fixed cost per tick, or by its work?

    python benchmarks/tick_by_size.py examples/maxwell_dirac_packet_2d.toml --sizes 16 32 48 96 192 384
    python benchmarks/tick_by_size.py examples/scalar_qed_vortex_2d.toml --cores 0     # pinned to one core

The example's config is built with its lattice replaced by ``N`` sites per axis (the same spacing, initial kind and
parameters), and ``nnfield.network.run`` advances its network (no observer) for about ``--work`` site-updates,
best of ``--repeats`` after one call that compiles. Printed per size: million site-updates per second and
microseconds per tick. A rate that is flat over the sizes means the tick's own work dominates (the example is
compute-bound); a rate that falls at small sizes, with a floor in microseconds per tick, means a fixed cost per tick
(dispatch, thread hand-off). ``--cores`` pins the process (``os.sched_setaffinity``) to compare one core with
two: where the small sizes are not faster on one core, the threads' hand-off is not the cost either.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from _report import emit  # noqa: E402  (benchmarks/, on the path of a script)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("example", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 48, 96, 192, 384])
    ap.add_argument("--work", type=float, default=2e6, help="site-updates per timed call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cores", type=int, nargs="*", default=None, help="pin to these CPU cores")
    ap.add_argument("--out", default=None, help="append the table to this file (e.g. benchmarks/RESULTS.md)")
    args = ap.parse_args()
    if args.cores:
        os.sched_setaffinity(0, set(args.cores))
    from nnfield import runner
    from nnfield.config import parse_config
    from nnfield.network import run

    text = args.example.read_text()
    dims = len(re.search(r"shape = \[([^\]]*)\]", text).group(1).split(","))
    rows = []
    for n in args.sizes:
        cfg = parse_config(re.sub(r"shape = \[[^\]]*\]", f"shape = {[n] * dims}", text), source=str(args.example))
        model, state = runner.build(cfg)
        sites = n**dims
        steps = max(10, int(args.work / sites))
        jax.block_until_ready(run(model.network, state, steps))
        best = np.inf
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(run(model.network, state, steps))
            best = min(best, time.perf_counter() - t0)
        rows.append(f"| {'x'.join([str(n)] * dims)} | {steps} | {steps * sites / best / 1e6:.2f} | "
                    f"{best / steps * 1e6:.0f} |")
        print(rows[-1], flush=True)
    cores = "all cores" if not args.cores else f"cores {args.cores}"
    emit([f"# Tick rate by lattice size: {args.example.stem}", "",
          f"`python benchmarks/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}` ({cores} of {os.cpu_count()}, "
          f"float64, no observer, best of {args.repeats}; {time.strftime('%Y-%m-%d %H:%M')}):", "",
          "| lattice | ticks | Msite/s | us per tick |", "|---|---|---|---|", *rows, ""], args.out)


if __name__ == "__main__":
    main()
