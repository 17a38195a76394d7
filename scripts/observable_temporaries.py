"""XLA's temporaries of each observable of a run, in states: what a run's observation holds beside its fields.

For a config (default: the 3D Dirac packet of ``benchmarks/build_turns.py --theory dirac`` on ``--n^3`` sites), the
model and its initial state are built on one CPU device and each observable of ``model.observables`` is compiled
alone (the others pruned), then all together; XLA's ``memory_analysis().temp_size_in_bytes`` of each program is
printed relative to the state's bytes (``--devices N``: the state built split over ``N`` fake CPU devices, each
program's temporaries per device relative to a device's share of the state). Found in session 46: a Dirac run split
over 4 local processes held about 1 GB per process at 128^3 whether its initial data were built whole or split; the
step-0 observables were most of it, the local energy ``psi^dagger H psi`` alone about 6 states of temporaries on one
device (each shifted spinor materialized) and 7 of a device's share on 2.

    PYTHONPATH=src python scripts/observable_temporaries.py [--n 96] [--config FILE] [--devices N]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=96, help="lattice side of the default Dirac run (n^3 sites)")
    ap.add_argument("--config", type=Path, help="a config to measure instead (its lattice as given)")
    ap.add_argument("--devices", type=int, default=1,
                    help="split the state over this many fake CPU devices (the temporaries per device, relative to a "
                         "device's share of the state)")
    args = ap.parse_args()
    if args.devices > 1:
        os.environ["JAX_PLATFORMS"] = "cpu"
        os.environ["XLA_FLAGS"] = (f"{os.environ.get('XLA_FLAGS', '')} "
                                   f"--xla_force_host_platform_device_count={args.devices}").strip()
    import jax

    jax.config.update("jax_enable_x64", True)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import build_turns
    from nnfield import runner
    from nnfield.config import parse_config

    if args.config:
        cfg = parse_config(args.config.read_text(), source=str(args.config))
    else:
        cfg = parse_config(build_turns.config(args.n, "whole", False, "dirac"), source="dirac.toml")
    if args.devices > 1:
        from nnfield import parallel

        model, state = runner.build_split(cfg, args.devices)
        model = parallel.place_model(model, args.devices, cfg.lattice.shape)
    else:
        model, state = runner.build(cfg)
    state_bytes = sum(x.nbytes for x in jax.tree_util.tree_leaves(state)) / args.devices  # (a device's share)
    names = sorted(jax.eval_shape(model.observables, state))
    print(f"{cfg.summary()}; {args.devices} device(s), state {state_bytes / 2**20:.1f} MiB per device")
    print("| observable | temporaries per device [MiB] | [states] |")
    print("|---|---|---|")
    for name in [*names, "(all)"]:
        program = jax.jit(model.observables if name == "(all)" else (lambda s, n=name: model.observables(s)[n]))
        temp = program.lower(state).compile().memory_analysis().temp_size_in_bytes
        print(f"| {name} | {temp / 2**20:.1f} | {temp / state_bytes:.2f} |")


if __name__ == "__main__":
    main()
