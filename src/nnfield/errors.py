"""Named exceptions. Every message states what was expected, what was received, and the fix."""

from __future__ import annotations


class NNFieldError(Exception):
    """Base class for all nnfield errors."""


class ConfigError(NNFieldError, ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


class UnstableError(NNFieldError):
    """The linear stability analysis says the requested network grows without bound."""


class NonFiniteError(NNFieldError):
    """A run produced NaN or Inf values."""


class ConditionError(NNFieldError, ValueError):
    """A mathematical condition required by a construction does not hold."""

    def __init__(self, condition: str, violation: float, detail: str = "") -> None:
        self.condition = condition
        self.violation = float(violation)
        msg = f"condition {condition} violated: measured violation {violation:.3e}"
        if detail:
            msg += f"; {detail}"
        super().__init__(msg)
