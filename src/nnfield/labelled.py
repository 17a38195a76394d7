"""A run as labelled data: :func:`load` returns an ``xarray.DataTree`` (needs the ``xarray`` extra).

    >>> import nnfield
    >>> tree = nnfield.load("out/kg2d")                 # a run directory or its run.h5
    >>> tree["snapshots"]["phi"].sel(component=0).isel(time=-1).plot()
    >>> tree["observables"]["energy"].plot()
    >>> tree.attrs["config"], tree.attrs["status"]

The tree has the groups of the run file: ``/observables`` (dimension ``time``: the samples) and ``/snapshots``
(``time``: the snapshots; ``component``, ``x``, ``y``, ``z``), each with the coordinates ``time`` and ``step``,
the coordinate variables of the lattice and the CF ``long_name``/``units`` of every variable; the root holds the
config text, the provenance and the final attributes (status, timings, conservation verdicts). Like
:func:`nnfield.io.load_run` it reads an incomplete run (running, killed, interrupted) up to its last completed
chunk, with an :class:`~nnfield.io.IncompleteRunWarning`. Files written before the labels (schema 1 to 3) load
the same way: the dimensions are named by the rules of :mod:`nnfield.labels`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import io as nio
from . import labels


def _xarray() -> Any:
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ImportError("nnfield.load needs xarray; install it with `pip install 'nnfield[xarray]'` "
                          "(or `pip install xarray h5netcdf`)") from None
    if not hasattr(xr, "DataTree"):  # pragma: no cover - pinned by the extra
        raise ImportError(f"nnfield.load needs xarray >= 2024.10 (xarray.DataTree), found {xr.__version__}; "
                          "upgrade with `pip install -U xarray`")
    return xr


def _stored_dims(ds: Any) -> list[str | None]:
    """The dimension names the file gives a dataset (``None`` for an axis without a dimension scale)."""
    out: list[str | None] = []
    for dim in ds.dims:
        out.append(dim[0].name.rsplit("/", 1)[-1] if len(dim) else None)
    return out


def _own_attrs(ds: Any) -> dict[str, Any]:
    return {k: nio._read_attr(v) for k, v in ds.attrs.items() if k not in labels.XARRAY_ATTRS}


def _stored_name(grp: Any, name: str) -> str | None:
    """The dataset holding observable ``name`` (a file written before a rename holds it under its old name)."""
    if name in grp:
        return name
    for old, new in labels.OBSERVABLE_ALIASES.items():
        if new == name and old in grp:
            return old
    return None


def _group(
    xr: Any, grp: Any, values: Mapping[str, np.ndarray], step: np.ndarray, time: np.ndarray,
    geo: labels.Geometry, snapshots: bool,
) -> Any:
    what = "snapshot" if snapshots else "sample"
    time_attrs = _own_attrs(grp[nio.TIME]) if "long_name" in grp[nio.TIME].attrs else labels.time_attrs(what)
    step_attrs = _own_attrs(grp[nio.STEP]) if "long_name" in grp[nio.STEP].attrs else labels.step_attrs(what)
    coords: dict[str, Any] = {
        labels.TIME_DIM: (labels.TIME_DIM, np.asarray(time), time_attrs),
        nio.STEP: (labels.TIME_DIM, np.asarray(step), step_attrs),
    }
    data: dict[str, Any] = {}
    for name, arr in values.items():
        stored = _stored_name(grp, name)
        ds = grp[stored] if stored is not None else None
        shape = (len(time), *arr.shape[1:])
        if snapshots:
            D = labels.lattice_ndim(shape, geo)
            dims = labels.field_dims(name, shape, geo, geo.K)
            computed = labels.field_attrs(name, geo, D)
        else:
            D = len(geo.shape) if geo.shape is not None else 0
            dims = labels.observable_dims(name, shape, geo)
            computed = labels.observable_attrs(name, geo.theory, geo.network, D)
        attrs = computed
        if ds is not None:
            dims = [s if s is not None else d for s, d in zip(_stored_dims(ds), dims, strict=True)]
            if "long_name" in ds.attrs:
                attrs = _own_attrs(ds)
        for i, dim in enumerate(dims[1:], start=1):
            if dim in coords:
                continue
            if dim in grp and labels.is_coordinate(grp[dim]) and "long_name" in grp[dim].attrs:
                coords[dim] = (dim, grp[dim][()], _own_attrs(grp[dim]))
                continue
            cvalues, cattrs = labels.coordinate(dim, arr.shape[i], geo, D)
            if cvalues is not None:
                coords[dim] = (dim, cvalues, cattrs)
        data[name] = (dims, arr, attrs)
    return xr.Dataset(data, coords=coords)


def _with_sweep_coords(ds: Any, attrs: Mapping[str, Any]) -> Any:
    """A sweep's swept values as coordinates along ``member`` (``theory.mass``, ``time.dt``, ...; from the root
    attribute ``sweep``), so that ``ds.swap_dims(member="theory.mass")`` or ``ds.where(ds["theory.mass"] == 2,
    drop=True)`` select members by value; also ``member_tick``, each member's tick (a ``time.dt`` sweep's time axis
    is the first member's). The file itself keeps them as the JSON attributes ``sweep`` and ``member_ticks``."""
    import json

    if labels.MEMBER not in ds.dims or "sweep" not in attrs:
        return ds
    try:
        params = json.loads(str(attrs["sweep"]))
        ticks = json.loads(str(attrs.get("member_ticks", "null")))
    except json.JSONDecodeError:
        return ds
    n = ds.sizes[labels.MEMBER]
    if not isinstance(params, list) or len(params) != n or not all(isinstance(p, dict) for p in params):
        return ds
    coords: dict[str, Any] = {}
    for key in params[0]:
        values = [p.get(key) for p in params]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            coords[key] = (labels.MEMBER, np.asarray(values), {"long_name": f"swept value of {key} per member"})
        elif all(isinstance(v, str) for v in values):
            coords[key] = (labels.MEMBER, np.asarray(values, dtype=object), {"long_name": f"swept {key}"})
    if isinstance(ticks, list) and len(ticks) == n:
        coords["member_tick"] = (labels.MEMBER, np.asarray(ticks, dtype=float),
                                 {"long_name": "each member's tick (its time step)", "units": "L"})
    return ds.assign_coords(coords)


def _root_value(v: Any) -> Any:
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO":
        return np.asarray([nio._read_attr(x) for x in v.reshape(-1)])
    return v


def load(path: str | Path, snapshots: str = "all", warn: bool = True) -> Any:
    """The run in ``path`` (a directory or its ``run.h5``) as an ``xarray.DataTree`` of numpy arrays.

    ``snapshots``: ``"all"``, ``"last"`` or ``"none"`` (then ``/snapshots`` has only ``time`` and ``step``).
    Root attributes: the file's (config text, provenance, geometry, final status and numbers) with
    ``status`` resolved as :func:`nnfield.io.load_run` does ("killed" for a file no process writes any more).
    """
    xr = _xarray()
    run = nio.load_run(path, snapshots=snapshots, warn=False)
    geo = labels.Geometry.of(run.attrs)
    with nio.open_run_file(run.path) as h5:
        obs = _group(xr, h5[nio.OBSERVABLES], dict(run.observables), run.obs_step, run.obs_time, geo, False)
        snap = _group(xr, h5[nio.SNAPSHOTS], run.fields, run.snap_step, run.snap_time, geo, True)
    obs, snap = (_with_sweep_coords(ds, run.attrs) for ds in (obs, snap))
    root = xr.Dataset(attrs={k: _root_value(v) for k, v in run.attrs.items()})
    root.attrs.setdefault("units_convention", labels.UNITS_CONVENTION)
    tree = xr.DataTree.from_dict({"/": root, f"/{nio.OBSERVABLES}": obs, f"/{nio.SNAPSHOTS}": snap})
    if warn and run.status != nio.STATUS_COMPLETED:
        warnings.warn(run.incomplete_message(), nio.IncompleteRunWarning, stacklevel=2)
    return tree
