"""Measure what a run needs besides its fields, per theory and dimension: the table ``nnfield.resources.MEASURED``.

For every registered theory, every dimension D = 1, 2, 3, every scheme the theory allows and every choice of its
``Literal`` parameters that shape the step (network, bias, field), this builds the model on a lattice of about
``--sites`` sites (a zero state: the step's memory does not depend on the values), compiles the run's chunk function
(``nnfield.network._run_jit``, what ``nnfield run`` executes, observables inside the scan) and reads XLA's
``memory_analysis()``. Printed per (theory, D, scheme), the largest over the variants:

- ``K``: components per field (``State.phi`` is ``(K, *shape)``);
- ``model/site``: bytes of the model's arrays per site (links, per-site coefficients), float64;
- ``temp/state``: the compiled chunk's temporaries as a multiple of the state's bytes.

    PYTHONPATH=src python scripts/measure_memory.py [--sites 32768] [--precision float64]
"""

from __future__ import annotations

import argparse
import itertools
import math
import typing

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from nnfield.errors import NNFieldError  # noqa: E402
from nnfield.lattice import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402
from nnfield.runner import cast_floating, observer_for  # noqa: E402
from nnfield.theories.registry import THEORIES, get_theory  # noqa: E402

SKIP = {"file", "dimension", "loss", "sign", "potential"}  # a links file needs a file; the dimension follows the
# lattice; the loss, sign and potential change values, not the shapes of the step
ONLY = {"field": ("electric", "magnetic")}  # the links fields with per-site arrays (none has none)
SAME_STEP = {"dirac": {"network"}, "gauged-dirac": {"network"}}  # paper and stable have the same arrays


def _leaf_bytes(tree: typing.Any) -> int:
    return sum(int(getattr(x, "nbytes", 0)) for x in jax.tree_util.tree_leaves(tree) if np.ndim(x))


def _variants(params: typing.Any, skip: set[str]) -> list[dict[str, typing.Any]]:
    if not isinstance(params, type):
        return [{}]
    choices = {}
    for name, f in params.model_fields.items():
        ann = f.annotation
        args = [a for a in typing.get_args(ann)] if typing.get_origin(ann) is typing.Literal else []
        key = f.alias or name
        if args and key not in SKIP | skip:
            choices[key] = [a for a in args if a in ONLY.get(key, args)]
    keys = list(choices)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(choices[k] for k in keys))]


def measure(name: str, D: int, scheme: str, sites: int, dtype: typing.Any) -> tuple[int, float, float, int] | None:
    spec = get_theory(name)
    n = max(4, round(sites ** (1 / D)))
    n += n % 2
    lat = Lattice((n,) * D, 1.0)
    best: tuple[int, float, float, int] | None = None
    for variant in _variants(spec.params, SAME_STEP.get(name, set())):
        extra = {"n_flux": 1, "electric": 0.01} if name == "gauged-dirac" else {}
        try:
            params = spec.params.model_validate({**extra, **variant}) if isinstance(spec.params, type) else variant
            model = spec.build(lat, params, 0.01, scheme)
        except (NNFieldError, ValueError):
            continue
        K = model.network.K
        z = np.zeros((K, *lat.shape))
        state = cast_floating(model.initial_state(z, z), dtype)
        model = cast_floating(model, dtype)
        obs = observer_for(model, state)
        mem = _run_jit.lower(model.network, state, 4, 2, obs).compile().memory_analysis()
        sb = _leaf_bytes(state)
        row = (K, _leaf_bytes(model) / lat.size, mem.temp_size_in_bytes / sb, len(jax.eval_shape(obs, state)))
        print(f"  {name} D={D} {scheme} {variant}: K={K} model/site={row[1]:.1f} temp/state={row[2]:.2f}",
              flush=True)
        best = row if best is None else tuple(max(a, b) for a, b in zip(best, row, strict=True))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=32768)
    ap.add_argument("--precision", default="float64")
    args = ap.parse_args()
    get_theory("klein-gordon")  # loads every registered theory
    table = {}
    for name in sorted(THEORIES):
        for D, scheme in itertools.product((1, 2, 3), get_theory(name).schemes):
            got = measure(name, D, scheme, args.sites, np.dtype(args.precision))
            if got is not None:
                table[(name, D, scheme)] = got
    print("MEASURED = {  # (theory, D, scheme): (K, model bytes/site (float64), temporaries/state bytes, observables)")
    for (name, D, scheme), (K, mb, ts, nobs) in table.items():
        mb = math.ceil(mb) if mb >= 1 else 0  # under a byte per site: constant arrays (K x K matrices)
        print(f"    ({name!r}, {D}, {scheme!r}): ({K}, {mb}, {math.ceil(ts * 10) / 10}, {nobs}),")
    print("}")


if __name__ == "__main__":
    main()
