"""Found by an output hunt (session 27): the run file as the field's own tools read it (xarray, ``nnfield.load``,
XDMF) against what ``docs/data.md`` promises."""

from __future__ import annotations

import numpy as np
import pytest

import nnfield
from nnfield import io as nio
from nnfield import labels

xr = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")


def _maxwell_file(path, D=2, n=4):
    """A run file of the pure gauge theory ``maxwell`` (its links and electric field have D = K components)."""
    shape = (D, *([n] * D))
    attrs = {"shape": [n] * D, "spacing": 0.5, "K": D, "theory": "maxwell", "network": "", "tick": 0.1}
    w = nio.RunWriter(path, {"links": shape, "electric": shape}, np.float64,
                      {**nio.provenance("[theory]\nname = 'maxwell'\n"), **attrs})
    rng = np.random.default_rng(0)
    w.append_observables([0], [0.0], {"energy": rng.normal(size=1)})
    w.append_snapshot(0, 0.0, {"links": rng.normal(size=shape), "electric": rng.normal(size=shape)})
    w.start_swmr()
    w.commit(0)
    w.set_attrs(status=nio.STATUS_COMPLETED, steps_done=0, t_final=0.0)
    w.close()
    return path


def test_the_maxwell_links_and_electric_field_have_their_own_direction_dimension(tmp_path):
    """docs/data.md: the links and electric field have the dimensions ``time, <name>_component, x, y`` (the
    component is the direction mu of the link). The pure ``maxwell`` theory's K equals D, the fields' component
    count, so they were put on the matter dimension ``component``, labelled "field component (neuron type a)"."""
    f = _maxwell_file(tmp_path / "run.h5")
    with xr.open_dataset(f, group="snapshots", engine="h5netcdf") as snap:
        for name in ("links", "electric"):
            assert snap[name].dims == ("time", f"{name}_component", "x", "y"), snap[name].dims
            assert "direction" in snap[f"{name}_component"].attrs["long_name"]
        assert "component" not in snap.dims
    tree = nnfield.load(tmp_path)
    assert tree["snapshots"]["links"].dims == ("time", "links_component", "x", "y")
    assert labels.field_dims("electric", (1, 3, 4, 4, 4), labels.Geometry.of({"shape": [4, 4, 4], "K": 3}), 3) == [
        "time", "electric_component", "x", "y", "z"]
