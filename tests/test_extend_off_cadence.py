"""``nnfield run --resume DIR --steps N`` of a run whose total was not a multiple of ``output.every``: the extended
run samples and snapshots at the same steps as a run of ``N`` steps from the start (config.md: "at step 0, every
``every`` steps, and at the last step"), with the same values to round-off; a sweep records its last step's sample
as a single run does. (Found by a user: an extended 103-step run sampled at 108, 113, ... and lost four
snapshots, with exit 0 and an OK verdict.)"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nnfield import cli
from nnfield.runner import next_chunk

EPS = float(np.finfo(np.float64).eps)

SINGLE = """\
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
"""

SWEEP = """\
[theory]
name = "dirac"
mass = 1.0
network = "stable"
[lattice]
shape = [32]
spacing = 0.5
[time]
dt = 0.05
steps = {steps}
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 1.5
[output]
every = 2
snapshot_every = 10
[sweep]
"theory.mass" = [0.5, 2.0]
"""


def _read(path):
    with h5py.File(path / "run.h5", "r") as h5:
        return {f"{g}/{k}": h5[g][k][()] for g in ("observables", "snapshots") for k in h5[g]}


def _extend(tmp_path, text, first, total):
    (tmp_path / "a.toml").write_text(text.format(steps=first))
    (tmp_path / "b.toml").write_text(text.format(steps=total))
    ext, fresh = tmp_path / "ext", tmp_path / "fresh"
    assert cli.main(["run", str(tmp_path / "a.toml"), "--out", str(ext), "-q"]) == 0
    assert cli.main(["run", "--resume", str(ext), "--steps", str(total), "-q"]) == 0
    assert cli.main(["run", str(tmp_path / "b.toml"), "--out", str(fresh), "-q"]) == 0
    return _read(ext), _read(fresh)


@pytest.mark.parametrize("first", [103, pytest.param(117, marks=pytest.mark.slow)])
def test_extending_an_off_cadence_run_samples_as_the_longer_run(tmp_path, first):
    a, b = _extend(tmp_path, SINGLE, first, 200)
    assert a["observables/step"].tolist() == list(range(0, 201, 5))
    assert a["snapshots/step"].tolist() == list(range(0, 201, 20))
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].shape == b[name].shape, name
        # the chunks end at other steps (the merged half kicks of a chunk round differently): O(eps) per chunk
        # boundary, carried linearly by the symplectic leapfrog over 200 steps of O(1) values
        scale = max(1.0, float(np.abs(b[name]).max()))
        assert np.abs(a[name] - b[name]).max() <= 200 * 10 * EPS * scale, name


def test_a_sweep_records_its_last_step_and_extends_on_the_cadence(tmp_path):
    a, b = _extend(tmp_path, SWEEP, 61, 80)
    assert a["observables/step"].tolist() == b["observables/step"].tolist() == list(range(0, 81, 2))
    assert a["snapshots/step"].tolist() == b["snapshots/step"].tolist() == list(range(0, 81, 10))
    for name in a:
        assert np.abs(a[name] - b[name]).max() <= 80 * 10 * EPS * max(1.0, float(np.abs(b[name]).max())), name
    (tmp_path / "c.toml").write_text(SWEEP.format(steps=61))
    assert cli.main(["run", str(tmp_path / "c.toml"), "--out", str(tmp_path / "c"), "-q"]) == 0
    c = _read(tmp_path / "c")
    assert c["observables/step"][-3:].tolist() == [58, 60, 61]  # the last step, off the cadence
    assert c["snapshots/step"][-2:].tolist() == [60, 61]


def test_next_chunk_returns_onto_the_cadence():
    assert next_chunk(0, 500, 100, 5, 20) == (100, 5)  # a fresh run: as planned
    assert next_chunk(480, 500, 100, 5, 20) == (20, 5)
    assert next_chunk(103, 200, 100, 5, 20) == (2, 2)  # to step 105, one sample at its end
    assert next_chunk(105, 200, 100, 5, 20) == (15, 5)  # to the snapshot at 120
    assert next_chunk(120, 200, 100, 5, 20) == (80, 5)
    assert next_chunk(103, 104, 100, 5, 20) == (1, 5)  # no sample inside; the last step's is added after
    assert next_chunk(40, 200, 10, 5, 20) == (10, 5)  # chunks dividing the snapshot interval: unchanged
