"""Validation of one config table against its declared parameters, with pydantic; every problem reported.

Each table's declaration (``{key: Param}``: kind, default, doc, choices, range check; the theory's own in its
``spec``) is compiled once into a frozen, strict pydantic model (``extra="forbid"``, no NaN/Inf, integral floats
accepted for integers, magnitudes bounded). Validating a table collects *all* its problems; each becomes one
line naming the key (``section.key``), what was expected, what was received and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from ..errors import ConfigError
from ..theories.registry import REQUIRED, Param
from ._messages import _choices, _example, _owner_section, _show, _suggest, _type_name
from ._tables import MAX_MAGNITUDE

_KIND_NAMES = {
    "float": "a number",
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "list[float]": "a list of numbers",
    "list[int]": "a list of integers",
    "list[str]": "a list of strings",
}
_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)
_MODELS: dict[tuple[Any, ...], type[BaseModel]] = {}


def _integral_float_to_int(x: Any) -> Any:
    return int(x) if isinstance(x, float) and math.isfinite(x) and x.is_integer() else x  # e.g. steps = 1e4


def _bounded(x: float) -> float:
    if abs(x) > MAX_MAGNITUDE:
        raise ValueError(f"a number of magnitude at most {MAX_MAGNITUDE:g} (products of such numbers must stay "
                         f"finite in float64)")
    return x


def _checked(check: Callable[[Any], str | None]) -> Any:
    def run(x: Any) -> Any:
        problem = check(x)
        if problem:
            raise ValueError(problem)
        return x

    return AfterValidator(run)


_SCALARS: dict[str, Any] = {
    "float": Annotated[float, AfterValidator(_bounded)],
    "int": Annotated[int, BeforeValidator(_integral_float_to_int)],
    "str": str,
    "bool": bool,
}


def _annotation(param: Param) -> Any:
    kind = param.kind
    if param.choices is not None:
        typ: Any = Literal[tuple(param.choices)]
    elif kind in _SCALARS:
        typ = _SCALARS[kind]
    elif kind.startswith("list[") and kind[5:-1] in _SCALARS:
        typ = list[_SCALARS[kind[5:-1]]]
    else:
        typ = Any
    if param.check is not None:
        typ = Annotated[typ, _checked(param.check)]
    return typ | None if param.default is None else typ


def model_for(schema: Mapping[str, Param], name: str = "Params") -> type[BaseModel]:
    """The frozen, strict pydantic model of a table declaration (compiled once per declaration)."""
    key = tuple((k, id(p)) for k, p in schema.items())
    if key not in _MODELS:
        fields = {
            k: (_annotation(p), Field(... if p.default is REQUIRED else p.default, description=p.doc))
            for k, p in schema.items()
        }
        _MODELS[key] = create_model(name, __config__=_CONFIG, **fields)
    return _MODELS[key]


def _message(err: Mapping[str, Any], full: str, param: Param, value: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return f"{full}: missing required key ({param.doc}); add e.g. {_example(full, param)}"
    if kind == "literal_error" and param.choices is not None and (isinstance(value, str) or param.kind != "str"):
        hint = _suggest(value, param.choices) if isinstance(value, str) else ""
        return f"{full}: expected one of {_choices(param.choices)}, got {_show(value)}{hint}"
    if kind == "finite_number" and len(err["loc"]) == 1:
        return f"{full}: expected a finite number, got {_show(value)}; e.g. {_example(full, param)}"
    if kind == "value_error" and len(err["loc"]) == 1:
        problem = str(err["ctx"]["error"])
        return f"{full}: expected {problem}, got {_show(value)} ({param.doc})"
    expected = _KIND_NAMES.get(param.kind, param.kind)
    fix = f"e.g. {_example(full, param)}"
    if isinstance(value, str) and param.kind in ("float", "int"):
        fix = f"write the number without quotes, {fix}"
    return f"{full}: expected {expected}, got {_show(value)} ({_type_name(value)}); {fix}"


def validate_table(
    table: Mapping[str, Any], schema: Mapping[str, Param], section: str, extra_keys: tuple[str, ...] = (),
    renamed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check ``table`` against ``schema``: unknown (or renamed) keys, missing required keys, types, choices and
    ranges, all at once (one :class:`ConfigError` whose lines are the problems).

    Returns the parameters with defaults filled in (``None`` defaults mean "automatic", documented per key).
    """
    if not isinstance(table, Mapping):
        raise ConfigError(f"{section}: expected a table [{section}], got {_show(table)}")
    problems: list[str] = []
    valid = list(schema) + list(extra_keys)
    for key in table:
        if renamed and key in renamed and key not in schema:
            problems.append(f"{section}.{key}: renamed to {section}.{renamed[key]} (the same key for every theory); "
                            f"write {renamed[key]} = {_show(table[key])}")
        elif key not in schema and key not in extra_keys:
            hint = _suggest(key, valid)
            owner = _owner_section(key, exclude=section)
            where = f'; "{key}" belongs in [{owner}]' if owner and not hint else ""
            listing = ", ".join(valid)
            problems.append(f"{section}.{key}: unknown key{hint}{where}; valid keys of [{section}]: {listing}")
    known = {k: v for k, v in table.items() if k in schema}
    try:
        values = dict(model_for(schema, section).model_validate(known))
    except ValidationError as exc:
        seen: set[str] = set()
        for err in exc.errors():
            key = str(err["loc"][0])
            if key not in seen:
                seen.add(key)
                problems.append(_message(err, f"{section}.{key}", schema[key], table.get(key)))
        values = {}
    if problems:
        raise ConfigError("\n".join(problems))
    return values
