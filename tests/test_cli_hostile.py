"""What a hostile command-line user found (session 20), each now one line and the documented exit code (2: bad
input or refused), checked before any work: the multi-process options, output files of `analyze --plot`,
`verify --json/--markdown` and `plot --out`, an unwritable `--out`, an edited `config.toml` under `--resume`, the
memory guard of `--resume --steps`, and a reader that closes stdout (`nnfield run ... | head -1`), which no
longer loses the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from conftest import shorten_example
from nnfield import cli
from nnfield import io as nio

ROOT = Path(__file__).resolve().parents[1]

#: the shipped 1D Klein-Gordon example, cut to 23 steps (a total off the sampling cadence)
SMALL = shorten_example((ROOT / "examples" / "kg_1d_packet.toml").read_text(), steps=23, every=5, snapshot_every=10)


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "small.toml"
    p.write_text(SMALL)
    return p


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nnfield: error: "), err
    return err[0]


@pytest.mark.parametrize("options,says", [
    (["--coordinator", "localhost:1234", "--num-processes", "2", "--process-id", "5"], "--process-id: expected 0..1"),
    (["--coordinator", "localhost:0", "--num-processes", "1", "--process-id", "0"], "expected HOST:PORT"),
    (["--coordinator", "nonsense", "--num-processes", "1", "--process-id", "0"], "expected HOST:PORT"),
    (["--coordinator", "localhost:1234", "--num-processes", "0", "--process-id", "0"], "--num-processes: expected"),
    (["--coordinator", "localhost:1234"], "give --num-processes P and --process-id I"),
    (["--num-processes", "2", "--process-id", "0"], "--num-processes: only with --coordinator"),
    (["--distributed", "--coordinator", "localhost:1234", "--num-processes", "1", "--process-id", "0"],
     "choose one"),
])
def test_bad_multi_process_options_are_one_line(cfg, tmp_path, capsys, options, says):
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "-q", *options]) == 2
    assert says in _one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_output_files_are_checked_before_the_work(cfg, tmp_path, capsys):
    assert cli.main(["analyze", str(cfg), "--plot", str(tmp_path / "d.txt"), "-q"]) == 2
    assert "matplotlib cannot write .txt" in _one_line_error(capsys)
    assert cli.main(["analyze", str(cfg), "--plot", str(tmp_path / "no" / "d.png"), "-q"]) == 2
    assert "does not exist" in _one_line_error(capsys)
    assert cli.main(["verify", "--section", "2", "--json", str(tmp_path / "no" / "x.json"), "-q"]) == 2
    assert "--json" in _one_line_error(capsys)
    (tmp_path / "afile").write_text("")
    assert cli.main(["plot", str(tmp_path), "--out", str(tmp_path / "afile")]) == 2
    assert "exists and is not a directory" in _one_line_error(capsys)
    # no suffix: matplotlib writes PNG and adds .png; the command names the file it wrote
    assert cli.main(["analyze", str(cfg), "--plot", str(tmp_path / "noext")]) == 0
    assert f"dispersion plot: {tmp_path / 'noext.png'}" in capsys.readouterr().out
    assert (tmp_path / "noext.png").is_file()


def test_the_demo_refuses_a_used_directory_before_it_says_anything(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert cli.main(["demo", "--out", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("nnfield: error: --out") and "not empty; pass --force" in err
    assert len(err.strip().splitlines()) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_unwritable_output_directory_is_refused_by_the_dry_run_too(cfg, tmp_path, capsys, monkeypatch):
    target = tmp_path / "locked"
    target.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == target else real(p, mode, **kw))
    for extra in (["--dry-run"], []):
        assert cli.main(["run", str(cfg), "--out", str(target / "sub"), "-q", *extra]) == 2
        assert "cannot write there" in _one_line_error(capsys)


def test_resume_refuses_an_edited_cadence_and_guards_memory(cfg, tmp_path, capsys):
    out = tmp_path / "r"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0
    text = (out / "config.toml").read_text()
    (out / "config.toml").write_text(text.replace("every = 5", "every = 10", 1))
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(out), "--steps", "40", "-q"]) == 2
    assert "output.every = 10" in _one_line_error(capsys)
    (out / "config.toml").write_text(text)
    assert cli.main(["run", "--resume", str(out), "--steps", str(10**14), "-q"]) == 2
    assert "the run needs about" in _one_line_error(capsys)
    assert cli.main(["run", "--resume", str(out), "--steps", "40", "-q"]) == 0


def test_a_closed_stdout_does_not_lose_the_run(cfg, tmp_path):
    out = tmp_path / "piped"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-m", "nnfield", "run", str(cfg), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # the reader is gone before the first line: every write to stdout fails (EPIPE)
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert "stdout was closed" in err and "Traceback" not in err
    with h5py.File(out / "run.h5", "r") as h5:
        assert nio.read_attrs(h5)["status"] == "completed"


def test_a_damaged_newest_checkpoint_names_the_way_back(cfg, tmp_path, capsys):
    text = cfg.read_text().replace("steps = 23", "steps = 40").replace(
        "[output]", "[output]\ncheckpoint_every = 10\ncheckpoint_keep = 5")
    cfg.write_text(text)
    out = tmp_path / "r"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0
    newest = sorted((out / "checkpoints").iterdir())[-1]
    shard = next(newest.glob("*.h5"))
    shard.write_bytes(shard.read_bytes()[:100])  # truncated, as by a full disk
    capsys.readouterr()
    assert cli.main(["run", "--resume", str(out), "--steps", "50", "-q"]) == 2
    line = _one_line_error(capsys)
    assert "unreadable shard file" in line and f"delete {newest} to resume from the previous checkpoint" in line
    import shutil

    shutil.rmtree(newest)
    assert cli.main(["run", "--resume", str(out), "--steps", "50", "-q"]) == 0


def test_a_toml_syntax_error_shows_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace("mass = 1.0", "mass = 1.0.0"))
    line = SMALL.splitlines().index("mass = 1.0") + 1
    assert cli.main(["run", str(bad), "-q"]) == 2
    assert f"fix line {line}: `mass = 1.0.0`" in _one_line_error(capsys)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + SMALL.encode())
    assert cli.main(["run", str(bom), "-q"]) == 2
    assert "byte-order mark" in _one_line_error(capsys)


def test_the_printed_sign_is_named_as_the_cause_of_an_unstable_network(cfg, tmp_path, capsys):
    cfg.write_text(SMALL.replace('sign = "corrected"', 'sign = "printed"'))
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "o"), "-q"]) == 2
    line = _one_line_error(capsys)
    assert 'theory.sign = "printed"' in line and 'use sign = "corrected"' in line and "scheme" not in line
