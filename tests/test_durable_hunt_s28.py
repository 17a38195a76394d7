"""Durable runs under damage a hostile user found (session 28): HDF5 metadata of a run file or a checkpoint that no
longer reads, a checkpoint's chunk index whose damage HDF5 read back as a zero field, a flipped digit in a checkpoint
manifest, and a links file (``theory.file``) changed, or named from another working directory, between a run and
its resumption.

Damage is made deterministic: one bit of each HDF5 metadata block (found by its signature, e.g. ``OHDR``, ``TREE``)
is flipped in turn, and every outcome must be the stored data bit for bit or a one-line refusal. The end-to-end
runs (a resumed gauged-Dirac run, a resume past a damaged manifest) are ``slow``; their quick siblings test the
same functions on files written without a run."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nnfield import checkpoint as ck
from nnfield import cli
from nnfield import io as nio

#: signatures of HDF5 metadata blocks: object headers and their continuations, v1 B-trees and symbol tables and
#: heaps (the format the checkpoints used to be written in), v2 B-trees, fixed and extensible array chunk indexes,
#: fractal heaps, global heaps
SIGNATURES = (b"OHDR", b"OCHK", b"TREE", b"SNOD", b"HEAP", b"GCOL", b"BTHD", b"BTLF", b"BTIN", b"FAHD", b"FADB",
              b"EAHD", b"EAIB", b"EADB", b"FRHP", b"FHDB", b"FHIB")


def _damaged_copies(path: Path) -> list[tuple[int, bytes]]:
    """``(offset, bytes)`` of copies of ``path`` with one bit flipped in a metadata block: in its signature (byte 0)
    and in its first fields (byte 6: a version, a node level, a count)."""
    orig = path.read_bytes()
    out = []
    for sig in SIGNATURES:
        for m in re.finditer(re.escape(sig), orig):
            for delta in (0, 6):
                data = bytearray(orig)
                data[m.start() + delta] ^= 0x10
                out.append((m.start() + delta, bytes(data)))
    return out


# ----------------------------------------------------------------------------------------------------------
# run files
# ----------------------------------------------------------------------------------------------------------
def _run_file(path: Path, attrs: dict | None = None) -> Path:
    """A small completed run file (two samples, one snapshot), written as a run writes it (root ``attrs``, default a
    Klein-Gordon run with tick 0.1)."""
    attrs = {"theory": "klein-gordon", "tick": 0.1, "steps": 1} if attrs is None else attrs
    w = nio.RunWriter(path, (1, 8), np.float64, attrs)
    w.append_observables(np.array([0, 1]), np.array([0.0, attrs["tick"]]), {"energy": np.array([1.0, 1.0 + 2**-40])})
    w.append_snapshot(0, 0.0, {"phi": np.linspace(-1, 1, 8)[None], "pi": np.linspace(2, 3, 8)[None]})
    w.start_swmr()
    w.commit(1)
    w.set_attrs(status=nio.STATUS_COMPLETED, steps_done=1)
    w.close()
    return path


def test_a_run_file_with_damaged_metadata_is_refused_in_one_line_by_load_plot_and_resume(tmp_path, capsys):
    """HDF5 reports metadata it cannot read as an OSError, a RuntimeError ("Error iterating over attributes",
    "Unable to synchronously check link existence") or a KeyError: ``nnfield.load`` (and ``nnfield plot``) gave the
    RuntimeError's traceback, ``nnfield run --resume`` the RuntimeError's and the KeyError's, and rebuilding the run
    file on resume a bare "Can't synchronously read data" without its path. Each is now one line naming the file,
    and whatever reads gives the stored numbers."""
    good = _run_file(tmp_path / "good.h5")
    ref = nio.load_run(good, warn=False)
    refused = resumed = 0
    for offset, data in _damaged_copies(good):
        run = tmp_path / f"r{offset}"
        run.mkdir()
        (run / nio.RUN_FILE).write_bytes(data)
        try:
            got = nio.load_run(run, warn=False)
        except nio.NotARunFileError as exc:
            assert len(str(exc).splitlines()) == 1 and str(run) in str(exc), (offset, exc)
            refused += 1
        else:
            assert np.array_equal(got.observables["energy"], ref.observables["energy"]), offset
            assert np.array_equal(got.fields["phi"], ref.fields["phi"]), offset
        try:
            nio.read_header(run / nio.RUN_FILE)
        except nio.NotARunFileError as exc:
            assert len(str(exc).splitlines()) == 1, (offset, exc)
            if isinstance(exc, nio.DamagedRunFileError) and resumed < 2:  # (opens, but its metadata does not read)
                # the resume refuses before any work (it needs no config, no checkpoint for that)
                code, err = _main(capsys, "run", "--resume", run)
                assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (offset, err)
                resumed += 1
            continue
        try:  # what the resume does next: copy the file cut back to a checkpoint's counts
            nio.rebuild_run_file(run / nio.RUN_FILE, tmp_path / "copy.h5", 2, 1, {})
        except nio.NotARunFileError as exc:  # (a damaged dataset or header: DamagedRunFileError, one line)
            assert len(str(exc).splitlines()) == 1, (offset, exc)
    assert refused and resumed == 2, "no damage was found: the test damaged nothing"


def _main(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------
# checkpoints
# ----------------------------------------------------------------------------------------------------------
def _state() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(28)
    return {"phi": rng.standard_normal((2, 32)), "pi": rng.standard_normal((2, 32))}


def test_a_checkpoint_with_damaged_metadata_is_refused_never_restored_as_zeros(tmp_path):
    """Fletcher-32 guards a checkpoint's chunks, not HDF5's index of them: in the old file format (v1 B-trees, no
    metadata checksums) a flipped bit in a field's chunk index (``TREE``) made HDF5 read the field as never
    written, a silent field of zeros, and damaged links gave an AttributeError's or RuntimeError's traceback.
    Checkpoints are written with ``libver="latest"`` (every metadata block checksummed): each damage restores the
    stored state bit for bit or is refused (:class:`CheckpointError`, one line)."""
    state = _state()
    saved = ck.save_checkpoint(tmp_path, state, 10, {"config_hash": "h"})
    shard = saved.path / "process-00000.h5"
    copies = _damaged_copies(shard)
    refused = 0
    for offset, data in copies:
        shard.write_bytes(data)
        try:
            got = ck.load_checkpoint(ck.latest_checkpoint(tmp_path), state)
        except ck.CheckpointError as exc:
            assert len(str(exc).splitlines()) == 1, (offset, exc)
            refused += 1
        else:
            for name in state:
                assert np.array_equal(got[name], state[name]), f"{name} restored wrong after damage at {offset}"
    assert copies and refused


def test_a_shard_that_is_not_a_dataset_is_refused_in_one_line(tmp_path):
    """A damaged link (h5py returns ``None`` for its object) gave ``AttributeError: 'NoneType' object has no
    attribute 'attrs'``."""
    import h5py

    state = _state()
    saved = ck.save_checkpoint(tmp_path, state, 10, {"config_hash": "h"})
    with h5py.File(saved.path / "process-00000.h5", "r+") as h5:
        del h5["pi/0"]
        h5["pi/0"] = h5py.SoftLink("/nowhere")
    with pytest.raises(ck.CheckpointError, match=r"field \['pi'\] is damaged") as err:
        ck.load_checkpoint(ck.latest_checkpoint(tmp_path), state)
    assert len(str(err.value).splitlines()) == 1


def test_a_flipped_digit_in_a_manifest_is_found_and_the_checkpoint_not_used(tmp_path):
    """The manifest holds the counts a resumed run cuts its file back to: ``"observables": 21`` damaged into ``11``
    (one bit of the digit) cut ten samples off the resumed run file, silently. Its checksum now fails: the
    checkpoint is not used (the run goes on from the previous one, bit for bit) and ``--resume`` names it."""
    state = _state()
    ck.save_checkpoint(tmp_path, state, 10, {"config_hash": "h", "observables": 11})
    newest = ck.save_checkpoint(tmp_path, state, 20, {"config_hash": "h", "observables": 21})
    assert ck.latest_checkpoint(tmp_path).step == 20 and not ck.damaged_checkpoints(tmp_path)
    path = newest.path / ck.MANIFEST
    text = path.read_text()
    for damaged in (text.replace('"observables": 21', '"observables": 11'),
                    text.replace('"observables"', '"observablet"'),  # (a KeyError's traceback on resume)
                    text.replace('"step": 20', '"step": 28')):
        assert damaged != text
        path.write_text(damaged)
        assert ck.latest_checkpoint(tmp_path).step == 10
        assert ck.damaged_checkpoints(tmp_path) == [newest.path]
    # a manifest of a newer schema is kept (its checksum may be made otherwise): --resume names the upgrade
    manifest = json.loads(text)
    manifest["schema_version"] = ck.CHECKPOINT_SCHEMA + 1
    path.write_text(json.dumps(manifest))
    with pytest.raises(ck.CheckpointError, match="newer than this nnfield reads"):
        ck.check_compatible(ck.latest_checkpoint(tmp_path), "h", "config.toml")
    # a manifest written before the checksum (none) is read as it was
    manifest = json.loads(text)
    del manifest[ck.CHECKSUM_KEY]
    path.write_text(json.dumps(manifest))
    assert ck.latest_checkpoint(tmp_path).step == 20


def test_the_files_a_model_reads_are_checked_on_resume(tmp_path, monkeypatch):
    """``config_hash`` holds a ``theory.file`` by name only: a resumed gauged-Dirac run whose links file changed
    went on silently with other links (its energy then drifted: the conservation check failed), and a relative path
    resumed from another working directory reads whatever file has that name there. The manifest now records the
    file's SHA-256 (``inputs``) and ``--resume`` refuses another file in one line."""
    links = tmp_path / "links.npz"
    np.savez(links, alpha=np.full((1, 8), 0.1))
    cfg = SimpleNamespace(theory=SimpleNamespace(params={"field": "file", "file": "links.npz", "mass": 1.0}))
    monkeypatch.chdir(tmp_path)
    inputs = ck.input_files(cfg)
    assert list(inputs) == ["theory.file"]
    saved = ck.Checkpoint(tmp_path / "checkpoints" / "step-000000000010", {"inputs": inputs})
    ck.check_inputs(saved, cfg, "config.toml")  # the same file
    ck.check_inputs(ck.Checkpoint(saved.path, {}), cfg, "config.toml")  # a checkpoint from before: not checked
    np.savez(links, alpha=np.full((1, 8), 0.3))
    with pytest.raises(ck.CheckpointError, match="theory.file = 'links.npz' in config.toml is not the file") as e:
        ck.check_inputs(saved, cfg, "config.toml")
    assert len(str(e.value).splitlines()) == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ck.CheckpointError, match="not found from this working directory"):
        ck.check_inputs(saved, cfg, "config.toml")


# ----------------------------------------------------------------------------------------------------------
# end to end (slow)
# ----------------------------------------------------------------------------------------------------------
GAUGED = """\
[theory]
name = "gauged-dirac"
field = "file"
file = "links.npz"
[lattice]
shape = [32]
[time]
dt = 0.05
steps = {steps}
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 2.0
[output]
every = 2
snapshot_every = 10
chunk = 10
checkpoint_every = 10
"""

KG = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [64]
spacing = 0.1
[time]
dt = 0.05
steps = {steps}
scheme = "leapfrog"
[initial]
kind = "gaussian_packet"
center = [3.2]
width = 0.5
momentum = [5.0]
[output]
every = 5
snapshot_every = 50
chunk = 50
checkpoint_every = 50
"""


def _datasets(run_dir: Path) -> dict[str, np.ndarray]:
    run = nio.load_run(run_dir, warn=False)
    out = {f"obs/{k}": v for k, v in run.observables.items()}
    out.update({f"snap/{k}": v for k, v in run.fields.items()}, obs_step=run.obs_step, snap_step=run.snap_step)
    return out


def assert_same(a: Path, b: Path) -> None:
    da, db = _datasets(a), _datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        assert da[name].shape == db[name].shape and np.array_equal(da[name], db[name]), f"{name} differs"


@pytest.mark.slow
def test_a_resumed_gauged_run_refuses_a_changed_links_file_and_resumes_with_its_own(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "links.npz", alpha=np.full((1, 32), 0.1))
    for steps in (20, 40):
        (tmp_path / f"g{steps}.toml").write_text(GAUGED.format(steps=steps))
        code, err = _main(capsys, "run", f"g{steps}.toml", "--out", f"run{steps}", "-q")
        assert code == 0, err
    shutil.copy(tmp_path / "links.npz", tmp_path / "links.bak")
    np.savez(tmp_path / "links.npz", alpha=np.full((1, 32), 0.3))
    code, err = _main(capsys, "run", "--resume", "run20", "--steps", "40", "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "theory.file" in err, err
    shutil.copy(tmp_path / "links.bak", tmp_path / "links.npz")
    code, err = _main(capsys, "run", "--resume", "run20", "--steps", "40", "-q")
    assert code == 0, err
    assert_same(tmp_path / "run40", tmp_path / "run20")


@pytest.mark.slow
def test_a_resume_past_a_damaged_manifest_equals_the_uninterrupted_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for steps in (100, 200):
        (tmp_path / f"k{steps}.toml").write_text(KG.format(steps=steps))
        code, err = _main(capsys, "run", f"k{steps}.toml", "--out", f"run{steps}", "-q")
        assert code == 0, err
    newest = ck.latest_checkpoint(tmp_path / "run100")
    assert newest.step == 100 and newest.manifest["observables"] == 21
    path = newest.path / ck.MANIFEST
    text = path.read_text()
    # an old manifest (no checksum) that lost a key: one line, not a KeyError's traceback
    old = json.loads(text)
    del old[ck.CHECKSUM_KEY], old["last_snapshot"]
    path.write_text(json.dumps(old))
    code, err = _main(capsys, "run", "--resume", "run100", "--steps", "200", "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "lacks last_snapshot" in err, err
    # a flipped digit: the checkpoint is not used; the run goes on from step 50, bit for bit
    path.write_text(text.replace('"observables": 21', '"observables": 11'))
    code, err = _main(capsys, "run", "--resume", "run100", "--steps", "200")
    assert code == 0, err
    assert_same(tmp_path / "run200", tmp_path / "run100")


def test_a_run_without_checkpoints_is_refused_with_the_words_scripts_recognise(tmp_path, capsys):
    """No checkpoint at all (the run died before its first one): "no checkpoint in ..." as before (the fault
    tests' driver starts such a run anew on these words; "no usable checkpoint" is for damaged ones only)."""
    cfg = tmp_path / "kg.toml"
    cfg.write_text(KG.format(steps=100))
    out = tmp_path / "run"
    assert _main(capsys, "run", cfg, "--out", out, "-q")[0] == 0
    shutil.rmtree(out / "checkpoints")
    code, err = _main(capsys, "run", "--resume", out, "-q")
    assert code == 2 and "no checkpoint in" in err and "no usable" not in err and "--force" in err
