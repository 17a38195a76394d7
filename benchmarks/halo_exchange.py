"""The explicit halo exchange (``nnfield.halo``, ``[parallel] halo = true``) against XLA's SPMD partitioning.

    python benchmarks/halo_exchange.py [--n 96] [--steps 20] [--devices 1 2 4] [--processes 2 4]
                                       [--out benchmarks/RESULTS.md]

A sharded ``nnfield run`` leaves the domain decomposition to XLA's SPMD partitioner by default, which exchanges
one boundary slab per shifted read (the table counts the collective-permutes of one compiled tick). With
``[parallel] halo = true`` the run advances :class:`nnfield.halo.HaloNetwork` instead: each device keeps its
block padded by ``R`` ghost rows (``R``: the reach of one tick, measured by ``nnfield.halo.reach``), applies
the network's own merged-kick leapfrog (the learning gradient still JAX autodiff of the loss) to the padded
block, and refreshes the ghost rows with two ``ppermute`` per field before every kick-drift pair. This script
times ``advance`` of ``--steps`` ticks of the 3D Klein-Gordon network (3.8), float64, both ways, on the same
state, and prints the largest difference of the results (0: bit for bit).
Each device count runs in its own process with that many fake CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``); ``--processes P`` runs P local processes of one
device each (gloo collectives). On a 2-core machine the rows measure overheads, not speed-ups
(docs/scaling.md).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from _report import emit

ROOT = Path(__file__).resolve().parent.parent

CHILD = r'''
import sys, time, re, jax, numpy as np
jax.config.update("jax_enable_x64", True)
from nnfield import Lattice, halo, parallel
from nnfield.theories import klein_gordon as kg

n, steps, repeats = (int(a) for a in sys.argv[1:4])
if len(sys.argv) > 4:  # one of several local processes (gloo collectives): coordinator, count, rank
    parallel.initialize(sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
D = jax.device_count()
lat = Lattice((n, n, n), 0.5)
model = kg.model(lat, 1.0, 0.1, network="3.8", scheme="leapfrog")
rng = np.random.default_rng(0)
state = parallel.place(model.initial_state(rng.normal(size=(1, n, n, n)), rng.normal(size=(1, n, n, n))), D, n)
net = parallel.place_model(model, D, lat.shape).network
R = halo.reach(net, state)
explicit = halo.HaloNetwork(net, D, R)  # what `nnfield run` with [parallel] halo = true advances
advance = jax.jit(lambda nt, s: nt.advance(s, steps))
progs = {"spmd": advance.lower(net, state).compile(), "halo": advance.lower(explicit, state).compile()}
a, b = progs["spmd"](net, state), progs["halo"](explicit, state)
leaves = jax.tree_util.tree_leaves
diff = max(float(np.abs(parallel.to_host(x) - parallel.to_host(y)).max()) for x, y in zip(leaves(a), leaves(b)))
best = {"spmd": float("inf"), "halo": float("inf")}
for _ in range(repeats):
    for name, nt in (("spmd", net), ("halo", explicit)):
        t = time.perf_counter()
        jax.block_until_ready(progs[name](nt, state))
        best[name] = min(best[name], time.perf_counter() - t)


def per_tick(compiled):
    """Collective-permutes in the body of the compiled loop over ticks (one merged kick-drift tick)."""
    hlo = compiled.as_text()
    comps = {b.split(" ", 1)[0].lstrip("%"): b for b in re.split(r"\n(?=%?\S+ \()", hlo)}
    bodies = [comps.get(name, "") for name in re.findall(r"body=%?([\w.\-]+)", hlo)]
    return max((len(re.findall(r"= \S+ collective-permute\(", b)) for b in bodies), default=0)


one = {name: per_tick(c) for name, c in progs.items()}
if jax.process_index() == 0:
    print(D, steps * n**3 / best["spmd"] / 1e6, steps * n**3 / best["halo"] / 1e6, diff, one["spmd"], one["halo"], R)
'''


def _parse(stdout: str) -> tuple[float, float, float, int, int, int]:
    _, spmd, halo, diff, coll, coll_halo, ghost = stdout.split()[-7:]
    return float(spmd), float(halo), float(diff), int(coll), int(coll_halo), int(ghost)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--processes", type=int, nargs="*", default=[],
                    help="also these numbers of local processes, one device each (gloo collectives)")
    ap.add_argument("--out", help="append the table to this Markdown file")
    args = ap.parse_args()
    rows = []
    base = [sys.executable, "-c", CHILD, str(args.n), str(args.steps), str(args.repeats)]
    for d in args.devices:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu",
                   XLA_FLAGS=f"--xla_force_host_platform_device_count={d}")
        res = subprocess.run(base, env=env, capture_output=True, text=True, check=False)
        if res.returncode:
            raise SystemExit(res.stderr)
        rows.append((f"{d} fake device{'s' if d > 1 else ''}", *_parse(res.stdout)))
    for p in args.processes:
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu",
                   XLA_FLAGS="--xla_force_host_platform_device_count=1")
        with socket.socket() as sock:
            sock.bind(("localhost", 0))
            port = sock.getsockname()[1]
        procs = [subprocess.Popen([*base, f"localhost:{port}", str(p), str(i)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(p)]
        outs = [pr.communicate() for pr in procs]
        if any(pr.returncode for pr in procs):
            raise SystemExit("\n".join(err for _, err in outs))
        rows.append((f"{p} local processes", *_parse(outs[0][0])))
    lines = ["", "# Halo exchange: explicit (nnfield.halo, shard_map) against XLA's SPMD partitioning", "",
             f"Generated by `python benchmarks/halo_exchange.py --n {args.n} --steps {args.steps} "
             f"--devices {' '.join(map(str, args.devices))}"
             f"{' --processes ' + ' '.join(map(str, args.processes)) if args.processes else ''}` (3D "
             "Klein-Gordon, leapfrog with merged kicks, float64, fake CPU devices or local processes; `advance` of "
             f"{args.steps} ticks jitted, best of the repeats; see the script's docstring).", "",
             "| run | SPMD [Msite/s] | collective-permutes per SPMD tick | explicit halo [Msite/s] "
             "| collective-permutes per halo tick | ghost rows | halo / SPMD | max abs difference |",
             "|---|---|---|---|---|---|---|---|"]
    for name, s, h, diff, coll, coll_h, ghost in rows:
        lines.append(f"| {name} | {s:.1f} | {coll} | {h:.1f} | {coll_h} | {ghost} | {h / s:.2f} | {diff:.1e} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
