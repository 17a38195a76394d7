"""The command line, in process: exit codes, files, HDF5 contents and messages (small lattices)."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import types
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import cli, paper, runner
from nnfield import io as nio
from nnfield._module import Module
from nnfield.config import load_config
from nnfield.errors import NotAnalysableError
from nnfield.model import AbstractModel, Conserved
from nnfield.network import Network
from nnfield.network import run as network_run
from nnfield.operators import identity, laplacian
from nnfield.state import State
from nnfield.theories.registry import THEORIES, InitialSpec, Param, TheorySpec

EPS = np.finfo(np.float64).eps
PNG = b"\x89PNG\r\n\x1a\n"

KG_1D = """\
title = "test run"
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [32]
spacing = 0.5
[time]
dt = 0.1
steps = 50
scheme = "leapfrog"
[initial]
kind = "gaussian_packet"
width = 2.0
momentum = [1.0]
[output]
every = 3
snapshot_every = 15
chunk = 15
"""

# the paper's network (3.14) at unit step in 3D: unstable, worst growth 5 + 2 sqrt(6) per step
PAPER_3D = """\
[theory]
name = "klein-gordon"
network = "3.14"
mass = 0.0
[lattice]
shape = [6, 6, 6]
[time]
dt = 1.0
steps = 20
[initial]
kind = "random_spectrum"
"""

# explicit Euler at a large mass: every mode grows ~10x per step, float32 overflows after ~40 steps
BLOWUP = """\
[theory]
name = "klein-gordon"
mass = 10.0
[lattice]
shape = [8]
[time]
dt = 1.0
steps = 200
scheme = "simultaneous"
[initial]
kind = "plane_wave"
[output]
every = 1
snapshot_every = 10
chunk = 10
precision = "float32"
"""


def write(tmp_path: Path, text: str, name: str = "cfg.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def err_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("nnfield: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def kg_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("kg")
    cfg_path = write(d, KG_1D)
    out = d / "out"
    assert cli.main(["run", str(cfg_path), "--out", str(out), "-q"]) == 0
    return cfg_path, out


# ----------------------------------------------------------------------------------------------------------
# run
# ----------------------------------------------------------------------------------------------------------
def test_run_writes_observables_snapshots_and_provenance(kg_run):
    cfg_path, out = kg_run
    assert (out / "config.toml").read_text() == KG_1D
    run = nio.load_run(out)
    assert run.status == "completed" and run.attrs["steps_done"] == 50
    # observables every 3 steps, plus the final state (50 is not a multiple of 3)
    assert run.obs_step.tolist() == list(range(0, 49, 3)) + [50]
    np.testing.assert_allclose(run.obs_time, 0.1 * run.obs_step, rtol=1e-15)
    assert {"energy", "discrete_energy", "phi_rms", "phi_max"} <= set(run.observables)
    assert run.snap_step.tolist() == [0, 15, 30, 45, 50]
    assert run.phi.shape == run.pi.shape == (5, 1, 32)
    for key in ("config", "nnfield_version", "jax_version", "numpy_version", "seed", "schema_version",
                "git_revision", "date", "platform", "device"):
        assert key in run.attrs
    assert run.attrs["config"] == KG_1D and run.attrs["state"] == "network"
    assert run.attrs["stable"] == "true"
    assert abs(run.attrs["dt_max"] - 2 / math.sqrt(4 / 0.5**2 + 1)) < 1e-5 * run.attrs["dt_max"]

    # the chunked run equals one unchunked scan of the same network
    cfg = load_config(cfg_path)
    model, state0 = runner.build(cfg)
    np.testing.assert_array_equal(run.phi[0], np.asarray(state0.phi))
    s = state0
    for j, n in enumerate([15, 15, 15, 5]):
        s, _ = network_run(model.network, s, n)
        scale = np.abs(np.asarray(s.phi)).max()
        assert np.abs(run.phi[j + 1] - np.asarray(s.phi)).max() <= 1e2 * EPS * scale
        assert np.abs(run.pi[j + 1] - np.asarray(s.pi)).max() <= 1e2 * EPS * np.abs(np.asarray(s.pi)).max()
    # observables and snapshots refer to the same instants
    for j, step in enumerate(run.snap_step):
        i = run.obs_step.tolist().index(int(step)) if int(step) in run.obs_step else None
        if i is not None:
            e = float(model.theory.hamiltonian(jnp.asarray(run.phi[j]), jnp.asarray(run.pi[j])))
            assert abs(run.observables["energy"][i] - e) <= 1e2 * EPS * abs(e)
    # leapfrog conserves the discrete energy to round-off
    assert run.max_relative_drift("discrete_energy") < 1e2 * EPS * len(run.obs_step)


def test_existing_output_needs_force(kg_run, capsys, tmp_path):
    cfg_path, _ = kg_run
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "run.h5").write_text("old")
    assert cli.main(["run", str(cfg_path), "--out", str(out), "-q"]) == 2
    line = err_line(capsys)
    assert "already exists" in line and "--force" in line
    assert (out / "run.h5").read_text() == "old"
    assert cli.main(["run", str(cfg_path), "--out", str(out), "-q", "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine"  # --force touches only nnfield's files
    assert nio.load_run(out).status == "completed"
    assert cli.main(["run", str(cfg_path), "--out", str(out / "notes.txt"), "-q"]) == 2
    assert "not a directory" in err_line(capsys)


def test_unstable_network_is_refused(tmp_path, capsys):
    cfg = write(tmp_path, PAPER_3D)
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 2
    line = err_line(capsys)
    assert "refusing to run an unstable network" in line and "--allow-unstable" in line
    assert "9.89898 per step" in line  # 5 + 2 sqrt(6)
    assert "largest stable dt is ~0.57735" in line  # 2 / sqrt(12)
    assert not out.exists()


def test_nonfinite_values_stop_the_run_and_keep_the_data(tmp_path, capsys):
    cfg = write(tmp_path, BLOWUP)
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 2  # unstable: refused first
    capsys.readouterr()
    assert cli.main(["run", str(cfg), "--out", str(out), "-q", "--allow-unstable"]) == 1
    line = err_line(capsys)
    assert "non-finite values" in line and "is kept in" in line
    with pytest.warns(nio.IncompleteRunWarning, match="non-finite"):
        run = nio.load_run(out)
    assert run.status == "nonfinite"
    done = int(run.attrs["steps_done"])
    assert 10 < done < 200 and run.attrs["nonfinite_step"] == done + 1
    assert run.obs_step[-1] == done and run.obs_step.tolist() == list(range(done + 1))
    assert all(np.isfinite(v).all() for v in run.observables.values())
    # every snapshot of the cadence up to the last finite step, then the state at that step (the run's last)
    assert run.snap_step.tolist() == sorted(set(range(0, done + 1, 10)) | {done})
    assert np.isfinite(run.phi).all() and run.phi.dtype == np.float32
    # the last snapshot is the state at that step: its max |phi| is the sample's (recomputed from the chunk start)
    assert float(np.abs(run.phi[-1]).max()) == pytest.approx(float(run.observables["phi_max"][-1]), rel=1e-6)
    # growth per step sqrt(1 + omega^2 dt^2) at the wave's omega (explicit Euler, (3.9)-(3.10) ordering)
    e = run.observables["energy"].astype(float)
    omega2 = 100.0 + 4 * math.sin(math.pi / 8) ** 2
    assert abs(e[10] / e[9] - (1 + omega2)) < 1e-4 * (1 + omega2)


def test_chunks_respect_the_cadences():
    rng = np.random.default_rng(3)
    for _ in range(300):
        every = int(rng.integers(1, 8))
        snap = every * int(rng.integers(0, 30))
        steps = max(snap, every) * int(rng.integers(1, 6)) + int(rng.integers(0, 3 * every))
        chunk = runner.choose_chunk(steps, every, snap, int(rng.integers(1, 10**6)))
        assert chunk % every == 0 and (snap == 0 or snap % chunk == 0)
    assert runner.choose_chunk(400, 5, 100, 128 * 128) == 20  # the demo: 20 equal chunks, one compilation
    assert runner.choose_chunk(1000, 1, 0, 10) == 500  # a small run (1e4 site-updates): two chunks (session 40)
    assert runner.choose_chunk(1000, 1, 0, 10_000) == 50  # 1e7 site-updates: twenty
    assert runner.choose_chunk(1000, 1, 0, runner.SPAN_WORK // 1000) == 500  # the bound itself is small
    assert runner.choose_chunk(50, 3, 15, 32, chunk=15) == 15


@pytest.mark.parametrize(
    "old,new,fragment",
    [
        ("steps = 50", "stepz = 50", 'time.stepz: unknown key; did you mean "steps"?'),
        ("steps = 50", 'steps = "50"', "time.steps: expected an integer"),
        ("dt = 0.1", "dt = -0.1", "time.dt: expected a positive number, got -0.1"),
        ("shape = [32]", "shape = [0]", "lattice.shape: expected positive lattice sizes"),
        ('scheme = "leapfrog"', 'scheme = "verlet"', "time.scheme: expected one of"),
        ("mass = 1.0", "mass = 1.0 x", "TOML syntax error"),
    ],
)
def test_bad_configs_exit_2_with_one_line(tmp_path, capsys, old, new, fragment):
    cfg = write(tmp_path, KG_1D.replace(old, new))
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "-q"]) == 2
    line = err_line(capsys)
    assert fragment in line and str(cfg) in line
    assert not (tmp_path / "o").exists()


def test_missing_config_file(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "no such config file" in err_line(capsys)
    assert cli.main(["analyze", str(tmp_path / "nope.toml")]) == 2


# ----------------------------------------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------------------------------------
def test_plot_run_directory(kg_run, tmp_path, capsys):
    _, out = kg_run
    target = tmp_path / "plots"
    assert cli.main(["plot", str(out), "--out", str(target)]) == 0
    for name in ("energy.png", "observables.png", "field.png"):
        assert (target / name).read_bytes()[:8] == PNG
    assert "field.png" in capsys.readouterr().out


@pytest.mark.parametrize("shape,K", [((6, 5), 1), ((4, 5, 3), 2)])
def test_plot_field_slices_in_2d_and_3d(tmp_path, shape, K):
    rng = np.random.default_rng(1)
    with nio.RunWriter(tmp_path / nio.RUN_FILE, (K, *shape), np.float64, {"spacing": 0.5, "shape": list(shape)}) as w:
        w.append_observables([0, 1], [0.0, 0.1], {"charge": np.ones(2)})
        w.append_snapshot(1, 0.1, {"phi": rng.normal(size=(K, *shape)), "pi": rng.normal(size=(K, *shape))})
    assert cli.main(["plot", str(tmp_path)]) == 0
    assert (tmp_path / "field.png").read_bytes()[:8] == PNG
    assert (tmp_path / "observables.png").exists() and not (tmp_path / "energy.png").exists()


def test_plot_without_a_run(tmp_path, capsys):
    assert cli.main(["plot", str(tmp_path)]) == 2
    assert "no run file" in err_line(capsys)


# ----------------------------------------------------------------------------------------------------------
# analyze
# ----------------------------------------------------------------------------------------------------------
def test_analyze_json_stable_leapfrog(kg_run, tmp_path, capsys):
    cfg_path, _ = kg_run
    png = tmp_path / "disp.png"
    assert cli.main(["analyze", str(cfg_path), "--json", "--plot", str(png)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["stable"] is True
    assert 1.0 - 1e-12 < d["max_amplification"] <= 1.0 + 1e-12
    dt_max = 2 / math.sqrt(4 / 0.5**2 + 1.0)  # leapfrog: dt^2 omega_max^2 / 4 < 1
    assert abs(d["dt_max"] - dt_max) < 1e-5 * dt_max
    assert d["fraction_unstable"] == 0.0 and d["scheme"] == "leapfrog"
    # the network's dispersion is the leapfrog one: 4 sin^2(Omega dt / 2) / dt^2 = omega_k^2
    k = np.asarray(d["dispersion"]["k"])
    om_net = np.asarray(d["dispersion"]["omega_network"])[:, 0]
    om = np.asarray(d["dispersion"]["omega_theory"])
    np.testing.assert_allclose(2 / 0.1 * np.arcsin(0.1 * om / 2), om_net, rtol=1e-10)
    assert k[0] == 0 and abs(k[-1] - math.pi / 0.5) < 1e-12
    assert png.read_bytes()[:8] == PNG


def test_analyze_paper_unit_step(tmp_path, capsys):
    cfg = write(tmp_path, PAPER_3D)
    assert cli.main(["analyze", str(cfg), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["stable"] is False
    assert abs(d["max_amplification"] - (5 + 2 * math.sqrt(6))) < 1e-9
    assert abs(d["dt_max"] - 2 / math.sqrt(12)) < 1e-5
    assert 0.7 < d["fraction_unstable"] < 0.9
    assert cli.main(["analyze", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "dt_max" in out and "max amplification per step" in out and "9.898979" in out


# ----------------------------------------------------------------------------------------------------------
# verify (with fake checks)
# ----------------------------------------------------------------------------------------------------------
def _fake_checks(*passes: bool) -> list[paper.Check]:
    checks = []
    for j, ok in enumerate(passes):
        outcome = paper.Outcome("exact" if ok else "fails", 1e-15 * (j + 1), f"fake {j}")
        checks.append(paper.Check(f"(9.{j})", 3, f"fake check {j}", "exact", lambda o=outcome: o))
    return checks


def test_verify_all_pass(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(paper, "load_checks", lambda: _fake_checks(True, True))
    report = tmp_path / "v.json"
    assert cli.main(["verify", "--section", "3", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "(9.0)" in out and "PASS" in out and "2/2 checks pass" in out
    d = json.loads(report.read_text())
    assert d["passed"] is True and d["n_checks"] == 2
    assert d["results"][1]["measured"] == 2e-15 and d["results"][1]["verdict"] == "exact"


def test_verify_failure_and_crash_exit_1(monkeypatch, tmp_path, capsys):
    def crash() -> paper.Outcome:
        raise RuntimeError("boom")

    checks = _fake_checks(True, False) + [paper.Check("(9.9)", 3, "crashes", "exact", crash)]
    monkeypatch.setattr(paper, "load_checks", lambda: checks)
    report = tmp_path / "v.json"
    assert cli.main(["verify", "--json", str(report)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "1/3 checks pass" in out
    d = json.loads(report.read_text())
    assert [r["passed"] for r in d["results"]] == [True, False, False]
    assert d["results"][2]["measured"] is None and "boom" in d["results"][2]["detail"]
    assert cli.main(["verify", "--section", "4"]) == 1  # no check registered for section 4
    assert "no checks are registered for section 4" in err_line(capsys)


# ----------------------------------------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------------------------------------
def test_demo_small(monkeypatch, tmp_path, capsys):
    text = cli.demo_config_text().replace("shape = [128, 128]", "shape = [24, 24]").replace("t_end = 20.0",
                                                                                             "t_end = 1.0")
    text = text.replace("spacing = 0.25", "spacing = 1.0").replace("snapshot_every = 100", "snapshot_every = 10")
    monkeypatch.setattr(cli, "demo_config_text", lambda: text)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / cli.DEMO_OUT
    out.mkdir()
    (out / "run.h5").write_text("stale")
    assert cli.main(["demo", "-q"]) == 2  # like run: an existing output directory needs --force
    assert "pass --force" in capsys.readouterr().err and (out / "run.h5").read_text() == "stale"
    assert cli.main(["demo", "--force"]) == 0
    printed = capsys.readouterr().out
    assert "discrete_energy(0) =" in printed and "(exact invariant): conserved to" in printed and "run.h5" in printed
    assert printed.strip().splitlines()[-1].startswith("verdict: ")
    # the next step names the demo's own config (examples/ exists only in a clone of the repository)
    own = Path(cli.DEMO_OUT) / "config.toml"  # (relative, as the demo's default --out)
    assert f"next:  edit {own}, then nnfield run {own} --out NEW_DIR" in printed
    assert cli.main(["demo", "-q", "--force"]) == 0  # quiet: only the verdict line
    quiet = capsys.readouterr()
    assert quiet.out.strip().splitlines() == [printed.strip().splitlines()[-1]] and not quiet.err
    run = nio.load_run(out)
    assert run.status == "completed" and run.phi.shape[1:] == (1, 24, 24)
    for name in ("energy.png", "observables.png", "field.png", "config.toml"):
        assert (out / name).exists()


@pytest.mark.slow
def test_demo_builtin(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out)]) == 0  # not -q: that prints the verdict line only
    run = nio.load_run(out, snapshots="last")
    assert run.status == "completed" and run.attrs["steps_done"] == 400
    assert run.max_relative_drift("discrete_energy") < 1e3 * EPS
    assert run.max_relative_drift("energy") < 1e-3  # O(dt^2) oscillation of the Hamiltonian
    printed = capsys.readouterr().out
    assert "discrete_energy (exact invariant): conserved to" in printed and ": OK" in printed
    assert "energy (bounded): oscillates within" in printed


# ----------------------------------------------------------------------------------------------------------
# a theory with K = 2 neuron types and a vector observable plugs in without changes to the CLI
# ----------------------------------------------------------------------------------------------------------
class _ToyLoss(Module):
    """``H = 1/2 sum_a phi^a (-Lap + m_a^2) phi^a``: two decoupled Klein-Gordon fields."""

    m2: jax.Array
    spacing: float = eqx.field(static=True, default=1.0)

    def __call__(self, phi: jax.Array, pi: jax.Array) -> jax.Array:
        lap = laplacian(phi.ndim - 1, self.spacing, K=2)
        m2 = self.m2.reshape((2,) + (1,) * (phi.ndim - 1))
        return -0.5 * jnp.sum(phi * lap.apply(phi)) + 0.5 * jnp.sum(m2 * phi * phi)


class _ToyModel(AbstractModel):
    network: Network
    theory: None = eqx.field(static=True, default=None)

    def encode(self, phi, pi) -> State:
        return State(jnp.asarray(phi), jnp.asarray(pi))

    def decode(self, state: State):
        return state.phi, state.pi

    def conserved(self) -> tuple[Conserved, ...]:
        return (Conserved("energy", "bounded", "the leapfrog's energy oscillates at O(dt^2)"),)

    def observables(self, state: State) -> dict[str, jax.Array]:
        loss = self.network.loss
        m2 = np.asarray(loss.m2)  # needs the concrete parameters: the runner must not trace the model
        return {"energy": 0.5 * jnp.sum(state.pi**2) + loss(state.phi, state.pi),
                "norms": jnp.sum(state.phi**2, axis=tuple(range(1, state.phi.ndim))),
                "m2_sum": jnp.sum(state.phi * 0) + float(m2.sum())}


def _toy_build(lattice, params, dt, scheme):
    m2 = jnp.asarray([params["mass"] ** 2, 4 * params["mass"] ** 2])
    nd = lattice.ndim
    net = Network.create(lattice, identity(nd, 2), identity(nd, 2), _ToyLoss(m2, lattice.spacing), dt, scheme)
    return _ToyModel(net)


def _toy_initial(model, params, seed):
    lat = model.network.lattice
    x = lat.coordinates()[0]
    k = 2 * np.pi / lat.lengths[0]
    phi = params["amplitude"] * np.stack([np.cos(k * x), np.sin(k * x)])
    return phi, np.zeros_like(phi)


TOY = TheorySpec(
    name="toy-two-fields",
    doc="two decoupled Klein-Gordon fields (K = 2)",
    params={"mass": Param("float", 1.0, "mass of the first field")},
    build=_toy_build,
    initial={"waves": InitialSpec({"amplitude": Param("float", 1.0, "amplitude")}, _toy_initial)},
    schemes=("leapfrog",),
)

TOY_CFG = """\
[theory]
name = "toy-two-fields"
mass = 0.5
[lattice]
shape = [12, 8]
[time]
dt = 0.2
steps = 12
[initial]
kind = "waves"
amplitude = 2.0
[output]
every = 2
snapshot_every = 6
"""


def test_a_new_theory_with_two_neuron_types_runs_and_analyzes(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(THEORIES, TOY.name, TOY)
    cfg = write(tmp_path, TOY_CFG)
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "stability: stable" in printed and "energy (bounded): oscillates within" in printed
    run = nio.load_run(out)
    assert run.phi.shape == (3, 2, 12, 8) and run.snap_step.tolist() == [0, 6, 12]
    assert run.observables["norms"].shape == (7, 2)
    np.testing.assert_allclose(run.observables["norms"][0], [2.0**2 * 96 / 2] * 2, rtol=1e-12)
    assert run.attrs["K"] == 2
    np.testing.assert_array_equal(run.observables["m2_sum"], 0.25 + 1.0)
    assert cli.main(["analyze", str(cfg), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["stable"] is True and d["dispersion"]["omega_theory"] is None
    dt_max = 2 / math.sqrt(8 + 4 * 0.5**2)  # the heavier field limits the leapfrog step
    assert abs(d["dt_max"] - dt_max) < 1e-5 * dt_max


def test_observer_traces_the_model_when_it_can(kg_run, monkeypatch):
    from jax.tree_util import Partial

    cfg_path, _ = kg_run
    model, state = runner.build(load_config(cfg_path))
    obs = runner.observer_for(model, state)
    assert isinstance(obs, Partial)
    assert len(jax.tree_util.tree_leaves(obs)) == len(jax.tree_util.tree_leaves(model))  # model arrays traced
    toy = _toy_build(model.network.lattice, {"mass": 0.5}, 0.1, "leapfrog")
    toy_state = State(jnp.zeros((2, 32)), jnp.zeros((2, 32)))
    const = runner.observer_for(toy, toy_state)  # needs concrete leaves: the model is a constant of the chunk
    assert isinstance(const, Partial) and jax.tree_util.tree_leaves(const) == []


def test_analyze_reports_when_the_analysis_does_not_apply(kg_run, monkeypatch, capsys):
    from nnfield import analysis

    def refuse(*args, **kwargs):
        raise NotAnalysableError("not translation invariant\nsecond line")

    monkeypatch.setattr(analysis, "analyze", refuse)
    cfg_path, _ = kg_run
    assert cli.main(["analyze", str(cfg_path), "--json"]) == 1
    captured = capsys.readouterr()
    d = json.loads(captured.out)
    assert d["stable"] is None and d["error"] == "not translation invariant"
    assert "not available" in captured.err
    assert cli.main(["analyze", str(cfg_path)]) == 1
    assert "not analysed" in capsys.readouterr().out


def test_analysis_bugs_surface_instead_of_not_analysed(kg_run, monkeypatch, tmp_path):
    """Only "cannot analyse this network" is caught: any other exception in the analysis is a bug."""
    from nnfield import analysis, stability

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in a new network's step")

    monkeypatch.setattr(analysis, "analyze", broken)
    monkeypatch.setattr(analysis, "eigenvalues", broken)
    monkeypatch.setattr(stability, "verdict_cache_dir", lambda: None)  # analyse, not read kg_run's verdict back
    cfg_path, _ = kg_run
    with pytest.raises(ZeroDivisionError):
        cli.main(["analyze", str(cfg_path), "--json"])
    with pytest.raises(ZeroDivisionError):
        cli.main(["run", str(cfg_path), "--out", str(tmp_path / "bug"), "-q"])


# ----------------------------------------------------------------------------------------------------------
# dual, version, help, python -m
# ----------------------------------------------------------------------------------------------------------
def test_dual_delegates_to_the_duality_module(monkeypatch, capsys):
    fake = types.ModuleType(cli.DUAL_MODULE)

    def add_arguments(parser):
        parser.add_argument("--hamiltonian", required=True)

    def run(args):
        print(f"dual of {args.hamiltonian}")
        return 0

    fake.add_arguments, fake.run = add_arguments, run
    monkeypatch.setitem(sys.modules, cli.DUAL_MODULE, fake)
    assert cli.main(["dual", "--hamiltonian", "beta**2/2"]) == 0
    assert "dual of beta**2/2" in capsys.readouterr().out
    assert cli.main(["dual"]) == 2  # its own argument errors are usage errors


def test_dual_missing_module_is_not_available(monkeypatch, capsys):
    monkeypatch.setattr(cli, "DUAL_MODULE", "nnfield.no_such_duality_command")
    assert cli.main(["dual", "--hamiltonian", "x"]) == 2
    assert "not available" in err_line(capsys)


def test_version_help_and_usage_errors(capsys):
    from nnfield import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nnfield {__version__}"
    assert cli.main(["--help"]) == 0
    assert "Exit codes" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["verify", "--section", "9"]) == 2


def test_python_m_and_lazy_imports():
    out = subprocess.run([sys.executable, "-m", "nnfield", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("nnfield ")
    probe = (
        "import sys, nnfield.cli as c\n"
        "p = c.build_parser()\n"
        "heavy = [m for m in ('jax', 'matplotlib', 'sympy', 'h5py') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_a_mistyped_command_gets_a_suggestion(capsys):
    assert cli.main(["rnu", "x.toml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown command 'rnu'; did you mean `nnfield run`?" in err[0]
    assert cli.main(["xyzzy"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_run_dry_run_checks_and_writes_nothing(tmp_path):
    """``run --dry-run`` makes every pre-run check (exit 0 for a good config, 2 for a refused one) and writes
    no directory."""
    out = tmp_path / "dry"
    cmd = [sys.executable, "-m", "nnfield", "run", "examples/kg_1d_packet.toml", "--dry-run", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], check=False)
    assert res.returncode == 0, res.stderr
    assert "nothing written" in res.stdout
    assert not out.exists()
    # and it says what the run would need: 512 sites, K = 1, two float64 fields = 8 KiB
    assert re.search(r"memory \(estimate\): about .* at peak \(fields 8 KiB, model 16 KiB, .*\); .* on the device; "
                     r".* available here", res.stdout), res.stdout


def test_verify_section_b_selects_the_checks_beyond_the_paper(tmp_path, monkeypatch):
    """Quick sibling of the slow test below: ``--section b`` (any case) runs exactly the section-B checks (their
    functions replaced by a stub here; their physics is guarded by the theories' own quick tests)."""
    from nnfield import paper

    ran: list[str] = []
    checks = list(paper.load_checks())
    stubbed = [dataclasses.replace(c, fn=lambda c=c: ran.append(c.equation) or paper.Outcome(c.expected, 0.0, "stub"))
               for c in checks]
    monkeypatch.setattr(paper, "load_checks", lambda: stubbed)
    report = tmp_path / "b.json"
    assert cli.main(["verify", "--section", "b", "--json", str(report), "-q"]) == 0
    d = json.loads(report.read_text())
    beyond = [c.equation for c in checks if c.section == "B"]
    assert d["passed"] is True and d["n_checks"] == len(beyond) >= 6 and sorted(ran) == sorted(beyond)
    assert {r["section"] for r in d["results"]} == {"B"}


@pytest.mark.slow  # (3.8 s; session 28, the quick suite's 3 minutes: the quick sibling above selects the section;
# the physics of the B checks is guarded by their theories' own quick tests, test_maxwell_dirac.py,
# test_scalar_qed.py, test_maxwell.py, test_checks_audit_s28.py)
def test_verify_section_b_beyond_the_paper(tmp_path, capsys):
    """``--section B`` runs the checks beyond the paper (dynamical U(1) gauge fields) and only those."""
    report = tmp_path / "b.json"
    assert cli.main(["verify", "--section", "b", "--json", str(report), "-q"]) == 0
    d = json.loads(report.read_text())
    assert d["passed"] is True and d["n_checks"] >= 6
    assert {r["section"] for r in d["results"]} == {"B"}


def test_a_verbose_run_that_stops_on_nonfinite_values_still_says_where_its_time_went(tmp_path, capsys):
    cfg = write(tmp_path, BLOWUP)
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out), "-v", "--allow-unstable", "--plot"]) == 1
    text = capsys.readouterr().out
    assert "plots (up to the last finite sample): " in text and (out / "energy.png").is_file()
    assert re.search(r"timings: total [0-9.]+ s until the run stopped on non-finite values", text)
    assert re.search(r"of which JAX: tracing [0-9.]+ s, lowering [0-9.]+ s, \d+ programs?", text)


def test_a_run_with_few_samples_says_its_bounded_quantity_is_not_judged(tmp_path, capsys):
    """every = 100 of a 500-step run: 6 samples of the energy's O(dt^2) oscillation cannot tell a trend from it;
    the summary says so and the verdict is OK (a user saw a false "DRIFTS" WARNING here)."""
    text = (Path(__file__).resolve().parents[1] / "examples" / "kg_1d_packet.toml").read_text()
    text = re.sub(r"(?m)^every = .*$", "every = 100", re.sub(r"(?m)^snapshot_every = .*$", "snapshot_every = 100",
                                                               text))
    cfg = write(tmp_path, text)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "too few samples (6, at least 16)" in out and "NOT JUDGED" in out
    assert re.search(r"verdict: OK: 500 steps .*conservation 1/1 OK, not judged \(too few samples\): energy", out)


def test_a_run_shorter_than_its_energy_oscillation_is_not_judged_and_a_longer_one_is(tmp_path, capsys):
    """A slow packet (m = 0.2, at rest): its energy error oscillates with period ~16, so over t = 2 (41 samples)
    it moves one way. That record cannot tell a drift from the oscillation (a user saw "DRIFTS" here): the line
    says so, the verdict is OK and names the reason. Over t = 40 the same run is judged: no secular drift."""
    text = (Path(__file__).resolve().parents[1] / "examples" / "kg_1d_packet.toml").read_text()
    for key, value in (("every", "1"), ("snapshot_every", "40"), ("momentum", "[0.0]"), ("mass", "0.2"),
                       ("width", "6.0")):
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    for t_end, judged in (("2.0", False), ("40.0", True)):
        cfg = write(tmp_path, re.sub(r"(?m)^t_end = .*$", f"t_end = {t_end}", text))
        assert cli.main(["run", str(cfg), "--out", str(tmp_path / f"o{t_end}")]) == 0
        out = capsys.readouterr().out
        if judged:
            assert "energy (bounded)" in out and "no secular drift: OK" in out
            assert re.search(r"verdict: OK: 800 steps .*conservation 2/2 OK;", out)
        else:
            assert "moves one way over the whole run" in out and "NOT JUDGED (run longer)" in out
            assert re.search(r"verdict: OK: 40 steps .*conservation 1/1 OK, not judged \(no oscillation "
                             r"recorded\): energy", out)


def test_a_run_of_an_unstable_network_ends_with_a_warning(tmp_path, capsys):
    """``--allow-unstable`` runs a network that grows at every dt (the printed sign of (3.8)); it completes (exit
    0), but its verdict is a WARNING that names the growth, not "OK" (nothing is declared conserved to fail)."""
    text = (Path(__file__).resolve().parents[1] / "examples" / "kg_1d_packet.toml").read_text()
    for key, value in (("t_end", "0.5"), ("sign", '"printed"'), ("every", "1"), ("snapshot_every", "10")):
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    cfg = write(tmp_path, text)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "-q", "--allow-unstable"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"verdict: WARNING: 10 steps to t = 0.5; nothing declared conserved; the network is UNSTABLE "
                     r"at dt = 0.05 \(max growth per step 2.62\d*, run with --allow-unstable\)", out)
