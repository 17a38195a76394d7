"""Measure what building a run's initial data holds at its peak: the table ``nnfield.resources.MEASURED_INITIAL``.

For every registered theory and initial kind (with the parameters a kind needs to be valid: a double well for the
phi^4 kink, a moving packet for scalar QED, an allowed scheme for the gauged Dirac network), every dimension
D = 1, 2, 3 and lattices of about ``--sites`` sites each, this builds the model, then the initial data the way a run
does (``Config.initial_fields`` and ``model.initial_state``, ``nnfield.runner.build``) under ``tracemalloc``, which
follows NumPy's arrays; the state that ``initial_state`` returns as JAX arrays (``2 K`` values per site in
float64) is added, since ``tracemalloc`` does not see XLA's buffers. Printed per (theory, kind, D, sites): bytes
per component and site at the peak; then the table, the largest over dimensions and sizes, rounded up to 8 bytes.

    PYTHONPATH=src python scripts/measure_initial_memory.py [--sites 32768,262144] [--theories dirac,maxwell]
"""

from __future__ import annotations

import argparse
import math
import tracemalloc

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from nnfield import runner  # noqa: E402
from nnfield.config import parse_config  # noqa: E402
from nnfield.errors import NNFieldError  # noqa: E402
from nnfield.theories import load_all  # noqa: E402
from nnfield.theories.registry import THEORIES  # noqa: E402

#: what a kind needs beyond its defaults to be valid: extra ``[theory]`` and ``[initial]`` lines, and a scheme
THEORY_EXTRA = {"phi4": 'phase = "broken"\n', "gauged-dirac": 'field = "magnetic"\nn_flux = 1\n'}
INITIAL_EXTRA = {("scalar-qed", "charged_packets"): "momentum = {momentum}\n"}
SCHEME = {"gauged-dirac": "alternating"}
SKIP = {"file"}  # (reads a file: the guard counts its arrays as the largest kind's)


def config(theory: str, kind: str, shape: list[int]) -> str:
    extra = INITIAL_EXTRA.get((theory, kind), "").format(momentum=[0.5] * len(shape))
    return (f'[theory]\nname = "{theory}"\n{THEORY_EXTRA.get(theory, "")}[lattice]\nshape = {shape}\nspacing = 0.5\n'
            f'[time]\ndt = 0.05\nsteps = 2\nscheme = "{SCHEME.get(theory, "leapfrog")}"\n'
            f'[initial]\nkind = "{kind}"\n{extra}')


def measure(theory: str, kind: str, shape: list[int]) -> float | None:
    """Bytes per component and site at the peak of building ``kind``'s data on ``shape`` (``None``: not valid)."""
    try:
        cfg = parse_config(config(theory, kind, shape))
        model = runner._build_model(cfg)
    except NNFieldError:
        return None
    K, sites = int(model.network.K), math.prod(shape)
    tracemalloc.start()
    try:
        phi, pi = cfg.initial_fields(model)
        state = model.initial_state(np.asarray(phi, np.float64), np.asarray(pi, np.float64))
    except NNFieldError:
        return None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    del phi, pi, state
    return peak / (K * sites) + 2 * 8  # (+ the state's JAX arrays)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sites", default="262144,1048576", help="comma-separated lattice sizes (sites)")
    ap.add_argument("--theories", default="", help="comma-separated theories (default: every registered one)")
    args = ap.parse_args()
    load_all()
    names = [t for t in args.theories.split(",") if t] or list(THEORIES)
    table: dict[tuple[str, str], float] = {}
    for theory in names:
        for kind in THEORIES[theory].initial:
            if kind in SKIP:
                continue
            for D in (1, 2, 3):
                for target in (int(s) for s in args.sites.split(",")):
                    n = max(4, int(round(target ** (1 / D) / 2)) * 2)
                    got = measure(theory, kind, [n] * D)
                    if got is None:
                        print(f"  {theory} {kind} D={D} {n}^{D}: not valid there")
                        continue
                    print(f"  {theory} {kind} D={D} {n}^{D}: {got:.1f} bytes per component and site", flush=True)
                    table[(theory, kind)] = max(table.get((theory, kind), 0.0), got)
    print("MEASURED_INITIAL = {  # (theory, initial kind): bytes per component and site at the build's peak")
    for key in sorted(table):
        print(f"    {key!r}: {8 * math.ceil(table[key] / 8)},")
    print("}")


if __name__ == "__main__":
    main()
