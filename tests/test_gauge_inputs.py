"""The gauged-Dirac builders check what they are given (API audit): links carry the ``dt`` their temporal links were
built for and a network of another step refuses them; links of another lattice, or not links at all, are refused in
one line naming ``links``; a traced ``dt`` goes through ``jax.grad``/``jax.vmap``/``jax.jit``; a float32 or float16
state keeps its dtype; the backgrounds check each argument under its own name (integer flux quanta, distinct axes
of the lattice, ``dt > 0``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, cli
from nnfield.errors import ParameterError
from nnfield.theories import dirac
from nnfield.theories import gauge as g

jax.config.update("jax_enable_x64", True)

EPS = float(np.finfo(np.float64).eps)
L1 = Lattice((32,), spacing=0.5)


def _packet(model, center=8.0, k0=0.0, width=1.5):
    phi, pi = dirac.gaussian_packet(model.theory, center=[center] * model.theory.lattice.ndim, width=width,
                                    k0=[k0] + [0.0] * (model.theory.lattice.ndim - 1))
    return np.asarray(phi), np.asarray(pi)


def _final(model, phi, pi, steps, name):
    _, obs = model.network.run(model.encode(phi, pi), steps=steps, every=steps, observer=model.observables)
    return obs[name][-1]


# ----------------------------------------------------------------------------------------------------------
# 1. links record the dt of their temporal links; a network of another step refuses them
# ----------------------------------------------------------------------------------------------------------
def test_links_record_the_dt_of_their_temporal_links():
    lat = Lattice((6, 4), 0.5)
    assert g.uniform_electric(lat, 0.05, 0.1).dt == 0.05
    assert g.U1Links.from_potentials(lat, 0.2, A0=0.3).dt == 0.2
    static = g.U1Links.from_potentials(lat, 0.2, A=np.array([0.1, 0.2])[:, None, None])
    assert static.dt is None  # no temporal links
    assert g.uniform_magnetic(lat, 1)[0].dt is None
    assert g.U1Links.zero(lat).dt is None
    links = g.uniform_electric(lat, 0.05, 0.1)
    assert g.transform_links(links, np.ones(lat.shape), np.zeros(lat.shape)).dt == 0.05


@pytest.mark.parametrize("build", ["model", "link_network", "with_links", "with_links dt", "reference"])
def test_links_of_another_dt_are_refused_naming_links_and_both_steps(build):
    links = g.uniform_electric(L1, 0.1, 0.5)
    base = g.model(L1, 0.5, 0.05)
    calls = {
        "model": lambda: g.model(L1, 0.5, 0.05, links),
        "link_network": lambda: g.link_network(L1, 0.5, 0.05, links),
        "with_links": lambda: g.with_links(base, links),
        "with_links dt": lambda: g.with_links(g.model(L1, 0.5, 0.1, links), links, dt=0.05),
        "reference": lambda: g.ContinuumReference(base.theory, links, 0.05),
    }
    with pytest.raises(ParameterError) as err:
        calls[build]()
    assert err.value.param == "links"
    text = str(err.value)
    assert "dt = 0.1" in text and "dt = 0.05" in text and "\n" not in text, text


def test_the_dt_check_guards_the_force_the_matching_links_give():
    """What the check prevents: the same angles (built for dt 0.1) on a network of dt 0.05 push with twice the
    force. ``d<k>/dt = q E`` on the lattice (canonical momentum, ``A0`` static), so over ``t`` the mean wavenumber
    gains ``q E t`` with the matching links and ``2 q E t`` with the angles of the other step; both within the 2%
    criterion of ``test_electric_field_momentum_gain_rate`` (the packet stays far from the potential's jump)."""
    dt, E, q, steps = 0.05, 0.1, 1.0, 40
    t = steps * dt
    matched = g.uniform_electric(L1, dt, E, q=q)
    other = g.uniform_electric(L1, 2 * dt, E, q=q)
    with pytest.raises(ParameterError, match="links: built for dt = 0.1"):
        g.model(L1, 1.0, dt, other)
    raw = g.U1Links(other.alpha, other.alpha0)  # the same angles without their dt: not checked
    gains = []
    for links in (matched, raw):
        M = g.model(L1, 1.0, dt, links)
        phi, pi = _packet(M, center=8.0, k0=0.3, width=2.0)
        k0 = float(M.wavenumber(M.encode(phi, pi))[0])
        gains.append(float(_final(M, phi, pi, steps, "wavenumber_x")) - k0)
    assert abs(gains[0] / (q * E * t) - 1) < 0.02
    assert abs(gains[1] / (2 * q * E * t) - 1) < 0.02


def test_a_traced_dt_skips_the_comparison():
    """Inside ``jax.vmap`` the model's dt is not known: links built outside (for dt 0.05) are accepted, and the
    member of dt 0.05 equals the concrete model's run."""
    links = g.uniform_electric(L1, 0.05, 0.5)
    base = g.model(L1, 0.5, 0.05, links)
    phi, pi = _packet(base)

    def f(d):
        return _final(g.model(L1, 0.5, d, links), phi, pi, 8, "momentum_x")

    batched = np.asarray(jax.vmap(f)(jnp.array([0.05, 0.06])))
    concrete = float(_final(base, phi, pi, 8, "momentum_x"))
    assert abs(batched[0] - concrete) <= 100 * 8 * EPS * max(1.0, abs(concrete))


def test_links_files_store_dt_and_old_files_still_load(tmp_path):
    links = g.uniform_electric(L1, 0.05, 0.5)
    links.save(tmp_path / "new.npz")
    assert set(np.load(tmp_path / "new.npz").files) == {"alpha", "alpha0", "dt", "spacing"}
    back = g.U1Links.load(tmp_path / "new.npz", L1)
    assert back.dt == 0.05
    np.testing.assert_array_equal(np.asarray(back.alpha0), np.asarray(links.alpha0))
    g.model(L1, 0.5, 0.05, back)
    with pytest.raises(ParameterError, match=r"links: built for dt = 0.05, but the network's dt = 0.1"):
        g.model(L1, 0.5, 0.1, back)
    # a file of an earlier release (no dt): loads without a step and is not checked
    np.savez(tmp_path / "old.npz", alpha=np.asarray(links.alpha), alpha0=np.asarray(links.alpha0))
    old = g.U1Links.load(tmp_path / "old.npz", L1)
    assert old.dt is None
    g.model(L1, 0.5, 0.1, old)
    # links without a recorded dt write no dt
    g.random_links(L1, np.random.default_rng(0)).save(tmp_path / "raw.npz")
    assert set(np.load(tmp_path / "raw.npz").files) == {"alpha", "alpha0"}


# a bad dt member of a links file: tests/test_gauge_links_s26.py::test_a_bad_dt_or_spacing_in_a_links_file_is_refused


def test_a_links_file_of_another_dt_is_refused_by_the_command_line_naming_theory_file(tmp_path, capsys):
    g.uniform_electric(Lattice((16,), 0.5), 0.1, 0.05).save(tmp_path / "links.npz")
    cfg = tmp_path / "f.toml"
    cfg.write_text(f"""
[theory]
name = "gauged-dirac"
field = "file"
file = "{tmp_path / 'links.npz'}"
[lattice]
shape = [16]
spacing = 0.5
[time]
dt = 0.05
steps = 4
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 2.0
""")
    out = tmp_path / "out"
    assert cli.main(["run", str(cfg), "--dry-run", "--out", str(out), "-q"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "theory.file" in lines[0] and "dt = 0.1" in lines[0] and "dt = 0.05" in lines[0]


# ----------------------------------------------------------------------------------------------------------
# 2. links of another lattice, or not links at all
# ----------------------------------------------------------------------------------------------------------
def _bad_links():
    good = g.uniform_magnetic(Lattice((8, 8)), 1)[0]
    return {
        "other shape": (g.uniform_magnetic(Lattice((4, 4)), 1)[0], r"alpha has shape \(2, 4, 4\).*needs \(2, 8, 8\)"),
        "other dimension": (g.U1Links.zero(Lattice((8,))), r"alpha has shape \(1, 8\).*needs \(2, 8, 8\)"),
        "alpha0 shape": (g.U1Links(good.alpha, np.zeros((8, 4))), r"alpha0 has shape \(8, 4\).*needs \(8, 8\)"),
        "string": ("x", r"expected U1Links .* or None, got 'x' \(str\)"),
        "tuple": ((good.alpha, good.alpha0), r"expected U1Links .* \(tuple\)"),
        "complex": (g.U1Links(good.alpha + 0j, good.alpha0), "alpha has dtype complex128; expected real angles"),
        "nan": (g.U1Links(np.where(good.alpha == good.alpha[0, 0, 0], np.nan, good.alpha), good.alpha0),
                "alpha holds .* NaN/Inf angles"),
    }


@pytest.mark.parametrize("case", sorted(_bad_links()))
@pytest.mark.parametrize("build", ["model", "link_network", "with_links"])
def test_links_of_another_lattice_or_type_are_refused_at_build_time(case, build):
    lat = Lattice((8, 8))
    links, message = _bad_links()[case]
    calls = {
        "model": lambda: g.model(lat, 0.5, 0.1, links),
        "link_network": lambda: g.link_network(lat, 0.5, 0.1, links),
        "with_links": lambda: g.with_links(g.model(lat, 0.5, 0.1), links),
    }
    with pytest.raises(ParameterError, match=message) as err:
        calls[build]()
    assert err.value.param == "links" and "\n" not in str(err.value)


def test_traced_spatial_links_are_refused_in_one_line():
    lat = Lattice((8,))
    with pytest.raises(ParameterError, match="links: the spatial links alpha are traced"):
        jax.jit(lambda a: g.link_network(lat, 0.5, 0.1, g.U1Links(a, np.zeros(8))).dt)(np.zeros((1, 8)))


# ----------------------------------------------------------------------------------------------------------
# 3. a traced dt: jax.grad, jax.vmap and jax.jit over the gauged-Dirac builder
# ----------------------------------------------------------------------------------------------------------
STEPS = 8


def _observable(kind):
    """A final observable as a function of dt, the model (and, in a field, its links) built from that dt."""
    base = g.model(L1, 0.9, 0.1)
    phi, pi = _packet(base, k0=0.5)

    def f(d):
        links = None if kind == "none" else g.uniform_electric(L1, d, 0.5)
        return _final(g.model(L1, 0.9, d, links), phi, pi, STEPS, "energy" if kind == "none" else "momentum_x")

    return f


# the electric case is slow (3 s); the quick suite keeps "none", which guards the traced dt through the same code
@pytest.mark.parametrize("kind", ["none", pytest.param("electric", marks=pytest.mark.slow)])
def test_grad_over_dt_matches_central_differences(kind):
    """Central differences ``(f(d+h) - f(d-h)) / 2h`` err by ``h^2 |f'''| / 6`` (truncation, ``f'''`` estimated by a
    five-point third difference at a coarse step) plus ``delta / h`` (``delta``: the rounding of ``f``, about
    ``STEPS eps |f|``); the gradient must agree within 10 times that."""
    f = _observable(kind)
    d, h, H = 0.1, 1e-4, 1e-2
    fv = {x: float(f(d + x)) for x in (-2 * H, -H, -h, 0.0, h, H, 2 * H)}
    fd = (fv[h] - fv[-h]) / (2 * h)
    f3 = (fv[2 * H] - 2 * fv[H] + 2 * fv[-H] - fv[-2 * H]) / (2 * H**3)
    grad = float(jax.grad(f)(d))
    bound = h**2 * abs(f3) / 6 + STEPS * EPS * max(1.0, abs(fv[0.0])) / h
    assert abs(grad - fd) <= 10 * bound, (grad, fd, bound)
    assert abs(fd) > 100 * bound  # the derivative itself is resolved


@pytest.mark.parametrize("kind", ["none", pytest.param("electric", marks=pytest.mark.slow)])  # as above
def test_vmap_and_jit_over_dt_equal_separate_runs(kind):
    f = _observable(kind)
    dts = [0.1, 0.07]
    concrete = np.array([float(f(d)) for d in dts])
    batched = np.asarray(jax.vmap(f)(jnp.array(dts)))
    jitted = np.array([float(jax.jit(f)(d)) for d in dts])
    # the same arithmetic up to the order of a few operations (traced rates rounded once, not tuned): rounding
    # over STEPS ticks of O(1) values
    tol = 100 * STEPS * EPS * max(1.0, np.abs(concrete).max())
    assert np.abs(batched - concrete).max() <= tol
    assert np.abs(jitted - concrete).max() <= tol
    assert abs(concrete[0] - concrete[1]) > 1e3 * tol  # the two steps give different runs


def test_vmap_over_the_mass_of_the_gauged_model():
    links = g.uniform_electric(L1, 0.1, 0.5)
    phi, pi = _packet(g.model(L1, 0.5, 0.1))

    def f(m):
        return _final(g.model(L1, m, 0.1, links), phi, pi, STEPS, "energy")

    concrete = np.array([float(f(m)) for m in (0.5, 0.8)])
    batched = np.asarray(jax.vmap(f)(jnp.array([0.5, 0.8])))
    assert np.abs(batched - concrete).max() <= 100 * STEPS * EPS * max(1.0, np.abs(concrete).max())


# ----------------------------------------------------------------------------------------------------------
# 4. a float32 / float16 state keeps its dtype
# ----------------------------------------------------------------------------------------------------------
def _background(kind):
    if kind == "electric 1d":  # per-site temporal links
        return L1, g.uniform_electric(L1, 0.05, 0.5)
    lat = Lattice((8, 8), 0.5)  # magnetic spatial links and a uniform temporal link
    return lat, g.U1Links(g.uniform_magnetic(lat, 1)[0].alpha, np.full(lat.shape, 0.01))


# float16 is slow (the quick suite keeps float32, the same dtype-keeping code)
@pytest.mark.parametrize("dtype", [np.float32, pytest.param(np.float16, marks=pytest.mark.slow)])
@pytest.mark.parametrize("kind", ["electric 1d", "magnetic 2d"])
def test_a_low_precision_state_runs_in_its_dtype(kind, dtype):
    """The run keeps the state's dtype (observables included) and follows the float64 run to the rounding of that
    dtype: a tick rounds each component a few times (the bias map's terms, the mass rotation, ``U0``), at most
    ``4 eps`` relative per tick, accumulating at most linearly over the steps (the network is norm-bounded)."""
    lat, links = _background(kind)
    M = g.model(lat, 0.5, 0.05, links)
    phi, pi = _packet(M, center=3.0, k0=0.5)
    steps = 20
    s64, _ = M.network.run(M.encode(phi, pi), steps=steps, every=steps, observer=M.observables)
    low, obs = M.network.run(M.encode(phi.astype(dtype), pi.astype(dtype)), steps=steps, every=steps,
                             observer=M.observables)
    assert low.phi.dtype == dtype and low.pi.dtype == dtype
    assert all(v.dtype == dtype for v in obs.values()), {k: v.dtype for k, v in obs.items()}
    scale = max(np.abs(np.asarray(s64.phi)).max(), np.abs(np.asarray(s64.pi)).max())
    bound = 4 * (steps + 1) * float(np.finfo(dtype).eps) * scale
    for a, b in ((low.phi, s64.phi), (low.pi, s64.pi)):
        assert np.abs(np.asarray(a, np.float64) - np.asarray(b)).max() <= bound


# ----------------------------------------------------------------------------------------------------------
# 5. the backgrounds check each argument under its own name
# ----------------------------------------------------------------------------------------------------------
LAT2 = Lattice((8, 6), 0.5)


@pytest.mark.parametrize("n_flux", [1.5, 0.999, float("nan"), float("inf"), "1", True, None, [1]])
def test_uniform_magnetic_needs_an_integer_number_of_flux_quanta(n_flux):
    with pytest.raises(ParameterError) as err:
        g.uniform_magnetic(LAT2, n_flux)
    assert err.value.param == "n_flux" and "expected an integer" in str(err.value)


@pytest.mark.parametrize("n_flux", [2.0, np.int64(2), np.float64(2.0), np.int32(2)])
def test_integral_flux_quanta_of_any_type_give_the_integer_field(n_flux):
    links, B = g.uniform_magnetic(LAT2, n_flux)
    want, want_B = g.uniform_magnetic(LAT2, 2)
    np.testing.assert_array_equal(np.asarray(links.alpha), np.asarray(want.alpha))
    assert B == want_B


@pytest.mark.parametrize("q, message", [
    (float("nan"), "expected a finite number"), (float("inf"), "expected a finite number"), (0.0, "non-zero"),
    ("1", "expected a real number"),
])
def test_uniform_magnetic_checks_the_charge_under_its_own_name(q, message):
    with pytest.raises(ParameterError, match=message) as err:
        g.uniform_magnetic(LAT2, 1, q=q)
    assert err.value.param == "q"


def test_uniform_magnetic_refuses_a_traced_charge_or_flux_in_one_line():
    with pytest.raises(ParameterError, match="q: expected a concrete charge"):
        jax.jit(lambda q: g.uniform_magnetic(LAT2, 1, q=q)[1])(1.0)
    with pytest.raises(ParameterError, match="n_flux: expected a concrete integer"):
        jax.jit(lambda n: g.uniform_magnetic(LAT2, n)[1])(1)


@pytest.mark.parametrize("plane", [(0, 0), (1, 1), (0, 5), (0, -1), (0,), (0, 1, 2), "01", (0.0, 1), None, 0])
def test_uniform_magnetic_needs_two_distinct_axes_of_the_lattice(plane):
    with pytest.raises(ParameterError) as err:
        g.uniform_magnetic(LAT2, 1, plane=plane)
    assert err.value.param == "plane"


def test_a_plane_of_other_axes_carries_the_uniform_flux():
    """``plane=(0, 2)`` of a 3D lattice: every (0, 2) plaquette carries ``q B a^2`` (X_0 power ``2 q B a^2 / pi``,
    modulo 4), the other pairs none; the flux through the (0, 2) torus is ``n_flux`` quanta."""
    lat = Lattice((6, 4, 5), 0.5)
    links, B = g.uniform_magnetic(lat, 2, plane=(0, 2))
    assert np.isclose(B * lat.lengths[0] * lat.lengths[2], 2 * np.pi * 2, rtol=1e-14)
    P = np.mod(links.plaquettes(), 4.0)  # pairs (0, 1), (0, 2), (1, 2)
    tol = 64 * EPS * np.abs(np.asarray(links.alpha)).max()  # rounding of the angles summed around a plaquette
    assert np.abs(P[1] - 2 * B * lat.spacing**2 / np.pi).max() < tol
    assert np.abs(np.mod(P[[0, 2]] + 2, 4) - 2).max() < tol


@pytest.mark.parametrize("kwargs, param", [
    ({"dt": 0}, "dt"), ({"dt": -1}, "dt"), ({"dt": float("nan")}, "dt"), ({"dt": float("inf")}, "dt"),
    ({"dt": "0.1"}, "dt"), ({"E": float("nan")}, "E"), ({"q": float("nan")}, "q"), ({"direction": 0.5}, "direction"),
    ({"direction": True}, "direction"), ({"direction": 1}, "direction"), ({"center": float("nan")}, "center"),
])
def test_uniform_electric_checks_each_argument_under_its_own_name(kwargs, param):
    args = {"dt": 0.1, "E": 0.5} | kwargs
    dt, E = args.pop("dt"), args.pop("E")
    with pytest.raises(ParameterError) as err:
        g.uniform_electric(L1, dt, E, **args)
    assert err.value.param == param


def test_links_from_a_scalar_potential_need_a_positive_dt():
    with pytest.raises(ParameterError) as err:
        g.U1Links.from_potentials(L1, -0.1, A0=0.2)
    assert err.value.param == "dt"
