"""HDF5 run files: the layout (names as constants, a schema version), a chunk-wise writer and a reader.

Layout of ``DIR/run.h5`` (schema version :data:`SCHEMA_VERSION`)::

    /observables/step       int64 (n,)           tick index of each sample
    /observables/time       float64 (n,)         physical time = step * tick
    /observables/<name>     (n, ...)             every scalar (or array) the model's ``observables`` returns
    /snapshots/step         int64 (m,)
    /snapshots/time         float64 (m,)
    /snapshots/<field>      (m, K, *shape)       each named field of the NETWORK state, e.g. phi (non-trainable
                                                 neurons) and pi (trainable variables); a state of several
                                                 fields (``nnfield.state.field_items``) has one dataset each
    attributes of /         provenance (config text, versions, seed, git revision, date, platform, device),
                            the run's geometry (shape, spacing, dt, tick, K) and its status

Snapshots hold the network's own state, not the physics fields: for Klein-Gordon network (3.8) they are the
same (``pi = d phi / dt``), for network (3.14) ``pi(t) = -phi(t - dt)`` (see ``model.physics_state``).
Datasets grow along their first axis and the file is flushed after every chunk, so a run that stops
(non-finite values, Ctrl-C) keeps everything written so far; ``attrs["status"]`` says how it ended.
"""

from __future__ import annotations

import dataclasses
import datetime
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

SCHEMA_VERSION = 1
RUN_FILE = "run.h5"
CONFIG_FILE = "config.toml"

OBSERVABLES = "observables"
SNAPSHOTS = "snapshots"
STEP = "step"
TIME = "time"
PHI = "phi"
PI = "pi"

STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_NONFINITE = "nonfinite"
STATUS_INTERRUPTED = "interrupted"
STATUS_FAILED = "failed"


# ----------------------------------------------------------------------------------------------------------
# provenance
# ----------------------------------------------------------------------------------------------------------
def git_revision() -> str:
    """``git describe --always --dirty`` of the nnfield source tree, or ``"unknown"`` (not a checkout)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def provenance(config_text: str = "", seed: int | None = None) -> dict[str, Any]:
    """Attributes recording how a file was made: versions, git revision, date, platform, device, config."""
    import jax

    from . import __version__

    try:
        devices = jax.devices()
        device = ", ".join(str(d) for d in devices)
        backend = jax.default_backend()
    except RuntimeError as exc:  # pragma: no cover - no backend at all
        device, backend = f"unavailable ({exc})", "none"
    attrs: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "nnfield_version": __version__,
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "h5py_version": h5py.__version__,
        "python_version": sys.version.split()[0],
        "git_revision": git_revision(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "backend": backend,
        "device": device,
        "x64_enabled": bool(jax.config.read("jax_enable_x64")),
        "config": config_text,
    }
    if seed is not None:
        attrs["seed"] = int(seed)
    return attrs


# ----------------------------------------------------------------------------------------------------------
# writer
# ----------------------------------------------------------------------------------------------------------
class RunWriter:
    """Appends observables and snapshots to ``run.h5`` chunk by chunk (flushing after each append).

    Args:
        path: the file to create (an existing file is truncated: the caller decides about overwriting).
        fields: ``{name: shape}`` of the state's named fields (``(K, *lattice.shape)`` each), or one shape for
            the fields ``phi`` and ``pi``.
        dtype: the dtype of the stored fields.
        attrs: root attributes (provenance, geometry); ``status`` is set to ``"running"``.
    """

    def __init__(
        self, path: str | Path, fields: Mapping[str, tuple[int, ...]] | tuple[int, ...], dtype: Any,
        attrs: Mapping[str, Any],
    ):
        self.path = Path(path)
        if not isinstance(fields, Mapping):
            fields = {PHI: tuple(fields), PI: tuple(fields)}
        self.fields = {name: tuple(int(n) for n in shape) for name, shape in fields.items()}
        self.dtype = np.dtype(dtype)
        self.file = h5py.File(self.path, "w")
        for key, value in attrs.items():
            self.file.attrs[key] = _attr(value)
        self.file.attrs["status"] = STATUS_RUNNING
        obs = self.file.create_group(OBSERVABLES)
        snap = self.file.create_group(SNAPSHOTS)
        for grp in (obs, snap):
            grp.create_dataset(STEP, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,))
            grp.create_dataset(TIME, shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(1024,))
        for name, shape in self.fields.items():
            nbytes = int(np.prod(shape)) * self.dtype.itemsize
            chunks: Any = (1, *shape) if nbytes <= 2**30 else True
            snap.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=self.dtype, chunks=chunks)
        self.file.flush()

    # -- appending ---------------------------------------------------------------------------------------
    def append_observables(self, steps: Any, times: Any, values: Mapping[str, Any]) -> None:
        """Append samples: ``steps``/``times`` shaped ``(n,)``, each value ``(n, ...)``."""
        steps = np.asarray(steps, np.int64).reshape(-1)
        n = steps.shape[0]
        if n == 0:
            return
        grp = self.file[OBSERVABLES]
        arrays = {name: np.asarray(value) for name, value in values.items()}
        n_before = grp[STEP].shape[0]
        for name, arr in arrays.items():  # validate everything before writing anything
            if arr.shape[:1] != (n,):
                raise ValueError(f"observable {name!r}: expected {n} samples, got shape {arr.shape}")
            if name in grp and grp[name].shape[0] != n_before:
                raise ValueError(f"observable {name!r} has {grp[name].shape[0]} samples, expected {n_before}")
            if name not in grp and n_before:
                raise ValueError(f"observable {name!r} appeared after {n_before} samples without it")
        missing = sorted(set(grp) - {STEP, TIME} - set(arrays))
        if missing:
            raise ValueError(f"observables {missing} are missing from this append")
        _append(grp[STEP], steps)
        _append(grp[TIME], np.asarray(times, np.float64).reshape(-1))
        for name, arr in arrays.items():
            if name not in grp:
                grp.create_dataset(
                    name, shape=(0, *arr.shape[1:]), maxshape=(None, *arr.shape[1:]), dtype=arr.dtype,
                    chunks=(1024, *arr.shape[1:]),
                )
            _append(grp[name], arr)

    def append_snapshot(self, step: int, time: float, fields: Mapping[str, Any]) -> None:
        """Append one snapshot of the network state: ``{name: array}`` for every field of the writer."""
        grp = self.file[SNAPSHOTS]
        _append(grp[STEP], np.asarray([step], np.int64))
        _append(grp[TIME], np.asarray([time], np.float64))
        for name in self.fields:
            _append(grp[name], np.asarray(fields[name], self.dtype)[None])

    def set_attrs(self, **attrs: Any) -> None:
        for key, value in attrs.items():
            self.file.attrs[key] = _attr(value)

    def flush(self) -> None:
        self.file.flush()

    def close(self) -> None:
        if self.file.id.valid:
            self.file.flush()
            self.file.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _append(ds: h5py.Dataset, arr: np.ndarray) -> None:
    n0 = ds.shape[0]
    ds.resize(n0 + arr.shape[0], axis=0)
    ds[n0:] = arr


def _attr(value: Any) -> Any:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return value


# ----------------------------------------------------------------------------------------------------------
# reader
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class RunData:
    """A run read back from ``run.h5`` (numpy arrays; snapshots may be only the last one, or none)."""

    path: Path
    attrs: dict[str, Any]
    observables: dict[str, np.ndarray]
    obs_step: np.ndarray
    obs_time: np.ndarray
    snap_step: np.ndarray
    snap_time: np.ndarray
    fields: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def phi(self) -> np.ndarray | None:
        """Snapshots of the field ``phi`` (``None`` when not read)."""
        return self.fields.get(PHI)

    @property
    def pi(self) -> np.ndarray | None:
        """Snapshots of the field ``pi`` (``None`` when not read)."""
        return self.fields.get(PI)

    @property
    def status(self) -> str:
        return str(self.attrs.get("status", "unknown"))

    @property
    def config_text(self) -> str:
        return str(self.attrs.get("config", ""))

    @property
    def schema_version(self) -> int:
        return int(self.attrs.get("schema_version", 0))

    def relative_drift(self, name: str = "energy") -> np.ndarray:
        """``(O(t) - O(0)) / |O(0)|`` of a scalar observable (absolute drift if ``O(0) = 0``)."""
        x = np.asarray(self.observables[name], dtype=float)
        if x.size == 0:
            return x
        scale = abs(x[0]) if x[0] != 0 else 1.0
        return (x - x[0]) / scale

    def max_relative_drift(self, name: str = "energy") -> float:
        d = self.relative_drift(name)
        return float(np.max(np.abs(d))) if d.size else float("nan")


def find_run_file(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path/run.h5``; ``FileNotFoundError`` with a hint otherwise."""
    p = Path(path)
    f = p / RUN_FILE if p.is_dir() else p
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no run file; create one with `nnfield run CONFIG.toml --out {p}`")
    return f


def load_run(path: str | Path, snapshots: str = "all") -> RunData:
    """Read a run directory (or ``run.h5`` file). ``snapshots`` = ``"all"``, ``"last"`` or ``"none"``."""
    if snapshots not in ("all", "last", "none"):
        raise ValueError(f"snapshots: expected 'all', 'last' or 'none', got {snapshots!r}")
    f = find_run_file(path)
    with h5py.File(f, "r") as h5:
        attrs = {k: _read_attr(v) for k, v in h5.attrs.items()}
        version = int(attrs.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"{f}: schema version {version} is newer than this nnfield reads ({SCHEMA_VERSION}); upgrade nnfield"
            )
        og = h5[OBSERVABLES]
        obs = {name: og[name][()] for name in og if name not in (STEP, TIME)}
        sg = h5[SNAPSHOTS]
        snap_step, snap_time = sg[STEP][()], sg[TIME][()]
        names = [name for name in sg if name not in (STEP, TIME)]
        fields: dict[str, np.ndarray] = {}
        n = len(snap_step)
        if snapshots == "all":
            fields = {name: sg[name][()] for name in names}
        elif snapshots == "last" and n:
            fields = {name: sg[name][n - 1 : n] for name in names}
            snap_step, snap_time = snap_step[n - 1 :], snap_time[n - 1 :]
        return RunData(f, attrs, obs, og[STEP][()], og[TIME][()], snap_step, snap_time, fields)


def set_attrs(path: str | Path, **attrs: Any) -> None:
    """Set root attributes of a closed run file."""
    with h5py.File(path, "a") as h5:
        for key, value in attrs.items():
            h5.attrs[key] = _attr(value)


def _read_attr(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v
