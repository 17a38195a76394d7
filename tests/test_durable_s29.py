"""Durable runs, session 29: a checksum over the run file's root attributes (string attributes live in HDF5's
global heap, which has none: a flipped bit in ``title`` or the config text read back silently), damaged checkpoint
directories pruned once a newer whole checkpoint exists, a resume that no longer reads ``[initial] kind = "file"``
data it discards, and the run file's replacement on resume."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from nnfield import checkpoint as ck
from nnfield import io as nio
from test_durable_hunt_s28 import _run_file as written_run_file  # (the s28 writer, with these attributes)

TITLE = "a Klein-Gordon packet"


def _run_file(path: Path, title: str = TITLE) -> Path:
    """A small completed run file (two samples, one snapshot) with string and number root attributes, written as a
    run writes it (created, step 0 appended, SWMR, commit, close)."""
    attrs = {"theory": "klein-gordon", "title": title, "config": f'title = "{title}"\n[time]\ndt = 0.05\n',
             "dt": 0.05, "tick": 0.05, "steps": 1, "shape": [8]}
    return written_run_file(path, attrs)


def _flip_in(data: bytes, needle: bytes, offset: int) -> list[bytes]:
    """Copies of ``data`` with one bit flipped at ``offset`` into each occurrence of ``needle``."""
    out = []
    for m in re.finditer(re.escape(needle), data):
        d = bytearray(data)
        d[m.start() + offset] ^= 0x20  # ('K' <-> 'k': still valid UTF-8, the worst case: a plausible value)
        out.append(bytes(d))
    return out


# ----------------------------------------------------------------------------------------------------------
# root attributes
# ----------------------------------------------------------------------------------------------------------
def test_a_flipped_bit_in_a_string_root_attribute_is_refused_not_read(tmp_path):
    """The title and the config text are variable-length strings in HDF5's global heap (no checksum): one flipped
    bit read back as ``a klein-Gordon packet`` (and a config with ``a klein``), silently, through ``nnfield.load``
    and ``--resume``'s header and copy. The root attributes now carry their SHA-256 (``attrs_sha256``): every
    such copy is refused in one line by the reader, the header and the resume's copy."""
    good = _run_file(tmp_path / "good.h5")
    assert nio.load_run(good, warn=False).attrs["title"] == TITLE
    copies = _flip_in(good.read_bytes(), b"a Klein-Gordon", 2)
    assert len(copies) == 2, "the title and the config text: both in the file once"
    for i, data in enumerate(copies):
        bad = tmp_path / f"bad{i}.h5"
        bad.write_bytes(data)
        with h5py.File(bad, "r") as h5:  # HDF5 itself reads the damaged string without complaint
            assert "a klein-Gordon" in (str(h5.attrs["title"]) + str(h5.attrs["config"]))
        for read in (lambda p: nio.load_run(p, warn=False), nio.read_header,
                     lambda p: nio.rebuild_run_file(p, tmp_path / "copy.h5", 2, 1, {})):
            with pytest.raises(nio.DamagedRunFileError, match="root attributes .* do not match their checksum") as e:
                read(bad)
            assert len(str(e.value).splitlines()) == 1 and str(bad) in str(e.value)
        assert not (tmp_path / "copy.h5").exists()  # refused before the copy was created
    assert nio.ATTRS_CHECKSUM not in nio.load_run(good, warn=False).attrs  # (in /commit: not a root attribute)


def test_root_attributes_changed_without_their_checksum_are_refused_and_old_files_still_read(tmp_path):
    """A number changed behind nnfield's back (``dt``) is refused too; a file written before the checksum (none),
    or resumed by an nnfield of before (which copies the root attributes it does not know and changes ``steps``
    and ``resumed``: the checksum lives in ``/commit``, which it makes anew), reads as it did."""
    path = _run_file(tmp_path / "run.h5")
    with h5py.File(path, "a") as h5:
        h5.attrs["dt"] = 0.1
    with pytest.raises(nio.DamagedRunFileError, match="do not match their checksum"):
        nio.read_header(path)
    with h5py.File(path, "a") as h5:  # as a file of nnfield 0.2.0 (no checksum), or one it resumed: /commit
        del h5[nio.COMMIT].attrs[nio.ATTRS_CHECKSUM]  # made anew (without the checksum), root attributes changed
    attrs, counts = nio.read_header(path)
    assert attrs["dt"] == 0.1 and counts == (None, 2, 1)


def test_a_resumed_run_file_carries_the_checksum_of_its_changed_attributes(tmp_path):
    """``--resume`` copies the file with new root attributes (``steps``, ``resumed``) and reopens it (schema
    version): the checksum is made again from what the copy holds, before SWMR; appending then leaves it valid."""
    src = _run_file(tmp_path / "run.h5")
    dst = tmp_path / "run.h5.resume-tmp"
    nio.rebuild_run_file(src, dst, 2, 1, {"steps": 5, "resumed": json.dumps([{"from_step": 1}])})
    w = nio.RunWriter.reopen(dst)
    w.start_swmr()
    w.commit(1)
    w.append_observables(np.array([2]), np.array([0.1]), {"energy": np.array([1.0])})
    w.commit(2)
    attrs, counts = nio.read_header(dst)  # read while SWMR writing: verified
    assert attrs["steps"] == 5 and attrs["title"] == TITLE and counts == (2, 3, 1)
    w.set_attrs(status=nio.STATUS_COMPLETED, steps_done=2)
    w.close()
    run = nio.load_run(dst, warn=False)
    assert run.attrs["steps"] == 5 and json.loads(run.attrs["resumed"]) == [{"from_step": 1}]
    with h5py.File(dst, "r") as h5:
        assert h5[nio.COMMIT].attrs[nio.ATTRS_CHECKSUM] == nio.attrs_digest(dict(h5.attrs.items()))


# ----------------------------------------------------------------------------------------------------------
# damaged checkpoints
# ----------------------------------------------------------------------------------------------------------
def _state() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(29)
    return {"phi": rng.standard_normal((1, 8)), "pi": rng.standard_normal((1, 8))}


def _damage(c: ck.Checkpoint) -> None:
    path = c.path / ck.MANIFEST
    path.write_text(path.read_text().replace(f'"step": {c.step}', f'"step": {c.step + 1}'))


def test_damaged_checkpoints_are_removed_once_a_newer_whole_one_exists(tmp_path):
    """A checkpoint whose manifest is damaged is never used, and it stayed on disk for ever (not counted in
    ``checkpoint_keep``, so never pruned). It is now removed when a newer whole checkpoint is saved; one newer
    than every whole checkpoint (what a resume went back past) stays until then, and the whole ones are kept as
    ``keep`` says."""
    state = _state()
    saved = {s: ck.save_checkpoint(tmp_path, state, s, {"config_hash": "h"}, keep=3) for s in (10, 20, 30)}
    _damage(saved[20])
    _damage(saved[30])
    assert ck.damaged_checkpoints(tmp_path) == [saved[20].path, saved[30].path]
    assert ck.latest_checkpoint(tmp_path).step == 10  # a resume goes on from here
    ck.save_checkpoint(tmp_path, state, 25, {"config_hash": "h"}, keep=3)  # (a resumed run's next one)
    assert ck.damaged_checkpoints(tmp_path) == [saved[30].path]  # 20 < 25: removed; 30 is newer: kept
    assert [c.step for c in ck.list_checkpoints(tmp_path)] == [10, 25]
    ck.save_checkpoint(tmp_path, state, 40, {"config_hash": "h"}, keep=3)
    assert ck.damaged_checkpoints(tmp_path) == []
    assert [c.step for c in ck.list_checkpoints(tmp_path)] == [10, 25, 40]
    names = sorted(p.name for p in (tmp_path / ck.CHECKPOINT_DIR).iterdir())
    assert names == [f"step-{s:012d}" for s in (10, 25, 40)]


# ----------------------------------------------------------------------------------------------------------
# the state a resume restores onto
# ----------------------------------------------------------------------------------------------------------
MAXWELL = """\
[theory]
name = "maxwell"
charge = 0.9
[lattice]
shape = [4, 4]
spacing = 1.0
[time]
dt = 0.05
steps = {steps}
[initial]
{initial}
[output]
every = 2
snapshot_every = 10
chunk = 10
checkpoint_every = 10
precision = "{precision}"
"""


def test_the_resume_template_needs_no_initial_data(tmp_path):
    """``--resume`` built the initial state only to take its structure (the checkpoint holds the state): it read
    an ``[initial] kind = "file"`` data file (projected it onto Gauss's law) and refused to go on when the file had
    been moved away (``initial.path: initial-data file 'data.npz' does not exist``). The template now comes from
    the model alone, with the structure, shapes and dtypes of the built state (float32: the cast included; the
    float64 resume end to end: the slow test below)."""
    precision = "float32"
    from nnfield.config import parse_config
    from nnfield.errors import ConfigError
    from nnfield.runner import build, build_template

    missing = parse_config(MAXWELL.format(steps=20, initial=f'kind = "file"\npath = "{tmp_path}/gone.npz"',
                                          precision=precision))
    with pytest.raises(ConfigError, match="does not exist"):
        build(missing)
    _, template = build_template(missing)
    _, built = build(parse_config(MAXWELL.format(steps=20, initial='kind = "plane_wave"', precision=precision)))
    got, tree = jax_flatten(template)
    want, tree_want = jax_flatten(built)
    assert tree == tree_want
    assert [(k, x.shape, x.dtype) for k, x in got] == [(k, x.shape, x.dtype) for k, x in want]
    assert all(np.dtype(x.dtype) == np.dtype(precision) for _, x in got)


def jax_flatten(state):
    import jax

    leaves, tree = jax.tree_util.tree_flatten_with_path(state)
    return [(jax.tree_util.keystr(k), x) for k, x in leaves], tree


@pytest.mark.slow
def test_a_run_from_a_data_file_resumes_after_the_file_is_moved(tmp_path, capsys, monkeypatch):
    from nnfield import cli
    from nnfield.theories import u1

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pw.toml").write_text(MAXWELL.format(steps=20, initial='kind = "plane_wave"', precision="float64"))
    assert cli.main(["run", "pw.toml", "--out", "pw", "-q"]) == 0
    u1.save_initial_from_run(tmp_path / "data", "pw")
    for steps in (20, 40):
        (tmp_path / f"f{steps}.toml").write_text(
            MAXWELL.format(steps=steps, initial='kind = "file"\npath = "data.npz"', precision="float64"))
        assert cli.main(["run", f"f{steps}.toml", "--out", f"run{steps}", "-q"]) == 0
    shutil.move(tmp_path / "data.npz", tmp_path / "moved.npz")
    capsys.readouterr()
    assert cli.main(["run", "--resume", "run20", "--steps", "40", "-q"]) == 0, capsys.readouterr().err
    a, b = nio.load_run(tmp_path / "run20", warn=False), nio.load_run(tmp_path / "run40", warn=False)
    for name in b.fields:
        assert np.array_equal(a.fields[name], b.fields[name]), name
    for name in b.observables:  # (the same chunk programs: equal bits)
        assert np.array_equal(a.observables[name], b.observables[name]), name
