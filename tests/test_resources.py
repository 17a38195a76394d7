"""The memory guard (issue 9): a run that cannot fit is refused before any work, from the config alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from nnfield import resources
from nnfield.config import parse_config
from nnfield.errors import InputError

SRC = Path(__file__).resolve().parents[1] / "src"


def _config(shape, theory='name = "klein-gordon"', scheme="leapfrog", dt=0.1, steps=10, extra="",
            kind="gaussian_packet"):
    return parse_config(f"""
[theory]
{theory}
[lattice]
shape = {list(shape)}
[time]
dt = {dt}
steps = {steps}
scheme = "{scheme}"
[initial]
kind = "{kind}"
{extra}
""", source="mem.toml")


def _measured(cfg) -> int:
    """What a run of ``cfg`` really holds on its device during the steps: the state's and the model's arrays and
    the compiled chunk's temporaries (XLA ``memory_analysis``)."""
    from nnfield.network import _run_jit
    from nnfield.runner import build, choose_chunk, observer_for

    model, state = build(cfg)
    nbytes = sum(int(x.nbytes) for x in jax.tree_util.tree_leaves((model, state)) if np.ndim(x))
    every = cfg.output.every
    chunk = choose_chunk(cfg.time.steps, every, cfg.output.snapshot_every, int(np.prod(cfg.lattice.shape)))
    mem = _run_jit.lower(model.network, state, chunk, every, observer_for(model, state)).compile().memory_analysis()
    return nbytes + int(mem.temp_size_in_bytes)


@pytest.mark.parametrize("shape, theory, scheme", [
    ((4096,), 'name = "klein-gordon"', "leapfrog"),
    ((64, 64), 'name = "klein-gordon"', "yoshida4"),
    ((32, 32), 'name = "dirac"\nnetwork = "stable"\nbias = "wilson"', "alternating"),
    ((32, 32), 'name = "gauged-dirac"\nbias = "wilson"\nfield = "magnetic"', "alternating"),
    ((32, 32), 'name = "maxwell-dirac"\nbias = "wilson"', "leapfrog"),
    ((16, 16, 16), 'name = "scalar-qed"\nmass = 2.0', "leapfrog"),
])
def test_the_estimate_is_within_a_factor_2_of_what_xla_allocates(shape, theory, scheme):
    kind = {"maxwell-dirac": "charged_packets", "scalar-qed": "charged_packets"}.get(theory.split('"')[1],
                                                                                    "gaussian_packet")
    cfg = _config(shape, theory, scheme, dt=0.05, kind=kind)
    assert resources._lookup(cfg.theory.name, len(shape), scheme) is not None  # measured, not probed
    est = resources.estimate_run_memory(cfg)
    got = _measured(cfg)
    assert 0.5 <= est["device"] / got <= 2.0, (est, got)
    assert est["total"] >= est["device"]


HUGE = dict(shape=(2**15, 2**15, 2**5))  # 2^35 sites: within the config's 2^40, beyond any machine's memory


def test_a_huge_config_is_refused_in_well_under_a_second():
    cfg = _config(**HUGE)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as err:
        resources.check_memory(cfg)
    assert time.perf_counter() - t0 < 0.2
    text = str(err.value)
    assert "\n" not in text and text.startswith("mem.toml: the run needs about")
    assert "fields 512 GiB" in text and "available" in text and 'precision = "float32"' in text
    assert resources.SKIP_ENV in text


def test_the_command_line_refuses_a_huge_dry_run_with_one_line_and_no_directory(tmp_path):
    cfg = tmp_path / "huge.toml"
    cfg.write_text(f"""
[theory]
name = "klein-gordon"
[lattice]
shape = {list(HUGE['shape'])}
[time]
dt = 0.1
steps = 10
[initial]
kind = "plane_wave"
""")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop(resources.SKIP_ENV, None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nnfield", "run", str(cfg), "--dry-run", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.perf_counter() - t0
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("nnfield: error: ") and "needs about" in lines[0], lines
    assert not out.exists()
    assert elapsed < 60  # the interpreter and JAX start; nothing of size 2^35 is allocated


def test_the_opt_out_skips_the_check(monkeypatch):
    cfg = _config(**HUGE)
    monkeypatch.setenv(resources.SKIP_ENV, "1")
    resources.check_memory(cfg)  # no error: the user asked to run anyway
    monkeypatch.setenv(resources.SKIP_ENV, "0")
    with pytest.raises(InputError):
        resources.check_memory(cfg)


def test_a_sharded_run_asks_each_device_for_its_share(monkeypatch):
    """On an accelerator the device part (fields, model, temporaries) is split over ``[parallel] devices``: a
    run that needs 1.5x one device's free memory is refused on one device and passes on enough devices. Since
    session 34 the temporaries are the split program's (``MEASURED_SPLIT``): this 3D Dirac run's split program holds
    3.3x the one-device temporaries (XLA's halo copies), so 2 devices are not enough (the guard passed it before,
    and each device would have run out of memory), 8 are."""
    cfg = _config((512, 512, 64), theory='name = "dirac"\nnetwork = "stable"\nbias = "wilson"',
                  scheme="alternating")
    need = resources.estimate_run_memory(cfg)["device"]
    assert need > 1 << 30  # (the device is only asked about runs above 1 GiB)
    monkeypatch.setattr(resources, "available_memory", lambda: 1 << 62)
    monkeypatch.setattr(resources, "device_memory", lambda: int(need / 1.5))
    with pytest.raises(InputError, match="on the device"):
        resources.check_memory(cfg)
    with pytest.raises(InputError, match="on each of its 2 devices"):
        resources.check_memory(cfg, members=3, devices=2)  # 3 members: 1.5 runs per device
    split2 = resources.estimate_run_memory(cfg, 2)["device"] / 2
    assert split2 > need / 1.5  # the split program's temporaries: more than half the one-device run per device
    with pytest.raises(InputError, match="on each of its 2 devices"):
        resources.check_memory(cfg, devices=2)
    assert resources.estimate_run_memory(cfg, 8)["device"] / 8 < need / 1.5
    resources.check_memory(cfg, devices=8)


def test_processes_sharing_a_host_each_count(monkeypatch):
    """In a multi-process run every process builds the whole initial state on its host: 4 processes on one node
    (SLURM's ``4(x2)``: 4 tasks on each of 2 nodes) need 4 times one process's host memory."""
    from nnfield import parallel

    cfg = _config((64, 64))
    need = resources.estimate_run_memory(cfg)["total"]
    monkeypatch.setattr(resources, "available_memory", lambda: int(2.5 * need))
    for var in resources.LOCAL_PROCESS_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_TASKS_PER_NODE", "4(x2)")
    assert resources.processes_on_this_host() == 1  # a single-process run: the launcher's count does not apply
    monkeypatch.setattr(parallel, "multi_process", lambda: True)
    assert resources.processes_on_this_host() == 4
    with pytest.raises(InputError, match="in each of the 4 processes on this host"):
        resources.check_memory(cfg)
    monkeypatch.setenv("SLURM_TASKS_PER_NODE", "2(x4)")
    resources.check_memory(cfg)  # 2 x need fits in 2.5 x need
    monkeypatch.delenv("SLURM_TASKS_PER_NODE")
    assert resources.processes_on_this_host() == 1  # no launcher says: 1 (e.g. --coordinator by hand)


def test_small_runs_pass_and_float32_halves_the_fields():
    cfg = _config((64, 64))
    resources.check_memory(cfg)
    est64 = resources.estimate_run_memory(cfg)
    assert est64["fields"] == 2 * 1 * 64 * 64 * 8
    cfg32 = parse_config(cfg.text + '[output]\nprecision = "float32"\n', source="mem.toml")
    assert resources.estimate_run_memory(cfg32)["fields"] * 2 == est64["fields"]


def test_many_observable_samples_count_as_host_memory():
    few = resources.estimate_run_memory(_config((16,), steps=10**6))
    many = resources.estimate_run_memory(parse_config(_config((16,), steps=10**12).text
                                                      + "[output]\nevery = 1\n", source="mem.toml"))
    assert many["host"] > 10**13 > few["host"]


def test_available_memory_reads_meminfo_and_cgroups(tmp_path):
    avail = resources.available_memory()
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < avail <= total
    # a fake cgroup v2 hierarchy: the tighter of the process's group and its parent counts
    root = tmp_path / "cg"
    (root / "jobs" / "me").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("memory\n")
    (root / "jobs" / "memory.max").write_text(str(3 << 30))
    (root / "jobs" / "memory.current").write_text(str(1 << 30))
    (root / "jobs" / "me" / "memory.max").write_text("max\n")
    (root / "jobs" / "me" / "memory.current").write_text("0\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/jobs/me\n")
    assert resources._cgroup_headroom(root, proc) == 2 << 30
    # cgroup v1: limit minus usage; the "unlimited" value is ignored
    v1 = tmp_path / "v1"
    (v1 / "memory" / "job").mkdir(parents=True)
    (v1 / "memory" / "job" / "memory.limit_in_bytes").write_text(str(5 << 30))
    (v1 / "memory" / "job" / "memory.usage_in_bytes").write_text(str(1 << 30))
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712")
    proc.write_text("4:memory:/job\n0::/\n")
    assert resources._cgroup_headroom(v1, proc) == 4 << 30


def test_a_theory_without_a_measurement_is_probed_on_a_tiny_lattice(monkeypatch):
    monkeypatch.setattr(resources, "MEASURED", {})
    cfg = _config((64, 64), 'name = "dirac"\nbias = "wilson"', "alternating")
    est = resources.estimate_run_memory(cfg)
    assert est["fields"] == 2 * 4 * 64 * 64 * 8  # K = 4 from the model built on 4 x 4 sites
    assert est["temporaries"] == int(resources._FALLBACK_TEMPORARIES * est["fields"])


def test_the_halo_check_counts_its_copies():
    """With ``[parallel] halo`` on several devices the check before the run holds four more states and a changed
    copy of the model (``nnfield.halo.with_halo``), before the chunk's temporaries: the peak counts the larger."""
    plain = resources.estimate_run_memory(_config((32, 32), extra="[parallel]\ndevices = 2\n"))
    with_halo = _config((32, 32), extra="[parallel]\ndevices = 2\nhalo = true\n")
    halo = resources.estimate_run_memory(with_halo)
    one = resources.estimate_run_memory(_config((32, 32), extra="[parallel]\nhalo = true\n"))
    assert plain["halo"] == one["halo"] == 0 and one["device"] == plain["device"]
    assert halo["halo"] == 4 * halo["fields"] + halo["model"]
    assert halo["device"] == halo["fields"] + halo["model"] + max(halo["temporaries"], halo["halo"])
    assert "halo check" in resources.describe_memory(with_halo, 1, 2)
    # devices = "all" splits only where there is more than one device (the test process has one)
    every = resources.estimate_run_memory(_config((32, 32), extra='[parallel]\ndevices = "all"\nhalo = true\n'))
    assert jax.device_count() == 1 and every["halo"] == 0 and every == one
