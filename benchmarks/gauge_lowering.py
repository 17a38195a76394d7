r"""The dynamical gauge networks' shifts along the contiguous axis: repeated slice against slice/pad/select (an A/B).

``nnfield.theories.u1._lattice.forward`` / ``backward`` shift the gauge fields with ``nnfield.operators.shift``,
whose ``minor`` argument chooses the CPU lowering of a shift along the contiguous lattice axis: ``"pad"``
(slice/pad/select, the default) or ``"repeat"`` (a slice of the field repeated twice, the form every other axis
has). A gauge network's matter sector declares the lowering of its loss's shifts and of its network's Wilson loss
(``AbstractMatter.minor``): since session 32 the charged scalar (scalar QED) declares ``"repeat"``; with ``"pad"``
XLA:CPU materialized the wrapped edge of each such shift in the learning gradient (``pad(slice(x, [0:1]))``) as a
field-sized temporary, 10 of the 3D scalar-QED loop body's 16 field-sized fusions at 32^3 (``docs/performance.md``,
"Session 32"). Maxwell (no matter) and Maxwell-Dirac keep ``"pad"``; their "repeat" columns here are the variant
not taken (Maxwell: ``"repeat"`` made XLA:CPU run the 16^3 tick's loop on one thread).

For each theory the run's program (``nnfield.network._run_jit``, what ``nnfield run`` executes, ``--steps`` ticks,
one sample after each) is compiled with each lowering (the network's ``wilson`` and ``matter`` replaced by
``equinox.tree_at``), the two executables are timed interleaved (best of ``--repeats``), and the largest difference
between their results and XLA's temporaries (``memory_analysis().temp_size_in_bytes``) are printed. Million
site-updates per second, float64.

Usage::

    python benchmarks/gauge_lowering.py                         # scalar QED, Maxwell, Maxwell-Dirac at 32^3, 64^3
    python benchmarks/gauge_lowering.py --theories scalar-qed --sizes 64 --out benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import equinox as eqx
import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from _report import emit  # noqa: E402  (benchmarks/, on the path of a script)
from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402  (the jitted scan behind nnfield.network.run)
from nnfield.theories.scalar_qed.matter import ScalarMatter  # noqa: E402
from nnfield.theories.u1 import WilsonLoss  # noqa: E402

THEORIES = ("scalar-qed", "maxwell", "maxwell-dirac")


def build(theory: str, n: int):
    """``(network, state)`` of ``theory`` on ``n^3`` (the configurations of ``u1_step.py`` and
    ``maxwell_dirac_step.py``; random transverse-free fields for Maxwell)."""
    if theory == "scalar-qed":
        from nnfield.theories import scalar_qed as sq

        lat = Lattice((n, n, n), 0.5)
        model = sq.model(lat, 0.05, charge=1.0, lam=0.5, v=1.0, m=0.0)
        return model.network, model.encode(*sq.higgs_vacuum(lat, 1.0, 0.5, 1.0, 0.0, 1, 0.1, 0.05))
    if theory == "maxwell":
        from nnfield.theories import maxwell

        model = maxwell.model(Lattice((n, n, n), 1.0), 0.05, charge=1.0)
        rng = np.random.default_rng(0)
        return model.network, model.encode(0.1 * rng.standard_normal((3, n, n, n)),
                                           0.1 * rng.standard_normal((3, n, n, n)))
    if theory == "maxwell-dirac":
        from nnfield.theories import maxwell_dirac as md
        from nnfield.theories.maxwell_dirac.initial import charged_packets

        model = md.model(Lattice((n, n, n), 1.0), 0.05, charge=1.0, m=0.5, bias="forward")
        phi, pi = charged_packets(model, 1, width=1.5 * n / 16, momentum=[0.5, 0.0, 0.0], field=0.5, direction=2)
        return model.network, model.encode(phi, pi)
    raise ValueError(f"unknown theory {theory!r}; one of {THEORIES}")


def variant(net, minor: str):
    """``net`` with its losses' contiguous-axis shifts lowered as ``minor`` (the Wilson loss's and the matter's)."""
    net = eqx.tree_at(lambda m: m.wilson, net, WilsonLoss(net.wilson.charge, net.wilson.spacing, minor))
    if isinstance(net.matter, ScalarMatter):
        net = eqx.tree_at(lambda m: m.matter, net, dataclasses.replace(net.matter, minor=minor))
    return net


def bench(theory: str, n: int, steps: int, repeats: int) -> dict:
    compiled, results, temps = {}, {}, {}
    net, state = build(theory, n)
    for minor in ("pad", "repeat"):
        run = variant(net, minor)
        t0 = time.perf_counter()
        exe = jax.jit(lambda s, run=run: _run_jit(run, s, steps, 1, None)).lower(state).compile()
        compiled[minor] = (exe, state, time.perf_counter() - t0)
        temps[minor] = exe.memory_analysis().temp_size_in_bytes
        results[minor] = jax.block_until_ready(exe(state))
    diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree.leaves(results["pad"]), jax.tree.leaves(results["repeat"]), strict=True))
    best = dict.fromkeys(compiled, float("inf"))
    for _ in range(repeats):
        for minor, (exe, state, _c) in compiled.items():
            t0 = time.perf_counter()
            jax.block_until_ready(exe(state))
            best[minor] = min(best[minor], time.perf_counter() - t0)
    rate = {m: n**3 * steps / best[m] / 1e6 for m in best}
    return {"theory": theory, "n": n, "steps": steps, "pad": rate["pad"], "repeat": rate["repeat"],
            "compile_pad": compiled["pad"][2], "compile_repeat": compiled["repeat"][2], "diff": diff,
            "temp_pad": temps["pad"], "temp_repeat": temps["repeat"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--theories", nargs="+", default=list(THEORIES), choices=THEORIES)
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=None, help="append the table to this file (e.g. benchmarks/RESULTS.md)")
    args = ap.parse_args(argv)
    rows = []
    for theory in args.theories:
        for n in args.sizes:
            print(f"timing {theory} {n}^3 ...", file=sys.stderr, flush=True)
            rows.append(bench(theory, n, args.steps, args.repeats))
    cmd = " ".join(argv if argv is not None else sys.argv[1:])
    lines = [f"Generated by `python benchmarks/gauge_lowering.py {cmd}`"
             f" ({time.strftime('%Y-%m-%d %H:%M')}; load average "
             f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}). Million site-updates per second, float64, "
             f"{args.steps} ticks per call, best of {args.repeats}, interleaved.", "",
             "| theory | lattice | pad (slice/pad/select) | repeat (repeated slice) | repeat/pad "
             "| compile pad / repeat [s] | temporaries pad / repeat [MB] | max diff |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['theory']} | {r['n']}^3 | {r['pad']:.3g} | {r['repeat']:.3g} | "
                     f"{r['repeat'] / r['pad']:.2f} | "
                     f"{r['compile_pad']:.2f} / {r['compile_repeat']:.2f} | "
                     f"{r['temp_pad'] / 1e6:.1f} / {r['temp_repeat'] / 1e6:.1f} | {r['diff']:.1e} |")
    emit(lines, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
