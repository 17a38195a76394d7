"""A wall-clock limit on Python work (SymPy), so that ``nnfield dual`` answers in seconds or refuses.

:func:`time_limit` arms ``SIGALRM`` (``setitimer``) in the main thread; when it fires, the work is interrupted
between two Python bytecodes and :class:`TimeLimitError` (an :class:`ExpressionError`) is raised from the
``with`` block. The interrupt is a ``BaseException`` while it travels through the work, so no
``except Exception`` inside SymPy or our own zero test can swallow it, and it fires again every
:data:`REPEAT` seconds until it is out. A single long C-level operation (a huge integer power) cannot be
interrupted: those are bounded beforehand (:mod:`nnfield.duality.expression.fold`,
:func:`nnfield.duality.symbolic.zero.within_float_range`). Outside the main thread, or where ``SIGALRM``
does not exist, the block runs without a time limit. Work that ends after its limit without having been
interrupted (the tick was lost in a finalizer) is refused when the block exits, so the outcome is the same.
"""

from __future__ import annotations

import contextlib
import gc
import math
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

from .expression import ExpressionError

REPEAT = 0.05
#: the longest timer armed (about 116 days): ``setitimer`` overflows beyond the platform's ``time_t``, and a
#: longer limit is no limit in practice
MAX_TIMER = 1e7


class TimeLimitError(ExpressionError):
    """The work on an expression exceeded its wall-clock limit."""


class _Expired(BaseException):
    """The interrupt itself (a BaseException, so that ``except Exception`` does not stop it)."""


def _unraisable(frame: FrameType | None) -> bool:
    """True inside a garbage-collector callback or a finalizer, where an exception would only be printed."""
    if frame is None:
        return True
    code = frame.f_code
    return code.co_name == "__del__" or any(getattr(cb, "__code__", None) is code for cb in gc.callbacks)


def _expire(signum: int, frame: FrameType | None) -> None:
    if _unraisable(frame):
        return  # the timer repeats every REPEAT seconds: the next tick lands in ordinary code
    raise _Expired


@contextlib.contextmanager
def time_limit(seconds: float | None, what: str = "the computation") -> Iterator[None]:
    """Raise :class:`TimeLimitError` if the block runs longer than ``seconds`` (``None``: no limit).

    Nested limits: the enclosing timer is restored afterwards, less the time spent here. A limit beyond
    :data:`MAX_TIMER` seconds arms a timer of :data:`MAX_TIMER` seconds.
    """
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"the time limit must be a positive number of seconds, got {seconds!r}")
    start = time.monotonic()
    old_handler = signal.signal(signal.SIGALRM, _expire)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, min(seconds, MAX_TIMER), REPEAT)
    message = f"{what} exceeded the time limit of {seconds:g} s; simplify the expression (or raise --time-limit)"
    try:
        yield
    except _Expired:
        raise TimeLimitError(message) from None
    else:
        # The interrupt can be lost: a tick that lands in a finalizer or a weakref callback is skipped or
        # swallowed, and work shorter than REPEAT sees no second tick. Work that finished late is refused all
        # the same, so the answer never depends on where a signal happened to land.
        if time.monotonic() - start > seconds:
            raise TimeLimitError(message)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay > 0:
            signal.setitimer(signal.ITIMER_REAL, max(old_delay - (time.monotonic() - start), 1e-3), old_interval)
