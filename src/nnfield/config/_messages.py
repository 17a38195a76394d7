"""How config problems are worded: values as written in TOML, close-match suggestions, examples of fixes."""

from __future__ import annotations

import difflib
from typing import Any

from ..theories.registry import REQUIRED, Param
from ._tables import _EXAMPLES, LATTICE_SCHEMA, OUTPUT_SCHEMA, TIME_SCHEMA


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
