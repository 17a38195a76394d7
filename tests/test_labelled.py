"""Labelled output: the run file read by xarray (netCDF-4 dimensions, coordinates, units), ``nnfield.load``,
old files and renamed observables, labels kept by the resume rebuild."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import nnfield
from nnfield import io as nio
from nnfield import labels

xr = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.toml"))
#: one example per dimension and theory family in the quick suite; the rest with -m slow
#: (session 28: the 1D Dirac field and the 3D Klein-Gordon field, 0.9 s, instead of kg_1d_packet and dirac_3p1, 3.0 s)
QUICK = {"dirac_1p1", "kg_3d_random"}  # a spinor in 1D and a scalar in 3D; every other example in the slow suite
ATTRS = {"shape": [4, 3], "spacing": 0.5, "K": 2, "theory": "dirac", "network": "stable network", "tick": 0.5}


def _write(path, n_chunks=3, attrs=ATTRS, close=True):
    rng = np.random.default_rng(1)
    w = nio.RunWriter(path, (2, 4, 3), np.float64, {**nio.provenance("[theory]\nname = 'dirac'\n"), **attrs})
    for c in range(n_chunks):
        steps = 10 * c + np.arange(1, 4)
        w.append_observables(steps, 0.5 * steps, {"energy": rng.normal(size=3), "position_x": rng.normal(size=3),
                                                  "norms": rng.normal(size=(3, 2))})
        w.append_snapshot(10 * c + 3, 0.5 * (10 * c + 3), {"phi": rng.normal(size=(2, 4, 3)),
                                                           "pi": rng.normal(size=(2, 4, 3))})
        if c == 0:
            w.start_swmr()
        w.commit(10 * c + 3)
    if close:
        w.set_attrs(status=nio.STATUS_COMPLETED)
        w.close()
    return w


def _open(path, group):
    return xr.open_dataset(path, group=group, engine="h5netcdf")


def test_xarray_reads_the_writers_labels(tmp_path):
    path = tmp_path / nio.RUN_FILE
    _write(path)
    run = nio.load_run(path)
    with _open(path, nio.SNAPSHOTS) as snap, _open(path, nio.OBSERVABLES) as obs:
        assert snap["phi"].dims == ("time", "component", "x", "y")
        np.testing.assert_array_equal(snap["phi"].values, run.phi)
        np.testing.assert_array_equal(snap["pi"].values, run.pi)
        np.testing.assert_array_equal(snap["x"].values, 0.5 * np.arange(4))  # lattice positions i * spacing
        np.testing.assert_array_equal(snap["y"].values, 0.5 * np.arange(3))
        np.testing.assert_array_equal(snap["component"].values, [0, 1])
        np.testing.assert_array_equal(snap["time"].values, run.snap_time)
        np.testing.assert_array_equal(snap["step"].values, run.snap_step)
        assert "step" in snap.coords and snap["step"].dims == ("time",)  # CF auxiliary coordinate
        assert snap["x"].attrs["units"] == "L" and snap["x"].attrs["axis"] == "X"
        assert snap["time"].attrs["units"] == "L" and snap["component"].attrs["units"] == "1"
        assert snap["phi"].attrs["units"] == "1/L" and "long_name" in snap["phi"].attrs  # a 2D spinor
        assert obs["energy"].dims == ("time",) and obs["norms"].dims == ("time", "norms_dim1")
        np.testing.assert_array_equal(obs["energy"].values, run.observables["energy"])
        np.testing.assert_array_equal(obs["norms"].values, run.observables["norms"])
        np.testing.assert_array_equal(obs["time"].values, run.obs_time)
        assert obs["energy"].attrs["units"] == "1/L" and obs["position_x"].attrs["units"] == "L"
        assert obs["energy"].attrs["long_name"].startswith("energy")
    with xr.open_dataset(path, engine="h5netcdf") as root:  # the root: attributes, the commit record, /final
        assert root.attrs["config"].startswith("[theory]") and root["commit"].dims == ("commit_entry",)
        assert root["final"].dims == ("final_byte",)
        assert json.loads(root["final"].values.tobytes())["status"] == nio.STATUS_COMPLETED


def test_nnfield_load_returns_a_datatree_with_config_and_provenance(tmp_path):
    _write(tmp_path / nio.RUN_FILE)
    tree = nnfield.load(tmp_path)
    run = nio.load_run(tmp_path)
    assert isinstance(tree, xr.DataTree)
    assert tree.attrs["status"] == nio.STATUS_COMPLETED and tree.attrs["config"] == run.config_text
    assert tree.attrs["nnfield_version"] == run.attrs["nnfield_version"] and "units_convention" in tree.attrs
    snap, obs = tree[nio.SNAPSHOTS].to_dataset(), tree[nio.OBSERVABLES].to_dataset()
    assert snap["phi"].dims == ("time", "component", "x", "y") and snap["x"].attrs["units"] == "L"
    np.testing.assert_array_equal(snap["phi"].values, run.phi)
    np.testing.assert_array_equal(snap["step"].values, run.snap_step)
    np.testing.assert_array_equal(obs["position_x"].values, run.observables["position_x"])
    last = nnfield.load(tmp_path, snapshots="last")[nio.SNAPSHOTS]
    assert last["phi"].shape == (1, 2, 4, 3) and last["step"].values.tolist() == [23]
    assert "phi" not in nnfield.load(tmp_path, snapshots="none")[nio.SNAPSHOTS]


def test_a_killed_run_loads_up_to_its_last_commit(tmp_path):
    """A writer that dies (here: exits without closing) after two commits and half of a third chunk."""
    path = tmp_path / nio.RUN_FILE
    code = (
        "import os, numpy as np, sys\n"
        "sys.path.insert(0, sys.argv[2])\n"
        "from test_labelled import _write\n"
        "w = _write(sys.argv[1], n_chunks=2, close=False)\n"
        "w.append_observables([30], [15.0], {'energy': [1.0], 'position_x': [2.0], 'norms': [[1.0, 2.0]]})\n"
        "w.file.flush()\n"
        "os._exit(0)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", code, str(path), str(Path(__file__).parent)], check=True, env=env)
    with pytest.warns(nio.IncompleteRunWarning, match="killed"):
        tree = nnfield.load(tmp_path)
    assert tree.attrs["status"] == nio.STATUS_KILLED and tree.attrs["steps_done"] == 13
    assert tree[nio.OBSERVABLES].sizes["time"] == 6 and tree[nio.SNAPSHOTS].sizes["time"] == 2
    # xarray's own reader opens such a file in SWMR mode (docs/data.md) and shows the uncommitted sample too
    with xr.open_dataset(path, group=nio.OBSERVABLES, engine="h5netcdf", driver_kwds={"swmr": True}) as obs:
        assert obs.sizes["time"] == 7 and obs["energy"].dims == ("time",)


def _old_file(path, version=2):
    """A run file as nnfield wrote it before the labels (schema 1 to 3): no dimension scales, Dirac's mean_x;
    the status a root attribute (1, 2) or in /final (3)."""
    rng = np.random.default_rng(2)
    with h5py.File(path, "w") as f:
        f.attrs.update({"schema_version": version, "config": "x = 1", "theory": "dirac",
                        "shape": np.array([5, 4, 3]), "spacing": 0.25, "K": 4, "tick": 0.1})
        if version < 3:
            f.attrs["status"] = "completed"
        else:
            f["final"] = np.frombuffer(json.dumps({"status": "completed"}).encode(), np.uint8)
        og, sg = f.create_group(nio.OBSERVABLES), f.create_group(nio.SNAPSHOTS)
        og["step"], og["time"] = np.arange(3), 0.1 * np.arange(3)
        og["charge"], og["mean_x"] = rng.normal(size=3), rng.normal(size=3)
        sg["step"], sg["time"] = np.array([0, 2]), np.array([0.0, 0.2])
        sg["phi"], sg["pi"] = rng.normal(size=(2, 4, 5, 4, 3)), rng.normal(size=(2, 4, 5, 4, 3))
        if version >= 2:
            f["commit"] = np.full(3, -1, np.int64)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_old_files_load_labelled_and_old_observable_names_still_read(tmp_path, version):
    path = tmp_path / nio.RUN_FILE
    _old_file(path, version)
    tree = nnfield.load(path)
    snap = tree[nio.SNAPSHOTS]
    assert snap["phi"].dims == ("time", "component", "x", "y", "z")
    np.testing.assert_array_equal(snap["z"].values, 0.25 * np.arange(3))
    assert snap["phi"].attrs["units"] == "L^(-3/2)" and snap["z"].attrs["units"] == "L"
    obs = tree[nio.OBSERVABLES]
    assert "position_x" in obs and "mean_x" not in obs  # the current name
    assert obs["position_x"].attrs["units"] == "L" and obs["charge"].attrs["units"] == "1"
    run = nio.load_run(path)
    with pytest.warns(DeprecationWarning, match="'mean_x' is now called 'position_x'"):
        old = run.observables["mean_x"]
    np.testing.assert_array_equal(old, run.observables["position_x"])
    np.testing.assert_array_equal(obs["position_x"].values, old)


def test_rebuild_for_resume_keeps_and_adds_labels(tmp_path):
    src, dst = tmp_path / "a.h5", tmp_path / "b.h5"
    _write(src)
    nio.rebuild_run_file(src, dst, 6, 2, {"resumed": "[]"})
    w = nio.RunWriter.reopen(dst)  # as --resume does: the rebuilt file continues, its /final made anew
    w.start_swmr()
    w.commit(13)
    w.set_attrs(status=nio.STATUS_COMPLETED)
    w.close()
    with xr.open_dataset(dst, engine="h5netcdf") as root:  # /final labelled again, no dangling dimension
        assert root["final"].dims == ("final_byte",)
        assert json.loads(root["final"].values.tobytes())["status"] == nio.STATUS_COMPLETED
    with _open(dst, nio.SNAPSHOTS) as snap, _open(src, nio.SNAPSHOTS) as ref:
        assert snap["phi"].dims == ref["phi"].dims and snap.sizes["time"] == 2
        assert snap["phi"].attrs == ref["phi"].attrs and snap["x"].attrs == ref["x"].attrs
        np.testing.assert_array_equal(snap["phi"].values, ref["phi"].values[:2])
        np.testing.assert_array_equal(snap["x"].values, ref["x"].values)
    old, new = tmp_path / "old.h5", tmp_path / "new.h5"  # an old, unlabelled file comes out labelled
    _old_file(old)
    nio.rebuild_run_file(old, new, 3, 2, {})
    with h5py.File(new, "r") as f:
        assert f.attrs["schema_version"] == nio.SCHEMA_VERSION
    with _open(new, nio.SNAPSHOTS) as snap:
        assert snap["phi"].dims == ("time", "component", "x", "y", "z")


def test_observable_table_covers_what_the_models_record():
    """Every observable name a shipped model records has a row (long name, formula, units) in the table."""
    names = {"energy", "discrete_energy", "phi_rms", "phi_max", "phi_mean", "charge", "invariant", "psi_max",
             "current_x", "position_y", "momentum_z", "wavenumber_x", "plaquette"}
    for name in names:
        assert labels.describe_observable(name) is not None, name
    assert labels.describe_observable("mean_x").name == "position_<mu>"  # the old name of the same idea
    assert labels.describe_observable("nothing") is None
    doc = (ROOT / "docs" / "observables.md").read_text()
    for row in labels.OBSERVABLES:
        assert f"`{row.name}`" in doc, row.name


def _check_example(run_dir: Path) -> None:
    run = nio.load_run(run_dir)
    lattice = tuple(int(n) for n in run.attrs["shape"])
    D, a = len(lattice), float(run.attrs["spacing"])
    with _open(run_dir / nio.RUN_FILE, nio.SNAPSHOTS) as snap, _open(run_dir / nio.RUN_FILE, nio.OBSERVABLES) as obs:
        axes = tuple("xyz"[:D])
        sweep = "sweep" in run.attrs  # an ensemble: a member axis after time (docs/data.md)
        assert run.fields  # phi and pi, or the named fields of a several-field state (links, electric, matter.phi..)
        for name in run.fields:
            dims = snap[name].dims
            if sweep:
                assert dims[1] == "member", dims
                dims = (dims[0], *dims[2:])
            assert dims[0] == "time" and dims[1] in ("component", f"{name}_component") and dims[2:] == axes, dims
            assert snap[name].attrs["units"] and snap[name].attrs["long_name"], name
            np.testing.assert_array_equal(snap[name].values, run.fields[name])
        for mu, ax in enumerate(axes):
            np.testing.assert_allclose(snap[ax].values, a * np.arange(lattice[mu]), rtol=1e-15)
            assert snap[ax].attrs["units"] == "L"
        np.testing.assert_array_equal(snap["time"].values, run.snap_time)
        np.testing.assert_array_equal(snap["step"].values, run.snap_step)
        assert set(obs.data_vars) == set(run.observables)
        for name, values in run.observables.items():
            assert obs[name].dims[0] == "time" and "units" in obs[name].attrs, name
            assert not sweep or obs[name].dims[1] == "member", obs[name].dims
            np.testing.assert_array_equal(obs[name].values, values)
        np.testing.assert_array_equal(obs["step"].values, run.obs_step)
    tree = nnfield.load(run_dir)  # the same labelled data as xarray's own reading of the file
    assert tree.attrs["config"] == run.config_text and json.loads(tree.attrs["conservation"]) is not None
    for group in (nio.SNAPSHOTS, nio.OBSERVABLES):
        ds = tree[group].to_dataset()
        if sweep:  # nnfield.load adds the swept values (and ticks) as coordinates along member
            params, ticks = json.loads(run.attrs["sweep"]), json.loads(run.attrs["member_ticks"])
            for key in params[0]:
                assert ds[key].dims == ("member",) and ds[key].values.tolist() == [p[key] for p in params]
            assert ds["member_tick"].values.tolist() == ticks
            ds = ds.drop_vars([*params[0], "member_tick"])
        with _open(run_dir / nio.RUN_FILE, group) as opened:
            xr.testing.assert_identical(ds, opened.load())


@pytest.mark.parametrize("name", [pytest.param(n, marks=() if n in QUICK else pytest.mark.slow) for n in EXAMPLES])
def test_every_example_opens_labelled_with_xarray(example_run, name):
    _check_example(example_run(name))


def test_ensemble_files_name_the_member_axis(tmp_path):
    """A sweep writes observables (samples, members) and snapshots (snapshots, members, K, *shape)."""
    path = tmp_path / nio.RUN_FILE
    attrs = {"shape": [8], "spacing": 0.5, "K": 1, "members": 3, "theory": "klein-gordon", "network": "(3.8)"}
    with nio.RunWriter(path, {"phi": (3, 1, 8), "pi": (3, 1, 8)}, np.float64, attrs) as w:
        w.append_observables([0, 1], [0.0, 0.1], {"energy": np.ones((2, 3))})
        w.append_snapshot(0, 0.0, {"phi": np.ones((3, 1, 8)), "pi": np.zeros((3, 1, 8))})
        w.set_attrs(status=nio.STATUS_COMPLETED)
    with _open(path, nio.SNAPSHOTS) as snap, _open(path, nio.OBSERVABLES) as obs:
        assert snap["phi"].dims == ("time", "member", "component", "x")
        assert snap["phi"].attrs["units"] == "1" and snap["pi"].attrs["units"] == "1/L"  # 1D scalar, d phi/dt
        assert obs["energy"].dims == ("time", "member") and obs["member"].values.tolist() == [0, 1, 2]
    tree = nnfield.load(path)
    assert tree[nio.SNAPSHOTS]["phi"].dims == ("time", "member", "component", "x")

