"""Scheme.advance (fused multi-tick advance) equals repeated ticks."""

from __future__ import annotations

import numpy as np
import pytest

from nnfield import Lattice, State
from nnfield.network import jit_step, run
from nnfield.theories import klein_gordon as kg

EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("scheme", ["leapfrog", "alternating", "simultaneous", "yoshida4"])
def test_advance_equals_repeated_steps(scheme, rng):
    lat = Lattice((8, 6), 0.5)
    net = kg.momentum_network(lat, 0.8, 0.05, scheme=scheme)
    s0 = State(rng.normal(size=(1, 8, 6)), rng.normal(size=(1, 8, 6)))
    s = s0
    for _ in range(7):
        s = jit_step(net, s)
    fused, _ = run(net, s0, 7)  # no observer: one fused block
    blocks, obs = run(net, s0, 7, every=3, observer=lambda st: {"x": st.phi.sum()})  # blocks of 3, rest 1
    scale = np.abs(np.asarray(s.phi)).max()
    for out in (fused, blocks):
        assert np.abs(np.asarray(out.phi) - np.asarray(s.phi)).max() < 1e2 * EPS * scale
        assert np.abs(np.asarray(out.pi) - np.asarray(s.pi)).max() < 1e2 * EPS * scale
    assert np.asarray(obs["x"]).shape == (2,)


def test_the_loop_unroll_follows_the_scheme(rng):
    """Two ticks per loop iteration, and for the simultaneous scheme both ticks' states carried (a ping-pong pair:
    with a temporary first tick XLA:CPU materialized every shifted read, 3-7x slower, and with one tick per
    iteration it copied the state every tick; docs/performance.md), wherever a network's ticks follow a scheme: a
    :class:`Network`, a :class:`LinearNetwork` and a gauged Dirac network (its inner network's scheme). The
    fused loop equals repeated ticks in each case (the loop changes the buffers, not the map), for odd and even
    tick counts."""
    from nnfield.schemes import SCHEMES
    from nnfield.theories import dirac, gauge

    assert {name: (s.unroll, s.ping_pong) for name, s in SCHEMES.items()} == {
        "simultaneous": (2, True), "alternating": (2, False), "leapfrog": (2, False), "yoshida4": (2, False)}
    lat = Lattice((6, 4), 1.0)
    links, _ = gauge.uniform_magnetic(lat, 1)
    nets = {
        "paper": dirac.paper_network(lat, 0.5, 0.1, X=None, scheme="simultaneous", bias="forward"),
        "linear simultaneous": dirac.literal_linear_network(lat, 0.5, 0.1),
        "linear alternating": dirac.literal_linear_network(lat, 0.5, 0.1, scheme="alternating"),
        "gauged paper": gauge.link_network(lat, 0.5, 0.1, links, network="paper"),
        "gauged stable": gauge.link_network(lat, 0.5, 0.1, links, network="stable"),
    }
    expected = {"paper": True, "linear simultaneous": True, "linear alternating": False, "gauged paper": True,
                "gauged stable": False}
    for name, net in nets.items():
        assert net.loop_unroll == 2, name
        assert net.loop_ping_pong == expected[name], name
        s0 = State(rng.normal(size=(net.K, 6, 4)), rng.normal(size=(net.K, 6, 4)))
        s = s0
        for n in range(1, 6):
            s = jit_step(net, s)
            if n < 4:
                continue
            fused, _ = run(net, s0, n)
            scale = np.abs(np.asarray(s.phi)).max()
            assert np.abs(np.asarray(fused.phi) - np.asarray(s.phi)).max() < 1e2 * EPS * scale, (name, n)
            assert np.abs(np.asarray(fused.pi) - np.asarray(s.pi)).max() < 1e2 * EPS * scale, (name, n)
