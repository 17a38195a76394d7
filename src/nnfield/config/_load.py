"""Reading and validating a TOML run config: every problem of a config reported at once."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..theories.registry import REQUIRED, TheorySpec
from ._config import Config, InitialConfig, LatticeConfig, OutputConfig, ParallelConfig, TheoryConfig, TimeConfig
from ._messages import _choices, _owner_section, _show, _suggest, _table_example
from ._tables import (
    INITIAL_GENERIC,
    LATTICE_SCHEMA,
    MAX_CONFIG_BYTES,
    MAX_MEMBERS,
    MAX_STEPS,
    OUTPUT_SCHEMA,
    PARALLEL_SCHEMA,
    SECTIONS,
    SWEPT_SECTIONS,
    TIME_SCHEMA,
    TOP_LEVEL_KEYS,
    parse_interval,
)
from ._validate import validate_params, validate_table


def _misspelt(section: str, key: str, table: Mapping[str, Any]) -> str:
    """`` (theory.nmae is not a key: did you mean "name"?)`` for a missing required ``key`` whose table holds a key
    spelt like it, else ``""``: the table's other keys are checked only once ``key`` is known (they depend on the
    theory or the kind), so the misspelling itself was never named (session 48)."""
    near = [k for k in table if k != key and _suggest(k, [key])]
    return f' ({section}.{near[0]} is not a key: did you mean "{key}"?)' if near else ""


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
    if text.startswith("\ufeff"):
        raise ConfigError(f"{source}: the file starts with a byte-order mark (U+FEFF), which TOML does not allow; "
                          f"save it as UTF-8 without BOM")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        lineno = getattr(exc, "lineno", None)  # (Python 3.14 adds it; else from the message)
        if lineno is None:
            import re

            found = re.search(r"line (\d+)", str(exc))
            lineno = int(found.group(1)) if found else None
        lines = text.splitlines()
        shown = f": `{lines[lineno - 1].strip()[:120]}`" if lineno and 0 < lineno <= len(lines) else ""
        hint = "strings need quotes; a key may appear once per table"
        raise ConfigError(f"{source}: TOML syntax error: {exc}; fix line {lineno}{shown} ({hint})" if shown else
                          f"{source}: TOML syntax error: {exc} ({hint})") from None
    return from_dict(data, text=text, source=source)


def from_dict(data: Mapping[str, Any], text: str = "", source: str = "<config>") -> Config:
    """Validate a parsed config (``dict`` as from ``tomllib``) and return a typed :class:`Config`.

    Every problem of the config is reported at once: the :class:`ConfigError` has one line per problem, each
    starting with ``source`` and naming the key.
    """
    problems = _Problems()
    config = _validate(data, text, source, problems)
    if problems.lines or config is None:
        lines = (line if line.startswith(source) else f"{source}: {line}" for line in problems.lines)
        raise ConfigError("\n".join(lines))
    return config


class _Problems:
    """Collects the problems of a config; ``take(f, *args)`` returns ``f(*args)`` or ``None`` if it failed."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, message: str) -> None:
        self.lines.extend(message.split("\n"))

    def add_all(self, messages: list[str]) -> None:
        for message in messages:
            self.add(message)

    def take(self, f: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except ConfigError as exc:
            self.add(str(exc))
            return None


def _validate(data: Mapping[str, Any], text: str, source: str, problems: _Problems) -> Config | None:
    misspelled: set[str] = set()  # sections a misspelled table name stands for: not reported missing again
    for key, value in data.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                problems.add(f"{key}: expected a table [{key}], got {_show(value)}; write [{key}] on its own line")
        elif key not in TOP_LEVEL_KEYS:
            hint = _suggest(key, list(SECTIONS) + list(TOP_LEVEL_KEYS))
            misspelled.update(s for s in SECTIONS if hint.endswith(f'"{s}"?'))
            owner = _owner_section(key)
            where = f'; "{key}" belongs in [{owner}]' if owner else ""
            problems.add(
                f"{key}: unknown top-level key{hint}{where}; valid tables are " + ", ".join(f"[{s}]" for s in SECTIONS)
            )
    title = data.get("title", "")
    if not isinstance(title, str):
        problems.add(f'title: expected a string, got {_show(title)}; e.g. title = "my run"')
    for sec in ("theory", "lattice", "time", "initial"):
        if sec not in data and sec not in misspelled:
            problems.add(f"[{sec}]: missing table; add it, e.g. {_table_example(sec)}")
    tables = {sec: data[sec] for sec in SECTIONS if isinstance(data.get(sec), dict)}

    # [theory]: name first, then the theory's own parameters
    spec = name = theory_params = typed = None
    if "theory" in tables:
        theory_tab = dict(tables["theory"])
        name = theory_tab.pop("name", REQUIRED)
        if name is REQUIRED:
            problems.add('theory.name: missing required key; add e.g. name = "klein-gordon"'
                         + _misspelt("theory", "name", theory_tab))
        elif not isinstance(name, str):
            problems.add(f'theory.name: expected a string, got {_show(name)}; e.g. name = "klein-gordon"')
        else:
            spec = problems.take(_get_spec, name)
        if spec is not None and isinstance(spec.params, type):  # a typed Params class: keep the instance
            typed = problems.take(validate_params, theory_tab, spec.params, "theory", extra_keys=("name",))
            theory_params = None if typed is None else typed.model_dump(by_alias=True)
        elif spec is not None:
            theory_params = problems.take(validate_table, theory_tab, spec.params, "theory", extra_keys=("name",))

    lattice = problems.take(validate_table, tables["lattice"], LATTICE_SCHEMA, "lattice") if "lattice" in tables \
        else None

    time_tab = steps = None
    if "time" in tables:
        time_tab = problems.take(validate_table, tables["time"], TIME_SCHEMA, "time")
    if time_tab is not None:
        scheme = time_tab["scheme"]
        if spec is not None and scheme not in spec.schemes:
            problems.add(
                f"time.scheme: expected one of {_choices(spec.schemes)} for theory {name!r}, got {_show(scheme)}"
                f"{_suggest(scheme, spec.schemes)}"
            )
        steps = problems.take(_resolve_steps, time_tab)

    kind = seed = init_params = None
    if "initial" in tables and spec is not None:
        init_tab = dict(tables["initial"])
        kind = init_tab.get("kind", REQUIRED)
        if kind is REQUIRED:
            problems.add(
                f"initial.kind: missing required key; add e.g. kind = {_show(next(iter(spec.initial), 'plane_wave'))} "
                f"(theory {name!r} offers {_choices(spec.initial)})" + _misspelt("initial", "kind", init_tab)
            )
        elif not isinstance(kind, str):
            problems.add(f"initial.kind: expected a string, got {_show(kind)}; e.g. kind = \"gaussian_packet\"")
        elif kind not in spec.initial:
            problems.add(
                f"initial.kind: expected one of {_choices(spec.initial)} for theory {name!r}, got {_show(kind)}"
                f"{_suggest(kind, spec.initial)}"
            )
        else:
            ispec = spec.initial[kind]
            schema = {**INITIAL_GENERIC, **ispec.params}
            init = problems.take(validate_table, init_tab, schema, "initial", renamed=ispec.renamed)
            if init is not None:
                seed = init.get("seed", 0)
                init_params = {k: v for k, v in init.items() if k not in INITIAL_GENERIC or k in ispec.params}

    output_tab = problems.take(validate_table, tables.get("output", {}), OUTPUT_SCHEMA, "output") \
        if "output" in tables or "output" not in data else None
    output = problems.take(_resolve_output, output_tab, steps) if output_tab is not None and steps is not None \
        else None

    if output is not None and output.precision == "float32":
        for section, values in (("theory", theory_params), ("lattice", lattice), ("time", time_tab),
                                ("initial", init_params)):
            problems.add_all(_beyond_float32(section, values or {}))

    parallel_tab = problems.take(validate_table, tables.get("parallel", {}), PARALLEL_SCHEMA, "parallel") \
        if "parallel" in tables or "parallel" not in data else None

    sweep = _validate_sweep(tables.get("sweep", {}), problems)

    parts = (spec, theory_params, lattice, time_tab, steps, init_params, output, parallel_tab)
    if problems.lines or any(x is None for x in parts):
        return None
    return Config(
        theory=TheoryConfig(name, theory_params, typed),
        lattice=LatticeConfig(tuple(lattice["shape"]), float(lattice["spacing"])),
        time=TimeConfig(float(time_tab["dt"]), steps, time_tab["scheme"]),
        initial=InitialConfig(kind, int(seed), init_params),
        output=output,
        title=title,
        text=text,
        source=source,
        parallel=ParallelConfig(0 if parallel_tab["devices"] == "all" else int(parallel_tab["devices"]),
                                bool(parallel_tab["halo"]), str(parallel_tab["build"])),
        sweep=sweep,
    )


def _validate_sweep(tab: Mapping[str, Any], problems: _Problems) -> dict[str, list[Any]]:
    """``[sweep]``: keys ``table.key`` (quoted in TOML: ``"theory.mass" = [0.5, 1.0]``) naming a config key,
    values non-empty lists; the member values themselves are checked when each member's config is built."""
    out: dict[str, list[Any]] = {}
    members = 1
    for key, value in tab.items():
        if isinstance(value, dict):  # `theory.mass = [...]` unquoted parses as a nested table
            for sub, v in value.items():
                tab_key = f"{key}.{sub}"
                if isinstance(v, dict):
                    problems.add(f"sweep.{tab_key}: expected a list of values, got a table")
                    continue
                _add_swept(out, tab_key, v, problems)
            continue
        _add_swept(out, key, value, problems)
    for key, value in list(out.items()):
        table = key.split(".")[0]
        if key.count(".") != 1 or table not in SWEPT_SECTIONS:
            problems.add(f"sweep.{key}: expected a key table.key of [theory], [lattice], [time] or [initial], "
                         f'e.g. "theory.mass" = [0.5, 1.0, 2.0]')
            out.pop(key)
        elif not isinstance(value, list) or not value:
            problems.add(f"sweep.{key}: expected a non-empty list of values, got {_show(value)}; "
                         f"e.g. \"{key}\" = [1, 2, 3]")
            out.pop(key)
        else:
            members *= len(value)
    if members > MAX_MEMBERS:
        problems.add(f"sweep: {members} members (every combination of the lists); expected at most {MAX_MEMBERS}")
    return out


def _add_swept(out: dict[str, list[Any]], key: str, value: Any, problems: _Problems) -> None:
    """``out[key] = value``, refusing a key given twice (quoted, ``"theory.mass"``, and as a dotted key or a
    ``[sweep.theory]`` table, ``theory.mass``: TOML takes both, and one list would silently replace the other)."""
    if key in out:
        problems.add(f'sweep.{key}: given twice (as "{key}" = [...] and as the dotted key {key} = [...]); keep one '
                     f"list of values")
        return
    out[key] = value


#: the largest float32; a float32 run takes numbers up to its square root (squares and products stay finite), the
#: analogue of the 1e100 bound of float64
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_BOUND = math.sqrt(FLOAT32_MAX)


def _beyond_float32(section: str, values: Mapping[str, Any]) -> list[str]:
    """One problem per number of the table (or list entry) a float32 run cannot use: of magnitude above
    :data:`FLOAT32_BOUND`; for ``[lattice]`` also a cell volume ``a^D`` or ``1 / a^2`` beyond float32."""
    out = []
    fix = 'and output.precision = "float32"; use precision = "float64" or a smaller value'
    for key, v in values.items():
        items = v if isinstance(v, (list, tuple)) else [v]
        big = [x for x in items if isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) > FLOAT32_BOUND]
        if big:
            out.append(f"{section}.{key}: {_show(big[0])} is beyond what float32 can square (magnitude at most "
                       f"{FLOAT32_BOUND:.3g}) {fix}")
    if section == "lattice" and not out and "spacing" in values and "shape" in values:
        a, D = float(values["spacing"]), len(values["shape"])
        if not (a**D <= FLOAT32_MAX and a ** -2 <= FLOAT32_MAX):
            out.append(f"lattice.spacing: {a:g} makes the cell volume a^D or 1/a^2 overflow float32 {fix}")
    return out


def _get_spec(name: str) -> TheorySpec:
    from ..theories.registry import THEORIES, get_theory

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
    ticks, seconds = parse_interval(o["checkpoint_every"])
    return OutputConfig(int(every), int(snap), o["precision"], chunk, ticks, seconds, int(o["checkpoint_keep"]),
                        bool(o["spectra"]))
