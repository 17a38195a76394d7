"""Deprecated location of the ``"gauged-dirac"`` registration: it moved to :mod:`nnfield.theories.gauge.spec`."""

import warnings

from .gauge.spec import FIELDS, SPEC

warnings.warn(
    "nnfield.theories.gauge_spec is deprecated; use nnfield.theories.gauge.spec", DeprecationWarning, stacklevel=2
)

__all__ = ["FIELDS", "SPEC"]
