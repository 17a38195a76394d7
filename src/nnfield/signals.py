"""Signals during a run: SIGINT and SIGTERM are recorded, and the run stops at the next safe point.

A handler that raises at once can land anywhere, also inside a garbage-collector callback, where Python
prints "Exception ignored" and the interrupt is lost (the run went on). Instead, :class:`StopRequests` records
the first signal and :meth:`StopRequests.check` raises it (``KeyboardInterrupt`` for SIGINT,
:class:`~nnfield.errors.Terminated` for SIGTERM) at the runner's safe points: after building, after the
stability analysis, and between chunks (bounded in work, so a run answers within a chunk). A second signal
raises at once.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from .errors import Terminated


class StopRequests:
    """``with StopRequests() as stop: ... stop.check() ...`` (handlers installed in the main thread only)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # a second signal: stop now
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        self.signum = signum

    def check(self) -> None:
        """Raise the recorded signal, if any (``KeyboardInterrupt`` or :class:`Terminated`)."""
        if self.signum is not None:
            raise Terminated() if self.signum == signal.SIGTERM else KeyboardInterrupt()

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
