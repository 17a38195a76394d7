"""A writer killed while HDF5 rewrites a chunk in place leaves it torn (session 48).

The run file's appends rewrite the last, partly filled chunk of each dataset, which holds committed rows. The
kernel stops a write at a page boundary when the process gets SIGKILL, so a kill during that rewrite leaves the
chunk half old, half new: its committed rows are the same bytes in both versions, but its Fletcher-32 checksum
fails, and the whole run read as damaged (``--resume`` refused it). This happened once in the slow suite
(``tests/test_faults.py::test_a_sweep_killed_at_random_moments_is_resumed_bit_for_bit``, session 47); a loop of
plain h5py appends to a checksummed 1 MiB chunk, killed at random, tore it in 5 of 150 kills.

Now each commit also records the CRC-32 of every dataset's committed rows in its last chunk (``/commit_tails``),
and readers take those rows from the raw chunk when they match. Here a tear is made exactly (the file's bytes at
the commit, with the first pages of the rewritten chunk from the file after the next appends, as the kernel
leaves them) and read back; ``scripts/kill_writers.py --modes run-writer`` kills a real ``RunWriter``.
"""

from __future__ import annotations

import shutil
import zlib

import h5py
import numpy as np
import pytest

from nnfield import io as nio

PAGE = 4096


def _values(lo: int, hi: int) -> dict[str, np.ndarray]:
    i = np.arange(lo, hi, dtype=np.float64)
    return {"energy": 1.0 + 1e-3 * i, "big": i[:, None] + np.arange(256.0)[None]}


def _append(w: nio.RunWriter, lo: int, hi: int) -> None:
    w.append_observables(np.arange(lo, hi), 0.5 * np.arange(lo, hi), _values(lo, hi))


def _writer(path) -> nio.RunWriter:
    w = nio.RunWriter(path, {"phi": (1, 8)}, np.float64, {"title": "torn"})
    _append(w, 0, 1)
    w.append_snapshot(0, 0.0, {"phi": np.zeros((1, 8))})
    w.start_swmr()
    w.commit(0)
    return w


def _chunk(path, name: str) -> tuple[int, int]:
    with h5py.File(path, "r", swmr=True) as f:
        info = f[name].id.get_chunk_info(0)
        return int(info.byte_offset), int(info.size)


def _torn_file(tmp_path, committed: int = 301) -> tuple:
    """A run file committed at ``committed`` samples whose next appends (not committed) were torn while HDF5
    rewrote the first chunk of ``/observables/step`` and ``/observables/big``: the pages of that chunk before
    one boundary from after the appends, the rest from before."""
    path = tmp_path / "run.h5"
    w = _writer(path)
    _append(w, 1, committed)
    w.commit(committed - 1)
    shutil.copy(path, tmp_path / "at-commit.h5")
    _append(w, committed, committed + 400)
    w.flush()  # the first chunks rewritten in place with the new rows, not yet committed
    shutil.copy(path, tmp_path / "after.h5")
    w.close()
    old, new = (tmp_path / "at-commit.h5").read_bytes(), (tmp_path / "after.h5").read_bytes()
    torn = bytearray(old)
    chunks = {}
    for name in ("observables/step", "observables/big"):
        off, size = _chunk(tmp_path / "at-commit.h5", name)
        assert (off, size) == _chunk(tmp_path / "after.h5", name)  # rewritten in place: why a kill can tear it
        row = size // ({"observables/step": 1024, "observables/big": 512}[name])
        cut = ((off + committed * row) // PAGE + 1) * PAGE  # a page boundary past the committed rows
        assert off < cut < off + size - 4
        torn[off:cut] = new[off:cut]
        assert old[off:off + size] != bytes(torn[off:off + size]) != new[off:off + size]
        chunks[name] = (off, size, row)
    out = tmp_path / "torn.h5"
    out.write_bytes(bytes(torn))
    return out, chunks


def test_a_chunk_torn_by_a_kill_fails_its_checksum_but_its_committed_rows_read_back(tmp_path):
    path, _ = _torn_file(tmp_path)
    with h5py.File(path, "r", swmr=True) as f, pytest.raises(OSError, match="filter returned failure"):
        f["observables/step"][:301]  # what a reader saw before: the whole run read as damaged
    with pytest.warns(nio.IncompleteRunWarning):
        data = nio.load_run(path)
    assert data.status == nio.STATUS_KILLED and data.steps_done == 300
    np.testing.assert_array_equal(data.obs_step, np.arange(301))
    np.testing.assert_array_equal(data.obs_time, 0.5 * np.arange(301))
    for name, want in _values(0, 301).items():
        np.testing.assert_array_equal(data.observables[name], want)
    # a resume cuts the file back to a checkpoint's counts: to the commit, and to fewer samples
    for n_obs in (301, 150):
        dst = tmp_path / f"rebuilt-{n_obs}.h5"
        nio.rebuild_run_file(path, dst, n_obs, 1, {})
        with h5py.File(dst, "r") as f:
            np.testing.assert_array_equal(f["observables/step"][()], np.arange(n_obs))
            np.testing.assert_array_equal(f["observables/big"][()], _values(0, n_obs)["big"])


def test_a_changed_byte_in_a_torn_chunk_still_reads_as_damaged(tmp_path):
    """The raw rows are taken only when their CRC-32 is the commit's: a flipped bit among them (a bad disk, not a
    kill) is reported, never read as data."""
    path, chunks = _torn_file(tmp_path)
    off, _, row = chunks["observables/big"]
    raw = bytearray(path.read_bytes())
    raw[off + 100 * row + 3] ^= 0x10  # in sample 100 (committed), inside the torn chunk
    path.write_bytes(bytes(raw))
    with pytest.raises(nio.DamagedRunFileError, match="/observables/big is damaged"):
        nio.load_run(path, warn=False)
    with pytest.raises(nio.DamagedRunFileError):
        nio.rebuild_run_file(path, tmp_path / "rebuilt.h5", 301, 1, {})


def _recomputed(f: h5py.File, name: str) -> tuple[int, int]:
    ds = f[name]
    n, per = ds.shape[0], ds.chunks[0]
    rows = ds[(n // per) * per : n]
    return n, zlib.crc32(np.ascontiguousarray(rows, ds.dtype.newbyteorder("<")).tobytes())


@pytest.mark.parametrize("seed", [0, 1])
def test_the_commit_tails_are_the_crc_of_the_last_chunks_across_chunk_boundaries_and_a_resume(tmp_path, seed):
    """The writer keeps each CRC-32 by appends (no read back): after appends of random sizes that cross chunk
    boundaries, and after a resume (the file rebuilt and reopened), the record equals the CRC of the file's
    own last chunks."""
    rng = np.random.default_rng(seed)
    path = tmp_path / "run.h5"
    w = _writer(path)
    n, snaps = 1, 1
    for _ in range(12):
        m = int(rng.integers(1, 700))
        _append(w, n, n + m)
        n += m
        if rng.random() < 0.5:
            w.append_snapshot(n, 0.5 * n, {"phi": np.full((1, 8), float(n))})
            snaps += 1
        w.commit(n)
        with h5py.File(path, "r", swmr=True) as f:
            tails = nio.read_tails(f)
            assert set(tails) == {"/observables/step", "/observables/time", "/observables/energy",
                                  "/observables/big", "/snapshots/step", "/snapshots/time"}  # (1-row chunks: none)
            for name, rec in tails.items():
                assert rec == _recomputed(f, name), name
    w.close()
    nio.rebuild_run_file(path, tmp_path / "cut.h5", n - 5, snaps, {})
    w = nio.RunWriter.reopen(tmp_path / "cut.h5")
    w.start_swmr()
    w.commit(n - 5)
    _append(w, n - 5, n + 1100)
    w.commit(n + 1100)
    with h5py.File(tmp_path / "cut.h5", "r", swmr=True) as f:
        for name, rec in nio.read_tails(f).items():
            assert rec == _recomputed(f, name), name
    w.close()


def test_a_final_record_that_fails_its_checksum_reads_as_a_killed_run(tmp_path):
    """``/final`` is written once, just before the close: a writer killed while writing it can tear it too. It
    then reads as absent (the run as killed, resumable), as a half-written JSON text did."""
    path = tmp_path / "run.h5"
    w = _writer(path)
    w.set_attrs(status=nio.STATUS_COMPLETED, steps_done=0)
    w.close()
    with h5py.File(path, "r") as f:
        assert nio.read_final(f)["status"] == nio.STATUS_COMPLETED
        off = int(f[nio.FINAL].id.get_chunk_info(0).byte_offset)
    raw = bytearray(path.read_bytes())
    raw[off + 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with h5py.File(path, "r") as f:
        assert nio.read_final(f) == {}
    assert nio.load_run(path, warn=False).status == nio.STATUS_KILLED


def test_a_snapshot_is_its_own_chunks_in_blocks_of_rows_above_4_mib(tmp_path):
    """Every chunk of a snapshot dataset holds one snapshot, so none holding committed ones is ever rewritten:
    the whole field up to 4 MiB, above it blocks of rows of the first lattice axis (a power of two of them; the
    blocks a multi-process run's writer receives). Above 1 GiB a snapshot had HDF5's guess (``chunks=True``),
    which spans 16 snapshots (nothing is allocated here: the datasets are empty)."""
    assert nio.snapshot_chunks((2, 64, 64), 8) == (1, 2, 64, 64)
    assert nio.snapshot_chunks((1, 64, 64, 64), 8) == (1, 1, 64, 64, 64)  # 2 MiB: whole
    assert nio.snapshot_chunks((4, 512, 512, 512), 8) == (1, 4, 1, 256, 512)  # a row of 8 MiB: halved
    assert nio.snapshot_chunks((1, 256, 256, 256), 8) == (1, 1, 8, 256, 256)  # rows of 0.5 MiB: 8 a chunk
    assert nio.snapshot_chunks((2, 160, 160, 160), 8) == (1, 2, 8, 160, 160)  # rows of 0.4 MiB: 8 (a power of 2)
    assert nio.snapshot_chunks((3, 5, 7), 8, limit=100) == (1, 3, 1, 4)  # a row of 168 bytes: halved to 96
    w = nio.RunWriter(tmp_path / "run.h5", {"phi": (4, 512, 512, 512), "pi": (4, 512, 512, 512)}, np.float64,
                      {"title": "big"})
    w.append_observables([0], [0.0], {"energy": np.ones(1)})
    w.start_swmr()
    with h5py.File(tmp_path / "run.h5", "r", swmr=True) as f:
        assert f["snapshots/phi"].chunks == (1, 4, 1, 256, 512)
        assert set(nio.read_tails(f)) == {"/observables/step", "/observables/time", "/observables/energy",
                                          "/snapshots/step", "/snapshots/time"}
    w.close()


@pytest.mark.parametrize("limit", [3000, 600])
def test_a_resume_copies_big_snapshots_in_bounded_blocks(tmp_path, monkeypatch, limit):
    """``rebuild_run_file`` (``--resume``) read 64 rows of every dataset at a time: 64 snapshots, 64 GiB for a
    run of 1 GiB snapshots. It reads at most ``COPY_BYTES`` at once now, or one chunk (here 3000 bytes: one
    snapshot of 2 KiB at a time; 600: a snapshot in its chunks of 4 rows of its lattice's first axis, 512 bytes),
    and the copy is the same."""
    path = tmp_path / "run.h5"
    monkeypatch.setattr(nio, "SNAPSHOT_CHUNK_BYTES", 512)  # chunks of 4 rows of the first lattice axis
    w = nio.RunWriter(path, {"phi": (2, 16, 8)}, np.float64, {"title": "copy"})
    rng = np.random.default_rng(3)
    snaps = rng.normal(size=(5, 2, 16, 8))
    _append(w, 0, 1)
    w.append_snapshot(0, 0.0, {"phi": snaps[0]})
    w.start_swmr()
    w.commit(0)
    for i in range(1, 5):
        _append(w, i, i + 1)
        w.append_snapshot(i, 0.5 * i, {"phi": snaps[i]})
        w.commit(i)
    w.close()
    reads = []
    real = nio._read

    def spy(ds, sel=(), tails=None):
        got = real(ds, sel, tails)
        reads.append((ds.name, got.nbytes))
        return got

    monkeypatch.setattr(nio, "_read", spy)
    monkeypatch.setattr(nio, "COPY_BYTES", limit)
    nio.rebuild_run_file(path, tmp_path / "cut.h5", 4, 4, {})
    assert max(b for name, b in reads if name == "/snapshots/phi") <= limit
    assert len([1 for name, _ in reads if name == "/snapshots/phi"]) == (4 if limit == 3000 else 16)
    with h5py.File(tmp_path / "cut.h5", "r") as f:
        assert f["snapshots/phi"].chunks == (1, 2, 4, 8)
        np.testing.assert_array_equal(f["snapshots/phi"][()], snaps[:4])
        np.testing.assert_array_equal(f["observables/big"][()], _values(0, 4)["big"])


def test_a_live_run_that_fails_a_checksum_for_a_moment_is_read_again(tmp_path, monkeypatch):
    """A reader of a run being written can meet a chunk its writer is rewriting: ``load_run`` reads the file again
    while the directory's lock is held (a live writer), and raises at once for a file nobody writes."""
    from nnfield.outdir import RunLock

    w = _writer(tmp_path / "run.h5")
    _append(w, 1, 50)
    w.commit(49)
    real, calls = nio._load_file, []

    def flaky(f, snapshots):
        calls.append(f)
        if len(calls) <= 2:
            raise nio.DamagedRunFileError(f"{f}: the dataset /observables/big is damaged (for a moment)")
        return real(f, snapshots)

    monkeypatch.setattr(nio, "_load_file", flaky)
    monkeypatch.setattr(nio, "LIVE_PAUSE", 0.01)
    with pytest.raises(nio.DamagedRunFileError, match="for a moment"):
        nio.load_run(tmp_path, warn=False)  # no lock: nobody writes it
    assert len(calls) == 1
    calls.clear()
    lock = RunLock(tmp_path).acquire()
    try:
        data = nio.load_run(tmp_path, warn=False)
    finally:
        lock.release()
    assert len(calls) == 3 and data.status == nio.STATUS_RUNNING
    np.testing.assert_array_equal(data.obs_step, np.arange(50))
    w.close()
