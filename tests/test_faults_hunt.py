"""Faults found by a hostile user (session 21), each with the run it broke: an extension interrupted before its
first checkpoint, a run file behind the newest checkpoint (power loss, a copy made while the run wrote), a
``config.toml`` edited between the run and its resumption, no room to rebuild the run file, a flipped bit in a
checkpoint, a kill while a checkpoint of the same step was replaced, and the refusal of a directory in use.

Every run here is small (a 1+1 Klein-Gordon packet of 64 sites, a few hundred steps) and in this process, except
the one that needs a file-size limit (a child process under ``ulimit -f``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from nnfield import checkpoint as ck
from nnfield import cli, runner
from nnfield import io as nio

CONFIG = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [64]
spacing = 0.4
[time]
dt = 0.1
steps = {steps}
[initial]
kind = "gaussian_packet"
width = 2.0
momentum = [1.0]
[output]
every = 5
snapshot_every = 20
chunk = 20
checkpoint_every = 40
checkpoint_keep = {keep}
"""


def _config(tmp_path: Path, steps: int, keep: int = 3, name: str | None = None) -> Path:
    path = tmp_path / (name or f"s{steps}k{keep}.toml")
    path.write_text(CONFIG.format(steps=steps, keep=keep))
    return path


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in args])
    return code, capsys.readouterr().err


def _data(run_dir: Path) -> dict[str, np.ndarray]:
    """Every observable and snapshot dataset, cut back to the commit record (what a reader sees)."""
    run = nio.load_run(run_dir, warn=False)
    out = {f"obs/{k}": v for k, v in run.observables.items()}
    out.update({f"snap/{k}": v for k, v in run.fields.items()})
    out.update(obs_step=run.obs_step, snap_step=run.snap_step)
    out["status"] = np.asarray([run.status, str(run.steps_done)])
    return out


def assert_same_run(a: Path, b: Path) -> None:
    da, db = _data(a), _data(b)
    assert sorted(da) == sorted(db)
    for name in da:
        assert da[name].shape == db[name].shape, name
        assert np.array_equal(da[name], db[name]), f"{name} differs"


def _fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str], steps: int) -> Path:
    out = tmp_path / f"fresh{steps}"
    code, err = _main(capsys, "run", _config(tmp_path, steps, name=f"fresh{steps}.toml"), "--out", out, "-q")
    assert code == 0, err
    return out


def _interrupt_at_call(monkeypatch: pytest.MonkeyPatch, k: int, before: object = None) -> None:
    """The chunk program raises ``KeyboardInterrupt`` (what SIGINT does) at its ``k``-th call; ``before(i)`` runs
    before each call ``i``."""
    original = runner._ChunkProgram.__call__
    calls = [0]

    def call(self, *args, **kwargs):
        calls[0] += 1
        if before is not None:
            before(calls[0])
        if calls[0] == k:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(runner._ChunkProgram, "__call__", call)


# ----------------------------------------------------------------------------------------------------------
# the total of steps of an interrupted extension
# ----------------------------------------------------------------------------------------------------------
def test_an_extension_interrupted_before_its_first_checkpoint_resumes_to_its_new_total(tmp_path, capsys,
                                                                                      monkeypatch):
    """`--resume DIR --steps 200` of a finished 100-step run, interrupted (or killed) in its first chunk, left its
    newest checkpoint at step 100 with a total of 100: a plain `--resume` then "finished" the run at step 100 and
    rewrote config.toml back to 100 steps, silently dropping the extension."""
    out = tmp_path / "ext"
    assert _main(capsys, "run", _config(tmp_path, 100), "--out", out, "-q")[0] == 0
    with monkeypatch.context() as mp:
        _interrupt_at_call(mp, 1)
        assert _main(capsys, "run", "--resume", out, "--steps", 200, "-q")[0] == 130
    code, err = _main(capsys, "run", "--resume", out, "-q")
    assert code == 0, err
    assert_same_run(_fresh(tmp_path, capsys, 200), out)
    assert "steps = 200" in (out / "config.toml").read_text()


def test_a_config_whose_steps_were_edited_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    """Editing `steps` in DIR/config.toml of an interrupted run is not how a run is extended: refused, naming
    `--steps` (it used to be ignored, the run file keeping the edited config text with the old total)."""
    out = tmp_path / "edited"
    with monkeypatch.context() as mp:
        _interrupt_at_call(mp, 3)
        assert _main(capsys, "run", _config(tmp_path, 100), "--out", out, "-q")[0] == 130
    config = out / "config.toml"
    config.write_text(config.read_text().replace("steps = 100", "steps = 300"))
    before = (out / "run.h5").read_bytes()
    code, err = _main(capsys, "run", "--resume", out, "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--steps 300" in err, err
    assert (out / "run.h5").read_bytes() == before
    code, err = _main(capsys, "run", "--resume", out, "--steps", 200, "-q")
    assert code == 0, err
    assert_same_run(_fresh(tmp_path, capsys, 200), out)


# ----------------------------------------------------------------------------------------------------------
# a run file behind the newest checkpoint
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("keep", [10, 2])
def test_a_run_file_behind_the_newest_checkpoint(tmp_path, capsys, monkeypatch, keep):
    """The run file lost its last chunks while the checkpoints survived (a power failure: checkpoints are fsynced,
    the run file is not; or the directory copied while the run wrote). `--resume` cut the run file back to the
    newest checkpoint's counts, which it did not have: a TypeError traceback. Now it resumes from the newest
    checkpoint the run file covers (bit-identical), or, with none, refuses in one line."""
    out = tmp_path / f"behind{keep}"
    saved = tmp_path / f"saved{keep}.h5"

    def copy_at(i: int) -> None:
        if i == 5:  # step 80 committed (and its checkpoint written); a copy of the file as it is on disk
            shutil.copyfile(out / "run.h5", saved)

    with monkeypatch.context() as mp:
        _interrupt_at_call(mp, 9, copy_at)  # interrupted at step 160: checkpoints 0, 40, ..., 160
        assert _main(capsys, "run", _config(tmp_path, 200, keep), "--out", out, "-q")[0] == 130
    shutil.copyfile(saved, out / "run.h5")
    code, err = _main(capsys, "run", "--resume", out, "-q")
    if keep == 2:  # checkpoints 120 and 160 only: none the file covers
        assert code == 2 and len(err.strip().splitlines()) == 1 and "step 80" in err and "Traceback" not in err, err
        assert not (out / "run.h5.resume-tmp").exists()
        return
    assert code == 0, err
    assert_same_run(_fresh(tmp_path, capsys, 200), out)


# ----------------------------------------------------------------------------------------------------------
# config.toml edited: output.spectra
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spectra", ["true", "false"])
def test_resume_with_output_spectra_changed_is_refused_in_one_line(tmp_path, capsys, spectra):
    """`spectra = true` added to (or removed from) DIR/config.toml: the resumed run recorded other observables
    than the run file holds, and died in its first append with a ValueError traceback."""
    out = tmp_path / f"spectra-{spectra}"
    cfg = _config(tmp_path, 100)
    if spectra == "false":
        cfg.write_text(cfg.read_text() + "spectra = true\n")
    assert _main(capsys, "run", cfg, "--out", out, "-q")[0] == 0
    config = out / "config.toml"
    text = config.read_text()
    config.write_text(text.replace("spectra = true\n", "") if spectra == "false" else text + "spectra = true\n")
    before = (out / "run.h5").read_bytes()
    code, err = _main(capsys, "run", "--resume", out, "--steps", 200, "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "output.spectra" in err, err
    assert (out / "run.h5").read_bytes() == before


# ----------------------------------------------------------------------------------------------------------
# no room to rebuild the run file
# ----------------------------------------------------------------------------------------------------------
def test_no_room_to_rebuild_the_run_file_on_resume_is_one_line(tmp_path, capsys):
    """`--resume` copies the run file (cut back) before it goes on. Under a file-size limit below the file's size
    the copy failed half way: HDF5 error lines, a traceback, a segmentation fault (exit 139) and a half-written
    run.h5.resume-tmp left behind. Now refused before copying, in one line; the run file is untouched."""
    from test_faults import _run

    cfg = tmp_path / "snap.toml"
    cfg.write_text(CONFIG.format(steps=400, keep=3).replace("shape = [64]", "shape = [4096]"))
    out = tmp_path / "full"
    assert _main(capsys, "run", cfg, "--out", out, "-q")[0] == 0
    size = (out / "run.h5").stat().st_size
    assert size > 600_000
    before = (out / "run.h5").read_bytes()
    res = _run("run", "--resume", str(out), "--steps", "500", "-q", limit_fsize=512 << 10)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and "File too large (errno 27)" in lines[0], res.stderr
    assert not (out / "run.h5.resume-tmp").exists()
    assert (out / "run.h5").read_bytes() == before


# ----------------------------------------------------------------------------------------------------------
# a damaged checkpoint
# ----------------------------------------------------------------------------------------------------------
def _flip_field_bytes(shard: Path) -> None:
    """Flip 8 bytes in the middle of the stored data of the shard file's first field (bit rot)."""
    with h5py.File(shard, "r") as h5:
        ds = next(iter(h5[next(iter(h5))].values()))
        offset = ds.id.get_offset()
        if offset is None:  # chunked: the first chunk's
            offset = ds.id.get_chunk_info(0).byte_offset
        offset += ds.id.get_storage_size() // 2 // 8 * 8 if ds.chunks is None else 64
    with open(shard, "r+b") as fh:
        fh.seek(offset)
        raw = fh.read(8)
        fh.seek(offset)
        fh.write(bytes(b ^ 0x5A for b in raw))


def test_a_flipped_bit_in_a_checkpoint_is_refused_not_resumed(tmp_path, capsys):
    """Bytes flipped in the newest checkpoint's field data (a bad disk, a bad copy): `--resume` restored the
    damaged state and went on as if nothing had happened (a wrong trajectory, an OK verdict). Checkpoints now
    carry HDF5 checksums (Fletcher-32): the damage is found and refused in one line naming the previous one."""
    out = tmp_path / "rot"
    assert _main(capsys, "run", _config(tmp_path, 100), "--out", out, "-q")[0] == 0
    newest = ck.latest_checkpoint(out)
    assert newest is not None and newest.step == 100
    _flip_field_bytes(newest.path / "process-00000.h5")
    code, err = _main(capsys, "run", "--resume", out, "--steps", 200, "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert str(newest.path) in err and "step 80" in err, err
    shutil.rmtree(newest.path)  # as the message says: resume from the previous checkpoint
    code, err = _main(capsys, "run", "--resume", out, "--steps", 200, "-q")
    assert code == 0, err
    assert_same_run(_fresh(tmp_path, capsys, 200), out)


# ----------------------------------------------------------------------------------------------------------
# a checkpoint of the same step written again
# ----------------------------------------------------------------------------------------------------------
def test_a_kill_while_a_checkpoint_is_replaced_keeps_it(tmp_path, monkeypatch):
    """Saving a checkpoint of a step already saved removed the old one before renaming the new one into place: a
    kill in between left no checkpoint of that step (with `checkpoint_keep = 1`, none at all)."""
    import jax.numpy as jnp

    state = {"phi": jnp.arange(8.0)}
    ck.save_checkpoint(tmp_path, state, 40, {"config_hash": "h"}, keep=1)

    replace = ck.os.replace

    def killed(src, dst):  # every rename of the save but its last (the new checkpoint's into place)
        if Path(src).name.endswith(".tmp") and Path(dst).name == "step-000000000040":
            raise KeyboardInterrupt  # the process dies here: the disk is left as it is
        replace(src, dst)

    monkeypatch.setattr(ck.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(tmp_path, {"phi": jnp.arange(8.0)}, 40, {"config_hash": "h"}, keep=1)
    monkeypatch.undo()
    found = ck.latest_checkpoint(tmp_path)
    assert found is not None and found.step == 40
    assert np.array_equal(ck.load_checkpoint(found, state)["phi"], np.arange(8.0))
    ck.save_checkpoint(tmp_path, {"phi": jnp.arange(8.0) + 1}, 80, {"config_hash": "h"}, keep=1)  # goes on
    assert [c.step for c in ck.list_checkpoints(tmp_path)] == [80]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-000000000080"]


def test_a_run_killed_after_its_final_checkpoint_is_finished_without_rewriting_it(tmp_path, capsys):
    """A resumed run already at its total used to save its final checkpoint again (removing the committed one
    first); now the committed checkpoint is kept as it is."""
    out = tmp_path / "final"
    assert _main(capsys, "run", _config(tmp_path, 100), "--out", out, "-q")[0] == 0
    with h5py.File(out / "run.h5", "a") as h5:  # as if killed before the final attributes were written
        h5["final"].resize((0,))
    newest = ck.latest_checkpoint(out)
    assert newest is not None and newest.step == 100
    inode = os.stat(newest.path).st_ino
    code, err = _main(capsys, "run", "--resume", out, "-q")
    assert code == 0, err
    assert os.stat(newest.path).st_ino == inode
    assert_same_run(_fresh(tmp_path, capsys, 100), out)


# ----------------------------------------------------------------------------------------------------------
# a directory in use
# ----------------------------------------------------------------------------------------------------------
def test_resume_of_a_directory_in_use_names_resume(tmp_path, capsys):
    """The refusal of `--resume DIR` while another run holds DIR spoke of `--out` and `--force`."""
    from nnfield.outdir import RunLock

    out = tmp_path / "busy"
    assert _main(capsys, "run", _config(tmp_path, 100), "--out", out, "-q")[0] == 0
    with RunLock(out):
        code, err = _main(capsys, "run", "--resume", out, "--steps", 200, "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"--resume {out}" in err and "--out" not in err and "--force" not in err, err


def test_a_damaged_chunk_of_the_run_file_is_named_not_read_as_numbers(tmp_path, capsys):
    """Every chunked dataset of run.h5 carries a Fletcher-32 checksum (as the checkpoints do): a byte flipped on
    disk in a snapshot chunk was read back as a wrong number; it is now refused, naming the dataset, by the
    library and in one line by ``nnfield plot`` and ``nnfield analyze``."""
    import h5py
    import pytest

    from nnfield import cli
    from nnfield.io import DamagedRunFileError, load_run

    cfg = tmp_path / "kg.toml"
    cfg.write_text('[theory]\nname = "klein-gordon"\n[lattice]\nshape = [64]\n[time]\ndt = 0.1\nsteps = 20\n'
                   '[initial]\nkind = "plane_wave"\n[output]\nevery = 5\nsnapshot_every = 10\n'
                   'checkpoint_every = 10\n')
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0
    with h5py.File(out / "run.h5") as h5:
        ds = h5["snapshots/phi"]
        assert ds.fletcher32 and h5["observables/energy"].fletcher32 and h5["observables/step"].fletcher32
        info = ds.id.get_chunk_info(1)
    raw = bytearray((out / "run.h5").read_bytes())
    raw[info.byte_offset + 8] ^= 0xFF
    (out / "run.h5").write_bytes(bytes(raw))
    load_run(out, snapshots="none")  # the observables are intact
    with pytest.raises(DamagedRunFileError, match=r"the dataset /snapshots/phi is damaged \(its checksum fails"):
        load_run(out)
    capsys.readouterr()
    for command in (["plot", str(out), "--out", str(tmp_path / "p")],):
        assert cli.main(command) == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "/snapshots/phi is damaged" in err[0], (command, err)
    # --resume --steps copies the run file: refused in one line, nothing left behind, nothing changed
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert cli.main(["run", "--resume", str(out), "--steps", "30", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/snapshots/phi is damaged" in err[0] and "start it again with --force" in err[0]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_an_extended_config_whose_steps_could_not_be_edited_in_place_resumes(tmp_path, capsys):
    """``--steps N`` rewrites ``steps`` in ``config.toml``; where it cannot (an inline ``time = {...}`` table), it
    prepends a note of the new total instead. A later ``--resume`` read the unedited ``steps`` and refused the
    run as edited ("sets 20 steps, but the run's total is 40"); the note now counts as the config's total."""
    cfg = tmp_path / "kg.toml"
    cfg.write_text('time = {dt = 0.1, steps = 20}\n[theory]\nname = "klein-gordon"\n[lattice]\nshape = [32]\n'
                   '[initial]\nkind = "plane_wave"\n[output]\nevery = 5\nsnapshot_every = 10\ncheckpoint_every = 10\n')
    out = tmp_path / "o"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0
    for total in (40, 60):
        assert cli.main(["run", "--resume", str(out), "--steps", str(total), "-q"]) == 0
        first = (out / "config.toml").read_text().splitlines()[0]
        assert first == f"# extended to {total} steps by `nnfield run --resume --steps {total}`"
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(out), "-q"]) == 2  # complete: refused as such, not as edited
    err = capsys.readouterr().err
    assert "the run is complete (60 steps)" in err and "sets 20 steps" not in err
