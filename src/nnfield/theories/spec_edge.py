"""The config edge of the initial-condition library: its keys declared once, its errors renamed to TOML keys.

Every theory's ``spec`` module registers the library's kinds with the same keys (:data:`PLANE_WAVE_KEYS`,
:data:`PACKET_KEYS`, :func:`random_keys`, :data:`KINK_KEYS`, :data:`GAUSSIAN_KEYS`; ``docs/config.md``) and
wraps its ``make`` with :func:`initial_spec`, which turns a library :class:`~nnfield.errors.ParameterError`
(``center: expected 2 values ...``) into a :class:`~nnfield.errors.ConfigError` naming the key
(``initial.center: expected 2 values ...``). Nothing else imports TOML words: the library speaks plain parameter names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import ParameterError
from .registry import InitialSpec, Param, positive, positive_amplitude

Make = Callable[[Any, dict[str, Any], int], tuple[Any, Any]]


def mass_check(m: float) -> str | None:
    """A mass whose square is a finite number (the theories use ``m^2``)."""
    if not m >= 0:
        return "a non-negative number"
    return None if m <= 1e150 else "a mass at most 1e150 (m^2 must be a finite number)"


def subluminal(v: float) -> str | None:
    return None if abs(v) < 1 else "a speed |v| < 1 (units with c = 1)"


def box_fraction(x: float) -> str | None:
    return None if 0 <= x < 1 else "a fraction of the box length in [0, 1)"


PLANE_WAVE_KEYS: dict[str, Param] = {
    "n": Param("list[int]", None, "wave numbers per axis, k = 2 pi n / (N a); default [1, 0, ..]"),
    "amplitude": Param("float", 1.0, "amplitude A", check=positive_amplitude),
    "phase": Param("float", 0.0, "phase offset in radians"),
}
PACKET_KEYS: dict[str, Param] = {
    "center": Param("list[float]", None, "packet centre (physical units; default: box centre)"),
    "width": Param("float", None, "Gaussian width w (physical units; default: 0.1 x shortest side, at least a)",
                   check=positive),
    "momentum": Param("list[float]", None, "carrier momentum k0 per axis (default: 0)"),
    "amplitude": Param("float", 1.0, "peak amplitude A", check=positive_amplitude),
}
KINK_KEYS: dict[str, Param] = {
    "velocity": Param("float", 0.5, "kink velocity v, |v| < 1", check=subluminal),
    "center": Param("float", 0.5, "position at t = 0 as a fraction of the box length along axis 0",
                    check=box_fraction),
}


def random_keys(amplitude: float, cutoff: str) -> dict[str, Param]:
    """The keys of ``random_spectrum`` with the theory's default ``amplitude`` and its documented default cutoff."""
    return {
        "amplitude": Param("float", amplitude, "rms of phi", check=positive_amplitude),
        "cutoff": Param("float", None, f"largest |k| kept (default: {cutoff})", check=positive),
        "slope": Param("float", 0.0, "spectral slope: |psi_k| ~ |k|^(slope/2), power ~ |k|^slope"),
    }


VACUUM = "vacuum"


def spectrum_function(text: str) -> Callable[[np.ndarray, np.ndarray], Any]:
    """The spectrum ``S(k, omega)`` of ``initial.spectrum``: ``"vacuum"`` or an expression in ``k`` (``|k|``) and
    ``omega`` (``omega_k``) read by the safe parser (:mod:`nnfield.duality.expression`);
    ``ExpressionError`` if it is not one."""
    from .. import initial

    if text.strip() == VACUUM:
        return initial.vacuum
    from ..duality.parse import ExprFunction

    return ExprFunction.from_string(text, ("k", "omega")).numpy


def _spectrum_problem(text: str) -> str | None:
    from ..duality.parse import ExpressionError

    try:
        spectrum_function(text)
    except ExpressionError as exc:
        return f'"vacuum" or an expression in k and omega, e.g. "1/(2*omega)" or "exp(-k**2)" ({exc})'
    return None


GAUSSIAN_KEYS: dict[str, Param] = {
    "spectrum": Param("str", VACUUM, 'S(k) = <|phi_k|^2> / V: "vacuum" (= 1/(2 omega)) or an expression in k (|k|) '
                      "and omega (the lattice omega_k); <|pi_k|^2> / V = omega^2 S", check=_spectrum_problem),
    "amplitude": Param("float", 1.0, "multiplies phi and pi (the spectra by amplitude^2)", check=positive_amplitude),
    "cutoff": Param("float", None, "largest |k| kept (default: every mode)", check=positive),
}


def gaussian_data(model: Any, p: dict[str, Any], seed: int) -> tuple[Any, Any]:
    """The ``gaussian`` initial condition of a real scalar model: :func:`nnfield.initial.gaussian_field` with the
    model's dispersion ``omega_k`` on the FFT grid (``model.dispersion``)."""
    from .. import initial

    lattice = model.lattice
    omega = model.dispersion(lattice.momenta())
    return initial.gaussian_field(lattice, omega, spectrum_function(p["spectrum"]), seed, p["amplitude"],
                                  p["cutoff"])


def gaussian_data_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    """:func:`gaussian_data` built split over ``mesh`` (:func:`nnfield.initial.gaussian_field_split`: ``omega_k``
    from ``model.dispersion`` plane by plane)."""
    from .. import initial

    return initial.gaussian_field_split(model.lattice, mesh, model.dispersion, spectrum_function(p["spectrum"]), seed,
                                        p["amplitude"], p["cutoff"])


GAUSSIAN_DOC = ('Gaussian random field with <|phi_k|^2>/V = S(k) ("vacuum": 1/(2 omega_k)) and <|pi_k|^2>/V = '
                "omega_k^2 S(k), independent phases (seeded)")


def renaming_errors(make: Make, keys: Mapping[str, str]) -> Make:
    """``make`` with each :class:`ParameterError` about a parameter in ``keys`` raised as a ``ConfigError``
    naming ``keys[param]``; other parameter errors pass unchanged (they still end in one line, exit 2). Extra
    positional arguments pass through (the mesh of a split builder, :attr:`InitialSpec.split`)."""

    def wrapped(model: Any, params: dict[str, Any], seed: int, *extra: Any) -> tuple[Any, Any]:
        try:
            return make(model, params, seed, *extra)
        except ParameterError as exc:
            if exc.param in keys:
                raise exc.renamed(keys[exc.param]) from None
            raise

    wrapped.__doc__ = make.__doc__
    return wrapped


def initial_spec(
    params: dict[str, Param], make: Make, doc: str, renamed: Mapping[str, str] | None = None,
    keys: Mapping[str, str] | None = None, split: Callable[..., tuple[Any, Any]] | None = None,
    split_refusal: Callable[[Any], str | None] | None = None,
) -> InitialSpec:
    """An :class:`InitialSpec` whose library errors name ``initial.<key>`` (or ``keys[param]`` for others);
    ``split``: its builder split over devices (:attr:`InitialSpec.split`), errors renamed alike, and
    ``split_refusal`` (:attr:`InitialSpec.split_refusal`)."""
    names = {k: f"initial.{k}" for k in params} | dict(keys or {})
    return InitialSpec(params=params, make=renaming_errors(make, names), doc=doc, renamed=dict(renamed or {}),
                       split=None if split is None else renaming_errors(split, names), split_refusal=split_refusal)
