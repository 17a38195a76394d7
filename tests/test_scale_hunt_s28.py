"""Session 28 hunt in the memory guard, the sharding and the explicit halo exchange (``nnfield.resources``,
``nnfield.halo``): a float32 run's exchange is measured and checked in float64; the guard's table counts every
network, a sample after every tick and the spectra."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from nnfield import Lattice, halo, resources
from nnfield.config import parse_config
from nnfield.runner import cast_floating
from nnfield.theories import klein_gordon as kg


def test_a_float32_tick_is_measured_in_float64():
    """A float32 Klein-Gordon leapfrog tick at ``dt = 2e-4`` moves a changed row 2 rows (its stencil: kick, drift,
    kick), but the second row's change, ``dt^2`` times the Laplacian's, is below half a float32 ulp: the reach
    and the check of ``with_halo`` run on a float64 copy (``halo._widened``), where the data path shows."""
    lat = Lattice((16,), 0.5)
    model = kg.model(lat, 1.0, 2e-4, network="3.8", scheme="leapfrog")
    rng = np.random.default_rng(0)
    state = model.initial_state(rng.normal(size=(1, 16)), rng.normal(size=(1, 16)))
    net32, s32 = cast_floating(model.network, np.float32), cast_floating(state, np.float32)
    wide_net, wide = halo._widened(net32), halo._widened(s32)
    assert {np.asarray(x).dtype for x in jax.tree_util.tree_leaves(wide)} == {np.dtype(np.float64)}
    np.testing.assert_array_equal(np.asarray(wide.phi), np.asarray(s32.phi).astype(np.float64))
    assert halo.reach(wide_net, wide) == 2 == halo.reach(model.network, state)
    assert halo._widened(state) is state  # float64: nothing to widen


SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from nnfield import halo, parallel
    from nnfield.config import parse_config
    from nnfield.runner import build

    def run(text):
        cfg = parse_config(text, source="x.toml")
        model, state = build(cfg)
        shape = cfg.lattice.shape
        st, net = parallel.place(state, 4, shape[0]), parallel.place_model(model, 4, shape).network
        notes = []
        h = halo.with_halo(net, st, 4, notes.append)
        ref = jax.jit(lambda nt, s: nt.advance(s, 500))(model.network, state)
        got = jax.jit(lambda nt, s: nt.advance(s, 500))(h, st)
        err = max(float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
                  for a, b in zip(jax.tree_util.tree_leaves(ref), jax.tree_util.tree_leaves(got)))
        print(type(h).__name__, getattr(h, "ghost", 0), np.asarray(got.phi).dtype, err, notes)

    KINK = '''
    [theory]
    name = "sine-gordon"
    mass = 1.0
    winding = 1
    [lattice]
    shape = [32]
    [time]
    dt = 0.0002
    steps = 10
    scheme = "leapfrog"
    [initial]
    kind = "kink"
    center = 0.25
    [output]
    precision = "float32"
    '''
    run(KINK)
    run(KINK.replace('name = "sine-gordon"', 'name = "phi4"').replace("winding = 1", "").replace(
        'kind = "kink"', 'kind = "gaussian_packet"').replace("center = 0.25", "center = [8.0]"))
    """
)


@pytest.mark.slow
def test_a_float32_twisted_kink_keeps_xlas_partitioning_on_four_devices():
    """The sine-Gordon kink's twisted boundary (the loss adds ``2 pi`` where the global lattice wraps) in float32 at
    ``dt = 2e-4``: three ticks with the exchange differ from XLA's partitioning by ``dt`` times the twist's force,
    3.8e-3 at a state scale of 6.3, within ``TOLERANCE_EPS`` float32 epsilons (7.5e-3) but 10^8 float64 ones: the
    check (in float64) keeps XLA's partitioning, which equals one device (before: the exchange was used and the
    kink was 0.62 off after 500 ticks). A float32 phi^4 packet, with no twist, still gets the exchange with the
    leapfrog tick's 2 ghost rows, runs in float32 and equals one device to float32 rounding of 500 ticks."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kink, packet = (line.split(maxsplit=4) for line in proc.stdout.strip().splitlines()[-2:])
    assert kink[0] == "Network" and float(kink[3]) == 0.0, kink
    assert "the tick depends on where the whole lattice wraps" in kink[4]
    assert packet[:3] == ["HaloNetwork", "2", "float32"], packet
    assert float(packet[3]) < 500 * 8 * np.finfo(np.float32).eps, packet  # (8 ulp a tick at a scale below 1)


def test_the_halo_check_of_a_float32_run_counts_float64_copies():
    """The check of a float32 run holds its four states in float64 (twice the fields' bytes each) and a float64
    copy of the model besides the changed one (``resources._halo_check``)."""
    text = """
[theory]
name = "gauged-dirac"
field = "magnetic"
n_flux = 1
[lattice]
shape = [32, 32]
[time]
dt = 0.05
steps = 10
scheme = "alternating"
[initial]
kind = "gaussian_packet"
[parallel]
devices = 2
halo = true
"""
    est64 = resources.estimate_run_memory(parse_config(text, source="a.toml"))
    est32 = resources.estimate_run_memory(parse_config(text + '[output]\nprecision = "float32"\n', source="a.toml"))
    assert est32["fields"] * 2 == est64["fields"] and est32["model"] == est64["model"] > 0
    assert est64["halo"] == 4 * est64["fields"] + est64["model"]
    assert est32["halo"] == 4 * 2 * est32["fields"] + 2 * est32["model"] == est64["halo"] + est64["model"]


def _config(shape, theory, scheme, out=""):
    return parse_config(f"""
[theory]
{theory}
[lattice]
shape = {list(shape)}
[time]
dt = 0.05
steps = 100000
scheme = "{scheme}"
[initial]
kind = "gaussian_packet"
[output]
every = 1
{out}
""", source="mem.toml")


def test_the_estimate_covers_a_dirac_run_with_spectra_sampled_every_tick():
    """A 2D stable Wilson Dirac run with ``[output] spectra`` sampled after every tick: XLA's temporaries of its
    chunk are 14.8 states (the spinor's FFTs), the spectra's tables a model part; the table said 4.6 (measured
    with one network, sparser samples, no spectra), so the guard asked for 0.36 of what the run holds. The
    estimate is now within a factor 2 of XLA's ``memory_analysis`` (arrays + temporaries), never below half; the
    host part holds every sample's values (the spectra's bins too)."""
    from nnfield.network import _run_jit
    from nnfield.runner import build, observer_for, spectra_for

    cfg = _config((32, 32), 'name = "dirac"\nnetwork = "stable"\nbias = "wilson"', "alternating", "spectra = true")
    model, state = build(cfg)
    spectra = spectra_for(cfg, model, state)
    observer = observer_for(model, state, spectra)
    arrays = sum(int(x.nbytes) for x in jax.tree_util.tree_leaves((model, state, spectra)) if np.ndim(x))
    mem = _run_jit.lower(model.network, state, 4, 1, observer).compile().memory_analysis()
    got = arrays + int(mem.temp_size_in_bytes)
    est = resources.estimate_run_memory(cfg)
    assert 0.5 <= est["device"] / got <= 2.0, (est, got)
    per_sample = sum(int(np.prod(v.shape)) for v in jax.eval_shape(observer, state).values())
    assert est["host"] >= (cfg.time.steps + 1) * per_sample * 8, (est["host"], per_sample)
