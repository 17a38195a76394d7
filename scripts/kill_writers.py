"""SIGKILL an HDF5 writer at random moments and count the files that still open: the measurement behind the
run-file design (docs/architecture.md, docs/reliability.md).

    python scripts/kill_writers.py [--kills 24] [--seed 0]

Writers (each a fresh process appending in a loop, flushing after every append):

- ``plain``: an ordinary HDF5 file (``libver="latest"``, no SWMR), data appended, then flushed;
- ``swmr-data``: SWMR mode, data appended and a commit record dataset overwritten (what ``nnfield.io.RunWriter``
  does);
- ``swmr-attrs``: SWMR mode, data appended and root attributes rewritten (what HDF5 does not support under SWMR);
- ``swmr-final``: SWMR mode, data appended, then a resizable ``uint8`` dataset rewritten with a JSON text of
  varying length (how ``RunWriter.close`` stores the final attributes since schema version 3);
- ``swmr-fletcher``: SWMR mode, 1000 numbers appended to a dataset with Fletcher-32 checksums and 1 MiB chunks
  (each rewritten in place by 131 appends), then a commit record; read back: its committed rows, by plain h5py;
- ``run-writer``: ``nnfield.io.RunWriter`` itself (Fletcher-32 checksums on every chunk), committing after every
  sample of an observable of 16384 numbers (its chunks: 8 samples, 1 MiB, each rewritten in place by the next
  7 appends). Read twice: the committed rows with plain h5py (``h5py``), and with ``nnfield.load_run``,
  which takes a last chunk torn by the kill from its raw bytes when they match ``/commit_tails``; both must
  equal what was written. As the runner does, the file is written under another name until it is in SWMR mode.

A file counts as readable when ``nnfield.io.open_run_file``'s way of opening it works (plain, else SWMR-read)
and every dataset and attribute can be read back.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WRITER = r'''
import sys, json, numpy as np, h5py
mode, path = sys.argv[1], sys.argv[2]
f = h5py.File(path, "w", libver="latest")
f.attrs["status"] = "running"
d = f.create_dataset("e", shape=(0,), maxshape=(None,), chunks=(1024,), dtype="f8")
s = f.create_dataset("snap", shape=(0, 32, 32), maxshape=(None, 32, 32), chunks=(1, 32, 32), dtype="f8")
c = f.create_dataset("commit", data=np.zeros(3, np.int64))
g = f.create_dataset("final", shape=(0,), maxshape=(None,), chunks=(4096,), dtype=np.uint8)
if mode != "plain":
    f.swmr_mode = True
i = 0
while True:
    n = d.shape[0]; d.resize((n + 10,)); d[n:] = np.arange(n, n + 10)
    m = s.shape[0]; s.resize((m + 1, 32, 32)); s[m] = m
    f.flush()
    if mode == "swmr-attrs":
        f.attrs["status"] = "s%d" % i
        f.attrs["conservation"] = json.dumps([{"x": i}] * (i % 50))
        f.attrs["a%d" % (i % 7)] = np.arange(i % 100)
    elif mode == "swmr-final":
        blob = np.frombuffer(json.dumps({"status": "s%d" % i, "conservation": [{"x": i}] * (i % 50)}).encode(),
                             np.uint8)
        g.resize(blob.shape); g[...] = blob
    else:
        c[...] = [i, n + 10, m + 1]
    f.flush()
    i += 1
'''

RUN_WRITER = r'''
import os, sys, numpy as np
from pathlib import Path
from nnfield import io as nio
w = nio.RunWriter(sys.argv[2] + ".new", {"phi": (1, 8)}, np.float64, {"title": "kill"})
base = np.arange(16384.0)[None]
w.append_observables([0], [0.0], {"big": base[:1]}); w.append_snapshot(0, 0.0, {"phi": np.zeros((1, 8))})
w.start_swmr(); w.commit(0)
os.replace(w.path, sys.argv[2])  # in SWMR mode before it has its name, as the runner does (runner._fresh_run)
w.path = Path(sys.argv[2])
n = 1
while True:
    w.append_observables([n], [n * 0.5], {"big": base + n})
    n += 1
    w.commit(n)
'''

FLETCHER_WRITER = r'''
import sys, numpy as np, h5py
f = h5py.File(sys.argv[2], "w", libver="latest")
x = f.create_dataset("x", shape=(0,), maxshape=(None,), dtype="f8", chunks=(1 << 17,), fletcher32=True)
c = f.create_dataset("commit", data=np.zeros(3, np.int64))
f.flush(); f.swmr_mode = True
n = 0
while True:
    x.resize((n + 1000,)); x[n:] = np.arange(n, n + 1000, dtype="f8"); f.flush()
    n += 1000
    c[...] = [n, n, 0]; f.flush()
'''

FLETCHER_READER = r'''
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r", swmr=True) as f:
    n = int(f["commit"][1])
    assert np.array_equal(f["x"][:n], np.arange(n, dtype="f8")), "data differ"
'''

RUN_READER = r'''
import sys, warnings, h5py, numpy as np
from nnfield import io as nio
p, how = sys.argv[1], sys.argv[2]
with h5py.File(p, "r", swmr=True) as f:
    steps, n, _ = (int(x) for x in f["commit"][()])
    if steps < 0:  # killed before the first commit: every sample counts (nnfield.io.committed_counts)
        n = min(f["observables/step"].shape[0], f["observables/big"].shape[0])
    if how == "h5py":
        big, step = f["observables/big"][:n], f["observables/step"][:n]
if how == "nnfield":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = nio.load_run(p, snapshots="none")
    big, step = d.observables["big"], d.obs_step
assert len(step) == n and np.array_equal(step, np.arange(n)), "steps differ"
assert np.array_equal(big, np.arange(16384.0)[None] + np.arange(n)[:, None]), "data differ"
'''

READER = r'''
import sys, h5py
p = sys.argv[1]
try:
    f = h5py.File(p, "r")
except OSError:
    f = h5py.File(p, "r", swmr=True)
f["e"][()]; f["snap"][()]; f["commit"][()]; f["final"][()]
dict(f.attrs)
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default="plain,swmr-data,swmr-attrs,swmr-final,swmr-fletcher,run-writer")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print("| writer | kills | readable | unreadable (first error) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            ok, bad, first = [0, 0], [0, 0], ["", ""]
            for k in range(args.kills):
                path = Path(tmp) / f"{mode}-{k}.h5"
                writer = {"run-writer": [RUN_WRITER, "x"], "swmr-fletcher": [FLETCHER_WRITER, "x"]}.get(mode,
                                                                                                  [WRITER, mode])
                proc = subprocess.Popen([sys.executable, "-c", writer[0], writer[1], str(path)])
                deadline = time.monotonic() + 30
                while not path.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(float(rng.uniform(0.05, 0.6)))
                proc.kill()
                proc.wait()
                readers = [[RUN_READER, str(path), how] for how in ("h5py", "nnfield")] if mode == "run-writer" \
                    else [[FLETCHER_READER if mode == "swmr-fletcher" else READER, str(path)]]
                for i, reader in enumerate(readers):
                    res = subprocess.run([sys.executable, "-c", *reader], capture_output=True, text=True, check=False)
                    if res.returncode == 0:
                        ok[i] += 1
                    else:
                        bad[i] += 1
                        first[i] = first[i] or res.stderr.strip().splitlines()[-1][:90]
            for i, how in enumerate([" (h5py)", " (nnfield.load_run)"] if mode == "run-writer" else [""]):
                print(f"| {mode}{how} | {args.kills} | {ok[i]} | {bad[i]}{f' ({first[i]})' if first[i] else ''} |")


if __name__ == "__main__":
    main()
