"""The HDF5 run file: layout constants, chunk-wise appends, provenance and the reader."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nnfield import io as nio


def _write(path, n_chunks=3, dtype=np.float64):
    rng = np.random.default_rng(0)
    attrs = {**nio.provenance("[theory]\nname = 'x'\n", seed=5), "shape": [4, 3], "note": None}
    phis = []
    with nio.RunWriter(path, (2, 4, 3), dtype, attrs) as w:
        for c in range(n_chunks):
            steps = 10 * c + np.arange(1, 4)
            w.append_observables(steps, 0.5 * steps, {"energy": rng.normal(size=3), "norms": rng.normal(size=(3, 2))})
            phi, pi = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
            w.append_snapshot(10 * c + 3, 0.5 * (10 * c + 3), {"phi": phi, "pi": pi})
            phis.append(phi)
        w.set_attrs(status=nio.STATUS_COMPLETED)
    return phis


def test_layout_and_round_trip(tmp_path):
    path = tmp_path / nio.RUN_FILE
    phis = _write(path)
    with h5py.File(path, "r") as f:
        # + the netCDF-4 dimensions of /commit and /final (nnfield.labels)
        assert set(f) == {nio.OBSERVABLES, nio.SNAPSHOTS, nio.COMMIT, nio.FINAL, "commit_entry", "final_byte"}
        assert "status" not in f.attrs  # it lives in /final, written before the close
        assert set(nio.data_names(f[nio.OBSERVABLES])) == {"energy", "norms"}
        assert set(f[nio.OBSERVABLES]) == {nio.STEP, nio.TIME, "energy", "norms", "norms_dim1"}
        assert set(nio.data_names(f[nio.SNAPSHOTS])) == {nio.PHI, nio.PI}
        assert set(f[nio.SNAPSHOTS]) == {nio.STEP, nio.TIME, nio.PHI, nio.PI, "component", "x", "y"}
        assert f[nio.SNAPSHOTS][nio.PHI].shape == (3, 2, 4, 3)
        assert f.attrs["schema_version"] == nio.SCHEMA_VERSION
    run = nio.load_run(tmp_path)  # a directory works as well as the file
    assert run.status == "completed" and run.schema_version == nio.SCHEMA_VERSION
    assert run.obs_step.tolist() == [1, 2, 3, 11, 12, 13, 21, 22, 23]
    np.testing.assert_array_equal(run.obs_time, 0.5 * run.obs_step)
    assert run.observables["norms"].shape == (9, 2)
    assert run.snap_step.tolist() == [3, 13, 23]
    np.testing.assert_array_equal(run.phi, np.stack(phis))
    assert run.attrs["seed"] == 5 and run.attrs["note"] == "none"
    assert run.config_text.startswith("[theory]")
    last = nio.load_run(path, snapshots="last")
    assert last.phi.shape == (1, 2, 4, 3) and last.snap_step.tolist() == [23]
    np.testing.assert_array_equal(last.phi[0], phis[-1])
    none = nio.load_run(path, snapshots="none")
    assert none.phi is None and none.pi is None


def test_float32_fields_and_drift(tmp_path):
    path = tmp_path / "r.h5"
    with nio.RunWriter(path, (1, 5), np.float32, {}) as w:
        w.append_observables([0, 1, 2], [0.0, 0.1, 0.2], {"energy": np.array([2.0, 2.5, 1.0])})
        w.append_snapshot(0, 0.0, {"phi": np.ones((1, 5)), "pi": np.zeros((1, 5))})
    with pytest.warns(nio.IncompleteRunWarning, match="killed"):
        run = nio.load_run(path)
    assert run.phi.dtype == np.float32
    np.testing.assert_allclose(run.relative_drift("energy"), [0.0, 0.25, -0.5])
    assert run.max_relative_drift("energy") == 0.5
    assert run.status == nio.STATUS_KILLED  # never marked finished, and no process writes it


def test_observable_chunks_are_at_most_a_mebibyte(tmp_path):
    """HDF5 allocates whole chunks: a scalar observable keeps 1024 samples per chunk, a big per-sample array (a
    64-member sweep's spectra) gets fewer samples, so that a chunk stays within ``OBS_CHUNK_BYTES``."""
    path = tmp_path / "r.h5"
    with nio.RunWriter(path, (1, 5), np.float64, {}) as w:
        w.append_observables([0], [0.0], {"energy": np.zeros(1), "spectrum": np.zeros((1, 64, 46))})
        w.append_snapshot(0, 0.0, {"phi": np.ones((1, 5)), "pi": np.zeros((1, 5))})
    with h5py.File(path, "r") as h5:
        assert h5["observables/energy"].chunks == (1024,)
        spec = h5["observables/spectrum"].chunks
        assert spec[1:] == (64, 46) and spec[0] * 64 * 46 * 8 <= nio.OBS_CHUNK_BYTES < (spec[0] + 1) * 64 * 46 * 8


def test_provenance_records_versions_and_platform():
    import jax

    attrs = nio.provenance("x = 1", seed=3)
    for key in ("nnfield_version", "jax_version", "numpy_version", "h5py_version", "git_revision", "date",
                "platform", "device", "backend", "schema_version", "config", "seed"):
        assert key in attrs
    assert attrs["jax_version"] == jax.__version__ and attrs["numpy_version"] == np.__version__
    assert attrs["seed"] == 3 and attrs["config"] == "x = 1"


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nnfield run"):
        nio.load_run(tmp_path)
    path = tmp_path / "r.h5"
    with nio.RunWriter(path, (1, 2), np.float64, {}) as w:
        w.set_attrs(schema_version=nio.SCHEMA_VERSION + 1)
    with pytest.raises(ValueError, match="newer"):
        nio.load_run(path)
    with pytest.raises(ValueError, match="snapshots"):
        nio.load_run(path, snapshots="first")


def test_inconsistent_observables_are_rejected(tmp_path):
    with nio.RunWriter(tmp_path / "r.h5", (1, 2), np.float64, {}) as w:
        with pytest.raises(ValueError, match="expected 2 samples"):
            w.append_observables([1, 2], [0.1, 0.2], {"energy": np.zeros(3)})
        assert w.file[nio.OBSERVABLES][nio.STEP].shape == (0,)  # nothing was half-written
        w.append_observables([1], [0.1], {"energy": np.zeros(1)})
        with pytest.raises(ValueError, match="appeared after"):
            w.append_observables([2], [0.2], {"energy": np.zeros(1), "new": np.zeros(1)})


def test_final_attributes_and_files_of_schema_version_2(tmp_path):
    """The status and final numbers live in ``/final`` (written in SWMR mode before the close); a torn or
    missing ``/final`` reads as a run whose writer died; version-2 files (status as a root attribute) load."""
    path = tmp_path / nio.RUN_FILE
    _write(path)
    with h5py.File(path, "r") as f:
        assert nio.read_final(f) == {"status": "completed"}
    with h5py.File(path, "a") as f:
        f[nio.FINAL][:5] = 0  # as if the writer died half way through writing it
    with pytest.warns(nio.IncompleteRunWarning, match="killed"):
        assert nio.load_run(path).status == nio.STATUS_KILLED
    with h5py.File(path, "a") as f:  # a version-2 file: no /final, the status a root attribute
        del f[nio.FINAL]
        f.attrs["status"] = "completed"
        f.attrs["schema_version"] = 2
        del f[nio.COMMIT].attrs[nio.ATTRS_CHECKSUM]  # (nor the root attributes' checksum: new on 2026-12-06)
    run = nio.load_run(path)
    assert run.status == "completed" and run.obs_step.size == 9


def test_nothing_is_written_after_the_close(tmp_path, monkeypatch):
    """A kill in the moments after a finished run closes its file can cost nothing: no reopening for writing."""
    opened: list[str] = []
    real = h5py.File

    def spy(name, mode="r", *args, **kwargs):
        opened.append(mode)
        return real(name, mode, *args, **kwargs)

    path = tmp_path / nio.RUN_FILE
    w = nio.RunWriter(path, (1, 2), np.float64, {})
    w.append_observables([0], [0.0], {"energy": np.zeros(1)})
    w.append_snapshot(0, 0.0, {"phi": np.zeros((1, 2)), "pi": np.zeros((1, 2))})
    w.start_swmr()
    w.commit(0)
    w.set_attrs(status=nio.STATUS_COMPLETED, wall_seconds=np.float64(1.5), conservation="[]")
    monkeypatch.setattr(nio.h5py, "File", spy)
    w.close()
    assert opened == []
    monkeypatch.undo()
    run = nio.load_run(path)
    assert run.status == "completed" and run.attrs["wall_seconds"] == 1.5
