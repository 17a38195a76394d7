r"""Registers the runnable theory ``"gauged-dirac"`` (paper Sec. 5): a Dirac network in a U(1) background.

Theory parameters (``[theory]``): the Dirac ones (``mass``, ``network = "stable" | "paper"``, ``bias``,
``wilson_r``) and the background, coupled through exact link variables (:mod:`nnfield.theories.gauge`):

- ``field = "none" | "electric" | "magnetic" | "file"``;
- ``charge``: q (default 1);
- ``electric``: E for ``field = "electric"`` (uniform, along ``direction``, as the potential ``A0 = -E x``;
  the potential jumps at the box edge: keep packets away from it);
- ``n_flux``: flux quanta through the torus for ``field = "magnetic"`` (``q B = 2 pi n_flux / (L_x L_y)`` in the
  plane of the first two axes; needs D >= 2);
- ``file``: a ``.npz`` with ``alpha`` (``(D, *shape)``, spatial links ``U = X_0^alpha``) and optional
  ``alpha0`` (``shape``, temporal links), ``dt`` (the step they were built for; a file that records one is
  refused for another ``time.dt``) and ``spacing`` (the lattice spacing they were built for; a file that records
  one is refused for another ``lattice.spacing``) for ``field = "file"``.

Initial conditions are the Dirac ones (plane waves, Gaussian spinor packets).

This is the only module of the package that knows TOML key names: it turns the library's
:class:`~nnfield.errors.ParameterError` (plain parameter names) and :class:`~nnfield.errors.InputError` (the
links file) into :class:`~nnfield.errors.ConfigError` naming the real key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ...errors import ConfigError, InputError, ParameterError
from ..dirac.spec import SPEC as DIRAC_SPEC
from ..params import Integer, Number, Params, check
from ..registry import TheorySpec, non_negative, positive, register_theory

FIELDS = ("none", "electric", "magnetic", "file")

#: library parameter -> TOML key (for ParameterError raised while building)
KEYS = {
    "network": "theory.network",
    "bias": "theory.bias",
    "r": "theory.wilson_r",
    "wilson_r": "theory.wilson_r",
    "m": "theory.mass",
    "direction": "theory.direction",
    "n_flux": "theory.n_flux",
    "q": "theory.charge",
    "E": "theory.electric",
    "lattice": "lattice.shape",
    "dt": "time.dt",
    "links": "theory.file",  # only a links file can disagree with the run (its lattice, its recorded dt, spacing)
}


class GaugedDiracParams(Params):
    """``[theory] name = "gauged-dirac"``: the Dirac network's parameters and the U(1) background."""

    mass: Annotated[Number, check(non_negative)] = Field(1.0, description="mass m (m >= 0)")
    network: Literal["stable", "paper"] = Field(
        "stable", description='"stable" (scheme "alternating") or "paper" (scheme "simultaneous")'
    )
    bias: Literal["forward", "wilson"] = Field("forward", description='"forward" (4.24) or "wilson" (doubler-free)')
    wilson_r: Annotated[Number, check(positive)] = Field(1.0, description="Wilson parameter r")
    field: Literal["none", "electric", "magnetic", "file"] = Field(
        "none", description="background: none, electric, magnetic or file"
    )
    charge: Number = Field(1.0, description="charge q of the field")
    electric: Number = Field(0.0, description="uniform electric field E (field = electric)")
    direction: Annotated[Integer, check(non_negative)] = Field(
        0, description="axis of the electric field (0-based)"
    )
    n_flux: Integer = Field(1, description="flux quanta through the torus (field = magnetic)")
    file: str = Field("", description="links file .npz (field = file)")


def _build(lattice: Any, params: GaugedDiracParams, dt: float, scheme: str) -> Any:
    try:
        return _build_model(lattice, params, dt, scheme)
    except ParameterError as exc:
        raise exc.renamed(KEYS.get(exc.param, f"theory ({exc.param})")) from None


def _build_model(lattice: Any, params: GaugedDiracParams, dt: float, scheme: str) -> Any:
    from .links import U1Links, uniform_electric, uniform_magnetic
    from .model import model

    if lattice.ndim not in (1, 2, 3):
        raise ConfigError(f"lattice.shape: the Dirac theory exists for D = 1, 2, 3; got D = {lattice.ndim}")
    network = params.network
    expected = "alternating" if network == "stable" else "simultaneous"
    if scheme != expected:
        raise ConfigError(
            f'time.scheme: the gauged "{network}" network is defined with scheme "{expected}", got "{scheme}"; '
            f'set scheme = "{expected}"'
        )
    field, q = params.field, params.charge
    if field == "none":
        links = None
    elif field == "electric":
        if not 0 <= params.direction < lattice.ndim:
            raise ConfigError(f"theory.direction: expected 0..{lattice.ndim - 1}, got {params.direction}")
        links = uniform_electric(lattice, dt, params.electric, params.direction, q)
    elif field == "magnetic":
        if lattice.ndim < 2:
            raise ConfigError('theory.field: "magnetic" needs a lattice with at least 2 axes')
        links, _ = uniform_magnetic(lattice, params.n_flux, q)
    else:
        if not params.file:
            raise ConfigError('theory.file: field = "file" needs file = "links.npz" (arrays alpha [, alpha0])')
        try:
            links = U1Links.load(params.file, lattice)
        except InputError as exc:
            raise ConfigError(f"theory.file: {exc}") from None
    return model(lattice, params.mass, dt, links, network=network, bias=params.bias, wilson_r=params.wilson_r)


SPEC = register_theory(
    TheorySpec(
        name="gauged-dirac",
        doc="Dirac network in a U(1) background (Sec. 5): exact link variables in the weights and bias map.",
        params=GaugedDiracParams,
        build=_build,
        initial=DIRAC_SPEC.initial,
        schemes=("alternating", "simultaneous"),
    )
)

__all__ = ["SPEC"]
