"""The processes of a multi-process run that share a host build their initial state one at a time (session 44).

Every process builds the whole initial state and model on its host before it keeps its shards
(``docs/scaling.md``, "Host memory"), so a host with P processes held P whole builds at once, and the memory guard
refused a run that one build at a time would fit. Now the processes on a host are counted from every process's
host identity (``parallel.host_ranks``; before, only from the launcher's environment) and, where only one build
at a time fits (``resources.check_memory(..., turns=True)``) or with ``NNFIELD_BUILD_IN_TURNS=1``, they take turns
(``parallel.in_turns``): a process builds and places its shards, frees the whole state, and the next one starts.
The guard's verdict is shared: a refusal in one process (hosts differ in memory) is a refusal in every process;
before, the others went on to build and then waited in the next collective.

Quick: the rank arithmetic, the turns' order and error handling with a stand-in barrier, the guard's three
outcomes. Slow: two local processes building in turns equal one process, and a refusal in one process ends both.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nnfield import parallel, resources
from nnfield.config import parse_config
from nnfield.errors import ConfigError, InputError
from test_parallel import CONFIG as _TWO_PROCESS_CONFIG  # (a 2D Klein-Gordon random spectrum)


def kg(n: int, steps: int = 200) -> str:
    """The two-process tests' config (``tests/test_parallel.py``) on an ``n x n`` lattice, built whole in every
    process (``[parallel] build = "whole"``: since session 45 this random field is otherwise built split, each
    process its own slabs, and no process takes turns; ``tests/test_split_initial_s45.py``)."""
    text = _TWO_PROCESS_CONFIG.format(steps=steps).replace("shape = [32, 24]", f"shape = [{n}, {n}]")
    return text + '[parallel]\nbuild = "whole"\n'


def test_host_ranks_count_the_processes_of_each_host() -> None:
    a, b = np.full(16, 1, np.uint8), np.full(16, 2, np.uint8)
    ids = np.stack([a, b, a, a, b])  # processes 0, 2, 3 on host a; 1, 4 on host b
    assert [parallel.host_ranks_of(ids, i) for i in range(5)] == [(0, 3, 3), (0, 2, 3), (1, 3, 3), (2, 3, 3),
                                                                 (1, 2, 3)]
    assert parallel.host_ranks() == (0, 1, 1)  # one process: no collective


def test_each_rank_builds_in_its_own_turn_and_every_turn_is_waited_for(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "_TURN_CALLS", 0)  # (a run's first builds: barriers without a call number)
    events: list[str] = []

    def build() -> str:
        events.append("build")
        return "built"

    assert parallel.in_turns(1, 3, build, wait=events.append) == "built"
    assert events == ["nnfield-build-turn-0", "build", "nnfield-build-turn-1", "nnfield-build-turn-2"]
    events.clear()
    assert parallel.in_turns(0, 0, build, wait=events.append) == "built" and events == ["build"]  # no turns
    events.clear()
    parallel.in_turns(0, 1, build, wait=events.append)  # a second build in the same process (a resume after a run):
    assert events == ["build", "nnfield-build-turn-0-2"]  # barriers of their own (the service names each once)


def test_a_failed_build_waits_for_the_other_turns_then_raises_its_own_error(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "_TURN_CALLS", 0)
    events: list[str] = []

    def build() -> None:
        events.append("build")
        raise InputError("the initial data has NaN values")

    with pytest.raises(InputError, match="NaN"):
        parallel.in_turns(0, 2, build, wait=events.append)
    assert events == ["build", "nnfield-build-turn-0", "nnfield-build-turn-1"]  # the others' turns still held


def test_the_guard_builds_in_turns_only_where_only_turns_fit(monkeypatch) -> None:
    cfg = parse_config(kg(256))
    est = resources.estimate_run_memory(cfg)
    peak = resources._turns_peak(est, 4)
    assert est["total"] < peak < 4 * est["total"]  # one build beside what three processes keep after placing
    monkeypatch.setattr(resources, "available_memory", lambda: (peak + 4 * est["total"]) // 2)
    assert resources.check_memory(cfg, local=4, turns=True) is True
    with pytest.raises(InputError, match="in each of the 4 processes on this host"):  # a caller without turns
        resources.check_memory(cfg, local=4)
    monkeypatch.setattr(resources, "available_memory", lambda: 4 * est["total"])
    assert resources.check_memory(cfg, local=4, turns=True) is False  # every build at once fits: no turns
    monkeypatch.setattr(resources, "available_memory", lambda: peak - 1)
    with pytest.raises(InputError, match="one process at a time, about"):  # not even one at a time
        resources.check_memory(cfg, local=4, turns=True)
    assert resources.check_memory(cfg, local=1, turns=True) is False  # one process: nothing to take turns at


def test_a_lost_turn_is_one_line() -> None:
    def wait(name: str) -> None:
        raise ConfigError(f"a process of this 2-process run did not finish its turn ({name})")

    with pytest.raises(ConfigError, match="did not finish its turn"):
        parallel.in_turns(0, 2, lambda: None, wait=wait)


def _two(cfg, out, env_of, *args: str) -> list[subprocess.CompletedProcess[str]]:
    """``nnfield run CFG --out OUT ARGS`` (``cfg = None``: ``nnfield run --resume OUT ARGS``) in two processes."""
    from test_parallel import _env, _free_port

    port = _free_port()
    what = ["--resume", str(out)] if cfg is None else [str(cfg), "--out", str(out)]
    procs = [subprocess.Popen([sys.executable, "-m", "nnfield", "run", *what, *args,
                               "--coordinator", f"localhost:{port}", "--num-processes", "2", "--process-id", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**_env(), **env_of(i)})
             for i in range(2)]
    done = []
    for p in procs:
        try:
            out_, err = p.communicate(timeout=600)
        finally:
            if p.poll() is None:
                p.kill()
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out_, err))
    return done


@pytest.mark.slow
def test_two_processes_building_in_turns_equal_one(tmp_path) -> None:
    from test_parallel import _nnfield, assert_close

    cfg = tmp_path / "kg.toml"
    cfg.write_text(kg(32))
    ref = tmp_path / "one"
    assert _nnfield("run", str(cfg), "--out", str(ref), "-q").returncode == 0
    res = _two(cfg, tmp_path / "two", lambda i: {"NNFIELD_BUILD_IN_TURNS": "1"})
    assert [r.returncode for r in res] == [0, 0], [r.stderr for r in res]
    assert "building the initial state in turns: 2 processes per host" in res[0].stdout, res[0].stdout
    assert_close(ref, tmp_path / "two")
    # a resume builds its model in turns too, and extends the run as one process does
    longer = tmp_path / "longer.toml"
    longer.write_text(kg(32, 300))
    assert _nnfield("run", str(longer), "--out", str(tmp_path / "one300"), "-q").returncode == 0
    res = _two(None, tmp_path / "two", lambda i: {"NNFIELD_BUILD_IN_TURNS": "1"}, "--steps", "300")
    assert [r.returncode for r in res] == [0, 0], [r.stderr for r in res]
    assert "building the initial state in turns" in res[0].stdout, res[0].stdout
    assert_close(tmp_path / "one300", tmp_path / "two")


@pytest.mark.slow
def test_a_refusal_of_the_guard_in_one_process_ends_every_process(tmp_path) -> None:
    # process 1 skips the guard (as a host with room would pass it); process 0 refuses a lattice no host holds.
    # Before, process 1 went on to build 2^40 sites while process 0 had left
    cfg = tmp_path / "kg.toml"
    cfg.write_text(kg(2**20))
    res = _two(cfg, tmp_path / "two", lambda i: {"NNFIELD_SKIP_MEMORY_CHECK": "1"} if i == 1 else {})
    assert [r.returncode for r in res] == [2, 2], [r.stderr for r in res]
    assert "needs about" in res[0].stderr
    assert "the memory guard refused this run in process 0" in res[1].stderr, res[1].stderr
