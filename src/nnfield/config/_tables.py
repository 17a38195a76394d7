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
SECTIONS = ("theory", "lattice", "time", "initial", "output")
TOP_LEVEL_KEYS = ("title",)


def _positive(x: Any) -> str | None:
    return None if x > 0 else "a positive number"


def _at_least_one(x: Any) -> str | None:
    return None if x >= 1 else "a positive integer (at least 1)"


def _non_negative(x: Any) -> str | None:
    return None if x >= 0 else "a non-negative integer (0 = off)"


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
}
