"""Divergences between the documentation and the code found by a docs audit (session 22), each with the
command a reader of the docs ran."""

from __future__ import annotations

import numpy as np

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
steps = 40
[initial]
kind = "gaussian_packet"
width = 2.0
momentum = [1.0]
[output]
every = 5
snapshot_every = 20
chunk = 20
precision = "float64"
"""


def test_extending_a_complete_run_does_not_claim_the_run_file_lost_chunks(tmp_path, capsys):
    """`nnfield run --resume DIR --steps N` (docs/cli.md) of an intact run printed "note: run.h5 holds the run up
    to step 40 only (it lost its last chunks ...); resuming from the checkpoint at step 40, not the newest (step
    40)": the checkpoint it resumes from was compared by identity with a second listing of the same one."""
    cfg_path = tmp_path / "kg.toml"
    cfg_path.write_text(CONFIG)
    out = tmp_path / "run"
    assert cli.main(["run", str(cfg_path), "--out", str(out), "-q"]) == 0
    said: list[str] = []
    runner.resume(out, 60, progress=False, log=said.append)
    assert not [s for s in said if "lost its last chunks" in s], said
    assert any("resuming from the checkpoint at step 40" in s for s in said), said
    run = nio.load_run(out)
    assert run.attrs["status"] == "completed" and int(run.attrs["steps_done"]) == 60
    assert np.all(np.isfinite(run.observables["energy"]))


def test_force_removes_the_animation_of_the_run_it_replaces(tmp_path):
    """docs/cli.md: with `--force` "only nnfield's own files" are removed; `field.gif` (`nnfield plot DIR
    --animate`) was left behind, an animation of the replaced run beside the new run's files. A file of the
    user's stays."""
    cfg_path = tmp_path / "kg.toml"
    cfg_path.write_text(CONFIG)
    out = tmp_path / "run"
    assert cli.main(["run", str(cfg_path), "--out", str(out), "-q"]) == 0
    (out / "field.gif").write_bytes(b"GIF89a")  # what `nnfield plot --animate` writes (2D and above)
    (out / "notes.txt").write_text("mine")
    assert cli.main(["run", str(cfg_path), "--out", str(out), "--force", "-q"]) == 0
    assert not (out / "field.gif").exists()
    assert (out / "notes.txt").read_text() == "mine"
