r"""Registers the runnable theory ``"klein-gordon"`` (paper Sec. 3) for TOML configs and the command line.

Theory parameters (``[theory]``): ``network = "3.8" | "3.14"``, ``mass`` (m >= 0) and ``sign =
"corrected" | "printed"`` (the sign of A in (3.8); "printed" is the paper's erratum, unstable).

Initial conditions (``[initial]``, from :mod:`nnfield.initial` with the keys every theory shares) return the
physics data ``(phi, pi = d phi/dt)``, each ``(1, *shape)``. All of them are *positive-frequency* solutions of
the lattice Klein-Gordon equation (3.4) (continuous time, :class:`~nnfield.initial.PositiveFrequency` with
:meth:`KleinGordon.omega <nnfield.theories.klein_gordon.KleinGordon.omega>`):

    phi(x, t) = Re sum_k psi_k exp(i (k.x - omega_k t)),   omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)

so ``phi(0) = Re psi`` and ``pi(0) = Re ifft(-i omega_k psi_k)``: each Fourier mode travels along +k.
``plane_wave`` is an exact travelling wave; ``gaussian_packet`` moves with the group velocity at ``k0``;
``random_spectrum`` is scaled so that ``rms(phi) = amplitude`` (default cutoff ``pi / (2 a)``). ``gaussian``
(not positive-frequency: independent phases) has the spectrum ``spectrum`` (default the vacuum
``<|phi_k|^2> / V = 1/(2 omega_k)``; ``docs/spectra.md``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ... import initial
from ...errors import ConfigError
from ..params import Number, Params, check
from ..registry import TheorySpec, register_theory
from ..spec_edge import (
    GAUSSIAN_DOC,
    GAUSSIAN_KEYS,
    PACKET_KEYS,
    PLANE_WAVE_KEYS,
    gaussian_data,
    gaussian_data_split,
    initial_spec,
    mass_check,
    random_keys,
)


def _modes(model: Any) -> initial.PositiveFrequency:
    return initial.PositiveFrequency.of(model.theory)


def _plane_wave(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    del seed
    return initial.plane_wave(model.theory.lattice, _modes(model), p["n"], p["amplitude"], p["phase"])


def _gaussian_packet(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    del seed
    return initial.gaussian_packet(
        model.theory.lattice, _modes(model), p["center"], p["width"], p["momentum"], p["amplitude"]
    )


def _random_spectrum(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    return initial.random_spectrum(
        model.theory.lattice, _modes(model), seed, p["amplitude"], p["cutoff"], p["slope"]
    )


def _plane_wave_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    del seed
    return initial.plane_wave_split(model.theory.lattice, mesh, model.theory.dispersion, p["n"], p["amplitude"],
                                    p["phase"])


def _gaussian_packet_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    del seed
    return initial.gaussian_packet_split(
        model.theory.lattice, mesh, model.theory.dispersion, p["center"], p["width"], p["momentum"], p["amplitude"]
    )


def _random_spectrum_split(model: Any, p: dict[str, Any], seed: int, mesh: Any) -> tuple[Any, Any]:
    return initial.random_spectrum_split(
        model.theory.lattice, mesh, model.theory.dispersion, seed, p["amplitude"], p["cutoff"], p["slope"]
    )


def _split_refusal(params: Any) -> str | None:
    """Network (3.14) encodes the data as the previous field, ``phi(-dt)`` by a spectral propagation over the whole
    lattice (``models.KleinGordonModel.encode``): built split, that FFT would gather the whole lattice on every
    device."""
    if getattr(params, "network", "3.8") == "3.14":
        return 'network "3.14" encodes the data by a spectral propagation over the whole lattice'
    return None


class KleinGordonParams(Params):
    """``[theory] name = "klein-gordon"``: which network (paper Sec. 3), the mass and the sign of A in (3.8)."""

    network: Literal["3.8", "3.14"] = Field(
        "3.8", description='which network: "3.8" (W = B = I, loss (3.11)) or "3.14" (W = 2 + dt^2 (Lap - m^2))'
    )
    mass: Annotated[Number, check(mass_check)] = Field(1.0, description="mass m of the field (m >= 0)")
    sign: Literal["corrected", "printed"] = Field(
        "corrected", description='sign of A in (3.8): "corrected" gives (3.10); "printed" is the paper\'s erratum'
    )


def _build(lattice: Any, params: KleinGordonParams, dt: float, scheme: str) -> Any:
    from .models import model

    network = params.network
    if network == "3.14":
        if scheme not in ("leapfrog", "simultaneous"):
            raise ConfigError(
                f'time.scheme: network "3.14" runs the paper\'s update rule and is itself a leapfrog (3.19); '
                f'expected "leapfrog" (or "simultaneous"), got "{scheme}"; set scheme = "leapfrog"'
            )
        if params.sign != "corrected":
            raise ConfigError(
                'theory.sign: applies to network = "3.8" only (the sign of A in (3.8)); delete it for "3.14"'
            )
    return model(lattice, params.mass, dt, network=network, scheme=scheme, sign=params.sign)


SPEC = register_theory(
    TheorySpec(
        name="klein-gordon",
        doc="Klein-Gordon field (Sec. 3): network (3.8)+(3.11) with any scheme, or (3.14)-(3.18) (leapfrog).",
        params=KleinGordonParams,
        build=_build,
        initial={
            "plane_wave": initial_spec(
                PLANE_WAVE_KEYS, _plane_wave,
                "travelling plane wave A cos(k.x - omega_k t + phase), exact on the lattice",
                split=_plane_wave_split, split_refusal=_split_refusal,
            ),
            "gaussian_packet": initial_spec(
                PACKET_KEYS, _gaussian_packet,
                "positive-frequency Gaussian packet moving with the group velocity at k0",
                split=_gaussian_packet_split, split_refusal=_split_refusal,
            ),
            "random_spectrum": initial_spec(
                random_keys(1.0, "pi / (2 a)"), _random_spectrum,
                "Gaussian random positive-frequency field with a band-limited power-law spectrum",
                split=_random_spectrum_split, split_refusal=_split_refusal,
            ),
            "gaussian": initial_spec(GAUSSIAN_KEYS, gaussian_data, GAUSSIAN_DOC, split=gaussian_data_split,
                                     split_refusal=_split_refusal),
        },
    )
)

__all__ = ["SPEC"]
