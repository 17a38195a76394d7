"""``run.xmf`` beside the run file: parsed with ``xml.etree``, every path, shape and hyperslab checked against the
HDF5 file (what ParaView and VisIt will read)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest

from nnfield import io as nio
from nnfield import xdmf


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split()]


def check_xdmf(run_dir) -> int:
    """Check ``run_dir/run.xmf`` against ``run_dir/run.h5``; return the number of attributes checked."""
    path = run_dir / xdmf.XDMF_FILE
    root = ET.parse(path).getroot()
    assert root.tag == "Xdmf"
    series = root.find("Domain/Grid")
    assert series.get("GridType") == "Collection" and series.get("CollectionType") == "Temporal"
    grids = series.findall("Grid")
    run = nio.load_run(run_dir)
    assert len(grids) == len(run.snap_step)
    shape = tuple(int(n) for n in run.attrs["shape"])
    D, a = len(shape), float(run.attrs["spacing"])
    checked = 0
    with h5py.File(run_dir / nio.RUN_FILE, "r") as h5:
        for i, grid in enumerate(grids):
            assert grid.get("GridType") == "Uniform"
            assert float(grid.find("Time").get("Value")) == run.snap_time[i]
            mesh = (1, *shape) if D == 2 else shape  # 2D: one layer of a 3D mesh (the XY plane in ParaView)
            topo = grid.find("Topology")
            assert topo.get("TopologyType") == "3DCoRectMesh" and tuple(_ints(topo.get("Dimensions"))) == mesh
            geom = grid.find("Geometry")
            assert geom.get("GeometryType") == "ORIGIN_DXDYDZ"
            origin, spacing = geom.findall("DataItem")
            assert [float(v) for v in origin.text.split()] == [0.0] * 3
            assert [float(v) for v in spacing.text.split()] == [a] * 3
            names = set()
            for attr in grid.findall("Attribute"):
                assert attr.get("Center") == "Node" and attr.get("AttributeType") == "Scalar"
                slab = attr.find("DataItem")
                assert slab.get("ItemType") == "HyperSlab" and tuple(_ints(slab.get("Dimensions"))) == mesh
                select, source = slab.findall("DataItem")
                file_name, dataset = source.text.split(":")
                assert file_name == nio.RUN_FILE  # relative to run.xmf: the file beside it
                ds = h5[dataset]
                assert tuple(_ints(source.get("Dimensions"))) == ds.shape
                assert source.get("Format") == "HDF" and int(source.get("Precision")) == ds.dtype.itemsize
                rows = np.asarray(_ints(select.text)).reshape(3, ds.ndim)
                assert tuple(_ints(select.get("Dimensions"))) == (3, ds.ndim)
                start, stride, count = rows
                assert start[0] == i and (stride == 1).all() and tuple(count) == (1, 1, *shape)
                field = dataset.rsplit("/", 1)[-1]
                assert attr.get("Name") == f"{field}_{start[1]}"
                names.add(attr.get("Name"))
                index = tuple(slice(s, s + c) for s, c in zip(start, count, strict=True))
                np.testing.assert_array_equal(ds[index].reshape(shape), run.fields[field][i, start[1]])
                checked += 1
            K = int(run.attrs["K"])
            assert names == {f"{f}_{c}" for f in ("phi", "pi") for c in range(K)}
    return checked


def _write(path, shape, n_snap=3, close=True):
    rng = np.random.default_rng(3)
    attrs = {"shape": list(shape), "spacing": 0.25, "K": 2, "theory": "dirac"}
    w = nio.RunWriter(path, (2, *shape), np.float32, attrs)
    w.append_observables([0], [0.0], {"energy": [1.0]})
    for j in range(n_snap):
        w.append_snapshot(5 * j, 0.5 * j, {"phi": rng.normal(size=(2, *shape)), "pi": rng.normal(size=(2, *shape))})
        if j == 0:
            w.start_swmr()
        w.commit(5 * j)
    w.set_attrs(status=nio.STATUS_COMPLETED)
    w.close()


@pytest.mark.parametrize("shape", [(4, 5, 6), (7, 3)])
def test_xdmf_paths_shapes_and_hyperslabs_match_the_run_file(tmp_path, shape):
    _write(tmp_path / nio.RUN_FILE, shape)
    assert xdmf.write_xdmf(tmp_path) == tmp_path / xdmf.XDMF_FILE
    assert check_xdmf(tmp_path) == 3 * 2 * 2  # snapshots x fields x components
    assert not list(tmp_path.glob("*.tmp-*"))


def test_no_xdmf_for_1d_runs(tmp_path):
    _write(tmp_path / nio.RUN_FILE, (8,))
    assert xdmf.write_xdmf(tmp_path) is None
    assert not (tmp_path / xdmf.XDMF_FILE).exists()


@pytest.mark.parametrize("name", ["kg_2d_plane_wave", "dirac_3p1",
                                  pytest.param("gauge_magnetic_2p1", marks=pytest.mark.slow),
                                  pytest.param("kg_3d_random", marks=pytest.mark.slow)])
def test_the_runner_writes_xdmf_beside_2d_and_3d_runs(example_run, name):
    assert check_xdmf(example_run(name)) > 0


def test_the_runner_writes_no_xdmf_beside_1d_runs(example_run):
    out = example_run("kg_1d_packet")
    assert (out / nio.RUN_FILE).exists() and not (out / xdmf.XDMF_FILE).exists()


@pytest.mark.parametrize("shape", [(4, 5, 6), (7, 3)])
def test_vtk_reads_the_xdmf_as_paraview_does(tmp_path, shape):
    """ParaView's "XDMF Reader" is VTK's vtkXdmfReader: every time step, every attribute equals the HDF5 data
    (VTK orders points with its X fastest: the lattice's last axis). Needs VTK (``pip install vtk``)."""
    pytest.importorskip("vtkmodules.vtkIOXdmf2")
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline
    from vtkmodules.vtkIOXdmf2 import vtkXdmfReader

    _write(tmp_path / nio.RUN_FILE, shape)
    reader = vtkXdmfReader()
    reader.SetFileName(str(xdmf.write_xdmf(tmp_path)))
    reader.UpdateInformation()
    times = reader.GetOutputInformation(0).Get(vtkStreamingDemandDrivenPipeline.TIME_STEPS())
    run = nio.load_run(tmp_path)
    assert list(times) == run.snap_time.tolist()
    for i, t in enumerate(times):
        reader.UpdateTimeStep(t)
        image = reader.GetOutputDataObject(0)
        assert image.GetDimensions() == tuple(reversed(shape)) + ((1,) if len(shape) == 2 else ())
        points = image.GetPointData()
        for field in ("phi", "pi"):
            for c in range(2):
                got = vtk_to_numpy(points.GetArray(f"{field}_{c}"))
                np.testing.assert_array_equal(got, run.fields[field][i, c].reshape(-1))


def test_a_sweep_gets_xdmf_with_one_attribute_per_member(tmp_path):
    """A 2D ``[sweep]`` run: ``run.xmf`` names every member's components (``phi_<member>_<component>``), each a
    hyperslab of the member's field in ``run.h5``."""
    from nnfield import cli

    cfg = tmp_path / "s.toml"
    cfg.write_text('[theory]\nname = "klein-gordon"\n[lattice]\nshape = [6, 4]\n[time]\ndt = 0.1\nsteps = 20\n'
                   '[initial]\nkind = "plane_wave"\n[output]\nevery = 10\nsnapshot_every = 10\n'
                   '[sweep]\n"theory.mass" = [0.5, 1.0, 2.0]\n')
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0
    root = ET.parse(out / xdmf.XDMF_FILE).getroot()
    grids = root.findall("Domain/Grid/Grid")
    assert len(grids) == 3  # snapshots at steps 0, 10, 20
    with h5py.File(out / nio.RUN_FILE, "r") as h5:
        for i, grid in enumerate(grids):
            names = set()
            for attr in grid.findall("Attribute"):
                select, source = attr.find("DataItem").findall("DataItem")
                ds = h5[source.text.split(":")[1]]
                start, _, count = np.asarray(_ints(select.text)).reshape(3, ds.ndim)
                assert start[0] == i and tuple(count) == (1, 1, 1, 6, 4)
                field = source.text.rsplit("/", 1)[-1]
                assert attr.get("Name") == f"{field}_{start[1]}_{start[2]}"
                names.add(attr.get("Name"))
            assert names == {f"{f}_{m}_0" for f in ("phi", "pi") for m in range(3)}
