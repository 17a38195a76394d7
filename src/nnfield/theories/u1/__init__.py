r"""Dynamical compact U(1) gauge fields learned by a network (beyond the paper's Sec. 5; ``docs/gauge_dynamics.md``).

The shared core of the theories ``maxwell`` and ``scalar-qed`` (and of a Dirac matter sector): links
``theta = a q A`` are trainable weights descending a gauge-invariant loss with momentum, the momentum buffer is
the electric field, and Gauss's law is kept to round-off.

==============  ===================================================================================
``_lattice``    plaquettes, wrap, backward divergence, forward gradient (the fusible shift)
``gauss``       Gauss residual, lattice Poisson solve (FFT), longitudinal field of a charge, projection
``photons``     transverse plane waves and random transverse photons with a spectrum; ``omega_k``
``transform``   local gauge transformations of links and charged fields
``loss``        the Wilson plaquette loss and :class:`AbstractMatter` (the protocol of a matter sector)
``network``     :class:`GaugeNetwork` (learning with momentum by ``jax.grad`` of the loss; leapfrog)
``physics``     :class:`U1Theory`: the Kogut-Susskind Hamiltonian (physics side) and the DOP853 reference
``model``       :class:`GaugeModel`: packing, per-site fields, observables, declared conservation
``datafile``    initial data from a ``.npz`` file (Gauss's law projected or checked); writing one from a run
==============  ===================================================================================
"""

from ._lattice import divergence, gradient, pairs, plaquettes, wrap
from .datafile import load_initial, save_initial, save_initial_from_run
from .gauss import gauss_residual, longitudinal_field, project, solve_poisson, transverse
from .loss import AbstractMatter, WilsonLoss
from .model import ENERGY, GaugeModel
from .network import ELECTRIC, LINKS, MATTER, GaugeNetwork
from .photons import (
    kappa,
    photon_omega,
    plane_wave,
    plane_wave_split,
    random_photons,
    random_photons_split,
    transverse_modes,
)
from .physics import U1Theory, field_strength
from .transform import rotate, transform_links

__all__ = [
    "ELECTRIC",
    "ENERGY",
    "LINKS",
    "MATTER",
    "AbstractMatter",
    "GaugeModel",
    "GaugeNetwork",
    "U1Theory",
    "WilsonLoss",
    "divergence",
    "field_strength",
    "gauss_residual",
    "gradient",
    "kappa",
    "load_initial",
    "longitudinal_field",
    "pairs",
    "photon_omega",
    "plane_wave",
    "plaquettes",
    "project",
    "plane_wave_split",
    "random_photons",
    "random_photons_split",
    "rotate",
    "save_initial",
    "save_initial_from_run",
    "solve_poisson",
    "transform_links",
    "transverse",
    "transverse_modes",
    "wrap",
]
