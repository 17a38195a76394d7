r"""The Dirac field from K neuron types on a D-dimensional lattice (paper Sec. 4), D = 1, 2, 3.

One concept per module; every public name is re-exported here (``from nnfield.theories import dirac;
dirac.model(...)``):

- :mod:`.bias`: the bias maps ``B``, forward (4.15)/(4.24) and doubler-free twisted Wilson;
- :mod:`.losses`: the losses (4.3), (4.12) and the per-type losses (4.14);
- :mod:`.networks`: the paper network (4.11)/(4.26), the stable network, the literal (4.2) network;
- :mod:`.invariant`: the stable network's exact invariant;
- :mod:`.literal`: the component equations (4.17), (4.26) written out (for checks);
- :mod:`.physics`: the physics side :class:`Dirac` (gamma matrices, ``H(k)``, exact evolution, observables);
- :mod:`.initial`: :class:`DiracModes` (the theory's modes for :mod:`nnfield.initial`), plane waves, packets;
- :mod:`.analysis`: doublers, the stability bound, the dispersion extras of ``nnfield analyze``;
- :mod:`.models`: :class:`DiracModel` and :func:`model`;
- :mod:`.spec`: the runnable theory ``"dirac"`` (the only module that knows TOML keys).

Names of the first release built from equation numbers (``Loss43``, ``Loss412``, ``linear_network_411``,
``update_417``, ``update_426``) still import, with a :class:`DeprecationWarning` naming the new name.
"""

from __future__ import annotations

from ..._deprecation import deprecated_names
from .. import clifford as clifford
from .analysis import analysis_report as analysis_report
from .analysis import bbt_eigenvalues as bbt_eigenvalues
from .analysis import doubler_analysis as doubler_analysis
from .analysis import doubler_grid as doubler_grid
from .analysis import forward_doubler_curve_point as forward_doubler_curve_point
from .analysis import paper_growth_per_step as paper_growth_per_step
from .analysis import stability_bound as stability_bound
from .bias import BIASES as BIASES
from .bias import bias_forward as bias_forward
from .bias import bias_map as bias_map
from .bias import bias_wilson as bias_wilson
from .initial import DiracModes as DiracModes
from .initial import energy_projector as energy_projector
from .initial import gaussian_packet as gaussian_packet
from .initial import plane_wave as plane_wave
from .invariant import stable_invariant as stable_invariant
from .literal import literal_update as literal_update
from .literal import literal_update_1d as literal_update_1d
from .losses import LOSSES as LOSSES
from .losses import LearningMatrixLoss as LearningMatrixLoss
from .losses import PerTypeLoss as PerTypeLoss
from .losses import ScalarMassLoss as ScalarMassLoss
from .losses import per_type_loss as per_type_loss
from .models import DiracModel as DiracModel
from .models import conserved_quantities as conserved_quantities
from .models import model as model
from .networks import NETWORKS as NETWORKS
from .networks import literal_linear_network as literal_linear_network
from .networks import orthogonal_rates as orthogonal_rates
from .networks import paper_network as paper_network
from .networks import stable_network as stable_network
from .physics import KINDS as KINDS
from .physics import Dirac as Dirac

#: deprecated names (equation numbers) -> new names; kept for one release
_DEPRECATED = {
    "Loss43": "LearningMatrixLoss",
    "Loss412": "ScalarMassLoss",
    "linear_network_411": "literal_linear_network",
    "update_417": "literal_update_1d",
    "update_426": "literal_update",
}


__getattr__ = deprecated_names(__name__, _DEPRECATED, globals())
