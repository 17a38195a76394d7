"""Wall time of `nnfield run` for every shipped example against the floor of starting JAX.

    python benchmarks/overhead.py [--out benchmarks/RESULTS.md]

For each `examples/*.toml`: `nnfield run EXAMPLE --out TMP --force --allow-unstable` in a fresh process, once with
an empty compilation cache (cold) and three more times with the cache it left (warm; the best). The floor:
`python -c "import jax; jax.jit(lambda x: x + 1)(1.0)"` in a fresh process (interpreter, JAX import, one
trivial compile), measured next to each example (before its cold run and after each warm run; the best), because
on a shared machine the speed drifts by up to 1.6x within the minutes of the benchmark (a floor of 1.00 s at the
start and 0.61 s at the end of one run on 2026-12-04). Ratios are run time over the example's own floor; targets
(issue 10): at most 2x (cold) and 1.3x (warm) for
the 1D and 2D examples. Also prints the steps per second the run itself reports (`done: ...` line). The
paper's unit-step examples are unstable by design: they run with `--allow-unstable` and stop at NaN.

Bytecode: the child processes run with `PYTHONDONTWRITEBYTECODE` removed from their environment, so that the
cold run leaves nnfield's compiled bytecode (`__pycache__`) as any first import of an installed package does
(`pip install` compiles it at install time; JAX's, which the floor imports, was compiled so). Where the
environment forbids writing bytecode (this project's sandbox sets `PYTHONDONTWRITEBYTECODE=1`), every run of an
editable checkout would otherwise compile the nnfield modules a run imports (about 50) from source again, a cost
a user's installation does not pay: 0.06 s per warm run of a 1D example on 2026-12-04 (`--no-bytecode` keeps the
environment as it is; delete `src/nnfield/**/__pycache__` first, or the bytecode an earlier run left is read).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import emit

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if res.returncode not in (0, 1):  # 1: an unstable example (the paper's unit-step schemes) stopped at NaN
        raise RuntimeError(f"{cmd}: {res.stderr}")
    return wall, res.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="append the table to this Markdown file")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these examples only (file stems)")
    ap.add_argument("--xla-flags", default="", help="XLA_FLAGS for the nnfield runs (not the floor), for experiments")
    ap.add_argument("--warm-repeats", type=int, default=3, help="warm runs per example, each followed by a "
                    "floor run; the best of each is reported")
    ap.add_argument("--backend", default="cpu",
                    help="JAX_PLATFORMS of the runs and the floor (default cpu; 'default': JAX's own choice, e.g. "
                         "the GPU of `benchmarks/gpu.py`)")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="keep PYTHONDONTWRITEBYTECODE as the environment has it (see the docstring)")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    if args.backend != "default":
        env["JAX_PLATFORMS"] = args.backend
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    floor_cmd = [sys.executable, "-c", "import jax; jax.jit(lambda x: x + 1)(1.0)"]
    rows = []
    examples = sorted((ROOT / "examples").glob("*.toml"))
    if args.only:
        examples = [ex for ex in examples if ex.stem in args.only]
        missing = set(args.only) - {ex.stem for ex in examples}
        if missing:
            raise SystemExit(f"--only: no such example: {', '.join(sorted(missing))}")
    with tempfile.TemporaryDirectory() as tmp:
        for ex in examples:
            cache = Path(tmp) / f"cache-{ex.stem}"
            e = dict(env, NNFIELD_CACHE_DIR=str(cache))
            if args.xla_flags:
                e["XLA_FLAGS"] = args.xla_flags
            cmd = [sys.executable, "-m", "nnfield", "run", str(ex), "--out", str(Path(tmp) / ex.stem), "--force",
                   "--allow-unstable"]
            floors = [timed(floor_cmd, env)[0]]
            cold, out = timed(cmd, e)
            warms = []
            for _ in range(args.warm_repeats):  # interleaved with the floor: the machine's speed drifts
                warms.append(timed(cmd, e))
                floors.append(timed(floor_cmd, env)[0])
            warm, out = min(warms, key=lambda r: r[0])
            m = re.search(r"done: (\d+) steps .* in ([0-9.]+) s", out)
            sps = int(m.group(1)) / float(m.group(2)) if m else float("nan")
            dims = out.split(" on ", 1)[1].split(" ", 1)[0] if " on " in out else "?"
            rows.append((ex.stem, dims, min(floors), cold, warm, sps))
    lines = [
        "",
        "# Overhead of `nnfield run`",
        "",
        f"Generated by `python benchmarks/overhead.py"
        f"{' --only ' + ' '.join(args.only) if args.only else ''}"
        f"{' --xla-flags ' + repr(args.xla_flags) if args.xla_flags else ''}"
        f"{' --no-bytecode' if args.no_bytecode else ''}"
        f"{f' --warm-repeats {args.warm_repeats}' if args.warm_repeats != 3 else ''}"
        f"{f' --backend {args.backend}' if args.backend != 'cpu' else ''}`. "
        "Floor: a fresh `python -c \"import jax; jax.jit(lambda x: x + 1)(1.0)\"`, measured next to each example "
        f"(once before its cold run and once after each of its {args.warm_repeats} warm runs; the best), since the "
        f"machine's speed drifts over the minutes of the benchmark: {min(r[2] for r in rows):.2f}-"
        f"{max(r[2] for r in rows):.2f} s in this run. cold: empty compilation cache (one run); warm: the cache the "
        f"cold run left (best of {args.warm_repeats}). Ratios are over the example's own floor.",
        "",
        "| example | lattice | floor [s] | cold [s] | cold / floor | warm [s] | warm / floor | steps/s (run loop) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, dims, floor, cold, warm, sps in rows:
        lines.append(f"| {name} | {dims} | {floor:.2f} | {cold:.2f} | {cold / floor:.2f} | {warm:.2f} | "
                     f"{warm / floor:.2f} | {sps:.3g} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
