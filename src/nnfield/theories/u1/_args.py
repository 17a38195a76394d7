"""Checks of the initial-data builders' arguments shared by the dynamical U(1) theories (``scalar_qed``,
``maxwell_dirac``): whole numbers and points (one finite real number per axis), refused with a
:class:`~nnfield.errors.ParameterError` naming the argument. Scalars: :func:`nnfield._checks.check_number`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import ParameterError
from ..params import check_number


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (Python or NumPy; not a bool, a float such as ``1.5`` or
    ``2.0``, or a string), at least ``minimum``; a :class:`~nnfield.errors.ParameterError` naming ``name``
    otherwise (a float winding used to be truncated, ``"2"`` accepted)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ParameterError(name, f"expected an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ParameterError(name, f"expected an integer >= {minimum}, got {value!r}")
    return int(value)


def finite_point(name: str, values: Sequence[Any]) -> list[float]:
    """``values`` (one per axis) as floats, each a finite real number (:func:`~nnfield.theories.params.check_number`
    naming ``name``)."""
    for x in values:
        check_number(name, x)
    return [float(x) for x in values]


__all__ = ["finite_point", "integer"]
