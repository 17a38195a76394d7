"""The ``nnfield`` program's first module: answers SIGINT and SIGTERM from the first moment nnfield's code runs.

Until :func:`nnfield.cli.entry` installs its own handlers (after importing the command line), a signal ends the
process at once with one line and exit 130 / 143: nothing has been written yet. (Before the interpreter has
loaded this module, in its first few tens of milliseconds, the operating system's default action applies.)
"""

from __future__ import annotations

import gc
import os
import signal
import sys


def _early(signum: int, frame: object) -> None:
    code, what = (143, "terminated (SIGTERM)") if signum == signal.SIGTERM else (130, "interrupted")
    try:
        sys.stderr.write(f"nnfield: error: {what} during start-up; nothing was written\n")
        sys.stderr.flush()
    finally:
        os._exit(code)


def _install() -> None:
    signal.signal(signal.SIGTERM, _early)
    signal.signal(signal.SIGINT, _early)


_install()  # at import: the console script imports this module before anything else of nnfield's


#: whether :func:`main` paused Python's cyclic garbage collector for the start-up's imports
_paused = False

#: whether this process is the ``nnfield`` program (:func:`main` ran), whose start-up imports packages lazily
_program = False

#: the collector's thresholds once it is back on (:func:`startup_done`): the first generation collected every
#: 10 000 net allocations (CPython's default: 700), the second every 20 of those (default 10). Tracing allocates
#: objects by the million; with the defaults, ``nnfield verify`` (warm cache) spent 1.0 s of 10.1 s in the
#: collector, with these 0.27 s of 9.5 s (session 39). Reference counting still frees acyclic garbage at once.
GC_THRESHOLDS = (10_000, 20, 10)


def main() -> None:
    """Run :func:`nnfield.cli.entry` (which replaces the start-up handlers installed at import).

    Python's cyclic garbage collector is paused from here until the command's modules are imported
    (:func:`startup_done`, called by :func:`nnfield.cli.main`). Importing JAX, equinox, pydantic and nnfield
    creates about 200 000 long-lived objects, and the collector scanned them again and again while they were
    being created: in a warm run of ``examples/kg_1d_packet.toml`` it took 100-128 ms, about a tenth of the
    process (``docs/performance.md``, "Overhead of small runs", session 39).

    equinox and ``jax.extend`` are made to import lazily (:mod:`nnfield._lazy_imports`): the eight names of
    equinox nnfield uses come from the three modules that define them, ``jax.extend``'s submodules import without
    the package's ``__init__`` (which imports Pallas), and the rest (equinox's layers, internals and debugging
    tools: 0.1-0.15 s) is imported only if something asks for more (session 40)."""
    global _paused, _program
    _install()
    _program = True
    if gc.isenabled():
        gc.disable()
        _paused = True
    from . import _lazy_imports

    _lazy_imports.install("equinox")
    from .cli import entry

    entry()


def lazy_jax_extend() -> None:
    """In the ``nnfield`` program, ``jax.extend`` without its ``__init__`` (:mod:`nnfield._lazy_imports`): called
    by :func:`nnfield.cli.main` just before a run's imports (which import JAX anyway). A no-op elsewhere."""
    if _program:
        from . import _lazy_imports

        _lazy_imports.install("jax.extend")


def startup_done() -> None:
    """The collector back on, with every object that exists now moved out of its reach (:func:`gc.freeze`) and
    collections less often (:data:`GC_THRESHOLDS`).

    Called once the command's modules are imported: what exists then is modules, classes and functions that live
    as long as the process, so the collector need not scan them again. A no-op unless :func:`main` paused the
    collector (nnfield used as a library, or :func:`nnfield.cli.main` called from Python, leaves it alone)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        gc.enable()


if __name__ == "__main__":  # pragma: no cover
    main()
