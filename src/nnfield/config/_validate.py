"""Validation of one config table against its declared parameters, with pydantic; every problem reported.

Each table's declaration (``{key: Param}``: kind, default, doc, choices, range check; the theory's own in its
``spec``) is compiled once into a frozen, strict pydantic model (``extra="forbid"``, no NaN/Inf, integral floats
accepted for integers, magnitudes bounded). Validating a table collects *all* its problems; each becomes one
line naming the key (``section.key``), what was expected, what was received and the fix.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticUndefined

from ..errors import ConfigError
from ..theories.params import Integer, Number, Params, check
from ..theories.registry import REQUIRED, Param
from ._messages import _choices, _example, _owner_section, _show, _suggest, _type_name

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


_SCALARS: dict[str, Any] = {"float": Number, "int": Integer, "str": str, "bool": bool}


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
        typ = Annotated[typ, check(param.check)]
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


def _kind_of(annotation: Any) -> tuple[str, tuple[Any, ...] | None]:
    """``(kind, choices)`` of a field annotation, for messages: ``float``, ``int``, ``str``, ``bool``, ``list[..]``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin = get_origin(annotation)
    if origin is Literal:
        choices = get_args(annotation)
        return type(choices[0]).__name__, choices
    if origin in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _kind_of(inner[0]) if len(inner) == 1 else ("value", None)
    if origin is list:
        return f"list[{_kind_of(get_args(annotation)[0])[0]}]", None
    return getattr(annotation, "__name__", "value"), None


def params_table(model: type[Params]) -> dict[str, Param]:
    """The message metadata (kind, default, doc, choices) of a :class:`~nnfield.theories.params.Params` class,
    keyed by the TOML key (a field's alias, else its name)."""
    out: dict[str, Param] = {}
    for name, f in model.model_fields.items():
        kind, choices = _kind_of(f.annotation)
        default = REQUIRED if f.default is PydanticUndefined else f.default
        out[f.alias or name] = Param(kind, default, f.description or name, choices=choices)
    return out


def validate_params(table: Mapping[str, Any], model: type[Params], section: str,
                    extra_keys: tuple[str, ...] = ()) -> Params:
    """The frozen instance of ``model`` for ``table`` (every problem at once, as :func:`validate_table`)."""
    values = validate_table(table, model, section, extra_keys)
    return model.model_validate(values)


def validate_table(
    table: Mapping[str, Any], schema: Mapping[str, Param] | type[Params], section: str,
    extra_keys: tuple[str, ...] = (), renamed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Check ``table`` against ``schema``: unknown (or renamed) keys, missing required keys, types, choices and
    ranges, all at once (one :class:`ConfigError` whose lines are the problems).

    ``schema`` is a declaration ``{key: Param}`` (compiled into a frozen pydantic model) or a
    :class:`~nnfield.theories.params.Params` class. Returns the parameters with defaults filled in, keyed by
    their TOML keys (``None`` defaults mean "automatic", documented per key).
    """
    model = schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None
    if model is not None:
        schema = params_table(model)
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
        instance = (model or model_for(schema, section)).model_validate(known)
        values = instance.model_dump(by_alias=True)
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
