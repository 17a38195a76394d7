"""The output directory of a run: one run per directory (a lock), refuse what is not ours, clear only our own
files on ``--force``.

The lock is ``DIR/.nnfield.lock``: an exclusive ``flock`` held by the running process for the whole run, with
its PID written inside. The operating system drops the lock when the process ends, however it ends (also
SIGKILL), so a stale lock file never blocks a later run. A second run into a directory in use is refused even
with ``--force``, naming the PID that holds it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import IO

from . import io as nio
from .checkpoint import CHECKPOINT_DIR
from .errors import ConfigError
from .xdmf import XDMF_FILE

#: files a run writes into its output directory (removed by ``--force``; nothing else is touched)
OWNED_FILES = (nio.RUN_FILE, nio.CONFIG_FILE, f"{nio.RUN_FILE}.new", f"{nio.RUN_FILE}.resume-tmp", XDMF_FILE)
OWNED_GLOBS = ("*.png", "*field.gif", f"{XDMF_FILE}.tmp-*")  # (field.gif: `nnfield plot --animate`)
OWNED_DIRS = (CHECKPOINT_DIR,)
LOCK_FILE = nio.LOCK_FILE


class RunLock:
    """An exclusive lock on a run directory (``with RunLock(dir): ...``); see the module docstring."""

    def __init__(self, directory: str | Path, option: str = "--out") -> None:
        self.path = Path(directory) / LOCK_FILE
        self._fh: IO[str] | None = None
        #: the option that named the directory (``--out``, ``--resume``): the refusals name it
        self.option = option

    def acquire(self) -> RunLock:
        where = f"{self.option} {self.path.parent}"
        # The holder removes the lock file before it unlocks (``release``), so a file opened just before that
        # removal can be locked once it is gone, while a third process creates and locks a new one: both would
        # hold "the" lock. A lock counts only if the path still names the locked file; otherwise open it again.
        for _ in range(100):
            try:
                fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the whole run
            except OSError as exc:  # e.g. a read-only or immutable directory (which root's access check passes)
                raise ConfigError(f"{where}: cannot write into the run directory ({exc.strerror or exc}, errno "
                                  f"{exc.errno})") from None
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                break
            if _same_file(fh, self.path):
                return self._hold(fh)
            fh.close()  # locked a removed file: its holder released it meanwhile; the path names a new one
        else:
            raise ConfigError(f"{where}: the lock file {self.path.name} was replaced 100 times while taking it; "
                              "is something else removing it?")
        # the lock is held by another process
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        advice = ("choose another --out (--force does not override a run in progress)" if self.option == "--out"
                  else "then resume it")
        raise ConfigError(
            f"{where}: another nnfield run (PID {holder}) is writing into this directory; wait for it to "
            f"finish or {advice}"
        ) from None

    def _hold(self, fh: IO[str]) -> RunLock:
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            self.path.unlink(missing_ok=True)
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fh: IO[str], path: Path) -> bool:
    """Whether ``path`` still names the open file ``fh`` (not removed, not replaced)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fh.fileno())
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def check_not_in_use(out: str | Path) -> None:
    """Refuse early (before any work) a directory whose lock is held by a running process."""
    p = Path(out)
    if (p / LOCK_FILE).exists():
        RunLock(p).acquire().release()


def check_writable_dir(out: str | Path, option: str = "--out") -> Path:
    """Refuse (``ConfigError``, one line naming ``option``) a directory path that is a file, lies under a file, or
    cannot be written (its nearest existing directory: permissions, a read-only mount, an immutable directory)."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{option} {p}: exists and is not a directory; choose another {option}")
    for parent in p.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{option} {p}: {parent} is a file, not a directory; choose another {option}")
    nearest = next((q for q in (p, *p.parents) if q.exists()), Path("."))
    if not os.access(nearest, os.W_OK | os.X_OK):
        where = "" if nearest == p else f" (its nearest existing directory {nearest})"
        raise ConfigError(f"{option} {p}: cannot write there{where}: permission denied; choose another {option}")
    return p


def check_output_dir(out: str | Path, force: bool) -> Path:
    """Refuse (``ConfigError``) an output path that is a file, a directory in use by another run, or a non-empty
    directory without ``force``."""
    p = check_writable_dir(out)
    if p.is_dir():
        check_not_in_use(p)
    if p.is_dir() and any(f.name != LOCK_FILE for f in p.iterdir()) and not force:
        raise ConfigError(
            f"--out {p}: the output directory already exists and is not empty; pass --force to overwrite "
            f"its run files, or choose another --out"
        )
    return p


def prepare_output_dir(out: str | Path, force: bool) -> tuple[Path, RunLock]:
    """Create ``out`` and lock it; an existing non-empty directory needs ``force`` (which removes only nnfield's
    files: ``run.h5``, ``run.xmf``, ``config.toml``, ``*.png``, ``field.gif`` and ``checkpoints/``; anything else in
    it is left alone).
    The caller releases the returned lock when the run ends."""
    p = check_output_dir(out, force)
    try:
        p.mkdir(parents=True, exist_ok=True)
        lock = RunLock(p).acquire()
    except OSError as exc:  # what the access check could not foresee (e.g. a full disk, a race)
        raise ConfigError(f"--out {p}: cannot create the run directory ({exc.strerror or exc}, errno "
                          f"{exc.errno}); choose another --out") from None
    for name in OWNED_FILES:
        (p / name).unlink(missing_ok=True)
    for pattern in OWNED_GLOBS:
        for f in p.glob(pattern):
            f.unlink()
    for name in OWNED_DIRS:
        shutil.rmtree(p / name, ignore_errors=True)
    return p, lock
