"""A float32 run's observables accumulate their sums in float64 (session 42, ``nnfield._accumulate``).

Before, a float32 run summed its observables in float32 with XLA:CPU's own reduction emitter (nnfield turns
YNNPACK's off): a partial sum of ~5e4 terms accumulated sequentially, so a 3D Dirac example's charge was 1.6e-4
off, a Maxwell plaquette sum 2.4e-4 (``scripts/float32_observables.py``). The tolerance here: each term of a sum is
computed in float32 from float32 data, a few operations each, so it carries a relative error of a few units ``u``
of float32 round-off (``u = eps32 / 2 = 6e-8``); neighbours are summed in float32 in blocks of at most ``BLOCK = 8``
(at most ``7 u`` more), the rest in float64, and the result is rounded to float32 once more. For a sum of terms of
one sign that is at most about ``(c + 7 + 1) u`` relative, ``c`` the roundings per term; the tolerance ``8 eps32 =
16 u`` (9.5e-7) leaves ``c <= 8``, and is 160x below the error before the change.
"""

from __future__ import annotations

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import runner
from nnfield._accumulate import BLOCK, MIN_TERMS, sums_in_float64
from nnfield._xla import jit
from nnfield.config import parse_config

ROOT = Path(__file__).parent.parent
EPS32 = float(np.finfo(np.float32).eps)
TOL = 8 * EPS32


def test_a_long_float32_sum_is_accumulated_in_float64():
    n = 1 << 22
    x = jnp.asarray(np.random.default_rng(0).uniform(0.5, 1.5, n).astype(np.float32))
    plain = jit(lambda v: jnp.sum(v * v))(x)
    wide = jit(sums_in_float64(lambda v: jnp.sum(v * v)))(x)
    assert wide.dtype == np.float32 == plain.dtype
    exact = float(np.sum(np.asarray(x, np.float64) ** 2))
    assert abs(float(wide) - exact) <= TOL * exact
    assert abs(float(wide) - exact) <= abs(float(plain) - exact)  # (no worse than before, on any summation order)


def test_float64_data_and_short_sums_are_left_as_written():
    x = jnp.asarray(np.random.default_rng(1).normal(size=(4, 300)))
    f = lambda v: (jnp.sum(v), jnp.sum(v, axis=0), v.T @ v[:, :5])  # noqa: E731
    for got, want in zip(jax.jit(sums_in_float64(f))(x), jax.jit(f)(x), strict=True):
        np.testing.assert_array_equal(got, want)  # float64: the same primitives, bit for bit
    x32 = x.astype(jnp.float32)
    prims = [e for e in jax.make_jaxpr(sums_in_float64(lambda v: jnp.sum(v, axis=0)))(x32).jaxpr.eqns]
    assert all(e.primitive.name != "convert_element_type" for e in prims)  # 4 < MIN_TERMS terms: left in float32
    assert 4 < MIN_TERMS <= 300


def test_long_contractions_nested_jits_and_custom_derivatives_are_widened():
    rng = np.random.default_rng(2)
    a = jnp.asarray(rng.uniform(0.5, 1.5, (3, 200_000)).astype(np.float32))

    @jax.custom_jvp
    def total(v):
        return jnp.sum(v)

    total.defjvp(lambda p, t: (total(p[0]), jnp.sum(t[0])))
    inner = jax.jit(lambda v: jnp.sum(v * 2.0))
    f = lambda v: (v @ v.T, inner(v), total(v), jnp.mean(v, axis=1))  # noqa: E731
    got = jax.jit(sums_in_float64(f))(a)
    a64 = np.asarray(a, np.float64)
    want = (a64 @ a64.T, 2 * a64.sum(), a64.sum(), a64.mean(axis=1))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_allclose(np.asarray(g, np.float64), w, rtol=TOL)


def _example(name: str, precision: str, shape: list[int] | None = None):
    text = re.sub(r'\nprecision = "float(32|64)"', "", (ROOT / "examples" / f"{name}.toml").read_text())
    if shape:
        text = re.sub(r"^shape = \[[^\]]*\]", f"shape = {shape}", text, flags=re.M)
    return parse_config(text.replace("[output]", f'[output]\nprecision = "{precision}"', 1), source=name)


@pytest.mark.parametrize("name, shape, keys", [
    ("dirac_3p1", None, ("charge", "energy", "invariant")),  # (24^3: the charge was 1.6e-4 off)
    ("maxwell_photons_3d", [32, 32, 32], ("plaquette", "energy", "energy_magnetic")),  # (plaquette 2.4e-4 off)
    ("maxwell_plane_wave_2d", None, ("energy", "energy_magnetic")),  # (1 - cos P in float32: 1.1e-4 off)
    ("kg_3d_random", None, ("energy", "discrete_energy")),
])
def test_a_float32_runs_observables_equal_the_float64_observation_of_its_state(name, shape, keys):
    """The run's observer (with its compile options, as in its chunks) on the float32 state, against the float64
    observer of the same numbers (the state and the model's parameters widened exactly)."""
    m32, s32 = runner.build(_example(name, "float32", shape))
    m64, _ = runner.build(_example(name, "float64", shape))
    m64 = runner.cast_floating(runner.cast_floating(m64, np.float32), np.float64)  # (the float32 parameters)
    s64 = runner.cast_floating(s32, np.float64)
    got = jax.jit(runner.observer_for(m32, s32), compiler_options=runner_options())(s32)
    want = jax.jit(runner.observer_for(m64, s64))(s64)
    for k in keys:
        assert got[k].dtype == np.float32
        assert abs(float(got[k]) - float(want[k])) <= TOL * abs(float(want[k])), (k, float(got[k]), float(want[k]))


def runner_options() -> dict:
    from nnfield._xla import compiler_options

    return compiler_options() or {}


def test_the_observer_widens_only_partial_sums():
    """The float64 arrays of a float32 observer are partial sums of neighbours along the contiguous axis (``BLOCK``
    of them), read only by sums: the per-site arithmetic stays in float32, and nothing of a field's size is stored in
    float64 (``test_float32_observables_s27`` checks ``model.observables`` itself)."""
    n = 16
    model, state = runner.build(_example("dirac_3p1", "float32", [n, n, n]))
    jaxpr = jax.make_jaxpr(lambda s: runner.observables_of(model, s))(state).jaxpr
    readers: dict = {}
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            if not isinstance(v, jax.extend.core.Literal):
                readers.setdefault(v, []).append(eqn.primitive.name)
    wide = [(e, v) for e in jaxpr.eqns for v in e.outvars
            if getattr(v.aval, "dtype", None) in (np.float64, np.complex128) and np.prod(v.aval.shape) >= MIN_TERMS]
    assert wide  # (the charge, energy ... are long sums)
    for eqn, v in wide:
        assert np.prod(v.aval.shape) <= n**3 // BLOCK * 4, eqn  # (4: the spinor's components)
        assert eqn.primitive.name == "convert_element_type", eqn
        assert set(readers[v]) <= {"reduce_sum", "dot_general"}, (eqn, readers[v])


@pytest.mark.parametrize("n, block", [(256, 8), (100, 5), (9, 3), (101, 1), (8, 4)])
def test_a_sum_along_any_contiguous_length_is_accurate(n, block):
    """Partial sums of the largest divisor of the contiguous axis up to ``BLOCK`` (none for a prime: the whole
    operand widened), each exact to ``(block - 1) u``."""
    from nnfield._accumulate import _block

    assert _block(n) == block
    x = jnp.asarray(np.random.default_rng(n).uniform(0.5, 1.5, (3, 64, n)).astype(np.float32))
    got = float(jit(sums_in_float64(lambda v: jnp.sum(v * v)))(x))
    want = float(np.sum(np.asarray(x, np.float64) ** 2))
    assert abs(got - want) <= TOL * want


def test_without_sums_in_float64_the_float32_observer_is_as_before(monkeypatch):
    model, state = runner.build(_example("kg_3d_random", "float32", [8, 8, 8]))
    monkeypatch.setattr(runner, "SUMS_IN_FLOAT64", False)
    plain = jax.make_jaxpr(lambda s: runner.observables_of(model, s))(state).jaxpr
    assert not [v for e in plain.eqns for v in e.outvars
                if getattr(v.aval, "dtype", None) == np.float64 and np.prod(v.aval.shape) >= 8**3]


def test_an_ensembles_members_sum_in_float64_too():
    """A ``[sweep]`` runs its members' observers under ``vmap`` (``nnfield.ensemble._observe``): each member's
    recorded energy equals the float64 observation of its final float32 state (at float32 sums, on this 32^3 lattice:
    2.8e-6 off, 3x the tolerance)."""
    from nnfield.ensemble import build_ensemble, member_configs, run_ensemble

    cfg = _example("kg_3d_random", "float32")
    sweep = {"theory.mass": [0.5, 1.0]}
    res = run_ensemble(build_ensemble(cfg, sweep), steps=4, every=4)
    for m, member in enumerate(member_configs(_example("kg_3d_random", "float64"), sweep)[0]):
        model, _ = runner.build(member)
        model = runner.cast_floating(runner.cast_floating(model, np.float32), np.float64)
        state = runner.cast_floating(jax.tree_util.tree_map(lambda x, m=m: x[m], res.state), np.float64)
        want = jax.jit(runner.observer_for(model, state))(state)
        for k in ("energy", "discrete_energy"):
            got = float(res.observables[k][m, -1])
            assert abs(got - float(want[k])) <= TOL * abs(float(want[k])), (m, k, got, float(want[k]))


def test_a_model_whose_observables_need_its_values_is_observed_with_float64_sums():
    """``observer_for`` falls back to a closure over a model whose ``observables`` reads concrete values of its own
    leaves; the float64 sums close over the model too, so it still traces."""

    class Concrete:
        scale = np.float32(2.0)

        def observables(self, s):
            return {"total": jnp.sum(s.phi) * float(np.asarray(self.scale))}

    from nnfield.state import State

    x = jnp.asarray(np.random.default_rng(3).uniform(0.5, 1.5, (1, 64, 64, 16)).astype(np.float32))
    got = jax.jit(lambda s: runner.observables_of(Concrete(), s))(State(x, x))["total"]
    want = 2.0 * float(np.sum(np.asarray(x, np.float64)))
    assert abs(float(got) - want) <= TOL * want


def test_the_memory_guard_counts_the_float64_partial_sums():
    """A float32 3D Klein-Gordon chunk (yoshida4, a sample after every tick) held 0.5 states more with its sums in
    float64 (the four observables' float64 partial sums, ``sites / BLOCK`` each): the guard's table predates them,
    and estimated 0.97 of the allocation (``scripts/measure_memory.py --compare --precision float32``). The estimate
    now adds them (``resources._float64_partial_sums``): at least what XLA allocates, at most twice."""
    from nnfield import resources
    from nnfield.network import _run_jit
    from test_resources import _config

    cfg = _config((32, 32, 32), 'name = "klein-gordon"\nnetwork = "3.8"', "yoshida4", dt=0.05, steps=4,
                  extra='[output]\nevery = 1\nprecision = "float32"')
    model, state = runner.build(cfg)
    observer = runner.observer_for(model, state)
    nbytes = sum(int(x.nbytes) for x in jax.tree_util.tree_leaves((model, state)) if np.ndim(x))
    temps = _run_jit.lower(model.network, state, 4, 1, observer).compile().memory_analysis().temp_size_in_bytes
    got = nbytes + int(temps)
    est = resources.estimate_run_memory(cfg)
    table = int(resources.MEASURED[("klein-gordon", 3, "yoshida4")][2] * est["fields"])
    assert est["temporaries"] - table == 4 * 32**3 * 8 // BLOCK
    assert 1.0 <= est["device"] / got <= 2.0, (est, got)
