"""Experiment (issue 10, item 3): the Klein-Gordon merged leapfrog advanced slab by slab (cache blocking), next to
the network (3.8)'s whole-lattice step (``nnfield.network.run``).

    python benchmarks/kg_slab.py [--n 128 256] [--slabs 4 16] [--repeats 2] [--out FILE]

XLA:CPU compiles a merged-kick tick of the network (3.8) to two loops over the lattice (the kick writes ``pi'``,
the drift reads it back: 6 field streams per step against 4; ``docs/performance.md``). Blocking the step along the
first lattice axis would keep ``pi'`` of a slab of ``S`` planes in cache between the two loops, so that only 4
streams reach memory. The learning gradient stays JAX autodiff of the loss: each slab is advanced by the same
network built on a window lattice of ``S + 2`` planes (the slab and one ghost plane on each side; the loss (3.11)
is a sum of nearest-neighbour terms, so ``dH/dphi`` on the window's inner ``S`` planes equals the whole lattice's),
its ``learn`` and ``activate`` applied to the window and the inner planes kept. Two ways of writing the slab loop:

- ``dynamic_update_slice``: a ``fori_loop`` over slabs reading the window of a ghost-padded ``phi`` and writing
  the new slab into a second padded buffer in place (the two swap every step);
- ``scan``: the fields held as blocks ``(slabs, K, S, ...)``, a ``lax.scan`` over the blocks with the neighbouring
  blocks' boundary planes as ghosts (one ``jnp.roll`` of the boundary planes per step).

Both give the same numbers as ``nnfield.network.run`` (the difference printed; bit for bit when measured). The
rate is the best of ``--repeats`` (interleaved), in million site-updates per second, and the fraction of the STREAM
triad (parallel numba, ``kg_step.py``) in the 4-array model (4 x itemsize bytes per site-update).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

import kg_step as K  # noqa: E402  (its triad and timing helpers; it enables float64)
from _report import emit  # noqa: E402
from nnfield import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402
from nnfield.state import State  # noqa: E402
from nnfield.theories import klein_gordon as kg  # noqa: E402


def _window_step(netw: Any, w: jax.Array, p: jax.Array, h: Any) -> tuple[jax.Array, jax.Array]:
    """Kick by ``h`` then drift by ``dt`` on a window (``K, S + 2, ...``): the new (phi, pi) of its inner planes."""
    pn = netw.learn(w, p, h)
    return netw.activate(w, pn, netw.dt)[:, 1:-1], pn[:, 1:-1]


def _ghost_pad(x: jax.Array) -> jax.Array:
    return jnp.pad(x, ((0, 0), (1, 1)) + ((0, 0),) * (x.ndim - 2))


def slab_update(netw: Any, state: State, steps: int, S: int) -> State:
    """The merged leapfrog ``L(dt/2) A [L(dt) A]^(steps-1) L(dt/2)`` slab by slab, written with
    ``dynamic_update_slice`` into a second ghost-padded buffer."""
    dt = netw.dt
    phi, pi = state.phi, state.pi
    n = phi.shape[1]

    def pad(p: jax.Array) -> jax.Array:
        return jnp.concatenate([p[:, -1:], p, p[:, :1]], axis=1)

    def ghosts(pp: jax.Array) -> jax.Array:
        return pp.at[:, 0].set(pp[:, n]).at[:, n + 1].set(pp[:, 1])

    def tick(src: jax.Array, dst: jax.Array, pi: jax.Array, h: Any, drift: bool = True) -> tuple[Any, Any]:
        def slab(s: Any, c: Any) -> Any:
            dst, pi = c
            w = lax.dynamic_slice_in_dim(src, s * S, S + 2, axis=1)
            fn, pn = _window_step(netw, w, _ghost_pad(lax.dynamic_slice_in_dim(pi, s * S, S, axis=1)), h)
            if drift:
                dst = lax.dynamic_update_slice_in_dim(dst, fn, s * S + 1, axis=1)
            return dst, lax.dynamic_update_slice_in_dim(pi, pn, s * S, axis=1)

        dst, pi = lax.fori_loop(0, n // S, slab, (dst, pi))
        return (ghosts(dst) if drift else dst), pi

    a = pad(phi)
    b, pi = tick(a, jnp.zeros_like(a), pi, dt / 2)

    def body(_: Any, c: Any) -> Any:
        a, b, pi = c
        b2, pi = tick(b, a, pi, dt)
        return b, b2, pi

    _, b, pi = lax.fori_loop(0, steps - 1, body, (a, b, pi))
    _, pi = tick(b, b, pi, dt / 2, drift=False)
    return State(b[:, 1:-1], pi)


def slab_scan(netw: Any, state: State, steps: int, S: int) -> State:
    """The same merged leapfrog with the fields held as blocks of ``S`` planes and a ``lax.scan`` over them."""
    dt = netw.dt
    K_, n = state.phi.shape[:2]
    rest = state.phi.shape[2:]

    def blocks(x: jax.Array) -> jax.Array:
        return jnp.moveaxis(x.reshape(K_, n // S, S, *rest), 1, 0)

    def tick(phi: jax.Array, pi: jax.Array, h: Any) -> tuple[jax.Array, jax.Array]:
        lo, hi = jnp.roll(phi[:, :, -1:], 1, axis=0), jnp.roll(phi[:, :, :1], -1, axis=0)

        def body(_: Any, x: Any) -> Any:
            b, p, low, high = x
            w = jnp.concatenate([low, b, high], axis=1)
            return None, _window_step(netw, w, _ghost_pad(p), h)

        _, (phi2, pi2) = lax.scan(body, None, (phi, pi, lo, hi))
        return phi2, pi2

    phi, pi = tick(blocks(state.phi), blocks(state.pi), dt / 2)
    phi, pi = lax.fori_loop(0, steps - 1, lambda _, c: tick(*c, dt), (phi, pi))
    _, pi_closing = tick(phi, pi, dt / 2)  # its drift is discarded

    def unblock(x: jax.Array) -> jax.Array:
        return jnp.moveaxis(x, 0, 1).reshape(K_, n, *rest)

    return State(unblock(phi), unblock(pi_closing))


def measure(n: int, dtype: str, steps: int, slabs: list[int], repeats: int) -> list[tuple]:
    rng = np.random.default_rng(0)
    state = State(jnp.asarray(rng.normal(size=(1, n, n, n)).astype(dtype)),
                  jnp.asarray(rng.normal(size=(1, n, n, n)).astype(dtype)))
    dt = np.dtype(dtype).type(K.DT)
    net = kg.momentum_network(Lattice((n, n, n), K.SPACING), K.M, dt, scheme="leapfrog")
    c = _run_jit.lower(net, state, steps=steps, every=1, observer=None).compile()
    progs = {"nnfield.network.run (whole lattice)": lambda: c(net, state, observer=None)[0]}
    for S in slabs:
        netw = kg.momentum_network(Lattice((S + 2, n, n), K.SPACING), K.M, dt, scheme="leapfrog")
        for label, fn in (("dynamic_update_slice", slab_update), ("scan", slab_scan)):
            cs = jax.jit(fn, static_argnums=(2, 3)).lower(netw, state, steps, S).compile()
            progs[f"slabs of {S} planes, {label}"] = lambda cs=cs, netw=netw: cs(netw, state)
    triad = K.stream_triad(n**3, dtype, 2)
    best = dict.fromkeys(progs, math.inf)
    for _ in range(repeats):
        for name, fn in progs.items():
            best[name] = min(best[name], K._best(fn, 1))
    triad = max(triad, K.stream_triad(n**3, dtype, 2))
    ref = next(iter(progs.values()))()
    rows = []
    for name, fn in progs.items():
        got = fn()
        diff = float(max(jnp.abs(ref.phi - got.phi).max(), jnp.abs(ref.pi - got.pi).max()))
        rate = n**3 * steps / best[name]
        frac = rate * 4 * np.dtype(dtype).itemsize / (triad * 1e9)
        rows.append((n, dtype, name, rate / 1e6, triad, frac, diff))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[128, 256], help="lattice sizes n^3")
    ap.add_argument("--slabs", type=int, nargs="+", default=[4, 16], help="planes per slab (divisors of n)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", help="append the table to this Markdown file")
    args = ap.parse_args()
    rows = []
    for n in args.n:
        for dtype in ("float64", "float32"):
            rows += measure(n, dtype, 10, args.slabs, args.repeats)
    lines = [
        "",
        "# Klein-Gordon: the merged leapfrog slab by slab (cache blocking) against the whole-lattice step",
        "",
        f"Generated by `python benchmarks/kg_slab.py --n {' '.join(map(str, args.n))} --slabs "
        f"{' '.join(map(str, args.slabs))}` ({time.strftime('%Y-%m-%d %H:%M')}; 10 steps, best of "
        f"{args.repeats}). Fraction: of the STREAM triad in the 4-array model. Difference: largest over phi and pi "
        "against `nnfield.network.run`.",
        "",
        "| lattice | dtype | run | Msite/s | triad [GB/s] | fraction of triad | difference |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, dtype, name, rate, triad, frac, diff in rows:
        lines.append(f"| {n}^3 | {dtype} | {name} | {rate:.0f} | {triad:.1f} | {100 * frac:.0f}% | {diff:.1e} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
