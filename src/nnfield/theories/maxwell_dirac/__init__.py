r"""Maxwell-Dirac from a network: the stable Dirac network of Sec. 4/5 whose links (in its bias map) learn by
gradient descent with momentum (``docs/maxwell_dirac.md``).

- :mod:`.matter`: :class:`DiracMatter` (the gauged bias map, activation, per-type learning loss, the Dirac energy
  the links learn from, the network's charge density);
- :mod:`.network`: :class:`MaxwellDiracNetwork` (the tick: links, activation, learning, E);
- :mod:`.physics`: :class:`MaxwellDirac`, the physics side (complex spinors, ``jnp.roll``; DOP853 reference);
- :mod:`.models`: :class:`MaxwellDiracModel` and :func:`model`;
- :mod:`.initial`: charged packets (with an applied uniform field), photons about the vacuum; Gauss's law by a
  lattice Poisson solve;
- :mod:`.spec`: the runnable theory ``"maxwell-dirac"``.
"""

from .matter import DiracMatter
from .models import MaxwellDiracModel, model
from .network import MaxwellDiracNetwork
from .physics import MaxwellDirac

__all__ = ["DiracMatter", "MaxwellDirac", "MaxwellDiracModel", "MaxwellDiracNetwork", "model"]
