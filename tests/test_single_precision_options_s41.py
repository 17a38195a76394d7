"""Programs on single-precision data keep XLA:CPU's YNNPACK reductions (session 41).

nnfield compiles programs on at least ``MIN_SITES`` entries with YNNPACK's fusions off (``nnfield._xla``: XLA's
own loop emitter was 3-5x faster for the float64 observers it was measured on). That emitter accumulates a fused
reduction in one sum: in float32 the charge ``a^D sum |psi|^2`` of a 3D Dirac packet on 24^3 with spectra (the
projector took the observer over ``MIN_SITES``) was recorded as 0.9998404 for a packet of unit charge, and
``sum (Re^2 + Im^2)`` of 55296 random complex64 numbers came out 1.9e-5 off; with YNNPACK 2e-8 (the test below
uses 131072). A program whose
arguments hold single-precision arrays is now compiled without that option (``compiler_options(single=True)``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from nnfield import _xla


def test_the_rule_and_the_options() -> None:
    f32, f64 = np.zeros((4, 8), np.float32), np.zeros((4, 8))
    assert _xla.single_precision([f32]) and _xla.single_precision([f64, f32])  # (a float32 state, float64 tables)
    assert _xla.single_precision([np.zeros(3, np.complex64)])
    assert not _xla.single_precision([f64, np.zeros(5, np.int32), np.float32(1.0)])  # (a scalar does not count)
    single, double = _xla.compiler_options(single=True), _xla.compiler_options()
    assert "xla_cpu_experimental_ynn_fusion_type" not in single
    assert set(double) - set(single) <= set(_xla.SINGLE_PRECISION_DROPS)
    assert single.get("xla_cpu_prefer_vector_width") == double.get("xla_cpu_prefer_vector_width")


def test_a_large_single_precision_reduction_is_accurate_and_double_keeps_its_options() -> None:
    rng = np.random.default_rng(0)
    n = (4, 32, 32, 32)  # 131072 entries: above MIN_SITES
    assert np.prod(n) >= _xla.MIN_SITES
    x = ((rng.normal(size=n) + 1j * rng.normal(size=n)) * 0.01).astype(np.complex64)
    exact = float(np.sum(np.abs(x.astype(np.complex128)) ** 2))
    total = _xla.jit(lambda a: jnp.sum(jnp.real(a) ** 2 + jnp.imag(a) ** 2))
    got = float(total(jnp.asarray(x)))
    # a tree of partial sums errs by about log2(N) eps = 17 x 6e-8 (XLA's own emitter's one sum: 1.9e-5 at 55296)
    assert abs(got - exact) <= 1e-6 * exact, abs(got - exact) / exact
    assert total._choose((jnp.asarray(x),), {}) is total._single
    y = jnp.asarray(x.astype(np.complex128))
    assert total._choose((y,), {}) is total.jitted()  # (double precision: the options as before)
    assert abs(float(total(y)) - exact) <= x.size * np.finfo(np.float64).eps * exact  # (one sum: N eps at worst)


def test_a_float32_dirac_run_with_spectra_records_its_charge() -> None:
    """The step-0 observer of a float32 3D Dirac packet of unit charge on 24^3 with spectra: the charge and the
    stable network's invariant equal the float64 run's to float32 round-off (the charge was 0.9998404)."""
    from pathlib import Path

    from nnfield import runner
    from nnfield.config import parse_config

    text = (Path(__file__).resolve().parent.parent / "examples" / "dirac_3p1.toml").read_text()
    text = text.replace("[output]", "[output]\nspectra = true", 1).replace('precision = "float64"', "")
    obs = {}
    for precision in ("float64", "float32"):
        cfg = parse_config(text.replace("[output]", f'[output]\nprecision = "{precision}"', 1))
        model, state = runner.build(cfg)
        observer = runner.observer_for(model, state, runner.spectra_for(cfg, model, state))
        obs[precision] = jax.device_get(runner._observe_jit(observer, state))
    for key in ("charge", "invariant"):
        a, b = float(obs["float64"][key]), float(obs["float32"][key])
        assert abs(a - b) <= 1e-6 * abs(a), (key, a, b)
    assert abs(float(obs["float64"]["charge"]) - 1.0) < 1e-12
