"""A script that runs nnfield from Python exits with its own exit code (session 43).

A run computes in a worker thread (:class:`nnfield.signals.StopRequests`). That thread kept the last call's
arguments (the state's JAX arrays) until its next job or its end, and the run's end only asked it to end: so it
released them while the interpreter was shutting down, in XLA's C++ code, in a thread Python then stopped. The
process ended with SIGABRT ("terminate called ... FATAL: exception not rethrown", exit code 134) after a
successful run: 1 of 3 times for a small 2D Maxwell-Dirac run, every time for a 184^2 one. The ``nnfield``
command was not affected (it ends with ``os._exit``). Now the worker drops each call's arguments when the call
returns, and a run waits for its worker to end. The same held for a first chunk still compiling in the background
(``runner._ChunkProgram.compile_ahead``) when a script ended: the interpreter's exit now waits for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from conftest import MAXWELL_DIRAC_2D, shorten_example
from nnfield import runner
from nnfield.config import parse_config

CONFIG = MAXWELL_DIRAC_2D
#: any run: the worker thread is every run's (the 2D Maxwell-Dirac run above cost 3.9 s of the quick suite here)
SMALL = shorten_example((Path(__file__).resolve().parent.parent / "examples" / "kg_1d_packet.toml").read_text(), 20)


def test_a_run_leaves_no_thread_of_its_own(tmp_path) -> None:
    res = runner.execute(parse_config(SMALL), tmp_path / "run", progress=False)
    assert res.status == "completed"
    left = [t.name for t in threading.enumerate() if t.name.startswith("nnfield-")]
    assert not left, left


def test_a_script_that_runs_nnfield_exits_with_its_own_code(tmp_path) -> None:
    # a run, then a second run's preparation (prepare(compile_ahead=True) returns with its first chunk compiling
    # in a background thread, what a run does before its run file), then the script ends at once. Before the
    # fixes the first part ended the process with SIGABRT (134) 1 of 3 times (the thread check above is the exact
    # guard), the second 3 of 3 times for this 96^2 chunk (the interpreter's exit did not wait for the compile,
    # parallel.add_background)
    script = textwrap.dedent(f"""
        import sys, jax
        jax.config.update("jax_enable_x64", True)
        from nnfield import runner
        from nnfield.config import parse_config
        res = runner.execute(parse_config({CONFIG!r}), sys.argv[1] + "/run", progress=False, force=True)
        print("STATUS", res.status)
        runner.prepare(parse_config({CONFIG.replace("[32, 32]", "[96, 96]")!r}), sys.argv[1] + "/next",
                       compile_ahead=True)
        print("PREPARED")
        sys.exit(3)
    """)
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    res = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 3 and "STATUS completed" in res.stdout and "PREPARED" in res.stdout, (
        res.returncode, res.stderr[-2000:])
