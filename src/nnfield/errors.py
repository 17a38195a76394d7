"""Named exceptions. Every message states what was expected, what was received, and the fix.

The library speaks plain words: a :class:`ParameterError` names the *parameter* of the function or class
that received it (``winding``, ``spacing``, ``center``), never a TOML key. Only the config layer
(:mod:`nnfield.config`) knows the TOML tables: it rewrites those errors as :class:`ConfigError` naming the
real key (``initial.winding``), and the command line maps every :class:`NNFieldError` to one line and
exit code 2 (``docs/cli.md``).
"""

from __future__ import annotations

from typing import Any


class NNFieldError(Exception):
    """Base class for all nnfield errors (the command line prints one line and exits with code 2)."""


class ConfigError(NNFieldError, ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range (names the TOML key)."""


class ParameterError(NNFieldError, ValueError):
    """A parameter passed to the library is out of range or inconsistent.

    Attributes:
        param: the parameter's name as the function or class calls it (e.g. ``"winding"``).
        problem: the rest of the message: what was expected, what was received and the fix.
    """

    def __init__(self, param: str, problem: str) -> None:
        self.param = param
        self.problem = problem
        super().__init__(f"{param}: {problem}")

    def renamed(self, key: str) -> ConfigError:
        """The same message as a :class:`ConfigError` naming the config key ``key`` (used by the config layer)."""
        return ConfigError(f"{key}: {self.problem}")


class InputError(NNFieldError, ValueError):
    """Input data (initial fields, link files) is unusable: non-finite, complex, of the wrong shape."""


class NotAnalysableError(NNFieldError, ValueError):
    """The linear (Fourier) analysis cannot be applied to this network (e.g. per-site coefficients).

    The stability gate of a run catches this error only; any other exception raised while analysing a
    network is a bug and surfaces.
    """


class UnstableError(NNFieldError):
    """The linear stability analysis says the requested network grows without bound."""


class NonFiniteError(NNFieldError):
    """A run produced NaN or Inf values. ``kept`` says what the run file holds (the command's final line)."""

    def __init__(self, message: str, kept: str = "the run file keeps everything up to the last finite sample"):
        super().__init__(message)
        self.kept = kept


class ConditionError(NNFieldError, ValueError):
    """A mathematical condition required by a construction does not hold."""

    def __init__(self, condition: str, violation: float, detail: str = "") -> None:
        self.condition = condition
        self.violation = float(violation)
        msg = f"condition {condition} violated: measured violation {violation:.3e}"
        if detail:
            msg += f"; {detail}"
        super().__init__(msg)


def expect(condition: bool, param: str, problem: str) -> None:
    """Raise :class:`ParameterError` ``param: problem`` unless ``condition`` holds."""
    if not condition:
        raise ParameterError(param, problem)


def show(value: Any) -> str:
    """A short representation of a received value for messages."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Terminated(KeyboardInterrupt):
    """SIGTERM (what batch schedulers send), handled like Ctrl-C: the run is marked "interrupted", exit 143."""
