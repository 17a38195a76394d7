"""The site-major layout of multi-component fields inside compiled loops (``nnfield._layout``, session 31).

XLA:CPU splits a loop over threads along the outermost physical axis of its output; with ``(K, N_1, ...)`` stored
row-major that axis was the component axis, and each thread read every input component over the whole lattice.
The fields are now stored ``(N_1, K, N_2, ...)`` inside the run's loops on one CPU device. What is asserted: the
rule, the compiled program's layouts, the values (the row-major program's, to round-off), autodiff and ``vmap``
through it, and that a program for several devices or with the switch off keeps the row-major layout.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield._layout import ENV, SiteMajor, site_major, site_major_p, site_major_perm
from nnfield.network import _run_jit
from nnfield.state import State
from nnfield.theories import dirac


@pytest.mark.parametrize(
    ("shape", "lattice", "want"),
    [
        ((4, 8, 6, 5), (8, 6, 5), (1, 0, 2, 3)),  # a 3+1 spinor: the first lattice axis outermost, then K
        ((4, 8, 6), (8, 6), (1, 0, 2)),
        ((2, 3, 8, 6), (8, 6), (2, 0, 1, 3)),  # two leading axes (links (D, K, ...)) stay together
        ((1, 8, 6), (8, 6), None),  # one component: nothing to gain
        ((2, 16), (16,), None),  # a 1D lattice: K would become the contiguous axis
        ((4, 8, 6), (6, 8), None),  # not this lattice's shape
        ((8, 6), (8, 6), None),  # no component axis
    ],
)
def test_the_site_major_rule(shape, lattice, want):
    assert site_major_perm(shape, lattice) == want


def _rand(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _state(K, shape, dtype=np.float64):
    return State(jnp.asarray(_rand((K, *shape), 1, dtype)), jnp.asarray(_rand((K, *shape), 2, dtype)))


def _body_layouts(net, st, steps=8):
    """The layouts (minor to major) of the field-sized loop fusions in the compiled run's while body."""
    txt = _run_jit.lower(net, st, steps=steps, every=1, observer=None).compile().as_text()
    bodies = re.findall(r"\n(%\S*region_0\S* \(.*?\n}\n)", txt, flags=re.S)
    assert bodies, "no while body in the compiled program"
    shape = ",".join(map(str, st.phi.shape))
    return re.findall(r"= f\d\d\[" + shape + r"\]\{([\d,]+)\} fusion\(", max(bodies, key=len))


@pytest.mark.parametrize(("network", "bias"), [("stable", "forward"), ("paper", "wilson")])
def test_a_3p1_dirac_loop_is_site_major_and_equal_to_row_major(network, bias, monkeypatch):
    """In the compiled loop every field-sized fusion writes ``{3,2,0,1}`` (minor to major: the component axis
    second outermost); the run equals the row-major program (``NNFIELD_SITE_MAJOR=0``): a layout moves values, it
    computes nothing. Bit for bit here (the quick suite compiles without LLVM's optimizations); with them LLVM may
    contract multiply-adds differently in the re-laid-out loop (3e-14 after 11574 ticks at 12^3, bit for bit at
    16^3), so the comparison allows a few ulps a tick."""
    net = dirac.model(Lattice((6, 4, 8), 1.0), 0.5, 0.1, network=network, bias=bias).network
    st = _state(net.K, (6, 4, 8))
    layouts = _body_layouts(net, st)
    assert layouts and set(layouts) == {"3,2,0,1"}, layouts
    got = _run_jit(net, st, steps=9, every=1, observer=None)[0]
    monkeypatch.setenv(ENV, "0")
    jax.clear_caches()
    assert set(_body_layouts(net, st)) == {"3,2,1,0"}
    want = _run_jit(net, st, steps=9, every=1, observer=None)[0]
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=0, atol=9 * 4 * np.finfo(np.float64).eps * 8)
    jax.clear_caches()


def test_the_paper_network_drops_the_ping_pong_pair_where_the_layout_applies(monkeypatch):
    """Where the layout constraints apply they also keep XLA from fusing one tick into the next, so the
    simultaneous scheme runs the plain loop (2 fusions per tick, no copy); with the switch off it keeps the
    ping-pong pair (session 30), which again gives 2 fusions per tick and no copy."""
    from test_components_s30 import _loop_body_count

    net = dirac.model(Lattice((8, 8, 8), 1.0), 0.5, 0.1, network="paper", bias="forward").network
    assert net.loop_ping_pong and net.loop_layout.applies(_state(net.K, (8, 8, 8)))
    assert _loop_body_count(net, (8, 8, 8)) == 4
    assert _loop_body_count(net, (8, 8, 8), "copy") == 0
    monkeypatch.setenv(ENV, "0")
    jax.clear_caches()
    assert not net.loop_layout.applies(_state(net.K, (8, 8, 8)))
    assert _loop_body_count(net, (8, 8, 8)) == 4
    assert _loop_body_count(net, (8, 8, 8), "copy") == 0
    jax.clear_caches()


def test_the_primitive_is_the_identity_under_jit_grad_and_vmap():
    x = jnp.asarray(_rand((4, 5, 6, 3)))
    lay = SiteMajor((5, 6, 3))
    np.testing.assert_array_equal(np.asarray(site_major(x, (5, 6, 3))), np.asarray(x))
    f = lambda y: jnp.sum(jnp.sin(lay(y)) ** 2)  # noqa: E731
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda y: lay(y) * 2.0)(x)), np.asarray(x * 2.0))
    g = jax.jit(jax.grad(f))(x)
    np.testing.assert_allclose(np.asarray(g), np.asarray(jnp.sin(2 * x)), rtol=1e-13, atol=1e-14)
    batch = jnp.stack([x, 2 * x, -x])
    vm = jax.jit(jax.vmap(lambda y: lay(y) + 1.0))(batch)
    np.testing.assert_array_equal(np.asarray(vm), np.asarray(batch + 1.0))
    # the batched layout keeps the batch axis outermost
    jaxpr = jax.make_jaxpr(jax.vmap(lay))(batch)
    (eqn,) = [e for e in jaxpr.jaxpr.eqns if e.primitive is site_major_p]
    assert eqn.params["perm"] == (0, 2, 1, 3, 4)


def test_integer_arrays_and_other_shapes_are_left_alone():
    tree = {"n": jnp.arange(4 * 5 * 6).reshape(4, 5, 6), "x": jnp.ones((4, 5, 6)), "s": jnp.ones((3,))}
    jaxpr = jax.make_jaxpr(lambda t: site_major(t, (5, 6)))(tree)
    assert [e.primitive for e in jaxpr.jaxpr.eqns] == [site_major_p]  # the float field only


def test_a_program_over_several_devices_keeps_the_row_major_layout():
    """The SPMD partitioner sees no layout constraint: on two (fake CPU) devices the primitive lowers to nothing
    and ``applies`` is false (so the simultaneous scheme keeps its ping-pong pair); one device's program has it."""
    import os
    import subprocess
    import sys

    code = (
        "import jax, numpy as np, jax.numpy as jnp\n"
        "from jax.sharding import Mesh, NamedSharding, PartitionSpec as P\n"
        "from nnfield._layout import site_major, site_major_applies\n"
        "x = jnp.ones((4, 8, 6))\n"
        "f = lambda y: site_major(y, (8, 6)) * 2.0\n"
        "mesh = Mesh(np.array(jax.devices()[:2]), ('x',))\n"
        "xs = jax.device_put(x, NamedSharding(mesh, P(None, 'x')))\n"
        "print(jax.device_count(), 'LayoutConstraint' in jax.jit(f).lower(x).as_text(),\n"
        "      'LayoutConstraint' in jax.jit(f).lower(xs).as_text(), site_major_applies(x, (8, 6)))\n"
    )
    env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"),
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["2", "True", "False", "False"], out.stdout
