r"""Registers the runnable theory ``"maxwell"``: compact lattice U(1) whose links learn with momentum.

``[theory]``: ``charge`` (q, the coupling in ``theta = a q A``; default 1). ``[time] scheme = "leapfrog"`` (the
staggered leapfrog of links and ``E``). Initial conditions (every one satisfies Gauss's law ``div E = 0``):

- ``random_photons`` (``amplitude`` = rms of A, ``cutoff``, ``slope``, as ``random_spectrum``): transverse
  positive-frequency photons;
- ``plane_wave`` (``n``, ``polarization``, ``amplitude``, ``travelling``): one transverse photon;
- ``file`` (``path``, ``gauss``): the user's data from a ``.npz`` (arrays ``A`` or ``theta``, ``E``, and the
  matter's for ``scalar-qed`` and ``maxwell-dirac``; :mod:`nnfield.theories.u1.datafile`), with Gauss's law
  projected (``gauss = "project"``) or checked (``"check"``). Shared by the three dynamical U(1) theories.

This is the only module of the package that knows TOML key names.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from ...errors import ConfigError, InputError
from ..params import Number, Params, check
from ..registry import REQUIRED, Param, TheorySpec, positive, positive_amplitude, register_theory
from ..spec_edge import initial_spec
from ..u1.network import CHARGE_RANGE, MAX_CHARGE, MIN_CHARGE


def coupling_check(q: float) -> str | None:
    """``1e-8 <= |q| <= 1e8`` (the magnetic term ``1/(q^2 a^4)`` and the links ``a q A`` stay finite; the bounds
    :data:`~nnfield.theories.u1.network.MIN_CHARGE`, :data:`~nnfield.theories.u1.network.MAX_CHARGE`, which the
    Python builders check too)."""
    return None if MIN_CHARGE <= abs(q) <= MAX_CHARGE else f"a coupling with {CHARGE_RANGE}"


class MaxwellParams(Params):
    """``[theory] name = "maxwell"``: the coupling."""

    charge: Annotated[Number, check(coupling_check)] = Field(
        1.0, description="coupling q (links theta = a q A; the magnetic term is 1/(q^2 a^4) (1 - cos P)); "
                         "1e-8 <= |q| <= 1e8")


def check_wilson_scale(lattice: Any, charge: float) -> None:
    """Refuse a lattice spacing whose Wilson term ``1/(q^2 a^4)`` (or its inverse) overflows float64: the number
    bounds of the config (1e100) allow ``a = 1e100``, whose ``a^4`` is beyond any float (found by the fuzz)."""
    a, q = float(lattice.spacing), float(charge)
    exponent = 2 * math.log10(abs(q)) + 4 * math.log10(a)
    if not -300 <= exponent <= 300:
        raise ConfigError(f"lattice.spacing: {a:g} with charge q = {q:g} makes the Wilson term 1/(q^2 a^4) "
                          f"overflow (q^2 a^4 = 1e{exponent:.0f}); expected 1e-300 <= q^2 a^4 <= 1e300, so for "
                          f"q = {q:g} a spacing between {10 ** ((-300 - 2 * math.log10(abs(q))) / 4):.3g} and "
                          f"{10 ** ((300 - 2 * math.log10(abs(q))) / 4):.3g}")


def _build(lattice: Any, params: MaxwellParams, dt: float, scheme: str) -> Any:
    from .models import model

    check_wilson_scale(lattice, params.charge)

    if scheme != "leapfrog":
        raise ConfigError(f'time.scheme: the gauge network is the staggered leapfrog of links and E; expected '
                          f'"leapfrog", got "{scheme}"; set scheme = "leapfrog"')
    return model(lattice, dt, charge=params.charge)


RANDOM_KEYS = {
    "amplitude": Param("float", 0.1, "rms of each component of A", check=positive_amplitude),
    "cutoff": Param("float", None, "largest |k| kept (default: pi / (2 a))", check=positive),
    "slope": Param("float", 0.0, "spectral slope: |A_k| ~ |k|^(slope/2)"),
}
PLANE_KEYS = {
    "n": Param("list[int]", None, "wave numbers per axis, k = 2 pi n / (N a); default [1, 0, ..]; not all zero "
                                   "for a massless photon (k = 0 has no field strength)"),
    "polarization": Param("list[float]", None, "polarization vector (its transverse part is used); default e_2"),
    "amplitude": Param("float", 0.1, "amplitude of A", check=positive_amplitude),
    "travelling": Param("bool", True, "true: a wave moving along +k; false: a standing wave (E = 0 at t = 0)"),
}


def random_photons_data(model: Any, p: dict[str, Any], seed: int, mass: float = 0.0) -> tuple[np.ndarray, ...]:
    """``(A, E)`` of ``kind = "random_photons"`` (:func:`nnfield.theories.u1.random_photons`; photon mass ``mass``)."""
    from ..u1 import random_photons

    return random_photons(model.lattice, seed, p["amplitude"], p["cutoff"], p["slope"], mass)


def plane_wave_data(model: Any, p: dict[str, Any], seed: int, mass: float = 0.0) -> tuple[np.ndarray, ...]:
    """``(A, E)`` of ``kind = "plane_wave"`` (:func:`nnfield.theories.u1.plane_wave`; photon mass ``mass``)."""
    from ..u1 import plane_wave

    del seed
    return plane_wave(model.lattice, p["n"], p["polarization"], p["amplitude"], mass, p["travelling"])


def random_photons_split(model: Any, p: dict[str, Any], seed: int, mesh: Any, mass: float = 0.0
                         ) -> tuple[Any, Any]:
    """:func:`random_photons_data` built split over ``mesh`` (:func:`nnfield.theories.u1.random_photons_split`)."""
    from ..u1 import random_photons_split

    return random_photons_split(model.lattice, mesh, seed, p["amplitude"], p["cutoff"], p["slope"], mass)


def plane_wave_split(model: Any, p: dict[str, Any], seed: int, mesh: Any, mass: float = 0.0) -> tuple[Any, Any]:
    """:func:`plane_wave_data` built split over ``mesh`` (:func:`nnfield.theories.u1.plane_wave_split`)."""
    from ..u1 import plane_wave_split

    del seed
    return plane_wave_split(model.lattice, mesh, p["n"], p["polarization"], p["amplitude"], mass, p["travelling"])


def about_vacuum_split(photons: Any, mass_of: Any = None) -> Any:
    """The split builder of photons about the matter's vacuum (Maxwell-Dirac: no matter, scalar QED: the Higgs
    vacuum): ``photons(model, p, seed, mesh, mass)`` (``mass = mass_of(model)``, default 0) and, below them, the
    matter's uniform vacuum (``network.zero_state`` on one site, broadcast on each slab; ``pi = 0``), as the whole
    builds concatenate them. Bit for bit the whole build's matter rows."""

    def split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
        import jax

        from ...initial._split import _rows_of
        from ...sharding import state_sharding

        lat = model.lattice
        D = lat.ndim
        A, E = photons(model, p, seed, mesh, 0.0 if mass_of is None else mass_of(model))
        one = np.asarray(model.network.pack(model.network.zero_state(np.float64, (1,) * D)).phi)[D:]
        shape = (one.shape[0], *lat.shape)
        sharding = state_sharding(mesh, D)

        def rows(values: np.ndarray) -> Any:  # the uniform vacuum on each device's slab
            def block(index: tuple[slice, ...]) -> np.ndarray:
                rows = _rows_of(index[1:], shape[1])
                return np.broadcast_to(values, (shape[0], rows.stop - rows.start, *shape[2:]))

            return jax.make_array_from_callback(shape, sharding, block)

        @jax.jit
        def stacked(A: Any, E: Any, vac: Any, zero: Any) -> tuple[Any, Any]:
            phi, pi = jax.numpy.concatenate([A, vac]), jax.numpy.concatenate([E, zero])
            return jax.lax.with_sharding_constraint(phi, sharding), jax.lax.with_sharding_constraint(pi, sharding)

        return stacked(A, E, rows(one), rows(np.zeros_like(one)))

    return split


FILE_KEYS = {
    "path": Param("str", REQUIRED, "the .npz of initial data: A (or theta = a q A), E [, the matter's arrays]; a "
                                   "relative path is taken from the working directory, as theory.file"),
    "gauss": Param("str", "project", '"project": replace the longitudinal part of E so that div E = rho (the '
                                     'transverse part kept); "check": use the data as given, refused when the '
                                     "relative Gauss residual exceeds 1e-10", choices=("project", "check")),
}


def file_data(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``kind = "file"`` of the dynamical U(1) theories (:func:`nnfield.theories.u1.load_initial`); a problem of
    the file is reported naming ``initial.path``, a Gauss-law refusal naming ``initial.gauss``."""
    from ..u1 import load_initial

    del seed
    try:
        return load_initial(p["path"], model, p["gauss"])
    except InputError as exc:
        raise ConfigError(f"initial.path: {exc}") from None


FILE_DOC = "the user's data from a .npz file (A or theta, E, matter), Gauss's law projected or checked"


def file_initial() -> Any:
    """The ``file`` initial condition (its keys and errors), as every dynamical U(1) theory registers it."""
    return initial_spec(FILE_KEYS, file_data, FILE_DOC)


SPEC = register_theory(
    TheorySpec(
        name="maxwell",
        doc="Lattice Maxwell (compact U(1), temporal gauge): links learn by momentum gradient descent, E = momentum.",
        params=MaxwellParams,
        build=_build,
        initial={
            "random_photons": initial_spec(RANDOM_KEYS, random_photons_data,
                                           "random transverse photons with a band-limited power-law spectrum",
                                           split=random_photons_split),
            "plane_wave": initial_spec(PLANE_KEYS, plane_wave_data, "one transverse photon (travelling or standing)",
                                       split=plane_wave_split),
            "file": file_initial(),
        },
        schemes=("leapfrog",),
    )
)

__all__ = ["SPEC"]
