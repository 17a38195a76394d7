r"""Registers the runnable theory ``"klein-gordon"`` (paper Sec. 3) for TOML configs and the command line.

Theory parameters (``[theory]``): ``network = "3.8" | "3.14"``, ``mass`` (m >= 0) and ``sign =
"corrected" | "printed"`` (the sign of A in (3.8); "printed" is the paper's erratum, unstable).

Initial conditions (``[initial]``) return the physics data ``(phi, pi = d phi/dt)``, each ``(1, *shape)``.
All of them are *positive-frequency* solutions of the lattice Klein-Gordon equation (3.4) (continuous time):

    phi(x, t) = Re sum_k psi_k exp(i (k.x - omega_k t)),   omega_k^2 = m^2 + (4/a^2) sum_mu sin^2(k_mu a/2)

so ``phi(0) = Re psi`` and ``pi(0) = Re ifft(-i omega_k psi_k)``: each Fourier mode travels along +k.

- ``plane_wave``: ``psi = A exp(i (k.x + phase))``, ``k_mu = 2 pi n_mu / (N_mu a)``; an exact travelling wave
  ``phi = A cos(k.x - omega_k t + phase)`` of the lattice equations.
- ``gaussian_packet``: ``psi = A exp(-|x - c|^2 / (2 w^2)) exp(i k0.(x - c))`` (minimum-image distance on
  the periodic box), moving with the group velocity ``d omega / dk`` at ``k0``.
- ``random_spectrum``: a Gaussian random field, ``psi_k = (xi_k + i eta_k) |k|^(slope/2)`` for
  ``|k| <= cutoff`` (xi, eta standard normal from ``seed``), scaled so that ``rms(phi) = amplitude``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from .registry import (
    InitialSpec,
    Param,
    TheorySpec,
    non_negative,
    packet_params,
    per_axis,
    positive,
    positive_amplitude,
    register_theory,
)


def _lattice(model: Any) -> Any:
    return model.theory.lattice


def _positive_frequency(model: Any, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Re psi, Re ifft(-i omega_k psi_k))`` shaped ``(1, *shape)``: the positive-frequency data of ``psi``."""
    omega = np.asarray(model.theory.omega())
    pi = np.fft.ifftn(-1j * omega * np.fft.fftn(psi)).real
    return psi.real[None].copy(), pi[None]




def _plane_wave(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    del seed
    lat = _lattice(model)
    n = per_axis("n", p["n"], lat.ndim, [1] + [0] * (lat.ndim - 1))
    for mu, (nm, N) in enumerate(zip(n, lat.shape, strict=True)):
        if abs(nm) > N // 2:
            raise ConfigError(
                f"initial.n: expected wave numbers with |n| <= N/2 = {N // 2} on axis {mu}, got {n}; "
                f"larger n alias to n - N"
            )
    k = [2 * np.pi * nm / (N * lat.spacing) for nm, N in zip(n, lat.shape, strict=True)]
    x = lat.coordinates()
    kx = sum(kk * xx for kk, xx in zip(k, x, strict=True))
    psi = p["amplitude"] * np.exp(1j * (kx + p["phase"]))
    return _positive_frequency(model, psi)


def _gaussian_packet(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    del seed
    lat = _lattice(model)
    center, width, k0 = packet_params(lat, p)
    L = lat.lengths
    x = lat.coordinates()
    d = [((xx - c + 0.5 * ell) % ell) - 0.5 * ell for xx, c, ell in zip(x, center, L, strict=True)]
    r2 = sum(dd**2 for dd in d)
    phase = sum(kk * dd for kk, dd in zip(k0, d, strict=True))
    psi = p["amplitude"] * np.exp(-r2 / (2 * width**2)) * np.exp(1j * phase)
    return _positive_frequency(model, psi)


def _random_spectrum(model: Any, p: dict[str, Any], seed: int) -> tuple[np.ndarray, np.ndarray]:
    lat = _lattice(model)
    rng = np.random.default_rng(seed)
    cutoff = p["cutoff"] if p["cutoff"] is not None else 0.5 * np.pi / lat.spacing
    kabs = np.sqrt(sum(k**2 for k in lat.momenta()))
    slope = p["slope"]
    with np.errstate(divide="ignore"):
        weight = np.where(kabs > 0, kabs ** (0.5 * slope), 1.0 if slope == 0 else 0.0)
    weight = np.where(kabs <= cutoff, weight, 0.0)
    noise = rng.standard_normal(lat.shape) + 1j * rng.standard_normal(lat.shape)
    psi_k = noise * weight
    psi = np.fft.ifftn(psi_k)
    phi, pi = _positive_frequency(model, psi)
    rms = float(np.sqrt(np.mean(phi**2)))
    if rms == 0.0:
        kmin = 2 * np.pi / max(lat.lengths)
        raise ConfigError(
            f"initial.cutoff: no lattice mode has 0 < |k| <= cutoff = {cutoff:g} (the smallest is {kmin:.4g}); "
            f"raise the cutoff, e.g. cutoff = {2 * kmin:.4g}"
        )
    scale = p["amplitude"] / rms
    return phi * scale, pi * scale


def _build(lattice: Any, params: dict[str, Any], dt: float, scheme: str) -> Any:
    from . import klein_gordon as kg

    network = params["network"]
    if network == "3.14":
        if scheme not in ("leapfrog", "simultaneous"):
            raise ConfigError(
                f'time.scheme: network "3.14" runs the paper\'s update rule and is itself a leapfrog (3.19); '
                f'expected "leapfrog" (or "simultaneous"), got "{scheme}"; set scheme = "leapfrog"'
            )
        if params["sign"] != "corrected":
            raise ConfigError(
                'theory.sign: applies to network = "3.8" only (the sign of A in (3.8)); delete it for "3.14"'
            )
    return kg.model(lattice, params["mass"], dt, network, scheme, params["sign"])




SPEC = register_theory(
    TheorySpec(
        name="klein-gordon",
        doc="Klein-Gordon field (Sec. 3): network (3.8)+(3.11) with any scheme, or (3.14)-(3.18) (leapfrog).",
        params={
            "network": Param(
                "str", "3.8", 'which network: "3.8" (W = B = I, loss (3.11)) or "3.14" (W = 2 + dt^2 (Lap - m^2))',
                choices=("3.8", "3.14"),
            ),
            "mass": Param("float", 1.0, "mass m of the field (m >= 0)", check=non_negative),
            "sign": Param(
                "str", "corrected", 'sign of A in (3.8): "corrected" gives (3.10); "printed" is the paper\'s erratum',
                choices=("corrected", "printed"),
            ),
        },
        build=_build,
        initial={
            "plane_wave": InitialSpec(
                params={
                    "n": Param("list[int]", None, "wave numbers per axis, k = 2 pi n / (N a); default [1, 0, ..]"),
                    "amplitude": Param("float", 1.0, "amplitude A", check=positive_amplitude),
                    "phase": Param("float", 0.0, "phase offset in radians"),
                },
                make=_plane_wave,
                doc="travelling plane wave A cos(k.x - omega_k t + phase), exact on the lattice",
            ),
            "gaussian_packet": InitialSpec(
                params={
                    "center": Param("list[float]", None, "packet centre (physical units; default: box centre)"),
                    "width": Param("float", None, "Gaussian width w (physical units; default: 0.1 x shortest side)",
                                   check=positive),
                    "momentum": Param("list[float]", None, "carrier momentum k0 per axis (default: 0, standing)"),
                    "amplitude": Param("float", 1.0, "peak amplitude A", check=positive_amplitude),
                },
                make=_gaussian_packet,
                doc="positive-frequency Gaussian packet moving with the group velocity at k0",
            ),
            "random_spectrum": InitialSpec(
                params={
                    "amplitude": Param("float", 1.0, "rms of phi", check=positive_amplitude),
                    "cutoff": Param("float", None, "largest |k| kept (default: pi / (2 a))", check=positive),
                    "slope": Param("float", 0.0, "spectral slope: |psi_k| ~ |k|^(slope/2), power ~ |k|^slope"),
                },
                make=_random_spectrum,
                doc="Gaussian random positive-frequency field with a band-limited power-law spectrum",
            ),
        },
    )
)

__all__ = ["SPEC"]
