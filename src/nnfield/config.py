"""Typed TOML run configuration: parse, validate (with one-line errors that say the fix), build objects.

A run config has five tables (``docs/config.md`` documents every key)::

    [theory]   name = "klein-gordon", plus the theory's own parameters (its ``TheorySpec.params``)
    [lattice]  shape = [64, 64], spacing = 1.0
    [time]     dt = 0.05, steps = 1000 (or t_end = 50.0), scheme = "leapfrog"
    [initial]  kind = "gaussian_packet", seed = 0, plus the kind's own parameters (``InitialSpec.params``)
    [output]   every, snapshot_every, precision = "float64" | "float32", chunk

Validation is generic: the ``[theory]`` and ``[initial]`` tables are checked against the parameter specs a
theory registers (:mod:`nnfield.theories.registry`), so new theories need no change here. Every problem
raises :class:`~nnfield.errors.ConfigError` with one line naming the key, what was expected, what was
received and the fix (for an unknown key, the closest valid key). This module imports no JAX at load time.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, ParameterError
from .theories.registry import REQUIRED, InitialSpec, Param, TheorySpec

PRECISIONS = ("float64", "float32")
#: the largest config file read (a config is a few lines of TOML)
MAX_CONFIG_BYTES = 1 << 20
#: the most steps a run may have (exactly representable in float64, so step * tick stays exact)
MAX_STEPS = 2**53
#: the most lattice sites a config may ask for (the memory of the machine is the real limit)
MAX_SITES = 2**40
#: the largest magnitude of a number in a config (squares and products stay finite in float64)
MAX_MAGNITUDE = 1e100
SECTIONS = ("theory", "lattice", "time", "initial", "output")
TOP_LEVEL_KEYS = ("title",)


def _positive(x: Any) -> str | None:
    return None if x > 0 else "a positive number"


def _at_least_one(x: Any) -> str | None:
    return None if x >= 1 else "a positive integer (at least 1)"


def _non_negative(x: Any) -> str | None:
    return None if x >= 0 else "a non-negative integer (0 = off)"


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
    "spacing": Param("float", 1.0, "lattice spacing a", check=lambda a: None if a >= 1e-100 else
                     "a positive number of at least 1e-100 (1/a^2 must stay finite in float64)"),
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


# ----------------------------------------------------------------------------------------------------------
# the typed config
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TheoryConfig:
    name: str
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class LatticeConfig:
    shape: tuple[int, ...]
    spacing: float


@dataclasses.dataclass(frozen=True)
class TimeConfig:
    dt: float
    steps: int
    scheme: str


@dataclasses.dataclass(frozen=True)
class InitialConfig:
    kind: str
    seed: int
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    every: int
    snapshot_every: int
    precision: str
    chunk: int | None


@dataclasses.dataclass(frozen=True)
class Config:
    """A validated run configuration (``text`` is the TOML it came from, kept for provenance)."""

    theory: TheoryConfig
    lattice: LatticeConfig
    time: TimeConfig
    initial: InitialConfig
    output: OutputConfig
    title: str = ""
    text: str = ""
    source: str = "<config>"

    # -- objects -----------------------------------------------------------------------------------------
    @property
    def spec(self) -> TheorySpec:
        from .theories.registry import get_theory

        return get_theory(self.theory.name)

    @property
    def initial_spec(self) -> InitialSpec:
        return self.spec.initial[self.initial.kind]

    def make_lattice(self) -> Any:
        from .lattice import Lattice

        with _keys_of(self.source, "lattice", ("shape", "spacing")):
            return Lattice(self.lattice.shape, self.lattice.spacing)

    def build_model(self, dt: float | None = None) -> Any:
        """The theory's model (network + physics side) at ``dt`` (default: the configured ``time.dt``)."""
        lattice = self.make_lattice()
        with _keys_of(self.source, "theory", tuple(self.theory.params), time=("dt", "scheme")):
            return self.spec.build(
                lattice, dict(self.theory.params), self.time.dt if dt is None else float(dt), self.time.scheme
            )

    def initial_fields(self, model: Any) -> tuple[Any, Any]:
        """Physics-side initial data ``(phi, pi)``, each ``(K, *shape)``, from ``[initial]``."""
        with _keys_of(self.source, "initial", (*self.initial.params, "seed")):
            return self.initial_spec.make(model, dict(self.initial.params), self.initial.seed)

    @property
    def dtype(self) -> Any:
        import numpy as np

        return np.dtype(self.output.precision)

    def summary(self) -> str:
        shape = "x".join(str(n) for n in self.lattice.shape)
        return (
            f"{self.theory.name} on {shape} (a = {self.lattice.spacing:g}), dt = {self.time.dt:g}, "
            f"{self.time.steps} steps ({self.time.scheme}), initial {self.initial.kind}, {self.output.precision}"
        )


class _keys_of:
    """Turn a library :class:`~nnfield.errors.ParameterError` into a :class:`ConfigError` naming the TOML key.

    The library names its own parameters in plain words (``winding``); here the config layer knows that the
    value came from ``[table] winding``. A parameter of another table (``time``: ``dt``, ``scheme``) is named
    there; any other parameter is reported with the table it was built from.
    """

    def __init__(self, source: str, table: str, keys: tuple[str, ...], **others: tuple[str, ...]) -> None:
        self.source, self.table, self.keys, self.others = source, table, keys, others

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if not isinstance(exc, ParameterError):
            return False
        key = exc.param if exc.param in self.keys else None
        table = self.table
        for other, names in self.others.items():
            if key is None and exc.param in names:
                table, key = other, exc.param
        where = f"{table}.{key}" if key is not None else f"[{table}] ({exc.param})"
        raise ConfigError(f"{self.source}: {where}: {exc.problem}") from None


# ----------------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------------
def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file (errors: :class:`ConfigError`, one line, with the fix).

    Only regular files of at most :data:`MAX_CONFIG_BYTES` are read (a device such as ``/dev/zero`` or a huge
    file is refused before reading).
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such config file; check the path (examples are in examples/*.toml)")
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory, expected a TOML config file such as examples/kg_1d_packet.toml")
    if not p.is_file():
        raise ConfigError(f"{p}: not a regular file (a device, pipe or socket); give a TOML config file")
    size = p.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{p}: {size} bytes, larger than the {MAX_CONFIG_BYTES} bytes a config may have; a config is a few "
            f"lines of TOML (fields come from [initial] or a links file, not from the config itself)"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc})") from None
    return parse_config(text, source=str(p))


def parse_config(text: str, source: str = "<config>") -> Config:
    """Parse TOML ``text`` and validate it (see :func:`from_dict`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: TOML syntax error: {exc}; fix the line shown (strings need quotes)") from None
    return from_dict(data, text=text, source=source)


def from_dict(data: Mapping[str, Any], text: str = "", source: str = "<config>") -> Config:
    """Validate a parsed config (``dict`` as from ``tomllib``) and return a typed :class:`Config`."""
    try:
        return _validate(data, text, source)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(source) else f"{source}: {msg}") from None


def _validate(data: Mapping[str, Any], text: str, source: str) -> Config:
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a table [{key}], got {_show(value)}; write [{key}] on its own line")
        elif key not in TOP_LEVEL_KEYS:
            hint = _suggest(key, list(SECTIONS) + list(TOP_LEVEL_KEYS))
            owner = _owner_section(key)
            where = f'; "{key}" belongs in [{owner}]' if owner else ""
            raise ConfigError(
                f"{key}: unknown top-level key{hint}{where}; valid tables are " + ", ".join(f"[{s}]" for s in SECTIONS)
            )
    title = data.get("title", "")
    if not isinstance(title, str):
        raise ConfigError(f'title: expected a string, got {_show(title)}; e.g. title = "my run"')
    for sec in ("theory", "lattice", "time", "initial"):
        if sec not in data:
            raise ConfigError(f"[{sec}]: missing table; add it, e.g. {_table_example(sec)}")

    # [theory]: name first, then the theory's own parameters
    theory_tab = dict(data["theory"])
    if "name" not in theory_tab:
        raise ConfigError('theory.name: missing required key; add e.g. name = "klein-gordon"')
    name = theory_tab.pop("name")
    if not isinstance(name, str):
        raise ConfigError(f'theory.name: expected a string, got {_show(name)}; e.g. name = "klein-gordon"')
    spec = _get_spec(name)
    theory_params = validate_table(theory_tab, spec.params, "theory", extra_keys=("name",))

    lattice = validate_table(data["lattice"], LATTICE_SCHEMA, "lattice")

    time_tab = validate_table(data["time"], TIME_SCHEMA, "time")
    scheme = time_tab["scheme"]
    if scheme not in spec.schemes:
        raise ConfigError(
            f"time.scheme: expected one of {_choices(spec.schemes)} for theory {name!r}, got {_show(scheme)}"
            f"{_suggest(scheme, spec.schemes)}"
        )
    steps = _resolve_steps(time_tab)

    init_tab = dict(data["initial"])
    kind = init_tab.get("kind", REQUIRED)
    if kind is REQUIRED:
        raise ConfigError(
            f"initial.kind: missing required key; add e.g. kind = {_show(next(iter(spec.initial), 'plane_wave'))} "
            f"(theory {name!r} offers {_choices(spec.initial)})"
        )
    if not isinstance(kind, str):
        raise ConfigError(f"initial.kind: expected a string, got {_show(kind)}; e.g. kind = \"gaussian_packet\"")
    if kind not in spec.initial:
        raise ConfigError(
            f"initial.kind: expected one of {_choices(spec.initial)} for theory {name!r}, got {_show(kind)}"
            f"{_suggest(kind, spec.initial)}"
        )
    ispec = spec.initial[kind]
    schema = {**INITIAL_GENERIC, **ispec.params}
    init = validate_table(init_tab, schema, "initial", renamed=ispec.renamed)
    seed = init.get("seed", 0)
    init_params = {k: v for k, v in init.items() if k not in INITIAL_GENERIC or k in ispec.params}

    output = _resolve_output(validate_table(data.get("output", {}), OUTPUT_SCHEMA, "output"), steps)

    return Config(
        theory=TheoryConfig(name, theory_params),
        lattice=LatticeConfig(tuple(lattice["shape"]), float(lattice["spacing"])),
        time=TimeConfig(float(time_tab["dt"]), steps, scheme),
        initial=InitialConfig(kind, int(seed), init_params),
        output=output,
        title=title,
        text=text,
        source=source,
    )


def _get_spec(name: str) -> TheorySpec:
    from .theories.registry import THEORIES, get_theory

    try:
        return get_theory(name)
    except ConfigError:
        raise ConfigError(
            f"theory.name: expected one of {_choices(THEORIES)}, got {_show(name)}{_suggest(name, THEORIES)}"
        ) from None


def _resolve_steps(t: dict[str, Any]) -> int:
    steps, t_end, dt = t.get("steps"), t.get("t_end"), t["dt"]
    if steps is None and t_end is None:
        raise ConfigError("time.steps: missing; give the number of ticks, e.g. steps = 1000 (or t_end = 50.0)")
    if steps is not None and t_end is not None:
        raise ConfigError(
            f"time.t_end: give either steps or t_end, not both (got steps = {steps}, t_end = {t_end}); delete one"
        )
    if steps is None:
        ratio = t_end / dt
        if not ratio <= MAX_STEPS:
            raise ConfigError(
                f"time.t_end: t_end / dt = {ratio:.3g} steps, more than the {MAX_STEPS:.3g} a run may have; "
                f"lower t_end or raise dt"
            )
        steps = max(1, math.ceil(ratio - 1e-9))
    if steps > MAX_STEPS:
        raise ConfigError(f"time.steps: expected at most {MAX_STEPS} (2^53), got {steps}; lower steps")
    return int(steps)


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of ``n`` that is at most ``limit`` (1 if none larger), in ``O(min(limit, sqrt n))``."""
    if n <= limit:
        return max(n, 1)
    best = 1
    for d in range(1, min(limit, math.isqrt(n)) + 1):
        if n % d == 0:
            best = max(best, d)
            if n // d <= limit:  # the cofactors n // d decrease with d: the first one that fits is the largest
                return n // d
    return best


def _resolve_output(o: dict[str, Any], steps: int) -> OutputConfig:
    every, snap, chunk = o["every"], o["snapshot_every"], o["chunk"]
    if snap > steps:
        raise ConfigError(
            f"output.snapshot_every: expected at most time.steps = {steps}, got {snap}; "
            f"e.g. snapshot_every = {max(1, steps // 10)} (or 0 for the first and last state only)"
        )
    if every is None:
        target = max(1, steps // 500)
        every = largest_divisor_at_most(snap, target) if snap else target
    elif every > steps:
        raise ConfigError(
            f"output.every: expected at most time.steps = {steps}, got {every}; e.g. every = {max(1, steps // 100)}"
        )
    if snap and snap % every:
        raise ConfigError(
            f"output.snapshot_every: expected a multiple of output.every = {every}, got {snap}; "
            f"e.g. snapshot_every = {every * max(1, round(snap / every))}"
        )
    if chunk is not None:
        if chunk % every:
            raise ConfigError(
                f"output.chunk: expected a multiple of output.every = {every}, got {chunk}; "
                f"e.g. chunk = {every * max(1, round(chunk / every))} (or delete it for automatic chunks)"
            )
        if snap and snap % chunk:
            raise ConfigError(
                f"output.chunk: expected a divisor of output.snapshot_every = {snap}, got {chunk}; "
                f"e.g. chunk = {largest_divisor_at_most(snap, chunk)} (or delete it for automatic chunks)"
            )
    return OutputConfig(int(every), int(snap), o["precision"], chunk)


# ----------------------------------------------------------------------------------------------------------
# generic table validation (used for our tables and for every theory's params / initial conditions)
# ----------------------------------------------------------------------------------------------------------
_KIND_NAMES = {
    "float": "a number",
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "list[float]": "a list of numbers",
    "list[int]": "a list of integers",
    "list[str]": "a list of strings",
}


def validate_table(
    table: Mapping[str, Any], schema: Mapping[str, Param], section: str, extra_keys: tuple[str, ...] = (),
    renamed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check ``table`` against ``schema``: unknown keys, missing required keys, types, choices and ranges.

    ``renamed`` maps old key names to new ones (a config using an old name is refused, naming the new one).
    Returns the parameters with defaults filled in (``None`` defaults mean "automatic", documented per key).
    """
    if not isinstance(table, Mapping):
        raise ConfigError(f"{section}: expected a table [{section}], got {_show(table)}")
    valid = list(schema) + list(extra_keys)
    for key in table:
        if renamed and key in renamed and key not in schema:
            raise ConfigError(
                f"{section}.{key}: renamed to {section}.{renamed[key]} (the same key for every theory); "
                f"write {renamed[key]} = {_show(table[key])}"
            )
        if key not in schema:
            hint = _suggest(key, valid)
            owner = _owner_section(key, exclude=section)
            where = f'; "{key}" belongs in [{owner}]' if owner and not hint else ""
            raise ConfigError(
                f"{section}.{key}: unknown key{hint}{where}; valid keys of [{section}]: " + ", ".join(valid)
            )
    out: dict[str, Any] = {}
    for key, param in schema.items():
        full = f"{section}.{key}"
        if key not in table:
            if param.default is REQUIRED:
                raise ConfigError(f"{full}: missing required key ({param.doc}); add e.g. {_example(full, param)}")
            out[key] = param.default
            continue
        value = _coerce(table[key], param, full)
        if param.choices is not None and value not in param.choices:
            raise ConfigError(
                f"{full}: expected one of {_choices(param.choices)}, got {_show(value)}"
                f"{_suggest(value, param.choices) if isinstance(value, str) else ''}"
            )
        if param.check is not None:
            problem = param.check(value)
            if problem:
                raise ConfigError(f"{full}: expected {problem}, got {_show(value)} ({param.doc})")
        out[key] = value
    return out


def _coerce(value: Any, param: Param, full: str) -> Any:
    kind = param.kind

    def bad() -> ConfigError:
        expected = _KIND_NAMES.get(kind, kind)
        fix = f"e.g. {_example(full, param)}"
        if isinstance(value, str) and kind in ("float", "int"):
            fix = f"write the number without quotes, {fix}"
        return ConfigError(f"{full}: expected {expected}, got {_show(value)} ({_type_name(value)}); {fix}")

    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        if not math.isfinite(value):
            raise ConfigError(f"{full}: expected a finite number, got {_show(value)}; e.g. {_example(full, param)}")
        if abs(value) > MAX_MAGNITUDE:
            raise ConfigError(
                f"{full}: expected a number of magnitude at most {MAX_MAGNITUDE:g} (products of such numbers must "
                f"stay finite in float64), got {_show(value)}; e.g. {_example(full, param)}"
            )
        return float(value)
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)  # e.g. steps = 1e4
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return int(value)
    if kind == "str":
        if not isinstance(value, str):
            raise bad()
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if kind.startswith("list[") and kind.endswith("]"):
        if not isinstance(value, list):
            raise bad()
        inner = Param(kind[5:-1], None, param.doc)
        try:
            return [_coerce(v, inner, full) for v in value]
        except ConfigError:
            raise bad() from None
    return value  # an unknown kind: passed through unchecked


# ----------------------------------------------------------------------------------------------------------
# message helpers
# ----------------------------------------------------------------------------------------------------------
def _show(value: Any) -> str:
    """A value as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table {" + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _choices(choices: Any) -> str:
    return ", ".join(_show(c) for c in choices)


def _suggest(word: Any, options: Any) -> str:
    if not isinstance(word, str):
        return ""
    opts = [str(o) for o in options]
    close = difflib.get_close_matches(word, opts, n=1, cutoff=0.6)
    if not close:
        low = {o.lower().replace("-", "_"): o for o in opts}
        key = word.lower().replace("-", "_")
        close = [low[key]] if key in low else []
    return f'; did you mean "{close[0]}"?' if close else ""


def _owner_section(key: str, exclude: str = "") -> str | None:
    for sec, schema in (("lattice", LATTICE_SCHEMA), ("time", TIME_SCHEMA), ("output", OUTPUT_SCHEMA)):
        if sec != exclude and key in schema:
            return sec
    if exclude != "initial" and key in ("kind", "seed"):
        return "initial"
    if exclude != "theory" and key == "name":
        return "theory"
    return None


def _example(full: str, param: Param) -> str:
    if full in _EXAMPLES:
        return _EXAMPLES[full]
    key = full.split(".", 1)[1]
    if param.default is not REQUIRED and param.default is not None:
        return f"{key} = {_show(param.default)}"
    if param.choices:
        return f"{key} = {_show(param.choices[0])}"
    sample = {"float": "1.0", "int": "1", "str": '"..."', "bool": "true", "list[float]": "[0.0, 0.0]",
              "list[int]": "[1, 0]", "list[str]": '["..."]'}
    return f"{key} = {sample.get(param.kind, '...')}"


def _table_example(sec: str) -> str:
    return {
        "theory": '[theory] name = "klein-gordon"',
        "lattice": "[lattice] shape = [64, 64]",
        "time": "[time] dt = 0.05 and steps = 1000",
        "initial": '[initial] kind = "gaussian_packet"',
        "output": "[output] every = 10",
    }[sec]
