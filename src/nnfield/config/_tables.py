"""The generic tables of a run config (``[lattice]``, ``[time]``, ``[output]``, ``[initial]`` kind and seed) and
the limits every config obeys."""

from __future__ import annotations

import math
from typing import Any

from ..theories.params import MAX_MAGNITUDE as MAX_MAGNITUDE
from ..theories.registry import REQUIRED, Param

PRECISIONS = ("float64", "float32")
#: the largest config file read (a config is a few lines of TOML)
MAX_CONFIG_BYTES = 1 << 20
#: the most steps a run may have (exactly representable in float64, so step * tick stays exact)
MAX_STEPS = 2**53
#: the most lattice sites a config may ask for (the memory of the machine is the real limit)
MAX_SITES = 2**40
SECTIONS = ("theory", "lattice", "time", "initial", "output", "parallel", "sweep")
#: the tables whose keys a [sweep] may vary (output, parallel: how a run is computed and recorded, the same for
#: every member of one compiled program)
SWEPT_SECTIONS = ("theory", "lattice", "time", "initial")
#: the most members a [sweep] may have (each is built and held in memory at once)
MAX_MEMBERS = 4096
TOP_LEVEL_KEYS = ("title",)


def _positive(x: Any) -> str | None:
    return None if x > 0 else "a positive number"


def _at_least_one(x: Any) -> str | None:
    return None if x >= 1 else "a positive integer (at least 1)"


def _non_negative(x: Any) -> str | None:
    return None if x >= 0 else "a non-negative integer (0 = off)"


_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hour": 3600.0, "hours": 3600.0}


def parse_interval(x: Any) -> tuple[int, float]:
    """``checkpoint_every`` as ``(ticks, seconds)`` (one of them 0): an integer counts ticks, a string with a
    unit is wall-clock time, 0 or "off" neither. ``ValueError`` with the expected form otherwise."""
    if isinstance(x, bool):
        raise ValueError("an integer number of ticks or a time such as \"10 min\"")
    if isinstance(x, int):
        if x < 0 or x > MAX_STEPS:
            raise ValueError(f"a number of ticks in 0 .. {MAX_STEPS} (0: off)")
        return int(x), 0.0
    if isinstance(x, str):
        text = x.strip().lower()
        if text in ("off", "0", "never"):
            return 0, 0.0
        parts = text.replace("_", "").split()
        if len(parts) == 1:  # "10min"
            head = parts[0].rstrip("abcdefghijklmnopqrstuvwxyz")
            parts = [head, parts[0][len(head):]]
        if len(parts) == 2 and parts[1] in _UNITS:
            try:
                value = float(parts[0])
            except ValueError:
                value = float("nan")
            if math.isfinite(value) and 0 < value * _UNITS[parts[1]] <= 1e9:
                return 0, value * _UNITS[parts[1]]
    raise ValueError('an integer number of ticks or a time such as "10 min", "30 s", "2 h" ("off": no periodic ones)')


def _devices_problem(x: Any) -> str | None:
    if isinstance(x, str) and x == "all":
        return None
    if isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 2**20:
        return None
    return 'a number of devices (at least 1) or "all"'


def _interval_problem(x: Any) -> str | None:
    try:
        parse_interval(x)
    except ValueError as exc:
        return str(exc)
    return None


def _spacing_ok(a: float) -> str | None:
    if not a > 0:
        return "a positive number"
    return None if a >= 1e-100 else "a spacing of at least 1e-100 (1/a^2 must stay finite in float64)"


def _shape_ok(x: list[int]) -> str | None:
    if len(x) < 1:
        return "a non-empty list of lattice sizes, one per axis"
    if any(n < 1 for n in x):
        return "positive lattice sizes (every entry at least 1)"
    if math.prod(x) > MAX_SITES:
        return f"at most {MAX_SITES:.3g} sites in all (2^40; more than any machine holds)"
    return None


# the generic tables: key -> (Param, example value used in fixes)
LATTICE_SCHEMA: dict[str, Param] = {
    "shape": Param("list[int]", REQUIRED, "sites per axis; its length is the dimension D", check=_shape_ok),
    "spacing": Param("float", 1.0, "lattice spacing a", check=_spacing_ok),
}
TIME_SCHEMA: dict[str, Param] = {
    "dt": Param("float", REQUIRED, "physical time per network tick", check=_positive),
    "steps": Param("int", None, "number of ticks (give steps or t_end)", check=_at_least_one),
    "t_end": Param("float", None, "final time; steps = ceil(t_end / dt) (give steps or t_end)", check=_positive),
    "scheme": Param("str", "leapfrog", "order of activation and learning updates (see nnfield.schemes)"),
}
OUTPUT_SCHEMA: dict[str, Param] = {
    "every": Param("int", None, "record observables every this many ticks (default: ~500 samples)",
                   check=_at_least_one),
    "snapshot_every": Param("int", 0, "store phi and pi every this many ticks (0: first and last only)",
                            check=_non_negative),
    "precision": Param("str", "float64", "floating-point precision of the run", choices=PRECISIONS),
    "chunk": Param("int", None, "ticks per jitted chunk (default: automatic)", check=_at_least_one),
    "checkpoint_every": Param("int|str", "10 min", 'checkpoint the state every this many ticks (an integer) or this '
                              'wall-clock time ("10 min", "30 s", "2 h"); 0 or "off": only at step 0, at the end and '
                              'on interrupt',
                              check=lambda x: _interval_problem(x)),
    "checkpoint_keep": Param("int", 3, "how many checkpoints to keep (the newest)", check=_at_least_one),
    "spectra": Param("bool", False, "record the angle-averaged power spectra (and occupation numbers) with the "
                     "observables, every output.every ticks (docs/spectra.md)"),
}
PARALLEL_SCHEMA: dict[str, Param] = {
    "devices": Param("int|str", 1, 'devices to shard the lattice over (its first axis); "all": every device of '
                     "every process", check=lambda x: _devices_problem(x)),
    "halo": Param("bool", False, "exchange the ghost rows of each device's block once per tick (shard_map) instead "
                  "of once per shifted read (XLA's partitioner); checked against the latter before the run, which "
                  "it keeps when they differ (docs/scaling.md)"),
    "build": Param("str", "auto", 'how a split run builds its initial data: "split" (each process its own slabs: '
                   'the random fields and packets of scalars in 2D, 3D), "whole" (every process the whole lattice, '
                   'then keeps its slabs: the one-device data bit for bit), "auto" (split where the kind can; '
                   'docs/scaling.md)',
                   choices=("auto", "split", "whole")),
}
INITIAL_GENERIC: dict[str, Param] = {
    "kind": Param("str", REQUIRED, "the initial condition (one of the theory's)"),
    "seed": Param("int", 0, "random seed passed to the initial condition", check=lambda x: None if 0 <= x < 2**63
                  else "an integer in 0 .. 2^63 - 1"),
}
_EXAMPLES: dict[str, str] = {
    "theory.name": 'name = "klein-gordon"',
    "lattice.shape": "shape = [64, 64]",
    "lattice.spacing": "spacing = 1.0",
    "time.dt": "dt = 0.05",
    "time.steps": "steps = 1000",
    "time.t_end": "t_end = 50.0",
    "time.scheme": 'scheme = "leapfrog"',
    "initial.kind": 'kind = "gaussian_packet"',
    "initial.seed": "seed = 0",
    "output.every": "every = 10",
    "output.snapshot_every": "snapshot_every = 100",
    "output.precision": 'precision = "float64"',
    "output.chunk": "chunk = 100",
    "output.checkpoint_every": 'checkpoint_every = "10 min"',
    "output.checkpoint_keep": "checkpoint_keep = 3",
    "output.spectra": "spectra = true",
    "parallel.devices": "devices = 4",
    "parallel.halo": "halo = true",
    "parallel.build": 'build = "split"',
}
