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


# the module that registers each theory, so a run imports only its own theory (``load``): about 0.3 s less
# start-up for a Klein-Gordon run than importing every theory (``benchmarks/overhead.py``)
_SPEC_OF = {
    "klein-gordon": "nnfield.theories.klein_gordon.spec",
    "phi4": "nnfield.theories.nonlinear.spec",
    "sine-gordon": "nnfield.theories.nonlinear.spec",
    "dirac": "nnfield.theories.dirac.spec",
    "gauged-dirac": "nnfield.theories.gauge.spec",
    "maxwell": "nnfield.theories.maxwell.spec",
    "scalar-qed": "nnfield.theories.scalar_qed.spec",
    "maxwell-dirac": "nnfield.theories.maxwell_dirac.spec",
}


def load(name: str) -> None:
    """Import the module that registers theory ``name`` (every module when the name is not a known one)."""
    if name in _SPEC_OF:
        importlib.import_module(_SPEC_OF[name])
    else:
        load_all()


def load_all() -> None:
    """Import every module that registers a theory (missing optional ones are skipped)."""
    for mod in _SPEC_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # a section not implemented yet
            if exc.name != mod:
                raise
