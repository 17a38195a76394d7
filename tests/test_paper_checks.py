"""Every registered ``nnfield verify`` check of Sec. 4 and Sec. 5 reaches its expected verdict (one test each).

Sec. 2 is covered by tests/test_duality_checks.py (slow) and Sec. 3 by tests/test_klein_gordon.py (quick); both
loop over every check of their section. Here each Sec. 4/5 check is its own test: the fast ones (about a second
each in a fresh process) in the quick suite, the rest with ``-m slow``. A check added to the registry is picked up
automatically (as slow until listed in ``QUICK``).
"""

from __future__ import annotations

import math

import pytest

from nnfield import paper

SECTIONS = (4, 5)
#: checks that run in about a second or less from a cold start (compilations included)
QUICK = {"(4.10)", "(4.12)", "(4.14)", "(4.23)", "(4.25)", "(4.33)", "(4.39)", "(4.40)", "(4.24) doublers"}


def _checks() -> list[paper.Check]:
    return [c for c in paper.load_checks() if c.section in SECTIONS]


def _params() -> list:
    return [pytest.param(c.equation, id=f"sec{c.section}:{c.equation}",
                         marks=() if c.equation in QUICK else pytest.mark.slow) for c in _checks()]


def test_sections_4_and_5_have_their_checks():
    eqs = {c.equation for c in _checks()}
    assert QUICK <= eqs, QUICK - eqs
    assert {"(4.5)", "(4.11) stable form", "(4.11) stable bound", "(4.20)/(4.37) H(k)", "(5.1)", "links",
            "(5.7)/(5.9)", "(5.10)"} <= eqs
    labels = [(c.section, c.equation) for c in paper.load_checks()]
    assert len(labels) == len(set(labels)), "duplicate check labels"


@pytest.mark.parametrize("equation", _params())
def test_paper_check_passes(equation):
    import jax

    jax.config.update("jax_enable_x64", True)
    (check,) = [c for c in _checks() if c.equation == equation]
    out = check.fn()
    assert out.verdict == check.expected, (check.equation, out)
    assert math.isfinite(out.measured), out
    assert out.detail and any(ch.isdigit() for ch in out.detail), out.detail
