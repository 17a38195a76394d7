"""Shared pieces of the command line: exit codes, consoles, one-line errors, JSON conversion."""

from __future__ import annotations

import math
import sys
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------
def _console(stderr: bool = False) -> Any:
    """A rich console; 120 columns when writing to a file or pipe (rich would assume 80)."""
    import os

    from rich.console import Console

    con = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not con.is_terminal and "COLUMNS" not in os.environ:
        con = Console(stderr=stderr, highlight=False, soft_wrap=True, width=120)
    return con


def _say(console: Any, msg: str, style: str | None = None) -> None:
    console.print(msg, markup=False, style=style)


def _error(msg: str) -> None:
    """One line per problem on stderr (a config with several problems reports each on its own line)."""
    for line in str(msg).splitlines() or [""]:
        print(f"nnfield: error: {line}", file=sys.stderr)


def _setup_jax() -> None:
    """float64 available everywhere (``precision = "float32"`` runs cast their arrays); before any array."""
    import jax

    jax.config.update("jax_enable_x64", True)


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, complex):
        return [_jsonable(x.real), _jsonable(x.imag)]
    if type(x).__module__.startswith("jax"):  # a JAX array
        return _jsonable(np.asarray(x))
    return x


def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf"
        return f"{x:.10g}"
    return str(x)
