"""Audit s26 of the dynamical U(1) packages (``u1``, ``maxwell``, ``scalar_qed``, ``maxwell_dirac``).

1. ``maxwell_dirac.initial.charged_packets`` checks its arguments before building data (a NaN centre or an infinite
   norm or field gave NaN fields; a string or a float count, direction or spin failed deep inside NumPy).
2. ``u1.load_initial`` without JAX's 64-bit mode: the model computes the file's float64 data in float32, so the
   Gauss tolerance is float32's round-off (the float64 tolerance refused every float32 file, and the vacuum of
   the file's layout warned ``float64 ... not available``); the data come back in float64, a float32 file's
   values exactly.
3. Without x64 the observables of all three theories took an explicit ``dtype`` from NumPy float64 data (a
   truncation ``UserWarning``, an error under the suite's warning filter): they use the dtype JAX has.

The quick tests switch x64 off in-process (``jax.enable_x64(False)``); one slow test repeats the checks in a fresh
process that never had it (the suite enables it globally in ``conftest.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from nnfield import Lattice
from nnfield.errors import ParameterError
from nnfield.theories import maxwell, maxwell_dirac, scalar_qed, u1
from nnfield.theories.maxwell_dirac.initial import charged_packets
from nnfield.theories.u1.datafile import GAUSS_TOLERANCE, computed_eps, gauss_tolerance, layout, residual
from nnfield.theories.u1.gauss import NEUTRAL_EPS

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
LAT1 = Lattice((8,))
LAT2 = Lattice((8, 8))
MD1 = maxwell_dirac.model(LAT1, 0.1)
MD2 = maxwell_dirac.model(LAT2, 0.1)


# -- 1. charged_packets checks its arguments -----------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"center": [np.nan]}, r"^center: expected a finite number, got nan"),
    ({"center": [None]}, r"^center: expected a real number, got None"),
    ({"center": ["4"]}, r"^center: expected a real number, got '4'"),
    ({"center": [4.0, 4.0]}, r"^center: expected 1 values \(one per .*, got \[4\.0, 4\.0\]; e\.g\. \[4\.0\]$"),
    ({"momentum": [1.0, 0.0]}, r"^momentum: expected 1 values \(one per lattice axis\), .*; e\.g\. \[0\.0\]$"),
    ({"center": [20.0]}, r"^center: expected a centre in the box"),
    ({"width": 0.0}, r"^width: expected a positive number, got 0\.0"),
    ({"width": -1.0}, r"^width: expected a positive number"),
    ({"width": np.nan}, r"^width: expected a finite number, got nan"),
    ({"width": "1.5"}, r"^width: expected a real number, got '1\.5' \(str\)"),
    ({"width": 0.5}, r"^width: expected at least the lattice spacing a = 1"),
    ({"momentum": [np.inf]}, r"^momentum: expected a finite number, got inf"),
    ({"momentum": [1j]}, r"^momentum: expected a real number"),
    ({"momentum": [4.0]}, r"^momentum: expected \|k\| < pi/a"),
    ({"norm": np.inf}, r"^norm: expected a finite number, got inf"),
    ({"norm": np.nan}, r"^norm: expected a finite number, got nan"),
    ({"norm": 0.0}, r"^norm: expected a positive norm"),
    ({"norm": True}, r"^norm: expected a real number, got True \(bool\)"),
    ({"field": np.nan}, r"^field: expected a finite number, got nan"),
    ({"field": -np.inf}, r"^field: expected a finite number, got -inf"),
    ({"field": "1"}, r"^field: expected a real number, got '1' \(str\)"),
    ({"field": None}, r"^field: expected a real number, got None"),
    ({"separation": np.nan}, r"^separation: expected a finite number, got nan"),
    ({"separation": np.nan, "count": 2}, r"^separation: expected a finite number, got nan"),
    ({"separation": "2", "count": 2}, r"^separation: expected a real number, got '2' \(str\)"),
    ({"separation": 8.0, "count": 2}, r"^separation: expected 0 < separation < L_0 = 8"),
    ({"count": 3}, r"^count: expected 1 or 2 packets, got 3"),
    ({"count": 1.0}, r"^count: expected an integer, got 1\.0 \(float\)"),
    ({"count": True}, r"^count: expected an integer, got True \(bool\)"),
    ({"count": "2"}, r"^count: expected an integer, got '2' \(str\)"),
    ({"direction": 1}, r"^direction: expected an axis 0\.\.0 of the lattice, got 1"),
    ({"direction": 0.0}, r"^direction: expected an integer, got 0\.0 \(float\)"),
    ({"direction": np.nan}, r"^direction: expected an integer, got nan"),
    ({"spin": 0.5}, r"^spin: expected an integer, got 0\.5 \(float\)"),
    ({"spin": False}, r"^spin: expected an integer, got False \(bool\)"),
])
def test_charged_packets_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        charged_packets(MD1, **kwargs)


def test_charged_packets_takes_numpy_scalars_as_python_numbers():
    """NumPy scalars and arrays are numbers like Python's: the same data, bit for bit, and finite."""
    ref = charged_packets(MD1, 2, center=[4.0], separation=3.0, width=1.5, momentum=[0.5], norm=2.0, field=0.25,
                          direction=0, spin=0)
    got = charged_packets(MD1, np.int64(2), center=np.array([4.0]), separation=np.float64(3.0),
                          width=np.float32(1.5), momentum=np.array([0.5]), norm=np.float64(2.0),
                          field=np.float64(0.25), direction=np.int32(0), spin=np.int64(0))
    for a, b in zip(ref, got, strict=True):
        assert a.dtype == np.float64
        assert np.array_equal(a, b)
        assert np.all(np.isfinite(a))
    assert residual(MD1, *ref) <= 64 * EPS64


def test_moved_argument_helpers_still_check_scalar_qed():
    """The helpers shared with scalar QED (moved to ``u1._args``) keep its refusals."""
    M = scalar_qed.model(LAT2, 0.1)
    with pytest.raises(ParameterError, match=r"^winding: expected an integer, got 1\.0 \(float\)"):
        scalar_qed.vortex(M, winding=1.0)
    with pytest.raises(ParameterError, match=r"^center: expected a finite number, got nan"):
        scalar_qed.vortex(M, center=[np.nan, 4.5])


# -- 2. load_initial's tolerance follows the dtype JAX computes in ---------------------------------------------------
def test_gauss_tolerance_follows_the_computing_dtype():
    assert computed_eps() == EPS64  # the suite runs in 64-bit mode
    assert gauss_tolerance() == GAUSS_TOLERANCE == gauss_tolerance(EPS64)
    assert gauss_tolerance(EPS32) == NEUTRAL_EPS * EPS32
    with jax.enable_x64(False):
        assert computed_eps() == EPS32
        assert gauss_tolerance() == NEUTRAL_EPS * EPS32


def test_zero_state_is_in_the_dtype_jax_has():
    """``zero_state(np.float64)`` (the vacuum of a file's layout) without x64: float32, no truncation warning (the
    suite turns warnings into errors)."""
    for M in (MD1, scalar_qed.model(LAT1, 0.1), maxwell.model(LAT1, 0.1)):
        with jax.enable_x64(False):
            z = M.network.zero_state(np.float64)
        assert {x.dtype for x in jax.tree.leaves(z)} == {np.dtype(np.float32)}
        assert {x.dtype for x in jax.tree.leaves(M.network.zero_state(np.float64))} == {np.dtype(np.float64)}


def _float32_file(path: Path, model, phi: np.ndarray, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A float32 initial-data file with the arrays :func:`u1.save_initial` writes (``A``, ``E``, the matter's
    pair); returns the float32 data it holds."""
    D = model.lattice.ndim
    phi32, pi32 = phi.astype(np.float32), pi.astype(np.float32)
    name_phi, name_pi = model.matter_arrays
    np.savez(path, A=phi32[:D], E=pi32[:D], **{name_phi: phi32[D:], name_pi: pi32[D:]})
    assert set(np.load(path)) <= set(layout(model))
    assert {np.load(path)[k].dtype for k in np.load(path)} == {np.dtype(np.float32)}
    return phi32, pi32


def test_load_initial_of_float32_data_without_x64(tmp_path):
    """A float32 file and the writer's file of float32 data, loaded without x64: float64 arrays holding the float32
    values exactly (``check``), Gauss's law within float32's round-off; ``project`` changes only ``E``, to
    float32 round-off. In 64-bit mode the same float32 data fail ``check``: their residual is float32's."""
    D = LAT2.ndim
    phi, pi = charged_packets(MD2, width=1.5, momentum=[0.5, 0.0], field=0.1)
    phi32, pi32 = _float32_file(tmp_path / "f32.npz", MD2, phi, pi)
    written = u1.save_initial(tmp_path / "writer.npz", MD2, phi32, pi32)
    # the writer keeps float32 data in float32 (exact; it wrote float64 before), float64 and integer data in float64
    assert {a.dtype for a in np.load(written).values()} == {np.dtype(np.float32)}
    for data in ((phi, pi), (np.zeros(phi.shape, int), np.zeros(pi.shape, int))):
        stored = np.load(u1.save_initial(tmp_path / "w64.npz", MD2, *data))
        assert {a.dtype for a in stored.values()} == {np.dtype(np.float64)}
    with jax.enable_x64(False):
        for path in (tmp_path / "f32.npz", written):
            got_phi, got_pi = u1.load_initial(path, MD2, "check")
            assert got_phi.dtype == got_pi.dtype == np.float64
            assert np.array_equal(got_phi, phi32) and np.array_equal(got_pi, pi32)
            r = residual(MD2, got_phi, got_pi)
            assert 0 < r <= gauss_tolerance() == NEUTRAL_EPS * EPS32
            pphi, ppi = u1.load_initial(path, MD2, "project")
            assert pphi.dtype == ppi.dtype == np.float64
            assert np.array_equal(pphi, phi32) and np.array_equal(ppi[D:], pi32[D:])
            assert np.abs(ppi[:D] - pi[:D]).max() <= 16 * EPS32 * np.abs(pi[:D]).max()
            assert residual(MD2, pphi, ppi) <= gauss_tolerance()
    with pytest.raises(ParameterError, match=r"^gauss: .* violate Gauss's law: relative residual .* > 1e-10"):
        u1.load_initial(tmp_path / "f32.npz", MD2, "check")
    assert residual(MD2, *u1.load_initial(tmp_path / "f32.npz", MD2, "project")) <= 64 * EPS64


def test_load_initial_of_scalar_qed_float32_data_without_x64(tmp_path):
    """Scalar QED (no neutralizing background: the projection's neutrality check sees the float32 charge)."""
    lat = LAT1
    M = scalar_qed.model(lat, 0.1)
    phi, pi = scalar_qed.charged_packets(lat, 1.0, 0.5, 1.0, 0.0, width=1.5, momentum=[1.0])
    phi32, pi32 = _float32_file(tmp_path / "sq.npz", M, phi, pi)
    with jax.enable_x64(False):
        got_phi, got_pi = u1.load_initial(tmp_path / "sq.npz", M, "check")
        assert got_phi.dtype == got_pi.dtype == np.float64
        assert np.array_equal(got_phi, phi32) and np.array_equal(got_pi, pi32)
        pphi, ppi = u1.load_initial(tmp_path / "sq.npz", M, "project")
        assert np.array_equal(pphi, phi32) and np.array_equal(ppi[1:], pi32[1:])
        assert residual(M, pphi, ppi) <= gauss_tolerance()


# -- 3. observables of NumPy float64 data without x64 ------------------------------------------------------------
def _observables(model, phi: np.ndarray, pi: np.ndarray) -> dict[str, float]:
    """The float64 reference values (one compiled program: op-by-op eager evaluation costs seconds)."""
    return {k: float(v) for k, v in jax.jit(model.observables)(model.encode(phi, pi)).items()}


def _photons(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    return u1.random_photons(lat, 0, 0.1)


# 2d is slow (1.8 s of op-by-op compiles): the 1d case reaches every line the fix changed
@pytest.mark.parametrize("theory", ["maxwell-dirac-1d", pytest.param("maxwell-dirac-2d", marks=pytest.mark.slow),
                                    "scalar-qed", "maxwell"])
def test_observables_of_float64_numpy_data_without_x64(theory):
    """Eager observables of NumPy float64 data with x64 off: no truncation warning (an error in this suite), every
    value a float32 result equal to the float64 one to float32 round-off; the Gauss residual at float32's."""
    if theory.startswith("maxwell-dirac"):
        M = MD1 if theory.endswith("1d") else MD2
        phi, pi = charged_packets(M, width=1.5, momentum=[0.5] + [0.25] * (M.lattice.ndim - 1), field=0.1)
    elif theory == "scalar-qed":
        M = scalar_qed.model(LAT2, 0.1)
        phi, pi = scalar_qed.charged_packets(LAT2, 1.0, 0.5, 1.0, 0.0, width=1.5, momentum=[1.0, 0.5])
    else:
        M = maxwell.model(LAT2, 0.1)
        phi, pi = _photons(LAT2)
    ref = _observables(M, phi, pi)
    with jax.enable_x64(False):
        state = M.encode(phi, pi)
        obs = M.observables(state)
        assert {np.asarray(v).dtype for v in obs.values()} == {np.dtype(np.float32)}
        got = {k: float(v) for k, v in obs.items()}
    assert got.keys() == ref.keys()
    scale = max(abs(ref["energy"]), abs(ref.get("charge", 0.0)), 1.0)
    for k, v in got.items():
        if k == "gauss_residual":
            assert ref[k] <= 64 * EPS64 and v <= NEUTRAL_EPS * EPS32, (k, v)
        else:
            assert abs(v - ref[k]) <= 64 * EPS32 * scale, (k, v, ref[k])


# -- the same without x64 ever on -----------------------------------------------------------------------------------
@pytest.mark.slow  # a fresh process without x64 (about 5 s); the quick tests above switch x64 off in-process
def test_float32_file_and_observables_in_a_process_without_x64(tmp_path):
    code = textwrap.dedent("""
        import sys, warnings
        warnings.simplefilter("error")
        import jax
        assert not jax.config.read("jax_enable_x64")
        import numpy as np
        from nnfield import Lattice
        from nnfield.theories import maxwell, maxwell_dirac, scalar_qed, u1
        from nnfield.theories.maxwell_dirac.initial import charged_packets
        from nnfield.theories.u1.datafile import gauss_tolerance, residual
        eps32 = float(np.finfo(np.float32).eps)
        lat = Lattice((8, 8))
        M = maxwell_dirac.model(lat, 0.1)
        phi, pi = charged_packets(M, width=1.5, momentum=[0.5, 0.25], field=0.1)
        assert phi.dtype == pi.dtype == np.float64 and np.all(np.isfinite(phi)) and np.all(np.isfinite(pi))
        phi32, pi32 = phi.astype(np.float32), pi.astype(np.float32)
        path = sys.argv[1]
        np.savez(path, A=phi32[:2], E=pi32[:2], Q=phi32[2:], P=pi32[2:])
        got_phi, got_pi = u1.load_initial(path, M, "check")
        assert got_phi.dtype == got_pi.dtype == np.float64
        assert np.array_equal(got_phi, phi32) and np.array_equal(got_pi, pi32)
        assert residual(M, got_phi, got_pi) <= gauss_tolerance() == 64 * eps32
        p_phi, p_pi = u1.load_initial(u1.save_initial(path, M, phi32, pi32), M, "project")
        assert np.array_equal(p_phi, phi32) and np.array_equal(p_pi[2:], pi32[2:])
        assert np.abs(p_pi[:2] - pi[:2]).max() <= 16 * eps32 * np.abs(pi[:2]).max()
        for model, (f, g) in [(M, (phi, pi)),
                              (scalar_qed.model(lat, 0.1),
                               scalar_qed.charged_packets(lat, 1.0, 0.5, 1.0, 0.0, width=1.5, momentum=[1.0, 0.5])),
                              (maxwell.model(lat, 0.1), u1.random_photons(lat, 0, 0.1))]:
            obs = model.observables(model.encode(f, g))
            assert {np.asarray(v).dtype for v in obs.values()} == {np.dtype(np.float32)}, obs
            assert float(obs["gauss_residual"]) <= 64 * eps32
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f32.npz")], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"
