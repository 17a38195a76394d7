"""Signals during a run: SIGINT and SIGTERM are recorded, and the run stops at the next safe point.

A handler that raises at once can land anywhere, also inside a garbage-collector callback, where Python
prints "Exception ignored" and the interrupt is lost (the run went on). Instead, :class:`StopRequests` records
the first signal and :meth:`StopRequests.check` raises it (``KeyboardInterrupt`` for SIGINT,
:class:`~nnfield.errors.Terminated` for SIGTERM) at the runner's safe points: after building, after the
stability analysis, and between chunks. A second signal raises at once.

The long computations (building the model and initial data, compiling, the stability analysis, every chunk)
run through :meth:`StopRequests.call`: in a worker thread while the main thread waits in short slices, so a
signal is acted on within :data:`POLL_SECONDS` even in the middle of an XLA compile or a long chunk (whose
result is then abandoned; the ``nnfield`` command ends the process at once after an interrupt).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import Terminated

T = TypeVar("T")

#: how often the main thread checks for a recorded signal while a worker computes
POLL_SECONDS = 0.05


def exit_at_once(signum: int, frame: Any) -> None:
    """A handler for the ``nnfield`` program outside a run: one line, then exit 130 (SIGINT) / 143 (SIGTERM) at
    once. An exception raised from a handler instead can land inside an import (then the C extension being
    initialized turns it into an ``ImportError`` with a traceback: seen with ``import jax`` under load) or a
    garbage-collector callback (then it is lost); outside a run there is nothing to save."""
    code, what = (143, "terminated (SIGTERM)") if signum == signal.SIGTERM else (130, "interrupted")
    try:
        sys.stdout.flush()
        sys.stderr.write(f"nnfield: error: {what}\n")
        sys.stderr.flush()
    finally:
        os._exit(code)


class _Worker:
    """One daemon thread that runs the calls of :meth:`StopRequests.call` one after the other.

    Reused for every chunk of a run: a new thread per chunk cost about 0.4 ms per call (thread start and JAX's
    per-thread state), as much as the compiled program of a small chunk (the 1+1 Dirac example, 150 ticks of 256
    sites: 1.57 ms per chunk in a new thread, 1.15 ms in one thread; ``docs/performance.md``).
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.busy = False
        self._thread = threading.Thread(target=self._loop, name="nnfield-compute", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, kwargs, box, done = job
            try:
                box["result"] = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                box["error"] = exc
            finally:
                # the call's arguments (JAX arrays) are released now, while the caller runs, not when the next
                # job arrives or the thread ends: a release during the interpreter's exit ran XLA's C++ in a
                # thread Python then stopped (SIGABRT, "FATAL: exception not rethrown", session 43)
                job = fn = args = kwargs = box = None
                done.set()

    def submit(self, fn: Callable[..., Any], args: Any, kwargs: Any) -> tuple[dict[str, Any], threading.Event]:
        box: dict[str, Any] = {}
        done = threading.Event()
        self._jobs.put((fn, args, kwargs, box, done))
        return box, done

    def close(self, wait: bool = False) -> None:
        """End the thread after the call it is running, if any (an abandoned call finishes on its own); with
        ``wait``, wait for it to end (a worker that is not busy: at once)."""
        self._jobs.put(None)
        if wait:
            self._thread.join()


def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a daemon thread while the calling thread waits in :data:`POLL_SECONDS` slices, so that its
    Python signal handlers keep running while ``fn`` blocks in native code (e.g. joining a multi-process run,
    which waits in C++ for every process); ``fn``'s exception is re-raised here."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="nnfield-blocking-call", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(POLL_SECONDS)
    if "error" in box:
        raise box["error"]
    return box["result"]


def _agreed_signal(signum: int | None) -> int | None:
    """The signal every process of a multi-process run acts on: SIGTERM if any process recorded it, else SIGINT
    if any did, else ``None`` (a collective: every process must call it at the same point)."""
    import numpy as np
    from jax.experimental import multihost_utils

    codes = np.asarray(multihost_utils.process_allgather(np.int32(signum or 0)))
    if (codes == signal.SIGTERM).any():
        return int(signal.SIGTERM)
    return int(signal.SIGINT) if (codes == signal.SIGINT).any() else None


class StopRequests:
    """``with StopRequests() as stop: ... stop.check() ...`` (handlers installed in the main thread only)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._worker: _Worker | None = None
        #: a multi-process run: the processes stop together (see :meth:`check`)
        self.collective = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # a second signal: stop now
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        self.signum = signum

    def check(self) -> None:
        """Raise the recorded signal, if any (``KeyboardInterrupt`` or :class:`Terminated`).

        In a multi-process run (:attr:`collective`) the processes agree first (one all-gather of their recorded
        signals; every process reaches its checks in the same order): if any process got a signal, every one
        raises it (SIGTERM before SIGINT), so they stop at the same point and write their checkpoint shards
        together. A signal to one process only used to leave the others waiting in a collective for ever."""
        signum = self.signum
        if self.collective:
            signum = _agreed_signal(signum)
        if signum is not None:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, computed in a worker thread; a signal recorded meanwhile is raised at once
        (the worker's result is abandoned). Outside the main thread, or with no handlers installed, a plain
        call."""
        if not self._previous or threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)
        if self.collective:  # no abandoning, no agreement per call: the processes stop together at the loop's
            return fn(*args, **kwargs)  # check between chunks (one all-gather per chunk)
        self.check()
        if self._worker is None or self._worker.busy:  # none yet, or still busy with an abandoned call
            if self._worker is not None:
                self._worker.close()
            self._worker = _Worker()
        worker = self._worker
        box, done = worker.submit(fn, args, kwargs)
        worker.busy = True
        while not done.wait(POLL_SECONDS):
            self.check()  # raises on a recorded signal: the call is abandoned, the worker stays busy
        worker.busy = False
        if "error" in box:
            raise box["error"]
        return box["result"]

    def __enter__(self) -> StopRequests:
        from .parallel import multi_process

        self.collective = multi_process()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._worker is not None:  # (joined unless it still runs an abandoned call: the program then exits)
            self._worker.close(wait=not self._worker.busy)
            self._worker = None
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
