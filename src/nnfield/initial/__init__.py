r"""One library of initial conditions for every theory, parameterized by the theory (not written per theory).

The kinds and their keys are the same for every theory (``docs/config.md``):

- :func:`plane_wave` (``n``, ``amplitude``, ``phase``): ``psi = A exp(i (k.x + phase))``;
- :func:`gaussian_packet` (``center``, ``width``, ``momentum``, ``amplitude``):
  ``psi = A exp(-|x - c|^2 / (2 w^2)) exp(i k0.(x - c))``;
- :func:`random_spectrum` (``amplitude``, ``cutoff``, ``slope``): a Gaussian random field with the power
  spectrum ``|k|^slope`` for ``|k| <= cutoff``; :func:`random_spectrum_split` builds the same field split over
  devices, each process only its slabs (equal to round-off);
- :func:`gaussian_field` (``spectrum``, ``amplitude``, ``cutoff``): a Gaussian random real scalar with any
  spectrum ``S(|k|, omega_k)``, by default the vacuum ``1/(2 omega_k)`` (:func:`vacuum`);
- :func:`kink` (``velocity``, ``center`` as a fraction of the box): the exact sine-Gordon kink;
  :func:`kink_antikink`: the exact scattering of a sine-Gordon kink and antikink (they pass through each other);
- :func:`phi4_kink_pair` (``velocity``, ``center``, ``separation``): a phi^4 kink and antikink approaching each
  other (the double well's exact kink, :func:`phi4_kink_profile`, summed);
- :func:`spinor_plane_wave`, :func:`spinor_packet`: the plane wave and the Gaussian packet of a spinor theory
  (the same keys plus ``branch`` and ``spin``; the packet has unit charge times ``amplitude^2``).

Built split over devices, each process only its slabs (``[parallel] build``, :mod:`._split`):
:func:`random_spectrum_split`, :func:`gaussian_field_split`, :func:`gaussian_packet_split`,
:func:`plane_wave_split` (equal to the whole build to round-off; a profile itself bit for bit) and
:func:`planar_split` (the walls of :func:`kink`, :func:`kink_antikink` and :func:`phi4_kink_pair`, bit for bit),
:func:`spinor_plane_wave_split` and :func:`spinor_packet_split` (to round-off).

The theory says how a complex profile becomes its data ``(phi, pi)``: :class:`PositiveFrequency` (a real
scalar field with a dispersion ``omega_k``), :class:`NoDispersion` (nonlinear fields) or, for spinors, the
:class:`SpinorModes` interface (``H(k)`` eigenvectors and packing). Distances on the periodic box come from
the one helper :func:`minimum_image`.

Errors are :class:`~nnfield.errors.ParameterError` naming the parameter (``center``, ``cutoff``); the theory's
``spec`` module renames them to the TOML key (``initial.center``).
"""

from ._gaussian import gaussian_field, vacuum
from ._kink import kink, kink_antikink, kink_profile
from ._modes import Dispersion, Modes, NoDispersion, PositiveFrequency, SpinorModes
from ._packet import gaussian_packet
from ._params import packet_geometry, per_axis, wave_numbers
from ._periodic import minimum_image, minimum_image_distances, periodized_gaussian
from ._phi4_kink import phi4_kink_pair, phi4_kink_profile
from ._plane_wave import plane_wave
from ._random import random_spectrum
from ._spinor import PACKET_BRANCHES, PLANE_WAVE_BRANCHES, spinor_packet, spinor_plane_wave
from ._split import (
    forward_fft_split,
    gaussian_field_split,
    gaussian_packet_split,
    inverse_fft_split,
    planar_split,
    plane_wave_split,
    random_spectrum_split,
    spinor_packet_split,
    spinor_plane_wave_split,
)

__all__ = [
    "PACKET_BRANCHES",
    "PLANE_WAVE_BRANCHES",
    "Dispersion",
    "Modes",
    "NoDispersion",
    "PositiveFrequency",
    "SpinorModes",
    "forward_fft_split",
    "gaussian_field",
    "gaussian_field_split",
    "gaussian_packet",
    "gaussian_packet_split",
    "inverse_fft_split",
    "kink",
    "kink_antikink",
    "kink_profile",
    "minimum_image",
    "minimum_image_distances",
    "packet_geometry",
    "per_axis",
    "periodized_gaussian",
    "phi4_kink_pair",
    "phi4_kink_profile",
    "planar_split",
    "plane_wave",
    "plane_wave_split",
    "random_spectrum",
    "random_spectrum_split",
    "spinor_packet",
    "spinor_packet_split",
    "spinor_plane_wave",
    "spinor_plane_wave_split",
    "vacuum",
    "wave_numbers",
]
