"""Proposed tests (for tests/test_operators.py): the periodic-shift primitive and share_shifts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.operators import laplacian, share_shifts, shift
from nnfield.theories import klein_gordon as kg

SHIFTS = [(1, 0, 0), (0, -2, 3), (7, 6, -1), (0, 0, 0)]


@pytest.mark.parametrize("s", SHIFTS)
def test_shift_matches_roll_and_is_linear_with_inverse_transpose(s):
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 5, 6, 7)))
    want = np.roll(np.asarray(x), [-v for v in s], axis=(1, 2, 3))
    np.testing.assert_array_equal(shift(x, s, axis0=1), want)
    np.testing.assert_array_equal(jax.jit(lambda y: shift(y, s, axis0=1))(x), want)
    # transpose = inverse shift, exactly
    back = jax.linear_transpose(lambda y: shift(y, s, axis0=1), x)(x)[0]
    np.testing.assert_array_equal(back, np.roll(np.asarray(x), list(s), axis=(1, 2, 3)))
    # forward and reverse mode agree with jnp.roll
    f = lambda y: jnp.sum(jnp.sin(y) * shift(y, s, axis0=1))  # noqa: E731
    g = lambda y: jnp.sum(jnp.sin(y) * jnp.roll(y, [-v for v in s], axis=(1, 2, 3)))  # noqa: E731
    v = jnp.ones_like(x)
    eps = 1e3 * np.finfo(float).eps * float(jnp.abs(x).max()) ** 2 * x.size
    np.testing.assert_allclose(jax.grad(f)(x), jax.grad(g)(x), atol=eps)
    np.testing.assert_allclose(jax.jvp(f, (x,), (v,))[1], jax.jvp(g, (x,), (v,))[1], atol=eps)
    # vmap over a new leading axis and over a trailing one
    xb = jnp.stack([x, 2 * x])
    np.testing.assert_array_equal(jax.vmap(lambda y: shift(y, s, axis0=1))(xb), np.stack([want, 2 * want]))
    np.testing.assert_array_equal(
        jax.vmap(lambda y: shift(y, s, axis0=1), in_axes=4, out_axes=4)(jnp.stack([x, 2 * x], axis=-1)),
        np.stack([want, 2 * want], axis=-1),
    )


def _count(jaxpr, name):
    return sum(e.primitive.name == name for e in jaxpr.eqns)


def test_share_shifts_is_bitwise_identical_and_halves_the_shifts():
    lap = laplacian(3, 0.5)

    def grad(phi):
        return jax.grad(lambda f: -0.5 * jnp.sum(f * lap.apply(f)) + 0.3 * jnp.sum(f * f))(phi)

    phi = jnp.asarray(np.random.default_rng(1).normal(size=(1, 6, 5, 4)))
    with jax.disable_jit():  # op by op: the same floating-point operations
        np.testing.assert_array_equal(share_shifts(grad)(phi), grad(phi))
    tol = 1e2 * np.finfo(phi.dtype).eps * float(jnp.abs(grad(phi)).max())
    np.testing.assert_allclose(jax.jit(share_shifts(grad))(phi), jax.jit(grad)(phi), rtol=0, atol=tol)
    direct = jax.make_jaxpr(grad)(phi).jaxpr
    shared = jax.make_jaxpr(share_shifts(grad))(phi).jaxpr
    assert _count(direct, "periodic_shift") == 12
    assert _count(shared, "periodic_shift") == 6


def test_learning_gradient_is_the_chain_rule_of_the_composition():
    lat = Lattice((6, 5, 4), 0.7)
    net = kg.momentum_network(lat, 0.9, 0.1, scheme="leapfrog")
    rng = np.random.default_rng(2)
    phi, pi = rng.normal(size=(2, 1, *lat.shape))

    def ref(phi, pi):
        return jax.grad(lambda p: net.loss(phi + net.B.apply(p - pi), p))(pi)

    want = ref(phi, pi)
    tol = 1e2 * np.finfo(float).eps * float(np.abs(want).max())  # round-off of a 13-point stencil
    np.testing.assert_allclose(jax.jit(net.learning_gradient)(phi, pi), want, rtol=0, atol=tol)
    phis, pis = rng.normal(size=(2, 3, 1, *lat.shape))
    np.testing.assert_allclose(jax.vmap(net.learning_gradient)(phis, pis), jax.vmap(ref)(phis, pis), rtol=0, atol=tol)


def test_float32_fields_stay_float32_with_x64():
    lat = Lattice((4, 4, 4))
    net = kg.momentum_network(lat, 0.5, 0.1, scheme="leapfrog")
    s = kg.model(lat, 0.5, 0.1).initial_state(np.ones((1, 4, 4, 4), np.float32), np.ones((1, 4, 4, 4), np.float32))
    jaxpr = jax.make_jaxpr(net.step)(s)
    dtypes = {str(v.aval.dtype) for e in jaxpr.jaxpr.eqns for v in e.outvars if getattr(v.aval, "ndim", 0) > 0}
    assert dtypes == {"float32"}, dtypes


def test_the_repeat_lowering_of_the_minor_axis_is_the_same_shift():
    """``minor="repeat"`` changes only how a contiguous-axis shift is lowered: the same values bit for bit,
    kept through ``jit``, the transpose (``grad``) and ``vmap``."""
    x = jnp.asarray(np.random.default_rng(1).normal(size=(3, 5, 6, 7)))
    for s in SHIFTS:
        want = np.roll(np.asarray(x), [-v for v in s], axis=(1, 2, 3))
        got = jax.jit(lambda y, s=s: shift(y, s, axis0=1, minor="repeat"))(x)
        np.testing.assert_array_equal(got, want)
        back = jax.linear_transpose(lambda y, s=s: shift(y, s, axis0=1, minor="repeat"), x)(x)[0]
        assert "minor=repeat" in str(jax.make_jaxpr(jax.linear_transpose(
            lambda y, s=s: shift(y, s, axis0=1, minor="repeat"), x))(x)) or not any(s)
        np.testing.assert_array_equal(back, np.roll(np.asarray(x), list(s), axis=(1, 2, 3)))
        vm = jax.jit(jax.vmap(lambda y, s=s: shift(y, s, minor="repeat")))(x)
        np.testing.assert_array_equal(vm, want)
    with pytest.raises(ValueError, match="minor='outer'"):
        shift(x, (1, 0, 0), axis0=1, minor="outer")


# the paper network's case is slow: the stable one's run goes through the same gauged Wilson bias and lowerings
@pytest.mark.parametrize("network", ["stable", pytest.param("paper", marks=pytest.mark.slow)])
def test_the_gauged_wilson_network_gives_the_same_run_with_either_lowering(network):
    """The gauged Wilson bias map lowers its contiguous-axis shifts as repeats (faster there). The shifts are the
    same; XLA fuses the two programs differently, so a run agrees with the default lowering to round-off (the
    shipped 2+1 magnetic example: 2e-14), fields and observables."""
    from dataclasses import replace

    from nnfield import network as nnet
    from nnfield.state import State
    from nnfield.theories import gauge as g

    rng = np.random.default_rng(2)
    lat = Lattice((6, 5), 0.5)
    M = g.model(lat, 0.7, 0.05, g.random_links(lat, rng, 0.4), network=network, bias="wilson")
    inner = M.network.inner
    assert inner.B.minor == "repeat"
    pad = replace(M.network, inner=replace(inner, B=replace(inner.B, minor="pad")))
    assert "minor=repeat" in str(jax.make_jaxpr(lambda st: M.network.step(st))(
        State(jnp.zeros((M.network.K, *lat.shape)), jnp.zeros((M.network.K, *lat.shape)))))
    s = State(rng.normal(size=(M.network.K, *lat.shape)), rng.normal(size=(M.network.K, *lat.shape)))
    a_state, a_obs = nnet.run(M.network, s, 12, 3, M.observables)
    b_state, b_obs = nnet.run(pad, s, 12, 3, M.observables)
    eps = np.finfo(np.float64).eps
    for a, b in [(a_state.phi, b_state.phi), (a_state.pi, b_state.pi), *((a_obs[k], b_obs[k]) for k in a_obs)]:
        a, b = np.asarray(a), np.asarray(b)
        assert np.abs(a - b).max() <= 1e3 * eps * max(1.0, np.abs(b).max())


def test_eager_shifts_compile_once_per_shape():
    """Outside ``jit`` the shift is one compiled program whose offsets (of every axis) are an argument: new offsets
    or axes on the same shape reuse it (they compiled a program each before), with ``np.roll``'s values bit for
    bit."""
    from nnfield.operators._shift import _shift_eager

    x = jnp.asarray(np.random.default_rng(2).normal(size=(2, 9, 4, 5)))
    shift(x, (1, 2, 3), axis0=1)
    before = _shift_eager._cache_size()
    for s in [(3, -1, 2), (-7, 5, 0), (10, 0, -6), (8, 3, 4)]:
        want = np.roll(np.asarray(x), [-v for v in s], axis=(1, 2, 3))
        np.testing.assert_array_equal(shift(x, s, axis0=1), want)
    assert _shift_eager._cache_size() == before
