"""One run per output directory: a lock held for the whole run, refused even with --force, never stale."""

import os

from nnfield import cli
from nnfield.outdir import LOCK_FILE, RunLock

KG = """\
[theory]
name = "klein-gordon"
[lattice]
shape = [16]
[time]
dt = 0.1
steps = 4
[initial]
kind = "plane_wave"
"""


def test_a_directory_in_use_is_refused_even_with_force(tmp_path, capsys):
    cfg = tmp_path / "kg.toml"
    cfg.write_text(KG)
    out = tmp_path / "out"
    out.mkdir()
    with RunLock(out):  # another run holds the directory
        assert (out / LOCK_FILE).read_text().strip() == str(os.getpid())
        for extra in ([], ["--force"]):
            assert cli.main(["run", str(cfg), "--out", str(out), "-q", *extra]) == 2
            err = capsys.readouterr().err
            assert f"another nnfield run (PID {os.getpid()})" in err and len(err.strip().splitlines()) == 1
        assert not (out / "run.h5").exists()
    assert not (out / LOCK_FILE).exists()  # released
    assert cli.main(["run", str(cfg), "--out", str(out), "-q", "--force"]) == 0
    assert not (out / LOCK_FILE).exists() and (out / "run.h5").exists()


def test_a_stale_lock_file_does_not_block(tmp_path):
    cfg = tmp_path / "kg.toml"
    cfg.write_text(KG)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_FILE).write_text("999999\n")  # left by a killed run: nobody holds the flock
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0


def test_a_lock_taken_while_its_holder_releases_it_is_the_new_file(tmp_path, monkeypatch):
    """The holder removes the lock file before it unlocks, so a second run that opened the file just before the
    removal locks a removed file once the holder unlocks. It must notice (the path no longer names what it
    locked) and lock the path's file instead, so that a third run is refused: one run per directory."""
    import pytest

    from nnfield import outdir
    from nnfield.errors import ConfigError

    first = RunLock(tmp_path).acquire()
    real_flock = outdir.fcntl.flock
    calls = []

    def flock_after_the_holder_released(fd, op):
        calls.append(op)
        if len(calls) == 1:  # the second run's first try: it opened the old file; the holder releases it now
            first.release()
        return real_flock(fd, op)

    monkeypatch.setattr(outdir.fcntl, "flock", flock_after_the_holder_released)
    second = RunLock(tmp_path).acquire()
    monkeypatch.setattr(outdir.fcntl, "flock", real_flock)
    assert len(calls) >= 3  # the holder's unlock, the stale lock, the lock of the new file
    with pytest.raises(ConfigError, match=f"another nnfield run \\(PID {os.getpid()}\\)"):
        RunLock(tmp_path).acquire()
    second.release()
    RunLock(tmp_path).acquire().release()
