"""``[initial] kind = "file"`` of the dynamical U(1) theories (maxwell, scalar-qed, maxwell-dirac): the user's data
from a ``.npz``, Gauss's law projected (``E' = E + grad psi``, ``Lap_a psi = rho - div E``) or checked.

Round trip bit for bit from the built-in initial conditions; the projection makes the Gauss residual round-off and
keeps the transverse part of ``E`` (against an independent FFT projector); ``gauss = "check"`` refuses bad data
with the measured residual; malformed files are refused in one line naming the file and the array; a full
``nnfield run`` from a config, and a restart from a run's last snapshot."""

from __future__ import annotations

import functools
import re
import zipfile

import numpy as np
import pytest

from nnfield import Lattice
from nnfield.config import parse_config
from nnfield.errors import ConfigError, InputError, ParameterError
from nnfield.theories import maxwell, u1
from nnfield.theories import maxwell_dirac as md
from nnfield.theories import scalar_qed as sq
from nnfield.theories.u1.datafile import GAUSS_TOLERANCE, residual


# ------------------------------------------------------------------------------------------------------------
# models and data of the three theories (read only: the tests copy before changing an array)
# ------------------------------------------------------------------------------------------------------------
@functools.cache  # one model per theory: its compiled residual and charge are reused
def _maxwell():
    lat = Lattice((6, 6, 6), 1.0)
    M = maxwell.model(lat, 0.2, charge=0.9)
    return M, u1.random_photons(lat, 4, 0.2)


@functools.cache
def _scalar():
    lat = Lattice((8, 8), 0.5)
    M = sq.model(lat, 0.05, charge=1.2, lam=0.5, v=1.0, m=1.5)  # symmetric phase: packets about phi = 0
    data = sq.charged_packets(lat, 1.2, 0.5, 1.0, 1.5, width=0.6, momentum=[1.0, 0.5], amplitude=0.5)
    return M, data


@functools.cache
def _dirac():
    lat = Lattice((8, 6), 0.5)
    M = md.model(lat, 0.05, charge=1.1, m=0.5, bias="wilson")
    A, E = u1.random_photons(lat, 2, 0.1)
    rng = np.random.default_rng(3)
    K = M.packing.K
    Q, P = 0.3 * rng.standard_normal((K, *lat.shape)), 0.3 * rng.standard_normal((K, *lat.shape))
    from nnfield.theories.maxwell_dirac.initial import with_gauss

    return M, with_gauss(M, A, E, Q, P)  # the built-in construction: E_L of the time-centred charge


THEORIES = {"maxwell": _maxwell, "scalar-qed": _scalar, "maxwell-dirac": _dirac}


def _transverse_fft(lat, E):
    """An independent transverse projector: with the forward gradient's symbol ``g_mu = (exp(i k_mu a) - 1)/a``
    (the backward divergence's is ``-conj(g)``), ``E_T(k) = E(k) - g (g^H E(k)) / |g|^2`` at ``k != 0``."""
    a = lat.spacing
    k = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(n, a) for n in lat.shape], indexing="ij")
    g = np.stack([(np.exp(1j * km * a) - 1) / a for km in k])
    Ek = np.stack([np.fft.fftn(e) for e in E])
    g2 = np.sum(np.abs(g) ** 2, axis=0)
    coef = np.sum(np.conj(g) * Ek, axis=0) / np.where(g2 > 0, g2, 1.0)
    ET = Ek - g * np.where(g2 > 0, coef, 0.0)
    return np.real(np.stack([np.fft.ifftn(e) for e in ET]))


def _cfg(name, path, gauss="project", shape=None, extra=""):
    shape = shape or {"maxwell": [6, 6, 6], "scalar-qed": [8, 8], "maxwell-dirac": [8, 6]}[name]
    theory = {"maxwell": "charge = 0.9", "scalar-qed": "charge = 1.2\nvev = 1.0\nmass = 1.5",
              "maxwell-dirac": 'charge = 1.1\nmass = 0.5\nbias = "wilson"'}[name]
    spacing = 1.0 if name == "maxwell" else 0.5
    return parse_config(f'[theory]\nname = "{name}"\n{theory}\n[lattice]\nshape = {shape}\nspacing = {spacing}\n'
                        f'[time]\ndt = 0.05\nsteps = 4\n[initial]\nkind = "file"\npath = "{path}"\n'
                        f'gauss = "{gauss}"\n{extra}')


# ------------------------------------------------------------------------------------------------------------
# round trip
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(THEORIES))
def test_round_trip_from_a_built_in_initial_condition_is_bit_for_bit(name, tmp_path):
    M, (phi, pi) = THEORIES[name]()
    assert residual(M, phi, pi) < 1e-14
    path = u1.save_initial(tmp_path / "data.npz", M, phi, pi)
    names = set(np.load(path).files)
    assert names == {"A", "E"} | ({*M.matter_arrays} if M.network.matter is not None else set())
    got = u1.load_initial(path, M, "check")
    assert np.array_equal(got[0], phi) and np.array_equal(got[1], pi)
    # through the config layer, the same data
    cfg = _cfg(name, path, "check")
    cphi, cpi = cfg.initial_fields(cfg.build_model())
    assert np.array_equal(cphi, phi) and np.array_equal(cpi, pi)
    s0, s1 = M.encode(phi, pi), M.encode(cphi, cpi)
    assert all(np.array_equal(a, b) for a, b in zip(_leaves(s0), _leaves(s1), strict=True))
    # the links as angles theta = a q A instead of A: the same data to round-off
    D, qa = M.lattice.ndim, float(M.network.charge) * M.lattice.spacing
    arrays = dict(np.load(path))
    arrays["theta"] = qa * arrays.pop("A")
    np.savez(tmp_path / "theta.npz", **arrays)
    tphi, tpi = u1.load_initial(tmp_path / "theta.npz", M, "check")
    assert np.abs(tphi[:D] - phi[:D]).max() <= 4e-16 * np.abs(phi[:D]).max()
    assert np.array_equal(tphi[D:], phi[D:]) and np.array_equal(tpi, pi)


def _leaves(state):
    import jax

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(state)]


def test_missing_e_and_matter_default_to_zero_and_the_vacuum(tmp_path):
    M, (phi, pi) = _scalar()
    # the Higgs phase: the vacuum has phi_1 = sqrt(2) v_e
    Mh = sq.model(M.lattice, 0.05, charge=1.2, lam=0.5, v=1.0, m=0.0)
    A, _ = u1.random_photons(M.lattice, 1, 0.1)
    np.savez(tmp_path / "photons.npz", A=A)
    got_phi, got_pi = u1.load_initial(tmp_path / "photons.npz", Mh, "check")
    assert np.array_equal(got_phi[:2], A) and not got_pi.any()
    assert np.allclose(got_phi[2], np.sqrt(2.0) * sq.vev(0.5, 1.0, 0.0)) and not got_phi[3].any()


# ------------------------------------------------------------------------------------------------------------
# the projection
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(THEORIES))
def test_projection_makes_gauss_round_off_and_keeps_the_transverse_part(name, tmp_path):
    M, (phi, pi) = THEORIES[name]()
    lat, D = M.lattice, M.lattice.ndim
    rng = np.random.default_rng(7)
    E_user = rng.standard_normal((D, *lat.shape)) + 0.3  # random, with a uniform part (the k = 0 mode)
    arrays = {"A": phi[:D], "E": E_user}
    if M.network.matter is not None:
        arrays.update(dict(zip(M.matter_arrays, (phi[D:], pi[D:]), strict=True)))
    np.savez(tmp_path / "user.npz", **arrays)
    assert residual(M, phi, np.concatenate([E_user, pi[D:]])) > 1e-2  # the user's E violates the law
    got_phi, got_pi = u1.load_initial(tmp_path / "user.npz", M)
    assert np.array_equal(got_phi, phi) and np.array_equal(got_pi[D:], pi[D:])  # links and matter untouched
    assert residual(M, got_phi, got_pi) < 1e-12
    E = got_pi[:D]
    scale = np.abs(E_user).max()
    assert np.abs(_transverse_fft(lat, E) - _transverse_fft(lat, E_user)).max() < 1e-12 * scale
    assert np.abs(u1.transverse(lat, E) - u1.transverse(lat, E_user)).max() < 1e-12 * scale
    # E - E_user is a gradient: no transverse part, no uniform part
    assert np.abs(_transverse_fft(lat, E - E_user)).max() < 1e-12 * scale
    if name == "maxwell":  # no charge: the projection is the transverse part itself
        assert np.abs(E - u1.transverse(lat, E_user)).max() < 1e-13 * scale
    else:
        rho = np.asarray(M.charge_density(M.encode(got_phi, got_pi)))
        assert np.abs(rho).max() > 1e-2  # charged matter
    # projecting data that already satisfy the law changes them at round-off only
    np.savez(tmp_path / "again.npz", **{**arrays, "E": E})
    assert np.abs(u1.load_initial(tmp_path / "again.npz", M)[1][:D] - E).max() < 1e-13 * scale


def test_a_net_charge_cannot_be_projected(tmp_path):
    M, (phi, pi) = _scalar()
    lat = M.lattice
    blob = np.exp(-sum((x - L / 2) ** 2 for x, L in zip(lat.coordinates(), lat.lengths, strict=True)))
    m_phi, m_pi = np.stack([blob, 0 * blob]), np.stack([0 * blob, -blob])  # one positive-frequency packet
    np.savez(tmp_path / "charged.npz", A=phi[:2], phi=m_phi, pi=m_pi)
    with pytest.raises(InputError, match=r"carries the net charge [0-9.]+.*a periodic lattice holds none"):
        u1.load_initial(tmp_path / "charged.npz", M)
    cfg = _cfg("scalar-qed", tmp_path / "charged.npz")
    with pytest.raises(ConfigError,
                       match=r"^<config>: initial\.path: the matter \('phi', 'pi'\) carries the net charge"):
        cfg.initial_fields(cfg.build_model())


# ------------------------------------------------------------------------------------------------------------
# gauss = "check"
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["maxwell", "scalar-qed"])
def test_check_refuses_data_violating_gauss_with_the_measured_residual(name, tmp_path):
    M, (phi, pi) = THEORIES[name]()
    D = M.lattice.ndim
    bad = pi.copy()
    bad[0] += 1e-6 * np.cos(2 * np.pi * M.lattice.coordinates()[0] / M.lattice.lengths[0])  # longitudinal
    u1.save_initial(tmp_path / "bad.npz", M, phi, bad)
    want = residual(M, phi, bad)
    assert want > GAUSS_TOLERANCE
    with pytest.raises(ParameterError) as info:
        u1.load_initial(tmp_path / "bad.npz", M, "check")
    assert info.value.param == "gauss"
    measured = float(re.search(r"relative residual ([0-9.e+-]+)", str(info.value)).group(1))
    assert abs(measured - want) <= 1e-3 * want
    cfg = _cfg(name, tmp_path / "bad.npz", "check")
    with pytest.raises(ConfigError, match=r'^<config>: initial\.gauss: the data of .* violate Gauss.s law: relative '
                                          r'residual [0-9.]+e-[0-9]+ .* set gauss = "project"'):
        cfg.initial_fields(cfg.build_model())
    # below the tolerance the data pass unchanged; "project" repairs the bad data
    bad[0] = pi[0] + 1e-14 * np.cos(2 * np.pi * M.lattice.coordinates()[0] / M.lattice.lengths[0])
    u1.save_initial(tmp_path / "fine.npz", M, phi, bad)
    assert np.array_equal(u1.load_initial(tmp_path / "fine.npz", M, "check")[1], bad)
    assert residual(M, *u1.load_initial(tmp_path / "bad.npz", M, "project")) < 1e-12
    assert np.abs(u1.load_initial(tmp_path / "bad.npz", M)[1][:D] - pi[:D]).max() < 1e-12


# ------------------------------------------------------------------------------------------------------------
# malformed files
# ------------------------------------------------------------------------------------------------------------
def _bad_files(M, phi):
    D = M.lattice.ndim
    A = phi[:D]
    shape = tuple(M.lattice.shape)
    return {
        "misspelt": ({"A": A, "Ee": A}, r"unexpected array 'Ee'; expected only 'A' or 'theta', 'E', 'phi', 'pi'; "
                                        r"did you mean 'E'\?"),
        "unknown": ({"A": A, "Q": A}, r"unexpected array 'Q'; expected only 'A' or 'theta', 'E', 'phi', 'pi'$"),
        "both links": ({"A": A, "theta": A}, r"holds both 'A' and 'theta'; expected exactly one of them"),
        "no links": ({"E": A}, r"holds neither 'A' nor 'theta'; expected exactly one"),
        "shape": ({"A": A[:, :-1]}, rf"array 'A' has shape \({D}, {shape[0] - 1}, {shape[1]}\); expected "
                                    rf"\({D}, {shape[0]}, {shape[1]}\) for this lattice"),
        "matter shape": ({"A": A, "phi": A[:1]}, rf"array 'phi' has shape \(1, {shape[0]}, {shape[1]}\); expected "
                                                 rf"\(2, {shape[0]}, {shape[1]}\)"),
        "nan": ({"A": A, "E": np.where(np.arange(A.size).reshape(A.shape) % 7 == 0, np.nan, A)},
                r"array 'E' holds 19 NaN/Inf values; expected finite"),
        "inf": ({"A": A, "pi": np.full((2, *shape), np.inf)}, r"array 'pi' holds \d+ NaN/Inf values"),
        "complex": ({"A": A + 0j}, r"array 'A' is complex; expected real floating-point values"),
        "integer": ({"A": A.astype(int)}, r"array 'A' is of dtype '<i8'; expected real floating-point"),
        "pickle": ({"A": np.array([None] * 2, dtype=object)}, r"array 'A' is an object array \(a pickle, never "
                                                                r"loaded\)"),
    }


def test_malformed_files_are_refused_in_one_line_naming_the_file_and_the_array(tmp_path):
    M, (phi, _) = _scalar()
    cfg = _cfg("scalar-qed", tmp_path / "bad.npz")
    model = cfg.build_model()
    for case, (arrays, match) in _bad_files(M, phi).items():
        path = tmp_path / "bad.npz"
        np.savez(path, **arrays)
        with pytest.raises(InputError, match=match) as info:
            u1.load_initial(path, M)
        assert "\n" not in str(info.value) and repr(str(path)) in str(info.value), case
        with pytest.raises(ConfigError) as from_config:
            cfg.initial_fields(model)
        assert str(from_config.value) == f"<config>: initial.path: {info.value}", case


def test_missing_unreadable_and_odd_files(tmp_path):
    M, (phi, _) = _maxwell()
    cases = {
        tmp_path / "none.npz": r"does not exist \(a relative path is taken from the working directory",
        tmp_path: r"is a directory",
    }
    np.save(tmp_path / "single.npy", phi)
    cases[tmp_path / "single.npy"] = r"holds a single array \(np\.save\), not a \.npz archive"
    (tmp_path / "text.npz").write_text("not a zip")
    cases[tmp_path / "text.npz"] = r"cannot be read as \.npz"
    with zipfile.ZipFile(tmp_path / "twice.npz", "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        for _ in range(2):
            with zf.open("A.npy", "w") as f:
                np.lib.format.write_array(f, phi)
    cases[tmp_path / "twice.npz"] = r"holds the array 'A' twice"
    for path, match in cases.items():
        with pytest.raises(InputError, match=match):
            u1.load_initial(path, M)
    with pytest.raises(InputError, match="empty string"):
        u1.load_initial("", M)
    with pytest.raises(ParameterError, match=r'^gauss: expected "project" or "check", got \'fix\''):
        u1.load_initial(tmp_path / "none.npz", M, "fix")
    # the maxwell theory has no matter: a scalar's arrays are unknown names
    np.savez(tmp_path / "matter.npz", A=phi, phi=phi[:2])
    with pytest.raises(InputError, match=r"unexpected array 'phi'; expected only 'A' or 'theta', 'E'$"):
        u1.load_initial(tmp_path / "matter.npz", M)


def test_config_keys_are_validated():
    with pytest.raises(ConfigError, match=r'initial\.gauss: expected one of "project", "check", got "projection"'):
        _cfg("maxwell", "x.npz", "projection")
    text = ('[theory]\nname = "maxwell-dirac"\n[lattice]\nshape = [8]\n[time]\ndt = 0.05\nsteps = 2\n'
            '[initial]\nkind = "file"\n')
    with pytest.raises(ConfigError, match=r"initial\.path: missing required key"):
        parse_config(text)
    with pytest.raises(ConfigError, match=r"initial\.momentum: unknown key"):
        parse_config(text + 'path = "x.npz"\nmomentum = [1.0]\n')


# ------------------------------------------------------------------------------------------------------------
# a full run, and a restart from its last snapshot
# ------------------------------------------------------------------------------------------------------------
def test_a_run_from_a_file_records_gauss_at_round_off_and_restarts_from_its_last_snapshot(tmp_path, monkeypatch):
    from nnfield import cli
    from nnfield.io import load_run

    M, (phi, pi) = _scalar()
    D = M.lattice.ndim
    E_user = np.random.default_rng(11).standard_normal((D, *M.lattice.shape))
    np.savez(tmp_path / "data.npz", A=phi[:D], E=E_user, phi=phi[D:], pi=pi[D:])
    monkeypatch.chdir(tmp_path)  # path = "data.npz" is taken from the working directory
    text = ('[theory]\nname = "scalar-qed"\ncharge = 1.2\nvev = 1.0\nmass = 1.5\n[lattice]\nshape = [8, 8]\n'
            'spacing = 0.5\n[time]\ndt = 0.05\nsteps = 40\n[initial]\nkind = "file"\npath = "{path}"\n'
            'gauss = "{gauss}"\n[output]\nevery = 10\n')
    (tmp_path / "run.toml").write_text(text.format(path="data.npz", gauss="project"))
    assert cli.main(["run", "run.toml", "--out", "out", "-q"]) == 0
    run = load_run("out", snapshots="last")
    g = np.asarray(run.observables["gauss_residual"])
    assert len(g) == 5 and g.max() < 1e-13, g
    assert float(np.abs(np.asarray(run.observables["charge"])).max()) < 1e-13
    # restart: the last snapshot as initial data, checked (a float64 run keeps Gauss's law to round-off)
    path = u1.save_initial_from_run(tmp_path / "restart", "out")
    assert path.name == "restart.npz"
    got_phi, got_pi = u1.load_initial(path, M, "check")
    snap = {k: v[-1] for k, v in run.fields.items()}
    s = M.encode(got_phi, got_pi)
    links = snap["links"]
    assert np.abs(np.asarray(s["links"]) - links).max() <= 4e-16 * np.abs(links).max()
    assert np.array_equal(np.asarray(s["electric"]), snap["electric"])
    assert np.array_equal(np.asarray(s["matter"].phi), snap["matter.phi"])
    cfg = parse_config(text.format(path="restart.npz", gauss="check"))
    assert np.array_equal(cfg.initial_fields(cfg.build_model())[1], got_pi)
