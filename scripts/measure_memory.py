"""Measure what a run needs besides its fields, per theory and dimension: the table ``nnfield.resources.MEASURED``.

For every registered theory, every dimension D = 1, 2, 3, every scheme the theory allows and every choice of its
``Literal`` parameters that shape the step (network, bias, field), this builds the model on lattices of about
``--sites`` sites each (a zero state: the step's memory does not depend on the values), compiles the run's chunk
function (``nnfield.network._run_jit``, what ``nnfield run`` executes) for each of :data:`PROGRAMS` (four samples,
one after every tick; and one sample after a block of ticks, the chunk of a lattice above 1e7 sites or of a sparse
``every``), with and without ``[output] spectra``, and reads XLA's ``memory_analysis()``. XLA's fusion choices
change with the lattice size (the 3D gauge theories hold 1.5 to 2.6 more states at 16^3 to 24^3 and at 64^3 than at
32^3: the links' ``cos``/``sin`` become buffers of their own) and with the program's shape, so the table keeps the
largest over sizes and programs. Printed per (theory, D, scheme), the largest over the variants:

- ``K``: components per field (``State.phi`` is ``(K, *shape)``);
- ``model/site``: bytes of the model's arrays per site (links, per-site coefficients), float64;
- ``temp/state``: the compiled chunk's temporaries as a multiple of the state's bytes (without, and then with,
  ``[output] spectra``: the FFTs of a spinor's spectra add 5 to 6 states).

``--compare`` prints instead, per (theory, D, scheme, variant, sites, program), the guard's device estimate
(``nnfield.resources.estimate_run_memory``: fields, model, temporaries) over what XLA allocates (the state's, the
model's and the spectra's arrays and the chunk's temporaries), and the smallest and largest ratio, each line with its
program's ``temp/state`` (what the table would hold for it, so that a row found low can be raised from the same
pass; since session 37); with
``--devices N`` the estimate of the lattice split over N devices (``MEASURED_SPLIT``) over what the N devices hold
(until session 35 it compared the one-device estimate with the split program).

The table in ``nnfield.resources`` keeps, row by row, the larger of a float64 and a float32 measurement (float32
programs hold up to 1.1 states more relative to their fields; session 32). Each theory is measured in a process of
its own (the script starts one per theory when given several): LLVM ran out of memory maps ("Cannot allocate
memory") after a few hundred compiled programs in one process.

``--devices N`` (N > 1) measures instead the programs of a lattice split over N fake CPU devices (the state and
the model placed as ``nnfield run`` places them, the spectra as its observer computes them,
``nnfield.runner._observed``): the temporaries of each device times N over the whole state's bytes, the table
``nnfield.resources.MEASURED_SPLIT`` (the largest over ``--devices 2`` and ``--devices 4``; session 34: a split
phi^4 or Dirac program holds more per device than its share of the one-device program, the halo exchange's
copies of the shifted fields, and on 2 devices even more than the one-device program; ``scripts/split_memory.py``).

    PYTHONPATH=src python scripts/measure_memory.py [--sites 4096,32768,262144] [--precision float64]
        [--theories scalar-qed,maxwell] [--schemes simultaneous] [--dims 1,2] [--compare] [--devices 2]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import typing


def _devices_asked() -> int:
    """``--devices N`` from the command line, read before JAX starts (the fake device count is fixed then)."""
    for i, arg in enumerate(sys.argv[:-1]):
        if arg == "--devices":
            return int(sys.argv[i + 1])
    return 1


DEVICES = _devices_asked()
if DEVICES > 1 and "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={DEVICES}"

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from nnfield import parallel  # noqa: E402
from nnfield.errors import NNFieldError  # noqa: E402
from nnfield.lattice import Lattice  # noqa: E402
from nnfield.network import _run_jit  # noqa: E402
from nnfield.runner import cast_floating, observer_for, spectra_model  # noqa: E402
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


#: the chunk programs measured, ``(steps, every)``: four samples a chunk, one after every tick (a small lattice's
#: chunk), and one sample after a block of 8 ticks (``chunk == every``: every chunk of a lattice above 1e7 sites,
#: ``nnfield.runner.choose_chunk``, or of a sparse ``every``; 2.8 states against 1.7 for scalar QED on 64^3); since
#: session 35 also samples of 2, 3 and 5 ticks: the simultaneous scheme's pair loop (``schemes.tick_loop``) is
#: another program for 2-3 ticks (a loop of one tick per iteration) and for an odd count (a last tick after the
#: pair loop: 3D phi^4 on 64^3 holds 5 states at 5 ticks per sample, 3 at 4)
PROGRAMS = ((4, 1), (8, 8), (8, 2), (6, 3), (10, 5))
#: the lattice sizes measured per dimension (sites, about): XLA's fusion choices change with the size
SITES = (4096, 32768, 262144)


def _side(sites: int, D: int) -> int:
    n = max(4, round(sites ** (1 / D)))
    step = math.lcm(2, DEVICES)  # (a split lattice: its first axis a multiple of the device count)
    return n + (-n) % step


def _chunk_bytes(model: typing.Any, state: typing.Any, spectra: typing.Any, program: tuple[int, int]) -> int:
    """XLA's temporaries of the compiled chunk of ``program`` ``(steps, every)`` and, with ``spectra``, the arrays
    the observed model precomputes for them (``AbstractModel.for_spectra``: the Dirac models' positive-energy
    projector, ``K^2`` complex numbers per site), which the chunk reads and the model column does not hold (until
    session 32 they were counted nowhere: the guard estimated 0.81-0.92 of a Dirac run with spectra)."""
    if DEVICES > 1:  # placed as `nnfield run` places a split run; each device's temporaries times the devices
        from nnfield.runner import _observed

        state = parallel.place(state, DEVICES, jax.tree_util.tree_leaves(state)[0].shape[1])
        model = parallel.place_model(model, DEVICES, model.lattice.shape)
        spectra = _observed(spectra, model, state, DEVICES)
    obs = observer_for(model, state, spectra)
    steps, every = program
    temps = int(_run_jit.lower(model.network, state, steps, every, obs).compile().memory_analysis().temp_size_in_bytes)
    temps *= DEVICES
    if spectra is None:
        return temps
    return temps + _leaf_bytes(spectra_model(model, jax.tree_util.tree_leaves(state)[0].dtype)) - _leaf_bytes(model)


def _build(name: str, D: int, scheme: str, sites: int, variant: dict[str, typing.Any], dtype: typing.Any
           ) -> tuple[typing.Any, typing.Any, Lattice] | None:
    spec = get_theory(name)
    n = _side(sites, D)
    lat = Lattice((n,) * D, 1.0)
    extra = {"n_flux": 1, "electric": 0.01} if name == "gauged-dirac" else {}
    try:
        params = spec.params.model_validate({**extra, **variant}) if isinstance(spec.params, type) else variant
        model = spec.build(lat, params, 0.01, scheme)
    except (NNFieldError, ValueError):
        return None
    z = np.zeros((model.network.K, *lat.shape))
    state = cast_floating(model.initial_state(z, z), dtype)
    return cast_floating(model, dtype), state, lat


def _spectra_choices(model: typing.Any, state: typing.Any, lat: Lattice) -> list[typing.Any]:
    """``[None]`` and, for a model with spectral fields, its ``[output] spectra`` (their FFTs: 5 to 6 more states
    for a spinor)."""
    if jax.eval_shape(model.spectral_fields, state):
        return [None, Spectra.of(lat, model.dispersion(lat.momenta()))]
    return [None]


def measure(name: str, D: int, scheme: str, sites: tuple[int, ...], dtype: typing.Any
            ) -> tuple[int, float, float, int, float] | None:
    spec = get_theory(name)
    best: tuple[int, float, float, int, float] | None = None
    for variant in _variants(spec.params, SAME_STEP.get(name, set())):
        for size in sites:
            built = _build(name, D, scheme, size, variant, dtype)
            if built is None:
                continue
            model, state, lat = built
            temps = [max(_chunk_bytes(model, state, sp, p) for p in PROGRAMS)
                     for sp in _spectra_choices(model, state, lat)]
            sb = _leaf_bytes(state)
            row = (model.network.K, _leaf_bytes(model) / lat.size, temps[0] / sb,
                   len(jax.eval_shape(observer_for(model, state), state)), max(temps) / sb)
            print(f"  {name} D={D} {scheme} {variant} {lat.shape}: K={row[0]} model/site={row[1]:.1f} "
                  f"temp/state={row[2]:.2f} with spectra {row[4]:.2f}", flush=True)
            best = row if best is None else tuple(max(a, b) for a, b in zip(best, row, strict=True))
    return best


def compare(name: str, D: int, scheme: str, sites: tuple[int, ...], dtype: typing.Any) -> list[float]:
    """Print the guard's device estimate over XLA's allocation for every variant, size, program and spectra choice
    (the table as it is in ``nnfield.resources``); returns the ratios."""
    from types import SimpleNamespace

    from nnfield import resources

    ratios = []
    for variant in _variants(get_theory(name).params, SAME_STEP.get(name, set())):
        for size in sites:
            built = _build(name, D, scheme, size, variant, dtype)
            if built is None:
                continue
            model, state, lat = built
            for sp in _spectra_choices(model, state, lat):
                arrays = _leaf_bytes((state, model, sp))
                for program in PROGRAMS:
                    got = arrays + _chunk_bytes(model, state, sp, program)
                    cfg = SimpleNamespace(
                        lattice=SimpleNamespace(shape=lat.shape, spacing=1.0), theory=SimpleNamespace(name=name),
                        time=SimpleNamespace(scheme=scheme, steps=program[0]), parallel=None,
                        output=SimpleNamespace(precision=np.dtype(dtype).name, spectra=sp is not None,
                                               every=program[1]))
                    ratio = resources.estimate_run_memory(cfg, DEVICES)["device"] / got
                    ratios.append(ratio)
                    print(f"  {name} D={D} {scheme} {variant} {lat.shape} program={program} spectra={sp is not None}: "
                          f"estimate/measured {ratio:.3f} (temp/state {(got - arrays) / _leaf_bytes(state):.2f})",
                          flush=True)
    return ratios


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", default=",".join(map(str, SITES)), help="comma-separated lattice sizes (sites)")
    ap.add_argument("--precision", default="float64")
    ap.add_argument("--theories", default="", help="comma-separated theories (default: every registered one)")
    ap.add_argument("--schemes", default="", help="comma-separated schemes (default: every one a theory allows)")
    ap.add_argument("--dims", default="1,2,3", help="comma-separated lattice dimensions (default: 1,2,3)")
    ap.add_argument("--compare", action="store_true", help="print estimate / measured instead of the table")
    ap.add_argument("--devices", type=int, default=1, help="measure the programs of a lattice split over N fake "
                    "CPU devices (the table MEASURED_SPLIT)")
    args = ap.parse_args()
    load_all()  # every registered theory (``get_theory`` loads only the one it is asked for)
    sites = tuple(int(s) for s in args.sites.split(","))
    names = [n for n in args.theories.split(",") if n] or sorted(THEORIES)
    if len(names) > 1:
        _per_process(names, args)
        return
    dtype = np.dtype(args.precision)
    if args.compare:
        ratios = [r for name in names for D, scheme in itertools.product(_dims(args), _schemes(name, args))
                  for r in compare(name, D, scheme, sites, dtype)]
        if ratios:
            print(f"estimate/measured: {min(ratios):.3f} to {max(ratios):.3f} over {len(ratios)} programs")
        return
    table = {}
    for name in names:
        for D, scheme in itertools.product(_dims(args), _schemes(name, args)):
            got = measure(name, D, scheme, sites, dtype)
            if got is not None:
                table[(name, D, scheme)] = got
    print("MEASURED = {  # (theory, D, scheme): (K, model bytes/site (float64), temporaries/state bytes, observables,")
    print("              #                       temporaries/state bytes with spectra)")
    for (name, D, scheme), (K, mb, ts, nobs, tss) in table.items():
        mb = math.ceil(mb) if mb >= 1 else 0  # under a byte per site: constant arrays (K x K matrices)
        print(f"    ({name!r}, {D}, {scheme!r}): ({K}, {mb}, {math.ceil(ts * 10) / 10}, {nobs}, "
              f"{math.ceil(tss * 10) / 10}),")
    print("}")


def _dims(args: argparse.Namespace) -> list[int]:
    """The lattice dimensions measured (``--dims``)."""
    return [int(d) for d in args.dims.split(",") if d]


def _schemes(name: str, args: argparse.Namespace) -> list[str]:
    """The schemes of ``name`` measured: every one it allows, or those of ``--schemes`` among them."""
    asked = {s for s in args.schemes.split(",") if s}
    return [s for s in get_theory(name).schemes if not asked or s in asked]


def _per_process(names: list[str], args: argparse.Namespace) -> None:
    """Measure each theory in a child process of its own (LLVM's memory maps) and print their results together:
    every child's progress lines, then one ``MEASURED`` table (or the overall ``--compare`` range)."""
    import re
    import subprocess
    import sys

    rows, lo, hi, count, failed = [], math.inf, -math.inf, 0, []
    for name in names:
        cmd = [sys.executable, __file__, "--sites", args.sites, "--precision", args.precision, "--theories", name,
               "--schemes", args.schemes, "--dims", args.dims,
               "--devices", str(args.devices)]
        for attempt in (1, 2):  # (a child aborted once in LLVM while other programs compiled beside it: retried)
            proc = subprocess.run(cmd + (["--compare"] if args.compare else []), capture_output=True, text=True,
                                  check=False)
            if proc.returncode == 0:
                break
            print(f"  {name}: the child failed (exit {proc.returncode}, attempt {attempt})", flush=True)
        if proc.returncode != 0:  # (the other theories are still measured; the run ends with the failed ones)
            failed.append(name)
            continue
        out = proc.stdout
        for line in out.splitlines():
            if line.startswith("    ("):  # (first: a table row starts with spaces too)
                rows.append(line)
            elif line.startswith("  "):
                print(line, flush=True)
            elif m := re.match(r"estimate/measured: ([0-9.]+) to ([0-9.]+) over (\d+) programs", line):
                lo, hi, count = min(lo, float(m[1])), max(hi, float(m[2])), count + int(m[3])
    if args.compare:
        print(f"estimate/measured: {lo:.3f} to {hi:.3f} over {count} programs")
    else:
        print("MEASURED = {  # (theory, D, scheme): (K, model bytes/site (float64), temporaries/state bytes, "
              "observables,")
        print("              #                       temporaries/state bytes with spectra)")
        print("\n".join(rows))
        print("}")
    if failed:  # (a fake-device child aborted twice in session 35: an XLA:CPU segfault, exit -11)
        raise SystemExit(f"not measured (the child failed twice): {', '.join(failed)}")


if __name__ == "__main__":
    main()
