"""A rich progress bar for runs (steps, elapsed, ETA, site-updates per second) on stderr."""

from __future__ import annotations

from typing import Any


# ----------------------------------------------------------------------------------------------------------
# progress bar
# ----------------------------------------------------------------------------------------------------------
class _Bar:
    def __init__(self, progress: Any, task: Any) -> None:
        self.progress, self.task = progress, task

    def advance(self, n: int, rate: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=n, rate=_fmt_rate(rate), description="running")


def _fmt_rate(rate: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.3g} {unit}site-upd/s"
    return f"{rate:.3g} site-upd/s"


class progress_bar:
    """A rich progress bar (steps, elapsed, ETA, site-updates/s) on stderr; a no-op when disabled."""

    def __init__(self, enabled: bool, console: Any, total: int) -> None:
        self.enabled, self.console, self.total = enabled, console, total
        self.progress: Any = None

    def __enter__(self) -> _Bar:
        if not self.enabled:
            return _Bar(None, None)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:>9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rate]}"),
            console=self.console or Console(stderr=True),
        )
        self.progress.__enter__()
        task = self.progress.add_task("compiling", total=self.total, rate="")
        return _Bar(self.progress, task)

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)
