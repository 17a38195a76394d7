"""Power spectra, occupation numbers and the Gaussian random field (``nnfield.spectra``, ``docs/spectra.md``).

Checked against independent formulas: Parseval (the spectrum sums to the field's mean square), the lattice
energy ``H = sum_k omega_k n_k``, the plane wave's single peak of height ``V A^2 omega / 2`` (two modes), the
input spectrum recovered on average over seeds, and the vacuum of a free Klein-Gordon run constant in time
to the leapfrog's order (the deviation falls 4x when dt halves).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import initial
from nnfield.errors import ConfigError, ParameterError
from nnfield.lattice import Lattice
from nnfield.network import run as network_run
from nnfield.spectra import OCCUPATION, Shells, Spectra, power
from nnfield.theories.klein_gordon.models import model as kg_model
from nnfield.theories.spec_edge import spectrum_function


def _kg(shape: tuple[int, ...], spacing: float = 1.0, m: float = 1.0, dt: float = 0.1):
    lat = Lattice(shape, spacing)
    return lat, kg_model(lat, m, dt, network="3.8", scheme="leapfrog")


def _spectra(model) -> Spectra:
    lat = model.lattice
    return Spectra.of(lat, model.dispersion(lat.momenta()))


# ----------------------------------------------------------------------------------------------------------
# bins and normalization
# ----------------------------------------------------------------------------------------------------------
def test_shells_hold_every_mode_once_and_the_zero_mode_alone():
    lat = Lattice((12, 8, 6), 0.5)
    sh = Shells.of(lat)
    assert sh.modes.sum() == lat.size
    assert sh.modes[0] == 1 and sh.k[0] == 0.0
    assert np.all(np.diff(sh.k) > 0)  # bin centres increase; no empty shells
    kabs = np.sqrt(sum(k**2 for k in lat.momenta()))
    dk = 2 * np.pi / max(lat.lengths)
    for b in range(sh.n_bins):  # each mode lies within half a bin width of its shell's centre
        assert np.all(np.abs(kabs[sh.index == b] - sh.k[b]) <= dk)


@pytest.mark.parametrize("shape, spacing", [((64,), 0.25), ((16, 12), 1.0), ((8, 8, 6), 0.5)])
def test_parseval_the_spectrum_sums_to_the_mean_square(rng, shape, spacing):
    lat = Lattice(shape, spacing)
    f = rng.standard_normal((1, *shape)) + 0.3
    spec = jax.jit(Spectra.of(lat))({"f": jnp.asarray(f)})["spectrum_f"]  # one program (op by op: ~20 compiles)
    sh = spec_shells = Shells.of(lat)
    total = float(np.sum(np.asarray(spec_shells.modes) * np.asarray(spec))) / sh.volume
    assert total == pytest.approx(float(np.mean(f**2)), rel=1e-12)


def test_parseval_for_a_complex_field_with_components(rng):
    lat = Lattice((20, 10), 0.5)
    psi = rng.standard_normal((2, 20, 10)) + 1j * rng.standard_normal((2, 20, 10))
    spec = Spectra.of(lat)({"psi": jnp.asarray(psi)})["spectrum_psi"]
    sh = Shells.of(lat)
    total = float(np.sum(sh.modes * np.asarray(spec))) / sh.volume
    assert total == pytest.approx(float(np.mean(np.sum(np.abs(psi) ** 2, axis=0))), rel=1e-12)


def test_the_lattice_energy_is_the_sum_of_omega_times_occupation(rng):
    """``H = sum_k omega_k n_k`` per mode, exact for the free lattice field (volume factors with a != 1)."""
    lat, model = _kg((16, 12), spacing=0.5, m=0.7)
    phi, pi = rng.standard_normal((1, 16, 12)), rng.standard_normal((1, 16, 12))
    omega = model.dispersion(lat.momenta())
    axes = (1, 2)
    n = 0.5 * (omega * np.asarray(power(jnp.asarray(phi), lat.cell_volume, lat.size * lat.cell_volume, axes))
               + np.asarray(power(jnp.asarray(pi), lat.cell_volume, lat.size * lat.cell_volume, axes)) / omega)
    energy = float(model.theory.hamiltonian(jnp.asarray(phi), jnp.asarray(pi)))
    assert float(np.sum(omega * n)) == pytest.approx(energy, rel=1e-12)


# ----------------------------------------------------------------------------------------------------------
# a plane wave: one peak of the right height
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, n", [((64,), [5]), ((24, 16), [3, 2])])
def test_occupation_of_a_plane_wave_is_one_peak_of_the_right_height(shape, n):
    lat, model = _kg(shape, spacing=0.5, m=1.0, dt=0.05)
    A = 0.7
    phi, pi = initial.plane_wave(lat, initial.PositiveFrequency.of(model.theory), n, A)
    state = model.encode(phi, pi)
    spectra = _spectra(model)
    k0 = [2 * np.pi * nm / (N * lat.spacing) for nm, N in zip(n, shape, strict=True)]
    omega0 = float(model.dispersion([np.asarray(k) for k in k0]))
    volume = lat.size * lat.cell_volume
    modes = np.asarray(spectra.shells.modes)
    _, obs = network_run(model.network, state, 200, 50, jax.tree_util.Partial(
        lambda s: spectra(model.spectral_fields(s))))
    first = spectra(model.spectral_fields(state))
    for occ in [np.asarray(first[OCCUPATION]), *np.asarray(obs[OCCUPATION])]:
        peak = int(np.argmax(occ))
        assert abs(spectra.k[peak] - math.hypot(*k0)) <= 2 * np.pi / max(lat.lengths)
        others = np.delete(occ, peak)
        assert np.max(np.abs(others)) < 1e-12 * occ[peak]
        # the two modes +-k0 carry n = V A^2 omega / 4 each: the shell mean times its modes is V A^2 omega / 2
        assert occ[peak] * modes[peak] == pytest.approx(volume * A**2 * omega0 / 2, rel=2e-3)
    # at t = 0 (exact positive-frequency data) to round-off; later to the leapfrog's O(dt^2)
    occ0 = np.asarray(first[OCCUPATION])
    assert occ0.max() * modes[np.argmax(occ0)] == pytest.approx(volume * A**2 * omega0 / 2, rel=1e-12)


# ----------------------------------------------------------------------------------------------------------
# the Gaussian random field
# ----------------------------------------------------------------------------------------------------------
def test_gaussian_field_is_real_reproducible_and_keeps_the_massive_zero_mode():
    lat, model = _kg((16, 16), m=0.8)
    omega = model.dispersion(lat.momenta())
    a = initial.gaussian_field(lat, omega, seed=5)
    b = initial.gaussian_field(lat, omega, seed=5)
    c = initial.gaussian_field(lat, omega, seed=6)
    assert a[0].shape == a[1].shape == (1, 16, 16) and a[0].dtype == np.float64
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])
    assert abs(np.mean(a[0])) > 0  # the k = 0 mode of a massive vacuum is kept (S = 1/(2m))


def test_gaussian_massless_vacuum_drops_the_zero_mode():
    lat, model = _kg((32,), m=0.0)
    phi, pi = initial.gaussian_field(lat, model.dispersion(lat.momenta()), seed=1)
    assert abs(np.mean(phi)) < 1e-14 and abs(np.mean(pi)) < 1e-14


def test_the_input_spectrum_is_recovered_on_average():
    lat, model = _kg((48, 48), spacing=0.5, m=0.5)
    omega = model.dispersion(lat.momenta())
    spectra = _spectra(model)
    sh = spectra.shells
    S = spectrum_function("0.3*exp(-k**2/4)/(1 + k)")
    kabs = np.sqrt(sum(k**2 for k in lat.momenta()))
    want_phi = np.asarray(sh.average(jnp.asarray(S(kabs, omega))))
    want_pi = np.asarray(sh.average(jnp.asarray(omega**2 * S(kabs, omega))))
    seeds = 12
    got_phi = np.zeros(sh.n_bins)
    got_pi = np.zeros(sh.n_bins)
    for seed in range(seeds):
        phi, pi = initial.gaussian_field(lat, omega, S, seed=seed)
        out = spectra({"phi": jnp.asarray(phi), "pi": jnp.asarray(pi)})
        got_phi += np.asarray(out["spectrum_phi"]) / seeds
        got_pi += np.asarray(out["spectrum_pi"]) / seeds
    # each shell: the mean of seeds * modes / 2 independent exponential variables (Hermitian pairs are one)
    n_eff = np.maximum(seeds * sh.modes / 2, seeds / 2)
    for got, want in ((got_phi, want_phi), (got_pi, want_pi)):
        z = (got / want - 1) * np.sqrt(n_eff)
        assert np.max(np.abs(z)) < 5.0
        # the total (Parseval: the mean square) within 5 standard errors of the sum over the shells
        sigma = np.sqrt(np.sum((sh.modes * want) ** 2 / n_eff))
        assert abs(np.sum(sh.modes * (got - want))) < 5 * sigma


def test_gaussian_field_errors_name_the_parameter():
    lat, model = _kg((16,))
    omega = model.dispersion(lat.momenta())
    with pytest.raises(ParameterError, match="spectrum"):
        initial.gaussian_field(lat, omega, lambda k, w: -1.0 + 0 * k)
    with pytest.raises(ParameterError, match="cutoff"):
        initial.gaussian_field(lat, omega, cutoff=1e-3, spectrum=lambda k, w: 0 * k + (k > 0))


# ----------------------------------------------------------------------------------------------------------
# the vacuum of a free Klein-Gordon run stays constant to the scheme's order
# ----------------------------------------------------------------------------------------------------------
def _vacuum_run(dt: float, t_end: float = 4.0) -> tuple[dict, dict, Spectra, float]:
    lat, model = _kg((32, 32), spacing=1.0, m=1.0, dt=dt)
    omega = model.dispersion(lat.momenta())
    phi, pi = initial.gaussian_field(lat, omega, seed=11)
    state = model.encode(phi, pi)
    spectra = _spectra(model)
    observe = jax.tree_util.Partial(lambda s: spectra(model.spectral_fields(s)))
    steps = round(t_end / dt)
    _, obs = network_run(model.network, state, steps, steps // 8, observe)
    first = spectra(model.spectral_fields(state))
    return ({k: np.asarray(v) for k, v in first.items()}, {k: np.asarray(v) for k, v in obs.items()}, spectra,
            float(omega.max()))


def test_vacuum_occupation_of_a_free_klein_gordon_run_is_constant_to_second_order():
    """Each mode's ``n_k`` is conserved by the exact dynamics; leapfrog keeps a modified quadratic invariant
    instead, so ``n_k`` oscillates with a relative amplitude ``<= (omega dt)^2 / 4``: the deviation falls 4x
    when dt halves (measured order 2 +- 0.3) and stays below that bound."""
    drift = {}
    for dt in (0.2, 0.1):
        first, obs, _, omax = _vacuum_run(dt)
        drift[dt] = float(np.max(np.abs(obs[OCCUPATION] / first[OCCUPATION] - 1)))
        assert drift[dt] <= 1.05 * (omax * dt) ** 2 / 4
    order = math.log2(drift[0.2] / drift[0.1])
    assert abs(order - 2.0) < 0.3, (drift, order)


def test_vacuum_power_spectrum_stays_the_vacuum_within_its_statistics():
    """The angle-averaged ``P_phi``, ``P_pi`` of one realization move as the modes of a shell dephase (``k`` and
    ``-k`` interfere) but stay at the vacuum ``1/(2 omega)``, ``omega/2`` within the shell's statistical error."""
    first, obs, spectra, _ = _vacuum_run(0.1)
    sh = spectra.shells
    omega = np.asarray(spectra.omega)
    want = {"spectrum_phi": np.asarray(sh.average(jnp.asarray(1 / (2 * omega)))),
            "spectrum_pi": np.asarray(sh.average(jnp.asarray(omega / 2)))}
    n_eff = np.maximum(sh.modes / 2, 1)
    for name, w in want.items():
        for row in (first[name], *obs[name]):
            z = (row / w - 1) * np.sqrt(n_eff)
            assert np.max(np.abs(z[1:])) < 6.0  # k = 0 (one mode, a chi^2_1 variable) excluded


# ----------------------------------------------------------------------------------------------------------
# config and run file
# ----------------------------------------------------------------------------------------------------------
_CONFIG = """
[theory]
name = "{theory}"
{extra}
[lattice]
shape = [16, 16]
[time]
dt = 0.1
steps = 40
[initial]
kind = "{kind}"
{initial}
[output]
every = 10
spectra = true
"""


def test_a_run_records_spectra_with_their_bins(tmp_path):
    from nnfield.config import parse_config
    from nnfield.io import load_run
    from nnfield.runner import execute

    cfg = parse_config(_CONFIG.format(theory="klein-gordon", extra="mass = 1.0", kind="gaussian",
                                      initial='spectrum = "vacuum"\nseed = 2'))
    execute(cfg, tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    k, modes = np.asarray(run.attrs["spectrum_k"]), np.asarray(run.attrs["spectrum_modes"])
    assert modes.sum() == 256 and k.shape == modes.shape
    for name in ("spectrum_phi", "spectrum_pi", OCCUPATION):
        assert run.observables[name].shape == (5, k.size)
    # Parseval against the stored field: <phi^2> = (1/V) sum_b modes_b P_b at step 0
    phi0 = load_run(tmp_path / "run").phi[0]
    assert np.sum(modes * run.observables["spectrum_phi"][0]) / float(run.attrs["spectrum_volume"]) == \
        pytest.approx(float(np.mean(phi0**2)), rel=1e-12)


def test_xarray_reads_the_spectra_over_their_k_coordinate(tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    from nnfield.config import parse_config
    from nnfield.io import RUN_FILE, load_run
    from nnfield.runner import execute

    cfg = parse_config(_CONFIG.format(theory="klein-gordon", extra="", kind="gaussian", initial=""))
    execute(cfg, tmp_path / "run", progress=False)
    run = load_run(tmp_path / "run")
    with xr.open_dataset(tmp_path / "run" / RUN_FILE, group="observables", engine="h5netcdf") as obs:
        for name in ("spectrum_phi", "spectrum_pi", OCCUPATION):
            assert obs[name].dims == ("time", "k")
            np.testing.assert_array_equal(obs[name].values, run.observables[name])
        np.testing.assert_array_equal(obs["k"].values, run.attrs["spectrum_k"])
        assert obs["k"].attrs["units"] == "1/L" and obs["spectrum_phi"].attrs["units"] == "L"
        assert obs["occupation"].attrs["units"] == "1"


@pytest.mark.parametrize("branch", ["positive", "mixed"])
def test_the_dirac_spectrum_is_of_psi_split_by_energy_band(branch):
    """``spectrum_psi`` sums to the charge; the band spectra (projectors of the theory's ``H(k)``) add up to it
    mode by mode, and a positive-energy packet has no negative-energy part."""
    from nnfield.config import parse_config
    from nnfield.runner import build, spectra_for

    text = _CONFIG.format(theory="dirac", extra='dimension = 2\nnetwork = "stable"', kind="gaussian_packet",
                          initial=f'width = 3.0\nmomentum = [0.5, 0.0]\nbranch = "{branch}"').replace(
        "steps = 40", 'steps = 40\nscheme = "alternating"')
    cfg = parse_config(text)
    model, state = build(cfg)
    spectra = jax.jit(lambda s: spectra_for(cfg, model, state)(model.spectral_fields(s)))  # as in a run: compiled
    out = {k: np.asarray(v) for k, v in spectra(state).items()}
    assert set(out) == {"spectrum_psi", "spectrum_psi_positive", "spectrum_psi_negative"}  # no occupation
    sh = Shells.of(model.lattice)
    charge = float(jax.jit(model.observables)(state)["charge"])
    assert float(np.sum(sh.modes * out["spectrum_psi"])) == pytest.approx(charge, rel=1e-12)
    assert np.allclose(out["spectrum_psi_positive"] + out["spectrum_psi_negative"], out["spectrum_psi"],
                       rtol=1e-12, atol=1e-14 * out["spectrum_psi"].max())
    negative = float(np.sum(sh.modes * out["spectrum_psi_negative"])) / charge
    if branch == "positive":
        assert negative < 1e-12
    else:  # (u+ + u-)/sqrt 2 at k0, unprojected: about half in each band
        assert 0.3 < negative < 0.7


def test_config_errors_are_one_line_naming_the_key():
    from nnfield.config import parse_config

    with pytest.raises(ConfigError, match=r"initial\.spectrum") as exc:
        parse_config(_CONFIG.format(theory="klein-gordon", extra="", kind="gaussian", initial='spectrum = "k**"'))
    assert "\n" not in str(exc.value).strip()
    with pytest.raises(ConfigError, match=r"output\.spectra"):
        parse_config(_CONFIG.format(theory="klein-gordon", extra="", kind="gaussian", initial="").replace(
            "spectra = true", 'spectra = "yes"'))


def test_a_resumed_run_continues_its_spectra_bit_for_bit(tmp_path):
    from nnfield.config import parse_config
    from nnfield.io import load_run
    from nnfield.runner import execute, resume

    text = _CONFIG.format(theory="klein-gordon", extra="mass = 1.0", kind="gaussian", initial="seed = 4")
    execute(parse_config(text.replace("steps = 40", "steps = 60")), tmp_path / "whole", progress=False)
    execute(parse_config(text), tmp_path / "part", progress=False)
    resume(tmp_path / "part", steps=60, progress=False)
    whole, part = load_run(tmp_path / "whole"), load_run(tmp_path / "part")
    for name in ("spectrum_phi", "spectrum_pi", OCCUPATION):
        assert part.observables[name].shape == (7, whole.observables[name].shape[1])
        assert np.array_equal(part.observables[name], whole.observables[name])


def test_a_sweep_records_spectra_per_member(tmp_path):
    """A sweep's spectra are each member's, ``(samples, members, bins)``, the bins stored once (refused before;
    each member equal to its own run: ``tests/test_ensemble.py``)."""
    from nnfield.config import parse_config
    from nnfield.io import load_run
    from nnfield.runner import execute

    text = _CONFIG.format(theory="klein-gordon", extra="", kind="gaussian", initial="") + \
        '[sweep]\n"theory.mass" = [0.5, 1.0]\n'
    execute(parse_config(text), tmp_path / "s", progress=False)
    run = load_run(tmp_path / "s", snapshots="none")
    bins = len(run.attrs["spectrum_k"])
    for name in ("spectrum_phi", "spectrum_pi", OCCUPATION):
        assert run.observables[name].shape == (run.obs_step.size, 2, bins)
    # the occupation numbers use each member's own omega_k: a vacuum of each mass has n_k about 1/2 in both
    n = run.observables[OCCUPATION][0]
    assert np.all(np.abs(np.mean(n[:, 1:], axis=1) - 0.5) < 0.25)


@pytest.mark.slow
def test_spectra_of_sharded_and_multi_process_runs_equal_one_device(tmp_path):
    """The spectra (FFTs of a field sharded over devices or processes) equal the single-device run's."""
    from test_parallel import _nnfield, _processes, assert_close

    cfg = tmp_path / "run.toml"
    cfg.write_text(_CONFIG.format(theory="klein-gordon", extra="mass = 1.0", kind="gaussian", initial="seed = 5")
                   .replace("shape = [16, 16]", "shape = [16, 12]"))
    one, four, two = tmp_path / "one", tmp_path / "four", tmp_path / "two"
    assert _nnfield("run", str(cfg), "--out", str(one), "-q").returncode == 0
    res = _nnfield("run", str(cfg), "--out", str(four), "-q", "--devices", "4", devices=4)
    assert res.returncode == 0, res.stderr
    _processes(cfg, two, 2)
    for got in (four, two):
        assert_close(one, got)  # every observable, the spectra included


def test_gauge_theories_record_gauge_invariant_spectra():
    """The U(1) gauge theories record the spectra of E, B and the charge density rho only: a random gauge
    transformation of the data (links and matter change by O(1)) leaves every spectrum equal to round-off, and each
    obeys Parseval (``(1/V) sum_b modes_b P_b`` = the lattice mean of the field squared, summed over components)."""
    from nnfield.theories import maxwell_dirac as md
    from nnfield.theories import scalar_qed as sq
    from nnfield.theories.maxwell_dirac.initial import charged_packets

    rng = np.random.default_rng(11)
    M = md.model(Lattice((8, 6), 0.5), 0.05, charge=1.2, m=0.5, bias="wilson")
    phi, pi = charged_packets(M, 1, width=1.0, momentum=[1.0, 0.5], field=0.4)
    phi[:2] += 0.3 * rng.standard_normal((2, 8, 6))  # a magnetic field
    S = sq.model(Lattice((8, 6), 0.5), 0.05, charge=1.2, lam=0.4)
    sphi, spi = sq.higgs_vacuum(S.lattice, 1.2, 0.4, 1.0, 0.0, 3, 0.2, 0.05)
    for model, p0, q0 in ((M, phi, pi), (S, sphi, spi)):
        chi = rng.uniform(-np.pi, np.pi, model.lattice.shape) * 2
        p1, q1 = model.gauge_transform(p0, q0, chi)
        assert np.abs(p1 - p0).max() > 1.0
        spectra = Spectra.of(model.lattice, None)
        fields = model.spectral_fields(model.encode(p0, q0))
        assert sorted(fields) == ["B", "E", "rho"]
        a, b = spectra(fields), spectra(model.spectral_fields(model.encode(p1, q1)))
        for name, f in fields.items():
            key = f"spectrum_{name}"
            scale = float(np.max(np.asarray(a[key])))
            assert scale > 0 and np.abs(np.asarray(b[key]) - np.asarray(a[key])).max() <= 1e-12 * scale, name
            mean_square = float(np.mean(np.sum(np.asarray(f) ** 2, axis=0)))
            total = float(np.sum(np.asarray(spectra.shells.modes) * np.asarray(a[key]))) / spectra.shells.volume
            assert total == pytest.approx(mean_square, rel=1e-12), name


def test_a_model_without_spectral_fields_is_refused_in_one_line(tmp_path, monkeypatch):
    """(Every shipped model names its spectral fields; a model of a plug-in theory may not.)"""
    from nnfield.config import load_config
    from nnfield.model import AbstractModel
    from nnfield.runner import execute
    from nnfield.theories.gauge.model import GaugedDiracModel

    monkeypatch.setattr(GaugedDiracModel, "spectral_fields", AbstractModel.spectral_fields)
    cfg = load_config(Path(__file__).resolve().parents[1] / "examples" / "gauge_electric_1p1.toml")
    cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, spectra=True))
    with pytest.raises(ConfigError, match=r"output\.spectra: the 'gauged-dirac' model records no spectra") as exc:
        execute(cfg, tmp_path / "g", progress=False)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "g").exists()


def test_the_gauged_dirac_model_records_the_spectrum_of_its_density(tmp_path):
    """``gauged-dirac`` records ``spectrum_rho`` of the gauge-invariant ``|psi|^2`` (labelled in ``L^-D``)."""
    from nnfield import io as nio
    from nnfield.config import load_config
    from nnfield.runner import execute

    cfg = load_config(Path(__file__).resolve().parents[1] / "examples" / "gauge_electric_1p1.toml")
    cfg = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, spectra=True),
                              time=dataclasses.replace(cfg.time, steps=40))
    res = execute(cfg, tmp_path / "g", progress=False)
    run = nio.load_run(res.out_dir, snapshots="last")
    P = run.observables["spectrum_rho"]
    rho = np.sum(run.phi[-1] ** 2 + run.pi[-1] ** 2, axis=0)  # |psi|^2 from the last snapshot (the last sample)
    V = float(run.attrs["spectrum_modes"].sum()) * float(run.attrs["spacing"])
    assert float(np.sum(run.attrs["spectrum_modes"] * P[-1])) / V == pytest.approx(float(np.mean(rho**2)), rel=1e-12)
