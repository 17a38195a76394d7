r"""Lattice operators ``O = sum_s C_s (x) T_s`` (the core's linear algebra on the lattice).

- :mod:`._operator`: :class:`LatticeOperator` (constant or per-site ``K x K`` coefficients), its algebra
  (``+``, ``-``, scalar ``*``, ``@``, transpose, Fourier symbol, dense matrix) and builders (identity, local,
  shifts, forward/central differences, the Laplacian, Kronecker products), and :func:`apply_local`.
- :mod:`._shift`: the periodic shift primitive and its fusible lowerings.
- :mod:`._share`: :func:`share_shifts`, which evaluates a function with identical shifted reads shared.
"""

from ._operator import LatticeOperator as LatticeOperator
from ._operator import Pattern as Pattern
from ._operator import Shift as Shift
from ._operator import apply_local as apply_local
from ._operator import array_module as array_module
from ._operator import central_difference as central_difference
from ._operator import forward_difference as forward_difference
from ._operator import half_sum_of_squares as half_sum_of_squares
from ._operator import identity as identity
from ._operator import kron as kron
from ._operator import laplacian as laplacian
from ._operator import local as local
from ._operator import nonzero_pattern as nonzero_pattern
from ._operator import shift_operator as shift_operator
from ._share import share_shifts as share_shifts
from ._shift import shift as shift

__all__ = [
    "LatticeOperator",
    "Pattern",
    "Shift",
    "apply_local",
    "central_difference",
    "forward_difference",
    "half_sum_of_squares",
    "identity",
    "kron",
    "laplacian",
    "local",
    "nonzero_pattern",
    "share_shifts",
    "shift",
    "shift_operator",
]
