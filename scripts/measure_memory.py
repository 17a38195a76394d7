"""Measure what a run needs besides its fields, per theory and dimension: the table ``nnfield.resources.MEASURED``.

For every registered theory, every dimension D = 1, 2, 3, every scheme the theory allows and every choice of its
``Literal`` parameters that shape the step (network, bias, field), this builds the model on a lattice of about
``--sites`` sites (a zero state: the step's memory does not depend on the values), compiles the run's chunk function
(``nnfield.network._run_jit``, what ``nnfield run`` executes, observables inside the scan, sampled after every
tick, with and without ``[output] spectra``) and reads XLA's ``memory_analysis()``. Printed per (theory, D,
scheme), the largest over the variants:

- ``K``: components per field (``State.phi`` is ``(K, *shape)``);
- ``model/site``: bytes of the model's arrays per site (links, per-site coefficients), float64;
- ``temp/state``: the compiled chunk's temporaries as a multiple of the state's bytes (without, and then with,
  ``[output] spectra``: the FFTs of a spinor's spectra add 5 to 6 states).

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
from nnfield.spectra import Spectra  # noqa: E402
from nnfield.theories import load_all  # noqa: E402
from nnfield.theories.registry import THEORIES, get_theory  # noqa: E402

SKIP = {"file", "dimension", "loss", "sign", "potential"}  # a links file needs a file; the dimension follows the
# lattice; the loss, sign and potential change values, not the shapes of the step
ONLY = {"field": ("electric", "magnetic")}  # the links fields with per-site arrays (none has none)
#: choices not measured because they do not change the step's program (none: the Dirac networks "paper" and
#: "stable" have the same arrays but not the same temporaries, 7.3 and 9.8 states on 128^2 in 2D)
SAME_STEP: dict[str, set[str]] = {}


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


def measure(name: str, D: int, scheme: str, sites: int, dtype: typing.Any
            ) -> tuple[int, float, float, int, float] | None:
    spec = get_theory(name)
    n = max(4, round(sites ** (1 / D)))
    n += n % 2
    lat = Lattice((n,) * D, 1.0)
    best: tuple[int, float, float, int, float] | None = None
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
        # every = 1 (a sample after every tick: one more state alive than a sparser ``every``) and, for a model
        # with spectral fields, with ``[output] spectra`` too (its FFTs: 5 to 6 more states for a spinor)
        spectra = [None]
        if jax.eval_shape(model.spectral_fields, state):
            spectra.append(Spectra.of(lat, model.dispersion(lat.momenta())))
        temps = []
        for sp in spectra:
            obs = observer_for(model, state, sp)
            temps.append(_run_jit.lower(model.network, state, 4, 1, obs).compile().memory_analysis().temp_size_in_bytes)
        obs = observer_for(model, state)
        sb = _leaf_bytes(state)
        row = (K, _leaf_bytes(model) / lat.size, temps[0] / sb, len(jax.eval_shape(obs, state)), max(temps) / sb)
        print(f"  {name} D={D} {scheme} {variant}: K={K} model/site={row[1]:.1f} temp/state={row[2]:.2f} "
              f"with spectra {row[4]:.2f}", flush=True)
        best = row if best is None else tuple(max(a, b) for a, b in zip(best, row, strict=True))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=32768)
    ap.add_argument("--precision", default="float64")
    args = ap.parse_args()
    load_all()  # every registered theory (``get_theory`` loads only the one it is asked for)
    table = {}
    for name in sorted(THEORIES):
        for D, scheme in itertools.product((1, 2, 3), get_theory(name).schemes):
            got = measure(name, D, scheme, args.sites, np.dtype(args.precision))
            if got is not None:
                table[(name, D, scheme)] = got
    print("MEASURED = {  # (theory, D, scheme): (K, model bytes/site (float64), temporaries/state bytes, observables,")
    print("              #                       temporaries/state bytes with spectra)")
    for (name, D, scheme), (K, mb, ts, nobs, tss) in table.items():
        mb = math.ceil(mb) if mb >= 1 else 0  # under a byte per site: constant arrays (K x K matrices)
        print(f"    ({name!r}, {D}, {scheme!r}): ({K}, {mb}, {math.ceil(ts * 10) / 10}, {nobs}, "
              f"{math.ceil(tss * 10) / 10}),")
    print("}")


if __name__ == "__main__":
    main()
