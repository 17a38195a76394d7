"""nnfield's per-program XLA options (``nnfield._xla``): applied to runs, switchable, and only round-off in results."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnfield import Lattice, _xla
from nnfield import network as nnet
from nnfield.theories import klein_gordon as kg


def _model_and_state(n: int = 48):  # 48^3 > _xla.MIN_SITES: compiled with the options
    model = kg.model(Lattice((n, n, n)), m=0.7, dt=0.1)
    rng = np.random.default_rng(3)
    return model, model.encode(rng.standard_normal((1, n, n, n)), rng.standard_normal((1, n, n, n)))


def test_the_options_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(_xla, "REFUSED", set())
    monkeypatch.setenv("XLA_FLAGS", "")
    assert _xla.compiler_options() == _xla.CPU_OPTIONS
    monkeypatch.setenv("NNFIELD_XLA_DEFAULTS", "0")
    assert _xla.compiler_options() == {}
    monkeypatch.setenv("NNFIELD_XLA_DEFAULTS", "1")
    for name in _xla.CPU_OPTIONS:  # the user's own setting of an option wins; the other options stay
        monkeypatch.setenv("XLA_FLAGS", f"--{name}=1")
        assert _xla.compiler_options() == {k: v for k, v in _xla.CPU_OPTIONS.items() if k != name}
    assert _xla.CPU_OPTIONS["xla_cpu_prefer_vector_width"] == 512  # wide vectors (benchmarks/vector_width.py)


@pytest.mark.parametrize("bad", [{"xla_nnfield_no_such_option": 1}, {"xla_backend_optimization_level": "high"}])
def test_an_option_the_backend_refuses_is_dropped_at_the_first_compile(monkeypatch, bad):
    """No probe program: the first compile with an option this backend does not take (an unknown name, a value
    it refuses) fails, and the program and every later one compile without it, with the same results."""
    monkeypatch.setattr(_xla, "REFUSED", set())
    monkeypatch.setattr(_xla, "RUN_ONCE_OPTIONS", {**_xla.RUN_ONCE_OPTIONS, **bad})
    monkeypatch.setenv("XLA_FLAGS", "")
    f = _xla.jit_run_once(lambda x: jnp.sin(x) * 2)
    x = jnp.linspace(0.0, 1.0, 7)
    np.testing.assert_array_equal(np.asarray(f(x)), np.asarray(jnp.sin(x) * 2))
    assert _xla.REFUSED == set(bad)
    assert set(bad).isdisjoint(_xla.run_once_options())
    g = _xla.SmallRunOnceJit(lambda x: x + 1)  # a later program: compiled without the refused option at once
    np.testing.assert_array_equal(np.asarray(g(x)), np.asarray(x + 1))
    with pytest.raises(TypeError):  # any other error of the program is the caller's, as before
        f("not an array")


@pytest.mark.skipif(jax.default_backend() != "cpu" or not _xla.compiler_options(), reason="CPU with the YNN backend")
def test_a_run_with_observables_compiles_without_ynn_fusions():
    model, state = _model_and_state()
    ynn = re.compile(r"%ynn_fusion[\w.]* = ")
    plain = jax.jit(nnet._run_impl, static_argnames=("steps", "every"))
    if not ynn.search(plain.lower(model.network, state, 4, 2, model.observables).compile().as_text()):
        pytest.skip("XLA does not hand this program's reductions to YNNPACK here")
    assert not ynn.search(nnet._run_jit.lower(model.network, state, 4, 2, model.observables).compile().as_text())


def test_options_change_observables_by_round_off_only_and_fields_not_at_all():
    model, state = _model_and_state()
    plain = jax.jit(nnet._run_impl, static_argnames=("steps", "every"))
    s1, o1 = nnet.run(model.network, state, 6, 2, model.observables)
    s2, o2 = plain(model.network, state, 6, 2, model.observables)
    np.testing.assert_array_equal(np.asarray(s1.phi), np.asarray(s2.phi))
    np.testing.assert_array_equal(np.asarray(s1.pi), np.asarray(s2.pi))
    for k in o1:  # summation order only: a few ulps of the sum of 48^3 O(1) terms
        np.testing.assert_allclose(np.asarray(o1[k]), np.asarray(o2[k]), rtol=1e-13, atol=0)


def test_small_programs_compile_with_xlas_defaults():
    model, state = _model_and_state(8)
    assert nnet._run_jit._choose((model.network, state), {}) is nnet._run_jit._nested
    model, state = _model_and_state()
    assert nnet._run_jit._choose((model.network, state), {}) is nnet._run_jit.jitted()


def test_a_compiled_run_can_be_called_inside_another_jit():
    model, state = _model_and_state(6)
    inner = jax.jit(lambda s: nnet.run(model.network, s, 3, 3, model.observables)[1]["discrete_energy"])
    direct = nnet.run(model.network, state, 3, 3, model.observables)[1]["discrete_energy"]
    np.testing.assert_allclose(np.asarray(inner(state)), np.asarray(direct), rtol=1e-13)


def test_the_discrete_energy_laplacian_equals_the_roll_form():
    """Bit for bit as XLA compiles it by default (the quick suite's fast-compile options round differently)."""
    from conftest import XLA_DEFAULT_OPTIONS
    from nnfield.theories.klein_gordon.models import _lap_shift

    f = jnp.asarray(np.random.default_rng(0).standard_normal((5, 6, 7)))
    shift = jax.jit(_lap_shift, static_argnums=1, compiler_options=XLA_DEFAULT_OPTIONS)
    roll = jax.jit(kg.lap_roll, static_argnums=1, compiler_options=XLA_DEFAULT_OPTIONS)
    np.testing.assert_array_equal(np.asarray(shift(f, 0.5)), np.asarray(roll(f, 0.5)))


def test_the_impulse_kernel_compiles_unoptimized_and_gives_the_same_kernel(monkeypatch):
    """The stability gate's impulse response (run once per network) is compiled with ``run_once_options``
    (LLVM unoptimized); the kernel equals the one compiled with XLA's defaults (a 2D Klein-Gordon leapfrog and a
    2D Maxwell-Dirac network, whose tick holds gradients of gradients)."""
    from nnfield import analysis
    from nnfield.theories import maxwell_dirac as md

    monkeypatch.setenv("XLA_FLAGS", "")  # the quick suite sets the option process-wide (conftest): not here
    assert _xla.run_once_options() == _xla.RUN_ONCE_OPTIONS
    monkeypatch.setenv("NNFIELD_XLA_DEFAULTS", "0")
    assert _xla.run_once_options() == {}
    monkeypatch.undo()
    for net in (kg.leapfrog_network(Lattice((8, 8), 0.5), 1.0, 0.1),
                md.model(Lattice((6, 6), 0.5), 0.05, charge=1.0, m=0.5, bias="wilson").network):
        fast = analysis._impulse_kernel(net, 2, 2, np.float64)
        plain = jax.jit(analysis._impulse_kernel_impl)
        monkeypatch.setattr(analysis, "_impulse_kernel_jit", plain)
        np.testing.assert_allclose(analysis._impulse_kernel(net, 2, 2, np.float64), fast, rtol=0,
                                   atol=64 * np.finfo(float).eps * float(np.abs(fast).max()))
        monkeypatch.undo()
    assert analysis._impulse_kernel_jit._options is _xla.run_once_options


def test_the_step0_observer_compiles_unoptimized_on_a_small_lattice_only():
    """A run's step-0 observables (compiled once per run, called once) are compiled with ``run_once_options`` on
    a lattice below ``MIN_SITES`` entries and with the run's options above; either way they equal the
    observables compiled with XLA's defaults to round-off."""
    from nnfield import runner

    for n, small in ((8, True), (48, False)):
        model, state = _model_and_state(n)
        observer = runner.observer_for(model, state)
        chosen = runner._observe_partial._choose((observer, state), {})
        assert (chosen is runner._observe_partial._small.jitted()) is small
        assert (chosen is runner._observe_partial.jitted()) is not small
        obs0 = runner._initial_observables(observer, state)
        plain = jax.jit(model.observables)(state)
        for k, v in obs0.items():
            np.testing.assert_allclose(v[0], np.asarray(plain[k]), rtol=1e-13, atol=0)
    assert runner._observe_partial._small._options is _xla.run_once_options


def test_device_array_is_jnp_asarray_without_a_compiled_program():
    """``_xla.device_array`` gives what ``jnp.asarray`` gives (values, dtype, weak type), as a copy, and lowers no
    program for a NumPy array (``jnp.asarray`` stages one per shape and dtype in JAX 0.10); big-endian data (as an
    HDF5 file may hold), which ``jnp.asarray`` refuses, arrives in the native order."""
    lowered = []

    def listen(event, duration, **kwargs):
        if event == "/jax/core/compile/jaxpr_to_mlir_module_duration":
            lowered.append(event)

    rng = np.random.default_rng(0)
    cases = [rng.standard_normal((3, 5)), rng.standard_normal((4, 6))[:, ::2], np.asfortranarray(np.ones((2, 3))),
             np.array(2.5), np.zeros((0, 3)), rng.standard_normal(4).astype(np.float32), np.arange(3),
             np.ones(2, complex), np.array([True, False])]
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        got = [_xla.device_array(x) for x in cases]
        big = _xla.device_array(cases[0].astype(">f8"))
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert lowered == []
    for x, a in zip(cases, got, strict=True):
        b = jnp.asarray(x)
        assert (a.dtype, a.shape, a.weak_type) == (b.dtype, b.shape, b.weak_type)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(big), cases[0])
    assert big.dtype == np.float64
    for x in (cases[0], cases[0].astype(">f8")):  # the caller's own temporary: the same values, native order
        np.testing.assert_array_equal(np.asarray(_xla.device_array(x.copy(), private=True)), cases[0])
    for n in [5, 64, 1 << 20] * 10:  # a copy: the source may change at once (device_put alone aliases about a
        x = np.zeros(n)                # third of these on CPU, even with may_alias=False)
        a = _xla.device_array(x)
        x[:] = 1.0
        assert not np.asarray(a).any()
    tracer_ok = jax.jit(lambda t: _xla.device_array(t) + 1)(jnp.ones(2))  # inside a trace: jnp.asarray
    np.testing.assert_array_equal(np.asarray(tracer_ok), [2.0, 2.0])
