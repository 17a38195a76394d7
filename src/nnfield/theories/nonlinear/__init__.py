r"""Nonlinear scalar fields from a network: the duality of Sec. 2 with a local potential on a D-dim lattice.

Layout (one concept per module):

- :mod:`.potentials`: :class:`Phi4Potential` ``m^2 phi^2/2 + lam phi^4/4``, :class:`DoubleWellPotential`
  ``lam/4 (phi^2 - v^2)^2`` and :class:`SineGordonPotential` ``(m^2/b^2)(1 - cos(b phi))`` (or any elementwise
  JAX-traceable PyTree callable; ``V'`` is ``jax.grad``), and :func:`vacuum`, the ground state every small-wave
  quantity (dispersion, stability gate, initial fluctuations) is taken about;
- :mod:`.physics`: :class:`NonlinearField`, the physics side (Hamiltonian, equations by ``jax.grad``, RK4 and
  DOP853 reference solvers);
- :mod:`.networks`: :class:`NonlinearLoss` and :func:`network` (``W = I``, ``B = I``, learning
  ``pi <- pi + dt (Lap_a phi - V'(phi))``);
- :mod:`.models`: :class:`NonlinearModel`, :func:`conserved_quantities`, :func:`model`, :func:`phi4_model`,
  :func:`double_well_model`, :func:`sine_gordon_model`;
- :mod:`.spec`: the runnable theories ``"phi4"`` and ``"sine-gordon"`` (initial data from :mod:`nnfield.initial`).

Twisted boundary: ``phi`` of sine-Gordon lives on a circle (mod ``2 pi / b``); a kink winds once. With
``twist = t`` the field obeys ``phi_{i + N e_0} = phi_i + t`` along axis 0; the network loss and the physics
side both use the twisted differences. A single kink needs ``twist = 2 pi / b``; with ``twist = 0`` the kink
initial condition is a kink-antikink pair half a box apart (see :func:`nnfield.initial.kink`).
"""

from __future__ import annotations

from ...initial import kink, kink_antikink, kink_profile, phi4_kink_pair, phi4_kink_profile
from .initial_data import gaussian_packet, random_spectrum
from .models import NonlinearModel, conserved_quantities, double_well_model, model, phi4_model, sine_gordon_model
from .networks import NonlinearLoss, network
from .physics import NonlinearField, edge, forward_diffs_roll
from .potentials import DoubleWellPotential, LocalPotential, Phi4Potential, SineGordonPotential, vacuum

__all__ = [
    "DoubleWellPotential",
    "LocalPotential",
    "NonlinearField",
    "NonlinearLoss",
    "NonlinearModel",
    "Phi4Potential",
    "SineGordonPotential",
    "conserved_quantities",
    "double_well_model",
    "edge",
    "forward_diffs_roll",
    "gaussian_packet",
    "kink",
    "kink_antikink",
    "kink_profile",
    "model",
    "network",
    "phi4_kink_pair",
    "phi4_kink_profile",
    "phi4_model",
    "random_spectrum",
    "sine_gordon_model",
    "vacuum",
]
