"""Every mutation ``scripts/mutate.py`` plants still applies: its snippet occurs exactly once in its file.

A refactor that rewrites a mutated line retires the mutant silently (``mutate.py --list`` says ``stale``): three
were found stale in session 27 (two after dtype fixes, one a session old), so the test suite's own check of its
power had holes nobody saw. Reading the files only (no mutation is run here; ``python scripts/mutate.py`` does).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("nnfield_mutate", ROOT / "scripts" / "mutate.py")
mutate = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mutate  # (its dataclasses look their module up)
_spec.loader.exec_module(mutate)


@pytest.mark.parametrize("m", mutate.MUTATIONS, ids=lambda m: m.id)
def test_the_mutation_still_applies(m):
    path = ROOT / m.file
    assert path.is_file(), f"{m.id}: {m.file} is gone; point the mutation at the code's new home"
    n = path.read_text(encoding="utf-8").count(m.snippet)
    assert n == 1, f"{m.id}: its snippet occurs {n} times in {m.file}; update scripts/mutate.py"
    assert m.replacement != m.snippet
