"""nnfield: classical fields emerging from the activation and learning dynamics of neural networks.

Reference implementation of V. Vanchurin, "Emergent field theories from neural networks",
arXiv:2411.08138. See ``docs/`` for the architecture and the paper's errata.

The public names below are imported lazily (on first access), so that light entry points such as
``nnfield --help`` do not pay for importing JAX.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY: dict[str, tuple[str, str]] = {
    "AbstractModel": ("model", "AbstractModel"),
    "AbstractNetwork": ("network", "AbstractNetwork"),
    "AbstractTheory": ("model", "AbstractTheory"),
    "Conserved": ("model", "Conserved"),
    "PerTypeLoss": ("network", "PerTypeLoss"),
    "Lattice": ("lattice", "Lattice"),
    "LinearNetwork": ("network", "LinearNetwork"),
    "Network": ("network", "Network"),
    "run": ("network", "run"),
    "trajectory": ("network", "trajectory"),
    "LatticeOperator": ("operators", "LatticeOperator"),
    "SCHEMES": ("schemes", "SCHEMES"),
    "get_scheme": ("schemes", "get_scheme"),
    "State": ("state", "State"),
    "network_stability": ("stability", "network_stability"),
    "load": ("labelled", "load"),
    "write_xdmf": ("xdmf", "write_xdmf"),
}
__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .labelled import load as load
    from .lattice import Lattice as Lattice
    from .model import AbstractModel as AbstractModel
    from .model import AbstractTheory as AbstractTheory
    from .model import Conserved as Conserved
    from .network import AbstractNetwork as AbstractNetwork
    from .network import LinearNetwork as LinearNetwork
    from .network import Network as Network
    from .network import PerTypeLoss as PerTypeLoss
    from .network import run as run
    from .network import trajectory as trajectory
    from .operators import LatticeOperator as LatticeOperator
    from .schemes import SCHEMES as SCHEMES
    from .schemes import get_scheme as get_scheme
    from .stability import network_stability as network_stability
    from .state import State as State
    from .xdmf import write_xdmf as write_xdmf


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'nnfield' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
