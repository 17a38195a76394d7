"""Deprecated location of the runnable theory ``"dirac"``: it lives in :mod:`nnfield.theories.dirac.spec`.

A thin shim kept for one release (``nnfield.theories.gauge_spec`` still imports ``SPEC`` from here). It does not
warn on import: the gauge package imports it while loading every theory, and tests run with warnings as errors.
"""

from __future__ import annotations

from .dirac.spec import SPEC as SPEC

__all__ = ["SPEC"]
