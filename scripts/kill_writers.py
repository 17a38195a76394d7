"""SIGKILL an HDF5 writer at random moments and count the files that still open: the measurement behind the
run-file design (docs/architecture.md, docs/reliability.md).

    python scripts/kill_writers.py [--kills 24] [--seed 0]

Writers (each a fresh process appending in a loop, flushing after every append):

- ``plain``: an ordinary HDF5 file (``libver="latest"``, no SWMR), data appended, then flushed;
- ``swmr-data``: SWMR mode, data appended and a commit record dataset overwritten (what ``nnfield.io.RunWriter``
  does);
- ``swmr-attrs``: SWMR mode, data appended and root attributes rewritten (what HDF5 does not support under SWMR);
- ``swmr-final``: SWMR mode, data appended, then a resizable ``uint8`` dataset rewritten with a JSON text of
  varying length (how ``RunWriter.close`` stores the final attributes since schema version 3).

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
    ap.add_argument("--modes", default="plain,swmr-data,swmr-attrs,swmr-final")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    print("| writer | kills | readable | unreadable (first error) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            ok, bad, first = 0, 0, ""
            for k in range(args.kills):
                path = Path(tmp) / f"{mode}-{k}.h5"
                proc = subprocess.Popen([sys.executable, "-c", WRITER, mode, str(path)])
                deadline = time.monotonic() + 30
                while not path.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(float(rng.uniform(0.05, 0.6)))
                proc.kill()
                proc.wait()
                res = subprocess.run([sys.executable, "-c", READER, str(path)], capture_output=True, text=True,
                                     check=False)
                if res.returncode == 0:
                    ok += 1
                else:
                    bad += 1
                    first = first or res.stderr.strip().splitlines()[-1][:90]
            print(f"| {mode} | {args.kills} | {ok} | {bad}{f' ({first})' if first else ''} |")


if __name__ == "__main__":
    main()
