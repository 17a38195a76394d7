"""The registered theory "dirac": TOML configs, initial conditions, errors, an end-to-end run, the examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnfield.config import load_config, parse_config
from nnfield.errors import ConfigError
from nnfield.theories import dirac as dr
from nnfield.theories.registry import get_theory

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[theory]
name = "dirac"
mass = 1.0
network = "stable"
bias = "wilson"

[lattice]
shape = [32]
spacing = 0.5

[time]
dt = 0.1
steps = 40
scheme = "alternating"

[initial]
kind = "gaussian_packet"
width = 2.0
momentum = [1.0]
branch = "positive"

[output]
every = 4
"""


def test_spec_registered():
    spec = get_theory("dirac")
    assert {"dimension", "mass", "network", "bias", "wilson_r", "loss"} <= set(spec.keys)
    assert set(spec.initial) == {"plane_wave", "gaussian_packet"}


def test_config_builds_model_and_initial_fields():
    cfg = parse_config(BASE)
    model = cfg.build_model()
    assert isinstance(model, dr.DiracModel) and model.kind == "stable"
    phi, pi = cfg.initial_fields(model)
    assert phi.shape == pi.shape == (2, 32)
    assert float(model.theory.charge(model.theory.pack(phi, pi))) == pytest.approx(1.0, rel=1e-12)
    # a positive-energy packet: the negative-energy projection vanishes
    psi = model.theory.pack(phi, pi)
    neg = model.theory.apply_symbol(dr.energy_projector(model.theory, -1), psi)
    assert np.abs(neg).max() <= 1e-12


@pytest.mark.parametrize("branch,sign", [("positive", 1), ("negative", -1)])
def test_plane_wave_initial_condition_is_an_energy_eigenmode(branch, sign):
    text = BASE.replace('kind = "gaussian_packet"\nwidth = 2.0\nmomentum = [1.0]\nbranch = "positive"',
                        f'kind = "plane_wave"\nn = [3]\nbranch = "{branch}"')
    cfg = parse_config(text)
    model = cfg.build_model()
    phi, pi = cfg.initial_fields(model)
    th = model.theory
    psi = th.pack(phi, pi)
    E = float(th.energy(psi)) / float(th.charge(psi))
    k = [np.asarray(2 * np.pi * 3 / 16.0)]
    assert E == pytest.approx(sign * th.dispersion(k).item(), rel=1e-12)


@pytest.mark.parametrize(
    "old,new,match",
    [
        ('scheme = "alternating"', 'scheme = "leapfrog"', "alternating"),
        ('network = "stable"', 'network = "stable"\ndimension = 3', "theory.dimension"),
        ('network = "stable"', 'network = "stable"\nloss = "printed"', "theory.loss"),
        ('bias = "wilson"', 'bias = "forward"\nwilson_r = 0.5', "wilson_r"),
        ('bias = "wilson"', 'bias = "central"', "theory.bias"),
        ("momentum = [1.0]", "momentum = [7.0]", "initial.momentum"),
        ("width = 2.0", "width = 0.1", "initial.width"),
        ('branch = "positive"', 'branch = "both"', "initial.branch"),
    ],
)
def test_config_errors(old, new, match):
    with pytest.raises(ConfigError, match=match):
        cfg = parse_config(BASE.replace(old, new))
        model = cfg.build_model()
        cfg.initial_fields(model)


def test_paper_network_from_config():
    text = BASE.replace('network = "stable"', 'network = "paper"\nloss = "corrected"').replace(
        'scheme = "alternating"', 'scheme = "simultaneous"')
    model = parse_config(text).build_model()
    assert model.kind == "paper" and model.network.scheme.name == "simultaneous" and model.network.per_type


def test_end_to_end_run(tmp_path):
    from nnfield.io import STATUS_COMPLETED, load_run
    from nnfield.runner import execute

    cfg = parse_config(BASE)
    res = execute(cfg, tmp_path / "run", progress=False)
    assert res.status == STATUS_COMPLETED and res.steps_done == 40
    data = load_run(res.run_file)
    inv = data.observables["invariant"]
    assert np.abs(inv / inv[0] - 1).max() <= 1e-13  # the stable network's exact invariant
    assert {"charge", "energy", "current_x", "position_x"} <= set(data.observables)


@pytest.mark.parametrize("name", ["dirac_1p1.toml", "dirac_3p1.toml"])
def test_examples_load(name):
    cfg = load_config(ROOT / "examples" / name)
    model = cfg.build_model()
    assert model.kind == "stable" and cfg.time.scheme == "alternating"
    sig = dr.doubler_analysis(model.network.B, model.theory.lattice, n=8 if model.theory.D == 3 else 64)
    assert dr.stability_bound(model.m, cfg.time.dt, sig["sigma_max"])["stable"]
