"""The PyTree base of nnfield's objects: ``equinox.Module``, compared and hashed by identity.

``equinox.Module`` compares by value (``tree_equal``) and hashes its fields, which fails for modules holding
NumPy arrays and makes ``jax.jit(model.observables)`` raise. nnfield's networks, operators, losses and models
keep the behaviour of plain Python objects (identity), as the first release's dataclasses did; everything
else (fields, ``eqx.field(static=True)``, abstract variables and methods, ``jit``/``vmap``/``grad``) is equinox.

Note: a module that declares ``eqx.AbstractVar`` fields must not use ``from __future__ import annotations``
(equinox recognizes abstract variables only from evaluated annotations).
"""

import equinox as eqx


class Module(eqx.Module):
    """``equinox.Module`` with identity equality and hashing."""

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        return self is other
