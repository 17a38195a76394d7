"""Hunt s28 of the command line and the plots: each test failed before its fix (docs/cli.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nnfield import cli
from nnfield import io as nio


def _synthetic_run(precision: str, dtype: type, members: int | None = None) -> nio.RunData:
    """A completed run of ``n`` samples of an exactly conserved quantity (one ulp of ``dtype`` of noise) and a
    bounded one, as ``run.h5`` records them; a sweep of ``members`` when given."""
    n = 21
    t = 0.1 * np.arange(n)
    q = np.full(n, 25191.238, dtype=dtype)
    q[5::7] = np.nextafter(q[0], dtype(np.inf))  # one ulp up now and then: the round-off of the precision
    e = (25345.0 * (1.0 + 1e-3 * np.sin(t))).astype(dtype)
    obs = {"discrete_energy": q, "energy": e}
    attrs = {"status": "completed", "precision": precision, "shape": np.array([16]), "spacing": 1.0, "dt": 0.1,
             "scheme": "leapfrog", "theory": "klein-gordon",
             "conservation": json.dumps([{"name": "discrete_energy", "kind": "invariant"},
                                         {"name": "energy", "kind": "bounded"}])}
    if members is not None:
        obs = {k: np.repeat(v[:, None], members, axis=1) for k, v in obs.items()}
        attrs["sweep"] = json.dumps([{"theory.mass": 0.5 * (j + 1)} for j in range(members)])
    return nio.RunData(Path("run.h5"), attrs, obs, np.arange(n), t, np.zeros(0, int), np.zeros(0))


def _spy_savefig(monkeypatch) -> list:
    import matplotlib.figure

    seen: list = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: seen.append(fig))
    return seen


def _dotted_levels(fig) -> list[float]:
    """The y of every horizontal dotted reference line of a figure's drift panels."""
    return [float(line.get_ydata()[0]) for ax in fig.axes for line in ax.get_lines()
            if line.get_linestyle() == ":" and len(set(np.ravel(line.get_ydata()))) == 1]


@pytest.mark.parametrize("members", [None, 2])
@pytest.mark.parametrize(("precision", "dtype"), [("float32", np.float32), ("float64", np.float64)])
def test_the_drift_panel_marks_the_machine_epsilon_of_the_runs_precision(monkeypatch, precision, dtype, members):
    """energy.png's dotted line is "machine epsilon" (docs/cli.md): the round-off level an exact invariant is
    conserved to. A float32 run (examples/kg_3d_random.toml) records its observables in float32, whose
    round-off is 2^-23 = 1.19e-7 relative: its one-ulp flickers of the invariant reached 1e-7 while the line was
    drawn at float64's 2^-52 = 2.2e-16, nine decades below, as if the invariant drifted far beyond round-off."""
    from nnfield.plotting import plot_energy

    seen = _spy_savefig(monkeypatch)
    run = _synthetic_run(precision, dtype, members)
    plot_energy(run, "e.png")
    (fig,) = seen
    levels = _dotted_levels(fig)
    assert levels and all(lv == float(np.finfo(dtype).eps) for lv in levels), levels
    for ax in fig.axes:  # the line lies inside the drift panel's range
        if ax.get_yscale() == "log":
            lo, hi = ax.get_ylim()
            assert lo < np.finfo(dtype).eps < hi


KG_1D = """
[theory]
name = "klein-gordon"
network = "3.8"
mass = 1.0
[lattice]
shape = [16]
spacing = 0.5
[time]
dt = 0.1
steps = 4
[initial]
kind = "gaussian"
"""


@pytest.fixture
def kg_cfg(tmp_path) -> Path:
    cfg = tmp_path / "kg.toml"
    cfg.write_text(KG_1D)
    return cfg


def test_analyze_refuses_a_pgf_plot_it_cannot_write_before_the_analysis(kg_cfg, tmp_path, monkeypatch, capsys):
    """``analyze --plot x.pgf`` was accepted (matplotlib lists .pgf), the analysis ran, and the save then ended
    in a traceback (RuntimeError: 'xelatex' not found): the PGF backend runs a TeX program. Without it the
    option is now refused in one line, exit 2, before any work."""
    import matplotlib

    monkeypatch.setitem(matplotlib.rcParams, "pgf.texsystem", "lualatex")
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    calls: list[int] = []
    monkeypatch.setattr("nnfield._cli_analyze.analyze_config", lambda *a, **k: calls.append(1))
    assert cli.main(["analyze", str(kg_cfg), "--plot", str(tmp_path / "disp.pgf")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nnfield: error: --plot ") and "lualatex" in err[0], err
    assert calls == [] and not (tmp_path / "disp.pgf").exists()


def test_verbose_is_not_ignored_by_the_dry_run_and_plot(kg_cfg, tmp_path, monkeypatch, capsys):
    """docs/cli.md: every command accepts -v, which adds the environment and where the time went. ``run
    --dry-run -v`` and ``plot -v`` printed exactly what they print without it."""
    assert cli.main(["run", str(kg_cfg), "--dry-run", "-v", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "environment: nnfield" in out and "backend cpu" in out
    assert re.search(r"timings: checks \(.*\) [0-9.]+ s\n  of which JAX: ", out), out
    assert out.strip().splitlines()[-1].startswith("verdict: OK: every check of the run passed")
    assert not (tmp_path / "d").exists()
    # plot: the command's own output (the drawing itself is tested in test_plotting.py)
    run = _synthetic_run("float64", np.float64)
    monkeypatch.setattr(nio, "find_run_file", lambda path: Path(path) / "run.h5")
    monkeypatch.setattr(nio, "load_run", lambda *a, **k: run)
    made = [tmp_path / "p" / "energy.png", tmp_path / "p" / "observables.png"]
    monkeypatch.setattr("nnfield.plotting.plot_run", lambda *a, **k: made)
    assert cli.main(["plot", str(tmp_path), "--out", str(tmp_path / "p"), "-v"]) == 0
    out = capsys.readouterr().out
    assert "environment: nnfield" in out and re.search(r"timings: plots \(.*\) [0-9.]+ s\n  of which JAX: ", out)
    assert out.strip().splitlines()[-1] == f"verdict: OK: 2 plots in {tmp_path / 'p'}"
    assert cli.main(["plot", str(tmp_path), "--out", str(tmp_path / "p"), "-q"]) == 0  # -q: the verdict alone
    assert capsys.readouterr().out.strip().splitlines() == [f"verdict: OK: 2 plots in {tmp_path / 'p'}"]


def test_resume_with_plot_plots_a_blow_up_and_lists_its_plots(tmp_path, monkeypatch, capsys):
    """``run --plot`` of a run that stops on non-finite values writes the plots of its data up to the last finite
    sample ("the plots of a blow-up are what one looks at first"); ``run --resume DIR --plot`` of the same blow-up
    wrote none, and a resumed run that completed did not say which plots it wrote. Both now do as ``run``."""
    import types

    from nnfield.errors import NonFiniteError

    plotted: list[Path] = []

    def fake_plot_run(run_dir, *a, **k):
        plotted.append(Path(run_dir))
        return [Path(run_dir) / "energy.png"]

    monkeypatch.setattr("nnfield.plotting.plot_run", fake_plot_run)

    def blow_up(*a, **k):
        raise NonFiniteError("non-finite values (NaN or Inf) appeared between step 170 and step 172")

    monkeypatch.setattr("nnfield.runner.resume", blow_up)
    assert cli.main(["run", "--resume", str(tmp_path), "--steps", "400", "--plot"]) == 1
    out, err = capsys.readouterr()
    assert plotted == [tmp_path], out
    assert f"plots (up to the last finite sample): {tmp_path / 'energy.png'}" in out
    assert out.strip().splitlines()[-1].startswith("verdict: FAILED: non-finite values")
    assert err.strip().splitlines() == ["nnfield: error: non-finite values (NaN or Inf) appeared between step 170 "
                                        "and step 172"]
    res = types.SimpleNamespace(steps_done=400, t_final=40.0, wall_seconds=0.1, conservation=[], out_dir=tmp_path,
                                run_file=tmp_path / "run.h5", stability=None)
    monkeypatch.setattr("nnfield.runner.resume", lambda *a, **k: res)
    assert cli.main(["run", "--resume", str(tmp_path), "--steps", "400", "--plot"]) == 0
    assert f"plots: {tmp_path / 'energy.png'}" in capsys.readouterr().out and plotted == [tmp_path, tmp_path]


def test_a_ramp_from_a_round_off_zero_is_drawn_on_a_linear_axis_and_a_blow_up_on_a_symlog_one():
    """observables.png: a quantity of both signs that starts at a round-off zero and ramps steadily (``field_y``
    of examples/maxwell_dirac_field_3d.toml: 3.2e-21, -5.4e-6, -1.1e-5, .., -3e-5) "grew 1e16-fold past its
    first value" and was drawn on a symlog axis with linthresh 3e-21: 16 decades between its first two samples,
    a steady ramp drawn as a jump (its twin ``field_x``, starting at an exact 0, was linear). It is linear now;
    a blow-up (growth a linear axis flattens) stays symlog, also one seeded by round-off."""
    from nnfield.plotting import _scale_for

    t = np.arange(21.0)
    ramp = -5.35e-6 * t - 4e-8 * t**2
    ramp[0] = 3.176e-21  # the round-off zero at step 0
    assert _scale_for([ramp]) == "linear"
    ramp[0] = 0.0
    assert _scale_for([ramp]) == "linear"
    # blow-ups: of an O(1) start (network (3.14) beyond its stability limit), and of a round-off seed
    assert _scale_for([0.13 * np.cos(2.5 * t) * 10.0 ** (1.5 * t)]) == "symlog"
    assert _scale_for([3e-17 * np.cos(2.5 * t) * 10.0 ** (0.9 * t)]) == "symlog"
    # a bounded oscillation is linear whatever its first value
    assert _scale_for([np.sin(0.7 * t)]) == "linear"


def test_plot_refuses_a_run_directory_it_cannot_write_before_drawing(tmp_path, monkeypatch, capsys):
    """``nnfield plot DIR`` of a run directory it may not write (a colleague's run, a read-only copy) drew its
    first figure and then failed in the save, exit 1 (``[Errno 13] Permission denied: 'DIR/energy.png'``);
    docs/cli.md: an output directory that cannot be written is refused before any work, exit 2. Now one line
    that names the way out (--out DIR)."""
    import os

    run = _synthetic_run("float64", np.float64)
    run = nio.RunData(tmp_path / "run.h5", run.attrs, run.observables, run.obs_step, run.obs_time, run.snap_step,
                      run.snap_time)
    monkeypatch.setattr(nio, "find_run_file", lambda path: Path(path) / "run.h5")
    monkeypatch.setattr(nio, "load_run", lambda *a, **k: run)
    drawn: list[int] = []
    monkeypatch.setattr("nnfield.plotting.plot_run", lambda *a, **k: drawn.append(1) or [])
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if Path(p) == tmp_path else real_access(p, mode))
    assert cli.main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"nnfield: error: {tmp_path}: cannot write the plots into the run directory (permission denied); "
                   f"give --out DIR"] and drawn == []
    elsewhere = tmp_path.parent / f"{tmp_path.name}-plots"
    assert cli.main(["plot", str(tmp_path), "--out", str(elsewhere)]) == 0 and drawn == [1]


def test_the_suggested_next_command_survives_a_path_with_spaces(kg_cfg, tmp_path, monkeypatch, capsys):
    """``nnfield run CONFIG --out 'my run'`` ended with ``next: nnfield plot .../my run``: pasted, that is two
    arguments (``nnfield plot .../my``, then an unrecognized ``run``). The path is now one shell word."""
    import shlex
    import types

    out = tmp_path / "my run ü"
    res = types.SimpleNamespace(steps_done=4, t_final=0.4, wall_seconds=0.1, first_chunk_seconds=0.1,
                                site_updates_per_second=1e6, chunk=4, conservation=[], out_dir=out,
                                run_file=out / "run.h5", config_file=out / "config.toml", stability=None)
    monkeypatch.setattr("nnfield.runner.execute", lambda *a, **k: res)
    assert cli.main(["run", str(kg_cfg), "--out", str(out)]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("next: ")]
    assert shlex.split(line[len("next: "):]) == ["nnfield", "plot", str(out)]


def test_an_empty_path_argument_is_refused(kg_cfg, tmp_path, monkeypatch, capsys):
    """A path given as an empty string (``--out "$OUTDIR"`` with the variable unset) was taken as the current
    directory: ``run CONFIG --out "" --force`` ran there and removed the user's own ``*.png`` (``--force``
    removes nnfield's files, PNGs included), and ``verify --json ""`` / ``analyze --plot ""`` wrote nothing,
    silently, exit 0. Each is now refused in one line, exit 2, before any work."""
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "my_figure.png"
    mine.write_bytes(b"\x89PNG not nnfield's")
    assert cli.main(["run", str(kg_cfg), "--out", "", "--force"]) == 2
    assert mine.exists() and not (tmp_path / "run.h5").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["nnfield: error: --out: an empty path (an unset shell variable?); give a directory, or omit --out"]
    monkeypatch.setattr("nnfield.paper.run_checks", lambda *a, **k: [])
    for argv in (["verify", "--json", ""], ["verify", "--markdown", " "], ["analyze", str(kg_cfg), "--plot", ""],
                 ["plot", ""], ["plot", str(tmp_path), "--out", ""], ["analyze", ""], ["run", "--resume", ""],
                 ["demo", "--out", ""]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "an empty path" in err[0], (argv, err)


def test_verify_refuses_one_file_for_json_and_markdown(tmp_path, capsys):
    """``--json F --markdown F``: the Markdown report overwrote the JSON results (exit 0); refused before the
    checks run."""
    from nnfield import cli

    same = tmp_path / "r.txt"
    assert cli.main(["verify", "--json", str(same), "--markdown", str(tmp_path / "." / "r.txt"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--json and --markdown" in err and not same.exists()


def test_analyze_says_no_plot_was_written_for_a_network_it_cannot_analyse(tmp_path, capsys, monkeypatch):
    """(The analysis of a gauged network, which is not translation invariant, replaced by its outcome: the
    command's message is what is tested.)"""
    from pathlib import Path

    from nnfield import _cli_analyze, cli

    monkeypatch.setattr(_cli_analyze, "analyze_config", lambda cfg: (
        {"name": "gauged dirac", "error": "per-site coefficients"}, None))
    cfg = Path(__file__).resolve().parent.parent / "examples" / "gauge_electric_1p1.toml"
    plot = tmp_path / "d.png"
    assert cli.main(["analyze", str(cfg), "--plot", str(plot), "-q"]) == 1
    err = capsys.readouterr().err
    assert "not available" in err and f"no dispersion plot written ({plot})" in err and not plot.exists()


def test_the_verdict_of_a_dt_sweep_gives_the_members_times(tmp_path):
    """A ``time.dt`` sweep's members reach different times; the verdict said member 0's (``t = 2`` for members
    that reached 2 and 1)."""
    from pathlib import Path
    from types import SimpleNamespace

    from nnfield.cli import _final_times

    text = (Path(__file__).resolve().parent.parent / "examples" / "kg_1d_packet.toml").read_text()
    cfg = tmp_path / "config.toml"
    cfg.write_text(text + '\n[sweep]\n"time.dt" = [0.05, 0.025]\n')
    res = SimpleNamespace(config_file=cfg, steps_done=40, t_final=2.0)
    assert _final_times(res) == "1 .. 2 (the members' dt differ)"
    cfg.write_text(text)
    assert _final_times(res) == "2"
