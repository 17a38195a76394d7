"""The explicit halo exchange (``nnfield.halo``, ``[parallel] halo = true``): the scheme's sync hook, the measured
reach of a tick, and sharded runs that equal one device (the runs over several devices and processes: slow, in
``tests/test_parallel.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from nnfield import Lattice, halo
from nnfield.config import parse_config
from nnfield.errors import ConfigError
from nnfield.schemes import SCHEMES
from nnfield.state import State
from nnfield.theories import klein_gordon as kg

N = 16


def _kg(scheme: str):
    lat = Lattice((N,), 0.5)
    model = kg.model(lat, 1.0, 0.1, network="3.8", scheme=scheme)
    rng = np.random.default_rng(3)
    return model.network, model.initial_state(rng.normal(size=(1, N)), rng.normal(size=(1, N)))


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_the_sync_hook_as_the_identity_is_the_plain_advance(scheme):
    """``advance_synced`` with ``sync`` the identity is :meth:`advance`, bit for bit, for every scheme (the leapfrog
    keeps its merged kicks), for one tick and several."""
    net, s = _kg(scheme)
    for n in (1, 3):
        plain = jax.jit(lambda nt, st, n=n: nt.advance(st, n))(net, s)
        synced = jax.jit(lambda nt, st, n=n: nt.advance_synced(st, n, lambda x: x))(net, s)
        for a, b in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(synced), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("example", ["scalar_qed_packets_1d", "maxwell_dirac_packets_1d"])
def test_the_gauge_dynamics_networks_keep_their_advance_under_the_identity_sync(example):
    """The U(1) network's merged-kick ``advance_synced`` (its own) and the Maxwell-Dirac network's (the default loop
    of ticks) with ``sync`` the identity are their ``advance``, bit for bit."""
    from nnfield.config import load_config
    from nnfield.runner import build

    model, s = build(load_config(f"{os.path.dirname(__file__)}/../examples/{example}.toml"))
    net = model.network
    for n in (1, 4):
        plain = jax.jit(lambda nt, st, n=n: nt.advance(st, n))(net, s)
        synced = jax.jit(lambda nt, st, n=n: nt.advance_synced(st, n, lambda x: x))(net, s)
        for a, b in zip(jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(synced), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(("scheme", "expected"), [("leapfrog", 2), ("yoshida4", 4), ("alternating", 1),
                                                  ("simultaneous", 1)])
def test_the_reach_of_a_tick_is_its_stencil_count(scheme, expected):
    """The Klein-Gordon learning step reads nearest neighbours (the lattice Laplacian, reach 1) and the activation
    step reads none, so a tick reaches one row per learning step that reads a field the previous one changed:
    leapfrog ``L A L`` 2; Yoshida's three leapfrog ticks ``L A (LL) A (LL) A L`` 4 (adjacent kicks read the same
    ``phi``); alternating ``A L`` and simultaneous (both updates from the old fields) 1."""
    net, s = _kg(scheme)
    assert halo.reach(net, s) == expected


def test_one_device_keeps_the_network_and_the_exchange_on_one_device_is_the_periodic_tick():
    """``with_halo`` on one device returns the network unchanged; a :class:`HaloNetwork` over one device (its
    ghost rows its own opposite rows: the periodic wrap) equals the plain network to round-off."""
    net, s = _kg("leapfrog")
    assert halo.with_halo(net, s, 1) is net
    h = halo.HaloNetwork(net, 1, halo.reach(net, s))
    a = jax.jit(lambda nt, st: nt.advance(st, 5))(net, s)
    b = jax.jit(lambda nt, st: nt.advance(st, 5))(h, s)
    np.testing.assert_allclose(np.asarray(b.phi), np.asarray(a.phi), rtol=0, atol=1e-14)
    np.testing.assert_allclose(np.asarray(b.pi), np.asarray(a.pi), rtol=0, atol=1e-14)
    assert isinstance(b, State)


def test_the_config_and_the_command_line_switch_it():
    base = textwrap.dedent("""\
        [theory]
        name = "klein-gordon"
        mass = 1.0
        [lattice]
        shape = [16]
        [time]
        dt = 0.1
        steps = 10
        [initial]
        kind = "gaussian_packet"
        center = [4.0]
        width = 1.0
        """)
    assert parse_config(base, source="a.toml").parallel.halo is False
    assert parse_config(base + "[parallel]\nhalo = true\n", source="a.toml").parallel.halo is True
    with pytest.raises(ConfigError, match="parallel.halo"):
        parse_config(base + '[parallel]\nhalo = "yes"\n', source="a.toml")


SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from nnfield import halo, parallel
    from nnfield.config import parse_config
    from nnfield.runner import build

    def config(extra, shape="[16, 8]", theory='name = "klein-gordon"\\nmass = 1.0'):
        return parse_config(f'''
        [theory]
        {theory}
        [lattice]
        shape = {shape}
        [time]
        dt = 0.1
        steps = 10
        scheme = "leapfrog"
        [initial]
        {extra}
        ''', source="x.toml")

    notes = []
    for cfg in (config('kind = "random_spectrum"\\nseed = 2'),
                config('kind = "kink"\\ncenter = 0.25', shape="[32]",
                       theory='name = "sine-gordon"\\nmass = 1.0\\nwinding = 1')):
        model, state = build(cfg)
        shape = cfg.lattice.shape
        st, net = parallel.place(state, 4, shape[0]), parallel.place_model(model, 4, shape).network
        h = halo.with_halo(net, st, 4, notes.append)
        ref = jax.jit(lambda nt, s: nt.advance(s, 7))(model.network, state)
        got = jax.jit(lambda nt, s: nt.advance(s, 7))(h, st)
        err = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
                  for a, b in zip(jax.tree_util.tree_leaves(ref), jax.tree_util.tree_leaves(got)))
        print(type(h).__name__, getattr(h, "ghost", None), err)
    print("NOTES", notes)
    """
)


def test_four_fake_devices_equal_one_and_a_twisted_boundary_keeps_xlas_partitioning():
    """Klein-Gordon on 4 fake devices with the exchange (2 ghost rows, the leapfrog tick's reach) equals one
    device to round-off; the sine-Gordon kink's twisted boundary (the field jumps by ``2 pi`` across the lattice's
    end, which the network's loss applies where the global lattice wraps) cannot be reproduced by blocks that wrap
    on themselves, so the check refuses the exchange and the run keeps XLA's partitioning (correct either way)."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    kg_line, sg_line, notes = lines[-3].split(), lines[-2].split(), lines[-1]
    assert kg_line[:2] == ["HaloNetwork", "2"] and float(kg_line[2]) < 1e-13
    assert sg_line[0] == "Network" and float(sg_line[2]) < 1e-13
    assert "2 ghost rows per side" in notes and "parallel.halo: not used (three ticks with the exchange differ" in notes
