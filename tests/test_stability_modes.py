"""The stability gate judges a lattice on its own momenta (``nnfield.stability.EXACT_MODES_MAX``).

A field on a periodic lattice of ``N_mu`` sites per axis and spacing ``a`` is a sum of the plane waves
``k_mu = 2 pi n_mu / (N_mu a)`` and of no others, so a linear one-tick map is stable on it iff every one of them
has ``|lambda(k)| <= 1``. The Klein-Gordon leapfrog (network (3.8), merged kicks) is a Stormer-Verlet step of
each mode's oscillator ``omega_k^2 = m^2 + (4 / a^2) sum_mu sin^2(k_mu a / 2)``: stable iff ``omega_k dt <= 2``.
So its largest stable dt on a lattice is ``2 / max_k omega_k`` over the lattice's own modes, which the tests below
check against the gate to the bisection's precision (``largest_stable_dt(rel=1e-6)``).
"""

from __future__ import annotations

import json
import math

import h5py
import jax
import numpy as np
import pytest

from nnfield import Lattice, analysis, cli, runner, stability
from nnfield import io as nio
from nnfield.config import parse_config
from nnfield.theories import klein_gordon as kg

jax.config.update("jax_enable_x64", True)

CONFIG = """
[theory]
name = "klein-gordon"
network = "3.8"
mass = {mass}
[lattice]
shape = {shape}
spacing = {a}
[time]
dt = {dt}
steps = 20
scheme = "leapfrog"
[initial]
kind = "plane_wave"
[output]
every = 5
"""


def _cfg(shape, dt, mass=1.0, a=1.0):
    return parse_config(CONFIG.format(shape=list(shape), dt=dt, mass=mass, a=a), "modes.toml")


def _kg_dt_max(shape, mass, a):
    """``2 / max_k omega_k`` over the lattice's own momenta (module docstring)."""
    ks = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(n, d=a) for n in shape], indexing="ij")
    omega2 = mass**2 + (4 / a**2) * sum(np.sin(k * a / 2) ** 2 for k in ks)
    return 2 / math.sqrt(float(omega2.max()))


@pytest.mark.parametrize("shape", [(1,), (5,), (6,), (4, 3), (3, 4, 2)])
def test_lattice_modes_are_the_lattices_momenta(shape):
    lat = Lattice(shape, 0.5)
    full = analysis.lattice_modes(lat, half=False)
    assert len(full) == len(shape) and analysis.lattice_mode_count(lat) == math.prod(shape)
    pts = np.stack(full, axis=-1)
    assert pts.shape == (math.prod(shape), len(shape))
    # every momentum is 2 pi n / (N a), each combination once, inside [-pi/a, pi/a)
    n = pts * (np.asarray(shape) * lat.spacing) / (2 * np.pi)
    np.testing.assert_allclose(n, np.round(n), atol=1e-12)
    assert len({tuple(np.round(v).astype(int) % np.asarray(shape)) for v in n}) == math.prod(shape)
    assert np.all(pts >= -np.pi / lat.spacing - 1e-12) and np.all(pts < np.pi / lat.spacing)
    # the half set: one of each (k, -k), every self-conjugate momentum (k = -k mod 2 pi / a) kept
    half = {tuple(np.round(v).astype(int) % np.asarray(shape)) for v in
            np.stack(analysis.lattice_modes(lat), axis=-1) * (np.asarray(shape) * lat.spacing) / (2 * np.pi)}
    everything = {tuple(np.round(v).astype(int) % np.asarray(shape)) for v in n}
    neg = {m: tuple((-np.asarray(m)) % np.asarray(shape)) for m in everything}
    assert all((m in half) or (neg[m] in half) for m in everything)
    assert all(not (neg[m] in half and neg[m] != m) for m in half)


@pytest.mark.parametrize(("shape", "mass", "a"), [((1,), 1.0, 1.0), ((2,), 1.0, 1.0), ((6, 4), 0.7, 0.5),
                                                  ((5, 3, 2), 1.3, 0.8)])
def test_the_gates_dt_max_is_the_lattices_exact_bound(shape, mass, a):
    expected = _kg_dt_max(shape, mass, a)
    stab = stability.check_stability(_cfg(shape, 0.5 * expected, mass, a))
    assert stab.stable and stab.modes == f"the lattice's {math.prod(shape)} mode{'s' if math.prod(shape) > 1 else ''}"
    np.testing.assert_allclose(stab.dt_max, expected, rtol=2e-6)


def test_one_site_is_stable_beyond_the_zones_bound_and_two_sites_are_not():
    """1 site (``k = 0`` only): stable at dt = 1.5 (m dt < 2), though the zone's corner would grow; 2 sites have
    ``k = pi/a`` too, whose bound is ``2 / sqrt(m^2 + 4/a^2) = 0.894``."""
    one = stability.check_stability(_cfg((1,), 1.5))
    assert one.stable and one.fraction_unstable == 0.0
    assert not stability.check_stability(_cfg((1,), 2.5)).stable
    two = stability.check_stability(_cfg((2,), 1.5))
    assert not two.stable and two.fraction_unstable == 0.5
    np.testing.assert_allclose(two.dt_max, 2 / math.sqrt(5.0), rtol=2e-6)


def test_a_lattice_above_the_limit_keeps_the_brillouin_grids():
    stab = stability.check_stability(_cfg((80, 60), 0.05))
    assert 80 * 60 > stability.EXACT_MODES_MAX and stab.modes == "a 64^2 Brillouin grid" and stab.stable
    # the 80x60 lattice has k = pi/a on its first axis: its bound is the zone's, which the grid's corner reaches
    np.testing.assert_allclose(stab.dt_max, _kg_dt_max((80, 60), 1.0, 1.0), rtol=2e-6)


def test_run_and_analyze_name_the_momenta_judged(tmp_path, capsys):
    cfg = tmp_path / "one.toml"
    one_site = CONFIG.replace('kind = "plane_wave"', 'kind = "plane_wave"\nn = [0]')  # k = 0: its only mode
    cfg.write_text(one_site.format(shape=[1], dt=1.5, mass=1.0, a=1.0))
    out = tmp_path / "one"
    assert cli.main(["run", str(cfg), "--out", str(out), "-q"]) == 0
    with h5py.File(out / "run.h5", "r") as h5:
        assert nio.read_attrs(h5)["stability_modes"] == "the lattice's 1 mode"
    capsys.readouterr()
    assert cli.main(["analyze", str(cfg), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["stable"] and d["modes"] == "the lattice's 1 mode" and d["fraction_unstable"] == 0.0
    np.testing.assert_allclose(d["dt_max"], 2.0, rtol=2e-6)
    cfg.write_text(one_site.format(shape=[1], dt=2.5, mass=1.0, a=1.0))
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "two"), "-q"]) == 2
    assert "the largest stable dt is ~2" in capsys.readouterr().err


def test_the_verdict_cache_keeps_the_momenta_judged(tmp_path, monkeypatch):
    monkeypatch.setattr(stability, "verdict_cache_dir", lambda: tmp_path / stability.VERDICT_DIR)
    cfg = _cfg((6,), 0.2)
    first = stability.cached_stability(cfg, runner._analyse)
    again = stability.cached_stability(cfg, runner._analyse)
    assert not first.cached and again.cached and again.modes == first.modes == "the lattice's 6 modes"
    key = stability._verdict_key(cfg)
    monkeypatch.setattr(stability, "EXACT_MODES_MAX", 4)  # another rule: another key, no stale verdict
    assert stability._verdict_key(cfg) != key


def test_a_network_built_in_python_is_judged_as_the_gate_judges_its_config():
    """``nnfield.network_stability``: the same verdict and dt_max as the config's gate, without a config."""
    import nnfield
    from nnfield.theories import klein_gordon as kg

    lat = Lattice((6, 4), 0.5)
    stab = nnfield.network_stability(kg.model(lat, 0.7, 0.2).network, lambda dt: kg.model(lat, 0.7, dt).network,
                                     steps=50)
    gate = stability.check_stability(_cfg((6, 4), 0.2, 0.7, 0.5))
    assert (stab.stable, stab.max_amplification, stab.fraction_unstable, stab.dt_max, stab.modes) == (
        gate.stable, gate.max_amplification, gate.fraction_unstable, gate.dt_max, gate.modes)
    np.testing.assert_allclose(stab.dt_max, _kg_dt_max((6, 4), 0.7, 0.5), rtol=2e-6)
    assert stab.steps == 50 and stab.dt == 0.2
    unstable = nnfield.network_stability(kg.model(lat, 0.7, 1.2 * stab.dt_max).network)
    assert not unstable.stable and math.isnan(unstable.dt_max)  # no factory: dt_max not searched


def test_a_network_the_analysis_cannot_handle_raises_not_analysable():
    import nnfield
    from nnfield.errors import NotAnalysableError
    from nnfield.theories import gauge

    lat = Lattice((6, 6), 0.5)
    links = gauge.random_links(lat, np.random.default_rng(0), 0.4)  # per-site coefficients
    with pytest.raises(NotAnalysableError):
        nnfield.network_stability(gauge.model(lat, 0.7, 0.05, links).network)


@pytest.mark.parametrize("subset", ["k = 0 only", "every other mode", "all"])
def test_the_refined_search_finds_the_bound_of_modes_its_subset_misses(subset):
    """``largest_stable_dt(k=full, coarse_k=subset)`` searches on the subset and adds the modes that grow at its
    answer: the exact bound on the full set whatever the subset (the 6x4 lattice's worst mode is its corner)."""
    from nnfield.theories import klein_gordon as kg

    lat = Lattice((6, 4), 0.5)
    full = analysis.lattice_modes(lat)
    part = {"k = 0 only": [np.zeros(1), np.zeros(1)], "every other mode": analysis.lattice_subset_modes(lat, 3),
            "all": full}[subset]
    dt_max = analysis.largest_stable_dt(lambda dt: kg.model(lat, 0.7, dt).network, 0.1, k=full, coarse_k=part)
    np.testing.assert_allclose(dt_max, _kg_dt_max((6, 4), 0.7, 0.5), rtol=2e-6)
    direct = analysis.largest_stable_dt(lambda dt: kg.model(lat, 0.7, dt).network, 0.1, k=full)
    np.testing.assert_allclose(dt_max, direct, rtol=2e-6)


def test_lattice_subset_modes_are_lattice_modes_with_the_centre_and_corner():
    lat = Lattice((16, 6, 1), 0.5)
    sub = np.stack(analysis.lattice_subset_modes(lat, 4), axis=-1)
    full = {tuple(v) for v in np.round(np.stack(analysis.lattice_modes(lat, half=False), axis=-1), 12)}
    assert {tuple(v) for v in np.round(sub, 12)} <= full
    assert (0.0, 0.0, 0.0) in {tuple(v) for v in sub}
    assert any(np.isclose(v[0], -np.pi / 0.5) for v in sub)  # k = pi/a on the 16-site axis (stride 4 divides 8)


def test_a_run_the_analysis_cannot_handle_says_no_momenta_were_judged():
    """The background links of ``gauge_electric_1p1`` are per-site coefficients: no Fourier symbol, so the run's
    ``stability_modes`` says none were judged (not the grid it would have used)."""
    from pathlib import Path

    from nnfield.config import load_config

    cfg = load_config(Path(__file__).resolve().parent.parent / "examples" / "gauge_electric_1p1.toml")
    stab = runner._analyse(cfg)
    assert stab.error and stab.modes == "none (not analysed)"


def test_analyze_reports_the_dispersion_at_the_lattices_own_momenta(tmp_path, capsys):
    """``nnfield analyze --json``: ``dispersion.k_lattice`` are the lattice's ``k_x = 2 pi n / (N a)`` in
    ``[0, pi/a]`` and ``omega_lattice`` the leapfrog's exact discrete dispersion there,
    ``cos(Omega dt) = 1 - (omega_k dt)^2 / 2`` (Stormer-Verlet of each mode's oscillator)."""
    cfg = tmp_path / "twelve.toml"
    cfg.write_text(CONFIG.format(shape=[12], dt=0.2, mass=1.0, a=0.5))
    assert cli.main(["analyze", str(cfg), "--json", "--plot", str(tmp_path / "d.png")]) == 0
    d = json.loads(capsys.readouterr().out)["dispersion"]
    k = np.asarray(d["k_lattice"])
    np.testing.assert_allclose(k, 2 * np.pi * np.arange(7) / (12 * 0.5), rtol=0, atol=1e-15)
    omega_k = np.sqrt(1.0 + (4 / 0.5**2) * np.sin(k * 0.5 / 2) ** 2)
    expected = np.arccos(1 - (omega_k * 0.2) ** 2 / 2) / 0.2
    np.testing.assert_allclose(np.asarray(d["omega_lattice"]), np.stack([expected, expected], axis=-1), rtol=1e-12)
    assert (tmp_path / "d.png").stat().st_size > 0


def test_network_stability_judges_the_dt_it_reports_and_refuses_bad_arguments():
    """``dt`` other than the network's step judged ``network`` anyway and reported it at that dt (a dt = 0.5
    Klein-Gordon network on a 32^2 lattice, a = 0.5, was reported stable at dt = 0.5 while its amplification is 6):
    it now judges ``factory(dt)``, and refuses without a factory."""
    import nnfield
    from nnfield.errors import ParameterError

    lat = Lattice((32, 32), spacing=0.5)
    model = kg.model(lat, 1.0, 0.1)
    factory = lambda dt: kg.model(lat, 1.0, dt).network  # noqa: E731
    at_half = nnfield.network_stability(model.network, factory, dt=0.5)
    direct = nnfield.network_stability(factory(0.5))
    assert not at_half.stable and at_half.max_amplification == direct.max_amplification > 1
    with pytest.raises(ParameterError, match="factory"):
        nnfield.network_stability(model.network, dt=0.5)
    for bad in ({"dt": -1.0}, {"dt": float("nan")}, {"steps": -5}, {"steps": 2.7}):
        with pytest.raises(ParameterError):
            nnfield.network_stability(model.network, factory, **bad)
    with pytest.raises(ParameterError, match="model.network"):
        nnfield.network_stability(model)
    with pytest.raises(ParameterError, match="factory"):
        nnfield.network_stability(model.network, lambda dt: kg.model(Lattice((8, 8)), 1.0, dt).network)
