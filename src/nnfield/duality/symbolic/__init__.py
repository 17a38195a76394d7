r"""The Hamiltonian <-> loss duality of the paper's Sec. 2 in SymPy (outside the JAX core).

One module per concept:

- :mod:`.convert`: safe-parser trees -> SymPy (:func:`to_sympy`, :func:`parse_sympy`), SymPy -> JAX
  (:func:`lambdify_jax`), and the symbols :data:`PHI`, :data:`BETA`, :data:`W_ARG`, :data:`T`, :data:`DT`;
- :mod:`.inputs`: the arguments of the public functions: text through the safe parser, SymPy objects checked;
- :mod:`.zero`: the numerical zero test :func:`measure` (and :func:`is_zero` for small library expressions);
- :mod:`.neuron`: one neuron, (2.1)-(2.9): :class:`NeuronDuality`, :func:`loss_from_hamiltonian`,
  :func:`hamiltonian_from_loss`;
- :mod:`.neurons`: N neurons, (2.10)-(2.16): :func:`n_neuron_loss` (2.16), :func:`n_neuron_hamiltonian`
  (2.14), :func:`check_n_neuron_conditions`, flows (2.11)-(2.13);
- :mod:`.linear`: the general linear system (2.17)-(2.21): :func:`linear_network_matrix` (2.18),
  :func:`hamiltonian_learning_matrices` (2.19), :func:`linear_loss` (2.20), :func:`linear_hamiltonian` (2.21).

Expression strings come only through the safe parser :func:`nnfield.duality.parse.parse_expression`;
:func:`to_sympy` builds SymPy objects from its tree (text is never passed to ``sympify``, nor to a SymPy function
that would call it: ``diff``, ``simplify``, ``Matrix``). :mod:`.inputs` guards the public functions:
:func:`loss_from_hamiltonian` and :func:`hamiltonian_from_loss` read text with :func:`parse_sympy` (``phi``,
``beta``, ``w`` are :data:`PHI`, :data:`BETA`, :data:`W_ARG`; other names must be declared ``parameters``) and
refuse a symbol that is neither a variable nor a parameter; the others take SymPy objects (and numbers) only
and raise ``TypeError`` for text. The old names made of
equation numbers (``loss_216``, ``hamiltonian_221``, ...) still resolve, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import sympy as sp  # noqa: F401  (``symbolic.sp`` is used by callers)

from ..._deprecation import deprecated_names
from .convert import BETA as BETA
from .convert import DT as DT
from .convert import PHI as PHI
from .convert import W_ARG as W_ARG
from .convert import T as T
from .convert import lambdify_jax as lambdify_jax
from .convert import parse_sympy as parse_sympy
from .convert import to_sympy as to_sympy
from .linear import hamilton_matrix as hamilton_matrix
from .linear import hamiltonian_learning_matrices as hamiltonian_learning_matrices
from .linear import linear_hamiltonian as linear_hamiltonian
from .linear import linear_loss as linear_loss
from .linear import linear_network_matrix as linear_network_matrix
from .linear import loss_network_matrix as loss_network_matrix
from .linear import quadratic_matrix as quadratic_matrix
from .neuron import NeuronDuality as NeuronDuality
from .neuron import general_one_neuron_residual as general_one_neuron_residual
from .neuron import hamiltonian_from_loss as hamiltonian_from_loss
from .neuron import loss_from_hamiltonian as loss_from_hamiltonian
from .neuron import total_gradient as total_gradient
from .neurons import check_n_neuron_conditions as check_n_neuron_conditions
from .neurons import flow_residual as flow_residual
from .neurons import hamilton_flow as hamilton_flow
from .neurons import hessian as hessian
from .neurons import line_integral_potential as line_integral_potential
from .neurons import n_neuron_hamiltonian as n_neuron_hamiltonian
from .neurons import n_neuron_loss as n_neuron_loss
from .neurons import network_flow as network_flow
from .neurons import neuron_symbols as neuron_symbols
from .zero import is_zero as is_zero
from .zero import measure as measure

#: deprecated names (equation numbers) -> their names
DEPRECATED = {
    "hamiltonian_214": "n_neuron_hamiltonian",
    "check_216_conditions": "check_n_neuron_conditions",
    "potential_term_216": "line_integral_potential",
    "loss_216": "n_neuron_loss",
    "matrices_219": "hamiltonian_learning_matrices",
    "hamiltonian_221": "linear_hamiltonian",
    "loss_220": "linear_loss",
}

__getattr__ = deprecated_names(__name__, DEPRECATED, globals())
