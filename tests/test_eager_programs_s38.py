"""A run compiles its own programs and no eager single-op ones (session 38).

Outside a trace, JAX compiles a program for every primitive applied eagerly, once per shape and dtype: about
20-50 ms each on a cold compilation cache, and a lowering and a cache lookup on a warm one. Two places of a run
did that: the small waves' mass ``V''(phi_0)`` of the nonlinear fields (:meth:`NonlinearField.curvature`,
``jax.grad(jax.grad(V))`` applied eagerly: about ten programs for phi^4 with spectra) and the cast of a float32
run's model and state (``jnp.asarray(x, float32)``: one ``convert_element_type`` per leaf shape; with JAX 0.10 even
``jnp.asarray`` of a NumPy array compiles one ``stage`` program per shape). The curvature is now one jitted
program and the cast is done by NumPy for arrays held by one CPU device (:func:`nnfield.runner.cast_floating`).

Each run here uses a lattice shape no other test uses, so a program compiled by an earlier test of the same
worker cannot hide an eager one; JAX logs every program it lowers (``jax_log_compiles``), with or without a
persistent-cache hit.
"""

from __future__ import annotations

import jax
import pytest

from nnfield import runner
from nnfield.config import parse_config

#: the programs a run of a real field compiles: the loop's chunk, the observer, the stability gate's kernel and,
#: for the nonlinear fields, their curvature ``V''(phi_0)``
RUN_PROGRAMS = {"_packed_chunk_impl", "_observe_partial_impl", "_impulse_kernel_impl", "_curvature"}


def _config(theory: str, shape: str, precision: str) -> str:
    return (f"[theory]\n{theory}\n[lattice]\nshape = {shape}\nspacing = 0.5\n[time]\ndt = 0.05\nsteps = 4\n"
            f"[initial]\nkind = \"gaussian_packet\"\nwidth = 1.5\n[output]\nevery = 2\nspectra = true\n"
            f"precision = \"{precision}\"\n")


@pytest.mark.parametrize(("theory", "shape", "precision"), [
    ('name = "phi4"\nmass = 1.0\nlambda = 1.0', "[37]", "float64"),
    ('name = "sine-gordon"', "[39]", "float64"),
    ('name = "klein-gordon"\nmass = 1.0', "[13, 11]", "float32"),
])
def test_a_run_compiles_no_eager_program(theory: str, shape: str, precision: str, tmp_path, jax_compiles) -> None:
    res = runner.execute(parse_config(_config(theory, shape, precision)), tmp_path / "run", progress=False)
    assert res.status == "completed" and res.steps_done == 4
    compiled = [name for name, _ in jax_compiles]  # (conftest.jax_compiles: JAX's log of what it compiles)
    assert compiled, "no program logged: the recording is not armed"
    eager = sorted(set(compiled) - RUN_PROGRAMS)
    assert not eager, f"programs compiled outside the run's own: {eager} (all: {compiled})"


def test_the_curvature_is_the_second_derivative_of_the_potential() -> None:
    from nnfield.config import parse_config as parse

    cfg = parse(_config('name = "phi4"\nmass = 1.5\nlambda = 0.7', "[16]", "float64"))
    model = runner.build(cfg)[0]
    # phi^4: V = m^2 phi^2/2 + lam phi^4/4, V''(0) = m^2 exactly (the ground state of the massive phase is 0)
    assert model.theory.curvature() == pytest.approx(1.5**2, rel=1e-15)


@pytest.mark.skipif(not runner._HOST_CASTS, reason="the host cast is used on x86-64 only")
def test_the_host_cast_is_xla_cpus_convert_bit_for_bit(rng) -> None:
    """Round to nearest even, overflow to inf, NaN and signed zeros kept, and XLA:CPU's flush to zero of results
    below the smallest normal float32: at and on both sides of the measured threshold, for float32 and
    complex64, contiguous or strided."""
    import jax.numpy as jnp
    import numpy as np

    t, tiny = runner._FLUSH_BELOW, float(np.finfo(np.float32).tiny)
    edge = [t, np.nextafter(t, 0), np.nextafter(t, 1), tiny, np.nextafter(tiny, 0), 1e-40, 3e-44, 1e-45, 1e-46,
            5e-324, 3.4028235677973366e38, 3.40282357e38, 1e39, np.nan, np.inf, 0.1, 1 / 3, 0.0]
    v = np.concatenate([edge, [-e for e in edge], rng.standard_normal(3000) * 10.0 ** rng.integers(-50, 40, 3000),
                        rng.uniform(-1.18e-38, 1.18e-38, 1000)])[:4000]
    for x in (v, v.reshape(-1, 4)[:, ::2], (v[:2000] + 1j * v[2000:]).reshape(40, 50)):
        target = np.dtype(np.complex64 if x.dtype.kind == "c" else np.float32)
        want = np.asarray(jnp.asarray(jax.device_put(x), target))
        got = runner._cast_like_xla_cpu(x, target)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.int32), want.view(np.int32))


def test_a_float32_cast_keeps_placement_and_commitment() -> None:
    import jax.numpy as jnp
    import numpy as np

    dev = jax.devices()[0]
    tree = {"free": jnp.arange(3.0), "pinned": jax.device_put(np.arange(4.0), dev), "weak": jnp.asarray(2.0),
            "complex": jnp.asarray(np.array([1 + 2j])), "int": jnp.arange(2), "np": np.arange(2.0)}
    out = runner.cast_floating(tree, np.float32)
    assert out["free"].dtype == np.float32 and not out["free"].committed
    assert out["pinned"].dtype == np.float32 and out["pinned"].committed and out["pinned"].devices() == {dev}
    ref = jnp.asarray(tree["weak"], np.float32)  # (a weakly typed leaf is cast by JAX, as before)
    assert out["weak"].weak_type == ref.weak_type and out["weak"].dtype == ref.dtype
    assert out["complex"].dtype == np.complex64 and out["int"].dtype == tree["int"].dtype
    assert isinstance(out["np"], jax.Array) and out["np"].dtype == np.float32


@pytest.mark.parametrize("ground", [0.5, 1, [0.0, 1.0], (1.0, 2.0), [1, 2], "np", "np32", "jax", "mixed"])
def test_the_ground_state_broadcast_is_jnp_asarrays(ground) -> None:
    """``Network.create``'s ground state in one program: the dtype, weak type, placement and values that
    ``jnp.broadcast_to(jnp.asarray(ground), (K,))`` gave (a list must not reach ``jit`` as a list of scalars)."""
    import jax.numpy as jnp
    import numpy as np

    from nnfield.network import _broadcast

    ground = {"np": np.array([1.0, 2.0]), "np32": np.float32(1.5), "jax": jnp.asarray(3.0),
              "mixed": [jnp.asarray(1.0), 2.0]}.get(ground, ground) if isinstance(ground, str) else ground
    want, got = jnp.broadcast_to(jnp.asarray(ground), (2,)), _broadcast(ground, 2)
    assert (got.dtype, got.weak_type, got.committed) == (want.dtype, want.weak_type, want.committed)
    np.testing.assert_array_equal(got, want)
