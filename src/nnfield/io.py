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

    /commit                 int64 (3,)           [steps done, observable samples, snapshots] of the last
                                                 completed chunk (the commit record, written last;
                                                 -1: none yet); its attribute ``attrs_sha256`` is the
                                                 SHA-256 of the root attributes (:func:`attrs_digest`)
    /commit_tails           int64 (2 d,)         [rows, CRC-32 of the rows in its last chunk] of each of the d
                                                 datasets named by its attribute ``datasets`` (JSON), at the
                                                 last commit (:data:`COMMIT_TAILS`; written just before
                                                 /commit)
    /final                  uint8 (n,)           UTF-8 JSON of the attributes known only at the end (status,
                                                 steps done, timings, conservation verdicts); empty while
                                                 the run writes (or if its writer died)

netCDF-4/CF labels (schema 4, :mod:`nnfield.labels`): every dataset names its dimensions with HDF5 dimension
scales (``time`` in each group; ``component``, ``x``, ``y``, ``z`` with coordinate variables in /snapshots;
``member`` in a sweep) and carries ``long_name`` and ``units``, so ``xarray.open_dataset(path, group="snapshots",
engine="h5netcdf")`` returns labelled data (``docs/data.md``). Readers skip the coordinate variables
(:func:`data_names`).

Snapshots hold the network's own state, not the physics fields: for Klein-Gordon network (3.8) they are the
same (``pi = d phi / dt``), for network (3.14) ``pi(t) = -phi(t - dt)`` (see ``model.physics_state``).

Crash safety: the runner writes the file in HDF5's single-writer/multiple-reader (SWMR) mode (file format
v110, ``libver="latest"``), whose ordered metadata flushes keep the file readable whatever moment the writer
dies at (also SIGKILL or a full disk). Each chunk appends its data, flushes, then writes ``/commit`` and
flushes again; readers cut every dataset back to the commit record, so they see exactly the completed chunks.
A kill while HDF5 rewrites a dataset's last chunk in place (the next chunk's appends) can tear that chunk, whose
checksum then fails although its committed rows are intact: ``/commit_tails`` lets readers take those rows from
the raw chunk, checked by their CRC-32 (:data:`COMMIT_TAILS`).
Root attributes are written once, when the file is created; the status and the final numbers go into the
``/final`` dataset, written in SWMR mode before the file closes, and nothing is written after the close
(changing attributes of a closed file means an ordinary reopening, and a kill during that can leave a file
HDF5 refuses to open: ``scripts/kill_writers.py``). :func:`read_attrs` merges the two. ``status``: running,
completed, interrupted, nonfinite, failed; a "running" file whose directory lock is free (no process writes
it) reads as :data:`STATUS_KILLED`.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import math
import platform
import subprocess
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from . import labels

#: 2: /commit record, SWMR (v110) files; 3: /final, no root status; 4: netCDF-4/CF labels (nnfield.labels);
#: older files still load
SCHEMA_VERSION = 4
RUN_FILE = "run.h5"
CONFIG_FILE = "config.toml"

OBSERVABLES = "observables"
SNAPSHOTS = "snapshots"
STEP = "step"
#: the largest chunk of an observable's dataset (samples x its shape), in bytes
OBS_CHUNK_BYTES = 1 << 20
#: the largest chunk of a snapshot's dataset (one snapshot, or blocks of its rows: :func:`snapshot_chunks`), in
#: bytes. Small chunks write fastest (session 48, ``benchmarks/snapshot_write.py``: a 128 MiB field with Fletcher-32
#: through h5py, chunks of 4 MiB about 3x faster than one chunk; the cause not pinned down)
SNAPSHOT_CHUNK_BYTES = 4 << 20
#: HDF5's chunk cache of a run file being written: two snapshot chunks, so that a chunk a block of a gathered
#: snapshot fills in part (blocks and chunks need not align) is finished in the cache, not read back and rewritten,
#: and a whole field goes through the cache chunk by chunk
CHUNK_CACHE_BYTES = 2 * SNAPSHOT_CHUNK_BYTES + (1 << 20)

#: every chunked dataset of a run file carries HDF5's Fletcher-32 checksum per chunk (as the checkpoints do): a
#: chunk whose bytes changed on disk fails to read (:class:`DamagedRunFileError`) instead of giving wrong numbers
CHECKSUM: dict[str, Any] = {"fletcher32": True}
TIME = "time"
PHI = "phi"
PI = "pi"

STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_NONFINITE = "nonfinite"
STATUS_INTERRUPTED = "interrupted"
STATUS_FAILED = "failed"
STATUS_KILLED = "killed"
COMMIT = "commit"
FINAL = "final"
#: ``[rows, CRC-32]`` of each dataset whose chunks hold several rows (their names: its attribute ``datasets``):
#: the rows it held at the last commit and the CRC-32 of those rows that lie in its last, partly filled chunk.
#: The next chunk's appends rewrite that chunk in place, and a writer killed during the rewrite leaves it torn
#: (the kernel stops a write at a page when the process gets SIGKILL): its committed rows are the same bytes in
#: the old and the new version, but its Fletcher-32 checksum fails. Readers then take those rows from the raw
#: chunk when their CRC-32 matches this record (:func:`_read_torn_tail`). Written after the data are flushed
#: and before ``/commit``; files written before session 48 (2026-12-07) have none (a torn chunk reads as damaged there)
COMMIT_TAILS = "commit_tails"
#: the attribute of ``/commit`` holding :func:`attrs_digest` of the root attributes (files written before 2026-12-06
#: have none: they read as before). Not a root attribute: a resume by an older nnfield, which copies the root
#: attributes it does not know and changes others (``steps``, ``resumed``), would carry it over stale and make the
#: file read as damaged; it makes ``/commit`` anew, without it, so such a file reads as an unchecked one
ATTRS_CHECKSUM = "attrs_sha256"
LOCK_FILE = ".nnfield.lock"


#: room kept free beyond the data of an append (HDF5 metadata, the attributes written at close)
WRITE_MARGIN = 4 << 20
#: writers whose file failed: kept referenced (closing a file HDF5 failed to write can crash the process)
_BROKEN: list[Any] = []


class WriteError(OSError):
    """Writing the run file failed or would fail (disk full, file-size limit, permission): one line naming the
    path and the errno. Everything up to the last completed chunk stays readable."""

    def __init__(self, path: Path, exc: BaseException | None = None, errno: int | None = None, detail: str = ""):
        import os as _os
        import re

        if errno is None and exc is not None:
            errno = getattr(exc, "errno", None)
            if not isinstance(errno, int):
                found = re.search(r"errno = (\d+)", str(exc))
                errno = int(found.group(1)) if found else None
        why = _os.strerror(errno) if isinstance(errno, int) else str(exc).strip().splitlines()[0][:200]
        extra = f"; {detail}" if detail else ""
        super().__init__(errno, f"cannot write {path}: {why}" + (f" (errno {errno})" if errno else "") + extra)
        self.path = path

    def __str__(self) -> str:
        return str(self.args[1])


def check_room(path: Path, nbytes: int, current: int = 0) -> None:
    """Refuse (:class:`WriteError`, before writing anything) to grow ``path`` by ``nbytes`` when the file system
    has less free space, or the file-size limit (``ulimit -f``) less room, than that plus :data:`WRITE_MARGIN`:
    a write that fails half way can leave an HDF5 file that no longer opens."""
    import errno as _errno
    import os as _os
    import resource

    need = int(nbytes) + WRITE_MARGIN
    try:
        st = _os.statvfs(path.parent)
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if free < need:
        raise WriteError(path, errno=_errno.ENOSPC, detail=f"the next write needs about {nbytes / 2**20:.3g} MiB "
                         f"plus a {WRITE_MARGIN / 2**20:.3g} MiB safety margin (a write that fails half way can "
                         f"damage the file), and {free / 2**20:.3g} MiB are free; free some space and resume with "
                         f"`nnfield run --resume`")
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY and current + need > soft:
        raise WriteError(path, errno=_errno.EFBIG, detail=f"the file-size limit (ulimit -f) is {soft} bytes and "
                         f"the next write would take the file to about {current + nbytes} bytes, plus a "
                         f"{WRITE_MARGIN} byte safety margin")


# ----------------------------------------------------------------------------------------------------------
# provenance
# ----------------------------------------------------------------------------------------------------------
@functools.cache
def git_revision() -> str:
    """``git describe --always --dirty`` of the nnfield source tree, or ``"unknown"`` (not a checkout).

    Asked once per process (a run records it in the run file and in every checkpoint): the code a process runs is
    the code it loaded, whatever happens to the checkout meanwhile; each ``git`` call costs about 5 ms."""
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


def provenance_version() -> str:
    """The nnfield version and git revision, e.g. ``0.2.0 (a1b2c3d4e5f6)``."""
    from . import __version__

    return f"{__version__} ({git_revision()})"


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
        attrs: root attributes (provenance, geometry), written once; the status goes to ``/final``.

    Call :meth:`start_swmr` once every dataset exists (after the first append) to make the file crash safe;
    from then on :meth:`commit` records each completed chunk and :meth:`set_attrs` is deferred to
    :meth:`close`. Failed writes raise :class:`WriteError`.
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
        self._swmr = False
        self._broken = False
        self._pending: dict[str, Any] = {}
        self._obs_ds: dict[str, h5py.Dataset] | None = None
        self._tails: dict[str, _Tail] = {}
        with self._guard():
            self.file = h5py.File(self.path, "w", libver="latest", rdcc_nbytes=CHUNK_CACHE_BYTES)
            self._create(attrs)

    @classmethod
    def reopen(cls, path: str | Path) -> RunWriter:
        """Append to an existing, properly closed run file (a resumed run; see :func:`rebuild_run_file`)."""
        self = cls.__new__(cls)
        self.path = Path(path)
        self._swmr = False
        self._broken = False
        self._pending = {}
        self._obs_ds = None
        self._tails = {}
        with self._guard():
            self.file = h5py.File(self.path, "a", libver="latest", rdcc_nbytes=CHUNK_CACHE_BYTES)
            sg = self.file[SNAPSHOTS]
            self.fields = {n: tuple(sg[n].shape[1:]) for n in data_names(sg)}
            self.dtype = np.dtype(next(sg[n].dtype for n in data_names(sg))) if self.fields else \
                np.dtype(np.float64)
            if "status" in self.file.attrs:  # a file of schema version 2 (status as a root attribute)
                del self.file.attrs["status"]
            self.file.attrs["schema_version"] = SCHEMA_VERSION
            if COMMIT not in self.file:
                self.file.create_dataset(COMMIT, data=np.full(3, -1, np.int64))
            for name in (FINAL, COMMIT_TAILS):
                if name in self.file:
                    labels.detach(self.file[name])  # no dangling reference from its dimension's scale
                    del self.file[name]
            _create_final(self.file)
            seal_attrs(self.file)  # (the root attributes changed: their checksum with them, before any append)
        return self

    def _create(self, attrs: Mapping[str, Any]) -> None:
        for key, value in attrs.items():
            if key != "status":  # the status lives in /final (see the module docstring)
                self.file.attrs[key] = _attr(value)
        obs = self.file.create_group(OBSERVABLES)
        snap = self.file.create_group(SNAPSHOTS)
        for grp in (obs, snap):
            grp.create_dataset(STEP, shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(1024,), **CHECKSUM)
            grp.create_dataset(TIME, shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(1024,), **CHECKSUM)
        for name, shape in self.fields.items():
            snap.create_dataset(name, shape=(0, *shape), maxshape=(None, *shape), dtype=self.dtype,
                                chunks=snapshot_chunks(shape, self.dtype.itemsize), **CHECKSUM)
        self.file.create_dataset(COMMIT, data=np.full(3, -1, np.int64))
        _create_final(self.file)
        labels.label_file(self.file)  # netCDF-4 dimensions, coordinates, units: attributes, so before SWMR
        seal_attrs(self.file)
        self.file.flush()

    def _guard(self) -> Any:
        writer = self

        class _Guard:
            def __enter__(self) -> None:
                return None

            def __exit__(self, typ: Any, exc: Any, tb: Any) -> bool:
                if isinstance(exc, WriteError):
                    return False
                if isinstance(exc, (OSError, RuntimeError)):  # h5py reports failed writes as either
                    writer._broken = True
                    _BROKEN.append(writer.file)
                    raise WriteError(writer.path, exc) from None
                return False

        return _Guard()

    # -- crash safety ------------------------------------------------------------------------------------
    def start_swmr(self) -> None:
        """Switch to SWMR writing (every dataset must exist by now), with the record :data:`COMMIT_TAILS` of the
        datasets whose chunks hold several rows."""
        with self._guard():
            self._tails = {}
            for group in (OBSERVABLES, SNAPSHOTS):
                for name, ds in self.file[group].items():
                    if _Tail.tracks(ds):
                        self._tails[f"{group}/{name}"] = _Tail.of(ds)
            if COMMIT_TAILS in self.file:  # (a record of other datasets: made anew, its dimension too)
                labels.detach(self.file[COMMIT_TAILS])
                del self.file[COMMIT_TAILS]
            if f"{COMMIT_TAILS}_entry" in self.file:
                del self.file[f"{COMMIT_TAILS}_entry"]
            tails = self.file.create_dataset(COMMIT_TAILS, data=self._tail_record())
            tails.attrs["datasets"] = json.dumps(["/" + key for key in self._tails])
            labels.label_root(self.file)
            seal_attrs(self.file)  # the root attributes are final from here on (SWMR takes no attribute changes)
            self.file.flush()
            self.file.swmr_mode = True
        self._swmr = True

    def _tail_record(self) -> np.ndarray:
        return np.asarray([x for t in self._tails.values() for x in (t.rows, t.crc)], np.int64)

    def commit(self, steps_done: int) -> None:
        """Record a completed chunk: flush its data, then the digests of the last chunks
        (:data:`COMMIT_TAILS`) and the commit record ``[steps, samples, snapshots]``."""
        with self._guard():
            self.file.flush()
            n_obs, n_snap = self.counts
            if self._tails:
                self.file[COMMIT_TAILS][...] = self._tail_record()
            self.file[COMMIT][...] = np.asarray([steps_done, n_obs, n_snap], np.int64)
            self.file.flush()

    @property
    def counts(self) -> tuple[int, int]:
        """``(observable samples, snapshots)`` written so far."""
        return self._observable_datasets()[STEP].shape[0], self.file[SNAPSHOTS][STEP].shape[0]

    # -- appending ---------------------------------------------------------------------------------------
    def append_observables(self, steps: Any, times: Any, values: Mapping[str, Any]) -> None:
        """Append samples: ``steps``/``times`` shaped ``(n,)``, each value ``(n, ...)``."""
        steps = np.asarray(steps, np.int64).reshape(-1)
        n = steps.shape[0]
        if n == 0:
            return
        check_room(self.path, sum(np.asarray(v).nbytes for v in values.values()) + 16 * n, self._size())
        with self._guard():
            self._append_observables(steps, times, values)

    def _size(self) -> int:
        try:
            return int(self.file.id.get_filesize())
        except (OSError, RuntimeError, ValueError):
            return 0

    def _observable_datasets(self) -> dict[str, h5py.Dataset]:
        """The open datasets of ``/observables`` by name, ``step`` and ``time`` included (looked up once: an h5py
        lookup by name costs tens of microseconds, and a run appends once per chunk)."""
        if self._obs_ds is None:
            grp = self.file[OBSERVABLES]
            self._obs_ds = {name: grp[name] for name in (STEP, TIME, *data_names(grp))}
        return self._obs_ds

    def _append_observables(self, steps: np.ndarray, times: Any, values: Mapping[str, Any]) -> None:
        n = steps.shape[0]
        grp = self.file[OBSERVABLES]
        ds = self._observable_datasets()
        arrays = {name: np.asarray(value) for name, value in values.items()}
        n_before = ds[STEP].shape[0]
        for name, arr in arrays.items():  # validate everything before writing anything
            if arr.shape[:1] != (n,):
                raise ValueError(f"observable {name!r}: expected {n} samples, got shape {arr.shape}")
            if name in ds and ds[name].shape[0] != n_before:
                raise ValueError(f"observable {name!r} has {ds[name].shape[0]} samples, expected {n_before}")
            if name not in ds and n_before:
                raise ValueError(f"observable {name!r} appeared after {n_before} samples without it")
        missing = sorted(set(ds) - {STEP, TIME} - set(arrays))
        if missing:
            raise ValueError(f"observables {missing} are missing from this append")
        self._append(f"{OBSERVABLES}/{STEP}", ds[STEP], steps)
        self._append(f"{OBSERVABLES}/{TIME}", ds[TIME], np.asarray(times, np.float64).reshape(-1))
        created = False
        for name, arr in arrays.items():
            if name not in ds:
                # up to 1024 samples per chunk, at most 1 MiB: HDF5 allocates whole chunks, and a 64-member
                # sweep's spectra (64 x 46 bins per sample) took 24 MiB per dataset for 200 samples
                per = max(1, min(1024, OBS_CHUNK_BYTES // max(1, math.prod(arr.shape[1:]) * arr.dtype.itemsize)))
                ds[name] = grp.create_dataset(
                    name, shape=(0, *arr.shape[1:]), maxshape=(None, *arr.shape[1:]), dtype=arr.dtype,
                    chunks=(per, *arr.shape[1:]), **CHECKSUM,
                )
                created = True
            self._append(f"{OBSERVABLES}/{name}", ds[name], arr)
        if created and not self._swmr:  # labels are attributes: only before SWMR writing (the runner's step 0)
            labels.label_group(self.file, OBSERVABLES)

    def append_snapshot(self, step: int, time: float, fields: Mapping[str, Any]) -> None:
        """Append one snapshot of the network state: ``{name: array}`` for every field of the writer. A field may
        also come in pieces (an object with ``pieces()`` yielding ``(index, block)``, e.g.
        :class:`nnfield.parallel.HostPieces`: a multi-process run's gathered blocks), written one by one; every
        piece is drawn, also when a write fails (the other processes take part in each gather)."""
        streams = {name: value.pieces() for name, value in fields.items() if hasattr(value, "pieces")}
        try:
            check_room(self.path, sum(int(np.prod(sh)) for sh in self.fields.values()) * self.dtype.itemsize + 16,
                       self._size())
            with self._guard():
                grp = self.file[SNAPSHOTS]
                for name in self.fields:  # the field data first, the step (what readers count) last
                    if name in streams:
                        ds = grp[name]
                        n = ds.shape[0]
                        ds.resize(n + 1, axis=0)
                        for index, block in streams[name]:
                            ds[(n, *index)] = np.asarray(block, self.dtype)
                    else:
                        self._append(f"{SNAPSHOTS}/{name}", grp[name], np.asarray(fields[name], self.dtype)[None])
                self._append(f"{SNAPSHOTS}/{TIME}", grp[TIME], np.asarray([time], np.float64))
                self._append(f"{SNAPSHOTS}/{STEP}", grp[STEP], np.asarray([step], np.int64))
        except BaseException:
            for stream in streams.values():  # (the rest of each gather: the other processes wait in it)
                for _ in stream:
                    pass
            raise

    def _append(self, key: str, ds: h5py.Dataset, arr: np.ndarray) -> None:
        """Append ``arr`` to ``ds`` (``key``: its path without the leading slash), updating its digest."""
        tail = self._tails.get(key)
        _append(ds, arr)
        if tail is not None:
            tail.update(arr)

    def set_attrs(self, **attrs: Any) -> None:
        """Record final attributes (status, steps done, timings, ...): written to ``/final`` by :meth:`close`
        and read back merged with the root attributes by :func:`read_attrs`."""
        self._pending.update(attrs)

    def observables(self) -> dict[str, np.ndarray]:
        """Every observable written so far (read back from the open file)."""
        grp = self.file[OBSERVABLES]
        return {name: grp[name][()] for name in data_names(grp)}

    def sample_steps(self) -> np.ndarray:
        """The steps of the observable samples written so far (read back from the open file)."""
        return self._observable_datasets()[STEP][()]

    def flush(self) -> None:
        if self._broken:
            return
        with self._guard():
            self.file.flush()

    def close(self) -> None:
        """Write the final attributes into ``/final`` (in SWMR mode, so a kill at any moment leaves a readable
        file: without them, it reads as killed), then close. Nothing is written after the close. After a failed
        write: nothing more is written; the file keeps what the last commit recorded."""
        if not self.file.id.valid:
            return
        if self._broken:  # never touched again: HDF5 may crash closing a file it failed to write
            return
        blob = np.frombuffer(json.dumps(self._pending, default=_json_value).encode(), np.uint8)
        try:
            check_room(self.path, blob.nbytes, self._size())
        except WriteError:  # no room: close without them (the file then reads as killed, and resumes)
            blob = None
        with self._guard():
            if blob is not None and FINAL in self.file:
                final = self.file[FINAL]
                final.resize(blob.shape)
                final[...] = blob
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


def snapshot_chunks(shape: tuple[int, ...], itemsize: int, limit: int | None = None) -> tuple[int, ...]:
    """The chunks of a snapshot dataset of fields ``shape`` = ``(K, N_1, ..., N_D)``: one snapshot each (written
    once, never rewritten: see :data:`COMMIT_TAILS`), the whole field up to ``limit`` bytes, else blocks of rows of
    its first lattice axis (the axis a run splits over devices and processes), a power of two of them, as many as
    fit; a row above ``limit`` has its largest other axes halved until it fits.

    Until session 48 a field was one chunk up to 1 GiB, and HDF5's guess (``chunks=True``) above, which spanned
    16 snapshots (each append rewrote a chunk holding committed ones in place). Row blocks let a multi-process
    run's writer write each gathered block into whole chunks (:class:`nnfield.parallel.HostPieces`), where a
    block of a one-chunk field made HDF5 read, change and rewrite the whole chunk. ``limit``: default
    :data:`SNAPSHOT_CHUNK_BYTES`."""
    limit = SNAPSHOT_CHUNK_BYTES if limit is None else limit
    sub = [int(n) for n in shape]
    if math.prod(sub) * itemsize <= limit:
        return (1, *sub)
    if len(sub) >= 2:
        row = math.prod(sub[:1] + sub[2:]) * itemsize
        fit = max(1, limit // row)
        sub[1] = min(sub[1], 1 << (fit.bit_length() - 1))
    while math.prod(sub) * itemsize > limit and max(sub) > 1:
        i = sub.index(max(sub))
        sub[i] = (sub[i] + 1) // 2
    return (1, *sub)


@dataclasses.dataclass
class _Tail:
    """A dataset's rows (``rows``) and the CRC-32 (``crc``) of those in its last chunk (rows ``(rows // per) *
    per`` on, ``per`` rows a chunk), in the file's little-endian bytes (:data:`COMMIT_TAILS`)."""

    per: int
    dtype: np.dtype
    rows: int
    crc: int

    @staticmethod
    def tracks(ds: h5py.Dataset) -> bool:
        """Whether ``ds``'s chunks hold several rows (an append may then rewrite a chunk that holds committed
        ones; a snapshot's chunks hold one row and are written once)."""
        return ds.chunks is not None and ds.chunks[0] > 1

    @classmethod
    def of(cls, ds: h5py.Dataset) -> _Tail:
        """The digest of what ``ds`` holds now (its last chunk read back: at most one chunk)."""
        per, rows = int(ds.chunks[0]), int(ds.shape[0])
        self = cls(per, ds.dtype.newbyteorder("<"), (rows // per) * per, 0)
        if rows > self.rows:
            self.update(ds[self.rows:rows])
        return self

    def update(self, arr: np.ndarray) -> None:
        """The digest after appending the rows ``arr``."""
        end = self.rows + len(arr)
        first = max(0, (end // self.per) * self.per - self.rows)  # the appended rows in the new last chunk
        crc = self.crc if first == 0 else 0
        self.crc = zlib.crc32(np.ascontiguousarray(arr[first:], self.dtype).tobytes(), crc)
        self.rows = end


def read_tails(h5: h5py.File) -> dict[str, tuple[int, int]]:
    """``{dataset path: (rows, CRC-32)}`` of :data:`COMMIT_TAILS` (``{}`` for a file without, or one that does not
    read)."""
    if COMMIT_TAILS not in h5:
        return {}
    try:
        ds = h5[COMMIT_TAILS]
        names, rec = json.loads(ds.attrs["datasets"]), np.asarray(ds[()], np.int64).reshape(-1, 2)
    except (*UNREADABLE, KeyError):
        return {}
    if len(names) != len(rec):
        return {}
    return {str(name): (int(n), int(crc)) for name, (n, crc) in zip(names, rec, strict=True)}


def _read_torn_tail(ds: h5py.Dataset, sel: Any, tail: tuple[int, int]) -> np.ndarray | None:
    """``ds[sel]`` when its only damage is a torn last chunk (:data:`COMMIT_TAILS`): the rows ``tail`` names
    (``(rows, CRC-32)``) read from the raw chunk (its Fletcher-32 checksum set aside) and checked against the
    CRC-32 of the commit; ``None`` when that is not the case (then the chunk is damaged)."""
    rows, crc = tail
    per = int(ds.chunks[0]) if ds.chunks else 0
    start = (rows // per) * per if per > 1 else rows
    if (not isinstance(sel, slice) or sel.step not in (None, 1) or per <= 1 or rows == start
            or tuple(ds.chunks[1:]) != tuple(ds.shape[1:]) or not ds.fletcher32 or ds.compression
            or ds.shuffle or ds.scaleoffset is not None):
        return None
    lo, hi, _ = sel.indices(ds.shape[0])
    if hi > rows or hi <= start:  # rows beyond the commit's, or none in the torn chunk
        return None
    dtype = ds.dtype.newbyteorder("<")
    shape = tuple(ds.shape[1:])
    try:
        head = ds[lo:start] if lo < start else np.empty((0, *shape), ds.dtype)
        mask, raw = ds.id.read_direct_chunk((start,) + (0,) * len(shape))
    except (OSError, RuntimeError, ValueError):
        return None
    size = math.prod(shape) * dtype.itemsize
    if mask != 0 or len(raw) != per * size + 4:  # (Fletcher-32 appends 4 bytes)
        return None
    committed = raw[: (rows - start) * size]
    if zlib.crc32(committed) != crc:
        return None
    got = np.frombuffer(committed, dtype).reshape(rows - start, *shape)[max(lo, start) - start : hi - start]
    return np.concatenate([head, got.astype(ds.dtype)])


def _create_final(h5: h5py.File) -> None:
    h5.create_dataset(FINAL, shape=(0,), maxshape=(None,), dtype=np.uint8, chunks=(4096,), **CHECKSUM)
    labels.label_root(h5)  # its netCDF-4 dimension (an attribute: before SWMR)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"final attribute of type {type(value).__name__} cannot be stored")


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
        """How the run ended: completed, interrupted, nonfinite, failed, killed (its writer died), running."""
        return str(self.attrs.get("status", "unknown"))

    @property
    def steps_done(self) -> int:
        return int(self.attrs.get("steps_done", 0))

    def incomplete_message(self) -> str:
        """One line saying what an incomplete run holds (empty for a completed run)."""
        if self.status == STATUS_COMPLETED:
            return ""
        why = {
            STATUS_KILLED: "its process died before it finished (killed?)",
            STATUS_RUNNING: "it is still running",
            STATUS_INTERRUPTED: "it was interrupted",
            STATUS_NONFINITE: "it stopped at non-finite values",
            STATUS_FAILED: "it failed",
        }.get(self.status, f"its status is {self.status!r}")
        steps = self.attrs.get("steps")
        hint = "; `nnfield run --resume DIR` continues it" if self.status in (STATUS_KILLED, STATUS_INTERRUPTED) else ""
        return (f"{self.path}: the run is incomplete ({self.status}): {why}; the data end at step {self.steps_done}"
                f"{f' of {steps}' if steps is not None else ''}{hint}")

    @property
    def config_text(self) -> str:
        return str(self.attrs.get("config", ""))

    @property
    def schema_version(self) -> int:
        return int(self.attrs.get("schema_version", 0))

    def relative_drift(self, name: str = "energy") -> np.ndarray:
        """``(O(t) - O(0)) / |O(0)|`` of a scalar observable (absolute drift if ``O(0) = 0``)."""
        return relative_drift(self.observables[name])

    def max_relative_drift(self, name: str = "energy") -> float:
        d = self.relative_drift(name)
        return float(np.max(np.abs(d))) if d.size else float("nan")


def relative_drift(values: Any) -> np.ndarray:
    """``(O(t) - O(0)) / |O(0)|`` of a series along its first axis (absolute drift if ``O(0) = 0``)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return x
    scale = abs(x[0]) if x[0] != 0 else 1.0
    return (x - x[0]) / scale


def find_run_file(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path/run.h5``; ``FileNotFoundError`` with a hint otherwise."""
    p = Path(path)
    f = p / RUN_FILE if p.is_dir() else p
    if not f.is_file():
        raise FileNotFoundError(f"{f}: no run file; create one with `nnfield run CONFIG.toml --out {p}`")
    return f


def open_run_file(path: str | Path) -> h5py.File:
    """Open a run file for reading, also one still being written (or left by a killed writer) in SWMR mode."""
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise
        return h5py.File(path, "r", swmr=True)


def lock_held(run_dir: str | Path) -> int | None:
    """The PID of the process writing into ``run_dir`` (its lock is held), else ``None``."""
    import fcntl

    lock = Path(run_dir) / LOCK_FILE
    if not lock.exists():
        return None
    try:
        fh = open(lock, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        return None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = fh.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return None


def resolve_status(status: str, run_file: str | Path) -> str:
    """``status`` as stored, except a "running" file that no process writes any more: "killed"."""
    if status == STATUS_RUNNING and lock_held(Path(run_file).parent) is None:
        return STATUS_KILLED
    return status


class IncompleteRunWarning(UserWarning):
    """The run file is not of a completed run (running, killed, interrupted, failed, non-finite)."""


class Observables(dict):  # type: ignore[type-arg]
    """``{name: samples}``; an observable's old name (``labels.OBSERVABLE_ALIASES``, e.g. ``mean_x``) still gives
    its values, with a :class:`DeprecationWarning` naming the new name (``position_x``)."""

    def __missing__(self, key: str) -> np.ndarray:
        new = labels.OBSERVABLE_ALIASES.get(key)
        if new is None or new not in self:
            raise KeyError(key)
        labels.warn_renamed(key, new)
        return self[new]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def renamed_observables(obs: Mapping[str, np.ndarray]) -> Observables:
    """Observables under their current names (a file written before a rename holds the old ones)."""
    return Observables({labels.OBSERVABLE_ALIASES.get(k, k): v for k, v in obs.items()})


def data_names(grp: h5py.Group) -> list[str]:
    """The observables (or snapshot fields) of a group: its datasets but ``step``, ``time`` and the coordinate
    variables and dimensions of the netCDF-4 labels (schema 4, :mod:`nnfield.labels`)."""
    return [n for n in grp if n not in (STEP, TIME) and not labels.is_coordinate(grp[n])]


def attrs_digest(attrs: Mapping[str, Any]) -> str:
    """SHA-256 of a run file's root attributes as h5py reads them back (``dict(h5.attrs.items())``), but HDF5's
    dimension-scale bookkeeping (``labels.SCALE_ATTRS``): for each name in
    sorted order, the name, the kind of its value (``str``, ``bytes``, or the NumPy dtype and shape) and its bytes
    (UTF-8 for text, the array's raw bytes for numbers: exact, no decimal rounding).

    String attributes (the config text, ``title``, ``theory``...) are stored in HDF5's global heap, which has no
    checksum: a flipped bit there read back as another title or another config, silently (numbers are stored in
    checksummed metadata blocks). This digest, written with them (:func:`seal_attrs`), finds that."""
    import hashlib

    h = hashlib.sha256()
    for key in sorted(attrs):
        if key == ATTRS_CHECKSUM or key in labels.SCALE_ATTRS:
            continue
        for kind, data in _attr_bytes(attrs[key]):
            h.update(json.dumps([key, kind, len(data)]).encode())
            h.update(data)
    return h.hexdigest()


def _attr_bytes(value: Any) -> list[tuple[str, bytes]]:
    """``(kind, bytes)`` pieces of one attribute value for :func:`attrs_digest`."""
    if isinstance(value, str):
        return [("str", value.encode("utf-8", "surrogatepass"))]
    if isinstance(value, bytes):
        return [("bytes", value)]
    arr = np.asarray(value)
    if arr.dtype.kind == "O":  # an array of variable-length strings: element by element
        head = ("object", json.dumps(list(arr.shape)).encode())
        return [head, *(_attr_bytes(v)[0] if isinstance(v, (str, bytes)) else (type(v).__name__, repr(v).encode())
                        for v in arr.reshape(-1))]
    return [(f"{arr.dtype.str}{list(arr.shape)}", np.ascontiguousarray(arr).tobytes())]


def seal_attrs(h5: h5py.File) -> None:
    """Store :func:`attrs_digest` of ``h5``'s root attributes, as read back, in ``/commit``'s attribute
    :data:`ATTRS_CHECKSUM`: called whenever they change (a file's creation, :func:`rebuild_run_file`,
    :meth:`RunWriter.reopen`) and before the switch to SWMR writing, after which no attribute changes."""
    h5[COMMIT].attrs[ATTRS_CHECKSUM] = attrs_digest(dict(h5.attrs.items()))


def check_attrs(h5: h5py.File, raw: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`DamagedRunFileError` (one line) if ``h5``'s root attributes (``raw``: as read, default read
    here) do not match their checksum (:data:`ATTRS_CHECKSUM`, an attribute of ``/commit``); a file without one
    (written before 2026-12-06, or resumed by an nnfield of before) passes."""
    raw = dict(h5.attrs.items()) if raw is None else raw
    stored = h5[COMMIT].attrs.get(ATTRS_CHECKSUM) if COMMIT in h5 else None
    if stored is None:
        return
    stored = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else str(stored)
    if stored != attrs_digest(raw):
        raise DamagedRunFileError(
            f"{h5.filename}: damaged: its root attributes (config, provenance, geometry) do not match their checksum "
            f"(/{COMMIT}: {ATTRS_CHECKSUM}); their bytes changed on disk after they were written (a bad disk or copy)")


def read_final(h5: h5py.File) -> dict[str, Any]:
    """The final attributes a run wrote into ``/final`` when it ended (``{}`` while it runs, if its writer died,
    or for files of schema version < 3)."""
    if FINAL not in h5:
        return {}
    try:
        raw = np.asarray(h5[FINAL][()], np.uint8)
    except OSError:  # its checksum fails: torn by a writer killed while writing it (the kernel stops a write at a
        return {}    # page on SIGKILL): as if absent, as a half-written text is (the run reads as killed)
    if not raw.size:
        return {}
    try:
        value = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, ValueError):  # a writer killed while writing it: as if absent
        return {}
    return value if isinstance(value, dict) else {}


def read_attrs(h5: h5py.File) -> dict[str, Any]:
    """The run's attributes: the root attributes (provenance, geometry) merged with ``/final`` (status, steps
    done, timings, conservation verdicts). ``status`` is "running" for a file without final attributes (its
    writer is still writing or died: see :func:`resolve_status`). Root attributes whose checksum
    (:data:`ATTRS_CHECKSUM`) fails raise :class:`DamagedRunFileError` (:func:`check_attrs`)."""
    raw = dict(h5.attrs.items())
    check_attrs(h5, raw)
    attrs = {k: _read_attr(v) for k, v in raw.items()}
    attrs.update(read_final(h5))
    if "status" not in attrs:
        attrs["status"] = STATUS_RUNNING if COMMIT in h5 else "unknown"
    return attrs


def committed_counts(h5: h5py.File, status: str | None = None) -> tuple[int | None, int, int]:
    """``(steps done, observable samples, snapshots)`` a reader may trust: the counts of the commit record of a
    file written chunk by chunk (files without one: every sample counts). ``steps`` is the committed step for a
    run without final attributes (running or killed), else ``None`` (its final ``steps_done`` holds)."""
    og, sg = h5[OBSERVABLES], h5[SNAPSHOTS]
    n_obs = min([og[n].shape[0] for n in (STEP, TIME, *data_names(og)) if n in og] or [0])
    n_snap = min([sg[n].shape[0] for n in (STEP, TIME, *data_names(sg)) if n in sg] or [0])
    if COMMIT not in h5:
        return None, n_obs, n_snap
    if status is None:
        status = str(read_attrs(h5)["status"])
    steps, c_obs, c_snap = (int(x) for x in h5[COMMIT][()])
    if steps < 0:  # no chunk committed yet: every sample counts
        return None, n_obs, n_snap
    return (steps if status == STATUS_RUNNING else None), min(n_obs, c_obs), min(n_snap, c_snap)


class NotARunFileError(ValueError):
    """A path that is not a readable nnfield run file (:func:`load_run`, ``nnfield.load``)."""


class DamagedRunFileError(NotARunFileError):
    """A run file with a dataset whose checksum (:data:`CHECKSUM`) fails: its bytes changed after they were written."""


#: what h5py raises reading a file whose HDF5 metadata (object headers, attribute and link tables) is damaged:
#: ``OSError`` ("incorrect metadata checksum", "ran off end of input buffer"), ``RuntimeError`` ("Error iterating
#: over attributes") or ``KeyError`` ("Unable to synchronously open object"); also ``ValueError``/``TypeError`` when
#: damaged bytes still decode, as something of the wrong kind
UNREADABLE = (OSError, RuntimeError, KeyError, ValueError, TypeError)


def damaged(f: str | Path, exc: BaseException) -> DamagedRunFileError:
    """The one-line error for the run file ``f`` that HDF5 could open but not read (``exc``: :data:`UNREADABLE`)."""
    if isinstance(exc, NotARunFileError):
        return exc if isinstance(exc, DamagedRunFileError) else DamagedRunFileError(str(exc))
    text = str(exc).strip().strip("'\"")
    first = text.splitlines()[0] if text else type(exc).__name__
    return DamagedRunFileError(f"{f}: damaged: HDF5 cannot read it ({first}); its bytes changed on disk after they "
                               "were written (a bad disk or copy)")


def _read(ds: h5py.Dataset, sel: Any = (), tails: Mapping[str, tuple[int, int]] | None = None) -> np.ndarray:
    """``ds[sel]``; a chunk whose checksum (:data:`CHECKSUM`) fails, or whose metadata HDF5 cannot read, raises
    :class:`DamagedRunFileError` naming it, unless it is the dataset's last chunk torn by a writer that died
    rewriting it, whose committed rows match their CRC-32 in ``tails`` (:func:`read_tails`, :data:`COMMIT_TAILS`)."""
    try:
        return ds[sel]
    except OSError as exc:
        tail = tails.get(ds.name) if tails and "filter returned failure" in str(exc) else None
        got = None if tail is None else _read_torn_tail(ds, sel, tail)
        if got is not None:
            return got
        if "filter returned failure" not in str(exc):
            raise damaged(f"{ds.file.filename}: the dataset {ds.name}", exc) from None
        raise DamagedRunFileError(
            f"{ds.file.filename}: the dataset {ds.name} is damaged (its checksum fails: its bytes changed on disk "
            "after they were written); h5py still reads the other datasets"
        ) from None


def read_header(path: str | Path) -> tuple[dict[str, Any], tuple[int | None, int, int]]:
    """The attributes (:func:`read_attrs`) and the committed counts (:func:`committed_counts`) of the run file
    ``path``, one line (:class:`NotARunFileError`, :class:`DamagedRunFileError`) if it cannot be read."""
    try:
        h5 = open_run_file(path)
    except OSError as exc:  # not HDF5, truncated: cannot be opened at all
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotARunFileError(f"{path}: not a readable nnfield run file ({first})") from None
    with h5:
        try:
            attrs = read_attrs(h5)
            return attrs, committed_counts(h5, str(attrs["status"]))
        except UNREADABLE as exc:
            raise damaged(path, exc) from None


#: how often :func:`load_run` reads a run whose writer is alive again after a checksum failure, and the pause between
LIVE_RETRIES, LIVE_PAUSE = 5, 0.2


def load_run(path: str | Path, snapshots: str = "all", warn: bool = True) -> RunData:
    """Read a run directory (or ``run.h5`` file). ``snapshots`` = ``"all"``, ``"last"`` or ``"none"``.

    A run still being written, or one whose writer died, is read up to its last completed chunk; ``status`` is
    then "running" or "killed" (and ``attrs["steps_done"]`` the committed step). Anything but a completed run
    gives an :class:`IncompleteRunWarning` (``warn=False``: none).

    A run being written can fail a checksum for a moment: its writer rewrites a chunk in place while this reads
    it (:data:`COMMIT_TAILS`). The whole file is then read again, up to :data:`LIVE_RETRIES` times, while its
    directory's lock is held; a file no process writes is read once.
    """
    if snapshots not in ("all", "last", "none"):
        raise ValueError(f"snapshots: expected 'all', 'last' or 'none', got {snapshots!r}")
    f = find_run_file(path)
    for attempt in range(LIVE_RETRIES + 1):
        try:
            data = _load_file(f, snapshots)
            break
        except DamagedRunFileError:
            if attempt == LIVE_RETRIES or lock_held(f.parent) is None:
                raise
            import time

            time.sleep(LIVE_PAUSE)
    if warn and data.status != STATUS_COMPLETED:
        import warnings

        warnings.warn(data.incomplete_message(), IncompleteRunWarning, stacklevel=2)
    return data


def _load_file(f: Path, snapshots: str) -> RunData:
    """:func:`load_run`'s one reading of the run file ``f``."""
    try:
        h5 = open_run_file(f)
    except OSError as exc:  # not HDF5 at all (e.g. a config file given by mistake), or a damaged file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotARunFileError(f"{f}: not a readable nnfield run file ({first}); give a run directory or its "
                               f"{RUN_FILE}") from None
    with h5:
        try:
            groups = OBSERVABLES in h5 and SNAPSHOTS in h5
        except RuntimeError as exc:  # its root group's links damaged
            raise damaged(f, exc) from None
        if not groups:
            raise NotARunFileError(f"{f}: an HDF5 file, but not an nnfield run file (no /{OBSERVABLES} and "
                                   f"/{SNAPSHOTS} groups)")
        try:
            return _load_open_run(f, h5, snapshots)
        except NotARunFileError:
            raise
        except (OSError, RuntimeError) as exc:  # its metadata damaged (a RuntimeError gave a traceback)
            raise damaged(f, exc) from None
        except (KeyError, ValueError, TypeError) as exc:  # a dataset or attribute missing or of the wrong type
            if isinstance(exc, _NewerSchemaError):
                raise
            if isinstance(exc, KeyError) and "Unable to" in str(exc):  # an object whose header HDF5 cannot read
                raise damaged(f, exc) from None
            raise NotARunFileError(f"{f}: an HDF5 file with nnfield's groups, but not a readable run file "
                                   f"({type(exc).__name__}: {exc})") from None


class _NewerSchemaError(ValueError):
    """A run file written by a newer nnfield (its schema version is above :data:`SCHEMA_VERSION`)."""


def _load_open_run(f: Path, h5: Any, snapshots: str) -> RunData:
    """:func:`load_run` on the open file ``h5``."""
    attrs = read_attrs(h5)
    version = int(attrs.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise _NewerSchemaError(
            f"{f}: schema version {version} is newer than this nnfield reads ({SCHEMA_VERSION}); upgrade nnfield"
        )
    steps_done, n_obs, n_snap = committed_counts(h5, str(attrs["status"]))
    if steps_done is not None:
        attrs["steps_done"] = steps_done
        attrs["t_final"] = steps_done * float(attrs.get("tick", attrs.get("dt", 1.0)))
    attrs["status"] = resolve_status(str(attrs["status"]), f)
    tails = read_tails(h5)
    og = h5[OBSERVABLES]
    obs = renamed_observables({name: _read(og[name], slice(n_obs), tails) for name in data_names(og)})
    sg = h5[SNAPSHOTS]
    snap_step, snap_time = _read(sg[STEP], slice(n_snap), tails), _read(sg[TIME], slice(n_snap), tails)
    names = data_names(sg)
    fields: dict[str, np.ndarray] = {}
    n = len(snap_step)
    if snapshots == "all":
        fields = {name: _read(sg[name], slice(n)) for name in names}
    elif snapshots == "last" and n:
        fields = {name: _read(sg[name], slice(n - 1, n)) for name in names}
        snap_step, snap_time = snap_step[n - 1 :], snap_time[n - 1 :]
    data = RunData(f, attrs, obs, _read(og[STEP], slice(n_obs), tails), _read(og[TIME], slice(n_obs), tails), snap_step,
                   snap_time, fields)
    return data


#: attributes that change during a run: only in ``/final`` (and, while a run is running or after a kill, derived from
#: ``/commit`` by :func:`read_attrs`), never at the root, which is written once (a root copy would be stale for a
#: reader of the raw file: a completed run read ``steps_done = 0`` there, before 2026-12-04)
FINAL_ONLY = ("status", "steps_done", "t_final")


def rebuild_run_file(src: str | Path, dst: str | Path, n_obs: int, n_snap: int, attrs: Mapping[str, Any]) -> None:
    """Copy the run file ``src`` into a new ``dst`` cut back to ``n_obs`` samples and ``n_snap`` snapshots,
    with root attributes updated by ``attrs`` (a resumed run continues from a checkpoint's counts).
    Readable from a file left by a killed writer; ``dst`` is a properly closed file (fsynced).

    Refused (:class:`WriteError`, before ``dst`` is created) when the file system or the file-size limit has no
    room for a copy of ``src`` (it is at most that big): a copy that failed half way crashed the process closing
    the half-written file (a segmentation fault under ``ulimit -f``)."""
    import os

    check_room(Path(dst), Path(src).stat().st_size)
    with open_run_file(src) as h5:
        # everything but the data read first: metadata HDF5 cannot read (a damaged file) is refused in one line
        # (:class:`DamagedRunFileError`) before ``dst`` exists; it was a traceback (a RuntimeError, a KeyError)
        try:
            raw = dict(h5.attrs.items())
            check_attrs(h5, raw)
            root = {k: v for k, v in raw.items() if k not in FINAL_ONLY}  # (/final holds those now)
            plan = [(group, n, [(name, h5[group][name], _own_attrs(h5[group][name]))
                                for name in (STEP, TIME, *data_names(h5[group])) if name in h5[group]])
                    for group, n in ((OBSERVABLES, n_obs), (SNAPSHOTS, n_snap))]
            tails = read_tails(h5)
        except UNREADABLE as exc:
            raise damaged(src, exc) from None
        with h5py.File(dst, "w", libver="latest") as out:
            _copy_cut(out, root, attrs, plan, tails)
            out.flush()
            os.fsync(out.id.get_vfd_handle())


def _own_attrs(ds: h5py.Dataset) -> dict[str, Any]:
    """A dataset's own attributes (``units``, ``long_name``, ...), not its dimension-scale bookkeeping."""
    return {k: v for k, v in ds.attrs.items() if k not in labels.SCALE_ATTRS}


def _copy_cut(out: h5py.File, root: Mapping[str, Any], attrs: Mapping[str, Any],
              plan: list[tuple[str, int, list[tuple[str, h5py.Dataset, dict[str, Any]]]]],
              tails: Mapping[str, tuple[int, int]]) -> None:
    """:func:`rebuild_run_file`'s copy into the new file ``out``: the root attributes ``root`` updated by
    ``attrs``, each group's datasets cut to their first ``n`` rows (a torn last chunk read through ``tails``,
    :func:`read_tails`), then the commit record, /final and the labels."""
    for k, v in root.items():
        out.attrs[k] = v
    for k, v in attrs.items():
        out.attrs[k] = _attr(v)
    out.attrs["schema_version"] = SCHEMA_VERSION  # labelled below whatever the source's schema
    for group, n, datasets in plan:
        gout = out.create_group(group)
        for name, ds, own in datasets:  # (the coordinates are made again by label_file)
            new = gout.create_dataset(
                name, shape=(n, *ds.shape[1:]), maxshape=(None, *ds.shape[1:]), dtype=ds.dtype, chunks=ds.chunks,
                **CHECKSUM,
            )
            _copy_rows(new, ds, n, tails)
            for k, v in own.items():
                new.attrs[k] = v
    out.create_dataset(COMMIT, data=np.full(3, -1, np.int64))
    _create_final(out)
    labels.label_file(out)
    seal_attrs(out)


#: the most bytes :func:`rebuild_run_file` reads at once
COPY_BYTES = 64 << 20


def _copy_rows(new: h5py.Dataset, ds: h5py.Dataset, n: int, tails: Mapping[str, tuple[int, int]]) -> None:
    """Copy the first ``n`` rows of ``ds`` into ``new`` reading at most :data:`COPY_BYTES` at a time (or one
    chunk, if bigger): many rows at once, or a snapshot above it in blocks of its lattice's first axis (whole
    chunks). Until session 48 it read 64 rows at a time, 64 snapshots: a resumed run of 1 GiB snapshots read 64 GiB
    at once."""
    row = math.prod(ds.shape[1:]) * ds.dtype.itemsize
    if row <= COPY_BYTES or ds.ndim < 3:
        step = max(1, COPY_BYTES // max(1, row))
        for i in range(0, n, step):
            new[i : min(n, i + step)] = _read(ds, slice(i, min(n, i + step)), tails)
        return
    plane = math.prod(ds.shape[3:]) * ds.shape[1] * ds.dtype.itemsize  # (one row of the lattice's first axis)
    per = int(ds.chunks[2]) if ds.chunks else 1  # (whole chunks: none written twice)
    along = max(per, min(ds.shape[2], COPY_BYTES // max(1, plane)) // per * per)
    for i in range(n):
        for r in range(0, ds.shape[2], along):
            new[i, :, r : r + along] = _read(ds, (i, slice(None), slice(r, r + along)))


def write_xdmf(run_dir: str | Path) -> Path | None:
    """``run.xmf`` beside the run file, for ParaView and VisIt (2D and 3D runs; see :mod:`nnfield.xdmf`)."""
    from .xdmf import write_xdmf as _write_xdmf

    return _write_xdmf(run_dir)


def _read_attr(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


class NullWriter:
    """The :class:`RunWriter` of a process that does not write the run file (processes other than 0 of a
    multi-process run): counts what process 0 writes, so every process agrees on checkpoint metadata."""

    _broken = False

    def __init__(self, path: str | Path, counts: tuple[int, int] = (0, 0)):
        self.path = Path(path)
        self._n_obs, self._n_snap = (int(c) for c in counts)  # (a resumed run: the checkpoint's counts)

    def append_observables(self, steps: Any, times: Any, values: Mapping[str, Any]) -> None:
        self._n_obs += int(np.asarray(steps).reshape(-1).shape[0])

    def append_snapshot(self, step: int, time: float, fields: Mapping[str, Any]) -> None:
        for value in fields.values():  # a field in pieces: this process's part of each gather, nothing kept
            if hasattr(value, "pieces"):
                for _ in value.pieces(keep=False):
                    pass
        self._n_snap += 1

    @property
    def counts(self) -> tuple[int, int]:
        return self._n_obs, self._n_snap

    def start_swmr(self) -> None:
        pass

    def commit(self, steps_done: int) -> None:
        pass

    def set_attrs(self, **attrs: Any) -> None:
        pass

    def observables(self) -> dict[str, np.ndarray]:
        return {}

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
