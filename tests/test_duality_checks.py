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
