"""Split runs: the shift of a partitioned program as two slices concatenated against slice/pad/select (session 43).

    python benchmarks/split_shift.py [--devices 4] [--rounds 3] [--only dirac_3p1 ...] [--out benchmarks/RESULTS.md]

A program that XLA's SPMD partitioner splits over devices lowers each periodic shift either as the two slices of
the field concatenated (``jnp.roll``; nnfield's default since session 43, ``NNFIELD_SPLIT_SHIFT=roll``) or as the
one-device form, the slices padded into place and chosen by a ``select`` (``NNFIELD_SPLIT_SHIFT=pad``). For a shift
along the split axis the partitioner turns the concatenate into one exchange of the boundary rows; the pad form
first sums the wrapped rows over the devices (an ``all-reduce``) and pads them to the whole lattice.

For each example (its lattice and its cadence; ``--steps`` ticks), each form runs as ``nnfield run --devices N``
over ``N`` fake CPU devices in a fresh process, ``--rounds`` times, alternating: the rate is the run's own
``site_updates_per_second`` (chunks after the first), the best of the rounds. The memory columns come from the
same run's chunk program compiled in a separate process (XLA's ``memory_analysis()``: the temporaries per device,
over one device's share of the state). With more devices than cores the devices share the cores: these rows
measure what the decomposition costs, not a speed-up. The values of the two forms are the same permutation
of the field (``tests/test_split_shift_s43.py``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from _report import emit  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))
from nnfield.io import read_attrs  # noqa: E402

DEFAULT = ["kg_3d_random", "dirac_3p1", "gauge_magnetic_2p1", "maxwell_photons_3d", "maxwell_dirac_packet_2d",
           "scalar_qed_vortex_2d"]
FORMS = ("roll", "pad")

MEMORY = """
import dataclasses, sys, jax
jax.config.update("jax_enable_x64", True)
from nnfield import runner
from nnfield.config import load_config
n = int(sys.argv[2])
cfg = load_config(sys.argv[1])
cfg = dataclasses.replace(cfg, parallel=dataclasses.replace(cfg.parallel, devices=n))
p = runner.prepare(cfg, sys.argv[3], allow_unstable=True)
chunk, steps, every, inner = runner.first_chunk(cfg, n)
program = runner._ChunkProgram(p.network, p.observer, runner.obs_layout(p.obs0, sampled=True))
args = (program.treedef, program.layout, program.leaves, p.state)
kw = {"n": steps, "every": every, "snapshot_every": inner}
ma = runner._chunk_jit._choose(args, kw).lower(*args, **kw).compile().memory_analysis()
state = sum(x.nbytes for x in jax.tree_util.tree_leaves(p.state))
print("TEMP", ma.temp_size_in_bytes, state / n)
"""


def _config(example: str, steps: int) -> str:
    text = (ROOT / "examples" / f"{example}.toml").read_text()
    text = re.sub(r"(?m)^(t_end|steps)\s*=.*$", f"steps = {steps}", text)
    if not re.search(r"(?m)^steps\s*=", text):
        text = re.sub(r"(?m)^\[time\]$", f"[time]\nsteps = {steps}", text)
    return re.sub(r"(?m)^snapshot_every\s*=.*$", f"snapshot_every = {steps}", text)


def _env(form: str, devices: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(NNFIELD_SPLIT_SHIFT=form, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT / "src"),
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    return env


def _rate(cfg: Path, out: Path, form: str, devices: int) -> float:
    res = subprocess.run([sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(out), "--force",
                          "--devices", str(devices), "-q"], env=_env(form, devices), capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{cfg} ({form}): {res.stderr[-2000:]}")
    with h5py.File(out / "run.h5", "r") as h5:  # (the final attributes live in /final: read_attrs)
        return float(read_attrs(h5)["site_updates_per_second"])


def _memory(cfg: Path, out: Path, form: str, devices: int) -> tuple[int, float]:
    res = subprocess.run([sys.executable, "-c", MEMORY, str(cfg), str(devices), str(out)], env=_env(form, devices),
                         capture_output=True, text=True, check=False)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("TEMP")), None)
    if line is None:
        raise RuntimeError(f"{cfg} ({form}) memory: {res.stderr[-2000:]}")
    _, temp, share = line.split()
    return int(temp), float(share)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--only", nargs="*", default=DEFAULT, help="example names (examples/NAME.toml)")
    ap.add_argument("--out", default=None, help="append the table to this file (e.g. benchmarks/RESULTS.md)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ex in args.only:
            cfg = Path(tmp) / f"{ex}.toml"
            cfg.write_text(_config(ex, args.steps))
            rates: dict[str, list[float]] = {f: [] for f in FORMS}
            mem = {f: _memory(cfg, Path(tmp) / f"{ex}-{f}-mem", f, args.devices) for f in FORMS}
            for _ in range(args.rounds):
                for f in FORMS:
                    rates[f].append(_rate(cfg, Path(tmp) / f"{ex}-{f}", f, args.devices))
            best = {f: max(v) for f, v in rates.items()}
            share = mem["roll"][1]
            rows.append(f"| {ex} | {best['roll'] / 1e6:.3g} | {best['pad'] / 1e6:.3g} | "
                        f"{best['roll'] / best['pad']:.2f} | {mem['roll'][0] / 1e6:.3g} "
                        f"({mem['roll'][0] / share:.1f}) | {mem['pad'][0] / 1e6:.3g} ({mem['pad'][0] / share:.1f}) |")
            print(rows[-1], file=sys.stderr, flush=True)
    emit([
        "",
        f"# Split runs: the shift as two slices concatenated against slice/pad/select ({args.devices} fake devices)",
        "",
        f"Generated by `python benchmarks/split_shift.py --devices {args.devices} --rounds {args.rounds} --steps "
        f"{args.steps}`. Rate: million site-updates/s, best of the rounds (alternating); temporaries: XLA's, per "
        "device, MB (and over one device's share of the state). `roll` is nnfield's lowering of a partitioned "
        "program's shift since session 43, `pad` the one before.",
        "",
        "| example | roll [Msite/s] | pad [Msite/s] | roll / pad | roll temporaries per device | pad temporaries per "
        "device |",
        "|---|---|---|---|---|---|",
        *rows,
    ], args.out)


if __name__ == "__main__":
    main()
