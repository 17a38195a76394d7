"""The ``nnfield`` program pauses Python's garbage collector for its start-up imports (session 39).

Importing JAX, equinox, pydantic and the runner creates ~200 000 long-lived objects; the cyclic collector scanned
them repeatedly while they were created (110-120 ms of a 1 s warm run of ``examples/kg_1d_packet.toml``).
``nnfield._entry.main`` pauses the collector, ``nnfield.cli.main`` imports what the command needs and then
resumes it with those objects frozen (``gc.freeze``). These tests check the collector is back on before any
command's work, that a library caller's collector is never touched, and that the early import of the runner
touches no device (``_setup_jax`` and ``jax.distributed.initialize`` must come before the backend starts).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import GC_THRESHOLDS

ROOT = Path(__file__).resolve().parents[1]

_PROBE = textwrap.dedent(
    """
    import gc, json, sys
    import nnfield._entry as entry
    import nnfield.cli as cli

    seen = {}
    startup = cli._startup_imports

    def probe(args):
        seen["paused_before"] = not gc.isenabled()
        startup(args)
        seen["enabled_after"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()
        seen["thresholds"] = gc.get_threshold()
        seen["runner_imported"] = "nnfield.runner" in sys.modules
        from jax._src import xla_bridge
        seen["backends_before_command"] = sorted(xla_bridge._backends)

    cli._startup_imports = probe
    command = cli.main

    def main(argv=None):
        code = command(argv)
        seen["enabled_at_exit"] = gc.isenabled()
        sys.stderr.write("PROBE " + json.dumps(seen) + "\\n")
        return code

    cli.main = main
    sys.argv = ["nnfield", *sys.argv[1:]]
    entry.main()
    """
)


def _probe(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")]
    assert lines, proc.stderr[-2000:]
    return json.loads(lines[-1][len("PROBE "):]) | {"rc": proc.returncode}


def test_run_imports_with_the_collector_paused_and_resumes_it_before_the_command(tmp_path: Path) -> None:
    seen = _probe("run", "examples/kg_1d_packet.toml", "--dry-run", "--out", str(tmp_path / "o"), "-q")
    assert seen["rc"] == 0
    assert seen["paused_before"] and seen["enabled_after"] and seen["enabled_at_exit"]
    assert seen["runner_imported"]
    assert seen["frozen"] > 10_000  # JAX, equinox, pydantic and nnfield's modules, out of the collector's scans
    assert seen["backends_before_command"] == []  # importing the runner starts no device
    assert tuple(seen["thresholds"]) == GC_THRESHOLDS  # the test workers' (conftest) are the program's


def test_a_command_without_a_run_resumes_the_collector_too(tmp_path: Path) -> None:
    seen = _probe("plot", str(tmp_path / "missing"))
    assert seen["rc"] != 0  # nothing to plot: a one-line error
    assert seen["paused_before"] and seen["enabled_after"] and seen["enabled_at_exit"]
    assert not seen["runner_imported"]


def test_the_cli_called_from_python_leaves_the_collector_alone(tmp_path: Path) -> None:
    from nnfield import cli

    assert gc.isenabled()
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    argv = ["run", str(ROOT / "examples/kg_1d_packet.toml"), "--dry-run", "--out", str(tmp_path / "o"), "-q"]
    assert cli.main(argv) == 0
    assert gc.isenabled()
    assert gc.get_freeze_count() <= frozen  # nothing newly frozen (frozen objects that die leave the count)
    assert gc.get_threshold() == thresholds

