"""``nnfield._trace.trace_once``: the learning gradient and the observer traced once per run, inlined.

A warm ``nnfield run`` traced the same learning gradient up to seven times (the observer's network step, the chunk's
half kicks and loop body, the observer again inside the chunk) and the observer twice. They are now traced once per
argument structure and the cached jaxpr inlined (``docs/performance.md``, "Overhead of small runs", session 36).
What must hold: the programs are the ones a direct trace gives (same jaxpr, same lowered module), the values are
unchanged under ``jit``, ``grad`` and ``vmap``, the Python of the loss runs once per structure, and eager calls
still call the function directly.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, State, run
from nnfield._trace import trace_once
from nnfield.network import _learning_gradient
from nnfield.operators import share_shifts
from nnfield.theories import klein_gordon as kg

#: one entry per run of :class:`CountingLoss`'s Python
CALLS: list[int] = []


class CountingLoss(eqx.Module):
    """The network (3.8)'s loss ``H = pi^2/2 - phi Lap phi/2 + m^2 phi^2/2`` that counts how often its Python runs."""

    m: Any

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        CALLS.append(1)
        lap = sum(jnp.roll(phi, s, axis=a) for a in range(1, phi.ndim) for s in (1, -1)) - 2 * (phi.ndim - 1) * phi
        return 0.5 * jnp.sum(pi**2) - 0.5 * jnp.sum(phi * lap) + 0.5 * self.m**2 * jnp.sum(phi**2)


def _net(shape=(16,), m=0.7, dt=0.05):
    lat = Lattice(shape)
    net = kg.momentum_network(lat, m, dt)
    return lat, net


def _state(shape, rng):
    return State(jnp.asarray(rng.normal(size=(1, *shape))), jnp.asarray(rng.normal(size=(1, *shape))))


def _direct(net, phi, pi):
    return share_shifts(_learning_gradient)(net, phi, pi)


def test_a_run_program_is_the_program_of_a_direct_trace(rng, monkeypatch):
    """The chunk-like program (advance with observations) traced with ``trace_once`` and with the direct
    ``share_shifts`` call gives the same jaxpr and the same lowered module (so the same compiled program)."""
    lat, net = _net((12, 10))
    state = _state((12, 10), rng)

    def program(n, s):  # the network an argument, as in a run
        s = n.advance(s, 3)
        return s, n.step(s).phi.sum()

    new_jaxpr = str(jax.make_jaxpr(program)(net, state))
    new_text = jax.jit(program).lower(net, state).as_text()
    import nnfield.network as network

    monkeypatch.setattr(network, "_SHARED_GRADIENT", share_shifts(_learning_gradient))
    jax.clear_caches()  # (JAX caches the loops' bodies: trace them again)
    old_jaxpr = str(jax.make_jaxpr(program)(net, state))
    old_text = jax.jit(program).lower(net, state).as_text()
    assert new_jaxpr == old_jaxpr
    assert new_text == old_text


def test_the_loss_is_traced_once_per_structure(rng):
    """Learning gradients of one structure inside one staged program run the loss's Python once (a run's chunk
    traced it four times: half kicks, loop body, the step); the network is an argument, as in a run."""
    lat, net = _net((16,))
    net = eqx_replace(net, CountingLoss(jnp.asarray(0.7)))
    state = _state((16,), rng)
    program = lambda n, s: n.advance(n.step(s), 3)  # noqa: E731
    CALLS.clear()
    jax.make_jaxpr(program)(net, state)
    once = len(CALLS)
    CALLS.clear()
    jax.make_jaxpr(program)(net, state)
    again = len(CALLS)
    assert once == 1, once  # the gradient's jaxpr is traced once, then inlined from JAX's cache
    assert again == 0  # (a second program with the same structure: not even once)
    CALLS.clear()
    jax.make_jaxpr(lambda s: net.advance(net.step(s), 3))(state)  # the network's arrays concrete: direct calls
    assert len(CALLS) >= 4


def eqx_replace(net, loss):
    return eqx.tree_at(lambda n: n.loss, net, loss)


def test_values_equal_the_direct_gradient_under_jit_grad_and_vmap(rng):
    lat, net = _net((20,))
    s = _state((20,), rng)
    eager = net.learning_gradient(s.phi, s.pi)
    np.testing.assert_array_equal(eager, _direct(net, s.phi, s.pi))  # an eager call calls the function directly
    jitted = jax.jit(net.learning_gradient)(s.phi, s.pi)
    np.testing.assert_allclose(jitted, _direct(net, s.phi, s.pi), rtol=0, atol=1e-13)

    def energy_after(m, phi, pi, direct):
        n = kg.momentum_network(lat, m, 0.05)
        g = _direct(n, phi, pi) if direct else n.learning_gradient(phi, pi)
        return jnp.sum(g**2)

    for argnums in (0, 1):
        new = jax.grad(energy_after, argnums=argnums)(0.7, s.phi, s.pi, False)
        old = jax.grad(energy_after, argnums=argnums)(0.7, s.phi, s.pi, True)
        np.testing.assert_allclose(new, old, rtol=1e-14, atol=1e-13)
    phis = jnp.stack([s.phi, 2 * s.phi, -s.phi])
    new = jax.vmap(lambda p: net.learning_gradient(p, s.pi))(phis)
    old = jax.vmap(lambda p: _direct(net, p, s.pi))(phis)
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-13)


def test_a_run_equals_the_run_of_the_direct_gradient(rng, monkeypatch):
    """``nnfield.run`` of (3.8) with observations: bit for bit the run with the direct trace (the same program)."""
    model = kg.model(Lattice((32,)), 0.7, 0.05)
    s = _state((32,), rng)
    new = run(model.network, s, 20, every=5, observer=model.observables)
    import nnfield.network as network

    monkeypatch.setattr(network, "_SHARED_GRADIENT", share_shifts(_learning_gradient))
    jax.clear_caches()
    old = run(model.network, s, 20, every=5, observer=model.observables)
    for a, b in zip(jax.tree_util.tree_leaves(new), jax.tree_util.tree_leaves(old), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_eager_calls_and_unhashable_static_leaves_call_the_function_directly():
    calls = []

    def f(x, opts):
        calls.append(1)
        return x * len(opts["scale"])

    g = trace_once(f)
    assert float(g(jnp.asarray(2.0), {"scale": "ab"})) == 4.0  # eager: a direct call
    assert len(calls) == 1
    jax.make_jaxpr(lambda x: g(x, {"scale": "ab"}) + g(x, {"scale": "ab"}))(1.0)
    assert len(calls) == 2  # traced once for both calls
    jax.make_jaxpr(lambda x: g(x, {"scale": "abc"}))(1.0)
    assert len(calls) == 3  # another static leaf: another trace
    unhashable = {"scale": ["a", "b"]}  # a list is a pytree: its strings are static leaves, hashable
    jax.make_jaxpr(lambda x: g(x, unhashable))(1.0)

    class Unhashable:
        __hash__ = None

        def __len__(self):
            return 5

    h = trace_once(lambda x, o: x * len(o))
    out = jax.jit(lambda x: h(x, Unhashable()))(1.0)  # traced directly
    assert float(out) == 5.0


def test_python_numbers_are_static_and_concrete_arrays_call_directly():
    """A Python number is part of the key (the function sees the number, as a direct call does); a concrete array
    is not hashable, so such a call is traced directly."""
    calls = []

    def f(x, c):
        calls.append(1)
        return x * c

    g = trace_once(f)
    out = jax.jit(lambda x: (g(x, 0.5), g(x, 0.5), g(x, 0.25)))(2.0)
    assert [float(v) for v in out] == [1.0, 1.0, 0.5]
    assert len(calls) == 2  # one trace per value
    calls.clear()
    c = jnp.asarray(0.5)
    out = jax.jit(lambda x: (g(x, c), g(x, c)))(2.0)
    assert [float(v) for v in out] == [1.0, 1.0]
    assert len(calls) == 2  # direct calls


def _gauge_models():
    from nnfield.theories import maxwell_dirac as md
    from nnfield.theories import scalar_qed as sq

    lat = Lattice((8, 6), 0.6)
    return {"scalar-qed": sq.model(lat, 0.05, charge=1.3, lam=0.4, v=0.9, m=0.3), "maxwell-dirac": md.model(lat, 0.05)}


def _primitives(jaxpr) -> dict[str, int]:
    """How often each primitive occurs in ``jaxpr`` and the jaxprs in its equations' parameters."""
    counts: dict[str, int] = {}

    def walk(j):
        j = getattr(j, "jaxpr", j)  # a ClosedJaxpr's jaxpr
        for eqn in j.eqns:
            counts[eqn.primitive.name] = counts.get(eqn.primitive.name, 0) + 1
            for v in eqn.params.values():
                for sub in v if isinstance(v, tuple) else (v,):
                    if hasattr(getattr(sub, "jaxpr", sub), "eqns"):
                        walk(sub)

    walk(jaxpr)
    return counts


@pytest.mark.parametrize("name", ["scalar-qed", "maxwell-dirac"])
def test_gauge_networks_program_is_the_program_of_a_direct_trace(name, monkeypatch):
    """The gauge networks' learning gradients (``GaugeNetwork.gradients``, ``DiracMatter.learning_gradient``) are
    traced once per structure too. The chunk-like program has the direct trace's equations (the same primitives,
    as often) and computes the same bits; only the order in which a loop lists the network's parameters it
    closes over may differ (the inlined jaxpr reads them in its own order), which renames nothing it computes."""
    import nnfield.theories.maxwell_dirac.matter as md_matter
    import nnfield.theories.u1.network as u1_network

    model = _gauge_models()[name]
    rng = np.random.default_rng(3)
    shape = (model.network.K, *model.lattice.shape)
    state = model.encode(0.7 * rng.standard_normal(shape), 0.7 * rng.standard_normal(shape))

    def program(m, s):  # the model an argument, as in a run
        s = m.network.advance(s, 3)
        return s, m.observables(s)

    new_jaxpr, new = jax.make_jaxpr(program)(model, state), jax.jit(program)(model, state)
    monkeypatch.setattr(u1_network, "_GRADIENTS", u1_network._gradients)
    monkeypatch.setattr(md_matter, "_LEARNING_GRADIENT", md_matter._learning_gradient)
    jax.clear_caches()  # (JAX caches the loops' bodies: trace them again)
    old_jaxpr, old = jax.make_jaxpr(program)(model, state), jax.jit(program)(model, state)
    assert _primitives(new_jaxpr) == _primitives(old_jaxpr)  # (no nested jit more: inlined)
    for a, b in zip(jax.tree_util.tree_leaves(new), jax.tree_util.tree_leaves(old), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_switch_traces_every_call_directly(rng, monkeypatch):
    """``NNFIELD_TRACE_ONCE=0`` (read at import as ``_trace.ENABLED``) traces each occurrence again, as before."""
    import nnfield._trace as trace

    monkeypatch.setattr(trace, "ENABLED", False)
    jax.clear_caches()
    lat, net = _net((16,))
    net = eqx_replace(net, CountingLoss(jnp.asarray(0.7)))
    CALLS.clear()
    jax.make_jaxpr(lambda n, s: n.advance(n.step(s), 3))(net, _state((16,), rng))
    assert len(CALLS) >= 4
