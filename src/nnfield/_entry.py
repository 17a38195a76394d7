"""The ``nnfield`` program's first module: answers SIGINT and SIGTERM from the first moment nnfield's code runs.

Until :func:`nnfield.cli.entry` installs its own handlers (after importing the command line), a signal ends the
process at once with one line and exit 130 / 143: nothing has been written yet. (Before the interpreter has
loaded this module, in its first few tens of milliseconds, the operating system's default action applies.)
"""

from __future__ import annotations

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


def main() -> None:
    """Run :func:`nnfield.cli.entry` (which replaces the start-up handlers installed at import)."""
    _install()
    from .cli import entry

    entry()


if __name__ == "__main__":  # pragma: no cover
    main()
