"""How far a float32 run's recorded observables are from the exact observation of its own float32 state.

    python scripts/float32_observables.py                         # every example, its own lattice
    python scripts/float32_observables.py --scale 2 --only dirac_3p1 maxwell_photons_3d
    python scripts/float32_observables.py --sums-in-float32       # as before session 42 (runner.SUMS_IN_FLOAT64 off)

Each example (shortened as in ``scripts/compare_devices.py``, with spectra where its theory records them; sweeps
skipped) is built at float32, and its observer (the run's, with nnfield's compile options, as in a chunk) is applied
to the initial state. The reference is the float64 observer applied to the same numbers: the float32 state and the
model's float32 parameters, widened exactly. So the difference is the observer's own error, not the dynamics'.
Printed per example: the three largest differences relative to each observable's magnitude, and the largest absolute
difference among observables whose value is round-off (below ``1e-6``: a net charge, a flux, a current on a torus).

Session 42 (the machine's 2-core CPU): before, sums in float32 erred by up to 1.6e-4 (3D Dirac's charge on 24^3),
2.4e-4 (a 3D Maxwell plaquette sum on 32^3) and 1.1e-4 (a 2D plane wave's ``1 - cos P``); after, every observable
is within 4e-7 and the spectra within 9.4e-7 (``docs/performance.md``, "The observer").
"""

from __future__ import annotations

import argparse
import glob
import re
import sys
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from compare_devices import shortened  # noqa: E402


def _config(text: str, precision: str, scale: int):
    from nnfield.config import parse_config

    if scale > 1:
        text = re.sub(r"^shape\s*=\s*\[(.*?)\]", lambda m: "shape = [" + ", ".join(
            str(int(v) * scale) for v in m.group(1).split(",")) + "]", text, flags=re.M)
    text = re.sub(r"^precision\s*=.*$", "", text, flags=re.M)
    return parse_config(text.replace("[output]", f'[output]\nprecision = "{precision}"', 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="example names (default: all)")
    ap.add_argument("--scale", type=int, default=1, help="multiply each lattice axis by this")
    ap.add_argument("--sums-in-float32", action="store_true", help="the observer as before session 42")
    args = ap.parse_args()
    from nnfield import runner
    from nnfield._xla import compiler_options

    runner.SUMS_IN_FLOAT64 = not args.sums_in_float32
    print("| example | sites | largest relative differences | largest absolute difference of a round-off value |")
    print("|---|---|---|---|")
    for path in sorted(glob.glob(str(ROOT / "examples" / "*.toml"))):
        name = Path(path).stem
        if args.only and name not in args.only:
            continue
        text = shortened(Path(path).read_text())
        if "[sweep]" in text:
            continue
        try:
            cfg32, cfg64 = _config(text, "float32", args.scale), _config(text, "float64", args.scale)
            m32, s32 = runner.build(cfg32)
            m64, _ = runner.build(cfg64)
        except Exception as exc:  # noqa: BLE001 - reported, the next example goes on
            print(f"| {name} | skipped: {type(exc).__name__}: {str(exc)[:100]} | | |")
            continue
        m64 = runner.cast_floating(runner.cast_floating(m64, np.float32), np.float64)
        s64 = runner.cast_floating(s32, np.float64)
        got = jax.jit(runner.observer_for(m32, s32, runner.spectra_for(cfg32, m32, s32)),
                      compiler_options=compiler_options() or None)(s32)
        ref = jax.jit(runner.observer_for(m64, s64, runner.spectra_for(cfg64, m64, s64)))(s64)
        rel, zero = [], 0.0
        for k, want in ref.items():
            want = np.asarray(want)
            err = float(np.max(np.abs(np.asarray(got[k]).astype(want.dtype) - want)))
            scale = float(np.max(np.abs(want)))
            if scale > 1e-6:
                rel.append((err / scale, k))
            else:
                zero = max(zero, err)
        rel.sort(reverse=True)
        print(f"| {name} | {int(np.prod(cfg32.lattice.shape))} | "
              + ", ".join(f"{k} {e:.1e}" for e, k in rel[:3]) + f" | {zero:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
