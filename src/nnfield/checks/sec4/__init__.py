"""Paper checks of Sec. 4 (the Dirac field from K neuron types), measured by :mod:`nnfield.theories.dirac`.

Every check builds its networks with autodiff learning (per-type losses where the paper uses them) and
measures its number on a small lattice; nothing is hard-coded.

The checks live in the modules of this package (one group each); importing the package registers them.
"""

from . import algebra as algebra  # noqa: F401  (registers its checks)
from . import dynamics as dynamics  # noqa: F401  (registers its checks)
