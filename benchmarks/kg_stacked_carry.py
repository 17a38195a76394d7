"""Experiment (issue 10, item 3): the leapfrog loop carrying ``phi`` and ``pi`` stacked in one array, written
back with a select instead of a concatenate, so that a tick has one output.

    python benchmarks/kg_stacked_carry.py [--n 64 128] [--steps 20] [--repeats 3]

XLA:CPU compiles a merged-kick tick of the 3D Klein-Gordon network (3.8) to two loops (the kick writes ``pi'``,
the drift reads it back; ``docs/performance.md``). Here the loop carries ``z = stack(phi, pi)`` of shape
``(2, 1, n, n, n)`` and each tick returns ``where(iota == 0, phi', pi')`` (both broadcast to ``z``'s shape): one
output, computed by the network's own ``learn`` and ``activate`` (the learning gradient JAX autodiff of the loss).
Printed: the field-sized loop fusions in the compiled loop body, the rate of both forms (best of ``--repeats``),
and their largest difference (0: bit for bit).
"""

from __future__ import annotations

import argparse
import re
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from nnfield import Lattice  # noqa: E402
from nnfield.schemes import Leapfrog  # noqa: E402
from nnfield.state import State  # noqa: E402
from nnfield.theories import klein_gordon as kg  # noqa: E402


def stacked_advance(net, s: State, steps: int) -> State:
    """``Leapfrog.advance`` with the loop's carry ``stack(phi, pi)`` and one select-written output per tick."""
    dt = net.dt

    def kick_drift(h, z):
        pi = net.learn(z[0], z[1], h)
        phi = net.activate(z[0], pi, dt)
        first = jax.lax.broadcasted_iota(jnp.int32, z.shape, 0) == 0
        return jnp.where(first, jnp.broadcast_to(phi, z.shape), jnp.broadcast_to(pi, z.shape))

    pi = net.learn(s.phi, s.pi, dt / 2)
    z = jnp.stack([net.activate(s.phi, pi, dt), pi])
    z = jax.lax.fori_loop(0, steps - 1, lambda _, z: kick_drift(dt, z), z)
    return State(z[0], net.learn(z[0], z[1], dt / 2))


def loop_fusions(hlo: str, n: int) -> int:
    comps = {b.split(" ", 1)[0].lstrip("%"): b for b in re.split(r"\n(?=%?\S+ \()", hlo)}
    bodies = [comps.get(name, "") for name in re.findall(r"body=%?([\w.\-]+)", hlo)]
    big = re.compile(rf"\[(?:2,)?1,{n},{n},{n}\]")
    return max((sum(1 for ln in b.splitlines() if " fusion(" in ln and big.search(ln.split(" fusion(")[0]))
                for b in bodies), default=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print("| lattice | form | loop fusions per tick | Msite/s | max abs difference |")
    print("|---|---|---|---|---|")
    for n in args.n:
        net = kg.momentum_network(Lattice((n, n, n), 0.5), 1.0, 0.1, scheme="leapfrog")
        rng = np.random.default_rng(0)
        s = State(jnp.asarray(rng.normal(size=(1, n, n, n))), jnp.asarray(rng.normal(size=(1, n, n, n))))
        forms = {"two outputs (nnfield)": lambda nt, st: Leapfrog().advance(nt, st, args.steps, nt.dt),
                 "stacked, one output": lambda nt, st: stacked_advance(nt, st, args.steps)}
        compiled = {k: jax.jit(f).lower(net, s).compile() for k, f in forms.items()}
        out = {k: c(net, s) for k, c in compiled.items()}
        best = dict.fromkeys(compiled, float("inf"))
        for _ in range(args.repeats):  # interleaved
            for k, c in compiled.items():
                t = time.perf_counter()
                jax.block_until_ready(c(net, s))
                best[k] = min(best[k], time.perf_counter() - t)
        ref = out["two outputs (nnfield)"]
        for k, c in compiled.items():
            diff = max(float(jnp.abs(out[k].phi - ref.phi).max()), float(jnp.abs(out[k].pi - ref.pi).max()))
            print(f"| {n}^3 | {k} | {loop_fusions(c.as_text(), n)} | {args.steps * n**3 / best[k] / 1e6:.1f} "
                  f"| {diff:.1e} |")


if __name__ == "__main__":
    main()
