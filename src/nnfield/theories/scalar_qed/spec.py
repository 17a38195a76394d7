r"""Registers the runnable theory ``"scalar-qed"``: the Abelian Higgs model from a network with learning links.

``[theory]``: ``charge`` (q), ``lambda``, ``vev`` (v) and ``mass`` (m) of ``V = m^2 |phi|^2 + lambda (|phi|^2 -
v^2)^2`` with ``|phi|^2 = (phi_1^2 + phi_2^2)/2``. ``[time] scheme = "leapfrog"``. Initial conditions (each
satisfies Gauss's law to round-off):

- ``higgs_vacuum`` (``amplitude``: rms of the matter fluctuations; ``photons``: rms of transverse A; ``cutoff``);
- ``charged_packets`` (``center``, ``separation``, ``width``, ``momentum``, ``amplitude``);
- ``vortex`` (2D; ``center``, ``winding``, ``relax_steps``) and ``vortex_pair`` (2D; ``separation``,
  ``relax_steps``); ``random_photons``, ``plane_wave`` (photons about the vacuum, massive in the Higgs phase);
- ``file`` (``path``, ``gauss``): the user's data (arrays ``A`` or ``theta``, ``E``, ``phi``, ``pi``; the matter's
  default is the vacuum), Gauss's law projected or checked (:mod:`nnfield.theories.u1.datafile`).

This is the only module of the package that knows TOML key names.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from ...errors import ConfigError
from ..maxwell.spec import PLANE_KEYS, RANDOM_KEYS, check_wilson_scale, coupling_check, file_initial
from ..params import Number, Params, check
from ..registry import Param, TheorySpec, non_negative, positive, positive_amplitude, register_theory
from ..spec_edge import initial_spec


def _scale(limit: float) -> Any:
    """A range check ``0 <= x <= limit`` (the potential's fourth powers stay finite in float64)."""

    def problem(x: float) -> str | None:
        return None if 0 <= x <= limit else f"a number in [0, {limit:g}]"

    return problem


class ScalarQEDParams(Params):
    """``[theory] name = "scalar-qed"``: coupling and potential ``m^2 |phi|^2 + lambda (|phi|^2 - v^2)^2``."""

    charge: Annotated[Number, check(coupling_check)] = Field(
        1.0, description="charge q of the scalar (links theta = a q A); 1e-8 <= |q| <= 1e8")
    lam: Annotated[Number, check(_scale(1e12))] = Field(0.5, alias="lambda", description="quartic coupling lambda >= 0")
    vev: Annotated[Number, check(_scale(1e6))] = Field(1.0, description="v of the potential (Higgs phase when "
                                                                        "v^2 > m^2 / (2 lambda))")
    mass: Annotated[Number, check(_scale(1e6))] = Field(0.0, description="mass term m^2 |phi|^2 (m >= 0)")


def _build(lattice: Any, params: ScalarQEDParams, dt: float, scheme: str) -> Any:
    from .models import model

    if scheme != "leapfrog":
        raise ConfigError(f'time.scheme: the gauge network is the staggered leapfrog of links and E; expected '
                          f'"leapfrog", got "{scheme}"; set scheme = "leapfrog"')
    check_wilson_scale(lattice, params.charge)
    return model(lattice, dt, charge=params.charge, lam=params.lam, v=params.vev, m=params.mass)


def _theory(model: Any) -> tuple[float, float, float, float]:
    th = model.theory
    return float(th.charge), float(th.lam), float(th.v), float(th.m)


def _vacuum(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from .initial import higgs_vacuum

    return higgs_vacuum(model.lattice, *_theory(model), seed, p["amplitude"], p["photons"], p["cutoff"])


def _packets(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from .initial import charged_packets

    del seed
    return charged_packets(model.lattice, *_theory(model), p["center"], p["separation"], p["width"], p["momentum"],
                           p["amplitude"])


def _vortex(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from .initial import vortex

    del seed
    return vortex(model, p["center"], p["winding"], p["relax_steps"])


def _pair(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    from .initial import vortex_pair

    del seed
    return vortex_pair(model, p["separation"], p["relax_steps"])


def _vacuum_plus(photons: Any) -> Any:
    """Photons (massive in the Higgs phase) on top of the vacuum."""

    def make(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
        mass = model.tree_masses()["photon"]  # (as about_vacuum_split's mass)
        A, E = photons(model, p, seed, mass)
        vac = np.asarray(model.network.pack(model.network.zero_state(np.float64)).phi)[model.lattice.ndim:]
        return np.concatenate([A, vac]), np.concatenate([E, np.zeros_like(vac)])

    return make


def _photons() -> dict[str, Any]:
    from ..maxwell.spec import (
        about_vacuum_split,
        plane_wave_data,
        plane_wave_split,
        random_photons_data,
        random_photons_split,
    )

    def mass(model: Any) -> float:
        return model.tree_masses()["photon"]

    return {
        "random_photons": initial_spec(RANDOM_KEYS, _vacuum_plus(random_photons_data),
                                       "random transverse photons (massive in the Higgs phase) about the vacuum",
                                       split=about_vacuum_split(random_photons_split, mass)),
        "plane_wave": initial_spec(PLANE_KEYS, _vacuum_plus(plane_wave_data),
                                   "one transverse photon about the vacuum",
                                   split=about_vacuum_split(plane_wave_split, mass)),
    }


VACUUM_KEYS = {
    "amplitude": Param("float", 0.01, "rms of the matter fluctuations (phi and pi)", check=positive_amplitude),
    "photons": Param("float", 0.0, "rms of transverse photons (A) on top (D >= 2: none exist in 1D)",
                     check=non_negative),
    "cutoff": Param("float", None, "largest |k| of the fluctuations (default: pi / (2 a))", check=positive),
}
PACKET_KEYS = {
    "center": Param("list[float]", None, "midpoint of the two packets (default: box centre)"),
    "separation": Param("float", None, "distance of the packets along axis 0 (default: L_0 / 2)", check=positive),
    "width": Param("float", None, "Gaussian width (default: 0.1 x shortest side)", check=positive),
    "momentum": Param("list[float]", None, "k0 of the first packet (the second has -k0); default 0"),
    "amplitude": Param("float", 0.1, "peak |phi| of each packet", check=positive_amplitude),
}
VORTEX_KEYS = {
    "center": Param("list[float]", None, "core position (default: the plaquette centre nearest the box centre)"),
    "winding": Param("int", 1, "flux quanta: the vortex carries the flux 2 pi winding / q",
                     check=lambda n: None if 0 < abs(n) <= 10 else "a non-zero winding with |winding| <= 10"),
    "relax_steps": Param("int", 0, "steps of gradient flow on the static energy before the run (0: the ansatz)",
                         check=lambda n: None if 0 <= n <= 1_000_000 else "0 to 1e6 steps"),
}
PAIR_KEYS = {
    "separation": Param("float", None, "distance of vortex and antivortex along axis 0 (default: L_0 / 2)",
                        check=positive),
    "relax_steps": VORTEX_KEYS["relax_steps"],
}

SPEC = register_theory(
    TheorySpec(
        name="scalar-qed",
        doc="Scalar QED / Abelian Higgs: a charged scalar (two neuron types) hopping through links that learn with "
            "momentum.",
        params=ScalarQEDParams,
        build=_build,
        initial={
            "higgs_vacuum": initial_spec(VACUUM_KEYS, _vacuum, "the Higgs vacuum with small neutral fluctuations"),
            "charged_packets": initial_spec(PACKET_KEYS, _packets, "two Gaussian packets of opposite charge"),
            "vortex": initial_spec(VORTEX_KEYS, _vortex, "a Nielsen-Olesen vortex (2D), unitary gauge"),
            "vortex_pair": initial_spec(PAIR_KEYS, _pair, "a vortex and an antivortex (2D)"),
            **_photons(),
            "file": file_initial(),
        },
        schemes=("leapfrog",),
    )
)

__all__ = ["SPEC"]
