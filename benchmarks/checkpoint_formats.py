"""Checkpoint formats side by side: nnfield's h5py checkpoints vs orbax-checkpoint (when installed).

    python benchmarks/checkpoint_formats.py [--size 64] [--repeats 5]

Prints, for a Klein-Gordon-sized state (two float64 fields of size^3): the import time of each library in a
fresh interpreter, save and restore time (best of ``--repeats``), bytes on disk, and whether the restored state
is bit-identical. orbax is measured only if ``import orbax.checkpoint`` works (it is not a dependency of
nnfield; install it in a scratch environment to compare: ``pip install orbax-checkpoint``). The numbers in
docs/architecture.md ("Checkpoints") come from this script.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def import_seconds(module: str) -> float | None:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return float(res.stdout.strip()) if res.returncode == 0 else None


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    shape = (1, args.size, args.size, args.size)
    state = {"phi": jax.numpy.asarray(rng.normal(size=shape)), "pi": jax.numpy.asarray(rng.normal(size=shape))}
    rows = []

    from nnfield.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        save_t, load_t = [], []
        for i in range(args.repeats):
            t0 = time.perf_counter()
            save_checkpoint(tmp, state, i, {"config_hash": "x"}, keep=1)
            save_t.append(time.perf_counter() - t0)
            ck = latest_checkpoint(tmp)
            t0 = time.perf_counter()
            back = load_checkpoint(ck, state)
            load_t.append(time.perf_counter() - t0)
        same = all(np.array_equal(back[k], state[k]) for k in state)
        rows.append(("nnfield (h5py)", import_seconds("h5py"), min(save_t), min(load_t), du(Path(tmp)), same))

    try:
        import orbax.checkpoint as ocp
    except ImportError:
        rows.append(("orbax-checkpoint", None, None, None, None, None))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            save_t, load_t = [], []
            for i in range(args.repeats):
                path = Path(tmp) / f"s{i}"
                ck = ocp.StandardCheckpointer()
                t0 = time.perf_counter()
                ck.save(path, state)
                ck.wait_until_finished()
                save_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                back = ck.restore(path, state)
                load_t.append(time.perf_counter() - t0)
            same = all(np.array_equal(back[k], state[k]) for k in state)
            rows.append(("orbax-checkpoint", import_seconds("orbax.checkpoint"), min(save_t), min(load_t),
                         du(Path(tmp) / "s0"), same))
            shutil.rmtree(tmp, ignore_errors=True)

    mib = 2 * np.prod(shape) * 8 / 2**20
    print(f"state: two float64 fields of {args.size}^3 ({mib:.1f} MiB), best of {args.repeats}\n")
    print("| format | import [s] | save [s] | restore [s] | on disk [MiB] | bit-identical |")
    print("|---|---|---|---|---|---|")
    for name, imp, s, r, size, same in rows:
        if s is None:
            print(f"| {name} | not installed | - | - | - | - |")
            continue
        print(f"| {name} | {imp:.2f} | {s:.3f} | {r:.3f} | {size / 2**20:.2f} | {same} |")


if __name__ == "__main__":
    main()
