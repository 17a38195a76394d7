"""Session 30: the lowering of the learning step (issue 10, item 1).

- ``components``: the K neuron-type components of a field read by one linear primitive (its transpose is one
  stack; the slices ``f[b]`` transposed into K pads summed element by element);
- static patterns kept through the operator algebra under ``jit`` (``W - I`` applied 16 products per site
  instead of its 8 nonzero entries);
- ``half_sum_of_squares``: a ``1/2 phi.phi`` term whose gradient is ``phi`` with no copy pass.

The structural assertions count loop fusions of the compiled program (a property of the program, not a timing).
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.network import _run_jit
from nnfield.operators import LatticeOperator, half_sum_of_squares
from nnfield.operators._components import components
from nnfield.state import State
from nnfield.theories import dirac


def _rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# ----------------------------------------------------------------------------------------------------------
# the components primitive
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_components_are_the_slices_eager_and_jitted(axis):
    x = jnp.asarray(_rand((3, 4, 5)))
    want = [np.take(np.asarray(x), b, axis=axis) for b in range(x.shape[axis])]
    for got in (components(x, axis), jax.jit(lambda x: components(x, axis))(x)):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(g), w)
    npx = np.asarray(x)
    assert all(isinstance(c, np.ndarray) for c in components(npx, axis))  # NumPy in, NumPy out


def test_components_transpose_is_the_stack_of_the_cotangents():
    x = jnp.asarray(_rand((4, 3, 5)))
    cts = [jnp.asarray(_rand((3, 5), seed=s)) for s in range(4)]
    _, pull = jax.vjp(lambda x: components(x), x)
    np.testing.assert_array_equal(np.asarray(pull(cts)[0]), np.stack([np.asarray(c) for c in cts]))
    # components that are not used get a zero cotangent
    g = jax.grad(lambda x: 2.0 * jnp.sum(components(x)[1]) + jnp.sum(components(x)[3] ** 2))(x)
    want = np.zeros(x.shape)
    want[1] = 2.0
    want[3] = 2.0 * np.asarray(x[3])
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-15, atol=0)


def test_components_forward_mode_vmap_and_higher_derivatives():
    x = jnp.asarray(_rand((2, 3, 4)))
    t = jnp.asarray(_rand((2, 3, 4), seed=1))
    outs, touts = jax.jvp(lambda x: components(x), (x,), (t,))
    for b in range(2):
        np.testing.assert_array_equal(np.asarray(touts[b]), np.asarray(t[b]))
    # a zero tangent (x closed over, another argument differentiated)
    val, tan = jax.jvp(lambda y: y * sum(c.sum() for c in components(x)), (2.0,), (1.0,))
    np.testing.assert_allclose(float(tan), float(jnp.sum(x)), rtol=1e-14)
    for in_axis in (0, 1, 2):  # the batch axis before, at and after the component axis of the slices
        xb = jnp.moveaxis(jnp.stack([x, 2 * x, 3 * x]), 0, in_axis)
        got = jax.vmap(lambda x: components(x)[1], in_axes=in_axis)(xb)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(jnp.stack([x[1], 2 * x[1], 3 * x[1]])))
    h = jax.hessian(lambda x: jnp.sum(components(x)[0] ** 3))(x)
    want = np.zeros(x.shape * 2)
    for idx in np.ndindex(3, 4):
        want[(0, *idx, 0, *idx)] = 6.0 * float(x[(0, *idx)])
    np.testing.assert_allclose(np.asarray(h), want, rtol=1e-14, atol=0)


def test_operator_gradient_equals_the_dense_transpose():
    """Autodiff through ``apply`` (now reading components by the primitive) against the dense matrix ``O^T``."""
    lat = Lattice((4, 5), 1.0)
    net = dirac.model(lat, 0.5, 0.1, network="stable", bias="wilson").network
    op = net.B
    f = jnp.asarray(_rand((net.K, *lat.shape)))
    w = _rand((net.K, *lat.shape), seed=2)
    g = jax.grad(lambda f: jnp.sum(jnp.asarray(w) * op.apply(f)))(f)
    want = (op.dense(lat.shape).T @ w.reshape(-1)).reshape(w.shape)
    np.testing.assert_allclose(np.asarray(g), want, rtol=0, atol=1e-13)


# ----------------------------------------------------------------------------------------------------------
# static patterns through the operator algebra under jit
# ----------------------------------------------------------------------------------------------------------
def test_traced_algebra_keeps_the_patterns_and_the_values():
    K, nd = 4, 2
    rng = np.random.default_rng(3)

    def sparse(seed_pat):
        c = np.zeros((K, K))
        for a, b in seed_pat:
            c[a, b] = rng.normal()
        return c

    A = LatticeOperator.from_terms({(0, 0): sparse([(0, 1), (1, 0), (2, 2)]), (1, 0): sparse([(3, 2)])}, nd, K)
    B = LatticeOperator.from_terms({(0, 0): sparse([(0, 0), (2, 3)]), (0, -1): sparse([(1, 3), (2, 0)])}, nd, K)
    f = jnp.asarray(_rand((K, 5, 6)))
    eager = {"sum": A + B, "diff": A - B, "prod": A @ B, "T": A.T, "sumT": (A - 2.0 * B).T}

    def traced(A, B):
        ops = {"sum": A + B, "diff": A - B, "prod": A @ B, "T": A.T, "sumT": (A - 2.0 * B).T}
        return {k: (o.patterns, o.apply(f)) for k, o in ops.items()}

    seen = {}

    def run(A, B):
        out = traced(A, B)
        seen.update({k: v[0] for k, v in out.items()})
        return {k: v[1] for k, v in out.items()}

    got = jax.jit(run)(A, B)
    for k, op in eager.items():
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(op.apply(f)), rtol=1e-14, atol=1e-14)
        # traced: the union of the summands' patterns (a superset of the concrete values' pattern), not K^2
        for pat_traced, pat_eager in zip(seen[k], op.patterns, strict=True):
            assert set(pat_eager) <= set(pat_traced)
            assert len(pat_traced) < K * K, (k, pat_traced)


def test_w_minus_i_inside_jit_applies_only_its_nonzero_entries():
    net = dirac.model(Lattice((4, 4, 4), 1.0), 0.5, 0.1, network="stable", bias="forward").network
    outside = net.W_minus_I.patterns
    inside = []
    jax.jit(lambda n: inside.append(n.W_minus_I.patterns) or 0)(net)
    assert inside[0] == outside
    assert len(outside[0]) == 8  # the mass rotation's 2x2 blocks, not the 16 entries of a dense 4 x 4


# ----------------------------------------------------------------------------------------------------------
# half_sum_of_squares and the compiled learning step
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_half_sum_of_squares_value_and_exact_gradient(dtype):
    f = jnp.asarray(_rand((3, 7, 5), dtype=dtype))
    np.testing.assert_allclose(float(half_sum_of_squares(f)), 0.5 * float(np.sum(np.asarray(f, np.float64) ** 2)),
                               rtol=10 * np.finfo(dtype).eps * f.size)
    g = jax.jit(jax.grad(half_sum_of_squares))(f)
    assert g.dtype == f.dtype
    np.testing.assert_array_equal(np.asarray(g), np.asarray(f))  # bit for bit
    np.testing.assert_array_equal(np.asarray(half_sum_of_squares(f, axis=(1, 2))),
                                  np.asarray(0.5 * jnp.sum(jnp.square(f), axis=(1, 2))))


def _loop_body_count(net, shape, op="fusion"):
    """Field-sized ``op`` instructions (``fusion`` or ``copy``) in the while body of the compiled 8-tick run."""
    st = State(jnp.zeros((net.K, *shape)), jnp.zeros((net.K, *shape)))
    txt = _run_jit.lower(net, st, steps=8, every=1, observer=None).compile().as_text()
    bodies = re.findall(r"\n(%\S*region_0\S* \(.*?\n}\n)", txt, flags=re.S)
    assert bodies, "no while body in the compiled program"
    return len(re.findall(r"= f\d\d\[[^\]]*\]\{[^}]*\} " + op + r"\(", max(bodies, key=len)))


@pytest.mark.parametrize("bias", ["forward", "wilson"])
def test_stable_dirac_tick_is_two_loop_fusions(bias):
    """One tick of the stable 3+1 network: the activation sweep and the learning sweep, as numba's two sweeps.

    Before session 30 the learning gradient of ``1/2 phi.phi`` materialized ``(phi' + phi') / 2`` as a third loop
    per tick (a copy of the field)."""
    net = dirac.model(Lattice((8, 8, 8), 1.0), 0.5, 0.1, network="stable", bias=bias).network
    assert net.loop_unroll == 2
    assert _loop_body_count(net, (8, 8, 8)) == 2 * net.loop_unroll


@pytest.mark.parametrize("bias", ["forward", "wilson"])
def test_paper_dirac_loop_has_two_fusions_per_tick_and_no_copy(bias):
    """The simultaneous scheme's loop (``schemes.tick_loop``): two ticks per iteration, each an activation and a
    learning sweep, and no copy of the state (with one tick per iteration XLA copied phi and pi every tick: 2
    fusions and 2 copies per iteration). Session 30 carried a ping-pong pair for it; since session 31, where the
    site-major layout applies (one CPU device, here) its constraints keep the ticks apart and the plain loop is
    used (``test_layout_s31.py`` checks the pair with the layout off)."""
    net = dirac.model(Lattice((8, 8, 8), 1.0), 0.5, 0.1, network="paper", bias=bias).network
    assert net.scheme.name == "simultaneous" and net.loop_ping_pong
    assert _loop_body_count(net, (8, 8, 8)) == 4
    assert _loop_body_count(net, (8, 8, 8), "copy") == 0


@pytest.mark.parametrize("n", [2, 3, 7])
def test_ping_pong_loop_is_the_repeated_tick(n):
    """``tick_loop(..., ping_pong=True)`` returns the first state of the pair (the select after the loop never
    takes the second): the ticks of ``step`` applied ``n`` times, to round-off (XLA may contract multiply-adds
    differently inside the loop: a few ulps per tick), also under ``vmap``, where it is bit for bit the
    unbatched loop's."""
    from nnfield.schemes import tick_loop

    step = lambda s: (s[0] + 0.1 * jnp.roll(s[1], 1), s[1] - 0.1 * jnp.roll(s[0], -1))  # noqa: E731
    s0 = (jnp.asarray(_rand((5, 6))), jnp.asarray(_rand((5, 6), seed=1)))
    want = s0
    for _ in range(n):
        want = jax.jit(step)(want)
    got = jax.jit(lambda s: tick_loop(step, s, n, 2, ping_pong=True))(s0)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=0, atol=4 * n * np.finfo(np.float64).eps * 4)
    batch = jax.tree_util.tree_map(lambda x: jnp.stack([x, 2 * x]), s0)
    vm = jax.jit(jax.vmap(lambda s: tick_loop(step, s, n, 2, ping_pong=True)))(batch)
    np.testing.assert_array_equal(np.asarray(vm[0][0]), np.asarray(got[0]))


def test_stability_gate_does_not_call_the_paper_unit_step_physical():
    """The paper's simultaneous Klein-Gordon network at dt = 1 (``examples/kg_unit_step_38.toml``, 16^3): explicit
    Euler with ``omega dt`` up to about 3.6, whose growth per unit time fell by only 10% at dt / 4, so session 29's
    gate named it "a physical instability of the linearized theory (e.g. V''(0) < 0)". At dt / 16 it has fallen to
    about a third: a scheme's instability (found by a hostile try of this session)."""
    from nnfield import stability
    from nnfield.theories import klein_gordon as kg

    lat = Lattice((16, 16, 16), 1.0)

    def factory(h):
        return kg.momentum_network(lat, 1.0, h, scheme="simultaneous")

    st = stability.network_stability(factory(1.0), factory, dt=1.0, steps=10)
    assert not st.stable and st.dt_max == 0.0
    assert st.physical_rate is None
    assert "physical instability" not in st.describe()
