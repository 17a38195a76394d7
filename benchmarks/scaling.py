"""Strong and weak scaling of a sharded Klein-Gordon run over fake CPU devices and local processes.

    python benchmarks/scaling.py [--n 128] [--steps 400] [--out benchmarks/RESULTS.md]

Each row is one ``nnfield run`` (3D Klein-Gordon, network (3.8) with loss (3.11), leapfrog, float64, random
initial field) in a fresh process: with ``--devices N`` over ``N`` fake host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=N``), or over ``P`` local processes joined by
``jax.distributed`` (gloo collectives, one device each). Strong scaling: the lattice ``n^3`` fixed; weak
scaling: ``(n N / 2) x n^2`` over ``N`` devices against one device with ``(n / 2) x n^2`` (the same work per
device). The rate is the run's own
``site_updates_per_second`` (chunks after the first, i.e. without compilation); "field memory / device" is
the two fields' bytes divided by the devices. On a machine with fewer cores than devices the devices share the
cores, so these rows measure the overhead of the decomposition (halo exchange, collectives), not a speed-up:
run it on a multi-GPU node for real scaling (docs/scaling.md). The sweep rows run a ``[sweep]`` of ``--members``
masses on ``(n/2)^3``, its members split over the devices (no communication between them). The gauged-Dirac rows
(2D, ``(2n)^2``, background magnetic field, Wilson bias, ``--gauged-steps`` steps) split the state and the model's
per-site link coefficients (``nnfield.parallel.place_model``); their memory column is measured, not computed: the
bytes of the state's and the model's shards on device 0 after placement, in a process with that many fake devices.
The halo rows run the KG and gauged-Dirac cases with ``--halo`` (``[parallel] halo = true``: each device's ghost
rows exchanged once per tick, ``nnfield.halo``) and without, on the same devices or processes; their ratio column
is the halo run's rate over the other's (best of ``--repeats`` each, alternating), not over one device.
``--parts`` chooses the row groups (default: all).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from _report import emit  # noqa: E402
from nnfield.io import read_attrs  # noqa: E402

CONFIG = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [{nx}, {n}, {n}]
spacing = 0.5
[time]
dt = 0.1
steps = {steps}
scheme = "leapfrog"
[initial]
kind = "random_spectrum"
seed = 1
[output]
every = {every}
snapshot_every = 0
chunk = {every}
checkpoint_every = "off"
"""


def _env(devices: int) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu", NNFIELD_COMPILATION_CACHE="0")
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


GAUGED = """\
[theory]
name = "gauged-dirac"
mass = 0.5
network = "stable"
bias = "wilson"
field = "magnetic"
n_flux = 4
[lattice]
shape = [{n}, {n}]
[time]
dt = 0.1
steps = {steps}
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 4.0
[output]
every = {every}
snapshot_every = 0
chunk = {every}
checkpoint_every = "off"
"""

PLACED = """\
import sys, jax
jax.config.update("jax_enable_x64", True)
from nnfield import parallel
from nnfield.config import load_config
from nnfield.runner import build
cfg = load_config(sys.argv[1]); d = int(sys.argv[2])
import re
built, state = build(cfg)
model = parallel.place_model(built, d, cfg.lattice.shape)
state = parallel.place(state, d, cfg.lattice.shape[0])
dev = jax.devices()[0]
total = 0
for x in jax.tree_util.tree_leaves((model, state)):
    if isinstance(x, jax.Array):
        total += sum(s.data.nbytes for s in x.addressable_shards if s.device == dev)
    elif hasattr(x, "nbytes"):  # (one device: the model is left as built, host arrays included)
        total += x.nbytes
tick = jax.jit(lambda net, s: net.step(s))
count = lambda m: len(re.findall(r"= \\S+ collective-permute\\(", tick.lower(m.network, state).compile().as_text()))
print(total, count(model), count(built))  # collectives of one tick: model sharded, model as built (replicated)
"""


def placed(cfg: Path, devices: int) -> tuple[int, int, int]:
    """Bytes of the state's and the model's shards on device 0 of a run of ``cfg`` over ``devices``, and the
    collective-permutes of one compiled tick with the model sharded and with it replicated (as built)."""
    res = subprocess.run([sys.executable, "-c", PLACED, str(cfg), str(devices)], env=_env(devices),
                         capture_output=True, text=True, check=False)
    if res.returncode:
        raise RuntimeError(res.stderr)
    nbytes, sharded, replicated = (int(v) for v in res.stdout.split()[-3:])
    return nbytes, sharded, replicated


def run(tmp: Path, nx: int, n: int, steps: int, devices: int = 1, processes: int = 1, members: int = 0,
        text: str | None = None, halo: bool = False) -> float:
    cfg = tmp / f"c{nx}_{n}_{devices}_{processes}_{members}{'_custom' if text else ''}{'_halo' if halo else ''}.toml"
    text = text or CONFIG.format(nx=nx, n=n, steps=steps, every=max(1, steps // 4))
    if members:  # a sweep over the mass: its members split over the devices (nnfield.ensemble.shard_members)
        text += "[sweep]\n\"theory.mass\" = [" + ", ".join(f"{0.5 + 0.1 * j:g}" for j in range(members)) + "]\n"
    cfg.write_text(text)
    out = tmp / cfg.stem
    shutil.rmtree(out, ignore_errors=True)
    base = [sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(out), "-q", *(["--halo"] if halo else [])]
    if processes == 1:
        res = subprocess.run([*base, "--devices", str(devices)], env=_env(devices), capture_output=True,
                             text=True, check=False)
        if res.returncode:
            raise RuntimeError(res.stderr)
    else:
        with socket.socket() as s:
            s.bind(("localhost", 0))
            port = s.getsockname()[1]
        procs = [subprocess.Popen([*base, "--coordinator", f"localhost:{port}", "--num-processes",
                                   str(processes), "--process-id", str(i)], env=_env(1),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(processes)]
        for p in procs:
            _, err = p.communicate()
            if p.returncode:
                raise RuntimeError(err)
    with h5py.File(out / "run.h5", "r") as h5:  # (the final attributes live in /final: nnfield.io.read_attrs)
        attrs = read_attrs(h5)
        if halo and not int(attrs.get("halo", 0)):
            raise RuntimeError(f"{cfg}: the run did not use the explicit halo exchange (attribute halo = 0)")
        return float(attrs["site_updates_per_second"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--members", type=int, default=8, help="members of the sweep rows (lattice (n/2)^3 each)")
    ap.add_argument("--gauged-steps", type=int, default=100, help="steps of the gauged-Dirac rows")
    ap.add_argument("--parts", nargs="+", choices=("kg", "sweep", "gauged", "halo"),
                    default=["kg", "sweep", "gauged", "halo"])
    ap.add_argument("--repeats", type=int, default=1, help="halo rows: run each pair this many times, "
                    "alternating, and keep the best rate of each")
    ap.add_argument("--out", help="append the table to this Markdown file")
    args = ap.parse_args()
    n, steps = args.n, args.steps
    rows: list = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        if "kg" in args.parts:
            kg_rows(tmp, n, steps, rows)
        if "sweep" in args.parts:
            sweep_rows(tmp, n, steps, args.members, rows)
        if "gauged" in args.parts:
            gauged_rows(tmp, 2 * n, args.gauged_steps, rows, notes)
        if "halo" in args.parts:
            halo_rows(tmp, n, steps, args.gauged_steps, args.repeats, rows)
    write(args, rows, notes)


def halo_rows(tmp: Path, n: int, steps: int, gauged_steps: int, repeats: int, rows: list) -> None:
    """``nnfield run`` with ``--halo`` (the explicit exchange, nnfield.halo) against XLA's partitioning: the
    ratio column is halo over SPMD on the same lattice, device count and processes (best of ``repeats`` each,
    alternating)."""
    g = 2 * n
    gauged = GAUGED.format(n=g, steps=gauged_steps, every=max(1, gauged_steps // 4))
    cases = [("3D Klein-Gordon", f"{n}^3", dict(nx=n, n=n, steps=steps)),
             ("gauged Dirac (background field)", f"{g}^2", dict(nx=g, n=g, steps=gauged_steps, text=gauged))]
    for name, lat, kw in cases:
        for where, extra in (("2 fake devices", dict(devices=2)), ("4 fake devices", dict(devices=4)),
                             ("2 local processes", dict(processes=2)), ("4 local processes", dict(processes=4))):
            best = {False: 0.0, True: 0.0}
            for _ in range(repeats):
                for halo in (False, True):
                    best[halo] = max(best[halo], run(tmp, halo=halo, **kw, **extra))
            rows.append((f"{name}: {where}, explicit halo", lat, best[True], best[True] / best[False], float("nan")))


def gauged_rows(tmp: Path, g: int, steps: int, rows: list, notes: list) -> None:
    text = GAUGED.format(n=g, steps=steps, every=max(1, steps // 4))
    cfg = tmp / "gauged.toml"
    cfg.write_text(text)
    base = run(tmp, g, g, steps, text=text)
    rows.append(("gauged Dirac (background field): 1 device", f"{g}^2", base, 1.0, placed(cfg, 1)[0] / 2**20))
    for d in (2, 4):
        r = run(tmp, g, g, steps, devices=d, text=text)
        nbytes, sharded, replicated = placed(cfg, d)
        rows.append((f"gauged Dirac (background field): {d} fake devices", f"{g}^2", r, r / base, nbytes / 2**20))
        notes.append(f"gauged Dirac on {d} devices: {sharded} collective-permutes in one compiled tick with the "
                     f"model's site fields sharded, {replicated} with them replicated")


def kg_rows(tmp: Path, n: int, steps: int, rows: list) -> None:
    base = run(tmp, n, n, steps)
    rows.append(("1 device", f"{n}^3", base, 1.0, 2 * n**3 * 8 / 2**20))
    for d in (2, 4):
        r = run(tmp, n, n, steps, devices=d)
        rows.append((f"strong: {d} fake devices", f"{n}^3", r, r / base, 2 * n**3 * 8 / d / 2**20))
    half = n // 2
    weak_base = run(tmp, half, n, steps)
    rows.append(("weak: 1 device", f"{half}x{n}^2", weak_base, 1.0, 2 * half * n * n * 8 / 2**20))
    for d in (2, 4):
        nx = half * d
        r = run(tmp, nx, n, steps, devices=d)
        rows.append((f"weak: {d} fake devices", f"{nx}x{n}^2", r, r / weak_base, 2 * nx * n * n * 8 / d / 2**20))
    for p in (2, 4):
        r = run(tmp, n, n, steps, processes=p)
        rows.append((f"strong: {p} local processes", f"{n}^3", r, r / base, 2 * n**3 * 8 / p / 2**20))


def sweep_rows(tmp: Path, n: int, steps: int, members: int, rows: list) -> None:
    m, q = members, n // 2  # a sweep: members x (n/2)^3, the members split over the devices
    sweep_base = run(tmp, q, q, steps, members=m)
    rows.append((f"sweep of {m} members: 1 device", f"{m} x {q}^3", sweep_base, 1.0, 2 * m * q**3 * 8 / 2**20))
    for d in (2, 4):
        if m % d == 0:
            r = run(tmp, q, q, steps, devices=d, members=m)
            rows.append((f"sweep of {m} members: {d} fake devices", f"{m} x {q}^3", r, r / sweep_base,
                         2 * m * q**3 * 8 / d / 2**20))


def write(args: argparse.Namespace, rows: list, notes: list[str]) -> None:
    n, steps = args.n, args.steps
    import multiprocessing

    lines = [
        "",
        "# Scaling over devices and processes",
        "",
        f"Generated by `python benchmarks/scaling.py --n {n} --steps {steps} --members {args.members} "
        f"--gauged-steps {args.gauged_steps} --parts {' '.join(args.parts)}"
        f"{f' --repeats {args.repeats}' if args.repeats != 1 else ''}` on {multiprocessing.cpu_count()} "
        "CPU cores (see the script's docstring and docs/scaling.md). The ratio is the rate over the 1-device "
        "rate measured in the same run (halo rows: over the same run without the explicit exchange); with more "
        "devices than cores it measures the decomposition's overhead.",
        "",
        "| run | lattice | rate [Msite/s] | vs 1 device (same lattice; weak: same work per device) | "
        "field memory / device [MiB] (gauged rows: state + model, measured) |",
        "|---|---|---|---|---|",
    ]
    for name, lat, rate, ratio, mem in rows:
        lines.append(f"| {name} | {lat} | {rate / 1e6:.1f} | {ratio:.2f} | {'-' if mem != mem else f'{mem:.1f}'} |")
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
