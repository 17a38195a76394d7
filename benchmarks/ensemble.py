r"""Throughput of an ensemble (one vmapped program for 64 members) against one big run of the same sites.

    python benchmarks/ensemble.py                     # 64 x 32^3 Klein-Gordon members vs one 128^3 run
    python benchmarks/ensemble.py --members 16 --n 16 --steps 50 --out /tmp/e.md

Both advance the Klein-Gordon network (3.8), leapfrog, with observables (energy, discrete energy, ...) every
``--every`` ticks inside the compiled loop, float64:

- **ensemble**: ``nnfield.ensemble.build_ensemble`` of a config with ``[sweep] "theory.mass"`` = ``--members``
  masses, ``run_ensemble`` (one ``jax.vmap`` of the member's ``lax.scan``, compiled once: the number of
  compilations is printed);
- **one run**: the same config on one lattice with as many sites as all members together
  (``members x n^3 = N^3``), ``nnfield.network.run``.

Rates in million site-updates per second after compilation (best of ``--repeats``, interleaved), and the ratio
ensemble / one run (issue 10's target: at least 1). ``--map 0 4`` also times the members one (batch of) member(s)
after the other (``lax.map``), the cache-blocking alternative to ``vmap``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any


def _devices_from_argv(argv: list[str]) -> int:
    """``--devices D`` read before JAX starts: fake host devices must be requested before it initializes."""
    for i, arg in enumerate(argv):
        if arg == "--devices" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--devices="):
            return int(arg.split("=", 1)[1])
    return 1


if _devices_from_argv(sys.argv) > 1:
    os.environ["XLA_FLAGS"] = (f"{os.environ.get('XLA_FLAGS', '')} "
                               f"--xla_force_host_platform_device_count={_devices_from_argv(sys.argv)}").strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from nnfield import ensemble  # noqa: E402
from nnfield import network as nnet  # noqa: E402
from nnfield.config import parse_config  # noqa: E402
from nnfield.runner import build, observer_for  # noqa: E402

CONFIG = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [{n}, {n}, {n}]
[time]
dt = 0.1
steps = {steps}
[initial]
kind = "random_spectrum"
[output]
every = {every}
"""


def _best(fn: Any, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def _mapped(ens: Any, steps: int, every: int, batch: int | None) -> Any:
    """The ensemble's members advanced one batch after the other (``lax.map``) instead of all at once: each
    member's chunk runs on its own small lattice, which may stay in the cache. Shared model leaves are broadcast
    to the member axis (``lax.map`` slices every leaf)."""
    import jax.numpy as jnp

    members = jax.tree_util.tree_leaves(ens.state)[0].shape[0]
    model = jax.tree_util.tree_map(
        lambda x, a: x if a == 0 else jnp.broadcast_to(x, (members, *jnp.shape(x))), ens.model, ens.model_axes,
        is_leaf=lambda x: x is None)

    @jax.jit
    def run(model: Any, state: Any) -> Any:
        return jax.lax.map(lambda ms: ensemble._member_run((ms[0], None), ms[1], steps, every), (model, state),
                           batch_size=batch)

    return lambda: run(model, ens.state)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=64)
    ap.add_argument("--n", type=int, default=32, help="each member is n^3")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--map", type=int, nargs="*", metavar="BATCH",
                    help="also time the members one batch after the other (lax.map with these batch sizes; "
                         "0: one member at a time) instead of all at once (vmap)")
    ap.add_argument("--devices", type=int, default=1,
                    help="also time the ensemble with its members split over D fake host devices "
                         "(ensemble.shard_members; the one run stays on one device)")
    ap.add_argument("--out", help="append the table to this Markdown file")
    args = ap.parse_args(argv)
    big = round((args.members * args.n**3) ** (1 / 3))
    if big**3 != args.members * args.n**3:
        ap.error(f"members x n^3 = {args.members * args.n**3} is not a cube; pick e.g. --members 64 or 8")
    cfg = parse_config(CONFIG.format(n=args.n, steps=args.steps, every=args.every))
    masses = list(np.linspace(0.5, 2.0, args.members))

    t0 = time.perf_counter()
    ens = ensemble.build_ensemble(cfg, {"theory.mass": masses})
    before = ensemble.compilations()
    jax.block_until_ready(ensemble.run_ensemble(ens).state)
    ens_first = time.perf_counter() - t0
    compiles = ensemble.compilations() - before

    big_cfg = parse_config(CONFIG.format(n=big, steps=args.steps, every=args.every))
    model, state = build(big_cfg)
    observer = observer_for(model, state)
    t0 = time.perf_counter()
    jax.block_until_ready(nnet.run(model.network, state, args.steps, args.every, observer)[0])
    big_first = time.perf_counter() - t0

    best = {"ensemble": math.inf, "one run": math.inf}
    runs = {"ensemble": lambda: ensemble.run_ensemble(ens).state,
            "one run": lambda: nnet.run(model.network, state, args.steps, args.every, observer)[0]}
    if args.devices > 1:
        split = ensemble.shard_members(ens, args.devices)
        jax.block_until_ready(ensemble.run_ensemble(split).state)
        best[f"ensemble split over {args.devices} devices"] = math.inf
        runs[f"ensemble split over {args.devices} devices"] = lambda: ensemble.run_ensemble(split).state
    for bs in args.map or []:
        fn = _mapped(ens, args.steps, args.every, bs or None)
        jax.block_until_ready(fn())
        best[f"lax.map, batch {bs or 1}"] = math.inf
        runs[f"lax.map, batch {bs or 1}"] = fn
    for _ in range(args.repeats):  # interleaved: both see the same background load
        for name, fn in runs.items():
            best[name] = min(best[name], _best(fn, 1))
    sites = args.members * args.n**3
    rate = {k: sites * args.steps / t / 1e6 for k, t in best.items()}
    lines = [
        f"Generated by `python benchmarks/ensemble.py --members {args.members} --n {args.n} --steps {args.steps} "
        f"--every {args.every} --repeats {args.repeats}"
        f"{f' --devices {args.devices}' if args.devices > 1 else ''}`: Klein-Gordon (3.8), leapfrog, float64, "
        f"observables every {args.every} ticks inside the loop; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| run | lattice | first call incl. build + compile [s] | compilations | Msite/s | ratio |",
        "|---|---|---|---|---|---|",
        f"| ensemble of {args.members} masses | {args.members} x {args.n}^3 | {ens_first:.2f} | {compiles} | "
        f"{rate['ensemble']:.1f} | {rate['ensemble'] / rate['one run']:.2f} |",
        f"| one run | {big}^3 | {big_first:.2f} | 1 | {rate['one run']:.1f} | 1 |",
        "",
    ]
    lines[-1:-1] = [f"| members {name} | {args.members} x {args.n}^3 | - | 1 | {rate[name]:.1f} | "
                    f"{rate[name] / rate['one run']:.2f} |" for name in rate if name.startswith("lax.map")]
    lines[-1:-1] = [f"| {name} | {args.members} x {args.n}^3 | - | 1 | {rate[name]:.1f} | "
                    f"{rate[name] / rate['one run']:.2f} |" for name in rate if name.startswith("ensemble split")]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with Path(args.out).open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
