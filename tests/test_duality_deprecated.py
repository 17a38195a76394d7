"""The old names made of equation numbers still work for one release, with a DeprecationWarning naming the new."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

OLD_NAMES = [
    ("nnfield.duality.symbolic", "hamiltonian_214", "n_neuron_hamiltonian"),
    ("nnfield.duality.symbolic", "check_216_conditions", "check_n_neuron_conditions"),
    ("nnfield.duality.symbolic", "potential_term_216", "line_integral_potential"),
    ("nnfield.duality.symbolic", "loss_216", "n_neuron_loss"),
    ("nnfield.duality.symbolic", "matrices_219", "hamiltonian_learning_matrices"),
    ("nnfield.duality.symbolic", "hamiltonian_221", "linear_hamiltonian"),
    ("nnfield.duality.symbolic", "loss_220", "linear_loss"),
    ("nnfield.duality.linear", "system_219", "hamiltonian_system"),
    ("nnfield.duality.linear", "hamiltonian_221", "linear_hamiltonian_matrix"),
    ("nnfield.duality.linear", "Loss220", "LinearLoss"),
    ("nnfield.duality.linear", "loss_220", "linear_loss"),
    ("nnfield.duality.neurons", "Loss216", "NNeuronLoss"),
    ("nnfield.checks.sec2", "check_loss_220", "check_linear_loss_validity"),
]


@pytest.mark.parametrize("module,old,new", OLD_NAMES)
def test_old_name_is_a_deprecated_alias(module, old, new):
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=new):
        obj = getattr(mod, old)
    assert obj is getattr(mod, new)
    with pytest.raises(AttributeError):
        mod.no_such_name  # noqa: B018


def test_old_linear_system_methods_warn_and_agree():
    from nnfield.duality import linear as L

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 3))
    s = L.hamiltonian_system(X + X.T, rng.normal(size=(3, 3)) + 3 * np.eye(3))
    for old, new in [("matrix_217", "matrix_phi_pi"), ("matrix_218", "matrix_phi_beta"),
                     ("check_219", "check_hamiltonian_conditions")]:
        with pytest.warns(DeprecationWarning, match=new):
            got = getattr(s, old)()
        want = getattr(s, new)()
        if isinstance(want, dict):
            assert got == want
        else:
            assert np.array_equal(got, want)


def test_old_names_import_with_from():
    with pytest.warns(DeprecationWarning, match="n_neuron_loss"):
        from nnfield.duality.symbolic import loss_216  # noqa: F401
