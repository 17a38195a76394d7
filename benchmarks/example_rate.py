"""The rate `nnfield run` reports for one example, over many fresh processes, optionally against another tree.

    python benchmarks/example_rate.py                                   # examples/dirac_1p1.toml, 16 runs
    python benchmarks/example_rate.py --runs 12 --ref-src /tmp/base/src  # interleaved with another checkout
    python benchmarks/example_rate.py examples/kg_1d_packet.toml --target 0

Each run is `python -m nnfield run EXAMPLE --out TMP --force` in a fresh process (warm compilation cache: one
untimed run first) and the rate is the one its `done:` line reports: million site-updates per second after
compilation, measured by the runner on the chunks after the first. For the 1+1 Dirac example that is one chunk of
150 ticks on 256 sites, about a millisecond, so single runs scatter widely on a shared machine: read the median.
``--ref-src`` runs the same example with another source tree on ``PYTHONPATH`` (e.g. a `git worktree` of an
earlier commit), alternating with this one so that both see the same background load. ``--target`` (default 32,
issue 10's "20x the 1.6 million site-updates/s measured before") only counts the runs below it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_rate(example: Path, src: Path, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(src), JAX_PLATFORMS="cpu")
    res = subprocess.run([sys.executable, "-m", "nnfield", "run", str(example), "--out", str(out), "--force"],
                         capture_output=True, text=True, env=env, check=False, cwd=tempfile.gettempdir())
    m = re.search(r"([0-9.]+) M site-updates/s", res.stdout + res.stderr)
    if res.returncode != 0 or m is None:
        raise RuntimeError(f"{example} with {src}: exit {res.returncode}\n{res.stdout}\n{res.stderr}")
    return float(m.group(1))


def summary(name: str, rates: list[float], target: float) -> str:
    v = sorted(rates)
    below = f" | {sum(x < target for x in v)}" if target else ""
    return f"| {name} | {len(v)} | {statistics.median(v):.1f} | {v[0]:.1f} | {v[-1]:.1f}{below} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("example", nargs="?", default=str(ROOT / "examples" / "dirac_1p1.toml"))
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--ref-src", help="another source tree (its src/ directory) to run alternately with this one")
    ap.add_argument("--target", type=float, default=32.0, help="count the runs below this rate (0: don't)")
    args = ap.parse_args(argv)
    example = Path(args.example).resolve()
    trees = {"this tree": ROOT / "src"}
    if args.ref_src:
        trees = {f"ref ({args.ref_src})": Path(args.ref_src).resolve(), **trees}
    rates: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for src in trees.values():  # warm the compilation cache of each tree
            one_rate(example, src, Path(tmp) / "warm")
        for _ in range(args.runs):
            for name, src in trees.items():
                rates[name].append(one_rate(example, src, Path(tmp) / "run"))
    head = "| tree | runs | median [Msite/s] | min | max |" + (f" runs below {args.target:g} |" if args.target else "")
    shown = example.relative_to(ROOT) if example.is_relative_to(ROOT) else example
    load = os.getloadavg()[0]
    lines = [f"`python benchmarks/example_rate.py {shown} --runs {args.runs}`, load average {load:.1f} at the end",
             "", head,
             "|---|---|---|---|---|" + ("---|" if args.target else "")]
    lines += [summary(name, r, args.target) for name, r in rates.items()]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
