"""The gauged Dirac model's declarations (conserved quantities, dispersion), its dense spectrum's independence of
the Clifford representation, and its errors (plain words in the library, the TOML key at the edge)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nnfield import Lattice, State
from nnfield import analysis as an
from nnfield.errors import InputError, ParameterError
from nnfield.model import BOUNDED
from nnfield.network import AbstractNetwork
from nnfield.theories import clifford, dirac
from nnfield.theories import gauge as g

EPS = np.finfo(np.float64).eps


def _background(kind: str, lat: Lattice, dt: float, rng: np.random.Generator) -> g.U1Links | None:
    if kind == "none":
        return None
    if kind == "uniform":
        A = np.array([0.3, -0.2, 0.1])[: lat.ndim].reshape((lat.ndim,) + (1,) * lat.ndim)
        return g.U1Links.from_potentials(lat, dt, A=A, A0=0.2)
    if kind == "magnetic":
        return g.uniform_magnetic(lat, 1)[0]
    links = g.random_links(lat, rng, 0.6)  # "spatial": random spatial links, no temporal link
    return g.U1Links(links.alpha, np.zeros(lat.shape))


CASES = [
    ("none", (32,), 0.5, 0.05, "forward"),
    ("uniform", (32,), 0.5, 0.05, "wilson"),
    ("uniform", (6, 5), 1.0, 0.1, "wilson"),
    ("magnetic", (8, 8), 1.0, 0.1, "wilson"),
    ("spatial", (4, 3, 3), 0.7, 0.05, "forward"),
]


@pytest.mark.parametrize(("kind", "shape", "a", "dt", "bias"), CASES)
def test_declared_conserved_quantities_hold(kind, shape, a, dt, bias, rng):
    """The exact invariant behind the declarations is conserved to round-off, and each declared bounded quantity
    oscillates without secular drift."""
    lat = Lattice(shape, a)
    M = g.model(lat, 0.7, dt, _background(kind, lat, dt, rng), network="stable", bias=bias)
    declared = M.conserved()
    assert {c.name for c in declared} == {"charge", "energy"}
    assert all(c.kind == BOUNDED for c in declared)
    s = State(rng.normal(size=(M.network.K, *shape)), rng.normal(size=(M.network.K, *shape)))
    steps, every = 1200, 20
    names = [c.name for c in declared]

    def observe(st):
        return {"invariant": M.invariant(st), **{n: M.observables(st)[n] for n in names}}

    _, obs = M.network.run(s, steps, every, observe)
    o0 = jax.jit(observe)(s)  # one program, not ~15 op-by-op compiles
    inv = np.asarray(obs["invariant"]) / float(o0["invariant"]) - 1
    assert np.abs(inv).max() < steps * EPS, np.abs(inv).max()
    for name in names:
        dev = (np.asarray(obs[name]) - float(o0[name])) / abs(float(o0[name]))
        half = len(dev) // 2
        first, second = np.abs(dev[:half]).max(), np.abs(dev[half:]).max()
        assert first > 1e3 * EPS  # it does oscillate (not an invariant)
        assert second < 1.5 * first, (name, first, second)


def test_nothing_declared_where_nothing_holds():
    """A non-uniform A0 (electric field) and the paper network (unstable scheme) declare nothing."""
    lat = Lattice((32,), 0.5)
    assert g.model(lat, 1.0, 0.05, g.uniform_electric(lat, 0.05, 0.05), network="stable").conserved() == ()
    assert g.model(lat, 1.0, 0.05, None, network="paper").conserved() == ()


def test_charge_of_the_stable_network_drifts_in_an_electric_field():
    """Why nothing is declared with a non-uniform A0: the modified invariant is not conserved there."""
    lat = Lattice((64,), 0.5)
    M = g.model(lat, 1.0, 0.05, g.uniform_electric(lat, 0.05, 0.1), network="stable")
    phi, pi = dirac.gaussian_packet(M.theory, center=[16.0], width=3.0, k0=[0.3], branch="positive")
    s = M.initial_state(phi, pi)
    _, obs = M.network.run(s, 400, 20, lambda st: {"invariant": M.invariant(st)})
    inv = np.asarray(obs["invariant"])
    assert np.abs(inv / float(M.invariant(s)) - 1).max() > 1e6 * EPS


def test_dispersion_in_uniform_backgrounds():
    """Uniform links: the particle branch omega(k - qA) + qA0 is one of the network's branches (to O(dt^2));
    non-uniform: None."""
    lat = Lattice((8, 8), 1.0)
    dt = 0.01
    k = [np.linspace(-1, 1, 7), np.linspace(0.5, -0.5, 7)]
    for links in (None, g.U1Links.from_potentials(lat, dt, A=np.array([0.3, -0.2])[:, None, None], A0=0.1)):
        M = g.model(lat, 0.5, dt, links, network="stable", bias="wilson")
        w = M.dispersion(k)
        net = an.network_dispersion(M.network, k)
        assert np.abs(net - w[:, None]).min(axis=-1).max() < 1e-4
    assert g.model(lat, 0.5, dt, g.uniform_magnetic(lat, 1)[0], network="stable", bias="wilson").dispersion(k) is None


def _rotated(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    O, _ = np.linalg.qr(rng.normal(size=(X.shape[1], X.shape[1])))
    return np.einsum("ab,mbc,dc->mad", O, X, O)


# the 2D case (K = 4, 2.1 s) is slow since session 28 (the quick suite's 3 minutes); the 1D case runs the same code
@pytest.mark.parametrize("shape", [(6,), pytest.param((3, 2), marks=pytest.mark.slow)])
def test_spectrum_is_independent_of_the_clifford_representation(shape, rng):
    """X' = O X O^T (O orthogonal) is a valid representation; the gauged spectrum must not move."""
    lat = Lattice(shape, 1.0)
    D = lat.ndim
    links = g.random_links(lat, rng, 0.5)
    X = clifford.representation(D)
    Xr = _rotated(X, rng)
    assert np.abs(Xr[0] - X[0]).max() > 0.1  # a genuinely different X_0 (complex structure U != I)
    M = g.model(lat, 0.4, 0.1, links, network="stable", bias="wilson", X=X)
    Mr = g.model(lat, 0.4, 0.1, links, network="stable", bias="wilson", X=Xr)
    lam = np.linalg.eigvals(g.complex_step_matrix(M.network, M.theory))
    lam_r = np.linalg.eigvals(g.complex_step_matrix(Mr.network, Mr.theory))
    w, wr = (np.sort(-np.angle(x) / float(M.network.tick)) for x in (lam, lam_r))
    assert np.abs(w - wr).max() < 1e-10  # the frequencies
    assert np.abs(np.sort(np.abs(lam)) - np.sort(np.abs(lam_r))).max() < 1e-10  # and the growth rates
    assert np.array_equal(g.network_frequencies(M.network, M.theory), w)
    with pytest.warns(DeprecationWarning, match="pass the model's theory"):
        old = g.network_frequencies(Mr.network)  # without the theory: the built-in packing (kept for one release)
    assert np.abs(old - wr).max() > 1e-3  # which is why the theory is needed


def test_gauged_network_offers_the_declared_interface():
    lat = Lattice((8,), 1.0)
    net = g.link_network(lat, 0.5, 0.1, g.uniform_electric(lat, 0.1, 0.05), network="stable")
    assert isinstance(net, AbstractNetwork)
    assert (net.lattice, net.K, net.dt, net.tick, net.order) == (lat, 2, 0.1, 0.1, 1)
    with pytest.raises(AttributeError):
        net.B  # noqa: B018  (the bias map belongs to the inner network and the model, not the interface)


def test_library_errors_name_parameters_in_plain_words(tmp_path):
    lat = Lattice((8,), 1.0)
    cases = [
        (lambda: g.link_network(lat, 0.5, 0.1, None, network="fast"), "network"),
        (lambda: g.covariant_bias(clifford.representation(1), lat, None, "central"), "bias"),
        (lambda: g.linearized_network(lat, 0.5, 0.1, placement="middle"), "placement"),
        (lambda: g.uniform_magnetic(lat, 1), "lattice"),
        (lambda: g.uniform_electric(lat, 0.1, 0.05, direction=1), "direction"),
        (lambda: g.transform_linearized(np.eye(2), np.eye(2), [np.eye(2)], 0, np.zeros(8), 0, "other"), "rule"),
    ]
    for build, param in cases:
        with pytest.raises(ParameterError) as exc:
            build()
        assert exc.value.param == param
        assert "theory." not in str(exc.value) and "gauge." not in str(exc.value)
    with pytest.raises(InputError) as err:
        g.U1Links.load(tmp_path / "none.npz", lat)
    assert "theory." not in str(err.value) and "gauge." not in str(err.value)


def _write_bad(tmp_path, kind: str, N: int):
    path = tmp_path / f"{kind}.npz"
    good = np.zeros((1, N))
    if kind == "missing":
        return tmp_path / "nope.npz"
    if kind == "directory":
        path.mkdir()
    elif kind == "shape":
        np.savez(path, alpha=np.zeros((2, N)))
    elif kind == "alpha0_shape":
        np.savez(path, alpha=good, alpha0=np.zeros(N + 1))
    elif kind == "nan":
        np.savez(path, alpha=np.where(np.arange(N) == 3, np.nan, 0.0)[None])
    elif kind == "inf":
        np.savez(path, alpha=good, alpha0=np.where(np.arange(N) == 3, np.inf, 0.0))
    elif kind == "complex":
        np.savez(path, alpha=good + 0.5j)
    elif kind == "no_alpha":
        np.savez(path, beta=good)
    elif kind == "npy":
        path = tmp_path / "links.npy"
        np.save(path, good)
    elif kind == "text":
        path.write_text("not an archive")
    elif kind == "strings":
        np.savez(path, alpha=np.array([["a"] * N]))
    return path


BAD_FILES = ["missing", "directory", "shape", "alpha0_shape", "nan", "inf", "complex", "no_alpha", "npy", "text",
             "strings"]


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_links_file_is_refused_with_one_line_naming_theory_file(kind, tmp_path, capsys):
    from nnfield.cli import main

    N = 16
    path = _write_bad(tmp_path, kind, N)
    cfg = tmp_path / "f.toml"
    cfg.write_text(f"""
[theory]
name = "gauged-dirac"
field = "file"
file = "{path}"

[lattice]
shape = [{N}]

[time]
dt = 0.05
steps = 4
scheme = "alternating"

[initial]
kind = "gaussian_packet"
width = 2.0
""")
    capsys.readouterr()
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "-q"]) == 2
    out, err = capsys.readouterr()
    lines = [ln for ln in (out + err).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert "theory.file" in lines[0] and "gauge." not in lines[0], lines[0]


def test_old_names_still_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="dirac.PerTypeLoss"):
        assert g.SiteLoss is dirac.PerTypeLoss
    import importlib
    import sys

    sys.modules.pop("nnfield.theories.gauge_spec", None)
    with pytest.warns(DeprecationWarning, match="gauge.spec"):
        shim = importlib.import_module("nnfield.theories.gauge_spec")
    from nnfield.theories.gauge.spec import SPEC

    assert shim.SPEC is SPEC
