"""The typed, validated run configuration and the objects it builds (lattice, model, initial data).

Building is where library errors meet config keys: a :class:`~nnfield.errors.ParameterError` raised by the
library while building from ``[table]`` becomes a :class:`~nnfield.errors.ConfigError` naming ``table.key``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import ConfigError, ParameterError
from ..theories.registry import InitialSpec, TheorySpec


@dataclasses.dataclass(frozen=True)
class TheoryConfig:
    """``[theory]``: the theory's name and its parameters (keyed by TOML key); ``typed`` is the validated,
    frozen :class:`~nnfield.theories.params.Params` instance when the theory declares a class (what its
    ``build`` receives)."""

    name: str
    params: dict[str, Any]
    typed: Any = None


@dataclasses.dataclass(frozen=True)
class LatticeConfig:
    shape: tuple[int, ...]
    spacing: float


@dataclasses.dataclass(frozen=True)
class TimeConfig:
    dt: float
    steps: int
    scheme: str


@dataclasses.dataclass(frozen=True)
class InitialConfig:
    kind: str
    seed: int
    params: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    every: int
    snapshot_every: int
    precision: str
    chunk: int | None
    #: checkpoints every this many ticks (0: not by ticks) and/or seconds of wall-clock time (0: not by time)
    checkpoint_steps: int = 0
    checkpoint_seconds: float = 600.0
    checkpoint_keep: int = 3
    #: record power spectra and occupation numbers with the observables (``nnfield.spectra``)
    spectra: bool = False


@dataclasses.dataclass(frozen=True)
class ParallelConfig:
    """``[parallel]``: how many devices the lattice is sharded over (``0``: every device, ``"all"`` in TOML), and
    whether the halo is exchanged explicitly, once per tick (:mod:`nnfield.halo`), instead of by XLA's partitioner,
    and how a split run builds its initial data (``build``: ``"auto"``, ``"split"``, ``"whole"``;
    :func:`nnfield.runner.split_build`)."""

    devices: int = 1
    halo: bool = False
    build: str = "auto"


@dataclasses.dataclass(frozen=True)
class Config:
    """A validated run configuration (``text`` is the TOML it came from, kept for provenance)."""

    theory: TheoryConfig
    lattice: LatticeConfig
    time: TimeConfig
    initial: InitialConfig
    output: OutputConfig
    title: str = ""
    parallel: ParallelConfig = ParallelConfig()
    #: ``[sweep]``: ``{"table.key": [values...]}``; the members are every combination (``nnfield.ensemble``)
    sweep: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    text: str = ""
    source: str = "<config>"

    # -- objects -----------------------------------------------------------------------------------------
    @property
    def spec(self) -> TheorySpec:
        from ..theories.registry import get_theory

        return get_theory(self.theory.name)

    @property
    def initial_spec(self) -> InitialSpec:
        return self.spec.initial[self.initial.kind]

    def make_lattice(self) -> Any:
        from ..lattice import Lattice

        with _keys_of(self.source, "lattice", ("shape", "spacing")):
            return Lattice(self.lattice.shape, self.lattice.spacing)

    def build_model(self, dt: float | None = None) -> Any:
        """The theory's model (network + physics side) at ``dt`` (default: the configured ``time.dt``)."""
        lattice = self.make_lattice()
        with _keys_of(self.source, "theory", tuple(self.theory.params), time=("dt", "scheme")):
            params = self.theory.typed if self.theory.typed is not None else dict(self.theory.params)
            return self.spec.build(lattice, params, self.time.dt if dt is None else float(dt), self.time.scheme)

    def initial_fields(self, model: Any) -> tuple[Any, Any]:
        """Physics-side initial data ``(phi, pi)``, each ``(K, *shape)``, from ``[initial]``."""
        with _keys_of(self.source, "initial", (*self.initial.params, "seed")):
            return self.initial_spec.make(model, dict(self.initial.params), self.initial.seed)

    def initial_fields_split(self, model: Any, mesh: Any) -> tuple[Any, Any]:
        """:meth:`initial_fields` built split along the first lattice axis over ``mesh`` (the initial kind's
        ``split`` builder: JAX arrays, each process computing its own devices' slabs;
        ``nnfield.runner.build_split``)."""
        split = self.initial_spec.split
        if split is None:
            raise ValueError(f"initial.kind = {self.initial.kind!r}: no split builder")
        with _keys_of(self.source, "initial", (*self.initial.params, "seed")):
            return split(model, dict(self.initial.params), self.initial.seed, mesh)

    @property
    def dtype(self) -> Any:
        import numpy as np

        return np.dtype(self.output.precision)

    def summary(self) -> str:
        shape = "x".join(str(n) for n in self.lattice.shape)
        return (
            f"{self.theory.name} on {shape} (a = {self.lattice.spacing:g}), dt = {self.time.dt:g}, "
            f"{self.time.steps} steps ({self.time.scheme}), initial {self.initial.kind}, {self.output.precision}"
        )


class _keys_of:
    """Turn a library :class:`~nnfield.errors.ParameterError` into a :class:`ConfigError` naming the TOML key.

    The library names its own parameters in plain words (``winding``); here the config layer knows that the
    value came from ``[table] winding``. A parameter of another table (``time``: ``dt``, ``scheme``) is named
    there; any other parameter is reported with the table it was built from. A ``ConfigError`` that a theory's
    spec raised naming its key (``initial.slope: ...``) gets the config's name in front, as every other config
    error has (``<config>`` for a config parsed from text without a source).
    """

    def __init__(self, source: str, table: str, keys: tuple[str, ...], **others: tuple[str, ...]) -> None:
        self.source, self.table, self.keys, self.others = source, table, keys, others

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, ConfigError):  # a theory's spec named the key already (``initial.slope: ...``)
            lines = str(exc).splitlines() or [""]
            if all(line.startswith(f"{self.source}:") for line in lines):
                return False
            raise ConfigError("\n".join(line if line.startswith(f"{self.source}:") else f"{self.source}: {line}"
                                         for line in lines)) from None
        if not isinstance(exc, ParameterError):
            return False
        key = exc.param if exc.param in self.keys else None
        table = self.table
        for other, names in self.others.items():
            if key is None and exc.param in names:
                table, key = other, exc.param
        where = f"{table}.{key}" if key is not None else f"[{table}] ({exc.param})"
        raise ConfigError(f"{self.source}: {where}: {exc.problem}") from None
