"""Every process of a multi-process run agrees on its start (session 28).

A process whose config file was missing (a node without the shared file system), or that was given a bad option,
exited in one line while the other processes waited in the run's first collective until ``jax.distributed``'s
timeout (minutes). Now every process meets at one collective after reading its config
(``nnfield.cli._agreed_start``) and the others refuse in one line as well, naming the process that failed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytest

from nnfield import cli, parallel
from nnfield.errors import ConfigError
from test_parallel_hunt_s27 import _one_line, _two_processes  # (two local processes joined by gloo)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_process_without_its_config_stops_the_others_in_one_line(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text((ROOT / "examples" / "kg_1d_packet.toml").read_text())
    out = tmp_path / "run"
    t0 = time.monotonic()
    got = _two_processes([[str(config), "--out", str(out)], [str(tmp_path / "missing.toml"), "--out", str(out)]])
    took = time.monotonic() - t0
    assert [rc for rc, _ in got] == [2, 2], got
    assert "process 1 of this 2-process run could not start" in _one_line(got[0][1])
    assert "missing.toml" in _one_line(got[1][1])
    assert took < 20, took  # (before: process 0 waited 30 s in gloo's first collective, then blamed a lost peer)
    assert not out.exists()
    # a bad option of --resume in one process (the run directory need not exist: the options are refused first)
    got = _two_processes([["--resume", str(out)], ["--resume", str(out), "--force"]])
    assert [rc for rc, _ in got] == [2, 2], got
    assert "process 1 of this 2-process run could not start" in _one_line(got[0][1])
    assert "--force: not with --resume" in _one_line(got[1][1])


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**{"coordinator": "localhost:1", "distributed": False, **kw})


def test_the_agreement_names_the_processes_that_failed(monkeypatch):
    """The message of a process whose own start succeeded (the collective replaced: one process here)."""
    monkeypatch.setattr(parallel, "processes_that", lambda flag: [1, 3])
    monkeypatch.setattr("jax.process_count", lambda: 4)
    with pytest.raises(ConfigError, match=r"^processes 1, 3 of this 4-process run could not start"):
        cli._agreed_start(_args(), lambda: "planned")


def test_a_failing_start_joins_the_agreement_then_raises_its_own_error(monkeypatch):
    calls = []
    monkeypatch.setattr(parallel, "processes_that", lambda flag: calls.append(flag) or [0])

    def plan():
        raise ConfigError("run.toml: no such file")

    with pytest.raises(ConfigError, match="no such file"):
        cli._agreed_start(_args(), plan)
    assert calls == [True]
    calls.clear()
    monkeypatch.setattr(parallel, "processes_that", lambda flag: calls.append(flag) or [])
    assert cli._agreed_start(_args(), lambda: "planned") == "planned" and calls == [False]
    assert cli._agreed_start(_args(coordinator=None), lambda: "alone") == "alone" and calls == [False]
