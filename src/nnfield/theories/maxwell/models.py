r"""The lattice Maxwell model: a :class:`~nnfield.theories.u1.GaugeNetwork` without matter and its physics side.

    H = a^D sum_x [ sum_mu E_mu^2/2 + (1/(q^2 a^4)) sum_{mu<nu} (1 - cos(q a^2 F_{mu nu})) ]

Free photons: ``4 sin^2(Omega dt/2) / dt^2 = (4/a^2) sum_mu sin^2(k_mu a/2)`` (two transverse polarizations in
3D, one in 2D, none in 1D); the longitudinal mode does not propagate. Stable for ``dt < a / sqrt(D)``
(small amplitudes; the compact term only softens the force).
"""

from __future__ import annotations

from ..._deprecation import positional_options
from ...lattice import Lattice, check_lattice
from ..u1 import GaugeModel, GaugeNetwork, U1Theory


class LatticeMaxwell(U1Theory):
    """Compact lattice U(1) without matter (the physics side of the ``maxwell`` theory)."""


@positional_options
def model(lattice: Lattice, dt: float, *, charge: float = 1.0) -> GaugeModel:
    """The ``maxwell`` model: links learning with momentum on the Wilson loss, step ``dt``, coupling ``q``."""
    check_lattice(lattice)
    net = GaugeNetwork.create(lattice, charge, dt, None, name="maxwell (links with momentum)")
    return GaugeModel(net, LatticeMaxwell(charge=charge, lattice=lattice))
