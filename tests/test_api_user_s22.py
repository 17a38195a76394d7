"""Mistakes of a researcher using the Python API from its docs (session 22): each was a deep JAX/NumPy
traceback, or ran silently on the wrong data; now one ``ParameterError`` naming the argument and the fix."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, Network, State
from nnfield import network as nnet
from nnfield.errors import ParameterError
from nnfield.operators import identity, laplacian
from nnfield.theories import klein_gordon as kg

jax.config.update("jax_enable_x64", True)

LAT = Lattice((16, 16), spacing=0.5)


def _loss(phi, pi):
    return -0.5 * jnp.sum(phi * laplacian(2, 0.5).apply(phi)) + 0.5 * jnp.sum(phi * phi)


def test_a_run_refuses_a_state_of_another_lattice():
    """A 16 x 16 network ran an 8 x 8 state silently (a periodic box of another size: wrong physics)."""
    net = kg.model(LAT, m=1.0, dt=0.1).network
    z = jnp.zeros((1, 8, 8))
    for call in (lambda s: nnet.run(net, s, 2), lambda s: net.run(s, 2, 1, lambda s: {"n": jnp.sum(s.phi)}),
                 lambda s: nnet.trajectory(net, s, 2), lambda s: nnet.run_snapshots(net, s, 1, 2)):
        with pytest.raises(ParameterError, match=r"state: field phi has shape \(1, 8, 8\); .*\(components, 16, "
                                                  r"16\)"):
            call(State(z, z))
    good = jnp.zeros((1, 16, 16))
    with pytest.raises(ParameterError, match=r"state: field phi has shape \(16, 16\)"):
        net.run(State(good[0], good[0]), 2)  # the component axis forgotten: was a ValueError from deep inside


def test_a_run_refuses_mismatched_phi_and_pi():
    net = kg.model(LAT, m=1.0, dt=0.1).network
    phi = jnp.zeros((1, 16, 16))
    with pytest.raises(ParameterError, match=r"state: phi is float32 and pi float64; .*State.astype"):
        net.run(State(phi.astype(jnp.float32), phi), 2)  # was a VJP type error from the learning gradient
    with pytest.raises(ParameterError, match=r"state: expected floating-point fields, got int64"):
        net.run(State(phi.astype(int), phi.astype(int)), 2)  # was jax.grad's "requires real- or complex-valued"
    with pytest.raises(ParameterError, match=r"state: expected real fields .* got complex128"):
        net.run(State(phi + 0j, phi + 0j), 2)
    two = Network.create(LAT, identity(2, 2), identity(2, 2), lambda p, q: 0.5 * jnp.sum(p * p), 0.1)
    with pytest.raises(ParameterError, match=r"state: expected K = 2 components .*got 1"):
        two.run(State(phi, phi), 2)
    with pytest.raises(ParameterError, match=r"state: expected a State\(phi, pi\).* got tuple"):
        net.run((phi, phi), 2)  # was AttributeError: 'tuple' object has no attribute 'phi'


def test_valid_states_still_run_under_jit_vmap_and_grad():
    model = kg.model(LAT, m=1.0, dt=0.1)
    rng = np.random.default_rng(0)
    s0 = model.encode(rng.normal(size=(1, 16, 16)), np.zeros((1, 16, 16)))
    batch = jax.tree_util.tree_map(lambda x: jnp.stack([x, 2 * x]), s0)
    out = jax.vmap(lambda s: model.network.run(s, 3)[0])(batch)
    assert out.phi.shape == (2, 1, 16, 16)
    assert np.array_equal(np.asarray(out.phi[0]), np.asarray(model.network.run(s0, 3)[0].phi))
    g = jax.grad(lambda p: jnp.sum(model.network.run(State(p, s0.pi), 3)[0].phi ** 2))(s0.phi)
    assert g.shape == (1, 16, 16)
    assert model.network.run(s0.astype(jnp.float32), 3)[0].phi.dtype == jnp.float32


def test_a_traced_step_count_says_it_must_be_static():
    net = kg.model(LAT, m=1.0, dt=0.1).network
    s = State(jnp.zeros((1, 16, 16)), jnp.zeros((1, 16, 16)))
    with pytest.raises(ParameterError, match=r"steps: .*a Python int.*static_argnums"):
        jax.jit(lambda n: net.run(s, n)[0].phi)(10)


def test_network_create_names_its_wrong_arguments():
    eye = identity(2)
    with pytest.raises(ParameterError, match=r"W: expected a LatticeOperator .*got ndarray; .*local"):
        Network.create(LAT, np.eye(1), eye, _loss, 0.1)  # was AttributeError: no attribute 'K'
    with pytest.raises(ParameterError, match=r"B: expected a LatticeOperator"):
        Network.create(LAT, eye, 1.0, _loss, 0.1)
    with pytest.raises(ParameterError, match=r"loss: expected a callable H\(phi, pi\) .*got str"):
        Network.create(LAT, eye, eye, "loss", 0.1)  # was accepted, then failed inside the first run
    with pytest.raises(ParameterError, match=r"lattice: expected a nnfield.Lattice, got tuple \(16, 16\); "
                                              r"e.g. Lattice\(\(16, 16\)"):
        Network.create((16, 16), eye, eye, _loss, 0.1)


def test_builders_name_a_lattice_given_as_a_tuple():
    with pytest.raises(ParameterError, match=r"lattice: expected a nnfield.Lattice, got tuple"):
        kg.model((16, 16), m=1.0, dt=0.1)  # was AttributeError: 'tuple' object has no attribute 'ndim'


def test_the_scalar_physics_sides_refuse_fields_without_their_component_axis():
    """``theory.exact(phi[0], pi[0], t)`` took the first *row* of a 2D field for the field and returned a wrong
    ``(1, 16, 16)`` solution silently (likewise the Hamiltonian: the energy of one row)."""
    from nnfield.theories import nonlinear as nl

    rng = np.random.default_rng(0)
    phi, pi = rng.normal(size=(1, 16, 16)), rng.normal(size=(1, 16, 16))
    theory = kg.model(LAT, m=1.0, dt=0.1).theory
    for call in (lambda p, q: theory.exact(p, q, 1.0), lambda p, q: theory.reference(p, q, 1.0),
                 theory.hamiltonian, theory.equations):
        with pytest.raises(ParameterError, match=r"phi: expected shape \(1, 16, 16\) \(K, \*lattice.shape\), got "
                                                  r"\(16, 16\)"):
            call(phi[0], pi[0])
    with pytest.raises(ParameterError, match=r"pi: expected shape \(1, 16, 16\)"):
        theory.exact(phi, pi[:, :8], 1.0)
    field = nl.phi4_model(LAT, m=1.0, lam=0.5, dt=0.05).theory
    with pytest.raises(ParameterError, match=r"phi: expected shape \(1, 16, 16\)"):
        field.hamiltonian(phi[0], pi[0])
    # the right shapes: unchanged, also traced (a period of the k = 0 mode returns it)
    w0 = float(theory.omega()[0, 0])
    flat = np.ones((1, 16, 16))
    back, _ = theory.exact(flat, 0 * flat, 2 * np.pi / w0)
    assert np.allclose(back, flat, atol=1e-12)
    assert jax.grad(lambda p: theory.hamiltonian(p, jnp.asarray(pi)))(jnp.asarray(phi)).shape == (1, 16, 16)


def test_one_neuron_helpers_refuse_mismatched_data():
    """``neuron.initial_state([0.1, 0.2], [0.0])`` gave phi (1, 2) and pi (1, 1), and ``evolve`` broadcast them (or
    a state of 2 neurons on a network of 3) into a run without an error."""
    from nnfield.duality import neuron

    with pytest.raises(ParameterError, match=r"beta0: expected one value per neuron like phi0 \(2\), got 1"):
        neuron.initial_state([0.1, 0.2], [0.0])
    s = neuron.initial_state([0.1, 0.2], [0.0, 0.0])
    with pytest.raises(ParameterError, match=r"state: field phi has shape \(1, 2\); .*\(components, 3\)"):
        neuron.evolve(neuron.network("quartic", 0.1, n=3), s, 10)
    with pytest.raises(ParameterError, match=r"state: field phi has shape \(1, 2\)"):
        neuron.energy_history(neuron.network("quartic", 0.1, n=3), neuron.potential("quartic"), s, 10, 5)
    net = neuron.network("quartic", 0.1, n=2)
    # the valid state still runs: the same ticks as a trajectory, to round-off (a loop vs a scan of ten steps)
    assert np.allclose(np.asarray(neuron.evolve(net, s, 10).phi), np.asarray(nnet.trajectory(net, s, 10).phi[-1]),
                       rtol=1e-13, atol=0)


def test_positive_frequency_refuses_a_dispersion_of_another_shape():
    """A 1D ``omega`` on a 16 x 16 lattice broadcast along the last axis into a wrong ``pi`` without an error; a
    function instead of an array failed with "unsupported operand ... 'function'"."""
    from nnfield import initial

    with pytest.raises(ParameterError, match=r"omega_k on the lattice's FFT grid, shape \(16, 16\), got shape \(16,\)"):
        initial.gaussian_packet(Lattice((16, 16)), initial.PositiveFrequency(np.ones(16)), center=[4.0, 4.0],
                                width=1.0)
    with pytest.raises(ParameterError, match="as an array on the lattice's FFT grid, got function"):
        initial.PositiveFrequency(lambda k: k)
