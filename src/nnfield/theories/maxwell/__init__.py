r"""Lattice Maxwell theory (compact U(1), temporal gauge) from a network whose links learn with momentum.

- :mod:`.models`: :class:`LatticeMaxwell` (the physics side: :class:`~nnfield.theories.u1.U1Theory` with no
  matter) and the builder :func:`model`;
- :mod:`.spec`: the runnable theory ``"maxwell"`` (random transverse photons, plane-wave photons).
"""

from .models import LatticeMaxwell, model

__all__ = ["LatticeMaxwell", "model"]
