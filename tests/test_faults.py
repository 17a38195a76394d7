"""Fault injection: a run killed (SIGKILL), interrupted (SIGINT, SIGTERM), out of disk or over its file-size
limit, or raced for its directory, loses at most the chunk in progress, and `nnfield run --resume` finishes it
with every dataset bit-identical to an uninterrupted run.

Quick variants run by default; the full sets (20 random SIGKILL moments, signals at random moments) are
``slow``. Moments are drawn from a seeded generator over the whole life of the process (start-up, import, the
first compile, the stability analysis, mid-chunk, while writing, the final checkpoint).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import without_fast_compile
from nnfield import io as nio

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [{n}, {n}]
spacing = 0.5
[time]
dt = 0.1
steps = {steps}
scheme = "leapfrog"
[initial]
kind = "random_spectrum"
seed = 7
[output]
every = 10
snapshot_every = {snap}
chunk = 200
checkpoint_every = 1000
"""


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnfield", *args]


def _env() -> dict[str, str]:
    """The runs of these tests compile as a user's do (XLA's defaults), so every run compared here is a child
    process (``_run``), never ``cli.main`` in the test process."""
    return without_fast_compile(dict(os.environ, PYTHONPATH=str(ROOT / "src")))


def _run(*args: str, limit_fsize: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = _cmd(*args)
    if limit_fsize is not None:  # through the shell: no fork of this (JAX-threaded) process with a preexec_fn
        cmd = ["bash", "-c", f'ulimit -f {limit_fsize // 1024} && exec "$@"', "bash", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout, check=False)


def _datasets(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        attrs = nio.read_attrs(h5)
        out["attrs"] = np.asarray([str(attrs[k]) for k in ("status", "steps_done", "steps", "config_hash")])
    out.pop("commit", None)
    out.pop("final", None)  # wall-clock timings
    return out


def assert_identical(ref: Path, got: Path) -> None:
    a, b = _datasets(ref / "run.h5"), _datasets(got / "run.h5")
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].shape == b[name].shape, name
        nan_ok = a[name].dtype.kind in "fc"
        assert np.array_equal(a[name], b[name], equal_nan=nan_ok), f"{name} differs"


def _finish(out: Path, cfg: Path) -> subprocess.CompletedProcess[str]:
    """Bring a run that died at any moment to its end: resume it, or start it anew when it died before its
    first checkpoint (the refusal says so)."""
    res = _run("run", "--resume", str(out), "-q")
    if res.returncode == 2 and ("no checkpoint" in res.stderr or "no run here" in res.stderr):
        res = _run("run", str(cfg), "--out", str(out), "--force", "-q")
    if res.returncode == 2 and "the run is complete" in res.stderr:  # killed after it had finished its file
        res = subprocess.CompletedProcess(res.args, 0, res.stdout, res.stderr)
    return res


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run, and how long the whole process takes."""
    base = tmp_path_factory.mktemp("faults")
    cfg = base / "run.toml"
    cfg.write_text(CONFIG.format(n=64, steps=10000, snap=1000))
    out = base / "ref"
    t0 = time.monotonic()
    res = _run("run", str(cfg), "--out", str(out), "-q")
    assert res.returncode == 0, res.stderr
    return cfg, out, time.monotonic() - t0


def _kill_and_resume(reference, tmp_path: Path, moment: float) -> None:
    cfg, ref, _ = reference
    out = tmp_path / f"k{moment:.3f}"
    proc = subprocess.Popen(_cmd("run", str(cfg), "--out", str(out), "-q"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env())
    time.sleep(moment)
    proc.kill()
    proc.wait()
    if proc.returncode != 0:  # killed before the end (else it finished first)
        res = _finish(out, cfg)
        assert res.returncode == 0, res.stderr
    assert_identical(ref, out)


def _moments(n: int, seed: int, total: float) -> list[float]:
    rng = np.random.default_rng(seed)
    return sorted(float(x) for x in rng.uniform(0.3, 1.05 * total, n))


def test_sigkill_then_resume_is_bit_identical(reference, tmp_path):
    for moment in _moments(1, 1, reference[2]):
        _kill_and_resume(reference, tmp_path, moment)


@pytest.mark.slow
def test_sigkill_at_20_random_moments_then_resume_is_bit_identical(reference, tmp_path):
    for moment in _moments(20, 2026, reference[2]):
        _kill_and_resume(reference, tmp_path, moment)


def test_a_killed_run_reads_as_killed_up_to_its_last_chunk(reference, tmp_path):
    cfg, ref, total = reference
    out = tmp_path / "k"
    proc = subprocess.Popen(_cmd("run", str(cfg), "--out", str(out), "-q"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env())
    run_file = out / "run.h5"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "checkpoints").exists() and proc.poll() is None:
        time.sleep(0.005)
    # killed as soon as the first checkpoint (step 1000 of 10000) is being written: its chunks are committed to the
    # run file by then. (Until session 41 the test slept another 0.3 s first; in a fast half hour the remaining
    # 9000 steps took less than that, the run finished, and nothing read as killed.)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.kill()
    proc.wait()
    from nnfield import io as nio

    with pytest.warns(nio.IncompleteRunWarning, match="killed"):
        run = nio.load_run(out)
    assert run.status == "killed"
    done = run.steps_done
    assert done % 200 == 0 and len(run.obs_step) == done // 10 + 1  # whole chunks, nothing half written
    ref_run = nio.load_run(ref)
    for name, v in run.observables.items():
        assert np.array_equal(v, ref_run.observables[name][: len(v)])
    assert np.array_equal(run.phi, ref_run.phi[: len(run.phi)])
    res = _run("plot", str(out), "--out", str(tmp_path / "plots"))
    assert res.returncode == 0 and "warning" in res.stderr and "killed" in res.stderr, res.stderr
    assert run_file.exists()


def test_sigint_at_a_random_moment_interrupts_cleanly_then_resume(reference, tmp_path):
    """(SIGTERM mid-run in the quick suite: tests/test_signals.py; both at random moments: the slow variant.)"""
    _signal_then_resume(reference, tmp_path, signal.SIGINT, 130, _moments(1, 2, reference[2]))


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_at_random_moments_including_start_up(reference, tmp_path, sig, code):
    _signal_then_resume(reference, tmp_path, sig, code, _moments(8, 100 + int(sig), reference[2]))


def _signal_then_resume(reference, tmp_path: Path, sig: int, code: int, moments: list[float]) -> None:
    cfg, ref, _ = reference
    for moment in moments:
        out = tmp_path / f"s{moment:.3f}"
        proc = subprocess.Popen(_cmd("run", str(cfg), "--out", str(out), "-q"), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())
        time.sleep(moment)
        proc.send_signal(sig)
        t0 = time.monotonic()
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        answered = time.monotonic() - t0
        if proc.returncode == 0:  # it had finished
            assert_identical(ref, out)
            continue
        assert proc.returncode == code, err
        assert answered < 2.0, f"took {answered:.2f} s to stop"
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err and lines[0].startswith("nnfield: error:"), err
        if (out / "run.h5").exists():
            with h5py.File(out / "run.h5", "r") as h5:  # closed properly: opens in plain (non-SWMR) mode
                status = nio.read_attrs(h5)["status"]
            if status == "completed":  # the signal came after the run had finished its file (its summary, the
                # plots): the exit code says it was stopped, the file is whole (seen in session 33, moment 1.05 T)
                assert_identical(ref, out)
                continue
            assert status == "interrupted"
        res = _finish(out, cfg)
        assert res.returncode == 0, res.stderr
        assert_identical(ref, out)


# ----------------------------------------------------------------------------------------------------------
# full disk, file-size limit
# ----------------------------------------------------------------------------------------------------------
def _big(tmp_path: Path) -> tuple[Path, Path]:
    """A run whose snapshots (256 KiB each) outgrow a small limit after a few chunks, and its reference."""
    cfg = tmp_path / "big.toml"
    cfg.write_text(CONFIG.format(n=128, steps=4000, snap=200))
    ref = tmp_path / "bigref"
    res = _run("run", str(cfg), "--out", str(ref), "-q")
    assert res.returncode == 0, res.stderr
    return cfg, ref


def _check_failed_then_resume(cfg: Path, ref: Path, out: Path, res: subprocess.CompletedProcess[str],
                              errno_text: str) -> None:
    from nnfield import io as nio

    lines = res.stderr.strip().splitlines()
    assert res.returncode == 1 and len(lines) == 1 and errno_text in lines[0] and "Traceback" not in res.stderr, \
        res.stderr
    assert str(out / "run.h5") in lines[0]
    with pytest.warns(nio.IncompleteRunWarning, match="failed"):
        run = nio.load_run(out)
    assert run.status == "failed" and run.steps_done > 0
    ref_run = nio.load_run(ref)
    for name, v in run.observables.items():
        assert np.array_equal(v, ref_run.observables[name][: len(v)])
    resumed = _run("run", "--resume", str(out), "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(ref, out)


def test_file_size_limit_stops_cleanly_and_keeps_the_data(tmp_path):
    cfg, ref = _big(tmp_path)
    out = tmp_path / "limited"
    res = _run("run", str(cfg), "--out", str(out), "-q", limit_fsize=6 << 20)
    _check_failed_then_resume(cfg, ref, out, res, "File too large (errno 27)")


@pytest.mark.slow
def test_full_disk_stops_cleanly_and_keeps_the_data(tmp_path):
    """An 8 MiB tmpfs (needs mount rights; skipped without them)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True,
                             check=False)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        cfg, ref = _big(tmp_path)
        out = mnt / "run"
        res = _run("run", str(cfg), "--out", str(out), "-q")
        assert "No space left on device (errno 28)" in res.stderr, res.stderr
        # make room (as a user would), then resume in place
        for ck in sorted((out / "checkpoints").iterdir())[:-1]:
            shutil.rmtree(ck)
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        _check_failed_then_resume(cfg, ref, out, res, "No space left on device (errno 28)")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


# ----------------------------------------------------------------------------------------------------------
# racing, refusals, extension
# ----------------------------------------------------------------------------------------------------------
def test_two_runs_racing_for_one_directory(reference, tmp_path):
    cfg, ref, _ = reference
    out = tmp_path / "race"
    procs = [subprocess.Popen(_cmd("run", str(cfg), "--out", str(out), "-q", "--force"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env()) for _ in range(2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[2] == 2)
    assert "another nnfield run (PID" in loser[1] and len(loser[1].strip().splitlines()) == 1
    assert_identical(ref, out)


def _main(capsys, *args: str) -> tuple[int, str]:
    from nnfield import cli

    capsys.readouterr()
    code = cli.main(list(args))
    return code, capsys.readouterr().err


def test_resume_refusals_are_one_line(reference, tmp_path, capsys):
    cfg, ref, _ = reference
    out = tmp_path / "done"
    shutil.copytree(ref, out)
    refusals = []
    refusals.append(_main(capsys, "run", "--resume", str(out)))
    assert "the run is complete" in refusals[-1][1] and "--steps" in refusals[-1][1]
    refusals.append(_main(capsys, "run", "--resume", str(out), "--steps", "100"))
    assert "above the 10000 steps already done" in refusals[-1][1]
    refusals.append(_main(capsys, "run", "--resume", str(tmp_path / "nothing")))
    assert "no run here" in refusals[-1][1]
    refusals.append(_main(capsys, "run", str(cfg), "--resume", str(out)))
    assert "give no config file" in refusals[-1][1]
    # another config: the trajectory-defining hash differs
    text = (out / "config.toml").read_text().replace("dt = 0.1", "dt = 0.05")
    (out / "config.toml").write_text(text)
    refusals.append(_main(capsys, "run", "--resume", str(out), "--steps", "30000"))
    assert "different config" in refusals[-1][1]
    # a newer checkpoint schema
    (out / "config.toml").write_text((ref / "config.toml").read_text())
    import json

    newest = sorted((out / "checkpoints").iterdir())[-1] / "manifest.json"
    manifest = json.loads(newest.read_text())
    manifest["schema_version"] = 99
    newest.write_text(json.dumps(manifest))
    refusals.append(_main(capsys, "run", "--resume", str(out), "--steps", "30000"))
    assert "schema version 99 is newer" in refusals[-1][1]
    for code, err in refusals:
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert_identical(ref, out)  # nothing was touched by the refusals


def test_extending_a_finished_run_equals_the_longer_run(reference, tmp_path, capsys):
    cfg, ref, _ = reference
    longer_cfg = tmp_path / "longer.toml"
    longer_cfg.write_text(cfg.read_text().replace("steps = 10000", "steps = 13000"))
    longer = tmp_path / "longer"
    res = _run("run", str(longer_cfg), "--out", str(longer), "-q")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "ext"
    shutil.copytree(ref, out)
    res = _run("run", "--resume", str(out), "--steps", "13000", "-q")
    assert res.returncode == 0, res.stderr
    assert_identical(longer, out)
    assert "steps = 13000" in (out / "config.toml").read_text()
    with h5py.File(out / "run.h5", "r") as h5:
        assert '"from_step": 10000' in h5.attrs["resumed"]


def test_a_run_killed_after_its_last_checkpoint_is_finished_by_resume(reference, tmp_path, capsys):
    """Killed between its final checkpoint and the close of its run file (the file still says "running"):
    `--resume` finishes the file (end-of-run samples, status) instead of calling the run complete."""
    cfg, ref, _ = reference
    out = tmp_path / "late"
    shutil.copytree(ref, out)
    with h5py.File(out / "run.h5", "a") as h5:
        h5["final"].resize((0,))  # as if the process had died before closing the file
    res = _run("run", "--resume", str(out), "-q")
    assert res.returncode == 0, res.stderr
    assert_identical(ref, out)


@pytest.mark.slow
def test_a_sweep_killed_at_random_moments_is_resumed_bit_for_bit(tmp_path):
    """A ``[sweep]`` is checkpointed as a single run is (the stacked state of every member): SIGKILL at 5 random
    moments of its life and once just after its second checkpoint, then ``--resume`` (or a fresh start where it
    died before its first checkpoint), and every dataset equals the uninterrupted sweep's. (The quick suite
    resumes a sweep in-process: ``tests/test_ensemble.py::test_a_sweep_is_checkpointed_and_resumed_bit_for_bit``.)"""
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(CONFIG.format(n=32, steps=40000, snap=1000).replace("checkpoint_every = 1000",
                                                                       "checkpoint_every = 2000")
                   + '[sweep]\n"theory.mass" = [0.5, 1.0, 2.0]\n')
    ref = tmp_path / "ref"
    t0 = time.monotonic()
    res = _run("run", str(cfg), "--out", str(ref), "-q")
    assert res.returncode == 0, res.stderr
    total = time.monotonic() - t0
    resumed = 0
    for moment in [*_moments(5, 7, total), None]:
        out = tmp_path / f"k{moment or 0:.3f}"
        proc = subprocess.Popen(_cmd("run", str(cfg), "--out", str(out), "-q"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=_env())
        if moment is None:  # just after the checkpoint at step 2000
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not (out / "checkpoints" / f"step-{2000:012d}").exists():
                time.sleep(0.01)
        else:
            time.sleep(moment)
        proc.kill()
        proc.wait()
        if proc.returncode != 0:
            res = _finish(out, cfg)
            assert res.returncode == 0, res.stderr
            resumed += "--resume" in res.args
        assert_identical(ref, out)
    assert resumed >= 1
