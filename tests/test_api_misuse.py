"""The Python API's answers to common mistakes (found by a user following the docs, session 20): one
``ParameterError`` (or ``ConfigError``) naming the argument, where a deep JAX/NumPy traceback came before or the
mistake ran silently."""

from __future__ import annotations

import inspect

import equinox as eqx
import jax
import numpy as np
import pytest

import nnfield
from nnfield import Lattice, ensemble
from nnfield import network as nnet
from nnfield.config import parse_config
from nnfield.errors import ConfigError, ParameterError
from nnfield.io import NotARunFileError
from nnfield.theories import dirac
from nnfield.theories import klein_gordon as kg
from nnfield.theories import nonlinear as nl

LAT = Lattice((16, 16), spacing=0.5)


def test_encode_checks_shapes_and_dtypes():
    model = kg.model(LAT, m=1.0, dt=0.1)
    phi = np.zeros((1, 16, 16))
    with pytest.raises(ParameterError, match=r"pi: expected the shape of phi \(1, 16, 16\), got \(1, 8, 8\)"):
        model.encode(phi, np.zeros((1, 8, 8)))
    with pytest.raises(ParameterError, match=r"phi: expected shape \(K, \*lattice.shape\) = \(1, 16, 16\)"):
        model.encode(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)))  # data of another lattice used to run silently
    with pytest.raises(ParameterError, match="phi: expected real data"):
        model.encode(phi + 0j, phi)
    state = model.encode(np.ones((1, 16, 16), dtype=int), np.zeros((1, 16, 16), dtype=int))  # integers: floats
    assert state.phi.dtype == state.pi.dtype and np.issubdtype(state.phi.dtype, np.floating)
    model.network.run(state, 2)
    dmodel = dirac.model(Lattice((16,)), m=1.0, dt=0.1, network="stable")
    with pytest.raises(ParameterError, match=r"phi: expected shape \(K, \*lattice.shape\) = \(2, 16\)"):
        dmodel.encode(np.zeros((1, 16)), np.zeros((1, 16)))


def test_counts_and_lattices_are_whole_numbers():
    model = kg.model(LAT, m=1.0, dt=0.1)
    state = model.encode(np.zeros((1, 16, 16)), np.zeros((1, 16, 16)))
    with pytest.raises(ParameterError, match="steps: expected a whole number >= 0, got 10.5"):
        nnet.run(model.network, state, 10.5)
    with pytest.raises(ParameterError, match="steps: expected a whole number >= 0, got -1"):
        nnet.trajectory(model.network, state, -1)  # was an MLIR error
    with pytest.raises(ParameterError, match="every: expected a whole number >= 1"):
        nnet.run(model.network, state, 10, 0)
    assert nnet.trajectory(model.network, state, 3.0).phi.shape == (3, 1, 16, 16)
    with pytest.raises(ParameterError, match="shape: expected whole numbers of sites, got \\[16.7\\]"):
        Lattice((16.7,))  # was truncated to 16
    with pytest.raises(ParameterError, match=r"shape: expected a tuple of sizes, got 16; e.g. \(16,\)"):
        Lattice(16)


def test_builders_check_their_numbers_like_the_config():
    for kwargs, says in [({"m": -1.0, "dt": 0.1}, "m: expected a number >= 0"),
                         ({"m": 1.0, "dt": 0.0}, "dt: expected a positive number"),
                         ({"m": 1.0, "dt": float("nan")}, "dt: expected a finite number"),
                         ({"m": 1.0, "dt": 0.1, "network": "3.14", "scheme": "yoshida4"}, "scheme: network \"3.14\""),
                         ({"m": 1.0, "dt": 0.1, "network": "3.14", "sign": "printed"}, "sign: applies to network")]:
        with pytest.raises(ParameterError, match=says):
            kg.model(LAT, **kwargs)
    with pytest.raises(ParameterError, match="sign: expected one of"):
        kg.printed_linear_network(LAT, 1.0, 0.1, sign="corected")
    with pytest.raises(ParameterError, match="m: expected a positive number"):
        nl.sine_gordon_model(LAT, 0.0, 1.0, 0.1)
    # traced values are not checked (jax.grad through a builder)
    jax.grad(lambda m: kg.model(LAT, m=m, dt=0.1).theory.m)(1.0)


def test_builders_share_their_parameter_names_and_warn_on_the_old_ones():
    """Every builder names the mass ``m`` and the Wilson parameter ``wilson_r`` (as :func:`dirac.model` and the config
    key); the old keywords (``mass=`` of the phi^4 and sine-Gordon builders, ``r=`` of the gauged builders) still
    build the same model, with a DeprecationWarning, for one release; both at once is a TypeError."""
    from nnfield.theories import gauge
    from nnfield.theories import maxwell_dirac as md

    lat = Lattice((6, 4), 0.5)
    for build, old, new, args in [(nl.sine_gordon_model, "mass", "m", dict(b=1.0, dt=0.1)),
                                  (nl.phi4_model, "mass", "m", dict(lam=0.5, dt=0.1)),
                                  (gauge.model, "r", "wilson_r", dict(m=0.5, dt=0.1, bias="wilson")),
                                  (md.model, "r", "wilson_r", dict(dt=0.1, bias="wilson"))]:
        value = 0.7
        with pytest.warns(DeprecationWarning, match=f"{old}=.*deprecated; use {new}="):
            a = build(lat, **args, **{old: value})
        b = build(lat, **args, **{new: value})
        assert eqx.tree_equal(a, b) is True
        assert eqx.tree_equal(a, build(lat, **args, **{new: 0.9})) is not True  # the value arrives
        with pytest.raises(TypeError, match=f"both {old}="):
            build(lat, **args, **{old: value, new: value})
    assert "wilson_r" in inspect.signature(gauge.model).parameters
    assert "wilson_r" in inspect.signature(md.model).parameters


def test_a_potential_string_builds_the_network_of_its_expression():
    lat = Lattice((32,), spacing=0.5)
    phi = 0.5 * np.sin(2 * np.pi * np.arange(32) / 32)[None]
    a = nl.model(lat, "m**2*phi**2/2 + lam*phi**4/4", 0.05, params={"m": 1.2, "lam": 0.7})
    b = nl.phi4_model(lat, 1.2, 0.7, 0.05)
    sa, _ = nnet.run(a.network, a.encode(phi, 0 * phi), 50)
    sb, _ = nnet.run(b.network, b.encode(phi, 0 * phi), 50)
    # the same potential written two ways: its gradient rounds differently, O(eps) per step over 50 steps
    assert np.abs(np.asarray(sa.phi) - np.asarray(sb.phi)).max() <= 50 * 10 * np.finfo(float).eps
    with pytest.raises(ParameterError, match="potential: "):
        nl.model(lat, "m**2*phi**2/2 + undefined_name", 0.05, params={"m": 1.0})


def test_sweeps_and_loads_say_what_is_wrong(tmp_path):
    cfg = parse_config(
        '[theory]\nname = "klein-gordon"\nmass = 1.0\n[lattice]\nshape = [16]\n[time]\ndt = 0.1\nt_end = 2.0\n'
        '[initial]\nkind = "random_spectrum"\n[output]\nevery = 5\n')
    with pytest.raises(ConfigError, match=r"sweep.theory.mass: expected a non-empty list of values, got 1.0"):
        ensemble.build_ensemble(cfg, {"theory.mass": 1.0})
    with pytest.raises(ConfigError, match=r"a time.dt sweep with \[time\] t_end .* set \[time\] steps"):
        ensemble.build_ensemble(cfg, {"time.dt": [0.1, 0.05]})
    (tmp_path / "cfg.toml").write_text(cfg.text)
    with pytest.raises(NotARunFileError, match="not a readable nnfield run file"):
        nnfield.io.load_run(tmp_path / "cfg.toml")
