"""nnfield: classical fields emerging from the activation and learning dynamics of neural networks.

Reference implementation of V. Vanchurin, "Emergent field theories from neural networks",
arXiv:2411.08138. See ``docs/`` for the architecture and the paper's errata.
"""

from __future__ import annotations

from .lattice import Lattice as Lattice
from .network import LinearNetwork as LinearNetwork
from .network import Network as Network
from .network import run as run
from .network import trajectory as trajectory
from .operators import LatticeOperator as LatticeOperator
from .schemes import SCHEMES as SCHEMES
from .schemes import get_scheme as get_scheme
from .state import State as State

__version__ = "0.1.0"
