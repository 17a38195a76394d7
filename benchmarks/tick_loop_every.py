r"""The simultaneous scheme's chunk by ticks per sample: session 35's pair loop against the one before it.

``nnfield.schemes.tick_loop`` runs the simultaneous scheme's ticks two per loop iteration and carries both ticks'
states (a ping-pong pair). With two or three ticks per sample (``[output] every = 2`` or ``3``) that loop had
one iteration, which XLA removes, and the ticks then fused into each other. Since session 35 such a sample is a
loop of one tick per iteration. This compiles the run's chunk (``nnfield.network._run_impl`` with the run's
observer, ``every`` ticks per sample) twice per case: with today's ``tick_loop`` and with the session-34 loop
(:func:`old_tick_loop`, a copy kept here), and reports per ``every``:

- milliseconds per tick of each (best of ``--repeats``, the two interleaved so that both see the same load);
- XLA's temporaries of each chunk (``memory_analysis()``) as a multiple of the state's bytes;
- the largest difference of the fields after the chunk: ``0`` where nothing changed (``every = 1`` and
  ``every >= 4`` compile the same program), round-off where the loop changed (``every = 2, 3``).

Two cases of schemes without the pair (``--cases "klein-gordon (3.8), leapfrog, 64^3" "phi^4, alternating, 64^3"``)
compile the same program with either loop: how their time per tick goes with ``every``, and the timing scatter.

Usage::

    python benchmarks/tick_loop_every.py [--repeats 5] [--out benchmarks/RESULTS.md]
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

from nnfield import schemes  # noqa: E402
from nnfield.lattice import Lattice  # noqa: E402
from nnfield.network import _run_impl  # noqa: E402
from nnfield.runner import observer_for  # noqa: E402
from nnfield.theories import klein_gordon as kg  # noqa: E402
from nnfield.theories import nonlinear as nl  # noqa: E402

NEW_TICK_LOOP = schemes.tick_loop


def old_tick_loop(step: Any, state: Any, n: int, unroll: int = 2, ping_pong: bool = False, layout: Any = None
                  ) -> Any:
    """``schemes.tick_loop`` as it was until session 34 (the pair loop for every ``n >= 2``)."""
    if n == 0:
        return state
    if n == 1:
        return step(state)
    lay = layout or (lambda s: s)
    if ping_pong and layout is not None and layout.applies(state):
        ping_pong = False
    state = lay(state)
    if not ping_pong:
        return jax.lax.fori_loop(0, n, lambda _, s: lay(step(s)), state, unroll=unroll)
    half, odd = divmod(n, 2)

    def body(_: Any, carry: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
        i, a, _b = carry
        b = lay(step(a))
        return i + 1, lay(step(b)), b

    i, a, b = jax.lax.fori_loop(0, half, body, (np.int32(0), state, state))
    never = i < 0
    a = jax.tree_util.tree_map(lambda x, y: jnp.where(never, y, x), a, b)
    return step(a) if odd else a


CASES = {
    "klein-gordon (3.8), 64^3": lambda: kg.model(Lattice((64,) * 3, 1.0), 0.5, 0.05, network="3.8",
                                                 scheme="simultaneous"),
    "klein-gordon (3.14), 64^3": lambda: kg.model(Lattice((64,) * 3, 1.0), 0.5, 0.05, network="3.14",
                                                  scheme="simultaneous"),
    "phi^4, 64^3": lambda: nl.phi4_model(Lattice((64,) * 3, 1.0), 1.0, 1.0, 0.05, scheme="simultaneous"),
    "sine-Gordon, 512^2": lambda: nl.sine_gordon_model(Lattice((512, 512), 1.0), 1.0, 1.0, 0.05,
                                                       scheme="simultaneous"),
    # schemes without the pair (the same program either way): how the time per tick goes with `every` there
    "klein-gordon (3.8), leapfrog, 64^3": lambda: kg.model(Lattice((64,) * 3, 1.0), 0.5, 0.05, network="3.8",
                                                           scheme="leapfrog"),
    "phi^4, alternating, 64^3": lambda: nl.phi4_model(Lattice((64,) * 3, 1.0), 1.0, 1.0, 0.05,
                                                      scheme="alternating"),
}
#: the cases run by default: the simultaneous scheme's (the other two with ``--cases``)
DEFAULT_CASES = [name for name in CASES if "leapfrog" not in name and "alternating" not in name]


def _compile(model: Any, state: Any, obs: Any, steps: int, every: int, loop: Any) -> Any:
    schemes.tick_loop = loop
    try:
        jax.clear_caches()  # (the trace of the other loop must not be reused)
        return jax.jit(lambda net, s, o: _run_impl(net, s, steps, every, o)).lower(model.network, state, obs).compile()
    finally:
        schemes.tick_loop = NEW_TICK_LOOP


def bench(name: str, everies: tuple[int, ...], repeats: int) -> list[str]:
    model = CASES[name]()
    rng = np.random.default_rng(0)
    shape = (model.network.K, *model.lattice.shape)
    state = model.initial_state(0.1 * rng.normal(size=shape), 0.1 * rng.normal(size=shape))
    obs = observer_for(model, state)
    state_bytes = sum(x.nbytes for x in jax.tree_util.tree_leaves(state))
    rows = []
    for every in everies:
        steps = 12 * every
        progs = {"old": _compile(model, state, obs, steps, every, old_tick_loop),
                 "new": _compile(model, state, obs, steps, every, NEW_TICK_LOOP)}
        best = dict.fromkeys(progs, np.inf)
        outs: dict[str, Any] = {}
        for _ in range(repeats):
            for key, c in progs.items():
                jax.block_until_ready(c(model.network, state, obs))
                t0 = time.perf_counter()
                outs[key] = jax.block_until_ready(c(model.network, state, obs))
                best[key] = min(best[key], time.perf_counter() - t0)
        diff = max(float(jnp.abs(x - y).max()) for x, y in zip(jax.tree_util.tree_leaves(outs["old"][0]),
                                                                 jax.tree_util.tree_leaves(outs["new"][0]),
                                                                 strict=True))
        ms = {k: t / steps * 1e3 for k, t in best.items()}
        temps = {k: c.memory_analysis().temp_size_in_bytes / state_bytes for k, c in progs.items()}
        rows.append(f"| {name} | {every} | {ms['old']:.2f} | {ms['new']:.2f} | {ms['old'] / ms['new']:.2f} | "
                    f"{temps['old']:.1f} | {temps['new']:.1f} | {diff:.1e} | {os.getloadavg()[0]:.1f} |")
        print(rows[-1], flush=True)
    return rows


def _args_text(argv: list[str] | None) -> str:
    """The command line's arguments as typed (quoted where they hold spaces), without ``--out``."""
    import shlex

    words = list(sys.argv[1:] if argv is None else argv)
    if "--out" in words:
        i = words.index("--out")
        del words[i:i + 2]
    return " ".join(shlex.quote(w) for w in words)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=DEFAULT_CASES, choices=list(CASES))
    ap.add_argument("--every", default="1,2,3,4,5", help="ticks per sample, comma-separated")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None, help="append the table to this file (e.g. benchmarks/RESULTS.md)")
    args = ap.parse_args(argv)
    everies = tuple(int(e) for e in args.every.split(","))
    lines = ["# The simultaneous scheme's chunk by ticks per sample (session 35)", "",
             f"Generated by `python benchmarks/tick_loop_every.py {_args_text(argv)}` on "
             f"{time.strftime('%Y-%m-%d %H:%M')} ({os.cpu_count()} cores, JAX {jax.__version__}, float64). "
             "ms per tick of the chunk (12 samples, each after `every` ticks, with the run's observables), best "
             "of the repeats, the two loops interleaved; temporaries: XLA's, in states.", "",
             "| case | every | old [ms/tick] | new [ms/tick] | old / new | old temporaries | new temporaries | "
             "max abs diff | load |", "|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for name in args.cases:
        lines += bench(name, everies, args.repeats)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write("\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
