"""Every builder takes its lattice and physical parameters by position and its options by keyword (0.2.0).

Before 0.2.0 the options' positional order differed between families, so a positional call could pass a value to
another parameter than the one meant (``scalar_qed.model(lattice, dt, charge, ...)`` against
``klein_gordon.model(lattice, m, dt, ...)``). Options given by position still work for one release, with a
``DeprecationWarning`` that names them, and build the same network as the keyword call.
"""

from __future__ import annotations

import inspect

import jax
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.theories import dirac, gauge, klein_gordon, maxwell, maxwell_dirac, nonlinear, scalar_qed

#: builder -> its positional parameters (the rest is keyword-only)
BUILDERS = {
    klein_gordon.model: ("lattice", "m", "dt"),
    klein_gordon.momentum_network: ("lattice", "m", "dt"),
    klein_gordon.printed_linear_network: ("lattice", "m", "dt"),
    klein_gordon.leapfrog_network: ("lattice", "m", "dt"),
    dirac.model: ("lattice", "m", "dt"),
    dirac.paper_network: ("lattice", "m", "dt"),
    dirac.stable_network: ("lattice", "m", "dt"),
    dirac.literal_linear_network: ("lattice", "m", "dt"),
    gauge.model: ("lattice", "m", "dt", "links"),
    gauge.link_network: ("lattice", "m", "dt", "links"),
    gauge.linearized_network: ("lattice", "m", "dt"),
    gauge.with_links: ("m", "links"),
    nonlinear.phi4_model: ("lattice", "m", "lam", "dt"),
    nonlinear.sine_gordon_model: ("lattice", "m", "b", "dt"),
    nonlinear.model: ("lattice", "potential", "dt"),
    nonlinear.network: ("lattice", "potential", "dt"),
    scalar_qed.model: ("lattice", "dt"),
    maxwell.model: ("lattice", "dt"),
    maxwell_dirac.model: ("lattice", "dt"),
}


@pytest.mark.parametrize("builder", list(BUILDERS), ids=lambda f: f"{f.__module__.split('.')[-2]}.{f.__name__}")
def test_options_are_keyword_only(builder):
    params = inspect.signature(builder).parameters.values()
    positional = tuple(p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD)
    assert positional == BUILDERS[builder]
    # the Wilson parameter has one name everywhere
    assert "r" not in inspect.signature(builder).parameters


def _one_step(model, seed=0):
    """One tick of ``model``'s network from a random state (its encoded fields, as the network holds them)."""
    from nnfield.network import jit_step

    leaves, treedef = jax.tree_util.tree_flatten(model.initial_state(*_random_fields(model, seed)))
    return jax.tree_util.tree_leaves(jit_step(model.network, jax.tree_util.tree_unflatten(treedef, leaves)))


def _random_fields(model, seed):
    rng = np.random.default_rng(seed)
    shape = (model.network.K, *model.lattice.shape)
    return rng.normal(size=shape), rng.normal(size=shape)


def test_positional_options_still_work_for_one_release_with_a_warning_naming_them():
    lat = Lattice((8,), 0.5)
    with pytest.warns(DeprecationWarning, match=r"dirac\.models\.model: passing network, scheme by position is "
                                                r"deprecated; pass network=, scheme= by keyword"):
        old = dirac.model(lat, 0.7, 0.1, "paper", "leapfrog")
    new = dirac.model(lat, 0.7, 0.1, network="paper", scheme="leapfrog")
    for a, b in zip(_one_step(old), _one_step(new), strict=True):
        np.testing.assert_array_equal(a, b)
    assert new.network.scheme.name == "leapfrog"
    with pytest.warns(DeprecationWarning, match=r"passing charge, lam by position"):
        old = scalar_qed.model(Lattice((6, 6), 0.5), 0.05, 1.3, 0.7)
    new = scalar_qed.model(Lattice((6, 6), 0.5), 0.05, charge=1.3, lam=0.7)
    assert repr(old.theory) == repr(new.theory)


def test_an_option_given_twice_or_too_many_positional_arguments_is_a_type_error():
    lat = Lattice((8,), 0.5)
    with pytest.raises(TypeError, match="scheme= both by position and by keyword"):
        klein_gordon.momentum_network(lat, 1.0, 0.1, "leapfrog", scheme="alternating")
    with pytest.raises(TypeError, match="at most 3 positional arguments and 2 options by keyword"):
        klein_gordon.momentum_network(lat, 1.0, 0.1, "leapfrog", "corrected", "extra")


def test_the_old_wilson_keyword_of_link_network_still_works_with_a_warning():
    lat = Lattice((6, 6), 0.5)
    with pytest.warns(DeprecationWarning, match=r"link_network\(r=\.\.\.\) is deprecated; use wilson_r="):
        old = gauge.link_network(lat, 0.6, 0.05, bias="wilson", r=0.8)
    new = gauge.link_network(lat, 0.6, 0.05, bias="wilson", wilson_r=0.8)
    assert old.name == new.name


def test_with_links_keeps_the_models_own_lattice_dt_bias_and_wilson_r():
    """``gauge.with_links(model, links)`` (the rest defaults to the model's) equals a model built with those links."""
    from nnfield.network import jit_step

    lat = Lattice((6, 6), 0.5)
    rng = np.random.default_rng(0)
    links = gauge.random_links(lat, rng, 0.4)
    model = gauge.model(lat, 0.7, 0.05, links, bias="wilson", wilson_r=0.8)
    other = gauge.transform_links(links, rng.normal(size=lat.shape))
    state = model.initial_state(*_random_fields(model, 1))
    got = jit_step(gauge.with_links(model, other).network, state)
    want = jit_step(gauge.model(lat, 0.7, 0.05, other, bias="wilson", wilson_r=0.8).network, state)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)
