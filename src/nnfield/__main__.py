"""``python -m nnfield``: the command line (see :mod:`nnfield.cli`)."""

from __future__ import annotations

from ._entry import main

main()
