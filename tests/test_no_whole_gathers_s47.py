"""No device of a split run gathers the whole field: every theory's step and observer on 2 devices (session 47;
issue 10, item 4; slow).

A run is split over devices because its state does not fit one, so no program of it may put the whole lattice on
one device (``docs/architecture.md``, "Nothing whole on one device of a split run"). XLA's partitioner gathers the
whole operand of an FFT; the gauged Dirac field's ``<k>`` did so at every sample until session 47 (now the
distributed FFT, :func:`nnfield.sharding.lattice_fftn`; its quick test is in ``tests/test_sharding.py``). Here every
shipped example of 2 or 3 dimensions, with its spectra recorded, is built, placed on 2 fake CPU devices as a run
places it, and its network's step and its step-0 observer (with the spectra) are compiled: no all-gather in them
gathers as many elements as a device's share of one field (``sites / 2``; the distributed FFT's all-to-alls move a
device's own block and are not counted). 1D lattices are not
split for the spectra's FFT (documented in ``docs/scaling.md``) and are not checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent('''
    import math, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    from nnfield import parallel, runner
    from nnfield.config import parse_config

    assert len(jax.devices()) == 2
    bad = []
    for path in sys.argv[1:]:
        text = open(path).read()
        if "spectra" not in text:
            text = text.replace("[output]", "[output]\\nspectra = true", 1)
        cfg = parse_config(text, source=path)
        shape = cfg.lattice.shape
        if len(shape) < 2:
            continue
        model, state = runner.build(cfg, host=True)
        spectra = runner.spectra_for(cfg, model, state)
        model = parallel.place_model(model, 2, shape)
        state = parallel.place(state, 2, shape[0])
        observer = runner.observer_for(model, state, runner._observed(spectra, model, state, 2), 2)
        programs = {
            "step": jax.jit(lambda m, s: m.network.step(s)).lower(model, state).compile(),
            "observer": jax.jit(runner._observe_partial_impl).lower(observer, state).compile(),
        }
        share = math.prod(shape) // 2
        for name, program in programs.items():
            for line in program.as_text().splitlines():
                for op in (" all-gather(", " all-gather-start("):  # (an all-to-all moves a device's own block)
                    if op in line:
                        dims = line.split("=", 1)[1].split("[", 1)[1].split("]", 1)[0]
                        size = math.prod(int(d) for d in dims.split(",") if d)
                        if size >= share:
                            bad.append((path.rsplit("/", 1)[-1], name, op.strip(" ("), dims))
        print("checked", path.rsplit("/", 1)[-1], flush=True)
    assert not bad, bad
    print("OK")
''')


@pytest.mark.slow
def test_no_program_of_a_split_run_gathers_a_whole_field(tmp_path):
    examples = sorted(str(p) for p in (ROOT / "examples").glob("*.toml"))
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT / "src"))
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2".strip()
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *examples], env=env, capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert proc.stdout.count("checked") >= 14  # every 2D and 3D example
