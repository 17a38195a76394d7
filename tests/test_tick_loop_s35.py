"""Session 35: the simultaneous scheme's pair loop with two or three ticks per sample.

``schemes.tick_loop`` carries a ping-pong pair of states through a loop of two ticks per iteration. With two or
three ticks (``[output] every = 2`` or ``3``) that loop had one iteration, which XLA removes: the ticks then fused
into each other as the pair exists to prevent, and a 64^3 chunk ran 5-13x slower per tick with 2-4.5x the
temporaries of four ticks per sample (``docs/performance.md``, "Two or three ticks per sample"). Such a sample is
now a loop of one tick per iteration.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from conftest import XLA_DEFAULT_OPTIONS
from nnfield.lattice import Lattice
from nnfield.network import _run_jit, run
from nnfield.runner import observer_for
from nnfield.theories import klein_gordon as kg
from nnfield.theories import nonlinear as nl

EPS = np.finfo(np.float64).eps


def _phi4(shape):
    return nl.phi4_model(Lattice(shape, 1.0), 1.0, 1.0, 0.05, scheme="simultaneous")


def _state(model, rng):
    shape = (model.network.K, *model.lattice.shape)
    return model.initial_state(0.1 * rng.normal(size=shape), 0.1 * rng.normal(size=shape))


def _whiles(model, state, steps, every, options=None):
    obs = observer_for(model, state)
    compiled = _run_jit.lower(model.network, state, steps, every, obs).compile(options)
    return compiled.as_text().count(" while("), compiled


@pytest.mark.parametrize("every", [2, 3])
def test_two_or_three_ticks_per_sample_keep_a_loop(every, rng):
    """The compiled chunk keeps a loop of ticks inside the loop of samples (two ``while`` loops), as with four
    ticks; before, the pair loop of one iteration was removed and only the samples' loop was left."""
    model = _phi4((8, 8, 8))
    s0 = _state(model, rng)
    assert model.network.loop_ping_pong
    assert _whiles(model, s0, 4 * every, every)[0] == 2
    assert _whiles(model, s0, 16, 4)[0] == 2


@pytest.mark.parametrize("every", [2, 3])
def test_two_or_three_ticks_per_sample_are_the_repeated_tick(every, rng):
    """A run sampled every 2 or 3 ticks equals the ticks one at a time (to round-off: XLA may contract
    multiply-adds differently inside a loop), for the paper's Klein-Gordon network (3.14) and phi^4."""
    for model in (kg.model(Lattice((6, 5), 1.0), 0.5, 0.1, network="3.14", scheme="simultaneous"),
                  _phi4((6, 5))):
        s0 = _state(model, rng)
        step = jax.jit(model.network.step)
        want = s0
        for _ in range(2 * every):
            want = step(want)
        got, _ = run(model.network, s0, 2 * every, every)
        scale = max(np.abs(np.asarray(want.phi)).max(), np.abs(np.asarray(want.pi)).max())
        for g, w in zip((got.phi, got.pi), (want.phi, want.pi), strict=True):
            assert np.abs(np.asarray(g) - np.asarray(w)).max() < 1e2 * EPS * scale


@pytest.mark.slow
def test_three_ticks_per_sample_hold_no_more_than_four(rng):
    """XLA's temporaries (default options) of a 32^3 phi^4 chunk sampled every 3 ticks are at most those of the
    chunk sampled every 4 ticks (measured: 2.5 against 3 states; 9.5 before the change)."""
    model = _phi4((32, 32, 32))
    s0 = _state(model, rng)
    state_bytes = sum(x.nbytes for x in jax.tree_util.tree_leaves(s0))
    temps = {every: _whiles(model, s0, 2 * every, every, XLA_DEFAULT_OPTIONS)[1].memory_analysis().temp_size_in_bytes
             for every in (3, 4)}
    assert temps[3] <= temps[4], {k: v / state_bytes for k, v in temps.items()}
