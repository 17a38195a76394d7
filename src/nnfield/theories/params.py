"""Typed, frozen theory parameters: the class a theory declares for its ``[theory]`` table.

A theory's ``spec`` declares ``class MyParams(Params)`` with one annotated field per key (its type, default,
description and range check) and receives a validated, frozen instance in its ``build`` function. The config
layer (:mod:`nnfield.config`) validates the TOML table against the class with pydantic and turns every problem
into one line naming ``theory.<key>``. Building blocks:

- :data:`Number`: a finite float of magnitude at most ``1e100`` (squares and products stay finite in float64);
- :data:`Integer`: an integer of magnitude at most ``1e100`` (an integral float such as ``1e4`` is accepted; a
  larger TOML integer could not even be converted to a float);
- :func:`check`: a range check ``value -> problem or None`` ("a positive number") as a validator.

A field whose key is not a Python name (``lambda``) is declared with ``Field(alias="lambda")``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from .._checks import check_number as check_number  # the builders' check, importable from here as before

#: the largest magnitude of a number in a config (squares and products stay finite in float64)
MAX_MAGNITUDE = 1e100


def bounded(x: float) -> float:
    """``x`` if ``|x| <= MAX_MAGNITUDE`` (else a ``ValueError`` saying what is expected)."""
    if abs(x) > MAX_MAGNITUDE:
        raise ValueError(f"a number of magnitude at most {MAX_MAGNITUDE:g} (products of such numbers must stay "
                         f"finite in float64)")
    return x


def bounded_int(x: int) -> int:
    """``x`` if ``|x| <= MAX_MAGNITUDE`` (a larger TOML integer cannot even be converted to a float)."""
    if abs(x) > MAX_MAGNITUDE:
        raise ValueError(f"an integer of magnitude at most {MAX_MAGNITUDE:g}")
    return x


def integral_float_to_int(x: Any) -> Any:
    """``1e4 -> 10000`` (TOML writes large counts as floats); anything else unchanged."""
    return int(x) if isinstance(x, float) and math.isfinite(x) and x.is_integer() else x


def check(problem_of: Callable[[Any], str | None]) -> AfterValidator:
    """A validator from a range check that returns what was expected ("a positive number"), or ``None``."""

    def run(x: Any) -> Any:
        problem = problem_of(x)
        if problem:
            raise ValueError(problem)
        return x

    return AfterValidator(run)


Number = Annotated[float, AfterValidator(bounded)]
Integer = Annotated[int, BeforeValidator(integral_float_to_int), AfterValidator(bounded_int)]


class Params(BaseModel):
    """Base of a theory's typed, frozen parameters (strict types, unknown keys refused, no NaN or Inf)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=True)
