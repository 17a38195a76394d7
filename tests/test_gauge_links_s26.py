"""Gauge links API audit (s26): ``with_links`` rebuilds the theory with the network; links record the lattice
spacing they were built for and the builders refuse them on another spacing (saved and loaded with the file);
``transform_links`` works on traced angles and gauge functions; links made from raw angles record nothing and are
not checked."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, State, cli
from nnfield.errors import InputError, ParameterError
from nnfield.network import jit_step
from nnfield.theories import clifford
from nnfield.theories import gauge as g

jax.config.update("jax_enable_x64", True)

EPS = float(np.finfo(np.float64).eps)
LAT2 = Lattice((6, 4), 0.5)
HALF = Lattice((16,), 0.5)  # the links' lattice
ONE = Lattice((16,), 1.0)  # the same sites, another spacing


def _state(rng: np.random.Generator, K: int, lat: Lattice) -> State:
    return State(rng.normal(size=(K, *lat.shape)), rng.normal(size=(K, *lat.shape)))


def _max_diff(a: State, b: State) -> float:
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in ((a.phi, b.phi), (a.pi, b.pi)))


def _rotated_clifford(D: int, seed: int = 1) -> np.ndarray:
    """An orthogonally equivalent representation ``O X_mu O^T`` (not the default one)."""
    X = clifford.representation(D)
    O, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(X.shape[1], X.shape[1])))
    return np.einsum("ab,mbc,dc->mad", O, X, O)


# ----------------------------------------------------------------------------------------------------------
# 1. with_links rebuilds the theory with the network
# ----------------------------------------------------------------------------------------------------------
def _assert_same_model(got: g.GaugedDiracModel, want: g.GaugedDiracModel) -> None:
    """The same theory (kind, r, lattice, X, mass) and the same tick and energy to round-off."""
    assert got.theory == want.theory
    assert (got.theory.kind, got.theory.r, got.theory.lattice) == (want.theory.kind, want.theory.r,
                                                                    want.theory.lattice)
    np.testing.assert_array_equal(got.theory.X, want.theory.X)
    rng = np.random.default_rng(0)
    s = _state(rng, want.network.K, want.theory.lattice)
    a, b = jit_step(got.network, s), jit_step(want.network, s)
    scale = float(np.abs(np.asarray(b.phi)).max())
    assert _max_diff(a, b) <= 100 * EPS * scale
    ea, eb = float(got.energy(s)), float(want.energy(s))  # uses the theory: mass, lattice (cell volume)
    assert abs(ea - eb) <= 100 * EPS * max(1.0, abs(eb))


def test_with_links_of_another_bias_and_wilson_r_rebuilds_the_theory():
    X = _rotated_clifford(2)
    links = g.random_links(LAT2, np.random.default_rng(2), 0.4)
    base = g.model(LAT2, 0.7, 0.05, links, bias="forward", X=X)
    other = g.transform_links(links, np.random.default_rng(3).normal(size=LAT2.shape))
    got = g.with_links(base, other, bias="wilson", wilson_r=0.6)
    assert (got.theory.kind, got.theory.r) == ("wilson", 0.6)
    _assert_same_model(got, g.model(LAT2, 0.7, 0.05, other, bias="wilson", wilson_r=0.6, X=X))


def test_with_links_on_another_spacing_keeps_the_clifford_matrices_and_takes_the_new_lattice():
    X = _rotated_clifford(2)
    base = g.model(LAT2, 0.7, 0.05, None, bias="wilson", wilson_r=0.8, X=X)
    lat = Lattice((6, 4), 0.25)
    links = g.uniform_magnetic(lat, 1)[0]
    got = g.with_links(base, links, lattice=lat)
    assert got.theory.lattice == lat
    _assert_same_model(got, g.model(lat, 0.7, 0.05, links, bias="wilson", wilson_r=0.8, X=X))
    # the energy is a^D times a density: with the old theory's lattice (a = 0.5, not 0.25) it would be 4 times it
    assert got.theory.lattice.cell_volume == base.theory.lattice.cell_volume / 4


def test_with_links_on_a_lattice_of_other_axes_takes_its_default_clifford_matrices():
    base = g.model(LAT2, 0.7, 0.05, None, bias="wilson", wilson_r=0.8, X=_rotated_clifford(2))
    lat = Lattice((8,), 0.5)
    links = g.uniform_electric(lat, 0.05, 0.3)
    got = g.with_links(base, links, lattice=lat)
    np.testing.assert_array_equal(got.theory.X, g.clifford_matrices(lat, None))
    _assert_same_model(got, g.model(lat, 0.7, 0.05, links, bias="wilson", wilson_r=0.8))


# ----------------------------------------------------------------------------------------------------------
# 2. links record the spacing they were built for
# ----------------------------------------------------------------------------------------------------------
def test_the_builders_record_the_spacing_and_raw_angles_record_nothing():
    links = g.uniform_electric(HALF, 0.05, 0.3)
    assert (links.dt, links.spacing) == (0.05, 0.5)
    assert g.U1Links.from_potentials(LAT2, 0.1, A=np.array([0.1, 0.2])[:, None, None]).spacing == 0.5
    assert g.U1Links.from_potentials(LAT2, 0.1, A0=0.2).spacing == 0.5
    assert g.uniform_magnetic(LAT2, 1)[0].spacing is None  # its angles do not depend on the spacing (s28)
    assert g.transform_links(links, np.ones(16), np.zeros(16)).spacing == 0.5
    assert g.U1Links.zero(HALF).spacing is None
    assert g.random_links(HALF, np.random.default_rng(0)).spacing is None
    # positional construction as before; raw angles record neither dt nor spacing
    assert (g.U1Links(links.alpha, links.alpha0).dt, g.U1Links(links.alpha, links.alpha0).spacing) == (None, None)
    assert (g.U1Links(links.alpha, links.alpha0, 0.05).dt, g.U1Links(links.alpha, links.alpha0, 0.05).spacing) \
        == (0.05, None)
    given = g.U1Links(links.alpha, links.alpha0, dt=0.05, spacing=np.float64(0.5))
    assert given.spacing == 0.5 and type(given.spacing) is float
    with pytest.raises(ParameterError) as err:
        g.U1Links(links.alpha, links.alpha0, spacing=-1.0)
    assert err.value.param == "spacing"


def test_the_electric_angles_depend_on_the_spacing():
    """Why the check: on the same sites, ``A0 = -E (x - L/2)`` with ``x = a i`` makes the temporal angles
    proportional to ``a``."""
    half, one = g.uniform_electric(HALF, 0.05, 0.3), g.uniform_electric(ONE, 0.05, 0.3)
    np.testing.assert_allclose(2 * np.asarray(half.alpha0), np.asarray(one.alpha0), rtol=0, atol=4 * EPS)
    # the largest angle, at the site x = 0: 2 q dt E (L/2) / pi with L = 16 a
    assert abs(float(np.asarray(one.alpha0)[0]) - 2 * 0.05 * 0.3 * 8.0 / np.pi) <= 4 * EPS


@pytest.mark.parametrize("build", ["model", "link_network", "with_links", "reference"])
def test_links_of_another_spacing_are_refused_naming_links_and_both_spacings(build):
    links = g.uniform_electric(HALF, 0.05, 0.3)
    calls = {
        "model": lambda: g.model(ONE, 0.5, 0.05, links),
        "link_network": lambda: g.link_network(ONE, 0.5, 0.05, links),
        "with_links": lambda: g.with_links(g.model(HALF, 0.5, 0.05, links), links, lattice=ONE),
        "reference": lambda: g.ContinuumReference(g.model(ONE, 0.5, 0.05).theory, links, 0.05),
    }
    with pytest.raises(ParameterError) as err:
        calls[build]()
    assert err.value.param == "links"
    text = str(err.value)
    assert "spacing = 0.5" in text and "spacing = 1.0" in text and "\n" not in text, text


def test_links_of_the_same_spacing_are_accepted_and_raw_angles_are_not_checked():
    links = g.uniform_electric(HALF, 0.05, 0.3)
    g.model(Lattice((16,), 0.5 * (1 + 1e-14)), 0.5, 0.05, links)  # within 1e-12 relative
    with pytest.raises(ParameterError, match="spacing"):
        g.model(Lattice((16,), 0.5 * (1 + 1e-9)), 0.5, 0.05, links)
    g.model(ONE, 0.5, 0.05, g.U1Links(links.alpha, links.alpha0))  # no spacing recorded: not checked
    with pytest.raises(ParameterError, match="spacing = 0.5"):
        g.model(ONE, 0.5, 0.05, g.U1Links(links.alpha, links.alpha0, dt=0.05, spacing=0.5))


def test_the_spacing_check_holds_inside_jit_and_links_pass_through_jit_and_vmap():
    """The spacing is a static field: known inside ``jax.jit``/``jax.vmap`` (a traced dt skips only the dt check),
    kept through them, and not a leaf to batch."""
    links = g.uniform_electric(HALF, 0.05, 0.3)
    assert jax.jit(lambda lk: lk)(links).spacing == 0.5
    assert len(jax.tree_util.tree_leaves(links)) == 3  # alpha, alpha0, dt
    with pytest.raises(ParameterError, match="spacing = 0.5"):
        jax.jit(lambda d: g.link_network(ONE, 0.5, d, g.uniform_electric(HALF, d, 0.3)).dt)(0.05)
    batched = jax.vmap(lambda d: g.uniform_electric(HALF, d, 0.3))(jnp.array([0.05, 0.1]))
    assert batched.spacing == 0.5
    np.testing.assert_allclose(np.asarray(batched.alpha0[1]), 2 * np.asarray(links.alpha0), rtol=0, atol=4 * EPS)


def test_links_files_keep_the_spacing_and_old_files_still_load(tmp_path):
    links = g.uniform_electric(HALF, 0.05, 0.3)
    links.save(tmp_path / "new.npz")
    assert set(np.load(tmp_path / "new.npz").files) == {"alpha", "alpha0", "dt", "spacing"}
    back = g.U1Links.load(tmp_path / "new.npz", HALF)
    assert (back.dt, back.spacing) == (0.05, 0.5)
    np.testing.assert_array_equal(np.asarray(back.alpha0), np.asarray(links.alpha0))
    g.model(HALF, 0.5, 0.05, back)
    with pytest.raises(ParameterError, match=r"links: built for spacing = 0.5, but the lattice's spacing = 1.0"):
        g.model(ONE, 0.5, 0.05, g.U1Links.load(tmp_path / "new.npz", ONE))
    # a file of the previous release (alpha, alpha0, dt): loads without a spacing and is not checked for it
    np.savez(tmp_path / "old.npz", alpha=np.asarray(links.alpha), alpha0=np.asarray(links.alpha0), dt=0.05)
    old = g.U1Links.load(tmp_path / "old.npz", ONE)
    assert (old.dt, old.spacing) == (0.05, None)
    g.model(ONE, 0.5, 0.05, old)
    # links without a recorded spacing write none
    g.random_links(HALF, np.random.default_rng(0)).save(tmp_path / "raw.npz")
    assert set(np.load(tmp_path / "raw.npz").files) == {"alpha", "alpha0"}


def test_a_links_file_of_another_spacing_is_refused_by_the_command_line_naming_theory_file(tmp_path, capsys):
    g.uniform_electric(HALF, 0.05, 0.3).save(tmp_path / "links.npz")
    cfg = tmp_path / "f.toml"
    cfg.write_text(f"""
[theory]
name = "gauged-dirac"
field = "file"
file = "{tmp_path / 'links.npz'}"
[lattice]
shape = [16]
spacing = 1.0
[time]
dt = 0.05
steps = 4
scheme = "alternating"
[initial]
kind = "gaussian_packet"
width = 2.0
""")
    assert cli.main(["run", str(cfg), "--dry-run", "--out", str(tmp_path / "out"), "-q"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "theory.file" in lines[0], lines
    assert "spacing = 0.5" in lines[0] and "spacing = 1.0" in lines[0], lines


@pytest.mark.parametrize("member, value, message", [
    ("spacing", np.float64(-0.5), "array 'spacing' is -0.5; expected the positive lattice spacing"),
    ("spacing", np.float64(0.0), "array 'spacing' is 0.0; expected the positive lattice spacing"),
    ("spacing", np.float64(np.inf), "array 'spacing' holds 1 NaN/Inf"),
    ("spacing", np.array([0.5, 0.5]), "array 'spacing' has shape (2,); expected ()"),
    ("spacing", np.int64(1), "array 'spacing' is of dtype '<i8'"),
    ("dt", np.float64(-0.1), "array 'dt' is -0.1; expected the positive time step"),
    ("dt", np.float64(np.nan), "array 'dt' holds 1 NaN/Inf"),
    ("dt", np.array([0.1, 0.2]), "array 'dt' has shape (2,); expected ()"),
    ("dt", np.int64(1), "array 'dt' is of dtype '<i8'"),
])
def test_a_bad_dt_or_spacing_in_a_links_file_is_refused(tmp_path, member, value, message):
    """The two 0-d members of a links file are checked alike: one line naming the file and the member."""
    path = tmp_path / "links.npz"
    np.savez(path, alpha=np.zeros((1, 16)), alpha0=np.zeros(16), **{member: value})
    with pytest.raises(InputError) as err:
        g.U1Links.load(path, HALF)
    text = str(err.value)
    assert message in text and str(path) in text and "\n" not in text, text


# ----------------------------------------------------------------------------------------------------------
# 3. transform_links on traced angles and gauge functions
# ----------------------------------------------------------------------------------------------------------
_RNG = np.random.default_rng(5)
_A = _RNG.normal(size=(1, 16))
_A0 = _RNG.normal(size=16)
_TH, _TH1 = _RNG.normal(size=16), _RNG.normal(size=16)


def _transformed(d, th=_TH, th1=_TH1):
    return g.transform_links(g.U1Links.from_potentials(HALF, d, A=_A, A0=_A0, q=0.7), th, th1)


def test_transform_links_of_concrete_links_is_numpy_and_unchanged():
    links = g.U1Links.from_potentials(HALF, 0.05, A=_A, A0=_A0, q=0.7)
    out = g.transform_links(links, _TH, _TH1)
    assert type(out.alpha) is np.ndarray and type(out.alpha0) is np.ndarray
    np.testing.assert_array_equal(out.alpha0, links.alpha0 + _TH1 - _TH)
    np.testing.assert_array_equal(out.alpha[0], links.alpha[0] + _TH - np.roll(_TH, -1))
    assert (out.dt, out.spacing) == (0.05, 0.5)


def test_transform_links_of_a_traced_dt_under_jit_equals_the_concrete_call():
    want = _transformed(0.05)
    got = jax.jit(lambda d: _transformed(d).alpha0)(0.05)
    np.testing.assert_allclose(np.asarray(got), want.alpha0, rtol=0, atol=8 * EPS * np.abs(want.alpha0).max())
    # the spatial links stay concrete (NumPy), so the transformed links still build a network inside jit
    s = _state(np.random.default_rng(6), 2, HALF)
    step = jax.jit(lambda d: g.link_network(HALF, 0.5, d, _transformed(d)).step(s).phi)(0.05)
    ref = np.asarray(jit_step(g.link_network(HALF, 0.5, 0.05, want), s).phi)
    assert np.abs(np.asarray(step) - ref).max() <= 100 * EPS * np.abs(ref).max()


def test_transform_links_of_a_traced_gauge_function_under_jit_vmap_and_grad():
    want = _transformed(0.05)
    got = jax.jit(lambda th, th1: _transformed(0.05, th, th1))(_TH, _TH1)
    np.testing.assert_allclose(np.asarray(got.alpha0), want.alpha0, rtol=0, atol=8 * EPS)
    np.testing.assert_allclose(np.asarray(got.alpha), want.alpha, rtol=0, atol=8 * EPS)
    assert (got.dt, got.spacing) == (0.05, 0.5)
    batched = jax.vmap(lambda th1: _transformed(0.05, _TH, th1).alpha0)(jnp.stack([_TH1, _TH]))
    np.testing.assert_allclose(np.asarray(batched[1]), _transformed(0.05).alpha0 - _TH1 + _TH, rtol=0, atol=8 * EPS)
    # d/d dt of sum(alpha0') = sum(2 q A0 / pi): the gauge terms do not depend on dt
    grad = float(jax.grad(lambda d: jnp.sum(_transformed(d).alpha0))(0.05))
    assert abs(grad - float(np.sum(2 * 0.7 * _A0 / np.pi))) <= 100 * EPS * float(np.abs(2 * 0.7 * _A0 / np.pi).sum())
    # d/d theta_next_i of sum(alpha0') = 1 on every site
    np.testing.assert_array_equal(np.asarray(jax.grad(lambda t1: jnp.sum(_transformed(0.05, _TH, t1).alpha0))(_TH1)),
                                  np.ones(16))
