r"""XLA:CPU's preferred vector width for nnfield's run programs: 512 bits (nnfield's default) against XLA's 256.

nnfield compiles its runs with ``xla_cpu_prefer_vector_width = 512`` (``nnfield._xla.CPU_OPTIONS``). XLA:CPU
otherwise asks LLVM for 256-bit vectors (``<4 x double>``, ``<8 x float>``) even on a CPU with AVX-512; with the
option the loop fusions of a step use 512-bit ones (``<8 x double>``, ``<16 x float>``; seen in the LLVM IR that
``XLA_FLAGS=--xla_dump_to=DIR`` writes). On a CPU without AVX-512 LLVM keeps its register width, so the option
changes nothing there.

For each case the network's run program (``nnfield.network._run_impl``, no observer) is compiled twice, with
nnfield's other options and with or without the preferred width, the two timed interleaved (best of
``--repeats``), and their results compared: the step's updates are elementwise, so the fields agree bit for bit
(``max diff``; reductions such as observables may differ at round-off, their summation order follows the vector
width). Rates in million site-updates per second.

Usage::

    python benchmarks/vector_width.py                 # Klein-Gordon, Dirac and gauged Dirac cases
    python benchmarks/vector_width.py --quick         # two cases
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import dirac_step as ds  # noqa: E402
import gauge_step as gs  # noqa: E402
from nnfield import Lattice, _xla  # noqa: E402
from nnfield.network import _run_impl  # noqa: E402
from nnfield.runner import cast_floating  # noqa: E402
from nnfield.state import State  # noqa: E402
from nnfield.theories import klein_gordon as kg  # noqa: E402

CASES = (
    "kg:64:float32", "kg:64:float64", "kg:128:float32", "kg:128:float64", "kg:256:float32",
    "dirac:3+1:forward:64:float64", "dirac:3+1:forward:128:float32", "dirac:3+1:wilson:64:float32",
    "dirac:3+1:wilson:128:float64", "dirac:3+1:forward:paper:128:float32", "dirac:1+1:forward:262144:float64",
    "gauge:2+1:forward:512:float64", "gauge:2+1:wilson:512:float32", "gauge:2+1:forward:paper:512:float64",
)


def network(case: str) -> tuple[Any, str]:
    """``kg:N:dtype`` (the leapfrog network of ``kg_step.py``), ``dirac:<dirac_step case>:N:dtype``,
    ``gauge:<gauge_step case>:N:dtype``."""
    kind, rest = case.split(":", 1)
    if kind == "kg":
        n, dtype = rest.split(":")
        return kg.momentum_network(Lattice((int(n),) * 3, 1.0), 0.5, 0.1, scheme="leapfrog"), dtype
    spec, n, dtype = rest.rsplit(":", 2)
    if kind == "dirac":
        return ds.dirac_network(spec, int(n), int(n)), dtype
    if kind == "gauge":
        return gs.gauged_network(spec, int(n), 4), dtype
    raise SystemExit(f"case {case!r}: expected kg:..., dirac:... or gauge:...")


def bench(case: str, repeats: int) -> dict[str, Any]:
    net, dtype = network(case)
    net = cast_floating(net, dtype)
    K, shape = net.K, net.lattice.shape
    rng = np.random.default_rng(0)
    st = State(jnp.asarray(rng.normal(size=(K, *shape)).astype(dtype)),
               jnp.asarray(rng.normal(size=(K, *shape)).astype(dtype)))
    sites = int(np.prod(shape))
    steps = ds.default_steps(sites)
    narrow = {k: v for k, v in _xla.CPU_OPTIONS.items() if k != "xla_cpu_prefer_vector_width"}
    progs = {}
    for name, opts in (("256 (XLA's default)", narrow), ("512 (nnfield)", _xla.CPU_OPTIONS)):
        f = jax.jit(lambda net, st: _run_impl(net, st, steps, 1, None), compiler_options=opts)
        progs[name] = f.lower(net, st).compile()
    best = dict.fromkeys(progs, np.inf)
    outs: dict[str, Any] = {}
    for _ in range(repeats):  # interleaved: both see the same background load
        for name, c in progs.items():
            t0 = time.perf_counter()
            outs[name] = jax.block_until_ready(c(net, st))
            best[name] = min(best[name], time.perf_counter() - t0)
    a, b = (jax.tree_util.tree_leaves(outs[k][0]) for k in progs)
    diff = max(float(jnp.abs(x - y).max()) for x, y in zip(a, b, strict=True))
    rates = {k: sites * steps / t / 1e6 for k, t in best.items()}
    return {"case": case, "rates": rates, "diff": diff, "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES))
    ap.add_argument("--quick", action="store_true", help="kg:64:float32 and dirac:3+1:forward:64:float32 only")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    cases = ["kg:64:float32", "dirac:3+1:forward:64:float32"] if args.quick else args.cases
    print("| case | 256-bit [Msite/s] | 512-bit [Msite/s] | 512 / 256 | max abs diff of the fields | load |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        r = bench(case, args.repeats)
        lo, hi = r["rates"].values()
        print(f"| {case} | {lo:.0f} | {hi:.0f} | {hi / lo:.2f} | {r['diff']:.1e} | {r['load']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
