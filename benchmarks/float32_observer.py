"""What evaluating a float32 run's observables in float64 costs (session 42, ``nnfield.runner.observables_of``).

    python benchmarks/float32_observer.py                                   # the three cases below
    python benchmarks/float32_observer.py --only kg_3d_random --rounds 3 --out benchmarks/RESULTS.md

For each case an example's config is built at float32 on a larger lattice, with an observation every ``--every``
ticks, and ``nnfield.network.run`` advances it (the run's compiled loop: ticks and observer in one program, with
nnfield's compile options) for about ``--work`` site-updates, best of ``--repeats`` after one compiling call. The two
variants run in separate processes, alternated ``--rounds`` times (``float64``: the observables' sums accumulated in
float64, the default since session 42; ``float32``: in the run's precision, ``runner.SUMS_IN_FLOAT64 = False``, as
before).
Printed: million site-updates per second of each and their ratio, per round and for the best of the rounds (the
machine's load varies between processes; the best is the least disturbed). The accuracy the change buys is
measured by ``scripts/float32_observables.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: (example, lattice side): Klein-Gordon, the 3D Dirac network with its Wilson bias, and 3D Maxwell-Dirac
CASES = {"kg_3d_random": 96, "dirac_3p1": 48, "maxwell_dirac_field_3d": 32}


def _child(name: str, n: int, variant: str, every: int, work: float, repeats: int) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    from nnfield import runner
    from nnfield._xla import jit
    from nnfield.config import parse_config
    from nnfield.network import _run_impl

    runner.SUMS_IN_FLOAT64 = variant == "float64"
    text = (ROOT / "examples" / f"{name}.toml").read_text()
    dims = len(re.search(r"^shape = \[([^\]]*)\]", text, re.M).group(1).split(","))
    text = re.sub(r"^shape = \[[^\]]*\]", f"shape = {[n] * dims}", text, flags=re.M)
    text = re.sub(r'^precision\s*=.*$', "", text, flags=re.M).replace("[output]", '[output]\nprecision = "float32"', 1)
    model, state = runner.build(parse_config(text, source=name))
    observer = runner.observer_for(model, state)
    sites = n**dims
    steps = max(every, int(work / sites) // every * every)
    f = jit(_run_impl, static_argnames=("steps", "every"))
    jax.block_until_ready(f(model.network, state, steps, every, observer))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(model.network, state, steps, every, observer))
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"rate": steps * sites / best / 1e6, "steps": steps}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--work", type=float, default=3e7, help="site-updates per timed call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=None, help="append the table to this file (e.g. benchmarks/RESULTS.md)")
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, variant = args.child
        _child(name, CASES[name], variant, args.every, args.work, args.repeats)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _report import emit

    rows = []
    for name, n in CASES.items():
        if args.only and name not in args.only:
            continue
        best = {"float32": 0.0, "float64": 0.0}
        for r in range(args.rounds):
            rate = {}
            for variant in (("float32", "float64") if r % 2 == 0 else ("float64", "float32")):
                out = subprocess.run([sys.executable, __file__, "--child", name, variant, "--every", str(args.every),
                                      "--work", str(args.work), "--repeats", str(args.repeats)],
                                     capture_output=True, text=True, check=True, cwd=ROOT)
                rate[variant] = json.loads(out.stdout.strip().splitlines()[-1])["rate"]
            rows.append(f"| {name} | {n}^{3} | {r + 1} | {rate['float32']:.1f} | {rate['float64']:.1f} | "
                        f"{rate['float64'] / rate['float32']:.2f} |")
            print(rows[-1], flush=True)
            best = {k: max(v, rate[k]) for k, v in best.items()}
        rows.append(f"| {name} | {n}^{3} | best | {best['float32']:.1f} | {best['float64']:.1f} | "
                    f"**{best['float64'] / best['float32']:.2f}** |")
    emit(["# A float32 run's observable sums in float64: the cost", "",
          f"`python benchmarks/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}` ({os.cpu_count()} cores, an "
          f"observation every {args.every} ticks, best of {args.repeats}, load {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}). Million site-updates per second:", "",
          "| example (float32) | lattice | round | sums in float32 | in float64 | ratio |",
          "|---|---|---|---|---|---|", *rows, ""], args.out)


if __name__ == "__main__":
    main()
