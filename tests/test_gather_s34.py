"""A multi-process gather to the host in blocks equals JAX's whole gather bit for bit (session 34; issue 10,
item 4).

``parallel.to_host`` fetched each snapshot of a multi-process run with ``process_allgather``, which replicates
the whole field on every device of every process: a run split because its state does not fit one GPU would run
out of device memory at its first snapshot. Arrays above ``GATHER_BLOCK_BYTES`` are now gathered a block of rows
at a time. Here 2 local processes with 2 fake CPU devices each (4 shards, two per process) gather a field
``(K, N_1, N_2)`` and a stack of snapshots ``(n, K, N_1, N_2)`` (split along ``N_1``: axis 1 and axis 2) in
blocks of 1, 2 and 4 rows, against the whole gather and against the array they were made from. Since session 47
a run's processes other than the writer take part in the gathers but keep nothing (``keep=False``): each of them
held every snapshot whole on its host. Since session 48 the writer takes the blocks one by one
(``parallel.HostPieces``: it holds one process's block at a time, and a write that fails still draws every block, so
the other process is not left waiting in a gather).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_parallel import _free_port

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = '''
import sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec
from nnfield import parallel
from nnfield.sharding import AXIS, lattice_mesh

parallel.initialize(f"localhost:{sys.argv[1]}", 2, int(sys.argv[2]))
assert jax.process_count() == 2 and jax.device_count() == 4, (jax.process_count(), jax.device_count())
calls = []
whole = multihost_utils.process_allgather


def counted(x, tiled=False):
    calls.append(np.shape(x))
    return whole(x, tiled=tiled)


multihost_utils.process_allgather = counted
rng = np.random.default_rng(5)
field, stack = rng.normal(size=(2, 16, 6)), rng.normal(size=(3, 2, 16, 6)).astype(np.float32)
mesh = lattice_mesh(4)
for arr, spec in ((field, PartitionSpec(None, AXIS, None)), (stack, PartitionSpec(None, None, AXIS, None))):
    x = jax.make_array_from_callback(arr.shape, NamedSharding(mesh, spec), lambda index: arr[index])
    assert not x.is_fully_addressable
    calls.clear()
    reference = parallel.to_host(x)  # (small: the whole gather, as before)
    assert calls == [arr.shape], calls
    np.testing.assert_array_equal(reference, arr)
    row = arr.nbytes // 16
    for rows in (1, 2, 4):
        calls.clear()
        got = parallel.to_host(x, block_bytes=2 * rows * row)  # (2 processes: rows per process and block)
        assert got.dtype == arr.dtype and got.shape == arr.shape
        np.testing.assert_array_equal(got, arr)
        assert len(calls) == 8 // rows, (rows, calls)  # 8 rows per process, a block at a time
    # keep=False (session 47): a process other than the writer takes part in the same collectives, keeps nothing
    writer = jax.process_index() == 0
    for rows in (None, 1, 4):
        calls.clear()
        got = parallel.to_host(x, block_bytes=None if rows is None else 2 * rows * row, keep=writer)
        assert len(calls) == (1 if rows is None else 8 // rows), (rows, calls)
        if writer:
            np.testing.assert_array_equal(got, arr)
        else:
            assert got is None
# session 48: the run's writer takes the gathered blocks one by one (parallel.HostPieces), never the whole field
from nnfield import io as nio

out = sys.argv[3]
x = jax.make_array_from_callback(field.shape, NamedSharding(mesh, PartitionSpec(None, AXIS, None)),
                                 lambda index: field[index])
xs = jax.make_array_from_callback(stack.shape, NamedSharding(mesh, PartitionSpec(None, None, AXIS, None)),
                                  lambda index: stack[index])
row = field.nbytes // 16
biggest = []


class Watched(parallel.HostPieces):
    def pieces(self, keep=True):
        for index, block in super().pieces(keep):
            biggest.append(0 if block is None else block.nbytes)
            yield index, block


if writer:
    w = nio.RunWriter(f"{out}/run.h5", {"phi": field.shape, "pi": stack.shape[1:]}, np.float64, {"title": "t"})
else:
    w = nio.NullWriter(f"{out}/run.h5")
calls.clear()
row_pi = stack[1].nbytes // 16  # (float32)
w.append_snapshot(0, 0.0, {"phi": Watched(x, block_bytes=2 * 2 * row),
                           "pi": Watched(xs[1], block_bytes=2 * 2 * row_pi)})
assert len(calls) == 4 + 4, calls  # (2 rows per process and block, each field)
assert max(biggest) == (2 * row if writer else 0), biggest  # the writer holds one process's block at a time
# a write that fails half way still draws every piece: the other process is not left waiting in a gather
later = {"phi": parallel.HostPieces(x, block_bytes=2 * row), "pi": parallel.HostPieces(xs[2])}
if writer:
    real = nio.check_room
    nio.check_room = lambda *a: (_ for _ in ()).throw(nio.WriteError(w.path, errno=28))
    try:
        w.append_snapshot(1, 1.0, later)
        raise AssertionError("no WriteError")
    except nio.WriteError:
        pass
    nio.check_room = real
else:
    w.append_snapshot(1, 1.0, later)
np.testing.assert_array_equal(parallel.to_host(x), field)  # (the next collective: both processes reach it)
if writer:
    w.close()
    import h5py

    with h5py.File(f"{out}/run.h5", "r") as f:
        np.testing.assert_array_equal(f["snapshots/phi"][0], field)
        np.testing.assert_array_equal(f["snapshots/pi"][0], stack[1].astype(np.float64))
print("OK", jax.process_index())
'''


def test_a_blocked_gather_over_two_processes_equals_the_whole_gather(tmp_path: Path) -> None:
    script = tmp_path / "gather.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2".strip()
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, str(script), str(port), str(i), str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    for i, p in enumerate(procs):
        try:
            out, err = p.communicate(timeout=300)
        finally:
            if p.poll() is None:
                p.kill()
        assert p.returncode == 0 and f"OK {i}" in out, f"process {i}: {out}{err[-4000:]}"


def test_xla_out_of_memory_mid_run_is_one_line_and_keeps_the_file(tmp_path, monkeypatch, capsys) -> None:
    """XLA's ``RESOURCE_EXHAUSTED`` (a buffer that does not fit on the device: the memory guard's estimate is an
    estimate) ended ``nnfield run`` with JAX's traceback; it is one line now, exit 2, and the run file keeps step 0.
    The error is XLA's own, raised by a real allocation of 2^44 bytes in the first chunk."""
    import jax
    import jax.numpy as jnp

    from nnfield import cli, runner
    from nnfield import io as nio
    from test_cli import KG_1D, write

    def exhausted(self, *args, **kwargs):
        jax.jit(lambda: jnp.ones((2**42,), jnp.float32))().block_until_ready()

    monkeypatch.setattr(runner._ChunkProgram, "__call__", exhausted)
    out = tmp_path / "o"
    assert cli.main(["run", str(write(tmp_path, KG_1D)), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("nnfield: error:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("nnfield: error: out of memory on the device (RESOURCE_EXHAUSTED: "), err
    run = nio.load_run(out, warn=False)
    assert list(run.obs_step) == [0] and run.status == "failed"
