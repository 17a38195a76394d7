r"""Registers the runnable theory ``"dirac"`` (paper Sec. 4) for TOML configs and the command line.

Theory parameters (``[theory]``):

- ``dimension``: D = 1, 2 or 3 (default: the lattice's dimension; if given it must match ``lattice.shape``);
  K = 2 neuron types in 1+1 (4.16), K = 4 in 2+1 and 3+1 (4.35).
- ``mass``: m >= 0.
- ``network = "paper" | "stable"``: the paper's (4.11)/(4.26) with per-type losses (any scheme; the paper is
  ``scheme = "simultaneous"``, unstable for every dt), or the stable network with the orthogonal mass weight
  ``R = X_0^(2 m dt/pi)`` (requires ``scheme = "alternating"``; stable for ``dt sigma_max(B) < 2 cos(m dt/2)``).
- ``bias = "forward" | "wilson"``: the paper's forward-difference bias map (doublers in D >= 2) or the
  doubler-free twisted Wilson map with parameter ``wilson_r``.
- ``loss = "corrected" | "printed" | "printed_summed" | "4.12"`` (paper network only): the per-type loss (4.14)
  corrected (gives (4.11)), as printed (it does not), or the scalar loss (4.12) (no mass for antisymmetric W).

Initial conditions (``[initial]``), physics data ``(phi, pi)`` each ``(K, *shape)`` with spinor
``psi = (phi^1 + i phi^2, .., pi^1 + i pi^2, ..)`` (4.19)/(4.30):

- ``plane_wave``: ``psi = A u exp(i (k.x + phase))``, ``k = 2 pi n/(N a)``, ``u`` an eigenvector of the lattice
  ``H(k)`` with ``branch = "positive" | "negative"`` energy (``spin`` picks one of the K/2 degenerate ones).
- ``gaussian_packet``: ``A exp(-|x - c|^2/(4 w^2) + i k0.(x - c)) u`` with ``exp(...) u`` normalized to unit
  charge (the packet has charge ``A^2``), projected on positive or negative energies, or ``branch = "mixed"``
  (``u = (u_+ + u_-)/sqrt 2``: Zitterbewegung at ~2 omega).

Both come from the one library :mod:`nnfield.initial` (:func:`~nnfield.initial.spinor_plane_wave`,
:func:`~nnfield.initial.spinor_packet` with the theory's :class:`~.initial.DiracModes`) and take the keys
every theory shares (:mod:`nnfield.theories.spec_edge`) plus ``branch`` and ``spin``.

This is the only module of the package that knows TOML keys: the library raises
:class:`~nnfield.errors.ParameterError` naming its own parameters (``n``, ``momentum``, ``scheme``, ...), and the
builders below rename them to the keys (``initial.n``, ``initial.momentum``, ``time.scheme``, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from pydantic import Field

from ... import initial
from ...errors import ConfigError, ParameterError
from ..params import Number, Params, check
from ..registry import Param, TheorySpec, non_negative, positive, register_theory
from ..spec_edge import PACKET_KEYS, PLANE_WAVE_KEYS, initial_spec

#: library parameter -> TOML key, for the errors of the model builder
_THEORY_KEYS = {"m": "theory.mass", "network": "theory.network", "bias": "theory.bias", "kind": "theory.bias",
                "wilson_r": "theory.wilson_r", "loss": "theory.loss", "scheme": "time.scheme"}


@contextmanager
def _config_keys(keys: dict[str, str]) -> Iterator[None]:
    """Turn a library :class:`ParameterError` into a :class:`ConfigError` naming the TOML key of its parameter."""
    try:
        yield
    except ParameterError as exc:
        if exc.param not in keys:
            raise
        raise exc.renamed(keys[exc.param]) from None


def _modes(model: Any) -> Any:
    from .initial import DiracModes

    return DiracModes(model.theory)


def _plane_wave(model: Any, p: dict[str, Any], seed: int) -> tuple[Any, Any]:
    del seed
    return initial.spinor_plane_wave(
        model.theory.lattice, _modes(model), p["n"], p["amplitude"], p["phase"], p["branch"], p["spin"]
    )


def _plane_wave_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    del seed
    return initial.spinor_plane_wave_split(
        model.theory.lattice, mesh, _modes(model), p["n"], p["amplitude"], p["phase"], p["branch"], p["spin"]
    )


def _gaussian_packet(model: Any, p: dict[str, Any], seed: int) -> tuple[Any, Any]:
    del seed
    return initial.spinor_packet(
        model.theory.lattice, _modes(model), p["center"], p["width"], p["momentum"], p["branch"], p["spin"],
        p["amplitude"],
    )


def _gaussian_packet_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    del seed
    return initial.spinor_packet_split(
        model.theory.lattice, mesh, _modes(model), p["center"], p["width"], p["momentum"], p["branch"], p["spin"],
        p["amplitude"],
    )


class DiracParams(Params):
    """``[theory] name = "dirac"``: the network (paper Sec. 4 or the stable one), mass, bias map, loss."""

    dimension: Literal[1, 2, 3] | None = Field(None, description="spatial dimension D (default: from lattice.shape)")
    mass: Annotated[Number, check(non_negative)] = Field(1.0, description="mass m (m >= 0)")
    network: Literal["paper", "stable"] = Field(
        "paper", description='"paper" (4.11) with per-type losses, or "stable" (orthogonal mass weight, scheme '
        '"alternating")'
    )
    bias: Literal["forward", "wilson"] = Field(
        "forward", description='"forward" (4.24, the paper; doublers in D >= 2) or "wilson" (doubler-free)'
    )
    wilson_r: Annotated[Number, check(positive)] = Field(
        1.0, description="Wilson parameter r of the twisted Wilson bias map"
    )
    loss: Literal["corrected", "printed", "printed_summed", "4.12"] = Field(
        "corrected", description='per-type loss (4.14): "corrected" gives (4.11); "printed" / "printed_summed" are '
        'the printed readings; "4.12" the scalar loss'
    )


def _build(lattice: Any, params: DiracParams, dt: float, scheme: str) -> Any:
    from .models import model

    D = params.dimension
    if D is not None and D != lattice.ndim:
        raise ConfigError(
            f"theory.dimension: D = {D} but lattice.shape has {lattice.ndim} axes; give {D} sizes, "
            f"e.g. shape = {[16] * D}, or drop theory.dimension"
        )
    if lattice.ndim not in (1, 2, 3):
        raise ConfigError(f"lattice.shape: the Dirac theory exists for D = 1, 2, 3; got D = {lattice.ndim}")
    if params.network == "stable" and params.loss != "corrected":
        raise ConfigError('theory.loss: applies to network = "paper" only; delete it for "stable"')
    if params.bias != "wilson" and params.wilson_r != 1.0:
        raise ConfigError('theory.wilson_r: applies to bias = "wilson" only; delete it or set bias = "wilson"')
    with _config_keys(_THEORY_KEYS):
        return model(lattice, params.mass, dt, network=params.network, scheme=scheme, bias=params.bias,
                 wilson_r=params.wilson_r, loss=params.loss)


def _spin_check(x: int) -> str | None:
    return None if x >= 0 else "a non-negative index (0 .. K/2 - 1)"


SPEC = register_theory(
    TheorySpec(
        name="dirac",
        doc="Dirac field (Sec. 4) from K neuron types: the paper's network (4.11)/(4.26) or a stable one.",
        params=DiracParams,
        build=_build,
        initial={
            "plane_wave": initial_spec(
                PLANE_WAVE_KEYS | {
                    "branch": Param("str", "positive", "energy sign", choices=initial.PLANE_WAVE_BRANCHES),
                    "spin": Param("int", 0, "which of the K/2 degenerate spinors", check=_spin_check),
                },
                _plane_wave, "plane-wave eigenmode of the lattice Dirac Hamiltonian (positive or negative energy)",
                split=_plane_wave_split,
            ),
            "gaussian_packet": initial_spec(
                PACKET_KEYS | {
                    # the shared key, documented for spinors: a scale of the unit-charge packet (docs/config.md)
                    "amplitude": dataclasses.replace(
                        PACKET_KEYS["amplitude"], doc="scale A of the unit-charge packet (charge A^2)"
                    ),
                    "branch": Param("str", "positive", '"positive", "negative" or "mixed" energy',
                                    choices=initial.PACKET_BRANCHES),
                    "spin": Param("int", 0, "which of the K/2 spinors at k0", check=_spin_check),
                },
                _gaussian_packet, "Gaussian spinor packet with momentum k0 (positive / negative energy or mixed)",
                split=_gaussian_packet_split,
            ),
        },
    )
)

__all__ = ["SPEC"]
