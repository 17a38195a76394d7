"""Checks of the Python API's scalar arguments, shared by the core (:class:`~nnfield.network.Network`) and the
theories' builders (the config validates its own keys with pydantic: :mod:`nnfield.theories.params`)."""

from __future__ import annotations

import math
from typing import Any


def check_number(name: str, value: Any, *, minimum: float | None = None, positive: bool = False) -> None:
    """For the Python builders (the config validates its own keys): ``value`` a finite real number, at least
    ``minimum`` or, with ``positive``, above 0; a :class:`~nnfield.errors.ParameterError` naming ``name`` otherwise.

    Accepted without a check of the value: a traced value (inside ``jax.jit``, ``jax.vmap``, ``jax.grad``) and
    an array of real values (a batch, e.g. masses to ``vmap`` over), which the computation takes as it is.
    Refused: strings, ``None``, booleans, complex numbers and other non-numbers (they failed deep inside JAX
    before); a concrete scalar (Python, NumPy or a 0-d JAX array) that is not finite or out of range."""
    import numpy as np

    from .errors import ParameterError

    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float):
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        if kind not in ("i", "u", "f"):
            raise ParameterError(name, f"expected a real number, got {show_value(value)}")
        if np.ndim(value) != 0:
            return  # an array of values (a batch): left to the computation
        try:
            value = float(value)  # a NumPy scalar or a concrete 0-d JAX array
        except Exception as exc:  # a tracer (jit, vmap, grad): its value is not known yet
            import jax

            if isinstance(exc, jax.errors.ConcretizationTypeError | jax.errors.TracerArrayConversionError):
                return
            raise
    if not math.isfinite(value):
        raise ParameterError(name, f"expected a finite number, got {value!r}")
    if positive and not value > 0:
        raise ParameterError(name, f"expected a positive number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ParameterError(name, f"expected a number >= {minimum:g}, got {value!r}")


def show_value(value: Any) -> str:
    """``value`` for an error message: its repr, cut to 60 characters, and its type."""
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def weak_scalar(value: Any) -> Any:
    """A concrete real scalar (NumPy scalar, 0-d NumPy or JAX array) as a Python ``float``; anything else (a Python
    number, a traced value, an array of values) unchanged.

    JAX treats Python scalars as weakly typed: ``dt * state`` keeps a float32 state's precision. A NumPy ``float64``
    scalar is strongly typed and promoted every float32 state it touched to float64 (``Network.create(..., dt=
    np.float64(0.1))``: a float32 run came back float64). The builders' step sizes pass through this.
    """
    import numpy as np

    if type(value) in (bool, int, float) or isinstance(value, np.bool_):  # (np.float64 subclasses float)
        return value
    if np.ndim(value) != 0 or getattr(getattr(value, "dtype", None), "kind", None) not in ("i", "u", "f"):
        return value
    try:
        return float(value)
    except Exception:  # a tracer: its value is not known yet
        return value
