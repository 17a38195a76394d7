r"""The Klein-Gordon networks of the paper's Sec. 3 (the paper's names in brackets).

- :func:`momentum_network` [network (3.8)]: ``W = I``, ``B = I``, loss (3.11) (:class:`LaplacianLoss`);
  autodiff learning gives (3.10) ``pi <- pi + dt (Lap_a - m^2) phi``: ``pi`` is the field's momentum. Any
  scheme (order 1 simultaneous/alternating, 2 leapfrog, 4 yoshida4 in ``dt``; 2 in ``a``). The printed (3.8)
  has the opposite sign of A (``sign="printed"``, loss -(3.11)): every mode with ``omega_k^2 > 0`` grows.
- :func:`printed_linear_network` [the tensors (3.8) literally]: the four operators as printed, no loss.
- :func:`leapfrog_network` [network (3.14)-(3.18)]: ``W = 2 + dt^2 (Lap_a - m^2)`` (at ``dt = a = 1``:
  ``-(2D - 2 + m^2) + sum_mu (T_mu + T_mu^-1)``), ``B = I``, loss (3.18) (:class:`SquaredNormLoss`) and unit
  learning rate, so ``pi(t+dt) = -phi(t)`` (3.17) and ``phi`` obeys the leapfrog (3.19). Order 2 in ``dt``.
"""

from __future__ import annotations

from ..._checks import check_number
from ..._deprecation import positional_options
from ...errors import ParameterError
from ...lattice import Lattice
from ...network import LinearNetwork, Network
from ...operators import identity, laplacian
from ...schemes import Scheme
from .losses import LaplacianLoss, SquaredNormLoss

SIGNS = ("corrected", "printed")


@positional_options
def momentum_network(
    lattice: Lattice, m: float, dt: float, *, scheme: str | Scheme = "leapfrog", sign: str = "corrected"
) -> Network:
    """The network (3.7)/(3.8) with loss (3.11): W = I, B = I; learning by autodiff gives (3.10).

    ``sign="printed"`` uses the printed sign of A in (3.8) (equivalently the loss -(3.11)); it does not give
    (3.10) and its massive modes grow exponentially.
    """
    if sign not in SIGNS:
        raise ParameterError("sign", f"expected one of {SIGNS}, got {sign!r}")
    check_number("m", m, minimum=0.0)
    check_number("dt", dt, positive=True)
    nd = lattice.ndim
    loss = LaplacianLoss(m=m, sign=1.0 if sign == "corrected" else -1.0, spacing=lattice.spacing)
    return Network.create(
        lattice, identity(nd), identity(nd), loss, dt, scheme, name=f"klein-gordon (3.8) [{sign}]"
    )


@positional_options
def printed_linear_network(lattice: Lattice, m: float, dt: float = 1.0, *, sign: str = "printed") -> LinearNetwork:
    """The tensors (3.8) literally, ``A = -(Lap_a) + m^2`` as printed (or its negative, ``sign="corrected"``)."""
    if sign not in SIGNS:
        raise ParameterError("sign", f"expected one of {SIGNS}, got {sign!r}")
    check_number("m", m, minimum=0.0)
    check_number("dt", dt, positive=True)
    nd = lattice.ndim
    eye = identity(nd)
    A = (-1.0) * laplacian(nd, lattice.spacing) + m**2 * eye
    if sign == "corrected":
        A = -A
    return LinearNetwork.create(lattice, eye, eye, A, eye, dt, "simultaneous", name=f"(3.8) literal [{sign}]")


def leapfrog_network(lattice: Lattice, m: float, dt: float) -> Network:
    """The network (3.14)-(3.18) in D dimensions with physical step ``dt`` (unit learning rate; tick = dt).

    ``W = 2 + dt^2 (Lap_a - m^2)``, ``B = I``, loss (3.18). Combined dynamics: the leapfrog (3.19)
    ``phi(t+dt) - 2 phi(t) + phi(t-dt) = dt^2 (Lap_a - m^2) phi(t)``. Order 2 in dt.
    """
    check_number("m", m, minimum=0.0)
    check_number("dt", dt, positive=True)
    nd = lattice.ndim
    eye = identity(nd)
    W = 2.0 * eye + dt**2 * (laplacian(nd, lattice.spacing) - m**2 * eye)
    return Network.create(
        lattice, W, eye, SquaredNormLoss(), 1.0, "simultaneous", tick=dt, name="klein-gordon (3.14)", order=2
    )
