"""Where the wall time of a small `nnfield run` goes, next to the floor `benchmarks/overhead.py` compares with.

    python benchmarks/overhead_budget.py [--only kg_1d_packet dirac_1p1 ...] [--repeats 3] [--out FILE]

For each example (default: the 1D and 2D examples of issue 10's overhead target), in fresh processes: the floor
(`python -c "import jax; jax.jit(lambda x: x + 1)(1.0)"`), a cold run (empty compilation cache) and warm runs
(the cache the cold run left) of `python -X importtime -m nnfield run EXAMPLE -v`. Each run is split into

- **imports beyond JAX**: the self time `-X importtime` reports for the modules the floor does not import, by
  package: equinox (with jaxtyping and wadler_lindig), pydantic (with pydantic_core, annotated_types,
  typing_inspection), h5py, nnfield, and other (rich, JAX's own modules the floor does not import, the standard
  library modules only these use, ...; until 2026-12-05 JAX's were counted in the total but in no column);
  `-X importtime` itself adds some time, so these are upper bounds;
- **JAX, getting programs**: tracing, lowering and the backend (an XLA compile, or a read from the persistent
  compilation cache), from the `of which JAX` line of `nnfield run -v` (`nnfield._xla.compile_clock`);
- **the run's other work**: the rest of the `timings` line's total (building the model and initial data, the
  stability gate, computing the chunks, writing the run file, the conservation verdicts);
- **start-up**: the process's wall time minus the above: the interpreter, importing JAX and initializing its
  backend (what the floor pays too, less its trivial compile), reading the config, and the process's exit.

Bytecode as in `benchmarks/overhead.py` (kept; `PYTHONDONTWRITEBYTECODE` removed). The warm columns are the
warm run with the smallest wall time. Numbers in seconds. The runs compile their first chunk in the run's own
thread (`NNFIELD_COMPILE_AHEAD=0`): since session 43 `nnfield run` compiles it in the background during the
set-up, where its parts overlap and would not add up to the wall time (`benchmarks/startup_ab.py --cold` measures
what the overlap saves).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _report import emit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["kg_1d_packet", "kg_2d_plane_wave", "phi4_1d", "sine_gordon_kink", "dirac_1p1", "gauge_electric_1p1"]
GROUPS = {"equinox": "equinox", "jaxtyping": "equinox", "wadler_lindig": "equinox", "pydantic": "pydantic",
          "pydantic_core": "pydantic", "annotated_types": "pydantic", "typing_inspection": "pydantic",
          "h5py": "h5py", "nnfield": "nnfield"}  # the rest, JAX's modules the floor does not import included: other
FLOOR = [sys.executable, "-c", "import jax; jax.jit(lambda x: x + 1)(1.0)"]


def modules(stderr: str) -> dict[str, float]:
    """``{module: self seconds}`` from the ``-X importtime`` lines of ``stderr``."""
    out = {}
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S.*)$", line)
        if m:
            out[m.group(2).strip()] = int(m.group(1)) / 1e6
    return out


def imports(stderr: str, floor: set[str]) -> dict[str, float]:
    """Self seconds of the modules the floor does not import, by group (:data:`GROUPS`; ``other``: the rest,
    e.g. rich and the standard library modules only nnfield's dependencies use)."""
    out: dict[str, float] = defaultdict(float)
    for name, seconds in modules(stderr).items():
        if name not in floor:
            out[GROUPS.get(name.split(".")[0], "other")] += seconds
    return dict(out)


def timings(stdout: str) -> dict[str, float]:
    """The ``timings`` and ``of which JAX`` lines of ``nnfield run -v``."""
    m = re.search(r"total ([0-9.]+) s", stdout)
    j = re.search(r"tracing ([0-9.]+) s, lowering ([0-9.]+) s, (\d+) programs? \(XLA compiles (\d+), ([0-9.]+) s; "
                  r"read from the compilation cache (\d+), ([0-9.]+) s\)", stdout)
    if not (m and j):
        raise RuntimeError(f"no timings in the output of nnfield run -v:\n{stdout}")
    return {"run": float(m.group(1)), "trace": float(j.group(1)), "lower": float(j.group(2)),
            "programs": int(j.group(3)), "xla": float(j.group(5)), "cache": float(j.group(7))}


def floor_modules(env: dict[str, str]) -> set[str]:
    """The modules the floor imports (those a run imports beyond them are "imports beyond JAX")."""
    res = subprocess.run([sys.executable, "-X", "importtime", *FLOOR[1:]], capture_output=True, text=True, env=env,
                         check=True)
    return set(modules(res.stderr))


def one_run(example: Path, out: Path, env: dict[str, str], floor: set[str]) -> dict[str, float]:
    cmd = [sys.executable, "-X", "importtime", "-m", "nnfield", "run", str(example), "--out", str(out), "--force",
           "--allow-unstable", "-v"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if res.returncode not in (0, 1):  # 1: an unstable example stopped at NaN
        raise RuntimeError(f"{cmd}: {res.stderr[-2000:]}")
    r = {"wall": wall, **timings(res.stdout)}
    imp = imports(res.stderr, floor)
    r.update({f"imp_{k}": v for k, v in imp.items()})
    r["imp_beyond"] = sum(imp.values())
    r["jax_programs"] = r["trace"] + r["lower"] + r["xla"] + r["cache"]
    r["other_work"] = max(r["run"] - r["jax_programs"], 0.0)
    r["startup"] = r["wall"] - r["imp_beyond"] - r["run"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", default=DEFAULT, help="examples (file stems)")
    ap.add_argument("--repeats", type=int, default=3, help="warm runs (and floors) per example; the best")
    ap.add_argument("--out", help="append the tables to this Markdown file")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu", NNFIELD_COMPILE_AHEAD="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    rows = []
    floor_set = floor_modules(env)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only:
            example = ROOT / "examples" / f"{name}.toml"
            if not example.exists():
                raise SystemExit(f"--only: no such example: {name}")
            e = dict(env, NNFIELD_CACHE_DIR=str(Path(tmp) / f"cache-{name}"))
            floors = []
            t0 = time.perf_counter()
            subprocess.run(FLOOR, env=env, check=True)
            floors.append(time.perf_counter() - t0)
            cold = one_run(example, Path(tmp) / name, e, floor_set)
            warms = []
            for _ in range(args.repeats):
                warms.append(one_run(example, Path(tmp) / name, e, floor_set))
                t0 = time.perf_counter()
                subprocess.run(FLOOR, env=env, check=True)
                floors.append(time.perf_counter() - t0)
            rows.append((name, min(floors), cold, min(warms, key=lambda r: r["wall"])))
    cols = ("wall", "startup", "imp_beyond", "imp_equinox", "imp_pydantic", "imp_h5py", "imp_nnfield", "imp_other",
            "trace", "lower", "xla", "cache", "other_work")
    head = ("wall", "start-up", "imports beyond JAX", "equinox", "pydantic", "h5py", "nnfield", "other imports",
            "tracing", "lowering", "XLA compiles", "cache reads", "run's other work")
    lines = [
        "",
        "# Where the time of a small run goes",
        "",
        f"Generated by `python benchmarks/overhead_budget.py --only {' '.join(args.only)}"
        f"{f' --repeats {args.repeats}' if args.repeats != 3 else ''}` ({time.strftime('%Y-%m-%d %H:%M')}). "
        "Seconds; floor: `python -c \"import jax; jax.jit(lambda x: x + 1)(1.0)\"` (best of "
        f"{args.repeats + 1}, interleaved); cold: empty compilation cache; warm: the best of {args.repeats}. "
        "Imports: `-X importtime` self times (upper bounds). The parts are defined in the script's docstring.",
        "",
        "| example | run | floor | " + " | ".join(head) + " |",
        "|---|---|---|" + "---|" * len(head),
    ]
    for name, floor, cold, warm in rows:
        for label, r in (("cold", cold), ("warm", warm)):
            lines.append(f"| {name} | {label} | {floor:.2f} | "
                         + " | ".join(f"{r.get(c, 0.0):.2f}" for c in cols) + " |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
