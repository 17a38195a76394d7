"""Deprecated location of the ``"dirac"`` registration: it moved to :mod:`nnfield.theories.dirac.spec`."""

import warnings

from .dirac.spec import SPEC

warnings.warn(
    "nnfield.theories.dirac_spec is deprecated; use nnfield.theories.dirac.spec", DeprecationWarning, stacklevel=2
)

__all__ = ["SPEC"]
