"""An XDMF description of a run's snapshots (``DIR/run.xmf`` beside ``DIR/run.h5``) for ParaView and VisIt.

XDMF is a small XML file that points into the HDF5 file: ParaView (the "XDMF Reader", or "Xdmf3ReaderS")
and VisIt open ``run.xmf`` directly and see the snapshots as a time series on the lattice. The layout::

    <Grid GridType="Collection" CollectionType="Temporal">           one Uniform grid per snapshot
      <Grid GridType="Uniform">
        <Time Value="t"/>
        <Topology TopologyType="3DCoRectMesh" Dimensions="N0 N1 N2"/>  2D: Dimensions="1 N0 N1"
        <Geometry GeometryType="ORIGIN_DXDYDZ">                      origin 0, spacing a
        <Attribute Name="phi_0" Center="Node">                       one per field and component
          <DataItem ItemType="HyperSlab">                            start/stride/count into the dataset
            <DataItem Format="HDF">run.h5:/snapshots/phi</DataItem>

XDMF lists the axes slowest first, so ParaView's X axis is the lattice's last axis (``z`` in 3D, ``y`` in 2D)
and its Z axis the first (``x``); with the isotropic spacing only the names differ. A 2D lattice is written as
one layer of a 3D mesh (``Dimensions="1 N0 N1"``) rather than as a ``2DCoRectMesh``: VTK's XDMF readers put a
``2DCoRectMesh`` into the YZ plane (measured with VTK 9.7's ``vtkXdmfReader``: ``Dimensions="7 3"`` gave an
image of dimensions (1, 3, 7)), where ParaView's 2D view sees it edge on; one layer lies in the XY plane.
One-dimensional runs get no XDMF file (XDMF has no 1D structured mesh; plot them with ``nnfield plot`` or
``nnfield.load``).
"""

from __future__ import annotations

import itertools
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from . import io as nio
from . import labels

XDMF_FILE = "run.xmf"


def _item(parent: ET.Element, text: str, dims: tuple[int, ...], **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, "DataItem", Dimensions=" ".join(str(n) for n in dims), **attrs)
    el.text = text
    return el


def xdmf_tree(run_file: Path) -> ET.ElementTree | None:
    """The XDMF document of ``run_file`` (``None`` for a 1D run or a run without snapshot fields)."""
    with nio.open_run_file(run_file) as h5:
        geo = labels.Geometry.of(h5.attrs)
        _, _, n_snap = nio.committed_counts(h5)
        sg = h5[nio.SNAPSHOTS]
        times = sg[nio.TIME][:n_snap]
        fields = {name: (sg[name].shape, sg[name].dtype) for name in nio.data_names(sg)}
    if not fields:
        return None
    first = next(iter(fields.values()))[0]
    D = labels.lattice_ndim(first, geo)
    if D not in (2, 3):
        return None
    lattice = first[-D:]
    mesh = (1, *lattice) if D == 2 else lattice  # a 2D lattice as one layer of a 3D mesh: the XY plane in ParaView
    a = geo.spacing if geo.spacing is not None else 1.0
    root = ET.Element("Xdmf", Version="3.0")
    domain = ET.SubElement(root, "Domain")
    series = ET.SubElement(domain, "Grid", Name="snapshots", GridType="Collection", CollectionType="Temporal")
    href = f"{run_file.name}:/{nio.SNAPSHOTS}"
    for i, t in enumerate(times):
        grid = ET.SubElement(series, "Grid", Name=f"snapshot {i}", GridType="Uniform")
        ET.SubElement(grid, "Time", Value=repr(float(t)))
        ET.SubElement(grid, "Topology", TopologyType="3DCoRectMesh", Dimensions=" ".join(str(n) for n in mesh))
        geometry = ET.SubElement(grid, "Geometry", GeometryType="ORIGIN_DXDYDZ")
        _item(geometry, "0 0 0", (3,), Name="Origin", NumberType="Float", Precision="8", Format="XML")
        _item(geometry, " ".join([repr(a)] * 3), (3,), Name="Spacing", NumberType="Float", Precision="8",
              Format="XML")
        for name, (shape, dtype) in fields.items():
            if shape[-D:] != lattice:
                continue
            lead = shape[1:-D]  # [member,] component
            for index in itertools.product(*(range(n) for n in lead)):
                label = "_".join([name, *(str(j) for j in index)])
                attr = ET.SubElement(grid, "Attribute", Name=label, AttributeType="Scalar", Center="Node")
                slab = ET.SubElement(attr, "DataItem", ItemType="HyperSlab", Type="HyperSlab",
                                     Dimensions=" ".join(str(n) for n in mesh))
                start = [i, *index, *([0] * D)]
                stride = [1] * len(shape)
                count = [1, *([1] * len(lead)), *lattice]
                _item(slab, " ".join(str(v) for v in (*start, *stride, *count)), (3, len(shape)), Format="XML")
                kind = "Float" if np.dtype(dtype).kind == "f" else "Int"
                _item(slab, f"{href}/{name}", tuple(shape), NumberType=kind,
                      Precision=str(np.dtype(dtype).itemsize), Format="HDF")
    ET.indent(root)
    return ET.ElementTree(root)


def write_xdmf(run_dir: str | Path) -> Path | None:
    """Write ``run.xmf`` beside the run file in ``run_dir`` (a directory or its ``run.h5``) and return its path;
    ``None`` (and no file) for a 1D run. Written atomically (temporary file, rename); the snapshots up to the last
    completed chunk, also of a run still running or killed."""
    run_file = nio.find_run_file(run_dir)
    tree = xdmf_tree(run_file)
    target = run_file.with_name(XDMF_FILE)
    if tree is None:
        return None
    tmp = target.with_name(f"{XDMF_FILE}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(b'<?xml version="1.0" ?>\n<!DOCTYPE Xdmf SYSTEM "Xdmf.dtd" []>\n')
        tree.write(fh, encoding="utf-8", xml_declaration=False)
        fh.write(b"\n")
    os.replace(tmp, target)
    return target
