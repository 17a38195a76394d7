"""Registration of the nonlinear fields ``phi4`` and ``sine-gordon`` for TOML configs and the command line.

``[theory] name = "phi4"``: ``V = m^2 phi^2/2 + lam phi^4/4`` (``mass``, ``lambda``); with ``phase = "broken"`` the
double well ``V = -m^2 phi^2/2 + lam phi^4/4 + m^4/(4 lam) = lam/4 (phi^2 - v^2)^2`` (vacua ``+-v``, ``v = m /
sqrt(lam)``, meson mass ``sqrt(2) m``); or any ``potential`` expression in ``phi`` using the parameters ``m`` and
``lam`` (read by the safe parser, e.g. ``potential = "lam/4*(phi**2 - 1)**2"``). Small waves, the stability gate
and the initial data are taken about the potential's ground state (:func:`.potentials.vacuum`: ``+v`` for a double
well, ``0`` otherwise).

``[theory] name = "sine-gordon"``: ``V = (m^2/b^2)(1 - cos(b phi))`` (``mass``, ``b``, or a ``potential`` in
``phi`` with parameters ``m`` and ``b``) and the boundary ``winding``: the field jumps by ``winding 2 pi / b``
across the box along axis 0 (twisted boundary; ``0`` = periodic; with a custom ``potential`` and ``winding != 0``
``V(phi + winding 2 pi / b) = V(phi)`` is required, a :class:`~nnfield.errors.ConfigError` otherwise). The
``kink`` initial condition is one kink for ``winding = +-1`` and a kink-antikink pair half a box apart for
``winding = 0``.

Initial conditions (:mod:`nnfield.initial`, the keys every theory shares): ``kink`` (sine-Gordon; for ``phi4``
in the broken phase a kink and an antikink approaching each other, :func:`nnfield.initial.phi4_kink_pair`),
``gaussian`` (both theories: a Gaussian random field with a given spectrum, ``docs/spectra.md``; ``omega_k``
of small waves about ``phi = 0``), ``gaussian_packet`` and ``random_spectrum`` (both theories; the data of
fields without a dispersion,
:class:`~nnfield.initial.NoDispersion`, added to the ground state: the packet is
``phi_0 + A exp(-r^2/(2 w^2)) cos(k0.(x - c))`` translating
rigidly with the extra key ``velocity``, the random field draws ``pi`` independently; with a twisted
boundary both are added to the linear ramp ``winding (2 pi / b) x / L`` so the field is smooth). The first
release's keys ``wavevector`` (now ``momentum``) and ``kmax`` (now ``cutoff``) are refused with the new name.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ... import initial
from ...duality.parse import ExpressionError, ExprFunction
from ...errors import ConfigError, ParameterError
from ..params import Integer, Number, Params, check
from ..registry import Param, TheorySpec, non_negative, positive, register_theory
from ..spec_edge import (
    GAUSSIAN_DOC,
    GAUSSIAN_KEYS,
    KINK_KEYS,
    PACKET_KEYS,
    box_fraction,
    gaussian_data,
    gaussian_data_split,
    initial_spec,
    mass_check,
    random_keys,
    subluminal,
)
from . import models as nl
from .potentials import DoubleWellPotential, SineGordonPotential


def _expression_check(params: tuple[str, ...]) -> Any:
    def check(text: str) -> str | None:
        if not text:
            return None
        try:
            ExprFunction.from_string(text, ("phi",), {p: 1.0 for p in params})
        except ExpressionError as exc:
            return f"an expression in phi with parameters {', '.join(params)} ({exc})"
        return None

    return check


def _positive_mass(m: float) -> str | None:
    return mass_check(m) or (None if m > 0 else "a positive mass")


# ----------------------------------------------------------------------------------------------------------
# builders
# ----------------------------------------------------------------------------------------------------------
class Phi4Params(Params):
    """``[theory] name = "phi4"``: ``V = m^2 phi^2/2 + lam phi^4/4``, the double well
    ``lam/4 (phi^2 - m^2/lam)^2`` (``phase = "broken"``), or any ``potential`` expression."""

    mass: Annotated[Number, check(mass_check)] = Field(1.0, description="mass m")
    lam: Annotated[Number, check(non_negative)] = Field(1.0, alias="lambda", description="quartic coupling lam")
    phase: Literal["symmetric", "broken"] = Field(
        "symmetric", description='"symmetric": V = m^2 phi^2/2 + lam phi^4/4; "broken": the double well '
        "lam/4 (phi^2 - v^2)^2, v = m/sqrt(lam) (vacua +-v, meson mass sqrt(2) m)"
    )
    potential: Annotated[str, check(_expression_check(("m", "lam")))] = Field(
        "", description="optional V(phi) expression with parameters m, lam (overrides)"
    )


class SineGordonParams(Params):
    """``[theory] name = "sine-gordon"``: ``V = (m/b)^2 (1 - cos(b phi))``, a twist of ``winding`` kinks."""

    mass: Annotated[Number, check(_positive_mass)] = Field(1.0, description="mass m (m > 0)")
    b: Annotated[Number, check(positive)] = Field(1.0, description="coupling b (period 2 pi / b)")
    winding: Integer = Field(0, description="field jump across the box along axis 0, in units of 2 pi / b (twist)")
    potential: Annotated[str, check(_expression_check(("m", "b")))] = Field(
        "", description="optional V(phi) expression with parameters m, b (overrides)"
    )


def _build_phi4(lattice: Any, params: Phi4Params, dt: float, scheme: str) -> nl.NonlinearModel:
    if params.potential:
        if params.phase == "broken":
            raise ConfigError('theory.phase: "broken" chooses the built-in double well; a theory.potential replaces '
                              'it (write the well you want there and leave phase out)')
        V = ExprFunction.from_string(params.potential, ("phi",), {"m": params.mass, "lam": params.lam})
        return nl.model(lattice, V, dt, scheme=scheme, name=f"phi^4 field, V = {V}")
    if params.phase == "broken":
        for key, value in (("mass", params.mass), ("lambda", params.lam)):
            if not value > 0:
                raise ConfigError(f'theory.{key}: phase = "broken" (the double well lam/4 (phi^2 - m^2/lam)^2) needs '
                                  f"mass > 0 and lambda > 0; got {key} = {value:g}")
        v = params.mass / math.sqrt(params.lam)
        v4 = (v * v) * (v * v)  # V(0) = lam/4 (v^2)^2 is computed so (a float ** raises OverflowError)
        if not (math.isfinite(v4) and math.isfinite(params.lam * v4)):
            raise ConfigError(f"theory.lambda: the double well's v^4 = (m^2/lam)^2 and depth m^4/(4 lam) must be "
                              f"finite numbers, got m = {params.mass:g}, lambda = {params.lam:g}")
        return nl.double_well_model(lattice, params.lam, v, dt, scheme=scheme)
    return nl.phi4_model(lattice, params.mass, params.lam, dt, scheme=scheme)


def _twist(params: SineGordonParams) -> float:
    return params.winding * 2 * math.pi / params.b


def _check_twist_period(V: Any, params: SineGordonParams) -> None:
    """A twisted boundary ``phi(x + L_0) = phi(x) + twist`` is a boundary condition of the lifted field only if
    ``V(phi + twist) = V(phi)``: the equation of motion at the copy ``phi + twist`` of a site must be that of the
    site. A custom ``potential`` with ``winding != 0`` is sampled on one period (relative tolerance 1e-4)."""
    twist = _twist(params)
    phi = np.linspace(0.0, abs(twist), 29, endpoint=False) + 0.0123 * abs(twist)
    v0 = np.asarray(V(phi), dtype=float)
    v1 = np.asarray(V(phi + twist), dtype=float)
    scale = max(float(np.max(np.abs(v0))), float(np.max(np.abs(v1))), np.finfo(float).tiny)
    dv = np.abs(v1 - v0)
    if not np.all(dv <= 1e-4 * scale):  # nan included
        i = int(np.argmax(np.where(np.isfinite(dv), dv, np.inf)))
        raise ConfigError(
            f"theory.potential: winding = {params.winding} makes the field jump by {twist:g} across the box, so V "
            f"must be periodic with period {abs(twist):g}; got V(phi + {twist:g}) - V(phi) = {v1[i] - v0[i]:.3g} at "
            f"phi = {phi[i]:.3g}; use a periodic V such as \"(m/b)**2*(1 - cos(b*phi))\", or winding = 0"
        )


def _build_sine_gordon(lattice: Any, params: SineGordonParams, dt: float, scheme: str) -> nl.NonlinearModel:
    m, b = params.mass, params.b
    if not math.isfinite((m / b) * (m / b)):
        raise ConfigError(
            f"theory.b: the potential's scale (m/b)^2 must be a finite number, got m = {m:g}, b = {b:g}; "
            f"use a larger b, e.g. b = 1.0"
        )
    twist = _twist(params)
    if params.potential:
        V = ExprFunction.from_string(params.potential, ("phi",), {"m": params.mass, "b": params.b})
        if twist:
            _check_twist_period(V, params)
        return nl.model(lattice, V, dt, scheme=scheme, twist=twist, name=f"sine-Gordon field, V = {V}")
    return nl.sine_gordon_model(lattice, params.mass, params.b, dt, scheme=scheme, twist=twist)


# ----------------------------------------------------------------------------------------------------------
# initial conditions
# ----------------------------------------------------------------------------------------------------------
def _ramp(model: Any) -> np.ndarray:
    """``twist x / L`` along axis 0 (zero for periodic fields), shape ``(1, *shape)``."""
    th = model.theory
    lat = th.lattice
    if not th.twist:
        return np.zeros((1, *lat.shape))
    x = lat.coordinates()[0]
    return (th.twist * x / lat.lengths[0])[None]


def _sine_gordon_constants(potential: Any, kind: str = "kink") -> tuple[float, float]:
    """``(m, b)`` of the model's potential (the built-in one, or an expression's parameters)."""
    if isinstance(potential, SineGordonPotential):
        return float(potential.m), float(potential.b)
    if isinstance(potential, ExprFunction) and {"m", "b"} <= set(dict(potential.params)):
        values = dict(potential.params)
        return values["m"], values["b"]
    raise ConfigError(f'initial.kind: "{kind}" needs a sine-Gordon model (theory.name = "sine-gordon")')


def _make_kink(model: Any, p: dict[str, Any], seed: int, lattice: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The exact sine-Gordon kink of (m, b) (for a custom ``potential`` the profile of the built-in V), on the
    model's lattice or ``lattice`` (its first axis alone: :func:`_planar_split`)."""
    th = model.theory
    mass, b = _sine_gordon_constants(th.potential)
    twist = th.twist
    if twist == 0:
        charge = 1
    else:
        winding = twist * b / (2 * math.pi)
        charge = int(round(winding))
        if charge not in (1, -1):
            raise ConfigError(
                f'theory.winding: initial.kind = "kink" needs winding 0 (a kink-antikink pair) or +-1 (one kink), '
                f"got {winding:g}; set winding = 1, or use initial.kind = \"gaussian_packet\" for other windings"
            )
    try:
        lattice = th.lattice if lattice is None else lattice
        return initial.kink(lattice, 0.0, mass, b, p["velocity"], p["center"], twist, charge)
    except ParameterError as exc:  # the library's name of the speed -> the config's key
        raise ParameterError("velocity", exc.problem) if exc.param == "v" else exc from None


def _make_collision(model: Any, p: dict[str, Any], seed: int, lattice: Any = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The exact sine-Gordon kink-antikink scattering solution, ``meet`` before they meet (on the model's lattice
    or ``lattice``, its first axis alone)."""
    th = model.theory
    if th.twist:
        raise ConfigError('theory.winding: initial.kind = "collision" is a kink and an antikink on a periodic box; '
                          "set winding = 0")
    mass, b = _sine_gordon_constants(th.potential, "collision")
    v = p["velocity"]
    if v == 0:
        raise ConfigError("initial.velocity: expected a speed 0 < |velocity| < 1 (the walls approach at it); e.g. 0.5")
    length = float(th.lattice.lengths[0])
    meet = p["meet"] if p["meet"] is not None else length / (4 * abs(v))
    if not math.isfinite(meet):
        raise ConfigError(f"initial.velocity: {v:g} is too slow for the default meet = L / (4 |velocity|) (not a "
                          "finite number); use a larger velocity, e.g. 0.5, or set initial.meet")
    if not 2 * abs(v) * meet < length:  # beyond, the closed form on the box is a uniform vacuum: no walls at all
        raise ConfigError(f"initial.meet: the walls start 2 |velocity| meet apart, which must be less than the box "
                          f"length {length:g}, so meet < {length / (2 * abs(v)):g}; got {meet:g} (velocity = {v:g})")
    try:
        lattice = th.lattice if lattice is None else lattice
        return initial.kink_antikink(lattice, -meet, mass, b, abs(v), p["center"])
    except ParameterError as exc:
        raise ParameterError("velocity", exc.problem) if exc.param == "v" else exc from None


def _about_ground(model: Any, phi: np.ndarray, offset: float | None = None) -> np.ndarray:
    """``phi`` shifted to ``offset``, by default the model's ground state (``+v`` of a double well); nothing is
    added where that is 0."""
    g = float(model.theory.ground) if offset is None else float(offset)
    return phi + g if g else phi


def _make_packet(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    phi, pi = initial.gaussian_packet(model.theory.lattice, initial.NoDispersion(p["velocity"]), p["center"],
                                      p["width"], p["momentum"], p["amplitude"])
    return _about_ground(model, phi + _ramp(model), p["offset"]), pi


def _make_random(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    phi, pi = initial.random_spectrum(model.theory.lattice, initial.NoDispersion(), seed, p["amplitude"],
                                      p["cutoff"], p["slope"])
    return _about_ground(model, phi + _ramp(model), p["offset"]), pi


def _about_ground_split(model: Any, phi: Any, offset: float | None) -> Any:
    """``_about_ground(model, phi + _ramp(model), offset)`` of a field split over devices: the twist's ramp and the
    ground state added in one program, the same operations in the same order (the ramp built from the first axis's
    coordinates, never on the whole lattice)."""
    import jax

    th = model.theory
    lat = th.lattice
    g = float(th.ground) if offset is None else float(offset)
    x = lat.spacing * np.arange(lat.shape[0], dtype=np.float64)
    ramp = (th.twist * x / lat.lengths[0]) if th.twist else np.zeros_like(x)
    row = (1, lat.shape[0]) + (1,) * (lat.ndim - 1)

    @jax.jit
    def shifted(f: Any, r: Any) -> Any:
        f = f + r.reshape(row)
        return f + g if g else f

    return shifted(phi, ramp)


def _make_packet_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    """:func:`_make_packet` split over ``mesh`` (:func:`nnfield.initial.gaussian_packet_split`: bit for bit)."""
    phi, pi = initial.gaussian_packet_split(model.theory.lattice, mesh, initial.NoDispersion(p["velocity"]),
                                            p["center"], p["width"], p["momentum"], p["amplitude"])
    return _about_ground_split(model, phi, p["offset"]), pi


def _make_random_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    """:func:`_make_random` split over ``mesh`` (:func:`nnfield.initial.random_spectrum_split`)."""
    phi, pi = initial.random_spectrum_split(model.theory.lattice, mesh, initial.NoDispersion(), seed,
                                            p["amplitude"], p["cutoff"], p["slope"])
    return _about_ground_split(model, phi, p["offset"]), pi


def _make_gaussian_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    """:func:`_make_gaussian` split over ``mesh`` (:func:`nnfield.initial.gaussian_field_split`)."""
    phi, pi = gaussian_data_split(model, p, seed, mesh)
    return _about_ground_split(model, phi, p["offset"]), pi


def _double_well_constants(potential: Any) -> tuple[float, float]:
    """``(m, v)`` (meson mass, vacuum) of the model's double well: the built-in one (``theory.phase = "broken"``)."""
    if isinstance(potential, DoubleWellPotential):
        lam, v = float(potential.lam), float(potential.v)
        return math.sqrt(2 * lam) * v, v
    raise ConfigError('initial.kind: "kink" of phi4 needs the built-in double well (theory.phase = "broken", no '
                      "theory.potential): its kink v tanh(m x / sqrt 2) is exact for V = lam/4 (phi^2 - v^2)^2 only")


def _make_phi4_kink(model: Any, p: dict[str, Any], seed: int, lattice: Any = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The phi^4 kink-antikink pair on the model's lattice or ``lattice`` (its first axis alone)."""
    mass, v = _double_well_constants(model.theory.potential)
    lattice = model.theory.lattice if lattice is None else lattice
    return initial.phi4_kink_pair(lattice, mass, v, p["velocity"], p["center"], p["separation"])


def _planar_split(make: Any) -> Any:
    """``make`` (a planar wall: data that vary along the first axis only) built split over devices
    (:func:`nnfield.initial.planar_split`: built on that axis alone, each slab broadcast; bit for bit)."""

    def split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
        return initial.planar_split(model.theory.lattice, mesh, lambda line: make(model, p, seed, line))

    split.__doc__ = f"{make.__name__} split over devices (:func:`nnfield.initial.planar_split`)."
    return split


#: the uniform value the packet and random data are added to: the ground state by default; 0 in a double well is
#: the top of the hill (a quench: the field rolls down into domains of +v and -v)
OFFSET = {"offset": Param("float", None, "uniform value the data are added to (default: the ground state phi_0, "
                                         "+v of a double well; 0 there is a quench)")}

_PACKET = initial_spec(
    PACKET_KEYS | OFFSET | {
        "velocity": Param("float", 0.0, "pi = -velocity d phi/d x_0 (rigid translation along axis 0)",
                          check=subluminal),
    },
    _make_packet,
    "phi = A exp(-|x - c|^2/(2 w^2)) cos(k0.(x - c)), pi = -v d phi/d x_0",
    split=_make_packet_split,
    renamed={"wavevector": "momentum"},
)
_RANDOM = initial_spec(
    random_keys(0.1, "pi / (4 a)") | OFFSET,
    _make_random,
    "band-limited Gaussian random phi and, independently, pi (seeded)",
    renamed={"kmax": "cutoff"},
    split=_make_random_split,
)
def _make_gaussian(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    phi, pi = gaussian_data(model, p, seed)
    return _about_ground(model, phi + _ramp(model), p["offset"]), pi


_GAUSSIAN = initial_spec(GAUSSIAN_KEYS | OFFSET, _make_gaussian,
                         GAUSSIAN_DOC + "; omega_k of small waves about the ground state (0, or +v of a double well)",
                         split=_make_gaussian_split)
_KINK = initial_spec(
    KINK_KEYS,
    _make_kink,
    "phi = (4/b) arctan(exp(m gamma (x - x0 - v t))); one kink (winding +-1) or a kink-antikink pair (0)",
    split=_planar_split(_make_kink),
)

_COLLISION = initial_spec(
    {
        "velocity": Param("float", 0.5, "speed 0 < |v| < 1 of each wall toward the other", check=subluminal),
        "center": Param("float", 0.5, "where they meet, as a fraction of the box length along axis 0",
                        check=box_fraction),
        "meet": Param("float", None, "time until they meet, below L / (2 |v|) (default L / (4 |v|): the walls half the "
                      "box apart)",
                      check=positive),
    },
    _make_collision,
    "the exact kink-antikink scattering phi = (4/b) arctan(sinh(gamma v m t) / (v cosh(gamma m (x - x0)))) at "
    "t = -meet: they pass through each other (integrable)",
    split=_planar_split(_make_collision),
)

_PHI4_KINK = initial_spec(
    {
        "velocity": Param("float", 0.0, "speed |v| < 1 of each wall toward the other (the collision speed)",
                          check=subluminal),
        "center": Param("float", 0.5, "where they meet, as a fraction of the box length along axis 0",
                        check=box_fraction),
        "separation": Param("float", None, "distance between the kink and the antikink at t = 0 (default: half "
                            "the box)", check=positive),
    },
    _make_phi4_kink,
    "phi = v (tanh(m gamma (x - x1)/2) - tanh(m gamma (x - x2)/2) - 1): a kink and an antikink approaching each "
    "other (the double well, theory.phase = \"broken\")",
    split=_planar_split(_make_phi4_kink),
)

PHI4 = register_theory(
    TheorySpec(
        name="phi4",
        doc="phi^4 field: W = I, B = I, loss = gradient energy + sum V(phi), V = m^2 phi^2/2 + lam phi^4/4 or "
            "(phase = \"broken\") lam/4 (phi^2 - m^2/lam)^2",
        params=Phi4Params,
        build=_build_phi4,
        initial={"kink": _PHI4_KINK, "gaussian_packet": _PACKET, "random_spectrum": _RANDOM, "gaussian": _GAUSSIAN},
    )
)

SINE_GORDON = register_theory(
    TheorySpec(
        name="sine-gordon",
        doc="sine-Gordon field: W = I, B = I, loss = gradient energy + sum V(phi), V = (m/b)^2 (1 - cos(b phi))",
        params=SineGordonParams,
        build=_build_sine_gordon,
        initial={"kink": _KINK, "collision": _COLLISION, "gaussian_packet": _PACKET, "random_spectrum": _RANDOM,
                 "gaussian": _GAUSSIAN},
    )
)
