"""Experiment (issue 10, item 3): the Klein-Gordon leapfrog in its two-level (Stormer) form, one in-place loop per
step, next to the network (3.8)'s merged-kick leapfrog and the paper's second Klein-Gordon network (3.14).

    python benchmarks/kg_two_level.py [--n 128 256] [--repeats 3] [--out FILE]

XLA:CPU compiles a merged-kick tick of the network (3.8) (``W = B = I``, loss (3.11)) to two loops: the kick
writes ``pi'`` and the drift reads it back, 6 field streams per step (``docs/performance.md``). For a network whose
activation is ``phi + dt p`` the same leapfrog can carry two consecutive fields instead of ``(phi, pi)``:

    phi_{k+1} = activate(phi_k, learn(phi_k, (phi_k - phi_{k-1}) / dt, dt), dt)

(the network's own ``learn`` and ``activate``: the learning gradient is still JAX autodiff of the loss). With the
loop unrolled twice, each sub-step overwrites the older field (``(a, b) -> (a', b)`` then ``(a', b')``), so a step
reads two fields and writes one: one loop, 3 streams. The run starts with the merged form's first half kick and
drift and ends with its closing half kick, ``pi_n = learn(phi_n, (phi_n - phi_{n-1}) / dt, dt/2)``: the same map
as ``nnfield.network.run`` of (3.8) up to rounding (the largest difference after the run is printed).

Columns: field-sized loop fusions per step in the compiled loop body, million site-updates per second (best of
``--repeats``, interleaved), and the fraction of the STREAM triad (parallel numba, measured before and after; the
best) in ``kg_step.py``'s 4-array model (4 x itemsize bytes per site-update). The network (3.14) (``W = 2 + dt^2
(Lap - m^2)``, ``B = I``, loss (3.18): the paper's second network for the same equation (3.19), simultaneous
ticks) is run by ``nnfield.network.run`` as it is.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import kg_step as K  # noqa: E402  (its triad, timing and loop-count helpers; it enables float64)
from _report import emit  # noqa: E402
from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402
from nnfield.network import run as nnfield_run  # noqa: E402
from nnfield.state import State  # noqa: E402
from nnfield.theories import klein_gordon as kg  # noqa: E402


def two_level(net, state: State, pairs: int) -> State:
    """``2 pairs + 1`` leapfrog steps of ``net`` (activation ``phi + dt p``) in the two-level form (see above)."""
    dt = net.dt
    phi0, pi0 = state.phi, state.pi
    phi1 = net.activate(phi0, net.learn(phi0, pi0, dt / 2), dt)

    def sub(prev, cur):  # phi_{k+1} from phi_{k-1} and phi_k
        return net.activate(cur, net.learn(cur, (cur - prev) / dt, dt), dt)

    def body(_, ab):
        a, b = ab
        a = sub(a, b)
        return a, sub(b, a)

    a, b = jax.lax.fori_loop(0, pairs, body, (phi0, phi1))
    return State(b, net.learn(b, (b - a) / dt, dt / 2))


def measure(n: int, dtype: str, pairs: int, repeats: int) -> list[tuple]:
    rng = np.random.default_rng(0)
    state = State(jnp.asarray(rng.normal(size=(1, n, n, n)).astype(dtype)),
                  jnp.asarray(rng.normal(size=(1, n, n, n)).astype(dtype)))
    steps = 2 * pairs + 1
    lat = Lattice((n, n, n), K.SPACING)
    net38 = kg.momentum_network(lat, K.M, K.DT, scheme="leapfrog")
    net314 = kg.leapfrog_network(lat, K.M, K.DT)
    progs = {}
    for name, net in (("(3.8) merged leapfrog (nnfield.run)", net38), ("(3.14) simultaneous (nnfield.run)", net314)):
        c = _run_jit.lower(net, state, steps=steps, every=1, observer=None).compile()
        progs[name] = (lambda c=c, net=net: c(net, state, observer=None)[0], K._loop_fusions(c.as_text(), n))
    c2 = jax.jit(two_level, static_argnums=2).lower(net38, state, pairs).compile()
    progs["(3.8) two-level, in place"] = (lambda: c2(net38, state), K._loop_fusions(c2.as_text(), n) / 2)
    triad = K.stream_triad(n**3, dtype, 2)
    best = dict.fromkeys(progs, math.inf)
    for _ in range(repeats):
        for name, (fn, _) in progs.items():
            best[name] = min(best[name], K._best(fn, 1))
    triad = max(triad, K.stream_triad(n**3, dtype, 2))
    ref, got = progs["(3.8) merged leapfrog (nnfield.run)"][0](), progs["(3.8) two-level, in place"][0]()
    scale = float(max(jnp.abs(ref.phi).max(), jnp.abs(ref.pi).max()))
    diff = float(max(jnp.abs(ref.phi - got.phi).max(), jnp.abs(ref.pi - got.pi).max())) / scale
    rows = []
    for name, (_, loops) in progs.items():
        rate = n**3 * steps / best[name]
        frac = rate * 4 * np.dtype(dtype).itemsize / (triad * 1e9)
        rows.append((n, dtype, name, loops, rate / 1e6, triad, frac, diff if "two-level" in name else None))
    return rows


def roundoff(dt: float, steps: int) -> tuple[float, float, float]:
    """A 1D packet (256 sites, a = 0.1, m = 1) run ``steps`` steps: the largest difference of phi, relative to its
    largest value, of (the two-level form in float64, the merged form in float32, the two-level form in float32)
    against the merged form in float64 (``nnfield.network.run``)."""
    lat = Lattice((256,), 0.1)
    x = np.arange(256) * 0.1
    phi0, pi0 = np.exp(-(((x - 12.8) / 2) ** 2)) * np.cos(5 * x), np.zeros(256)
    out = {}
    for dtype in ("float64", "float32"):
        net = kg.momentum_network(lat, 1.0, np.dtype(dtype).type(dt))
        state = State(jnp.asarray(phi0[None].astype(dtype)), jnp.asarray(pi0[None].astype(dtype)))
        merged = nnfield_run(net, state, steps)[0].phi
        two = jax.jit(two_level, static_argnums=2)(net, state, (steps - 1) // 2).phi
        out[dtype] = (np.asarray(merged, np.float64), np.asarray(two, np.float64))
    ref = out["float64"][0]
    scale = np.abs(ref).max()
    return tuple(float(np.abs(v - ref).max() / scale) for v in (out["float64"][1], *out["float32"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[128, 256], help="lattice sizes n^3")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--roundoff-steps", type=int, nargs="+", default=[1001, 10001, 100001],
                    help="steps of the round-off runs (odd: the two-level form advances in pairs after one step)")
    ap.add_argument("--out", help="append the table to this Markdown file")
    args = ap.parse_args()
    rows = []
    for n in args.n:
        for dtype in ("float64", "float32"):
            rows += measure(n, dtype, 10 if n >= 256 else 30, args.repeats)
    lines = [
        "",
        "# Klein-Gordon: the two-level leapfrog (one loop per step) against the network's merged-kick form",
        "",
        f"Generated by `python benchmarks/kg_two_level.py --n {' '.join(map(str, args.n))}"
        f"{f' --repeats {args.repeats}' if args.repeats != 3 else ''}` ({time.strftime('%Y-%m-%d %H:%M')}). "
        "Fraction: of the STREAM triad in the 4-array model (4 x itemsize bytes per site-update); at 128^3 the "
        "triad runs partly in cache. Difference: the two-level run against `nnfield.network.run` of (3.8), largest "
        "over phi and pi, relative to the largest field value.",
        "",
        "| lattice | dtype | run | loops per step | Msite/s | triad [GB/s] | fraction of triad | difference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, dtype, name, loops, rate, triad, frac, diff in rows:
        lines.append(f"| {n}^3 | {dtype} | {name} | {loops:g} | {rate:.0f} | {triad:.1f} | {100 * frac:.0f}% | "
                     f"{'' if diff is None else f'{diff:.1e}'} |")
    lines += [
        "",
        "Round-off (`roundoff()`: a 1D packet on 256 sites against the merged form in float64; phi's largest "
        "difference relative to its largest value). The two-level form reconstructs the momentum from the "
        "difference of two fields, `(phi_k - phi_{k-1}) / dt`, which loses `eps |phi| / dt` per step: its float32 "
        "error grows faster, the more so the smaller dt.",
        "",
        "| dt | steps | two-level, float64 | merged, float32 | two-level, float32 |",
        "|---|---|---|---|---|",
    ]
    for dt in (0.05, 0.005):
        for steps in args.roundoff_steps:
            d64, m32, t32 = roundoff(dt, steps)
            lines.append(f"| {dt:g} | {steps} | {d64:.1e} | {m32:.1e} | {t32:.1e} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
