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
    net = kg.momentum_network(lat, 0.8, 0.05, scheme)
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
