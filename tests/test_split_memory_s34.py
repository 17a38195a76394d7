"""The memory guard's estimate of a run split over devices covers what each device holds (session 34).

The guard divided the one-device temporaries by the device count. XLA's halo exchange copies every shifted read
along the split axis, so a split program holds more than its share (a 3D phi^4 or Dirac program on 2 devices more
per device than on one): the guard was low by up to 2.2x. It now uses the split programs' own table
(``resources.MEASURED_SPLIT``). Checked on 2 and 4 fake CPU devices, on lattices larger than the table's (64x48x40
and 512x200; the table: 4 devices, 16^3, 32^3 and 64^3, 64^2, 184^2 and 512^2), where the guard matters (the
programs are compiled, not run), with the table's chunk programs (a sample after every tick, one after 8 ticks and,
since session 35, samples of 2, 3 and 5 ticks):
each device's state, model and spectra shards and the chunk's temporaries stay within the estimate per device, and
the estimate is at most 2.5x of them (or of the one-device estimate's own ratio on the lattice, where the one-device
table is itself that conservative). Not covered (``docs/scaling.md``): small lattices cut into few rows per device
(and, until session 38, the 3D Maxwell network on this lattice over 2 devices: :data:`KNOWN_LOW`). (Session 34 named
chunks of a few ticks per sample too: the 2D sine-Gordon case here, simultaneous scheme, held 12.7 states with a
sample every 2 ticks on 4 devices against the table's 8.2. That was the scheme's pair loop of one iteration,
``schemes.tick_loop``, changed in session 35: the estimate is now 1.27-1.47 times what those programs hold.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnfield import resources
from nnfield.config import parse_config

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import json
import sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
from nnfield import parallel, resources, runner
from nnfield.config import parse_config
from nnfield.network import _run_jit

devices = jax.device_count()
PROGRAMS = ((4, 1), (8, 8), (8, 2), (6, 3), (10, 5))
CASES = [  # larger than the table's lattices (where the guard refuses): compiled, never run
    ('name = "phi4"', "[64, 48, 40]", "leapfrog", 'kind = "gaussian"', True),
    ('name = "klein-gordon"', "[64, 48, 40]", "yoshida4", 'kind = "random_spectrum"', True),
    ('name = "dirac"\nnetwork = "stable"\nbias = "wilson"', "[64, 48, 40]", "alternating",
     'kind = "gaussian_packet"\nwidth = 2.0', False),
    ('name = "sine-gordon"', "[512, 200]", "simultaneous", 'kind = "gaussian"', True),
    ('name = "maxwell"', "[64, 48, 40]", "leapfrog", 'kind = "plane_wave"', False),
]
ratios = []
for theory, shape, scheme, initial, spectra in CASES:
    for with_spectra in {False, spectra}:
        cfg = parse_config(f"[theory]\n{theory}\n[lattice]\nshape = {shape}\n[time]\ndt = 0.05\nsteps = 8\n"
                           f'scheme = "{scheme}"\n[initial]\n{initial}\n[output]\nevery = 2\n'
                           f"spectra = {str(with_spectra).lower()}\n[parallel]\ndevices = {devices}\n")
        model, state = runner.build(cfg, host=True)
        spec = runner.spectra_for(cfg, model, state)
        state = parallel.place(state, devices, cfg.lattice.shape[0])
        model = parallel.place_model(model, devices, cfg.lattice.shape)
        observed = runner._observed(spec, model, state, devices)
        obs = runner.observer_for(model, state, observed)
        # the chunk programs the tables measure (scripts/measure_memory.py PROGRAMS: a sample after every tick, one
        # after 8 ticks, and since session 35 samples of 2, 3 and 5 ticks)
        temp = max(_run_jit.lower(model.network, state, n, every, obs).compile().memory_analysis().temp_size_in_bytes
                   for n, every in PROGRAMS)
        shards = sum(int(s.data.nbytes) for x in jax.tree_util.tree_leaves((state, model, observed))
                     if isinstance(x, jax.Array) for s in x.addressable_shards if s.device == jax.devices()[0])
        est = resources.estimate_run_memory(cfg, devices)
        per_device = est["device"] / devices
        # the same run on one device, for scale: the one-device table is itself conservative on some lattices
        model1, state1 = runner.build(cfg)
        obs1 = runner.observer_for(model1, state1, spec)
        temp1 = max(_run_jit.lower(model1.network, state1, n, every, obs1).compile().memory_analysis()
                    .temp_size_in_bytes for n, every in PROGRAMS)
        arrays1 = sum(int(np.asarray(x).nbytes) for x in jax.tree_util.tree_leaves((state1, model1, spec))
                      if np.ndim(x))
        one = resources.estimate_run_memory(cfg)["device"] / (arrays1 + temp1)
        ratios.append((cfg.theory.name, with_spectra, per_device / (shards + temp), one))
print(json.dumps(ratios))
'''


#: (devices, theory, spectra) whose estimate is below what a device holds on this test's lattice. Until session 38:
#: the 3D Maxwell network on 64x48x40 over 2 devices (0.86); it holds 4.92 states on 2 devices at every 3D size
#: measured, 16^3 to 64^3, and the table had been measured on 2 devices at 2^15 sites only (16^3-32^3 held 3.5-3.6):
#: session 38 compared every theory on 2 devices at 2^18 sites and raised the rows found low
KNOWN_LOW: set[tuple[int, str, bool]] = set()


@pytest.mark.slow  # (2-2.5 min each with five programs, session 35; the quick sibling: the table's test below)
@pytest.mark.parametrize("devices", [2, 4])
def test_the_split_estimate_covers_each_device(tmp_path: Path, devices: int) -> None:
    path = tmp_path / "split.py"
    path.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    import json

    ratios = json.loads(proc.stdout.strip().splitlines()[-1])
    low = [r for r in ratios if r[2] < 1.0 and (devices, r[0], r[1]) not in KNOWN_LOW]  # never below what it holds
    # a gap the table has (XLA's fusion choices change with the lattice): listed, and checked to be still there, so
    # that a new table that closes it is noticed (as a strict xfail)
    assert all(r[2] < 1.0 for r in ratios if (devices, r[0], r[1]) in KNOWN_LOW), ratios
    # nor much above: as the one-device table, one factor per (theory, D, scheme), the largest over lattices and
    # programs, which over-estimates others (up to 2.2x, ``nnfield.resources``), or one device's estimate is
    high = [r for r in ratios if r[2] > 2.5 * max(1.0, r[3])]
    assert not low and not high, ratios


def test_a_split_run_is_estimated_with_the_split_programs_temporaries() -> None:
    """The table's rows: a split program holds at least its share of the one-device program, and the estimate of
    a split run (all devices together) is at least the one-device run's; a sweep (its members split, each member's
    program whole) keeps the one-device factor."""
    for key, (temps, with_spectra) in resources.MEASURED_SPLIT.items():
        assert key in resources.MEASURED, key
        assert temps > 0 and with_spectra > 0, key
    text = ('[theory]\nname = "phi4"\n[lattice]\nshape = [32, 32, 32]\n[time]\ndt = 0.05\nsteps = 8\n'
            'scheme = "leapfrog"\n[initial]\nkind = "gaussian"\n')
    cfg = parse_config(text)
    one, split = resources.estimate_run_memory(cfg), resources.estimate_run_memory(cfg, 2)
    assert split["temporaries"] >= one["temporaries"]
    factor = resources.MEASURED_SPLIT[("phi4", 3, "leapfrog")][0]
    assert split["temporaries"] == int(max(factor, resources.MEASURED[("phi4", 3, "leapfrog")][2]) * one["fields"])
    sweep = parse_config(text + '[sweep]\n"theory.mass" = [0.5, 1.0]\n')
    assert resources.estimate_run_memory(sweep, 2)["temporaries"] == one["temporaries"]
