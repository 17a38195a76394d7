"""The paper-check registry behind ``nnfield verify``: checks keyed by the paper's equation numbers.

A check is a function returning an :class:`Outcome`: a verdict and the measured number behind it.
Verdicts:

- ``exact``: the equation holds to round-off (measured: the max relative residual);
- ``continuum``: it holds in the continuum limit (measured: the order of convergence);
- ``erratum``: as printed it fails and the corrected form is verified (measured: the corrected residual,
  with the printed failure in the detail);
- ``unstable``: the printed unit-step scheme grows (measured: the growth factor per step);
- ``condition``: the construction needs a condition the paper omits; it is detected (measured: violation).

A check passes when its verdict equals the verdict it was registered to expect. Checks live in
``nnfield.checks.sec<N>`` modules, imported by :func:`load_checks`; what goes beyond the paper (the dynamical
gauge fields its Sec. 5 leaves open) is the section ``"B"`` (:data:`BEYOND`, ``nnfield.checks.beyond``).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import time
import traceback
from collections.abc import Callable

VERDICTS = ("exact", "continuum", "erratum", "unstable", "condition", "fails")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a check measured: its ``verdict``, the ``measured`` number and a one-line ``detail``."""

    verdict: str
    measured: float
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class Check:
    equation: str
    section: int | str
    title: str
    expected: str
    fn: Callable[[], Outcome]


@dataclasses.dataclass(frozen=True)
class Result:
    check: Check
    outcome: Outcome
    seconds: float

    @property
    def passed(self) -> bool:
        return self.outcome.verdict == self.check.expected and math.isfinite(self.outcome.measured)

    def as_dict(self) -> dict[str, object]:
        return {
            "equation": self.check.equation,
            "section": self.check.section,
            "title": self.check.title,
            "expected": self.check.expected,
            "verdict": self.outcome.verdict,
            "measured": self.outcome.measured,
            "detail": self.outcome.detail,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
        }


REGISTRY: list[Check] = []
_SECTIONS = (2, 3, 4, 5)
#: the section of the checks that go beyond the paper (dynamical gauge fields)
BEYOND = "B"


def register(
    equation: str, section: int | str, title: str, expected: str
) -> Callable[[Callable[[], Outcome]], Callable]:
    """Decorator: register ``fn() -> Outcome`` as the check of ``equation`` (e.g. ``"(3.10)"``)."""
    if expected not in VERDICTS:
        raise ValueError(f"expected verdict must be one of {VERDICTS}, got {expected!r}")

    def deco(fn: Callable[[], Outcome]) -> Callable[[], Outcome]:
        REGISTRY.append(Check(equation, section, title, expected, fn))
        return fn

    return deco


def load_checks() -> list[Check]:
    """Import the check modules of every section that exists."""
    for name in [f"nnfield.checks.sec{sec}" for sec in _SECTIONS] + ["nnfield.checks.beyond"]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    importlib.import_module("nnfield.checks.maxwell_dirac")
    return list(REGISTRY)


def run_checks(section: int | str | None = None, progress: Callable[[Check], None] | None = None) -> list[Result]:
    """Run the registered checks (of one section, or all), in float64."""
    import jax

    jax.config.update("jax_enable_x64", True)
    results = []
    for check in load_checks():
        if section is not None and check.section != section:
            continue
        if progress is not None:
            progress(check)
        t0 = time.perf_counter()
        try:
            outcome = check.fn()
        except Exception as exc:  # a crashing check is a failed check, reported, not fatal
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            outcome = Outcome("fails", float("nan"), f"check raised {tb}")
        results.append(Result(check, outcome, time.perf_counter() - t0))
    return results
