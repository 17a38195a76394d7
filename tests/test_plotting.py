"""The physics plots (``nnfield.plotting``): what each file shows is checked on the data behind it, not only that
a PNG appears (decoded physical fields, the log drift axis, plain tick labels, the GIF)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnfield import cli
from nnfield import io as nio
from nnfield.config import parse_config
from nnfield.plotting import decoder, plot_energy, plot_run
from nnfield.runner import execute

PNG = b"\x89PNG\r\n\x1a\n"

KG_1D = """
title = "kg"
[theory]
name = "klein-gordon"
network = "{network}"
mass = 1.0
[lattice]
shape = [64]
spacing = 0.5
[time]
dt = 0.1
steps = 40
[initial]
kind = "{kind}"
[output]
every = 5
snapshot_every = 10
spectra = {spectra}
"""


@pytest.fixture(scope="module")
def kg_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("kg") / "run"
    execute(parse_config(KG_1D.format(network="3.8", kind="gaussian", spectra="true")), out, progress=False)
    return out


def test_a_1d_run_gets_every_plot(kg_run, tmp_path):
    files = plot_run(kg_run, tmp_path)
    names = sorted(f.name for f in files)
    assert names == ["energy.png", "field.png", "observables.png", "spacetime.png", "spectra.png"]
    for f in files:
        assert f.read_bytes()[:8] == PNG


def test_energy_shows_the_declared_quantities_on_a_log_axis(kg_run, tmp_path, monkeypatch):
    import matplotlib.figure

    run = nio.load_run(kg_run, snapshots="none")
    declared = [v["name"] for v in json.loads(run.attrs["conservation"])]
    assert declared == ["discrete_energy", "energy"]
    seen = {}
    real_savefig = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **k):
        ax0, ax1 = fig.axes[:2]
        seen["labels"] = [line.get_label() for line in ax0.get_lines()]
        seen["yscale"] = ax1.get_yscale()
        seen["drift"] = ax1.get_lines()[0].get_ydata()
        seen["offset"] = ax0.yaxis.get_major_formatter().get_offset()
        return real_savefig(fig, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    plot_energy(run, tmp_path / "e.png")
    assert seen["labels"] == ["discrete_energy (invariant)", "energy (bounded)"]
    assert seen["yscale"] == "log" and seen["offset"] == ""
    # |drift| of the exact invariant, floored: round-off level, never zero on the log axis
    assert np.all(seen["drift"] >= 1e-17) and np.max(seen["drift"]) < 1e-12
    # an interrupted run has no verdicts yet: the quantities its model declared at the start are shown
    from nnfield.plotting import _declared

    assert json.loads(run.attrs["conserved"]) == [{"name": "discrete_energy", "kind": "invariant"},
                                                  {"name": "energy", "kind": "bounded"}]
    del run.attrs["conservation"]
    assert [label for _, label in _declared(run)] == seen["labels"]


def test_tick_labels_have_no_offset():
    from nnfield.plotting import _plain_ticks, _plt

    plt = _plt()
    fig, ax = plt.subplots()
    ax.plot(np.arange(5), 0.999991316 + 1e-12 * np.arange(5))
    _plain_ticks(ax)
    fig.canvas.draw()
    assert ax.yaxis.get_major_formatter().get_offset() == ""
    plt.close(fig)


def test_network_3_14_is_drawn_as_phi_and_its_time_derivative(tmp_path):
    """Network (3.14) stores pi = -phi(t - dt); the plot decodes pi = d phi/dt through the model."""
    out = tmp_path / "r"
    execute(parse_config(KG_1D.format(network="3.14", kind="plane_wave", spectra="false")), out, progress=False)
    run = nio.load_run(out)
    fields, what = decoder(run)
    assert what == "physical fields" and list(fields(0)) == ["phi", "pi"]
    x = 0.5 * np.arange(64)
    k = 2 * np.pi / 32.0
    omega = np.sqrt(1 + (2 / 0.5 * np.sin(k * 0.5 / 2)) ** 2)
    assert np.allclose(fields(0)["pi"], omega * np.sin(k * x), atol=2e-3)  # d/dt cos(kx - omega t) at t = 0
    assert not np.allclose(fields(0)["pi"], run.pi[0, 0], atol=1e-2)  # not the raw network state


#: a small 1+1 Dirac run (stable network)
DIRAC_1D = """
[theory]
name = "dirac"
dimension = 1
network = "stable"
[lattice]
shape = [64]
spacing = 0.5
[time]
dt = 0.1
steps = 20
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 3.0
momentum = [1.0]
[output]
every = 5
snapshot_every = 10
"""


def test_dirac_plots_the_density_and_current_not_the_raw_components(tmp_path):
    out = tmp_path / "d"
    execute(parse_config(DIRAC_1D), out, progress=False)
    run = nio.load_run(out)
    fields, _ = decoder(run)
    drawn = fields(1)
    assert list(drawn) == ["density |psi|^2", "current j_x"]
    # the stable 1+1 network's packing: |psi|^2 = sum over the K = 2 real components of phi^2 + pi^2
    assert np.allclose(drawn["density |psi|^2"], np.sum(run.phi[1] ** 2 + run.pi[1] ** 2, axis=0), rtol=1e-12)
    assert np.sum(drawn["current j_x"]) * 0.5 == pytest.approx(float(run.observables["current_x"][2]), rel=1e-10)


def test_animate_writes_a_gif_of_a_2d_run(tmp_path):
    text = KG_1D.format(network="3.8", kind="gaussian", spectra="false").replace("shape = [64]", "shape = [12, 10]")
    out = tmp_path / "two"
    execute(parse_config(text), out, progress=False)
    assert cli.main(["plot", str(out), "--animate"]) == 0
    assert (out / "field.gif").read_bytes()[:4] == b"GIF8"
    assert not (out / "spacetime.png").exists()  # 1D only


def test_a_sweep_is_plotted_member_by_member(tmp_path, capsys):
    """A ``[sweep]`` run: one curve per member labelled by its swept values (energy, observables), the last
    snapshot of each shown member decoded by its own config's model (a Dirac mass sweep: the density of member
    j is its own components' ``phi^2 + pi^2``), no space-time diagram; a 2D sweep gets one row per member."""
    from nnfield.plotting import plot_observables, shown_members, sweep_members

    cfg = tmp_path / "sweep.toml"
    cfg.write_text(DIRAC_1D + '[sweep]\n"theory.mass" = [0.5, 1.0, 2.0]\n')
    out = tmp_path / "s"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q", "--plot"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in out.glob("*.png")) == ["energy.png", "field.png", "observables.png"]
    run = nio.load_run(out)
    assert sweep_members(run) == ["mass = 0.5", "mass = 1", "mass = 2"]
    for j in range(3):
        fields, what = decoder(run, j)
        drawn = fields(1)
        assert what == "physical fields" and list(drawn) == ["density |psi|^2", "current j_x"]
        np.testing.assert_allclose(drawn["density |psi|^2"], np.sum(run.phi[1, j] ** 2 + run.pi[1, j] ** 2, axis=0),
                                   rtol=1e-12)
    # the members' currents differ (the mass changes the group velocity): each is its own member's
    assert not np.allclose(decoder(run, 0)[0](1)["current j_x"], decoder(run, 2)[0](1)["current j_x"])
    assert shown_members(10) == [0, 2, 4, 5, 7, 9] and shown_members(2) == [0, 1]

    import matplotlib.axes

    drawn_lines: list[int] = []
    real_plot = matplotlib.axes.Axes.plot

    def counting(self, *args, **kwargs):
        drawn_lines.append(1)
        return real_plot(self, *args, **kwargs)

    matplotlib.axes.Axes.plot = counting
    try:
        plot_observables(run, tmp_path / "obs.png")
    finally:
        matplotlib.axes.Axes.plot = real_plot
    scalars = [n for n, v in run.observables.items() if v.ndim == 2]
    assert len(drawn_lines) == 3 * len(scalars)  # a curve per member and observable


@pytest.mark.slow  # (split from the quick test above in session 28: the quick suite's 3 minutes)
def test_a_2d_sweep_gets_one_field_row_per_member(tmp_path):
    two = tmp_path / "two.toml"
    two.write_text(KG_1D.format(network="3.8", kind="gaussian", spectra="false").replace(
        "shape = [64]", "shape = [12, 10]") + '[sweep]\n"initial.seed" = [1, 2, 3, 4, 5]\n')
    assert cli.main(["run", str(two), "--out", str(tmp_path / "t"), "-q", "--plot"]) == 0
    assert (tmp_path / "t" / "field.png").read_bytes()[:8] == PNG


MAXWELL_2D = """
[theory]
name = "maxwell"
[lattice]
shape = [8, 8]
spacing = 0.5
[time]
dt = 0.1
steps = 4
scheme = "leapfrog"
[initial]
kind = "plane_wave"
n = [1, 0]
polarization = [0.0, 1.0]
amplitude = 0.05
[output]
every = 2
snapshot_every = 2
"""


def test_nnfield_plot_decodes_a_float64_gauge_run_in_a_fresh_process(tmp_path):
    """`nnfield plot` in its own process (JAX's 64-bit mode off until the command turns it on) draws the physical
    fields of a float64 run whose state has several fields (a Maxwell run: |E| and B), not the raw links and
    electric field: the decoder rebuilds the run's initial state, which a float64 config refuses in 32-bit mode."""
    import subprocess
    import sys

    out = tmp_path / "mx"
    execute(parse_config(MAXWELL_2D), out, progress=False)
    script = (
        "import nnfield.plotting as P\n"
        "real = P.decoder\n"
        "def spy(run, member=None):\n"
        "    got = real(run, member)\n"
        "    print('decoded:', got[1])\n"
        "    return got\n"
        "P.decoder = spy\n"
        "from nnfield import cli\n"
        f"raise SystemExit(cli.main(['-q', 'plot', {str(out)!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "decoded: physical fields" in proc.stdout, proc.stdout


DIRAC_2D_WILSON = """
[theory]
name = "dirac"
dimension = 2
mass = 1.0
network = "stable"
bias = "wilson"
wilson_r = 1.0
[lattice]
shape = [8, 8]
spacing = 0.5
[time]
dt = 0.05
steps = 4
scheme = "alternating"
[initial]
kind = "gaussian_packet"
center = [2.0, 2.0]
width = 1.0
[output]
every = 2
snapshot_every = 2
"""


def test_a_long_title_is_broken_inside_a_small_figure():
    """Quick sibling of the slow test below (which plots a whole 2+1 Dirac run and its GIF): a title of about
    110 characters, as a Wilson-bias Dirac field's, stays inside a 5.2- and a 7-inch figure."""
    from nnfield.plotting import _plt, _suptitle

    title = ("dirac 2+1 | mass = 0.7 | network = stable | bias = wilson | wilson_r = 1 | scheme = alternating | "
             "32 x 24, a = 0.5 | dt = 0.05")
    for width in (5.2, 7.0):
        fig = _plt().figure(figsize=(width, 3))
        _suptitle(fig, title)
        fig.canvas.draw()
        box = fig.texts[0].get_window_extent(fig.canvas.get_renderer())
        assert "\n" in fig.texts[0].get_text() and box.x0 >= 0 and box.x1 <= fig.bbox.width, width
        _plt().close(fig)


@pytest.mark.slow  # (4 s; the quick suite's 3 minutes, session 28: the quick sibling above)
def test_long_titles_are_broken_to_fit_the_figure(tmp_path, monkeypatch):
    """Every title of every plot (each frame of the GIF included) lies inside its figure: a theory with many
    parameters (here a 2+1 Dirac field with a Wilson bias: about 110 characters) ran off both edges of the
    7-inch energy plot and the 5.2-inch animation; the title is now broken at its `` | `` separators."""
    import matplotlib.figure

    out = tmp_path / "dw"
    execute(parse_config(DIRAC_2D_WILSON), out, progress=False)
    outside: list[str] = []
    real_savefig = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **k):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        titles = [*fig.texts, *(ax.title for ax in fig.axes)]
        for t in titles:
            if t.get_visible() and t.get_text():
                box = t.get_window_extent(renderer)
                if box.x0 < 0 or box.x1 > fig.bbox.width or box.y1 > fig.bbox.height:
                    outside.append(f"{a[0] if a else ''}: {t.get_text()!r}")
        return real_savefig(fig, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    files = plot_run(out, tmp_path / "plots", animate=True)
    assert sorted(f.name for f in files) == ["energy.png", "field.gif", "field.png", "observables.png"]
    assert outside == []
    from nnfield.plotting import _fit, _plt

    fig = _plt().figure(figsize=(4, 3))
    assert _fit(fig, "short | title", 9) == "short | title"  # a title that fits is left alone
    _plt().close(fig)


def test_energy_plot_of_a_network_that_declares_nothing_conserved_does_not_say_declared(tmp_path, monkeypatch):
    """The paper's simultaneous (explicit Euler) network declares nothing conserved; its energy observables are
    still drawn with their drift, under a title that says so (it said "declared conserved
    quantities"), and without a kind in their labels."""
    import matplotlib.figure

    out = tmp_path / "euler"
    text = KG_1D.format(network="3.8", kind="gaussian", spectra="false").replace(
        "steps = 40", 'steps = 40\nscheme = "simultaneous"')
    execute(parse_config(text), out, progress=False, allow_unstable=True)
    run = nio.load_run(out, snapshots="none")
    assert json.loads(run.attrs["conserved"]) == []
    seen = {}
    real_savefig = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **k):
        fig.canvas.draw()
        seen["title"] = " ".join(t.get_text() for t in fig.texts) + " ".join(ax.get_title() for ax in fig.axes)
        seen["labels"] = [line.get_label() for line in fig.axes[0].get_lines()]
        return real_savefig(fig, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    assert plot_energy(run, tmp_path / "e.png") is not None
    assert "declared conserved quantities" not in seen["title"]
    assert "the model declares nothing conserved" in seen["title"]
    assert seen["labels"] == ["discrete_energy", "energy"]


def test_tick_labels_of_a_blow_up_of_both_signs_do_not_overlap():
    """A quantity of both signs that grows by hundreds of decades (the discrete energy of network (3.14) run
    beyond its stability limit) is drawn on a symlog axis whose linear part (up to the first value) is a sliver:
    its ticks -1e0, 0 and 1e0 were printed on top of each other. Every visible tick label now has its own room."""
    from nnfield.plotting import _draw, _plt

    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 3.0), constrained_layout=True)
    t = np.arange(200.0)
    q = 0.13 * np.cos(2.5 * t) * 10.0 ** (1.5 * t)  # both signs, up to ~1e298
    _draw(ax, "symlog", t, [q])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    lo, hi = ax.get_ylim()
    boxes = sorted((lab.get_window_extent(renderer) for tick, lab in
                    zip(ax.yaxis.get_major_locator()(), ax.get_yticklabels(), strict=False)
                    if lab.get_text() and lo <= tick <= hi), key=lambda b: b.y0)
    plt.close(fig)
    assert len(boxes) >= 3
    assert all(below.y1 <= above.y0 for below, above in zip(boxes, boxes[1:], strict=False)), [
        (b.y0, b.y1) for b in boxes]


def test_a_single_sample_or_site_is_drawn_as_a_point(tmp_path, monkeypatch):
    """A line through one point draws nothing: a run stopped on non-finite values after step 0 (one sample of each
    observable) had empty panels in observables.png and energy.png, and a 1-site lattice an empty field.png. A
    series of one point is now drawn with a marker."""
    import dataclasses

    import matplotlib.figure

    from nnfield.plotting import plot_field, plot_observables

    out = tmp_path / "one"
    text = KG_1D.format(network="3.8", kind="plane_wave", spectra="false").replace("shape = [64]", "shape = [1]")
    execute(parse_config(text.replace('kind = "plane_wave"', 'kind = "plane_wave"\nn = [0]')), out, progress=False)
    run = nio.load_run(out)
    assert run.fields["phi"].shape[-1] == 1
    one = dataclasses.replace(run, obs_step=run.obs_step[:1], obs_time=run.obs_time[:1],
                              observables={k: v[:1] for k, v in run.observables.items()})
    empty: list[str] = []
    real_savefig = matplotlib.figure.Figure.savefig

    def spy(fig, *a, **k):
        for ax in fig.axes:
            for line in ax.get_lines():
                if len(line.get_xdata()) == 1 and line.get_marker() in (None, "None", "", " "):
                    empty.append(f"{ax.get_title()}: {line.get_label()}")
        return real_savefig(fig, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    assert plot_observables(one, tmp_path / "o.png") and plot_energy(one, tmp_path / "e.png")
    assert plot_field(run, tmp_path / "f.png")
    assert empty == []


def test_image_cells_are_centred_on_their_sites():
    """Site i sits at x = i a (``Lattice.coords``, the 1D line plots): its pixel in a 2D image and its column in a
    space-time diagram span [(i - 1/2) a, (i + 1/2) a] (they spanned [i a, (i + 1) a], half a cell off)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnfield.plotting import _image

    fig, ax = plt.subplots()
    im = _image(fig, ax, np.zeros((8, 4)), 0.5, diverging=True)
    assert im.get_extent() == pytest.approx([-0.25, 3.75, -0.25, 1.75])
    plt.close(fig)


def test_space_time_columns_are_centred_on_their_sites(kg_run, tmp_path, monkeypatch):
    import matplotlib.figure

    from nnfield.plotting import plot_spacetime

    seen = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: seen.append(fig))
    plot_spacetime(nio.load_run(kg_run), tmp_path / "st.png")
    x_edges = seen[0].axes[0].collections[0].get_coordinates()[0, :, 0]
    np.testing.assert_allclose(x_edges, 0.5 * (np.arange(65) - 0.5))  # 64 sites, a = 0.5


def test_the_plots_of_an_incomplete_run_say_so_in_their_titles(kg_run):
    """``nnfield plot`` of an interrupted or killed run warned on stderr only; a figure outlives that warning, so
    its title says where the data end."""
    import dataclasses

    from nnfield.plotting import _title

    run = nio.load_run(kg_run)
    assert "INCOMPLETE" not in _title(run)
    for status in ("interrupted", "killed", "nonfinite"):
        cut = dataclasses.replace(run, attrs={**run.attrs, "status": status, "steps_done": 20})
        assert f" | INCOMPLETE ({status}): ends at step 20 of 40" in _title(cut, "energy")
