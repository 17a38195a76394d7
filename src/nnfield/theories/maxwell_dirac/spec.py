r"""Registers the runnable theory ``"maxwell-dirac"``: the stable Dirac network whose links learn with momentum.

``[theory]``: ``charge`` (q; links ``theta = a q A``), ``mass`` (m), ``bias`` (``"forward"`` (4.24) or
``"wilson"``, doubler-free) and ``wilson_r``. ``[time] scheme = "leapfrog"`` (the staggered tick of
:mod:`.network`; stable for ``dt sigma_max(B) < 2 cos(m dt / 2)`` and ``dt < a / sqrt(D)``). Initial conditions
(each satisfies the network's Gauss law to round-off, :mod:`.initial`):

- ``charged_packets`` (``count`` 1 or 2, ``center``, ``separation``, ``width``, ``momentum``, ``norm``,
  ``field``, ``direction``): Gaussian positive-energy spinor packets, optionally in an applied uniform field;
- ``random_photons``, ``plane_wave`` (D >= 2): transverse photons about the empty vacuum;
- ``file`` (``path``, ``gauss``): the user's data (arrays ``A`` or ``theta``, ``E``, and the spinor ``Q``, ``P``
  with ``psi = (Q + i P)/sqrt(2)``, default zero), Gauss's law projected (iterated with the time-centred charge)
  or checked (:mod:`nnfield.theories.u1.datafile`).

This is the only module of the package that knows TOML key names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ...errors import ConfigError
from ..maxwell.spec import (
    PLANE_KEYS,
    RANDOM_KEYS,
    about_vacuum_split,
    check_wilson_scale,
    coupling_check,
    file_initial,
    plane_wave_split,
    random_photons_split,
)
from ..params import Number, Params, check
from ..registry import Param, TheorySpec, non_negative, positive, positive_amplitude, register_theory
from ..spec_edge import initial_spec, mass_check


class MaxwellDiracParams(Params):
    """``[theory] name = "maxwell-dirac"``: coupling, mass and the bias map."""

    charge: Annotated[Number, check(coupling_check)] = Field(
        1.0, description="charge q of the Dirac field (links theta = a q A); 1e-8 <= |q| <= 1e8")
    mass: Annotated[Number, check(mass_check)] = Field(1.0, description="Dirac mass m (m >= 0)")
    bias: Literal["forward", "wilson"] = Field("forward", description='"forward" (4.24) or "wilson" (doubler-free)')
    wilson_r: Annotated[Number, check(positive)] = Field(1.0, description="Wilson parameter r (bias = wilson)")


def _build(lattice: Any, params: MaxwellDiracParams, dt: float, scheme: str) -> Any:
    from .models import model

    if lattice.ndim not in (1, 2, 3):
        raise ConfigError(f"lattice.shape: the Dirac network exists for D = 1, 2, 3; got D = {lattice.ndim}")
    if scheme != "leapfrog":
        raise ConfigError(f'time.scheme: the Maxwell-Dirac network is the staggered leapfrog of links, E, phi and '
                          f'pi; expected "leapfrog", got "{scheme}"; set scheme = "leapfrog"')
    check_wilson_scale(lattice, params.charge)
    return model(lattice, dt, charge=params.charge, m=params.mass, bias=params.bias, wilson_r=params.wilson_r)


def _packets(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from .initial import charged_packets

    del seed
    return charged_packets(model, p["count"], p["center"], p["separation"], p["width"], p["momentum"], p["norm"],
                           p["field"], p["direction"])


def _photons(make: Any) -> Any:
    def build(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
        from .initial import vacuum_photons

        A, E = make(model, p, seed)
        return vacuum_photons(model, A, E)

    return build


def _random(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, ...]:
    from ..maxwell.spec import random_photons_data

    return random_photons_data(model, p, seed)


def _plane(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, ...]:
    from ..maxwell.spec import plane_wave_data

    return plane_wave_data(model, p, seed)


def _count(n: int) -> str | None:
    return None if n in (1, 2) else "1 or 2"


PACKET_KEYS = {
    "count": Param("int", 1, "number of packets: 1, or 2 moving towards each other (momenta +-k0)", check=_count),
    "center": Param("list[float]", None, "centre of the packet (of the pair's midpoint); default: box centre"),
    "separation": Param("float", None, "distance of two packets along axis 0 (default: L_0 / 2)", check=positive),
    "width": Param("float", None, "Gaussian width w >= a (default: 0.1 x shortest side, at least a)", check=positive),
    "momentum": Param("list[float]", None, "carrier momentum k0 of the (first) packet per axis; default 0"),
    "norm": Param("float", 1.0, "a^D sum |psi|^2 of each packet (its charge is q norm)", check=positive_amplitude),
    "field": Param("float", 0.0, "applied uniform electric field E_0 (E = dA/dt; the force on a packet is q E_0)"),
    "direction": Param("int", 0, "axis of the applied field (0-based)", check=non_negative),
}

SPEC = register_theory(
    TheorySpec(
        name="maxwell-dirac",
        doc="Maxwell-Dirac: the stable Dirac network (Sec. 4/5) whose links learn by momentum gradient descent.",
        params=MaxwellDiracParams,
        build=_build,
        initial={
            "charged_packets": initial_spec(PACKET_KEYS, _packets, "Gaussian Dirac packets (1 or 2), optionally in "
                                                                   "an applied uniform electric field"),
            "random_photons": initial_spec(RANDOM_KEYS, _photons(_random), "random transverse photons about the "
                                                                           "empty vacuum (D >= 2)",
                                           split=about_vacuum_split(random_photons_split)),
            "plane_wave": initial_spec(PLANE_KEYS, _photons(_plane), "one transverse photon about the empty vacuum",
                                       split=about_vacuum_split(plane_wave_split)),
            "file": file_initial(),
        },
        schemes=("leapfrog",),
    )
)

__all__ = ["SPEC"]
