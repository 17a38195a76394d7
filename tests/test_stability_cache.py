"""The verdict cache of the stability gate (``nnfield.stability.cached_stability``): a rerun of the same network
reads its verdict back; any change that could change the verdict (a parameter, dt, the lattice, a file the
config reads, nnfield's code) recomputes it; without JAX's persistent cache nothing is kept."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import pytest

from nnfield import runner, stability
from nnfield.config import parse_config

CONFIG = """
[theory]
name = "klein-gordon"
network = "3.8"
mass = {mass}
[lattice]
shape = [32]
spacing = 0.5
[time]
dt = {dt}
steps = {steps}
scheme = "leapfrog"
[initial]
kind = "gaussian_packet"
center = [8.0]
width = 2.0
[output]
every = 5
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty verdict cache (JAX's cache dir pointed at ``tmp_path``) and a counter of the analyses made."""
    monkeypatch.setattr(stability, "verdict_cache_dir", lambda: tmp_path / stability.VERDICT_DIR)
    calls = []

    def counting(cfg):
        calls.append(cfg.time.dt)
        return runner._analyse(cfg)

    return tmp_path / stability.VERDICT_DIR, calls, counting


def cfg(mass=1.0, dt=0.1, steps=20):
    return parse_config(CONFIG.format(mass=mass, dt=dt, steps=steps))


def test_a_rerun_reads_the_verdict_back(cache):
    folder, calls, counting = cache
    first = stability.cached_stability(cfg(), counting)
    again = stability.cached_stability(cfg(steps=40), counting)  # the number of steps is not part of the network
    assert calls == [0.1]
    assert not first.cached and again.cached
    assert again == dataclasses.replace(first, steps=40)  # every field, dt_max and the amplification included
    assert len(list(folder.glob("*.json"))) == 1


def test_an_unstable_verdict_is_kept_as_unstable(cache):
    _, calls, counting = cache
    first = stability.cached_stability(cfg(dt=0.5), counting)  # the CFL bound here is 2/sqrt(4/a^2 + m^2) = 0.49
    again = stability.cached_stability(cfg(dt=0.5), counting)
    assert not first.stable and not again.stable and again.cached and len(calls) == 1
    assert again.refusal("x.toml") == first.refusal("x.toml")


@pytest.mark.parametrize("change", [dict(mass=1.5), dict(dt=0.2)])
def test_a_changed_network_is_analysed_again(cache, change):
    _, calls, counting = cache
    stability.cached_stability(cfg(), counting)
    other = stability.cached_stability(cfg(**change), counting)
    assert len(calls) == 2 and not other.cached


def test_other_code_or_a_changed_file_is_analysed_again(cache, monkeypatch, tmp_path):
    _, calls, counting = cache
    c = cfg()
    key = stability._verdict_key(c)
    monkeypatch.setattr(stability, "_source_digest", lambda: "another nnfield")
    assert stability._verdict_key(c) != key
    data = tmp_path / "links.npz"
    data.write_bytes(b"one")
    with_file = dataclasses.replace(c, initial=dataclasses.replace(c.initial, params={"path": str(data)}))
    k1 = stability._verdict_key(with_file)
    data.write_bytes(b"two")  # same name, other contents
    assert stability._verdict_key(with_file) != k1


def test_other_compiler_flags_are_analysed_again(monkeypatch):
    """The impulse kernel compiled otherwise (the quick suite's ``nnfield`` processes: LLVM unoptimized) can round
    ``max_amplification`` otherwise: such a verdict is not read back by a run compiled with XLA's defaults."""
    c = cfg()
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("NNFIELD_XLA_DEFAULTS", raising=False)
    key = stability._verdict_key(c)
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=0")
    assert stability._verdict_key(c) != key
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setenv("NNFIELD_XLA_DEFAULTS", "0")
    assert stability._verdict_key(c) != key
    monkeypatch.delenv("NNFIELD_XLA_DEFAULTS")
    assert stability._verdict_key(c) == key


def test_a_broken_entry_is_recomputed_and_replaced(cache):
    folder, calls, counting = cache
    stability.cached_stability(cfg(), counting)
    (entry,) = folder.glob("*.json")
    entry.write_text("{not json")
    again = stability.cached_stability(cfg(), counting)
    assert len(calls) == 2 and not again.cached
    assert json.loads(entry.read_text())["stable"] is True


def test_no_compilation_cache_no_verdict_cache(monkeypatch):
    monkeypatch.setattr(stability, "verdict_cache_dir", lambda: None)
    calls = []
    for _ in range(2):
        stability.cached_stability(cfg(), lambda c: calls.append(1) or runner._analyse(c))
    assert len(calls) == 2


def test_the_verdicts_live_in_jax_compilation_cache():
    root = jax.config.jax_compilation_cache_dir  # set by conftest.py unless NNFIELD_TEST_COMPILATION_CACHE=0
    expected = None if not root else Path(root) / stability.VERDICT_DIR
    assert stability.verdict_cache_dir() == expected
