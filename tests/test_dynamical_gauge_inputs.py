"""Bad input to the dynamical U(1) theories (``maxwell``, ``scalar-qed``, ``maxwell-dirac``) is refused with a
:class:`~nnfield.errors.ParameterError` naming the argument, before anything runs (an API audit found each of
these running silently or failing deep inside JAX); good input, traced input included, still runs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.errors import ConfigError, ParameterError
from nnfield.theories import maxwell, maxwell_dirac
from nnfield.theories import scalar_qed as sq
from nnfield.theories.maxwell_dirac import DiracMatter
from nnfield.theories.u1 import solve_poisson

LAT = Lattice((8, 8))
SRC = Path(__file__).resolve().parents[1] / "src" / "nnfield" / "theories"


def _models() -> dict[str, object]:
    return {"maxwell": maxwell.model(LAT, 0.1), "scalar-qed": sq.model(LAT, 0.05),
            "maxwell-dirac": maxwell_dirac.model(LAT, 0.1)}


MODELS = _models()
#: K = D + the matter's components: maxwell 2, scalar QED 2 + 2, Maxwell-Dirac 2 + 4 (the 2D spinor)
K = {"maxwell": 2, "scalar-qed": 4, "maxwell-dirac": 6}
THEORIES = sorted(K)


def _data(name: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    phi = 0.1 * rng.standard_normal((K[name], *LAT.shape))
    return phi, np.zeros_like(phi)


# -- 1. encode checks shapes and dtypes ------------------------------------------------------------------------
@pytest.mark.parametrize("name", THEORIES)
@pytest.mark.parametrize("delta", [-1, 1])
def test_encode_refuses_a_wrong_number_of_components(name, delta):
    M = MODELS[name]
    n = K[name] + delta
    assert M.network.K == K[name]
    with pytest.raises(ParameterError, match=r"^phi: expected shape .*\(" + f"{K[name]}, 8, 8" + r"\).*got \("
                       + f"{n}, 8, 8"):
        M.encode(np.random.default_rng(0).random((n, 8, 8)), np.zeros((n, 8, 8)))


@pytest.mark.parametrize("name", THEORIES)
def test_encode_refuses_a_wrong_pi(name):
    M = MODELS[name]
    phi, pi = _data(name)
    with pytest.raises(ParameterError, match=r"^pi: expected shape .*got \(\)"):
        M.encode(phi, 0.0)  # a scalar pi was an IndexError
    with pytest.raises(ParameterError, match=r"^pi: expected shape"):
        M.encode(phi, pi[:, :4])
    with pytest.raises(ParameterError, match=r"^pi: expected shape"):
        M.encode(phi, pi[:-1])


@pytest.mark.parametrize("name", THEORIES)
def test_encode_refuses_data_without_the_component_axis_or_on_another_lattice(name):
    M = MODELS[name]
    with pytest.raises(ParameterError, match=r"^phi: expected shape"):
        M.encode(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ParameterError, match=r"^phi: expected shape"):
        M.encode(np.zeros((K[name], 8, 9)), np.zeros((K[name], 8, 9)))


@pytest.mark.parametrize("name", THEORIES)
def test_encode_refuses_complex_and_non_numeric_data(name):
    M = MODELS[name]
    phi, pi = _data(name)
    with pytest.raises(ParameterError, match=r"^phi: expected real data, got complex128"):
        M.encode(phi + 0j, pi)  # was "grad requires real-valued outputs"
    with pytest.raises(ParameterError, match=r"^pi: expected real data"):
        M.encode(phi, jnp.asarray(pi + 1j))
    with pytest.raises(ParameterError, match=r"^phi: expected a real numeric array"):
        M.encode(np.full(phi.shape, "x"), pi)
    with pytest.raises(ParameterError, match=r"^pi: expected a real numeric array"):
        M.encode(phi, None)


def test_maxwell_dirac_encode_with_the_wrong_K_names_phi():
    """The audit's case: a 2D spinor (K = 4) without the links was ``cannot reshape array of size 4``."""
    M = maxwell_dirac.model(Lattice((8,)), 0.1)  # 1D: K = 1 + 2
    with pytest.raises(ParameterError, match=r"phi: expected shape \(K, \*lattice.shape\) = \(3, 8\) "
                                             r"\(A_1 then the matter's 2 components \(Q\)\)"):
        M.encode(np.zeros((4, 8)), np.zeros((4, 8)))


# -- the correct shapes still run; traced data still encode -----------------------------------------------------
@pytest.mark.parametrize("name", THEORIES)
def test_correct_shapes_run_and_jit_and_vmap_encode(name):
    M = MODELS[name]
    phi, pi = _data(name)
    s0 = M.encode(phi, pi)
    _, obs = M.network.run(s0, 2, 1, M.observables)
    assert np.all(np.isfinite(np.asarray(obs["energy"])))
    # integer data become floats, as real_fields does for the other theories
    assert M.encode(np.zeros(phi.shape, int), np.zeros(phi.shape, int))["electric"].dtype == np.float64
    # under jit: tracers, shapes checked statically; the same state as the eager encode
    s1 = jax.jit(M.encode)(phi, pi)
    for a, b in zip(jax.tree_util.tree_leaves(s0), jax.tree_util.tree_leaves(s1), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-15)
    # under vmap: one member's shape is checked, not the batch's
    batch = jnp.stack([jnp.asarray(phi), 2 * jnp.asarray(phi)])
    back = jax.vmap(lambda p: M.decode(M.encode(p, jnp.zeros_like(p)))[0])(batch)
    np.testing.assert_allclose(np.asarray(back), np.asarray(batch), rtol=1e-14, atol=1e-15)
    # and a wrong shape under jit is still refused, at trace time
    with pytest.raises(ParameterError, match=r"^phi: expected shape"):
        jax.jit(M.encode)(phi[:-1], pi[:-1])


# -- 2. the charge -------------------------------------------------------------------------------------------------
BUILDERS = {
    "maxwell": lambda **kw: maxwell.model(LAT, 0.1, **kw),
    "scalar-qed": lambda **kw: sq.model(LAT, 0.05, **kw),
    "maxwell-dirac": lambda **kw: maxwell_dirac.model(LAT, 0.1, **kw),
}


@pytest.mark.parametrize("name", THEORIES)
@pytest.mark.parametrize("q", [np.nan, np.inf, -np.inf, 0.0, 1e-9, -2e8, np.float32(np.nan), jnp.asarray(np.nan)])
def test_builders_refuse_a_charge_that_is_not_a_finite_non_zero_coupling(name, q):
    with pytest.raises(ParameterError, match=r"^charge: expected"):
        BUILDERS[name](charge=q)  # NaN ran to all-NaN observables


@pytest.mark.parametrize("name", THEORIES)
def test_builders_accept_the_config_range_and_a_traced_charge(name):
    for q in (1e-8, -0.3, 1e8):
        assert float(BUILDERS[name](charge=q).network.charge) == q
    assert float(jax.jit(lambda q: BUILDERS[name](charge=q).network.charge)(0.5)) == 0.5
    charges = jax.vmap(lambda q: BUILDERS[name](charge=q).network.charge)(jnp.array([0.5, 2.0]))
    np.testing.assert_array_equal(np.asarray(charges), [0.5, 2.0])


def test_maxwell_dirac_config_charge_has_the_coupling_range():
    from nnfield.config import parse_config

    text = ('[theory]\nname = "maxwell-dirac"\ncharge = {q}\n[lattice]\nshape = [8]\nspacing = 0.5\n'
            '[time]\ndt = 0.05\nsteps = 2\n[initial]\nkind = "charged_packets"\n')
    for q in ("0.0", "1e-9"):
        with pytest.raises(ConfigError, match=r"theory\.charge.*1e-8 <= \|q\| <= 1e8"):
            parse_config(text.format(q=q))
    assert float(parse_config(text.format(q="0.5")).build_model().network.charge) == 0.5


# -- 3. Maxwell-Dirac: dt, wilson_r, bias ------------------------------------------------------------------------
@pytest.mark.parametrize("dt", [0.0, -0.1, np.nan, np.inf])
def test_maxwell_dirac_refuses_a_bad_dt_before_building_the_mass_rotation(dt):
    with pytest.raises(ParameterError, match=r"^dt: expected a (positive|finite) number"):
        maxwell_dirac.model(LAT, dt)  # 0 was a ZeroDivisionError, NaN "cannot convert NaN to integer ratio"
    X = np.asarray(MODELS["maxwell-dirac"].network.matter.X)
    with pytest.raises(ParameterError, match=r"^dt: "):
        DiracMatter.create(X, 1.0, 1.0, dt, 1.0)


@pytest.mark.parametrize("r", [np.nan, -1.0, 0.0, np.inf])
@pytest.mark.parametrize("bias", ["forward", "wilson"])
def test_maxwell_dirac_refuses_a_bad_wilson_r(r, bias):
    with pytest.raises(ParameterError, match=r"^wilson_r: expected a (positive|finite) number"):
        maxwell_dirac.model(LAT, 0.1, bias=bias, wilson_r=r)


def test_maxwell_dirac_refuses_an_unknown_bias_naming_bias():
    for bias in ("continuum", "Wilson", None):
        with pytest.raises(ParameterError, match=r"^bias: expected one of \('forward', 'wilson'\)"):
            maxwell_dirac.model(LAT, 0.1, bias=bias)
    assert maxwell_dirac.model(LAT, 0.1, bias="wilson", wilson_r=0.5).network.matter.r == 0.5


# -- 4. scalar-QED vortices and packets ----------------------------------------------------------------------------
QED = MODELS["scalar-qed"]


@pytest.mark.parametrize("winding", [1.5, 2.0, "2", True, None, 0])
def test_vortex_refuses_a_winding_that_is_not_a_non_zero_integer(winding):
    with pytest.raises(ParameterError, match=r"^winding: expected"):
        sq.vortex(QED, winding=winding)  # 1.5 was truncated to 1, "2" accepted


@pytest.mark.parametrize("center", [[np.nan, 4.5], [4.5, np.inf], [4.5, "4.5"]])
def test_vortex_refuses_a_non_finite_center(center):
    with pytest.raises(ParameterError, match=r"^center: expected"):
        sq.vortex(QED, center=center)  # NaN data before


@pytest.mark.parametrize("steps", [-1, 2.5, "3", 1.0, True])
def test_relax_steps_must_be_a_non_negative_integer(steps):
    with pytest.raises(ParameterError, match=r"^relax_steps: expected an integer"):
        sq.vortex(QED, relax_steps=steps)
    with pytest.raises(ParameterError, match=r"^relax_steps: expected an integer"):
        sq.vortex_pair(QED, relax_steps=steps)
    phi, pi = sq.vortex(QED)
    with pytest.raises(ParameterError, match=r"^relax_steps: expected an integer"):
        sq.relax(QED, phi, pi, steps)


def test_vortex_accepts_numpy_integers():
    phi, pi = sq.vortex(QED, winding=np.int64(-1), relax_steps=np.int32(0))
    ref, _ = sq.vortex(QED, winding=-1)
    np.testing.assert_array_equal(phi, ref)
    assert phi.shape == (4, 8, 8) and not np.any(pi)


def test_charged_packets_with_the_theory_defaults_says_what_to_pass():
    """``lambda = 0.5, v = 1, m = 0`` (the defaults: the Higgs phase) have no frequency at rest about phi = 0."""
    with pytest.raises(ParameterError, match=r"^momentum: .*M\^2 = m\^2 - 2 lambda v\^2 = -1 .*pass a non-zero "
                                             r"momentum, e\.g\. momentum=\[1\.0, 0\.0\].*m > sqrt\(2 lambda\) v = 1"):
        sq.charged_packets(LAT, 1, 0.5, 1, 0)
    phi, pi = sq.charged_packets(LAT, 1, 0.5, 1, 0, momentum=[1.0, 0.0])
    assert np.all(np.isfinite(phi)) and np.all(np.isfinite(pi))
    with pytest.raises(ParameterError, match=r"^center: expected a finite number"):
        sq.charged_packets(LAT, 1, 0.5, 1, 0, center=[np.nan, 1.0], momentum=[1.0, 0.0])


# -- 5. the neutrality tolerance follows the data's precision ------------------------------------------------------
def test_poisson_neutrality_tolerance_is_relative_to_the_dtype_epsilon():
    rng = np.random.default_rng(1)
    rho = rng.standard_normal(LAT.shape)
    rho -= rho.mean()
    scale = float(np.sum(np.abs(rho)))
    off = 3e-7 * scale / rho.size  # a float32-sized round-off of the total: 3e-7 of the charge scale
    solve_poisson(LAT, (rho + off).astype(np.float32))  # float32 data: accepted
    with pytest.raises(ParameterError, match=r"^charge: a periodic lattice needs a neutral total charge"):
        solve_poisson(LAT, rho + off)  # the same total in float64 data is a net charge
    with pytest.raises(ParameterError, match=r"^charge: a periodic lattice needs a neutral total charge"):
        solve_poisson(LAT, (rho + 1e-3 * scale / rho.size).astype(np.float32))  # a real charge in float32


@pytest.mark.slow  # a fresh process without x64 (2.6 s); the quick suite guards the tolerance in float64
def test_maxwell_dirac_packets_without_x64():
    """In float32 (JAX's default) the packets' neutralizing background left a round-off total charge that the
    float64 tolerance refused (``got 4.56e-08``); a subprocess, since the tests run in 64-bit mode."""
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("ignore")
        import jax
        assert not jax.config.read("jax_enable_x64")
        import numpy as np
        from nnfield import Lattice
        from nnfield.theories import maxwell_dirac
        from nnfield.theories.maxwell_dirac.initial import charged_packets
        M = maxwell_dirac.model(Lattice((8, 8)), 0.1)
        phi, pi = charged_packets(M, width=1.5)
        r = float(M.gauss_residual(M.encode(phi.astype(np.float32), pi.astype(np.float32))))
        assert r < 1e-5, r
        print("ok", r)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_ENABLE_X64",)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok")


# -- 6. docstrings -------------------------------------------------------------------------------------------------
def _undocumented(package: str) -> list[str]:
    missing = []
    for path in sorted((SRC / package).glob("*.py")):
        tree = ast.parse(path.read_text())

        def walk(node: ast.AST, prefix: str, path: Path = path) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.ClassDef):
                    if not child.name.startswith("_") and ast.get_docstring(child) is None:
                        missing.append(f"{path.name}:{prefix}{child.name}")
                    if isinstance(child, ast.ClassDef):
                        walk(child, f"{prefix}{child.name}.")

        walk(tree, "")
    return missing


@pytest.mark.parametrize("package", ["u1", "maxwell", "scalar_qed", "maxwell_dirac"])
def test_public_callables_have_docstrings(package):
    assert _undocumented(package) == []


def test_update_rules_cite_the_paper_and_their_order():
    from nnfield.theories.maxwell_dirac import MaxwellDiracNetwork
    from nnfield.theories.u1 import GaugeNetwork

    for rule, eqs, order in [(MaxwellDiracNetwork.step, ["(4.11)", "(4.14", "(4.24)"], "order 1"),
                             (DiracMatter.activate, ["(4.11)", "(4.24)"], "order 1"),
                             (DiracMatter.learning_gradient, ["(4.11)", "(4.14"], "order 1"),
                             (GaugeNetwork.step, ["(3.9)", "(3.10)"], "order 2"),
                             (GaugeNetwork.kick, ["(3.10)", "(3.12)"], "order 2"),
                             (GaugeNetwork.drift, ["(3.9)"], "order 2"),
                             (GaugeNetwork.advance, [], "order 2"),
                             (sq.relax, ["(2.2)"], "order 1")]:
        doc = " ".join(rule.__doc__.split())
        assert order in doc, rule.__qualname__
        for eq in eqs:
            assert eq in doc, (rule.__qualname__, eq)
    assert MaxwellDiracNetwork.order.__doc__.startswith("1") and GaugeNetwork.order.__doc__.startswith("2")
    assert MODELS["maxwell-dirac"].network.order == 1 and MODELS["maxwell"].network.order == 2
