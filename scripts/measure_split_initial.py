"""Measure what building a run's initial data split over devices holds: ``nnfield.resources.MEASURED_SPLIT_INITIAL``.

For each initial kind with a split builder (``InitialSpec.split``: every kind of Klein-Gordon, phi^4 and
sine-Gordon, the photons of the U(1) theories, the Dirac plane waves and packets; ``--kinds``, by default the random
fields ``random_spectrum`` and ``gaussian``), D = 2 and 3 and two lattice sizes, a fresh process with ``--devices``
fake CPU devices builds the model and then the state split over them (``nnfield.runner.build_split``); its peak
resident memory (``VmHWM``, reset once the model is built, less the resident memory then: the guard counts the
model apart; session 46, before the peak of the whole process) is read at the end. On the CPU backend the devices'
buffers are the process's memory, so the peak counts the host's streamed noise planes and every device's slabs, FFT
temporaries and all-to-all buffers together. The bytes per component and site are the slope between the two sizes
over the theory's ``K`` components (Maxwell's ``D``; the interpreter, JAX and the compiled programs cancel); for
comparison the same for the whole build (``nnfield.runner.build``, the table ``MEASURED_INITIAL`` of
``scripts/measure_initial_memory.py``, which counts the state the same way).

    PYTHONPATH=src python scripts/measure_split_initial.py [--devices 4] [--sides 2:512,1024 3:64,128] [--kinds K]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys
import jax
jax.config.update("jax_enable_x64", True)
from nnfield import runner
from nnfield.config import parse_config

def status(key):  # kB -> bytes, from /proc/self/status
    return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(key + ":"))

text, mode, devices = sys.argv[1], sys.argv[2], int(sys.argv[3])
cfg = parse_config(text, source="m.toml")
built = runner._build_model(cfg)  # the model first (the guard counts it apart): both builds then take this one
runner._build_model = lambda cfg: built
open("/proc/self/clear_refs", "w").write("5")  # (the peak resident memory reset to the current)
base = status("VmRSS")
if mode == "split":
    model, state = runner.build_split(cfg, devices)
else:
    model, state = runner.build(cfg)
jax.block_until_ready(state)
print(json.dumps({"peak": status("VmHWM") - base, "K": int(model.network.K)}))
"""

THEORIES = {"klein-gordon": "", "phi4": "", "sine-gordon": "", "maxwell": "", "maxwell-dirac": "", "scalar-qed": "",
            "dirac": "", "gauged-dirac": ""}
#: the [time] keys a theory needs beyond dt and steps
TIME = {"gauged-dirac": 'scheme = "alternating"\n'}


#: theory keys a kind needs (the phi^4 kink: the double well)
KIND_THEORY = {("phi4", "kink"): 'phase = "broken"\n'}


def config(theory: str, shape: list[int], kind: str = "random_spectrum") -> str:
    extra = THEORIES[theory] + KIND_THEORY.get((theory, kind), "")
    return (f'[theory]\nname = "{theory}"\n{extra}[lattice]\nshape = {shape}\nspacing = 1.0\n'
            f'[time]\ndt = 0.05\nsteps = 10\n{TIME.get(theory, "")}[initial]\nkind = "{kind}"\nseed = 1\n')


def has_kind(theory: str, kind: str) -> bool:
    """Whether ``theory`` has the initial ``kind`` with a split builder."""
    sys.path.insert(0, str(ROOT / "src"))
    from nnfield.theories.registry import get_theory

    initial = get_theory(theory).initial
    return kind in initial and initial[kind].split is not None


def peak(text: str, mode: str, devices: int) -> int:
    """The peak resident bytes of building ``text``'s state (``mode``: ``"split"`` or ``"whole"``)."""
    return measure(text, mode, devices)[0]


def measure(text: str, mode: str, devices: int) -> tuple[int, int]:
    """``(peak resident bytes, K)`` of building ``text``'s state (``mode``: ``"split"`` or ``"whole"``)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    res = subprocess.run([sys.executable, "-c", CHILD, text, mode, str(devices)], capture_output=True, text=True,
                         env=env, check=False)
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    got = json.loads(res.stdout.strip().splitlines()[-1])
    return int(got["peak"]), int(got["K"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--sides", nargs="*", default=["2:512,1024", "3:64,128"],
                    help="D:side,side (two lattice sides per dimension)")
    ap.add_argument("--theories", default=",".join(THEORIES))
    ap.add_argument("--kinds", default="random_spectrum,gaussian")
    args = ap.parse_args()
    table: dict[str, dict[str, float]] = {}
    print("| theory | kind | D | sites | split [B/site] | whole [B/site] |")
    print("|---|---|---|---|---|---|")
    for theory, kind in ((t, k) for t in args.theories.split(",") for k in args.kinds.split(",") if has_kind(t, k)):
        for spec in args.sides:
            D, sides = spec.split(":")
            s1, s2 = (int(x) for x in sides.split(","))
            shapes = [[s] * int(D) for s in (s1, s2)]
            sites = [s1 ** int(D), s2 ** int(D)]
            row = {}
            for mode in ("split", "whole"):  # (bytes per component and site: K components, e.g. Maxwell's D)
                got = [measure(config(theory, sh, kind), mode, args.devices) for sh in shapes]
                row[mode] = (got[1][0] - got[0][0]) / (got[0][1] * (sites[1] - sites[0]))
            print(f"| {theory} | {kind} | {D} | {sites[0]}, {sites[1]} | {row['split']:.1f} | {row['whole']:.1f} |")
            for mode, v in row.items():
                key = f"{theory} {kind}"
                table.setdefault(mode, {})[key] = max(table.get(mode, {}).get(key, 0.0), v)
    print("\nlargest per theory (bytes per component and site):", json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
