"""Ensembles and sweeps: one compiled program for every member, each member bit-identical to its own run
(issue 10, item 2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import jax
import numpy as np
import pytest

from nnfield import conservation, ensemble
from nnfield import io as nio
from nnfield import network as nnet
from nnfield.config import parse_config
from nnfield.errors import ConfigError
from nnfield.model import Conserved
from nnfield.runner import build, observer_for

BASE = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [32]
spacing = 0.5
[time]
dt = 0.1
steps = 100
[initial]
kind = "random_spectrum"
[output]
every = 10
"""


def _single(cfg, steps, every):
    model, state = build(cfg)
    return nnet.run(model.network, state, steps, every, observer_for(model, state))


def test_64_members_compile_once_and_equal_their_own_runs():
    cfg = parse_config(BASE)
    sweep = {"theory.mass": list(np.linspace(0.5, 2.0, 8)), "initial.seed": list(range(8))}
    ens = ensemble.build_ensemble(cfg, sweep)
    assert ens.size == 64
    before = ensemble.compilations()
    res = ensemble.run_ensemble(ens, steps=100, every=10)
    assert ensemble.compilations() == before + 1
    assert res.observables["energy"].shape == (64, 10)
    for i in (0, 27, 63):
        state, obs = _single(ens.configs[i], 100, 10)
        assert np.array_equal(np.asarray(state.phi), np.asarray(res.state.phi[i]))
        assert np.array_equal(np.asarray(obs["energy"]), res.observables["energy"][i])
    # another ensemble of the same shape with other values: no new compilation
    ens2 = ensemble.build_ensemble(cfg, {"theory.mass": list(np.linspace(0.7, 3.0, 8)),
                                         "initial.seed": list(range(8, 16))})
    ensemble.run_ensemble(ens2, steps=100, every=10)
    assert ensemble.compilations() == before + 1


def test_a_dt_sweep_equals_the_single_runs():
    cfg = parse_config(BASE)
    ens = ensemble.build_ensemble(cfg, {"time.dt": [0.05, 0.1, 0.2]})
    res = ensemble.run_ensemble(ens)
    for i, c in enumerate(ens.configs):
        state, _ = _single(c, 100, 10)
        assert np.array_equal(np.asarray(state.pi), np.asarray(res.state.pi[i]))


def test_grad_through_an_ensemble_member_matches_finite_differences():
    """Parameters are traced leaves: d E_final / d m through the whole vmapped run."""
    jax.config.update("jax_enable_x64", True)
    cfg = parse_config(BASE)
    ens = ensemble.build_ensemble(cfg, {"theory.mass": [0.8, 1.2]})
    leaves, treedef = jax.tree_util.tree_flatten(ens.model)
    axes = treedef.flatten_up_to(ens.model_axes)  # the axes of the model's own leaves (a None field has neither)
    swept = [i for i, a in enumerate(axes) if a == 0]
    assert swept  # the mass is an array leaf with a member axis

    def energy(scale):
        new = list(leaves)
        for i in swept:
            new[i] = leaves[i] * scale
        model = jax.tree_util.tree_unflatten(treedef, new)
        _, obs = ensemble._ensemble_impl((model, None), ens.state, (ens.model_axes, None), 20, 10)
        return obs["energy"][:, -1].sum()

    g = jax.grad(energy)(1.0)
    h = 1e-6
    fd = (energy(1.0 + h) - energy(1.0 - h)) / (2 * h)
    assert abs(float(g) - float(fd)) < 1e-6 * max(1.0, abs(float(fd)))


def test_sweeps_that_change_the_program_are_refused():
    cfg = parse_config(BASE)
    with pytest.raises(ConfigError, match="differ in structure"):
        ensemble.build_ensemble(cfg, {"lattice.shape": [[32], [64]]})
    with pytest.raises(ConfigError, match="table.key"):
        ensemble.member_configs(cfg, {"mass": [1.0]})


def test_config_sweep_table_from_the_command_line(tmp_path, capsys):
    from nnfield import cli

    cfg = tmp_path / "s.toml"
    cfg.write_text(BASE + '[sweep]\n"theory.mass" = [0.5, 1.0, 2.0]\n"initial.seed" = [1, 2]\n')
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0
    with h5py.File(Path(out) / "run.h5", "r") as h5:
        assert h5["observables/energy"].shape == (11, 6)
        assert h5["snapshots/phi"].shape[1:] == (6, 1, 32)
        assert h5.attrs["members"] == 6 and nio.read_attrs(h5)["status"] == "completed"
        cons = json.loads(nio.read_attrs(h5)["conservation"])
        energy_all = h5["observables/discrete_energy"][()]
    # one verdict per declared quantity, the worst member's (each member's own, as a single run computes it)
    assert [c["name"].split(" [")[0] for c in cons] == ["discrete_energy", "energy"]
    assert all("worst of 6 members" in c["name"] for c in cons) and cons[0]["ok"]
    own = [conservation.verdict(Conserved("discrete_energy", "invariant", ""), energy_all[:, j], 100, np.float64)
           for j in range(6)]
    assert cons[0]["relative_drift"] == max(v.relative_drift for v in own)
    assert "conservation " in capsys.readouterr().out  # the verdict line counts them (not "nothing declared")
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE + '[sweep]\n"theory.mass" = 1.0\n"nothing.here" = [1]\n')
    capsys.readouterr()
    assert cli.main(["run", str(bad), "--out", str(tmp_path / "b"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("nnfield: error:") for line in err)
    assert not (tmp_path / "b").exists()


def _dirac_family(theory: str) -> str:
    """A small 1D config of the Dirac (``dirac``), gauged Dirac (``gauged-dirac``, in a uniform electric field)
    or Maxwell-Dirac (``maxwell-dirac``) theory."""
    extra = {
        "maxwell-dirac": ('charge = 1.0\n', 'kind = "charged_packets"\nmomentum = [1.0]\n', ""),
        "gauged-dirac": ('network = "stable"\nfield = "electric"\nelectric = 0.05\ncharge = 1.0\n',
                         'kind = "gaussian_packet"\ncenter = [8.0]\n', 'scheme = "alternating"\n'),
        "dirac": ("", 'kind = "gaussian_packet"\n', ""),
    }[theory]
    return (f'[theory]\nname = "{theory}"\n{extra[0]}mass = 0.5\n[lattice]\nshape = [32]\nspacing = 0.5\n'
            f'[time]\ndt = 0.05\nsteps = 40\n{extra[2]}[initial]\n{extra[1]}width = 2.0\n[output]\nevery = 10\n')


DIRAC_FAMILY = {name: _dirac_family(name) for name in ("dirac", "gauged-dirac", "maxwell-dirac")}


@pytest.mark.parametrize("theory", sorted(DIRAC_FAMILY))
def test_dirac_family_sweeps_share_one_program(theory):
    """The Dirac-family models hold their physics side (``dirac.Dirac``) as a PyTree whose one leaf is the mass:
    two builds of one config have equal PyTree structures, and a sweep of the mass, the initial data and ``dt``
    is one compiled program whose members' fields equal their own runs: bit for bit under the quick suite's compile
    options, to round-off under XLA's defaults (``-m "slow or not slow"``, ``NNFIELD_TEST_XLA_DEFAULTS=1``), where
    the vmapped program may round an update otherwise (the gauged-Dirac members 5 and 7 differ by 7e-18 and 3e-18,
    one ulp of their smallest fields; ``docs/config.md``): then held to 4 eps of each field's largest value, an
    update rounded differently in a few of the 40 ticks. Their observables are sums
    over the lattice that the vmapped program may add in another order (with XLA's default optimization, 1-3 ulp
    seen), so they are held to the reordering bound of a sum of N = 32 sites: N eps of the largest sample."""
    jax.config.update("jax_enable_x64", True)
    cfg = parse_config(DIRAC_FAMILY[theory])
    assert jax.tree_util.tree_structure(cfg.build_model()) == jax.tree_util.tree_structure(cfg.build_model())
    ens = ensemble.build_ensemble(cfg, {"theory.mass": [0.5, 1.0], "initial.width": [1.5, 2.5],
                                        "time.dt": [0.05, 0.04]})
    before = ensemble.compilations()
    res = ensemble.run_ensemble(ens)
    assert ensemble.compilations() == before + 1
    fast = "--xla_backend_optimization_level=0" in os.environ.get("XLA_FLAGS", "")  # tests/conftest.py's options
    for i in (0, 3, 4, 7):
        state, obs = _single(ens.configs[i], 40, 10)
        for a, b in zip(jax.tree_util.tree_leaves(state), jax.tree_util.tree_leaves(res.state), strict=True):
            a, b = np.asarray(a), np.asarray(b[i])
            if fast:
                assert np.array_equal(a, b)
            else:
                np.testing.assert_allclose(b, a, rtol=0, atol=4 * np.finfo(np.float64).eps * np.abs(a).max())
        for k, v in obs.items():
            bound = 32 * np.finfo(np.float64).eps * np.max(np.abs(np.asarray(v)))
            np.testing.assert_allclose(res.observables[k][i], np.asarray(v), rtol=0, atol=bound, err_msg=k)
    # what changes the program is still refused with its path: the massless Dirac network has no mass weight,
    # a Wilson bias replaces the forward one
    refused = {"theory.mass": [0.0, 1.0]} if theory == "dirac" else {"theory.bias": ["forward", "wilson"]}
    with pytest.raises(ConfigError, match=r"first: model\."):
        ensemble.build_ensemble(cfg, refused)


def test_a_member_that_blows_up_is_named_and_the_others_are_kept(tmp_path, capsys):
    """A sweep with an unstable member (``--allow-unstable``): the members are independent, so the others run to
    the end; the run ends ``nonfinite`` with exit 1, naming the member and the first non-finite sample's step
    (stored as ``nonfinite_members``), each member's tick is stored (a dt sweep: the members' times differ) and
    the plots use it."""
    from nnfield import cli
    from nnfield.plotting import member_times

    cfg = tmp_path / "u.toml"
    # dt_max ~0.485 on this lattice: the second member grows ~4x per step and overflows within 400 steps
    cfg.write_text(BASE.replace("steps = 100", "steps = 400") + '[sweep]\n"time.dt" = [0.1, 0.6]\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--allow-unstable"]) == 1
    out = capsys.readouterr()
    assert "1 distinct network(s) checked" not in out.out and "1 unstable (--allow-unstable)" in out.out
    err = [ln for ln in out.err.splitlines() if ln.startswith("nnfield: error:")]
    assert len(err) == 1 and "in 1 of 2 sweep members: member 1 {time.dt = 0.6} from step " in err[0]
    assert err[0].endswith("see `nnfield analyze CONFIG --member 1`")  # the command that analyses it
    assert out.out.strip().splitlines()[-1].startswith("verdict: FAILED: non-finite values; the run file keeps "
                                                       "every member's samples")
    with pytest.warns(nio.IncompleteRunWarning):
        run = nio.load_run(tmp_path / "o", snapshots="last")
    assert run.status == "nonfinite"
    bad = json.loads(run.attrs["nonfinite_members"])
    assert [(b["member"], b["params"]) for b in bad] == [(1, {"time.dt": 0.6})]
    energy = np.asarray(run.observables["energy"])
    first = int(np.argmin(np.isfinite(energy[:, 1])))
    assert bad[0]["step"] == int(run.obs_step[first]) and np.isfinite(energy[first - 1, 1])
    assert np.isfinite(energy[:, 0]).all() and run.obs_step[-1] == 400  # the stable member ran to the end
    assert json.loads(run.attrs["member_ticks"]) == [0.1, 0.6]
    t0, t1 = member_times(run, 2)
    np.testing.assert_allclose(t1, 6 * t0)


def test_a_sweep_reports_its_first_chunk(tmp_path):
    res = ensemble.execute_sweep(parse_config(BASE + '[sweep]\n"theory.mass" = [0.5, 1.0]\n'), tmp_path / "o",
                                 progress=False)
    assert res.status == "completed" and 0 < res.first_chunk_seconds <= res.wall_seconds


# the Dirac case is slow (3.6 s; session 29, the quick suite's 3 minutes): the Klein-Gordon case goes through the
# same per-member spectra stacking, and tests/test_ensemble.py's Dirac-family sweeps stay quick
@pytest.mark.parametrize("theory", ["klein-gordon", pytest.param("dirac", marks=pytest.mark.slow)])
def test_a_sweep_records_each_members_spectra(theory, tmp_path):
    """``[output] spectra`` in a sweep: each member's spectra with its own dispersion (the Klein-Gordon occupation
    numbers) or its own positive-energy projector (the Dirac band spectra), equal to its own run's."""
    from nnfield.runner import spectra_for

    jax.config.update("jax_enable_x64", True)
    text = BASE if theory == "klein-gordon" else DIRAC_FAMILY["dirac"].replace(
        'name = "dirac"\n', 'name = "dirac"\nnetwork = "stable"\n').replace(
        "steps = 40\n", 'steps = 40\nscheme = "alternating"\n')
    cfg = parse_config(text.replace("[output]\n", "[output]\nspectra = true\n"))
    ens = ensemble.build_ensemble(cfg, {"theory.mass": [0.5, 1.0, 2.0]}, spectra=True)
    res = ensemble.run_ensemble(ens, steps=40, every=10)
    names = {"occupation", "spectrum_phi", "spectrum_pi"} if theory == "klein-gordon" else {
        "spectrum_psi", "spectrum_psi_positive", "spectrum_psi_negative"}
    assert names <= set(res.observables)
    for i in (0, 2):
        model, state = build(ens.configs[i])
        _, obs = nnet.run(model.network, state, 40, 10, observer_for(model, state, spectra_for(ens.configs[i],
                                                                                                  model, state)))
        for k in names:
            np.testing.assert_allclose(res.observables[k][i], np.asarray(obs[k]), rtol=1e-12, atol=1e-14)
    if theory == "klein-gordon":  # the members' dispersions differ, so do their occupation numbers' omegas
        assert not np.allclose(np.asarray(ens.spectra.omega[0]), np.asarray(ens.spectra.omega[2]))
    if theory == "klein-gordon":  # (the command's path is the same for every theory: run once, with the Dirac sweep)
        return
    # the command: the file holds (samples, members, bins) and the bins once
    (tmp_path / "s.toml").write_text(cfg.text + '[sweep]\n"theory.mass" = [0.5, 1.0]\n')
    from nnfield import cli

    assert cli.main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o"), "-q", "--plot"]) == 0
    run = nio.load_run(tmp_path / "o", snapshots="none")
    spec = sorted(names)[0]
    assert run.observables[spec].shape[1:] == (2, len(run.attrs["spectrum_k"]))
    assert (tmp_path / "o" / "spectra.png").exists()


def test_dry_run_and_analyze_of_a_sweep_check_every_member(tmp_path, capsys):
    """``run --dry-run`` of a sweep builds every member and checks every distinct network (it used to check the
    base config only, so an unstable member passed); ``analyze`` picks the first unstable member (or
    ``--member I``), the refusal names the command that shows it."""
    from nnfield import cli

    cfg = tmp_path / "u.toml"
    cfg.write_text(BASE + '[sweep]\n"time.dt" = [0.1, 0.6]\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "sweep member 1 {'time.dt': 0.6}: refusing" in err and f"nnfield analyze {cfg} --member 1" in err
    assert not (tmp_path / "o").exists()
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--dry-run", "--allow-unstable"]) == 0
    assert "2 distinct network(s) checked, 1 unstable" in capsys.readouterr().out and not (tmp_path / "o").exists()
    assert cli.main(["analyze", str(cfg), "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("verdict: unstable: max amplification 3.86")
    assert cli.main(["analyze", str(cfg)]) == 0
    assert "analysing member 1 (time.dt = 0.6): the first unstable member" in capsys.readouterr().out
    assert cli.main(["analyze", str(cfg), "-q", "--member", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("verdict: stable")
    assert cli.main(["analyze", str(cfg), "--member", "2"]) == 2
    assert "--member: expected 0 .. 1 (2 members), got 2" in capsys.readouterr().err


def test_a_sweep_is_guarded_for_memory_and_non_finite_initial_data(tmp_path, monkeypatch, capsys):
    """The memory guard counts every member (a sweep built all of them unguarded before), and non-finite initial
    data of a member is refused in one line naming it, as for one run."""
    from nnfield import cli, resources

    one = resources.estimate_run_memory(parse_config(BASE))["total"]
    monkeypatch.setattr(resources, "available_memory", lambda: 8 * one)
    cfg = tmp_path / "m.toml"
    cfg.write_text(BASE + '[sweep]\n"initial.seed" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the run (16 sweep members) needs about" in err[0]
    assert "run fewer than 16 [sweep] members at once" in err[0]
    cfg.write_text(BASE + '[sweep]\n"initial.seed" = [1, 2]\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    capsys.readouterr()
    # the config layer refuses every amplitude it can see is too large; data that is not finite anyway (a file,
    # a plug-in initial kind) is refused per member: here member 1's data made NaN after it was built
    real = ensemble.build_ensemble

    def nan_in_member_1(*args, **kwargs):
        ens = real(*args, **kwargs)
        ens.state = jax.tree_util.tree_map(lambda x: x.at[1].set(np.nan), ens.state)
        return ens

    monkeypatch.setattr(ensemble, "build_ensemble", nan_in_member_1)
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nnfield: error: sweep member 1 {'initial.seed': 2}: the initial "
                                               "data has NaN or Inf values")


def test_a_small_sweep_spans_snapshot_intervals_per_chunk_bit_for_bit(tmp_path):
    """A small sweep takes chunks of several snapshot intervals (one dispatch and one file append each, as a
    small single run does); its file equals the one written interval by interval (``output.chunk`` set), bit for
    bit, snapshots included."""
    text = BASE.replace("steps = 100", "steps = 200").replace("every = 10", "every = 10\nsnapshot_every = 20")
    sweep = '[sweep]\n"theory.mass" = [0.5, 1.0]\n'
    span = ensemble.execute_sweep(parse_config(text + sweep), tmp_path / "span", progress=False)
    plain = ensemble.execute_sweep(parse_config(text.replace("every = 10\n", "every = 10\nchunk = 20\n", 1) + sweep),
                                   tmp_path / "plain", progress=False)
    assert span.chunk == 100 and plain.chunk == 20
    with h5py.File(span.run_file) as a, h5py.File(plain.run_file) as b:
        for group in ("observables", "snapshots"):
            assert set(a[group]) == set(b[group])
            for name in a[group]:
                assert np.array_equal(a[group][name][()], b[group][name][()]), (group, name)
        assert a["snapshots/step"][()].tolist() == list(range(0, 201, 20))


def _sweep_datasets(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of a sweep's run file but the wall-clock ones (``final``, ``commit``)."""
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return {k: v for k, v in out.items() if k not in ("final", "commit")}


def _assert_same_sweep(ref: Path, got: Path) -> None:
    a, b = _sweep_datasets(ref / "run.h5"), _sweep_datasets(got / "run.h5")
    assert sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(a[name], b[name]), name


SWEEP_CKPT = BASE.replace("steps = 100", "steps = 400").replace(
    "every = 10", "every = 10\nsnapshot_every = 50\nchunk = 50\ncheckpoint_every = 100\ncheckpoint_keep = 10"
) + '[sweep]\n"theory.mass" = [0.5, 1.0]\n"initial.seed" = [1, 2]\n'


def test_a_sweep_is_checkpointed_and_resumed_bit_for_bit(tmp_path, capsys):
    """A sweep checkpoints the stacked state of every member (step 0, every ``checkpoint_every``, the end); a
    sweep that died after its checkpoint at step 200 (the later checkpoints removed, as if killed before them) is
    finished by ``--resume`` with every dataset bit-identical to the uninterrupted sweep, and ``--steps`` extends
    a finished one to equal the longer sweep."""
    from nnfield import cli

    cfg = tmp_path / "s.toml"
    cfg.write_text(SWEEP_CKPT)
    ref = tmp_path / "ref"
    assert cli.main(["run", str(cfg), "--out", str(ref), "-q"]) == 0
    steps = sorted(int(p.name.split("-")[1]) for p in (ref / "checkpoints").iterdir())
    assert steps == [0, 100, 200, 300, 400]
    died = tmp_path / "died"
    import shutil

    shutil.copytree(ref, died)
    for p in (died / "checkpoints").iterdir():
        if int(p.name.split("-")[1]) > 200:
            shutil.rmtree(p)
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(died), "-q"]) == 0
    _assert_same_sweep(ref, died)
    with h5py.File(died / "run.h5", "r") as h5:
        attrs = nio.read_attrs(h5)
        assert attrs["status"] == "completed" and h5.attrs["members"] == 4
        assert json.loads(attrs["resumed"])[0]["from_step"] == 200
    # extended: equals the 600-step sweep
    longer_cfg = tmp_path / "longer.toml"
    longer_cfg.write_text(SWEEP_CKPT.replace("steps = 400", "steps = 600"))
    longer = tmp_path / "longer"
    assert cli.main(["run", str(longer_cfg), "--out", str(longer), "-q"]) == 0
    assert cli.main(["run", "--resume", str(ref), "--steps", "600", "-q"]) == 0
    _assert_same_sweep(longer, ref)
    assert "steps = 600" in (ref / "config.toml").read_text()
    # a checkpoint of other members (a sweep value changed in the directory's config) is refused in one line
    (longer / "config.toml").write_text((longer / "config.toml").read_text().replace("[0.5, 1.0]", "[0.5, 1.5]"))
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(longer), "--steps", "700", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config" in err[0], err


def test_a_sweep_from_a_data_file_resumes_after_the_file_is_moved(tmp_path, capsys, monkeypatch):
    """Found in session 32: ``--resume`` of a sweep built every member's initial state only to take its structure
    (the checkpoint holds the states), so a sweep started from an ``[initial] kind = "file"`` refused to go on once
    the file had been moved (a run's resume had been fixed in session 29, ``runner.build_template``). The members'
    templates now come from their models alone; the resumed sweep equals the uninterrupted one bit for bit."""
    import shutil

    from nnfield import cli
    from nnfield.theories import u1
    from test_durable_s29 import MAXWELL

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pw.toml").write_text(MAXWELL.format(steps=20, initial='kind = "plane_wave"', precision="float64"))
    assert cli.main(["run", "pw.toml", "--out", "pw", "-q"]) == 0
    u1.save_initial_from_run(tmp_path / "data", "pw")
    sweep = MAXWELL.format(steps=20, initial='kind = "file"\npath = "data.npz"', precision="float64")
    (tmp_path / "s.toml").write_text(sweep + '[sweep]\n"theory.charge" = [0.9, 1.1]\n')
    assert cli.main(["run", "s.toml", "--out", "ref", "-q"]) == 0
    shutil.copytree(tmp_path / "ref", tmp_path / "died")
    for p in (tmp_path / "died" / "checkpoints").iterdir():
        if int(p.name.split("-")[1]) > 10:
            shutil.rmtree(p)
    shutil.move(tmp_path / "data.npz", tmp_path / "moved.npz")
    capsys.readouterr()
    assert cli.main(["run", "--resume", "died", "-q"]) == 0, capsys.readouterr().err
    _assert_same_sweep(tmp_path / "ref", tmp_path / "died")
