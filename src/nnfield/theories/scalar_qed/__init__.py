r"""Scalar QED (the Abelian Higgs model) from a network: a charged scalar of two neuron types whose hopping runs
through links that learn by gradient descent with momentum (``docs/gauge_dynamics.md``).

- :mod:`.matter`: :class:`ScalarMatter`, the network's matter sector (the loss with the links in it);
- :mod:`.physics`: :class:`ScalarQED`, the physics side (complex fields, ``jnp.roll``);
- :mod:`.models`: :class:`ScalarQEDModel` (tree-level masses, ``nnfield analyze`` extras) and :func:`model`;
- :mod:`.initial`: Higgs vacuum, charged packets, vortices (Gauss's law by construction), gradient-flow relaxation;
- :mod:`.spec`: the runnable theory ``"scalar-qed"``.
"""

from .initial import charged_packets, higgs_vacuum, relax, vortex, vortex_pair
from .matter import ScalarMatter, vev
from .models import ScalarQEDModel, model
from .physics import ScalarQED

__all__ = ["ScalarMatter", "ScalarQED", "ScalarQEDModel", "charged_packets", "higgs_vacuum", "model", "relax",
           "vev", "vortex", "vortex_pair"]
