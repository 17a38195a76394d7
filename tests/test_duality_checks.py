"""The Sec. 2 checks registered for ``nnfield verify`` reach their expected verdicts."""

from __future__ import annotations

import math

import pytest

from nnfield import paper


@pytest.mark.slow
def test_sec2_checks_pass():
    import nnfield.checks.sec2  # noqa: F401  (registers the checks)

    checks = [c for c in paper.load_checks() if c.section == 2]
    assert {"(2.1)-(2.9)", "(2.5)", "(2.1)-(2.2)", "(2.16) integrability", "(2.20)", "(2.17)-(2.21)"} <= {
        c.equation for c in checks
    }
    for check in checks:
        out = check.fn()
        assert out.verdict == check.expected, (check.equation, out)
        assert math.isfinite(out.measured)


def _check(equation):
    import nnfield.checks.sec2  # noqa: F401  (registers the checks)

    return next(c for c in paper.load_checks() if c.equation == equation)


def test_undetected_integrability_violation_states_its_number(monkeypatch):
    """The failure branch of ``(2.16) integrability`` says which violation it measured (not only 'not detected')."""
    from nnfield.duality.neurons import NeuronsDuality

    monkeypatch.setattr(NeuronsDuality, "check", lambda self, *a, **k: {"[B B^T, Hess V]": 0.25})
    out = _check("(2.16) integrability").fn()
    assert out.verdict == "fails" and out.measured == 0.25
    assert "2.50e-01" in out.detail


def test_undetected_loss_validity_violation_states_its_number(monkeypatch):
    """The failure branch of ``(2.20)`` reports the measured asymmetry of B^-1 W B."""
    from nnfield.duality import linear

    monkeypatch.setattr(linear, "linear_loss", lambda W, B, **k: None)
    out = _check("(2.20)").fn()
    assert out.verdict == "fails" and out.measured > 1e-3
    assert f"{out.measured:.2e}" in out.detail
