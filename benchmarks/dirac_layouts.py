r"""Where the 3+1 Dirac step's remaining gap to numba lies: the same update in three JAX layouts (an experiment).

One tick of the stable (or paper, ``:paper``) Dirac network of ``dirac_step.py``, ``phi' = phi + dt ((W - I) phi +
B pi)``, ``pi' = pi - dt (B^T phi' + C pi)``, written by hand (no autodiff; the coefficients are read from the
nnfield network as in ``dirac_step.update_of``) with nnfield's shift primitive (``nnfield.operators.shift``):

- **stacked**: each output component summed over the nonzero entries, the ``K`` components stacked into one
  ``(K, ...)`` array per field (nnfield's state layout);
- **components**: the state carried as a list of ``K`` arrays, no stacking (not nnfield's layout);
- **stacked, site-major**: the stacked form with its fields stored ``(N_1, K, N_2, N_3)`` in memory inside the loop
  (``jax.experimental.layout.with_layout_constraint``; the logical shape stays ``(K, ...)``), as nnfield's loops
  store them since session 31 (``nnfield._layout``);
- **nnfield**: the network advanced by ``nnfield.network.run``'s program (the learning gradient by autodiff);
- **nnfield, row-major**: the same program compiled with ``NNFIELD_SITE_MAJOR=0`` (the layout before session 31);
- **numba**: ``dirac_step.numba_runner``'s two generated sweeps per tick.

XLA:CPU splits each loop over threads along the outermost axis of its output as stored: with ``(K, ...)`` row-major
that is the component axis, so each of two threads writes two components of the whole lattice and reads every
input component over the whole lattice; site-major, each thread sweeps its own half of the planes.

All compiled as loops of two ticks per iteration, timed interleaved (best of ``--repeats``), with the largest
difference from nnfield after the timed ticks. Million site-updates per second.

Usage::

    python benchmarks/dirac_layouts.py                        # 3+1:forward at 64^3 and 128^3, both precisions
    python benchmarks/dirac_layouts.py --cases 3+1:wilson --sizes 64
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import dirac_step as ds  # noqa: E402
from nnfield._layout import ENV  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402
from nnfield.operators import shift  # noqa: E402
from nnfield.runner import cast_floating  # noqa: E402
from nnfield.state import State  # noqa: E402


def _components(terms: list[tuple[tuple[int, ...], np.ndarray]], f: list[jax.Array], dtype: str) -> list[Any]:
    """``(O f)^a = sum_s sum_b C_s[a, b] T_s f^b`` over the nonzero entries (``dirac_step._apply_plain``) with
    nnfield's shift primitive instead of the plain twin's slices and concatenates."""
    return ds._apply_plain(ds._entries(terms, dtype), f, roll=shift)


def hand_runner(u: ds.Update, dtype: str, steps: int, stacked: bool, site_major: bool = False) -> Any:
    zero = (0,) * len(u.shape)
    dt = np.dtype(dtype).type(u.dt)
    K = u.K

    def tick(phi: list[Any], pi: list[Any]) -> tuple[list[Any], list[Any]]:
        mass, drive = _components([(zero, u.Lphi)], phi, dtype), _components(u.B, pi, dtype)
        new = [phi[a] + dt * (mass[a] + drive[a]) for a in range(K)]
        grad, rot = _components(u.BT, phi if u.simultaneous else new, dtype), _components([(zero, u.Lpi)], pi, dtype)
        return new, [pi[a] - dt * (grad[a] + rot[a]) for a in range(K)]

    if stacked:  # every operator's K sums stacked into one (K, ...) array, arithmetic on whole fields
        def op(terms: list[tuple[tuple[int, ...], np.ndarray]], f: jax.Array) -> jax.Array:
            return jnp.stack(_components(terms, [f[b] for b in range(K)], dtype))

        if site_major:  # the first lattice axis outermost in memory, then the components
            from jax.experimental.layout import Layout, with_layout_constraint

            order = Layout((1, 0, *range(2, len(u.shape) + 1)))
            lay = lambda x: with_layout_constraint(x, order)  # noqa: E731
        else:
            lay = lambda x: x  # noqa: E731

        def body(_: Any, s: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
            phi, pi = s
            new = lay(phi + dt * (op([(zero, u.Lphi)], phi) + op(u.B, pi)))
            return new, lay(pi - dt * (op(u.BT, phi if u.simultaneous else new) + op([(zero, u.Lpi)], pi)))

        return jax.jit(lambda phi, pi: lax.fori_loop(0, steps, body, (lay(phi), lay(pi)), unroll=2))

    def body_list(_: Any, s: tuple[list[Any], list[Any]]) -> tuple[list[Any], list[Any]]:
        return tick(*s)

    run = jax.jit(lambda phi, pi: lax.fori_loop(0, steps, body_list, (list(phi), list(pi)), unroll=2))
    return lambda phi, pi: tuple(jnp.stack(x) for x in run(phi, pi))


def bench(case: str, n: int, dtype: str, repeats: int) -> dict[str, Any]:
    net = cast_floating(ds.dirac_network(case, n, n), dtype)
    u = ds.update_of(net)
    K, shape = u.K, u.shape
    rng = np.random.default_rng(0)
    phi0 = rng.normal(size=(K, *shape)).astype(dtype)
    pi0 = rng.normal(size=(K, *shape)).astype(dtype)
    sites = int(np.prod(shape))
    steps = ds.default_steps(sites)
    p, q = jnp.asarray(phi0), jnp.asarray(pi0)
    state = State(p, q)
    compiled = _run_jit.lower(net, state, steps=steps, every=1, observer=None).compile()
    os.environ[ENV] = "0"  # read when the program is traced
    try:
        jax.clear_caches()
        row_major = _run_jit.lower(net, state, steps=steps, every=1, observer=None).compile()
    finally:
        os.environ.pop(ENV)
        jax.clear_caches()
    stacked = hand_runner(u, dtype, steps, True)
    site_major = hand_runner(u, dtype, steps, True, site_major=True)
    comps = hand_runner(u, dtype, steps, False)
    nb = ds.numba_runner(u, dtype)
    nb(phi0, pi0, 1)
    runs = {
        "nnfield": lambda: (lambda s: (s.phi, s.pi))(compiled(net, state, observer=None)[0]),
        "nnfield row-major": lambda: (lambda s: (s.phi, s.pi))(row_major(net, state, observer=None)[0]),
        "stacked": lambda: stacked(p, q),
        "stacked site-major": lambda: site_major(p, q),
        "components": lambda: comps(p, q),
        "numba": lambda: nb(phi0, pi0, steps),
    }
    outs = {k: jax.block_until_ready(f()) for k, f in runs.items()}
    best = dict.fromkeys(runs, np.inf)
    for _ in range(repeats):
        for k, f in runs.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            best[k] = min(best[k], time.perf_counter() - t0)
    ref = [np.asarray(x) for x in outs["nnfield"]]
    diff = {k: max(float(np.abs(np.asarray(a) - b).max()) for a, b in zip(v, ref, strict=True))
            for k, v in outs.items() if k != "nnfield"}
    return {"rates": {k: sites * steps / t / 1e6 for k, t in best.items()}, "diff": diff, "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=["3+1:forward"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print("| case | lattice | dtype | nnfield | nnfield, row-major | stacked (by hand) | stacked, site-major (by hand) "
          "| components (by hand) | numba | nnfield / numba | nnfield row-major / numba | stacked / numba "
          "| stacked site-major / numba | components / numba "
          "| max diff vs nnfield (row-major, stacked, site-major, components, numba) | load |")
    print("|" + "---|" * 17)
    for case in args.cases:
        for n in args.sizes:
            for dtype in args.dtypes:
                r = bench(case, n, dtype, args.repeats)
                v = r["rates"]
                d = r["diff"]
                nb = v["numba"]
                print(f"| {case} | {n}^3 | {dtype} | {v['nnfield']:.0f} | {v['nnfield row-major']:.0f} "
                      f"| {v['stacked']:.0f} | {v['stacked site-major']:.0f} | {v['components']:.0f} | {nb:.0f} "
                      f"| {v['nnfield'] / nb:.2f} | {v['nnfield row-major'] / nb:.2f} | {v['stacked'] / nb:.2f} "
                      f"| {v['stacked site-major'] / nb:.2f} | {v['components'] / nb:.2f} "
                      f"| {d['nnfield row-major']:.0e}, {d['stacked']:.0e}, {d['stacked site-major']:.0e}, "
                      f"{d['components']:.0e}, {d['numba']:.0e} | {r['load']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
