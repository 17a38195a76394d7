"""Strict test configuration: float64, no implicit rank promotion, warnings are errors (pyproject)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")


def _persistent_compilation_cache() -> None:
    """JAX's persistent compilation cache for the test session, every program included (eager ops too).

    Most of the quick suite's time is XLA:CPU compiling (about 50 ms even for one eager op; ``docs/testing.md``),
    and the suite compiles the same programs on every run: with a warm cache a rerun of the gauge tests took 59 s
    instead of 148 s. Entries are keyed by the program, the compile options and the jaxlib version, so a stale
    entry cannot be used. ``NNFIELD_TEST_COMPILATION_CACHE=0`` turns it off; ``NNFIELD_TEST_CACHE_DIR`` chooses
    the directory (default ``$XDG_CACHE_HOME/nnfield/jax-tests``, i.e. ``~/.cache/nnfield/jax-tests``).
    """
    if os.environ.get("NNFIELD_TEST_COMPILATION_CACHE", "1") == "0":
        return
    from pathlib import Path

    root = os.environ.get("NNFIELD_TEST_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnfield" / "jax-tests"
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: run without the cache
        return
    jax.config.update("jax_compilation_cache_dir", str(root))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_persistent_compilation_cache()

#: XLA options of the quick suite: LLVM without optimization, XLA:CPU's older loop emitters, and each program's
#: LLVM module compiled whole (XLA splits it into up to 32 parts compiled in parallel: at O0 the parts' fixed cost
#: outweighs the parallelism, and the two test workers already keep both cores busy; ``docs/testing.md``)
FAST_COMPILE_FLAGS = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false",
                      "--xla_cpu_parallel_codegen_split_count=1")


def _fast_compile_wanted(config) -> bool:
    """The quick suite (the default ``-m 'not slow'``) compiles fast, unless ``NNFIELD_TEST_XLA_DEFAULTS=1``."""
    if os.environ.get("NNFIELD_TEST_XLA_DEFAULTS", "0") == "1":
        return False
    return (config.getoption("markexpr", "") or "").strip() == "not slow"


def pytest_configure(config) -> None:
    """Compile the quick suite's programs fast: XLA's fast-compile options for the whole test session.

    Half of the quick suite's time was XLA:CPU compiling small programs (``docs/testing.md``); with
    :data:`FAST_COMPILE_FLAGS` a gauged run's program compiles 3-5x faster and runs 6-30x slower, which on the
    test lattices (tens to thousands of sites) is the better trade. The quick suite's assertions are unchanged:
    they check physics to tolerances from the method's order or from round-off, which hold for any correct
    compilation. What only the optimized pipeline decides (a bit-identity of two different programs) is
    asserted with XLA's defaults restored per program (:data:`XLA_DEFAULT_OPTIONS`). The flags go into the
    environment, so the ``nnfield`` processes that tests start compile the same way as the test process: a run
    resumed in one and compared bit for bit with a run of the other needs the same compiler. The fault-injection
    tests run their ``nnfield`` processes with XLA's defaults (:func:`without_fast_compile`), and the slow suite
    (``-m slow``), the benchmarks and ``nnfield verify`` compile with XLA's defaults throughout.
    """
    if not _fast_compile_wanted(config):
        return
    flags = os.environ.get("XLA_FLAGS", "")
    extra = [f for f in FAST_COMPILE_FLAGS if f.split("=")[0] not in flags]  # the user's own setting wins
    os.environ["XLA_FLAGS"] = " ".join([flags, *extra]).strip()


def without_fast_compile(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child process that compiles with XLA's defaults (:data:`FAST_COMPILE_FLAGS` removed).

    For tests whose ``nnfield`` processes run long enough that the fast-compile options' slower code costs more
    than they save (the fault-injection runs of 10^4 steps); every run such a test compares must then come from
    a child process too.
    """
    flags = [f for f in env.get("XLA_FLAGS", "").split() if f not in FAST_COMPILE_FLAGS]
    out = dict(env)
    if flags:
        out["XLA_FLAGS"] = " ".join(flags)
    else:
        out.pop("XLA_FLAGS", None)
    return out


#: per-program compile options that restore XLA's defaults under :data:`FAST_COMPILE_FLAGS`
XLA_DEFAULT_OPTIONS = {"xla_backend_optimization_level": 3, "xla_cpu_use_fusion_emitters": True,
                       "xla_cpu_parallel_codegen_split_count": 32}

MAX_WORKERS = 8


def pytest_xdist_auto_num_workers(config) -> int:
    """Workers for ``-n logical`` (pyproject's default): one per usable core, at most ``MAX_WORKERS``.

    Every worker is a JAX process with its own compiled programs (a few hundred MiB each) and some tests start
    their own ``nnfield`` processes, so more workers than 8 buy little and cost memory.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still overrides this; ``-n 0`` runs everything in one process.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


#: test files whose tests spend seconds each in child processes (whole ``nnfield`` runs, several processes) or
#: building the docs site: run first, so that the workers do not end the suite with one of them alone on a
#: 13-second test while the other has nothing left to steal
FIRST = ("test_parallel.py", "test_faults.py", "test_signals.py", "test_docs.py", "test_fuzz_config.py")


def pytest_collection_modifyitems(config, items) -> None:
    """The tests of :data:`FIRST` first, the rest in their usual order (a stable sort: the same order in every
    xdist worker)."""
    items.sort(key=lambda item: 0 if item.path.name in FIRST else 1)


#: ``nnfield._entry.GC_THRESHOLDS`` (not imported from there: importing ``nnfield._entry`` installs the program's
#: start-up signal handlers)
GC_THRESHOLDS = (10_000, 20, 10)


def pytest_collection_finish(session) -> None:
    """The garbage collector of a worker: what collection imported (JAX, nnfield, the test modules, ~100 000
    objects) frozen out of its scans (``gc.freeze``), and collections less often (the ``nnfield`` program's
    thresholds: :data:`GC_THRESHOLDS`).

    Tracing and lowering allocate objects by the million, and a worker ends the quick suite holding 0.6-1.3
    million (JAX's caches of traced and compiled programs): with CPython's defaults the collector made 660-910
    middle and 32-37 full collections per worker, 9.4-11.8 s of its ~180 s (a ``gc.callbacks`` timer, session 39,
    `docs/testing.md`); with these settings 28-31 and 3, 2.0-2.9 s. Nothing a test asserts depends on when
    garbage is collected. Tests that start ``nnfield`` processes get the program's own start-up pause
    (``nnfield._entry``)."""
    import gc

    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@pytest.fixture
def jax_compiles(monkeypatch: pytest.MonkeyPatch):
    """The programs JAX compiles while the fixture is armed, as ``(function name, thread name)``, read from
    JAX's own log (``jax_log_compiles``: every program it lowers, also on a persistent-cache hit)."""
    import logging
    import re
    import threading

    import jax

    seen: list[tuple[str, str]] = []

    class Record(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            m = re.match(r"Compiling jit\((\w+)\)", record.getMessage())
            if m:
                seen.append((m.group(1), threading.current_thread().name))

    handler = Record(level=logging.DEBUG)
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "level", min(logger.level or logging.WARNING, logging.WARNING))
    jax.config.update("jax_log_compiles", True)
    try:
        yield seen
    finally:
        jax.config.update("jax_log_compiles", False)
        logger.removeHandler(handler)


#: a small float32 2D Maxwell-Dirac run (Wilson bias, one charged packet): a cheap program with links that learn
MAXWELL_DIRAC_2D = """
[theory]
name = "maxwell-dirac"
charge = 1.0
mass = 0.5
bias = "wilson"
[lattice]
shape = [32, 32]
spacing = 0.5
[time]
dt = 0.05
steps = 8
[initial]
kind = "charged_packets"
count = 1
width = 2.0
momentum = [1.0, 0.5]
norm = 1.0
[output]
every = 2
snapshot_every = 8
precision = "float32"
"""


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(20241108)


def shorten_example(text: str, steps: int = 4, every: int = 1, snapshot_every: int = 2) -> str:
    """An example config cut to ``steps`` steps, sampled every step, a snapshot every ``snapshot_every``."""
    import re

    out, section = [], None
    for line in text.splitlines():
        head = re.match(r"\s*\[(\w+)\]", line)
        if head:
            section = head.group(1)
        key = line.split("=")[0].strip() if "=" in line else None
        if (section, key) in {("time", "steps"), ("time", "t_end"), ("output", "every"),
                              ("output", "snapshot_every")}:
            continue
        out.append(line)
        if head and section == "time":
            out.append(f"steps = {steps}")
        if head and section == "output":
            out.append(f"every = {every}\nsnapshot_every = {snapshot_every}")
    text = "\n".join(out) + "\n"
    if "[output]" not in text:
        text += f"[output]\nevery = {every}\nsnapshot_every = {snapshot_every}\n"
    return text


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """``example_run(name)``: the run directory of ``examples/<name>.toml`` shortened (run once per session)."""
    from pathlib import Path

    from nnfield import runner
    from nnfield.config import parse_config

    root = Path(__file__).resolve().parents[1] / "examples"
    done: dict[str, Path] = {}

    def run(name: str) -> Path:
        if name not in done:
            src = root / f"{name}.toml"
            cfg = parse_config(shorten_example(src.read_text()), str(src))
            out = tmp_path_factory.mktemp("examples") / name
            res = runner.execute(cfg, out, progress=False, allow_unstable=True)
            assert res.status == "completed", (name, res.status)
            done[name] = out
        return done[name]

    return run
