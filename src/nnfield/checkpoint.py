"""Checkpoints of a run: the full network state at a chunk boundary, written atomically, restored bit for bit.

Layout (schema :data:`CHECKPOINT_SCHEMA`)::

    DIR/checkpoints/step-000000001200/          one committed checkpoint (the step in the name)
        manifest.json                           written last: the commit record (see below)
        process-00000.h5                        the shards this process holds: /<leaf>/<k> datasets with
                                                attributes ``start`` and ``stop`` (the shard's global index),
                                                chunked with Fletcher-32 checksums (verified on read), in
                                                HDF5's newest format (``libver="latest"``: its metadata, e.g.
                                                the chunk index, is checksummed too)

``manifest.json`` holds the schema version, the step and time, the config hash (:func:`config_hash`), the
initial-condition seed (the only randomness of a run: the dynamics are deterministic, so the state and the
step are the whole "RNG state"), the number of recorded observable samples and snapshots (the run file is cut
back to them on resume), the leaves (key path, global shape, dtype), the number of processes, the SHA-256 of the
files the model reads (``inputs``: :func:`input_files`) and the SHA-256 of the manifest's own content
(``checksum``: :func:`manifest_digest`; a manifest that does not read or whose checksum fails is never used).

A checkpoint is written into ``step-N.tmp/``, every file fsynced, then renamed to ``step-N/`` and the
directory fsynced: a kill at any moment leaves either no ``step-N/`` or a complete one (leftover ``*.tmp``
directories are ignored and removed by the next save). A checkpoint of a step already saved first renames the
old one to ``step-N.old.tmp/``, which counts as committed while ``step-N/`` is missing (a kill between the
two renames). The last ``keep`` checkpoints are kept; a checkpoint whose manifest is damaged (never used, not
counted in ``keep``) is removed once a newer whole checkpoint has been saved.

A state sharded over devices is saved shard by shard (each process writes the shards it addresses, replica 0
only) and restored with :func:`jax.make_array_from_callback` onto the sharding of a template state, so the
format also holds a state sharded over processes (each process reads the slices it needs). Why h5py and not
orbax-checkpoint: ``docs/architecture.md`` ("Checkpoints").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import jax
import numpy as np

from .errors import InputError
from .io import WriteError, check_room
from .parallel import barrier, named_processes, processes_that

CHECKPOINT_SCHEMA = 1
CHECKPOINT_DIR = "checkpoints"
MANIFEST = "manifest.json"
_PREFIX = "step-"
_TMP = ".tmp"
#: the manifest's entry holding :func:`manifest_digest` (manifests written before 2026-12-05 have none)
CHECKSUM_KEY = "checksum"
#: a committed checkpoint renamed aside while one of the same step replaces it (used only if that one is missing)
_ASIDE = f".old{_TMP}"


class CheckpointError(InputError):
    """A checkpoint that cannot be used: missing, from another config, a newer schema, unreadable."""


# ----------------------------------------------------------------------------------------------------------
# what identifies a trajectory
# ----------------------------------------------------------------------------------------------------------
#: keys added to a theory's tables after runs were written without them, with the default that means "as before":
#: left out of :func:`config_hash` at that value (session 33: phi4's ``phase``; the nonlinear fields' ``offset``)
ADDED_KEYS: dict[tuple[str, str, str], Any] = {
    ("phi4", "theory", "phase"): "symmetric",
    ("phi4", "initial", "offset"): None,
    ("sine-gordon", "initial", "offset"): None,
}


def config_hash(cfg: Any) -> str:
    """SHA-256 of everything in a config that determines the trajectory: theory and its parameters, lattice,
    dt, scheme, initial condition and seed, precision. Not the number of steps (a run may be extended), the
    output cadence or the chunk length (the recorded cadence is checked separately), the title or comments. A
    ``[sweep]`` (its keys and values, in order: they fix the members) is part of it; a config without one hashes
    as before sweeps existed, so older checkpoints stay compatible. So do the keys added to a theory later
    (:data:`ADDED_KEYS`): at their defaults they are left out, and a run written before them resumes."""
    name = cfg.theory.name

    def hashed(table: str, params: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted((k, repr(v)) for k, v in params.items()
                      if (name, table, k) not in ADDED_KEYS or v != ADDED_KEYS[(name, table, k)])

    content: dict[str, Any] = {
        "theory": [name, hashed("theory", cfg.theory.params)],
        "lattice": [list(cfg.lattice.shape), repr(float(cfg.lattice.spacing))],
        "time": [repr(float(cfg.time.dt)), cfg.time.scheme],
        "initial": [cfg.initial.kind, int(cfg.initial.seed), hashed("initial", cfg.initial.params)],
        "precision": cfg.output.precision,
    }
    sweep = getattr(cfg, "sweep", None)
    if sweep:
        content["sweep"] = [[k, [repr(v) for v in vals]] for k, vals in sweep.items()]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def input_files(cfg: Any) -> dict[str, str]:
    """``{"theory.<key>": SHA-256}`` of each file the model reads: a theory parameter that names an existing file
    (a gauge theory's ``theory.file`` links, a background field of the dynamics). :func:`config_hash` holds only
    its name, so a resumed run whose file changed, or whose relative path names another file from another working
    directory, went on silently with other physics; the manifest records these (``inputs``) and
    :func:`check_inputs` compares them. (Initial-data files are not needed: the checkpoint holds the state.)"""
    out = {}
    for key, value in sorted(cfg.theory.params.items()):
        if isinstance(value, str) and value and os.path.isfile(value):
            out[f"theory.{key}"] = hashlib.sha256(Path(value).read_bytes()).hexdigest()
    return out


def check_inputs(ckpt: Checkpoint, cfg: Any, source: str) -> None:
    """Refuse (one line) resuming ``ckpt`` when a file the model reads (:func:`input_files`) is not the one the run
    read; a checkpoint that records none (written before 2026-12-05) is not checked."""
    recorded = ckpt.manifest.get("inputs")
    if not isinstance(recorded, dict):
        return
    now = input_files(cfg)
    for key in sorted(set(recorded) | set(now)):
        if recorded.get(key) != now.get(key):
            value = cfg.theory.params.get(key.removeprefix("theory."), "")
            what = ("is not found from this working directory" if key not in now else
                    "is not the file the run read (its contents changed, or a relative path names another file "
                    "from this working directory)")
            raise CheckpointError(
                f"checkpoint {ckpt.path}: {key} = {value!r} in {source} {what}; resume from the directory the run "
                f"started in with the file unchanged, or start a new run"
            )


# ----------------------------------------------------------------------------------------------------------
# saving
# ----------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A committed checkpoint on disk: its directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.manifest["step"])


def _leaves(state: Any) -> list[tuple[str, Any]]:
    flat, _ = jax.tree_util.tree_flatten_with_path(state)
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in flat]


def _dataset_name(key: str) -> str:
    """An HDF5-safe name for a key path (``.phi`` -> ``phi``, ``['a'][0]`` -> ``a_0``)."""
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in key).strip("_")
    return out or "leaf"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    run_dir: str | Path, state: Any, step: int, meta: Mapping[str, Any], keep: int = 3
) -> Checkpoint:
    """Write ``state`` at ``step`` atomically into ``run_dir/checkpoints/step-N/`` and keep the last ``keep``.

    ``meta`` goes into the manifest (config hash, time, seed, counts of recorded samples and snapshots...).
    Every process of a multi-process run calls this; each writes its own shards, process 0 the manifest.
    """
    root = Path(run_dir) / CHECKPOINT_DIR
    final = root / f"{_PREFIX}{int(step):012d}"
    tmp = root / f"{final.name}{_TMP}"  # one name for all processes (the run holds the directory's lock)
    pid = jax.process_index()
    leaves = _leaves(state)
    names = [_dataset_name(k) for k, _ in leaves]
    if len(set(names)) != len(names):
        names = [f"{n}_{i}" for i, n in enumerate(names)]
    if pid == 0:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        check_room(tmp, sum(int(np.prod(np.shape(x))) * np.dtype(x.dtype).itemsize for _, x in leaves))
        tmp.mkdir()
    barrier(f"nnfield-checkpoint-{step}-dir")
    shard_file = tmp / f"process-{pid:05d}.h5"
    try:
        _write_shards(shard_file, names, leaves)
    except (OSError, RuntimeError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WriteError(shard_file, exc) from None
    manifest = {
        "schema_version": CHECKPOINT_SCHEMA,
        "step": int(step),
        "processes": jax.process_count(),
        "leaves": [
            {"key": key, "name": name, "shape": list(np.shape(leaf)), "dtype": str(np.dtype(leaf.dtype))}
            for name, (key, leaf) in zip(names, leaves, strict=True)
        ],
        **{k: _plain(v) for k, v in meta.items()},
    }
    manifest[CHECKSUM_KEY] = manifest_digest(json.loads(json.dumps(manifest)))  # (of what is read back)
    barrier(f"nnfield-checkpoint-{step}-shards")
    if pid == 0:
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        if final.exists():  # a checkpoint of the same step: renamed aside (not removed) before the new one is
            old = root / f"{final.name}{_ASIDE}"  # renamed in: a kill in between leaves the old one, which
            shutil.rmtree(old, ignore_errors=True)  # counts as committed while no step-N exists (_committed)
            os.replace(final, old)
        os.replace(tmp, final)
        _fsync_dir(root)
        _prune(root, keep)
    barrier(f"nnfield-checkpoint-{step}-done")
    return Checkpoint(final, manifest)


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of a manifest's content but its own checksum (``json.dumps`` with sorted keys, as it is read back):
    the manifest's ``checksum`` entry. The shard files' datasets carry HDF5 checksums, the manifest this one, so a
    flipped bit in its counts (``"observables": 21`` read as ``11`` cut ten samples off the resumed run file) or its
    keys (a ``KeyError``'s traceback) is found, not used."""
    body = {k: v for k, v in manifest.items() if k != CHECKSUM_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _write_shards(shard_file: Path, names: list[str], leaves: list[tuple[str, Any]]) -> None:
    with h5py.File(shard_file, "w", libver="latest") as h5:
        for name, (key, leaf) in zip(names, leaves, strict=True):
            grp = h5.create_group(name)
            grp.attrs["key"] = key
            for k, (index, data) in enumerate(_local_shards(leaf)):
                ds = grp.create_dataset(str(k), data=data, **_checksummed(data))
                ds.attrs["start"] = np.asarray([s.start or 0 for s in index], np.int64)
                ds.attrs["stop"] = np.asarray(
                    [s.stop if s.stop is not None else n for s, n in zip(index, np.shape(leaf), strict=True)], np.int64
                )
        h5.flush()
        os.fsync(h5.id.get_vfd_handle())


def _checksummed(data: np.ndarray) -> dict[str, Any]:
    """Dataset options that store a Fletcher-32 checksum with every chunk (HDF5 verifies it on read), so a
    damaged checkpoint (a bad disk or copy) is refused instead of restored: not for a scalar or an empty array
    (only chunked datasets take filters)."""
    return {"chunks": True, "fletcher32": True} if data.ndim and data.size else {}


def _local_shards(leaf: Any) -> list[tuple[tuple[slice, ...], np.ndarray]]:
    """``(global index, data)`` of the shards of ``leaf`` this process writes (replica 0 of each)."""
    if isinstance(leaf, jax.Array) and not leaf.is_fully_replicated and len(leaf.sharding.device_set) > 1:
        return [(s.index, np.asarray(s.data)) for s in leaf.addressable_shards if s.replica_id == 0]
    if jax.process_index() != 0:  # pragma: no cover - replicated leaves are written by process 0 only
        return []
    arr = np.asarray(leaf)
    return [(tuple(slice(0, n) for n in arr.shape), arr)]


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _prune(root: Path, keep: int) -> None:
    """Remove the leftovers of interrupted saves, all but the newest ``keep`` whole checkpoints, and every damaged
    one (:func:`damaged_checkpoints`) older than the newest whole one. A damaged checkpoint is never used and does
    not count against ``keep``; it was kept for ever. Once a newer whole checkpoint exists it is of no use to a
    resume (which goes on from the newest whole one); one newer than every whole checkpoint is left alone (its
    step is saved again by the resumed run, which replaces it, or it is removed once a newer one exists)."""
    for p in root.iterdir():  # leftovers of interrupted saves
        if _TMP in p.name and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
    damaged: list[Path] = []
    done = sorted(_committed(root, damaged), key=lambda c: c.step)
    for c in done[: max(0, len(done) - max(1, keep))]:
        shutil.rmtree(c.path, ignore_errors=True)
    if done:
        for p in damaged:
            step = _dir_step(p)
            if step is not None and step < done[-1].step and _read_damaged(p):
                shutil.rmtree(p, ignore_errors=True)


def _read_damaged(path: Path) -> bool:
    """Whether the damaged checkpoint ``path``'s manifest is missing or was read and is damaged, not unreadable
    for a reason that may pass (permissions, an I/O error of a network file system): only those are removed."""
    try:
        (path / MANIFEST).read_bytes()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _dir_step(path: Path) -> int | None:
    """The step a checkpoint directory's name gives (``step-000000001200``: 1200), or ``None``."""
    digits = path.name.removeprefix(_PREFIX)
    return int(digits) if digits.isdigit() else None


# ----------------------------------------------------------------------------------------------------------
# finding and loading
# ----------------------------------------------------------------------------------------------------------
def _committed(root: Path, damaged: list[Path] | None = None) -> list[Checkpoint]:
    """The checkpoints in ``root`` whose manifest reads and is whole (:func:`_whole`); the directories of the
    others (named as committed, so they were: their manifest was damaged since) are appended to ``damaged``."""
    out: list[Checkpoint] = []
    if not root.is_dir():
        return out
    for p in root.iterdir():
        if not (p.is_dir() and p.name.startswith(_PREFIX)):
            continue
        if p.name.endswith(_ASIDE):  # a kill while a checkpoint of its step replaced it: it stands in for that
            if (root / p.name.removesuffix(_ASIDE)).exists():
                continue
        elif _TMP in p.name:
            continue
        try:
            manifest = json.loads((p / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            manifest = None
        if _whole(manifest):
            out.append(Checkpoint(p, manifest))
        elif damaged is not None:  # never used
            damaged.append(p)
    return out


def _whole(manifest: Any) -> bool:
    """Whether a parsed manifest is one :func:`save_checkpoint` wrote, unchanged: its checksum (if it has one:
    :data:`CHECKSUM_KEY`) matches, its step is an integer and its leaves name a key, a name, a shape and a dtype.
    A manifest of a newer schema counts as whole (its checksum may be made otherwise): :func:`check_compatible`
    refuses it, naming the upgrade it needs."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("step"), int):
        return False
    version = manifest.get("schema_version", 0)
    if isinstance(version, int) and version > CHECKPOINT_SCHEMA:
        return True
    if CHECKSUM_KEY in manifest and manifest[CHECKSUM_KEY] != manifest_digest(manifest):
        return False
    leaves = manifest.get("leaves", [])
    return isinstance(leaves, list) and all(
        isinstance(e, dict) and isinstance(e.get("key"), str) and isinstance(e.get("name"), str)
        and isinstance(e.get("dtype"), str) and isinstance(e.get("shape"), list)
        and all(isinstance(n, int) for n in e["shape"]) for e in leaves)


def damaged_checkpoints(run_dir: str | Path) -> list[Path]:
    """The checkpoint directories of a run directory whose manifest is damaged (unreadable, not JSON, or its
    checksum fails): never used, named by ``--resume`` (it goes on from the newest whole checkpoint)."""
    damaged: list[Path] = []
    _committed(Path(run_dir) / CHECKPOINT_DIR, damaged)
    return sorted(damaged)


def list_checkpoints(run_dir: str | Path) -> list[Checkpoint]:
    """The committed checkpoints of a run directory, oldest first."""
    return sorted(_committed(Path(run_dir) / CHECKPOINT_DIR), key=lambda c: c.step)


def latest_checkpoint(run_dir: str | Path) -> Checkpoint | None:
    """The newest committed checkpoint, or ``None``."""
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def check_compatible(ckpt: Checkpoint, expected_hash: str, source: str) -> None:
    """Refuse (one line) a checkpoint of a newer schema or of another config."""
    version = int(ckpt.manifest.get("schema_version", 0))
    if version > CHECKPOINT_SCHEMA:
        raise CheckpointError(
            f"checkpoint {ckpt.path}: schema version {version} is newer than this nnfield reads "
            f"({CHECKPOINT_SCHEMA}); upgrade nnfield to resume this run"
        )
    if ckpt.manifest.get("config_hash") != expected_hash:
        raise CheckpointError(
            f"checkpoint {ckpt.path} was written by a different config than {source} (the theory, lattice, dt, "
            f"scheme, initial data, precision or [sweep] differ); resume with the run's own config.toml, or start anew"
        )


def load_checkpoint(ckpt: Checkpoint, template: Any) -> Any:
    """The state stored in ``ckpt``, with the PyTree structure, dtypes and shardings of ``template`` (arrays, or
    ``jax.ShapeDtypeStruct`` leaves with their shardings: each device's shard is read from the files, nothing
    whole is built; one without a sharding is read whole to the host).

    Every leaf must match the template's key path, shape and dtype (else :class:`CheckpointError`). In a
    multi-process run every process reads the slices it holds, so one may fail (its shard file missing or
    damaged) where the others succeed: the processes then agree (a collective) and every one refuses in one
    line, instead of the others waiting in the run's next collective and failing with a traceback.
    """
    try:
        state, error = _load_checkpoint(ckpt, template), None
    except CheckpointError as exc:
        state, error = None, exc
    failed = processes_that(error is not None)
    if error is not None:
        raise error
    if failed:
        raise CheckpointError(f"checkpoint {ckpt.path}: {named_processes(failed)} cannot "
                              f"restore {'their' if len(failed) > 1 else 'its'} part of the state (a shard file "
                              f"missing or damaged; {'their' if len(failed) > 1 else 'its'} own error line says "
                              f"which){way_back(ckpt)}")
    return state


def _load_checkpoint(ckpt: Checkpoint, template: Any) -> Any:
    leaves = _leaves(template)
    by_key = {entry["key"]: entry for entry in ckpt.manifest.get("leaves", [])}
    files = sorted(ckpt.path.glob("process-*.h5"))
    if not files:
        raise CheckpointError(f"checkpoint {ckpt.path}: no process-*.h5 shard files; it cannot be restored"
                              f"{way_back(ckpt)}")
    try:
        handles = [h5py.File(f, "r") for f in files]
    except OSError as exc:
        raise CheckpointError(f"checkpoint {ckpt.path}: unreadable shard file ({exc}){way_back(ckpt)}") from None
    try:
        restored = []
        for key, leaf in leaves:
            entry = by_key.get(key)
            shape, dtype = tuple(np.shape(leaf)), np.dtype(leaf.dtype)
            if entry is None or tuple(entry["shape"]) != shape or np.dtype(entry["dtype"]) != dtype:
                got = "missing" if entry is None else f"shape {tuple(entry['shape'])}, {entry['dtype']}"
                raise CheckpointError(
                    f"checkpoint {ckpt.path}: field {key} is {got}, the run needs shape {shape}, {dtype}"
                )

            def read(index: tuple[slice, ...], name: str = entry["name"], shape: tuple[int, ...] = shape,
                     dtype: np.dtype = dtype) -> np.ndarray:
                return _assemble(index, _shards(handles, name), shape, dtype, ckpt.path)

            # what HDF5 raises for damaged bytes: OSError (a chunk's checksum fails, a header cannot be read),
            # RuntimeError (a damaged group's links), KeyError, ValueError; a RuntimeError gave a traceback
            try:
                if isinstance(leaf, jax.Array) or (isinstance(leaf, jax.ShapeDtypeStruct)
                                                    and leaf.sharding is not None):
                    restored.append(jax.make_array_from_callback(shape, leaf.sharding, read))
                else:
                    restored.append(read(tuple(slice(0, n) for n in shape)))
            except CheckpointError:
                raise
            except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:
                text = str(exc).strip().strip("'\"")
                first = text.splitlines()[0] if text else type(exc).__name__
                raise CheckpointError(f"checkpoint {ckpt.path}: field {key} is damaged ({first}){way_back(ckpt)}"
                                      ) from None
    finally:
        for h in handles:
            h.close()
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(template), restored)


def _shards(handles: list[h5py.File], name: str) -> list[h5py.Dataset]:
    """The shard datasets of the leaf stored as group ``name`` in the shard files ``handles``. A member that is
    not a dataset (a damaged link, which h5py returns as ``None``), or a shard without its ``start``/``stop``
    index, raises ``ValueError``: a damaged file (it gave an ``AttributeError``'s traceback)."""
    out = []
    for h in handles:
        if name not in h:
            continue
        for k, ds in h[name].items():
            if not isinstance(ds, h5py.Dataset) or "start" not in ds.attrs or "stop" not in ds.attrs:
                raise ValueError(f"its shard {h.filename}:/{name}/{k} is not readable")
            out.append(ds)
    return out


def way_back(ckpt: Checkpoint) -> str:
    """What to do about a checkpoint that cannot be restored: resume from the previous one, or start again."""
    older = [c for c in list_checkpoints(ckpt.path.parent.parent) if c.step < ckpt.step]
    return (f"; delete {ckpt.path} to resume from the previous checkpoint (step {older[-1].step})" if older else
            "; no older checkpoint: start the run again with --force")


def _assemble(index: tuple[slice, ...], shards: list[Any], shape: tuple[int, ...], dtype: np.dtype,
              where: Path) -> np.ndarray:
    """The region ``index`` of a global array from the shard datasets that cover it."""
    index = tuple(slice(*s.indices(n)[:2]) for s, n in zip(index, shape, strict=True)) if index else ()
    want_lo = np.asarray([s.start for s in index], np.int64)
    want_hi = np.asarray([s.stop for s in index], np.int64)
    out = np.empty(tuple(int(n) for n in want_hi - want_lo), dtype)
    covered = 0
    for ds in shards:
        lo, hi = np.asarray(ds.attrs["start"], np.int64), np.asarray(ds.attrs["stop"], np.int64)
        a, b = np.maximum(lo, want_lo), np.minimum(hi, want_hi)
        if np.any(a >= b) and out.ndim:
            continue
        src = tuple(slice(int(x - y), int(z - y)) for x, y, z in zip(a, lo, b, strict=True))
        dst = tuple(slice(int(x - y), int(z - y)) for x, y, z in zip(a, want_lo, b, strict=True))
        out[dst] = ds[src]
        covered += int(np.prod(b - a))
    if covered < out.size:
        raise CheckpointError(f"checkpoint {where}: the shard files do not cover the whole state (a process's "
                              f"file is missing)")
    return out
