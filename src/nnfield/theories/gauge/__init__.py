r"""U(1) gauge fields in the weights and biases of a Dirac network (paper Sec. 5).

Global U(1) (5.1): ``G = X_0^theta = cos(theta pi/2) + sin(theta pi/2) X_0`` commutes with every ``X_mu`` (4.25),
hence with ``W`` and ``B``: every Dirac network is invariant, ``step(G s) = G step(s)``. Local transformations
(5.2), ``G_i = X_0^(theta_i(t))``, break that invariance; two ways to restore it:

- **exact link variables** (Wilson / Kogut-Susskind; recommended): spatial links ``U_mu,i = X_0^(alpha_mu,i)``
  in the bias map ``B(U)`` and a temporal link ``U0_i`` as the last layer of the tick; covariant to round-off,
  order 1 in dt and a, continuum limit (5.10);
- **the paper's linearized form** (5.3)-(5.9): per-site matrices ``A_0``, ``A_mu`` in ``W`` and ``B``; covariant
  only to O(a) (with the corrected rules).

The package, one concept per module:

==============  ===================================================================================
``links``       ``x0_power`` (5.1), ``U1Links``, uniform electric/magnetic and random backgrounds,
                gauge transformations of states and links
``bias``        the covariant bias map ``B(U)`` and the covariant central difference
``networks``    ``GaugedNetwork`` and ``link_network`` (exact links)
``linearized``  ``linearized_network`` (5.6)-(5.9) and the transformation rules (5.3)/(5.4)
``model``       ``GaugedDiracModel`` (observables, declared conserved quantities) and ``model``
``reference``   ``ContinuumReference``: the continuum equation (5.10), spectral in space, DOP853 in time
``spectrum``    the dense one-tick spectrum (``complex_step_matrix``, ``network_frequencies``), Landau levels
``spec``        the runnable theory ``"gauged-dirac"`` (TOML parameters; the only module that speaks TOML)
==============  ===================================================================================
"""

import warnings
from typing import Any

from ...operators import apply_local
from .bias import constant_coefficients, covariant_bias, covariant_central, gauged_bias_map
from .linearized import PLACEMENTS, RULES, linearized_network, transform_linearized
from .links import (
    U1Links,
    check_links,
    random_links,
    transform_links,
    transform_state,
    uniform_electric,
    uniform_magnetic,
    x0_power,
)
from .model import GaugedDiracModel, model, with_links
from .networks import GaugedNetwork, clifford_matrices, link_network
from .reference import ContinuumReference
from .spectrum import complex_step_matrix, distinct_levels, landau_levels, network_frequencies

# names of earlier releases: (new name, the object)
_DEPRECATED = {
    "SiteLoss": "nnfield.theories.dirac.PerTypeLoss (one loss for constant and per-site C)",
}


def __getattr__(name: str) -> Any:
    if name == "SiteLoss":
        from .. import dirac

        warnings.warn(
            f"nnfield.theories.gauge.SiteLoss is deprecated; use {_DEPRECATED[name]}", DeprecationWarning, stacklevel=2
        )
        return dirac.PerTypeLoss
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PLACEMENTS",
    "RULES",
    "ContinuumReference",
    "GaugedDiracModel",
    "GaugedNetwork",
    "U1Links",
    "apply_local",
    "check_links",
    "clifford_matrices",
    "complex_step_matrix",
    "constant_coefficients",
    "covariant_bias",
    "covariant_central",
    "distinct_levels",
    "gauged_bias_map",
    "landau_levels",
    "link_network",
    "linearized_network",
    "model",
    "network_frequencies",
    "random_links",
    "transform_linearized",
    "transform_links",
    "transform_state",
    "uniform_electric",
    "uniform_magnetic",
    "with_links",
    "x0_power",
]
