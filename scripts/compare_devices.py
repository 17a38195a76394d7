"""Every shipped example, shortened, on N fake CPU devices against one device: the recorded observables compared.

    python scripts/compare_devices.py                     # 4 fake devices, every example
    python scripts/compare_devices.py --devices 2 --only dirac_3p1 kg_2d_vacuum

Each example (`examples/*.toml`) is shortened to a few samples (``steps = max(4 every, 40)``, one snapshot at the
end; `t_end` replaced by `steps`), given `[output] spectra = true` where its theory records spectra and it is not a
sweep, and run twice with `nnfield run --devices 1` and `--devices N` (the lattice split along its first axis; a
sweep splits its members). For each example the largest difference of any observable is printed, relative to that
observable's largest magnitude, and flagged when it exceeds ``--rtol`` (default 1e-10; float32 examples 1e-5)
*and* the absolute difference exceeds ``--atol`` (default 1e-12): quantities that are zero in exact arithmetic
(the total charge and the flux on a torus) are round-off either way, and their relative difference means nothing.
Examples the device count does not divide, and networks the stability gate refuses, are reported and skipped.
Use it after changing the sharding, halo or spectra code (`docs/scaling.md`).
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def shortened(text: str) -> str:
    """The example's config with a short run (see the module docstring)."""
    if not re.search(r"^steps\s*=", text, re.M):
        text = re.sub(r"^t_end\s*=.*$", "steps = 1000", text, flags=re.M)
    every = re.search(r"^every\s*=\s*(\d+)", text, re.M)
    every = int(every.group(1)) if every else 1
    short = max(every * 4, 40) // every * every
    text = re.sub(r"^steps\s*=\s*\d+", f"steps = {short}", text, flags=re.M)
    text = re.sub(r"^snapshot_every\s*=\s*\d+.*$", f"snapshot_every = {short}", text, flags=re.M)
    if "spectra" not in text and "[output]" in text and "[sweep]" not in text:
        text = text.replace("[output]", "[output]\nspectra = true", 1)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--only", nargs="*", default=None, help="example names (default: all)")
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--atol", type=float, default=1e-12)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from nnfield import io as nio

    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={args.devices}")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(str(ROOT / "examples" / "*.toml"))):
            name = Path(path).stem
            if args.only and name not in args.only:
                continue
            text = shortened(Path(path).read_text())
            cfg = Path(tmp, f"{name}.toml")
            cfg.write_text(text)
            obs = {}
            for devices in (1, args.devices):
                out = Path(tmp, f"{name}_{devices}")
                res = subprocess.run([sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(out), "-q",
                                      "--devices", str(devices)], capture_output=True, text=True, env=env,
                                     cwd=tmp, check=False)
                if res.returncode != 0:
                    line = (res.stderr.strip().splitlines() or [""])[-1]
                    print(f"| {name} | skipped on {devices} device(s): {line[:160]} |", flush=True)
                    break
                obs[devices] = nio.load_run(out).observables
            if len(obs) < 2:
                continue
            rtol = 1e-5 if 'precision = "float32"' in text else args.rtol
            worst, flagged = ("", 0.0, 0.0), []
            for key in obs[1]:
                a, b = np.asarray(obs[1][key], float), np.asarray(obs[args.devices][key], float)
                diff = float(np.abs(a - b).max()) if a.size else 0.0
                rel = diff / max(float(np.abs(a).max()) if a.size else 0.0, 1e-300)
                if rel > worst[1]:
                    worst = (key, rel, diff)
                if rel > rtol and diff > args.atol:
                    flagged.append(f"{key} ({rel:.2g} relative, {diff:.2g} absolute)")
            bad += bool(flagged)
            verdict = "DIFFERS: " + ", ".join(flagged) if flagged else "equal to round-off"
            print(f"| {name} | worst `{worst[0]}`: {worst[1]:.2g} relative, {worst[2]:.2g} absolute | {verdict} |",
                  flush=True)
    print(f"\n{'all compared examples equal one device to round-off' if not bad else f'{bad} example(s) differ'}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
