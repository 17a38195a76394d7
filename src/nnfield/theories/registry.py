"""Registry of runnable theories, used by the TOML config layer and the command line.

Each theory registers a :class:`TheorySpec`: its parameters (typed, with defaults and docs), a ``build``
function ``(lattice, params, dt, scheme) -> Model`` and its initial conditions. The config layer validates a
``[theory]`` table against ``params`` and an ``[initial]`` table against the chosen initial condition's
``params``; nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Param:
    """A typed parameter: ``kind`` is ``float``, ``int``, ``str``, ``bool`` or ``list[float]``/``list[int]``.

    ``check(value) -> str | None`` returns a message (what was expected) when the value is out of range.
    ``choices`` restricts strings. ``default=REQUIRED`` makes the parameter mandatory.
    """

    kind: str
    default: Any
    doc: str
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], str | None] | None = None


REQUIRED = object()


@dataclasses.dataclass(frozen=True)
class InitialSpec:
    """An initial condition: ``make(model, params, seed) -> (phi, pi)`` physics data, each ``(K, *shape)``.

    ``renamed`` maps keys of earlier releases to their new names: a config using an old key is refused with
    a message naming the new one.
    """

    params: dict[str, Param]
    make: Callable[[Any, dict[str, Any], int], tuple[Any, Any]]
    doc: str = ""
    renamed: dict[str, str] = dataclasses.field(default_factory=dict)
    #: optionally, the same data built split over devices: ``split(model, params, seed, mesh) -> (phi, pi)``, JAX
    #: arrays split along the first lattice axis over ``mesh``, equal to ``make``'s to round-off
    #: (``nnfield.runner.split_build``; session 45)
    split: Callable[..., tuple[Any, Any]] | None = None
    #: optionally, why the theory's parameters (its typed ``[theory]`` parameters) rule the split build out, or
    #: ``None`` where they do not (e.g. a model whose encoding of the data is itself a whole-lattice FFT)
    split_refusal: Callable[[Any], str | None] | None = None


@dataclasses.dataclass(frozen=True)
class TheorySpec:
    """A runnable theory: parameters, the model builder and its initial conditions.

    ``params`` is the theory's typed, frozen parameter class (a :class:`~nnfield.theories.params.Params`
    subclass; ``build`` receives its validated instance) or, for theories registered from outside in the first
    release's style, a table ``{key: Param}`` (``build`` receives a dict).
    """

    name: str
    doc: str
    params: Any
    build: Callable[[Any, Any, float, str], Any]
    initial: dict[str, InitialSpec]
    schemes: tuple[str, ...] = ("simultaneous", "alternating", "leapfrog", "yoshida4")

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of the ``[theory]`` table besides ``name`` (a field's alias where it has one)."""
        if isinstance(self.params, type):
            return tuple(f.alias or name for name, f in self.params.model_fields.items())
        return tuple(self.params)


THEORIES: dict[str, TheorySpec] = {}


def register_theory(spec: TheorySpec) -> TheorySpec:
    THEORIES[spec.name] = spec
    return spec


def get_theory(name: str) -> TheorySpec:
    from . import load, load_all

    if name not in THEORIES:
        load(name)
    try:
        return THEORIES[name]
    except KeyError:
        load_all()  # the error lists every theory
        raise ConfigError(
            f"theory.name: expected one of {sorted(THEORIES)}, got {name!r}; e.g. name = \"klein-gordon\""
        ) from None


def positive(x: Any) -> str | None:
    return None if x > 0 else "a positive number"


def non_negative(x: Any) -> str | None:
    return None if x >= 0 else "a non-negative number"


def positive_amplitude(x: Any) -> str | None:
    return None if x > 0 else "a positive amplitude"
