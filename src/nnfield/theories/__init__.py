"""Theory recipes: each builds a network *and* its independent physics side.

Runnable theories register a :class:`~nnfield.theories.registry.TheorySpec` (see :func:`load_all`).
"""

from __future__ import annotations

import importlib

# modules that register runnable theories (each calls ``register_theory`` at import)
_SPEC_MODULES = [
    "nnfield.theories.klein_gordon.spec",
    "nnfield.theories.nonlinear.spec",
    "nnfield.theories.dirac.spec",
    "nnfield.theories.gauge.spec",
    "nnfield.theories.maxwell.spec",
    "nnfield.theories.scalar_qed.spec",
    "nnfield.theories.maxwell_dirac.spec",
]


def load_all() -> None:
    """Import every module that registers a theory (missing optional ones are skipped)."""
    for mod in _SPEC_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # a section not implemented yet
            if exc.name != mod:
                raise
