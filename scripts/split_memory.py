"""What each device holds in a run split over devices: XLA's temporaries of the run's chunk, per device, as a
multiple of the whole state's bytes, next to the memory guard's estimate (``nnfield.resources``, and as it was before
session 34: the one-device temporaries divided by the device count), for 1, 2 and 4
fake CPU devices, with and without ``[output] spectra`` (and, with spectra, the whole FFT the split runs took before
session 34, for the Dirac spinor before session 41, next to the distributed one, ``Spectra.split_over``).

    python scripts/split_memory.py                       # Klein-Gordon and Dirac, 3D, 32^3
    python scripts/split_memory.py --theory phi4 --n 64

Each (devices) case runs in its own process (the fake device count is fixed when JAX starts). Numbers are XLA's
``memory_analysis().temp_size_in_bytes`` of ``jax.jit(run).lower(...).compile()``; ``docs/scaling.md`` quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

THEORIES = {
    "klein-gordon": ('kind = "random_spectrum"', ""),
    "phi4": ('kind = "gaussian"', ""),
    "dirac": ('kind = "gaussian_packet"\nwidth = 2.0', 'scheme = "alternating"'),
}


def child(theory: str, n: int, devices: int) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    from nnfield import parallel, resources, runner
    from nnfield.config import parse_config
    from nnfield.network import _run_jit

    initial, scheme = THEORIES[theory]
    out = {}
    for spectra in (False, True):
        cfg = parse_config(f'[theory]\nname = "{theory}"\n[lattice]\nshape = [{n}, {n}, {n}]\n[time]\ndt = 0.1\n'
                           f'steps = 8\n{scheme}\n[initial]\n{initial}\n[output]\nevery = 2\n'
                           f'spectra = {str(spectra).lower()}\n[parallel]\ndevices = {devices}\n')
        model, state = runner.build(cfg, host=devices > 1)
        state = parallel.place(state, devices, n)
        model = parallel.place_model(model, devices, cfg.lattice.shape)
        est = resources.estimate_run_memory(cfg, devices)
        before = resources.estimate_run_memory(cfg)  # (the guard before session 34: one device's, divided)
        whole = runner.spectra_for(cfg, model, state)
        observed = runner._observed(whole, model, state, devices)
        if not spectra:
            ways = {"no spectra": whole}
        elif devices == 1:
            ways = {"spectra (FFT)": whole}
        elif observed is whole:  # (a complex field without declared sources, or 1D: the whole FFT)
            ways = {"spectra (whole FFT: a complex field)": whole}
        elif observed.mode_tables is not None:  # (the Dirac spinor's sources, session 41)
            ways = {"spectra (distributed FFT of the spinor)": observed,
                    "spectra (whole FFT, before session 41)": whole}
        else:
            ways = {"spectra (distributed FFT)": observed, "spectra (whole FFT, before session 34)": whole}
        for key, spec in ways.items():
            obs = runner.observer_for(model, state, spec)
            temp = _run_jit.lower(model.network, state, 8, 2, obs).compile().memory_analysis().temp_size_in_bytes
            out[key] = (temp / est["fields"], est["temporaries"] / est["fields"] / devices,
                        before["temporaries"] / before["fields"] / devices)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--theory", nargs="*", default=["klein-gordon", "dirac"], choices=sorted(THEORIES))
    ap.add_argument("--n", type=int, default=32, help="sites per axis (3D)")
    ap.add_argument("--devices", type=int, nargs="*", default=[1, 2, 4])
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    print(f"| theory, {args.n}^3, float64 | devices | chunk | temporaries per device / whole state | guard's "
          "estimate per device / whole state | the guard's before session 34 |")
    print("|---|---|---|---|---|---|")
    for theory in args.theory:
        for devices in args.devices:
            env = dict(os.environ, JAX_PLATFORMS="cpu",
                       XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
            res = subprocess.run([sys.executable, __file__, "--child", theory, str(args.n), str(devices)],
                                 capture_output=True, text=True, env=env, check=True)
            for key, (got, est, before) in json.loads(res.stdout.strip().splitlines()[-1]).items():
                flag = " (above the estimate)" if got > est else ""
                print(f"| {theory} | {devices} | {key} | {got:.2f}{flag} | {est:.2f} | {before:.2f} |")


if __name__ == "__main__":
    main()
