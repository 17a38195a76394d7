"""Command-line polish: "did you mean", global -q/-v, verdict lines, clean help, `dual --json`, the doubler block
of `analyze --json`, no exception class names in routine output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nnfield import cli, paper

ROOT = Path(__file__).resolve().parents[1]

KG = """\
[theory]
name = "klein-gordon"
mass = 1.0
[lattice]
shape = [16]
spacing = 0.5
[time]
dt = 0.1
steps = 400
[initial]
kind = "gaussian_packet"
width = 2.0
[output]
every = 5
snapshot_every = 100
"""

DIRAC_2D_FORWARD = """\
[theory]
name = "dirac"
dimension = 2
mass = 0.5
network = "stable"
bias = "forward"
[lattice]
shape = [8, 4]
spacing = 1.0
[time]
dt = 0.05
steps = 10
scheme = "alternating"
[initial]
kind = "gaussian_packet"
center = [4.0, 2.0]
width = 1.0
"""

CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception|Warning)\b")


@pytest.fixture
def kg_cfg(tmp_path):
    p = tmp_path / "kg.toml"
    p.write_text(KG)
    return p


def _lines(text: str) -> list[str]:
    return [ln for ln in text.strip().splitlines() if ln.strip()]


# ----------------------------------------------------------------------------------------------------------
# did you mean
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,want", [
    (["-q", "verfy"], "unknown command 'verfy'; did you mean `nnfield verify`?"),
    (["--no-compilation-cache", "anlyze", "x.toml"], "did you mean `nnfield analyze`?"),
    (["run", "--forse", "x.toml"], "unrecognized argument --forse; did you mean '--force'?"),
    (["verify", "--sektion", "3"], "did you mean '--section'?"),
    (["dual", "--hamiltonain", "beta**2/2"], "did you mean '--hamiltonian'?"),
    # a global option after the command: it suggested itself ("did you mean '--no-compilation-cache'?")
    (["run", "x.toml", "--no-compilation-cache"], "--no-compilation-cache is an option of `nnfield` itself: put it "
                                                  "before the command (`nnfield --no-compilation-cache run ...`)"),
])
def test_did_you_mean(argv, want, capsys):
    assert cli.main(argv) == 2
    err = _lines(capsys.readouterr().err)
    assert len(err) == 1 and err[0].startswith("nnfield: error: ") and want in err[0], err


def test_no_suggestion_for_nonsense(capsys):
    assert cli.main(["run", "--zzzzzz", "x.toml"]) == 2
    err = capsys.readouterr().err
    assert "did you mean" not in err and "unrecognized argument --zzzzzz" in err


# ----------------------------------------------------------------------------------------------------------
# -q / -v and verdict lines
# ----------------------------------------------------------------------------------------------------------
def test_run_quiet_prints_only_the_verdict(kg_cfg, tmp_path, capsys):
    for argv in (["-q", "run", str(kg_cfg), "--out", str(tmp_path / "a")],
                 ["run", str(kg_cfg), "--out", str(tmp_path / "b"), "-q"]):
        assert cli.main(argv) == 0
        out, err = capsys.readouterr()
        assert not err
        lines = _lines(out)
        assert len(lines) == 1 and lines[0].startswith("verdict: OK: 400 steps to t = 40; conservation 2/2 OK; "), out
        assert lines[0].endswith("run.h5")


def test_run_verbose_prints_environment_and_timings(kg_cfg, tmp_path, capsys):
    assert cli.main(["-v", "run", str(kg_cfg), "--out", str(tmp_path / "v")]) == 0
    out = capsys.readouterr().out
    assert "environment: nnfield" in out and "backend cpu" in out and "compilation cache" in out
    assert re.search(r"timings: set-up .* s; first chunk \(incl\. compilation\) .* s; .* total .* s", out)
    jax_line = r"of which JAX: tracing [0-9.]+ s, lowering [0-9.]+ s, (\d+) programs? \(XLA compiles (\d+), "
    jax_line += r"[0-9.]+ s; read from the compilation cache (\d+), [0-9.]+ s\)"
    m = re.search(jax_line, out)
    assert m and int(m[1]) == int(m[2]) + int(m[3]), out
    # the same run again in this process: every program is in JAX's in-memory cache, nothing traced or compiled
    assert cli.main(["-v", "run", str(kg_cfg), "--out", str(tmp_path / "v2")]) == 0
    m = re.search(jax_line, again := capsys.readouterr().out)
    assert m and m[1] == "0" and "tracing 0.00 s" in again, again
    assert _lines(out)[-1].startswith("verdict: OK: ")
    assert cli.main(["run", str(kg_cfg), "--out", str(tmp_path / "w"), "--dry-run", "-q"]) == 0
    assert _lines(capsys.readouterr().out) == [
        f"verdict: OK: every check of the run passed; it would write {tmp_path / 'w' / 'run.h5'} (nothing written)"]


def test_quiet_and_verbose_together_are_refused(kg_cfg, capsys):
    assert cli.main(["-q", "run", str(kg_cfg), "-v"]) == 2
    assert "choose one" in capsys.readouterr().err


def test_analyze_verdict_and_quiet(tmp_path, capsys):
    assert cli.main(["analyze", str(ROOT / "examples" / "kg_unit_step_paper.toml")]) == 0
    out = _lines(capsys.readouterr().out)
    assert out[-1].startswith("verdict: unstable: max amplification 9.89898 per step at dt = 1")
    assert cli.main(["-q", "analyze", str(ROOT / "examples" / "kg_1d_packet.toml")]) == 0
    out = _lines(capsys.readouterr().out)
    assert len(out) == 1 and out[0].startswith("verdict: stable: max amplification 1 per step at dt = 0.05")
    assert "largest stable dt 0.099875" in out[0]


def test_analyze_reports_the_configs_dt_for_network_314(tmp_path, capsys):
    # network (3.14) learns at unit rate (its network.dt is 1) and advances time.dt per tick: the report's dt is
    # the configured time step (the one dt_max bounds), not the learning rate
    cfg = tmp_path / "kg314.toml"
    cfg.write_text(KG.replace('mass = 1.0', 'mass = 1.0\nnetwork = "3.14"'))
    assert cli.main(["analyze", str(cfg), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["dt"] == 0.1 and d["tick"] == 0.1 and d["stable"] is True
    assert cli.main(["-q", "analyze", str(cfg)]) == 0
    out = _lines(capsys.readouterr().out)
    assert out[0].startswith("verdict: stable: max amplification 1 per step at dt = 0.1 ("), out


def test_analyze_qualifies_a_dt_max_outside_the_searched_range(capsys):
    # the search probes dt / 100 .. 100 dt: "largest stable dt 0" was printed bare, also for a leapfrog network
    # configured far beyond its limit (stable below dt_max = 1, never probed there), as if no dt were stable
    assert cli.main(["-q", "analyze", str(ROOT / "examples" / "kg_unit_step_38.toml")]) == 0
    out = _lines(capsys.readouterr().out)
    assert out[0].endswith("largest stable dt 0 (unstable at every dt tried: dt / 100 to 100 dt)"), out


def _fake_checks(*passes: bool) -> list[paper.Check]:
    checks = []
    for j, ok in enumerate(passes):
        outcome = paper.Outcome("exact" if ok else "fails", 1e-15 * (j + 1), f"fake detail {j}: 1.0e-15")
        checks.append(paper.Check(f"(9.{j})", 3, f"fake check {j}", "exact", lambda o=outcome: o))
    return checks


def test_verify_quiet_verbose_and_verdict(monkeypatch, capsys):
    monkeypatch.setattr(paper, "load_checks", lambda: _fake_checks(True, False))
    assert cli.main(["verify", "-q"]) == 1
    out = _lines(capsys.readouterr().out)
    assert out == ["(9.1) [FAIL]: fake detail 1: 1.0e-15", out[-1]]
    assert out[-1].startswith("verdict: FAILED: 1/2 checks pass in ") and out[-1].endswith("; failed: (9.1)")
    monkeypatch.setattr(paper, "load_checks", lambda: _fake_checks(True, True))
    for flag in ("-v", "--details", "--verbose"):
        assert cli.main(["verify", flag]) == 0
        out = capsys.readouterr().out
        assert "(9.0) [PASS]: fake detail 0" in out and _lines(out)[-1].startswith("verdict: OK: 2/2 checks pass")


def test_plot_quiet_verdict(kg_cfg, tmp_path, capsys):
    assert cli.main(["-q", "run", str(kg_cfg), "--out", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    assert cli.main(["plot", str(tmp_path / "p"), "-q"]) == 0
    # energy, observables, field and (a 1D run) spacetime
    assert _lines(capsys.readouterr().out) == [f"verdict: OK: 4 plots in {tmp_path / 'p'}"]


# ----------------------------------------------------------------------------------------------------------
# help text
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [None, *cli.COMMANDS])
def test_help_has_no_rest_markup(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "usage: nnfield" in out
    assert "``" not in out and not re.search(r":[a-z]+:`", out), out
    assert "-q, --quiet" in out and "-v, --verbose" in out


def test_dual_help_explains_the_expressions(capsys):
    assert cli.main(["dual", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--json" in out and "whitelist parser" in out and "--param NAME=VALUE" in out


# ----------------------------------------------------------------------------------------------------------
# dual --json
# ----------------------------------------------------------------------------------------------------------
def test_dual_json_round_trips(capsys):
    assert cli.main(["dual", "--hamiltonian", "beta**2/2 + lam*phi**4/4", "--param", "lam", "--F", "w**2",
                     "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["direction"] == "hamiltonian -> loss"
    assert d["input"]["parameters"] == {"lam": None}
    assert d["potential"]["expr"] == "lam*phi**4/4" and d["F"]["expr"] == "w**2"
    assert d["equations"]["learning"] == {"lhs": "beta(t+dt)", "rhs": "beta - dt*lam*phi**3",
                                          "latex": r"\beta(t+dt) = \beta - dt lam \phi^{3}"}
    assert d["equations"]["continuum"][1]["rhs"] == d["equations"]["hamilton"][1]["rhs"] == "-lam*phi**3"
    assert [c["equation"] for c in d["conditions"]] == ["(2.7)", "(2.8)", "(2.5) = (2.6)"]
    assert all(c["holds"] and c["measured"] == 0.0 for c in d["conditions"])
    # the loss it prints reads back as a loss whose Hamiltonian is the one given
    assert cli.main(["dual", "--loss", d["loss"]["expr"], "--param", "lam", "--json"]) == 0
    back = json.loads(capsys.readouterr().out)
    assert back["direction"] == "loss -> hamiltonian" and back["hamiltonian"]["expr"] == "beta**2/2 + lam*phi**4/4"


def test_dual_json_errors_stay_one_line(capsys):
    assert cli.main(["dual", "--hamiltonian", "beta**3 + phi", "--json"]) == 2
    out, err = capsys.readouterr()
    assert not out and len(_lines(err)) == 1 and "(2.7)" in err
    assert cli.main(["dual", "--hamiltonian", "beta**2/2", "--json", "--latex"]) == 2


# ----------------------------------------------------------------------------------------------------------
# analyze --json: the doubler block on the configured lattice
# ----------------------------------------------------------------------------------------------------------
def test_analyze_json_doubler_block_on_the_configured_lattice(tmp_path, capsys):
    cfg = tmp_path / "dirac.toml"
    cfg.write_text(DIRAC_2D_FORWARD)
    assert cli.main(["analyze", str(cfg), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["doublers"]
    assert d["grid"] == [8, 4] and d["grid_source"] == "the configured 8x4 lattice (all its momenta)"
    assert d["count"] == 2 and d["zero_eigenvalues"] == 4 and d["zero_eigenvalues_k0"] == 4
    assert d["locations_pi_over_a"] == [[0.5, -0.5], [-0.5, 0.5]] and d["doubler_free"] is False


# ----------------------------------------------------------------------------------------------------------
# no exception class names in routine output
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("example", ["gauge_electric_1p1.toml", "gauge_magnetic_2p1.toml"])
def test_gauge_examples_print_no_exception_class_names(example, tmp_path, capsys):
    path = str(ROOT / "examples" / example)
    assert cli.main(["analyze", path]) == 1  # not translation invariant: said in words, exit 1
    out, err = capsys.readouterr()
    assert not CLASS_NAME.search(out + err), out + err
    assert "verdict: not analysed" in out
    assert cli.main(["run", path, "--dry-run", "--out", str(tmp_path / "d")]) == 0
    out, err = capsys.readouterr()
    assert not CLASS_NAME.search(out + err), out + err


def test_only_process_0_of_a_multi_process_run_reports(kg_cfg, monkeypatch):
    """Processes other than 0 print nothing, not even the verdict line (process 0 speaks for the run)."""
    import nnfield.parallel as par

    seen = {}
    monkeypatch.setattr(par, "initialize", lambda *a, **k: None)
    monkeypatch.setattr(par, "is_writer", lambda: False)
    monkeypatch.setattr(cli, "_run_config", lambda cfg, out, **kw: seen.update(kw) or 0)
    assert cli.main(["-v", "run", str(kg_cfg), "--coordinator", "h:1", "--num-processes", "2", "--process-id",
                     "1"]) == 0
    assert seen["quiet"] is True and seen["verbose"] is False and seen["verdict"] is False


@pytest.mark.parametrize(("argv", "want"), [
    (["run", "x.toml", "--steps", "abc"], "nnfield run: argument --steps: invalid int value: 'abc'"),
    (["run", "--devices"], "nnfield run: argument --devices: expected one argument"),
    (["analyze"], "nnfield analyze: the following arguments are required: config"),
    (["verify", "--section", "9"], "nnfield verify: argument --section: invalid choice: 9"),
])
def test_usage_errors_are_one_line(argv, want, capsys):
    """Session 32: argparse's own usage errors printed the whole usage block (7 lines for ``nnfield run``) above
    the message; like every other error of the command line they are one line naming ``--help``, exit 2."""
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"nnfield: error: {want}") and lines[0].endswith("--help` lists the options)")
