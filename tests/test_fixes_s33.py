"""Fixes of session 33 outside the new theories' own test files."""

from __future__ import annotations

import pytest

from nnfield import cli
from nnfield import io as nio
from nnfield.errors import Terminated
from test_cli import KG_1D, write


@pytest.mark.parametrize(("exc", "code", "word"), [(KeyboardInterrupt, 130, "interrupted"),
                                                   (Terminated, 143, "terminated (SIGTERM)")])
def test_a_signal_after_the_run_completed_says_the_file_is_complete(tmp_path, monkeypatch, capsys, exc, code, word):
    """A signal during the summary of a finished run (the slow fault test sent one at 1.05 times the run's length)
    exits 130 / 143 as asked, but its line said "everything written so far is kept" while ``run.h5`` was complete:
    it now says the run had completed."""
    def stop(*args, **kwargs):
        raise exc()

    monkeypatch.setattr(cli, "_run_verdict", stop)
    out = tmp_path / "o"
    assert cli.main(["run", str(write(tmp_path, KG_1D)), "--out", str(out), "-q"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"nnfield: error: {word} after the run had completed: ")
    assert nio.load_run(out).status == "completed"
