"""Experiment: an explicit halo exchange per field per step (``shard_map``) against XLA's SPMD partitioning.

    python benchmarks/halo_exchange.py [--n 96] [--steps 20] [--devices 1 2 4] [--out benchmarks/RESULTS.md]

A sharded ``nnfield run`` leaves the domain decomposition to XLA's SPMD partitioner, which exchanges one
boundary slab per shifted read (the table's third column counts them in the compiled program of one step).
On GPUs each collective costs latency, so fewer, larger exchanges may matter there. This script measures the
alternative on the 3D Klein-Gordon network (3.8), leapfrog, float64: each device keeps its block padded by
``R`` ghost rows along the split axis, applies the network's own step (the learning gradient still JAX
autodiff of the loss) to the padded block, and refreshes the ghost rows of the result with two ``ppermute`` per
field (``lax.dynamic_update_slice``, no concatenate: XLA:CPU does not fuse concatenates).
With ``R`` at least the step's stencil radius (2 for the leapfrog step: two half kicks around the drift) the
interior equals the SPMD program's result; the script prints the largest difference (0 means bit for bit).
Each device count runs in its own process with that many fake CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``); on a 2-core machine the rows measure overheads, not
speed-ups (docs/scaling.md). Not wired into ``nnfield run``: see docs/scaling.md for what was found.
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
import sys, time, jax, numpy as np
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
from nnfield import Lattice, parallel
from nnfield.sharding import AXIS, lattice_mesh
from nnfield.theories import klein_gordon as kg

n, steps, R, repeats = (int(a) for a in sys.argv[1:5])
if len(sys.argv) > 5:  # one of several local processes (gloo collectives): coordinator, count, rank
    parallel.initialize(sys.argv[5], int(sys.argv[6]), int(sys.argv[7]))
D = jax.device_count()
lat = Lattice((n, n, n), 0.5)
model = kg.model(lat, 1.0, 0.1, "3.8", "leapfrog")
net = model.network
rng = np.random.default_rng(0)
s0 = model.initial_state(rng.normal(size=(1, n, n, n)), rng.normal(size=(1, n, n, n)))
state = parallel.place(s0, D, n)
up = [(i, (i + 1) % D) for i in range(D)]
down = [(i, (i - 1) % D) for i in range(D)]


def refresh(x):
    """The ghost rows of a padded block (K, R + m + R, n, n) from the neighbouring devices' interior rows."""
    m = x.shape[1] - 2 * R
    below = jax.lax.ppermute(x[:, m:m + R], AXIS, up)
    above = jax.lax.ppermute(x[:, R:2 * R], AXIS, down)
    x = jax.lax.dynamic_update_slice_in_dim(x, below, 0, axis=1)
    return jax.lax.dynamic_update_slice_in_dim(x, above, m + R, axis=1)


def local_run(phi, pi):
    pad = lambda a: jnp.pad(a, ((0, 0), (R, R), (0, 0), (0, 0)))

    def body(c, _):  # (ghosts refreshed into the step's fresh output: in place, no copy of the carry)
        out = net.step(type(s0)(phi=c[0], pi=c[1]))
        return (refresh(out.phi), refresh(out.pi)), None

    phi, pi = jax.lax.scan(body, (refresh(pad(phi)), refresh(pad(pi))), None, length=steps)[0]
    return phi[:, R:-R], pi[:, R:-R]


spec = P(None, AXIS, None, None)
halo = jax.jit(jax.shard_map(local_run, mesh=lattice_mesh(D), in_specs=(spec, spec), out_specs=(spec, spec),
                             check_vma=False))
spmd = jax.jit(lambda s: jax.lax.scan(lambda c, _: (net.step(c), None), s, None, length=steps)[0])
a, b = spmd(state), halo(state.phi, state.pi)
diff = max(float(jnp.abs(a.phi - b[0]).max()), float(jnp.abs(a.pi - b[1]).max()))
best = {"spmd": float("inf"), "halo": float("inf")}
for _ in range(repeats):
    for name, f in (("spmd", lambda: spmd(state)), ("halo", lambda: halo(state.phi, state.pi))):
        t = time.perf_counter()
        jax.block_until_ready(f())
        best[name] = min(best[name], time.perf_counter() - t)
import re
one = jax.jit(net.step).lower(state).compile().as_text()  # the SPMD program of one step
collectives = len(re.findall(r"= \S+ collective-permute\(", one))
if jax.process_index() == 0:
    print(D, steps * n**3 / best["spmd"] / 1e6, steps * n**3 / best["halo"] / 1e6, diff, collectives)
'''


def _parse(stdout: str) -> tuple[float, float, float, int]:
    _, spmd, halo, diff, coll = stdout.split()[-5:]
    return float(spmd), float(halo), float(diff), int(coll)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--halo", type=int, default=2, help="ghost rows R (at least the step's stencil radius)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--processes", type=int, nargs="*", default=[],
                    help="also these numbers of local processes, one device each (gloo collectives)")
    ap.add_argument("--out", help="append the table to this Markdown file")
    args = ap.parse_args()
    rows = []
    base = [sys.executable, "-c", CHILD, str(args.n), str(args.steps), str(args.halo), str(args.repeats)]
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
    lines = ["", "# Halo exchange: explicit (shard_map) against XLA's SPMD partitioning", "",
             f"Generated by `python benchmarks/halo_exchange.py --n {args.n} --steps {args.steps} --halo {args.halo} "
             f"--devices {' '.join(map(str, args.devices))}"
             f"{' --processes ' + ' '.join(map(str, args.processes)) if args.processes else ''}` (3D "
             "Klein-Gordon, leapfrog, float64, fake CPU devices or local processes; best of the repeats; see the "
             "script's docstring).", "",
             "| run | SPMD [Msite/s] | collective-permutes per SPMD step | explicit halo [Msite/s] "
             "(4 ppermutes per step) | halo / SPMD | max abs difference |",
             "|---|---|---|---|---|---|"]
    for name, s, h, diff, coll in rows:
        lines.append(f"| {name} | {s:.1f} | {coll} | {h:.1f} | {h / s:.2f} | {diff:.1e} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
