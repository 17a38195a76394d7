r"""The Klein-Gordon field from a network (paper Sec. 3), any dimension D, mass m, spacing a, step dt.

Layout (one concept per module):

- :mod:`.physics`: :class:`KleinGordon`, the physics side (Hamiltonian (3.5), equations by ``jax.grad``, the
  exact lattice and continuum solutions);
- :mod:`.losses`: :class:`LaplacianLoss` (3.11) and :class:`SquaredNormLoss` (3.18);
- :mod:`.networks`: :func:`momentum_network` (3.8), :func:`printed_linear_network` (the literal tensors (3.8))
  and :func:`leapfrog_network` (3.14)-(3.18);
- :mod:`.models`: :class:`KleinGordonModel`, :func:`conserved_quantities` and the builder :func:`model`
  (``network="3.8" | "3.14"``, the paper's names);
- :mod:`.spec`: the runnable theory ``"klein-gordon"`` for TOML configs (its initial conditions come from
  :mod:`nnfield.initial` with the positive-frequency rule of :meth:`KleinGordon.omega`).

The names of the first release (``network_38``, ``network_314``, ``linear_network_38``, ``Loss311``,
``Loss318``) still work for one release and warn (``DeprecationWarning``).
"""

from __future__ import annotations

from ..._deprecation import deprecated_names
from .losses import LaplacianLoss, SquaredNormLoss
from .models import DISCRETE_ENERGY, ENERGY, KleinGordonModel, conserved_quantities, model
from .networks import SIGNS, leapfrog_network, momentum_network, printed_linear_network
from .physics import KleinGordon, lap_roll

__all__ = [
    "DISCRETE_ENERGY",
    "ENERGY",
    "SIGNS",
    "KleinGordon",
    "KleinGordonModel",
    "LaplacianLoss",
    "SquaredNormLoss",
    "conserved_quantities",
    "lap_roll",
    "leapfrog_network",
    "model",
    "momentum_network",
    "printed_linear_network",
]

#: deprecated names of the first release -> their new names (removed in the next release)
_DEPRECATED = {
    "network_38": "momentum_network",
    "network_314": "leapfrog_network",
    "linear_network_38": "printed_linear_network",
    "Loss311": "LaplacianLoss",
    "Loss318": "SquaredNormLoss",
}


__getattr__ = deprecated_names(__name__, _DEPRECATED, globals())
