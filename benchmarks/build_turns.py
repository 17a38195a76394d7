r"""What a host holds while the processes of a multi-process run build their initial state: whole at once, whole in
turns, or split (each process its own slabs).

    python benchmarks/build_turns.py [--n 160] [--processes 2] [--spectra] [--src OTHER/src] [--theory THEORY]
                                     [--out FILE]

With ``[parallel] build = "whole"`` every process of a multi-process run builds the whole initial state (and model)
on its host before it keeps its shards (``docs/scaling.md``, "Host memory"); with ``"split"`` (what the default
``"auto"`` does for this random field since session 45) each builds only its devices' slabs. This runs
``examples/kg_3d_random.toml`` (a 3D Klein-Gordon random spectrum) on ``n^3`` sites in float64 for a few steps as
``--processes`` local processes joined by ``jax.distributed`` (gloo), built whole at once, whole in turns
(``NNFIELD_BUILD_IN_TURNS=1``) and split, and one process alone as the baseline; a sampler reads every process's
resident memory (``VmRSS`` in ``/proc/PID/status``) every few milliseconds and
reports the host's peak (the largest sum over the processes at one moment) and when it came, each process's own peak
and the wall time. Built whole at once, the host's peak is ``--processes`` builds; in turns, one build beside what
the others hold; split, each process its share, or the run itself where that is larger: on a CPU the run's
temporaries are host memory too (each process holds its share of the chunk's temporaries, about 12 states for this
network split over devices), on a GPU they are on the device. ``--theory dirac``: a 3D Dirac packet instead (its
energy projection between two distributed FFTs when split); ``--theory sine-gordon``: a 3D kink (its wall built on
the first axis and broadcast when split; session 46).
"""

from __future__ import annotations

import argparse
import datetime
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: the nnfield sources the runs use (``--src``: another tree's, for an A/B comparison)
SRC = ROOT / "src"


def _template(theory: str, spacing: float, dt: float, initial: str, time: str = "") -> str:
    """A 3D run on ``{n}^3`` sites (``str.format`` field ``n``) of 4 steps, one sample and snapshot at the end, no
    checkpoint, float64: ``theory`` and ``initial`` are the lines of those tables, ``time`` extra ``[time]`` lines."""
    return (f"[theory]\n{theory}\n[lattice]\nshape = [{{n}}, {{n}}, {{n}}]\nspacing = {spacing}\n[time]\ndt = {dt}\n"
            f"steps = 4\n{time}[initial]\n{initial}\n[output]\nevery = 4\nsnapshot_every = 4\n"
            'checkpoint_every = "off"\nprecision = "float64"\n')


#: ``--theory dirac``: a 3D Dirac packet (the stable network), positive energy (session 46)
DIRAC = _template('name = "dirac"\nnetwork = "stable"', 1.0, 0.1,
                  'kind = "gaussian_packet"\nmomentum = [0.5, 0.0, 0.0]\nwidth = 4.0', 'scheme = "alternating"\n')
#: ``--theory sine-gordon``: a 3D sine-Gordon kink (a planar wall, winding 1) (session 46)
KINK = _template('name = "sine-gordon"\nwinding = 1', 0.25, 0.05, 'kind = "kink"\nvelocity = 0.4')

#: ``--theory``: the run measured, its config and the guard's (theory, initial kind)
RUNS = {"klein-gordon": ("3D Klein-Gordon, random spectrum", None, ("klein-gordon", "random_spectrum")),
        "dirac": ("3D Dirac (stable network), Gaussian packet (positive energy)", DIRAC, ("dirac", "gaussian_packet")),
        "sine-gordon": ("3D sine-Gordon, one kink", KINK, ("sine-gordon", "kink"))}


def config(n: int, build: str = "whole", spectra: bool = False, theory: str = "klein-gordon") -> str:
    """``examples/kg_3d_random.toml`` (or ``--theory``'s config: :data:`DIRAC`, :data:`KINK`) on ``n^3`` sites,
    float64, 4 steps, no checkpoint but the last, ``[parallel] build``."""
    template = RUNS[theory][1]
    if template is not None:
        text = template.format(n=n)
        if spectra:
            text = text.replace('precision = "float64"', 'precision = "float64"\nspectra = true', 1)
        return text + f'\n[parallel]\nbuild = "{build}"\n'
    text = (ROOT / "examples" / "kg_3d_random.toml").read_text()
    for old, new in (("shape = [32, 32, 32]", f"shape = [{n}, {n}, {n}]"), ("steps = 400", "steps = 4"),
                     ("every = 4", "every = 4\ncheckpoint_every = \"off\""),
                     ("snapshot_every = 100", "snapshot_every = 4"),
                     ('precision = "float32"', 'precision = "float64"')):
        assert old in text, old
        text = text.replace(old, new, 1)
    if spectra:
        text = text.replace('precision = "float64"', 'precision = "float64"\nspectra = true', 1)
    return text + f'\n[parallel]\nbuild = "{build}"\n'


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def measure(cfg: Path, out: Path, processes: int, turns: bool, dry: bool = False) -> dict[str, float]:
    """Run ``cfg`` in ``processes`` local processes (1: a plain run; ``dry``: ``--dry-run``, the build and the
    checks before a run, not the steps); the host's peak RSS, the largest process's (``own``), each process's
    (``each``, by process id), the wall time."""
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(SRC), NNFIELD_BUILD_IN_TURNS=str(int(turns)))
    base = [sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(out), "-q", *(["--dry-run"] if dry else [])]
    if processes == 1:
        cmds = [base]
    else:
        port = _free_port()
        cmds = [base + ["--coordinator", f"localhost:{port}", "--num-processes", str(processes), "--process-id",
                        str(i)] for i in range(processes)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in cmds]
    host, own, at = 0, [0] * len(procs), (0.0, [])
    while any(p.poll() is None for p in procs):
        now = [_rss(p.pid) for p in procs]
        if sum(now) > host:
            host, at = sum(now), (time.perf_counter() - t0, now)
        own = [max(a, b) for a, b in zip(own, now, strict=True)]
        time.sleep(0.002)
    wall = time.perf_counter() - t0

    for p in procs:
        err = p.stderr.read() if p.stderr else ""
        if p.returncode:
            raise SystemExit(f"a process failed ({p.returncode}): {err[-2000:]}")
    return {"host": host, "own": max(own), "each": own, "wall": wall, "at": at[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=160, help="lattice side (n^3 sites)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--out", type=Path, help="append the table to this Markdown file")
    ap.add_argument("--spectra", action="store_true", help="record the spectra too ([output] spectra = true)")
    ap.add_argument("--src", type=Path, help="run the nnfield sources of this directory (default: this tree's src)")
    ap.add_argument("--theory", choices=sorted(RUNS), default="klein-gordon",
                    help="the run: a Klein-Gordon random field (default), a Dirac packet or a sine-Gordon kink")
    args = ap.parse_args()
    global SRC
    SRC = args.src or SRC
    n, p = args.n, args.processes
    sites = n**3
    sys.path.insert(0, str(ROOT / "src"))
    from nnfield.resources import MEASURED_INITIAL, MEASURED_SPLIT_INITIAL

    title, _, key = RUNS[args.theory]
    whole, split_each = MEASURED_INITIAL[key] * sites, MEASURED_SPLIT_INITIAL[key] * sites / p  # the guard's counts
    with tempfile.TemporaryDirectory() as tmp:
        cfg, split = Path(tmp) / "kg.toml", Path(tmp) / "kg-split.toml"
        cfg.write_text(config(n, "whole", args.spectra, args.theory))
        split.write_text(config(n, "split", args.spectra, args.theory))
        rows = [("one process", measure(cfg, Path(tmp) / "one", 1, False))]
        rows.append((f"{p} processes, whole, at once", measure(cfg, Path(tmp) / "together", p, False)))
        rows.append((f"{p} processes, whole, in turns", measure(cfg, Path(tmp) / "turns", p, True)))
        rows.append((f"{p} processes, split", measure(split, Path(tmp) / "split", p, False)))
        rows.append((f"{p} processes, whole, at once, `--dry-run`", measure(cfg, Path(tmp) / "dw", p, False, True)))
        rows.append((f"{p} processes, split, `--dry-run`", measure(split, Path(tmp) / "ds", p, False, True)))
    mib = 2**20
    lines = [
        "",
        f"## Building the initial state whole (at once, in turns) or split ({p} local processes"
        f"{', with spectra' if args.spectra else ''})",
        "",
        f"Generated by `python benchmarks/build_turns.py --n {n} --processes {p}{' --spectra' if args.spectra else ''}"
        f"{f' --src {args.src}' if args.src else ''}"
        f"{f' --theory {args.theory}' if args.theory != 'klein-gordon' else ''}"
        f"` ({datetime.datetime.now():%Y-%m-%d %H:%M}). {title}, {n}^3 sites, float64 "
        f"(the guard counts {whole / mib:.0f} MiB for a whole build, {split_each / mib:.0f} MiB for a process's "
        "share of a split one); resident memory sampled every 2 ms. "
        "`--dry-run`: the build and the checks before the steps (step 0's observables), without the run.",
        "",
        "| run | host's peak [MiB] | at [s] | one process's peak [MiB] | wall [s] | host's peak / one process's run |",
        "|---|---|---|---|---|---|",
    ]
    one = rows[0][1]["host"]
    for name, r in rows:
        lines.append(f"| {name} | {r['host'] / mib:.0f} | {r['at']:.1f} | {r['own'] / mib:.0f} | {r['wall']:.1f} | "
                     f"{r['host'] / one:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
