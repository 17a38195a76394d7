"""The Hamiltonian <-> loss duality of the paper's Sec. 2, symbolic (SymPy) and numeric (JAX).

Modules (SymPy is imported only by :mod:`~nnfield.duality.symbolic` and :mod:`~nnfield.duality.command`):

- :mod:`~nnfield.duality.parse`: the safe whitelist expression parser (no ``eval``), its expression tree,
  exact tree derivatives and :class:`~nnfield.duality.parse.ExprFunction` (JAX/NumPy callables); one
  module per concept in :mod:`~nnfield.duality.expression`.
- :mod:`~nnfield.duality.conditions`: the named condition errors with measured violations.
- :mod:`~nnfield.duality.symbolic`: (2.1)-(2.21) in SymPy (a package: conversion, zero test, one neuron,
  N neurons, linear system); pretty/LaTeX output; ``lambdify`` to JAX.
- :mod:`~nnfield.duality.neuron`: one neuron (2.1)-(2.9) as a network vs Hamilton's flow (DOP853).
- :mod:`~nnfield.duality.neurons`: N neurons, the loss (2.16) and the Hamiltonian (2.14).
- :mod:`~nnfield.duality.linear`: the general linear system (2.17)-(2.21), both directions, many-to-one.
- :mod:`~nnfield.duality.command`: ``nnfield dual``.
"""

from __future__ import annotations

from .conditions import AsymmetricWeightError as AsymmetricWeightError
from .conditions import DualityConditionError as DualityConditionError
from .conditions import HamiltonianFormError as HamiltonianFormError
from .conditions import IntegrabilityError as IntegrabilityError
from .conditions import LinearSystemError as LinearSystemError
from .conditions import LossFormError as LossFormError
from .conditions import LossValidityError as LossValidityError
from .conditions import NonCommutingError as NonCommutingError
from .conditions import SingularBiasError as SingularBiasError
from .parse import ExpressionError as ExpressionError
from .parse import ExprFunction as ExprFunction
from .parse import parse_expression as parse_expression
