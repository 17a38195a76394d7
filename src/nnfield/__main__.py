"""``python -m nnfield``: the command line (see :mod:`nnfield.cli`)."""

from __future__ import annotations

from .cli import entry

entry()
