"""Initial data built split over devices, each process its own slabs (session 45; issue 10, item 4).

A run split over devices or processes used to build the whole initial data in every process (or, since session 44,
one process at a time) and keep its shards. The random fields of Klein-Gordon (positive frequency), phi^4 and sine-
Gordon (independent ``phi``, ``pi``), ``random_spectrum`` and ``gaussian``, are now built slab by slab
(:mod:`nnfield.initial._split`): NumPy's normal sequence streamed plane by plane (the same numbers), a distributed
inverse FFT in ``shard_map``. These tests check the pieces against the whole build: the stream bit for bit, the
fields and the encoded state to round-off, the errors alike, and which runs take which build.

Tolerances: the split and the whole build compute the same discrete Fourier transform, the 1D transforms in
another order (and XLA's FFT against NumPy's); an FFT's round-off is ``O(eps log2 N)`` relative to the field's
largest value, so ``8 eps log2(N) max|f|`` allows for the two transforms (and the ``omega_k`` product) of the
positive-frequency ``pi``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnfield.config import parse_config
from nnfield.errors import ConfigError
from nnfield.initial._split import noise_planes
from nnfield.runner import split_build, split_build_refusal

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 6), (40, 3000)])
def test_the_streamed_noise_is_the_whole_draw_bit_for_bit(shape):
    """``standard_normal`` in consecutive calls continues one sequence: the planes kept equal the whole draw's."""
    whole = np.random.default_rng(11)
    parts = [whole.standard_normal(shape) for _ in range(3)]
    rows = sorted({0, 2, shape[0] - 1})
    got = noise_planes(11, shape, 3, rows)
    for part, planes in zip(parts, got, strict=True):
        assert sorted(planes) == rows
        for r in rows:
            assert np.array_equal(planes[r], part[r])


KG = """\
[theory]
name = "klein-gordon"
{theory}
[lattice]
shape = {shape}
spacing = 0.5
[time]
dt = 0.1
steps = 10
[initial]
kind = "{kind}"
seed = 3
{parallel}
"""


def _cfg(shape=(8, 6), kind="random_spectrum", build=None, theory=""):
    parallel = "" if build is None else f'[parallel]\nbuild = "{build}"'
    return parse_config(KG.format(shape=list(shape), kind=kind, parallel=parallel, theory=theory), source="t.toml")


def test_which_runs_build_split():
    """``auto``: split on several devices where the kind and lattice allow; ``whole`` never; ``split`` refuses
    (one line naming why) where it cannot; one device always builds whole."""
    assert split_build(_cfg(), 2) and split_build(_cfg(build="split"), 4)
    assert not split_build(_cfg(), 1) and not split_build(_cfg(build="split"), 1)
    assert not split_build(_cfg(build="whole"), 2)
    assert split_build(_cfg(kind="plane_wave"), 2)  # (since session 46)
    assert not split_build(_cfg(shape=(16,)), 2)
    # a kind built whole (Maxwell-Dirac's charged packets: Gauss's law solved for their charge), refused naming those
    # that are built split
    md = KG.format(shape=[8, 6], kind="charged_packets", parallel="", theory="").replace("klein-gordon",
                                                                                     "maxwell-dirac")
    assert not split_build(parse_config(md, source="t.toml"), 2)
    assert "is built whole (built split: dirac (every kind), gauged-dirac (every kind), klein-gordon (every kind), " \
           "maxwell (plane_wave, random_photons)" in split_build_refusal(parse_config(md, source="t.toml"))
    with pytest.raises(ConfigError, match='parallel.build = "split": initial.kind = .charged_packets. of .maxwell-di'):
        split_build(parse_config(md + '[parallel]\nbuild = "split"\n', source="t.toml"), 2)
    with pytest.raises(ConfigError, match="1D lattice"):
        split_build(_cfg(shape=(16,), build="split"), 2)
    # network (3.14) encodes the data by an FFT over the whole lattice: built whole
    assert not split_build(_cfg(theory='network = "3.14"'), 2)
    with pytest.raises(ConfigError, match='network "3.14" encodes the data by a spectral propagation'):
        split_build(_cfg(theory='network = "3.14"', kind="gaussian", build="split"), 2)


def test_a_misspelt_build_is_refused():
    with pytest.raises(ConfigError, match="parallel.build"):
        _cfg(build="slabs")


SCRIPT = textwrap.dedent(
    '''
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from nnfield import runner
    from nnfield.config import parse_config
    from nnfield.errors import ConfigError
    from nnfield.initial import (NoDispersion, PositiveFrequency, gaussian_field, gaussian_field_split,
                                 gaussian_packet, gaussian_packet_split, kink, kink_antikink, phi4_kink_pair,
                                 planar_split, plane_wave, plane_wave_split, random_spectrum, random_spectrum_split,
                                 vacuum)
    from nnfield.lattice import Lattice
    from nnfield.sharding import lattice_mesh
    from nnfield.theories.klein_gordon.physics import KleinGordon
    from nnfield.theories.u1 import plane_wave as photon_wave, plane_wave_split as photon_wave_split
    from nnfield.theories.u1 import random_photons, random_photons_split

    from nnfield.initial import spinor_packet, spinor_packet_split, spinor_plane_wave, spinor_plane_wave_split
    from nnfield.theories.dirac.initial import DiracModes
    from nnfield.theories.dirac.physics import Dirac

    SPLIT = {random_photons: random_photons_split, photon_wave: photon_wave_split,
             spinor_plane_wave: spinor_plane_wave_split, spinor_packet: spinor_packet_split}

    EPS = np.finfo(float).eps
    worst = 0.0

    def close(got, want, what):
        global worst
        got, want = np.asarray(got), np.asarray(want)
        assert got.shape == want.shape, (what, got.shape, want.shape)
        tol = 8 * EPS * np.log2(want.size) * max(np.abs(want).max(), 1e-300)
        err = np.abs(got - want).max()
        assert err <= tol, (what, err, tol)
        worst = max(worst, err / tol)

    for case, (shape, n, slope, cutoff) in enumerate(CASES):
        lat = Lattice(shape, 0.5)
        th = KleinGordon(m=0.7, lattice=lat)
        mesh = lattice_mesh(n)
        for rule, how in ((PositiveFrequency.of(th), th.dispersion), (NoDispersion(), NoDispersion())):
            want = random_spectrum(lat, rule, 5, 1.3, cutoff, slope)
            got = random_spectrum_split(lat, mesh, how, 5, 1.3, cutoff, slope)
            for g, w, name in zip(got, want, ("phi", "pi")):
                assert g.sharding.spec[1] == "lattice" and len(g.sharding.device_set) == n, g.sharding
                close(g, w, (shape, n, type(rule).__name__, slope, name))
        packet = ([0.3] * len(shape), 1.1, [0.8] + [-0.4] * (len(shape) - 1), 1.3)  # (center, width, k0, A)
        for rule, how in ((PositiveFrequency.of(th), th.dispersion), (NoDispersion(0.4), NoDispersion(0.4))):
            want = gaussian_packet(lat, rule, *packet)
            got = gaussian_packet_split(lat, mesh, how, *packet)
            for g, w, name in zip(got, want, ("phi", "pi")):
                if name == "phi" or isinstance(rule, NoDispersion):  # the profile itself: the same expressions
                    assert np.array_equal(np.asarray(g), w), ("packet", shape, n, name)
                close(g, w, (shape, n, "packet", type(rule).__name__, name))
        wave = ([1] + [-min(2, N // 2) for N in shape[1:]], 1.3, 0.4)  # (n, A, phase): session 46
        want = plane_wave(lat, PositiveFrequency.of(th), *wave)
        got = plane_wave_split(lat, mesh, th.dispersion, *wave)
        assert np.array_equal(np.asarray(got[0]), want[0]), ("plane wave", shape, n)
        close(got[1], want[1], (shape, n, "plane wave", "pi"))
        for build, args in ((kink, (0.0, 1.0, 1.0, 0.3, 0.4, 2 * np.pi, 1)), (kink, (0.0, 1.0, 2.0, -0.3, 0.9, 0.0, 1)),
                            (kink_antikink, (-2.0, 1.0, 1.0, 0.5, 0.5)), (phi4_kink_pair, (1.0, 1.5, 0.2, 0.3, None))):
            want = build(lat, *args)
            got = planar_split(lat, mesh, lambda line: build(line, *args))
            for g, w in zip(got, want):  # the walls: bit for bit
                assert g.sharding.spec[1] == "lattice" and np.array_equal(np.asarray(g), w), (build.__name__, shape)
        # Maxwell's photons (session 46): random to round-off, the plane wave bit for bit
        photons = (5, 0.2, cutoff, slope, 0.0)
        for g, w, name in zip(random_photons_split(lat, mesh, *photons), random_photons(lat, *photons), "AE"):
            if not (FULL or case == len(CASES) - 1):  # (quick: the last case)
                break
            assert g.sharding.spec[1] == "lattice", g.sharding
            close(g, w, (shape, n, "photons", name))
        for args in (([1, -1] + [0] * (len(shape) - 2), [1.0, 0.5] + [0.2] * (len(shape) - 2), 0.3, 0.0, True),
                     ([0] * len(shape), None, 1.0, 0.7, False)):
            for g, w in zip(photon_wave_split(lat, mesh, *args), photon_wave(lat, *args)):
                assert np.array_equal(np.asarray(g), w), ("photon", shape, n)
        # the Dirac field's plane wave (bit for bit) and packets (to round-off), D = 2 and 3 (session 46)
        if len(shape) in (2, 3):
            modes = DiracModes(Dirac(m=0.6, lattice=lat))
            wave = ([1] + [-min(1, N // 2) for N in shape[1:]], 0.8, 0.3, "negative", len(shape) - 2)
            for g, w in zip(spinor_plane_wave_split(lat, mesh, modes, *wave), spinor_plane_wave(lat, modes, *wave)):
                assert g.sharding.spec[1] == "lattice" and np.array_equal(np.asarray(g), w), ("spinor wave", shape)
            for branch in ("positive", "mixed") if FULL or case == 0 else ("negative",):
                packet = ([0.3] * len(shape), 1.1, [0.8] + [-0.4] * (len(shape) - 1), branch, 0, 1.3)
                got, want = spinor_packet_split(lat, mesh, modes, *packet), spinor_packet(lat, modes, *packet)
                for g, w, name in zip(got, want, ("phi", "pi")):
                    close(g, w, (shape, n, "spinor packet", branch, name))
        for theory in (th, KleinGordon(m=0.0, lattice=lat)):  # the vacuum, massive and massless (its zero mode)
            want = gaussian_field(lat, theory.dispersion(lat.momenta()), vacuum, 5, 1.3, cutoff)
            got = gaussian_field_split(lat, mesh, theory.dispersion, vacuum, 5, 1.3, cutoff)
            for g, w, name in zip(got, want, ("phi", "pi")):
                close(g, w, (shape, n, "gaussian", theory.m, name))

    # the same errors as the whole build: no mode under the cutoff, a spectrum that overflows
    lat = Lattice((8, 6), 0.5)
    th = KleinGordon(m=0.7, lattice=lat)
    for how in (th.dispersion, NoDispersion()):
        rule = PositiveFrequency.of(th) if callable(how) else how
        for args in ((1.0, 1e-3, 1.0), (1.0, None, 2000.0)):
            msgs = []
            for build in (lambda: random_spectrum(lat, rule, 5, *args),
                          lambda: random_spectrum_split(lat, lattice_mesh(2), how, 5, *args)):
                try:
                    build()
                except Exception as exc:
                    msgs.append((type(exc).__name__, str(exc)))
            assert len(msgs) == 2 and msgs[0] == msgs[1], msgs
    # the photons': no mode under the cutoff, a slope whose weights or field overflow; a longitudinal polarization
    for build, args in ((random_photons, (5, 1.0, 1e-3)), (random_photons, (5, 1.0, None, 3000.0)),
                        (photon_wave, ([1, 0], [1.0, 0.0]))) + (((random_photons, (5, 1.0, None, 660.0)),) if FULL
                                                                 else ()):
        msgs = []
        for make in (lambda: build(lat, *args), lambda: SPLIT[build](lat, lattice_mesh(2), *args)):
            try:
                make()
            except Exception as exc:
                msgs.append((type(exc).__name__, str(exc)))
        assert len(msgs) == 2 and msgs[0] == msgs[1], msgs
    # the spinors': a spin beyond K/2, a misspelt branch, a NaN amplitude, a packet's width below a
    modes = DiracModes(Dirac(m=0.6, lattice=lat))
    for build, args in ((spinor_plane_wave, (None, 1.0, 0.0, "positive", 7)), (spinor_plane_wave, (None, 1.0, 0.0,
                        "up")), (spinor_packet, (None, None, None, "positive", 0, float("nan"))),
                        (spinor_packet, (None, 0.1))):
        msgs = []
        for make in (lambda: build(lat, modes, *args), lambda: SPLIT[build](lat, lattice_mesh(2), modes, *args)):
            try:
                make()
            except Exception as exc:
                msgs.append((type(exc).__name__, str(exc)))
        assert len(msgs) == 2 and msgs[0] == msgs[1], msgs
    # the plane wave's: a wave number beyond N/2, a NaN phase, an amplitude that overflows
    for args in (([5, 0], 1.0, 0.0), ([1, 0], 1.0, float("nan")), ([1, 0], 1e308, 0.0)):
        msgs = []
        for build in (lambda: plane_wave(lat, PositiveFrequency.of(th), *args),
                      lambda: plane_wave_split(lat, lattice_mesh(2), th.dispersion, *args)):
            try:
                build()
            except Exception as exc:
                msgs.append((type(exc).__name__, str(exc)))
        assert len(msgs) == 2 and msgs[0] == msgs[1], msgs
    # the gaussian field's errors: no mode under the cutoff, a negative spectrum, an unstable vacuum
    tachyon = lambda k: np.sqrt(-1.0 + sum(4.0 / 0.25 * np.sin(np.asarray(x) * 0.25) ** 2 for x in k))
    massless = KleinGordon(m=0.0, lattice=lat).dispersion
    for how, spectrum, cutoff in ((massless, vacuum, 1e-3), (th.dispersion, lambda k, w: 1.0 - k, None),
                                  (tachyon, vacuum, None)):
        msgs = []
        for build in (lambda: gaussian_field(lat, how(lat.momenta()), spectrum, 5, 1.0, cutoff),
                      lambda: gaussian_field_split(lat, lattice_mesh(2), how, spectrum, 5, 1.0, cutoff)):
            try:
                with np.errstate(invalid="ignore"):
                    build()
            except Exception as exc:
                msgs.append((type(exc).__name__, str(exc)))
        assert len(msgs) == 2 and msgs[0] == msgs[1], msgs

    # a run's state (the encoding, the ground state, the twist's ramp) built split equals the whole build's
    for text in CONFIGS:
        cfg = parse_config(text, source="t.toml")
        model, whole = runner.build(cfg)
        _, split = runner.build_split(cfg, 2)
        for a, b in zip(jax.tree_util.tree_leaves(split), jax.tree_util.tree_leaves(whole)):
            assert a.dtype == b.dtype, (a.dtype, b.dtype)
            if a.ndim >= 2:
                assert a.sharding.spec[1] == "lattice", a.sharding
            close(a, b, cfg.theory.name)
    try:
        runner.build_split(parse_config(CONFIGS[0].replace("[12, 8]", "[9, 8]"), source="t.toml"), 2)
    except ConfigError as exc:
        assert "not divisible by 2 devices" in str(exc), exc
    else:
        raise AssertionError("a first axis of 9 sites was split over 2 devices")
    # the spectra's tables built block by block equal the whole tables split (Spectra.of(...).split_over)
    from nnfield.spectra import Spectra
    from nnfield.theories.nonlinear.physics import NonlinearField

    for i, (shape, n, slope, cutoff) in enumerate(CASES):
        lat = Lattice(shape, 0.5)
        mesh = lattice_mesh(n)
        massive, massless = KleinGordon(m=0.7, lattice=lat).dispersion, KleinGordon(m=0.0, lattice=lat).dispersion
        for disp in ((massive, massless, None) if FULL else (massless,) if i else (massive,)):
            ref = Spectra.of(lat, None if disp is None else disp(lat.momenta())).split_over(mesh)
            got = Spectra.split_of(lat, mesh, disp)
            for a, b in ((got.shells.half_index, ref.shells.half_index), (got.shells.half_weight,
                         ref.shells.half_weight), (got.omega, ref.omega), (got.valid, ref.valid)):
                assert (a is None) == (b is None)
                if a is not None:
                    assert a.sharding.is_equivalent_to(b.sharding, a.ndim) and a.dtype == b.dtype
                    assert np.array_equal(np.asarray(a), np.asarray(b))
            assert got.shells.n_bins == ref.shells.n_bins and np.array_equal(got.shells.modes, ref.shells.modes)
            close(got.shells.k, ref.shells.k, "k")
            occ, want = got.occupied(), Spectra.of(lat, None if disp is None else disp(lat.momenta())).occupied()
            assert (occ is None) == (want is None) and (occ is None or np.array_equal(occ, want)), (occ, want)
            field = random_spectrum_split(lat, mesh, NoDispersion(), 5, 1.0, cutoff, 0.0)
            fields = {"phi": field[0], "pi": field[1]}
            for name, v in jax.jit(lambda f: got(f))(fields).items():
                assert np.array_equal(np.asarray(v), np.asarray(jax.jit(lambda f: ref(f))(fields)[name])), name
    print("worst error / tolerance", worst)
    '''
)

RUN = """\
[theory]
name = "{name}"
{extra}
[lattice]
shape = [12, 8]
spacing = 0.5
[time]
dt = 0.05
steps = 10
[initial]
kind = "random_spectrum"
seed = 9
{initial}
[output]
precision = "{precision}"
"""


def _run(name: str, kind: str = "random_spectrum", extra: str = "", initial: str = "", precision: str = "float64",
         scheme: str | None = None) -> str:
    """``RUN`` of theory ``name`` with initial ``kind`` (and ``[time] scheme``)."""
    text = RUN.format(name=name, extra=extra, initial=initial, precision=precision).replace("random_spectrum", kind)
    return text.replace("dt = 0.05", f'dt = 0.05\nscheme = "{scheme}"') if scheme else text


CONFIGS = [
    _run("klein-gordon", initial="slope = -1.0"),
    _run("klein-gordon", "gaussian_packet", initial="momentum = [1.0, 0.5]"),
    _run("sine-gordon", "gaussian_packet", "winding = 1", "velocity = 0.3\noffset = 0.1"),
    _run("klein-gordon", "gaussian"),
    _run("phi4", "gaussian", 'phase = "broken"'),
    _run("klein-gordon", precision="float32"),
    _run("phi4"),
    _run("sine-gordon", extra="winding = 1", initial="offset = 0.25"),
    # session 46: the plane wave, the walls, the photons, the spinors
    _run("klein-gordon", "plane_wave", initial="n = [1, -2]\nphase = 0.4"),
    _run("sine-gordon", "kink", "winding = 1", "velocity = 0.3\ncenter = 0.4"),
    _run("sine-gordon", "collision", initial="velocity = 0.5"),
    _run("phi4", "kink", 'phase = "broken"', "velocity = 0.2", "float32"),
    _run("maxwell", "random_photons", initial="slope = -1.0"),
    _run("maxwell", "plane_wave", initial="n = [1, 2]\npolarization = [1.0, 0.0]"),
    _run("maxwell-dirac", "random_photons", initial="slope = -1.0"),
    _run("scalar-qed", "random_photons", "vev = 1.3"),
    _run("scalar-qed", "plane_wave", "vev = 1.3", "travelling = false", "float32"),
    _run("dirac", "gaussian_packet", 'network = "stable"\nbias = "wilson"', "momentum = [0.5, -0.3]",
         scheme="alternating"),
    _run("dirac", "plane_wave", 'network = "stable"', 'n = [1, 2]\nbranch = "negative"', scheme="alternating"),
    _run("gauged-dirac", "gaussian_packet", 'field = "magnetic"', 'branch = "mixed"', "float32", "alternating"),
]


def _script(cases, full: bool = False) -> subprocess.CompletedProcess[str]:
    """``SCRIPT`` on 4 fake devices over ``cases`` (the spectra's tables of every dispersion in each case with
    ``full``, else one per case; the configs' states: all with ``full``, else three)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()
    configs = CONFIGS if full else [CONFIGS[i] for i in (0, 2, 4, 7, 9, 12, 17)]  # (quick: each rule, the ramp, a
    # wall, the photons, a spinor packet)
    code = f"CASES = {cases!r}\nCONFIGS = {configs!r}\nFULL = {full!r}\n" + SCRIPT
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600,
                          check=False)


def test_split_random_fields_equal_the_whole_build():
    """2 and 4 devices, 2D with an odd last axis, 3D, a slope and a cutoff; the errors; the encoded states; the
    spectra's tables built block by block (massive, then massless: no occupation at ``k = 0``)."""
    res = _script([((12, 7), 2, 0.0, None), ((8, 6, 10), 4, -1.0, 2.0)])
    assert res.returncode == 0, res.stderr[-4000:]


@pytest.mark.slow
def test_split_random_fields_equal_the_whole_build_on_more_lattices():
    """More shapes and device counts: last axes shorter than the device count, a 4D lattice, steep slopes."""
    res = _script([((16, 12), 2, 0.0, None), ((16, 12), 4, 2.0, None), ((32, 33), 4, -2.0, 1.5),
                   ((8, 3, 5), 4, 0.0, None), ((4, 4, 4, 6), 2, 1.0, 5.0), ((64, 48), 4, 0.0, 0.5)], full=True)
    assert res.returncode == 0, res.stderr[-4000:]


def test_every_split_builder_has_a_measured_memory_row():
    from nnfield import resources
    from nnfield.theories import load_all
    from nnfield.theories.registry import THEORIES

    load_all()
    split = {(name, kind) for name, spec in THEORIES.items() for kind, ini in spec.initial.items()
             if ini.split is not None}
    assert split and split == set(resources.MEASURED_SPLIT_INITIAL)


def test_the_guard_counts_each_process_its_share_of_a_split_build(monkeypatch):
    """Four processes on a host, each holding a quarter of the devices: a split build needs about a quarter of
    the per-site parts in each (the host buffers whole), where the whole build needs them whole in each, in turns
    or not."""
    from nnfield import resources
    from nnfield.errors import InputError

    cfg = _cfg(shape=(512, 512))
    whole = resources.estimate_run_memory(cfg, 4)
    split = resources.estimate_run_memory(cfg, 4, split_build=True)
    assert split["initial"] == resources.MEASURED_SPLIT_INITIAL[("klein-gordon", "random_spectrum")] * 512 * 512
    monkeypatch.setattr(resources, "_process_share", lambda devices: 0.25)
    share = (split["total"] - split["host"]) // 4 + split["host"]
    monkeypatch.setattr(resources, "available_memory", lambda: 4 * share + 4096)
    assert resources.check_memory(cfg, 1, 4, local=4, turns=True, split_build=True) is False  # fits, no turns
    with pytest.raises(InputError, match="in each of the 4 processes on this host"):
        resources.check_memory(cfg, 1, 4, local=4, turns=True, split_build=False)  # whole: not even in turns
    assert 4 * share < resources._turns_peak(whole, 4)
    monkeypatch.setattr(resources, "available_memory", lambda: 4 * share - 4096)
    with pytest.raises(InputError, match="each its share of the lattice"):
        resources.check_memory(cfg, 1, 4, local=4, turns=True, split_build=True)


@pytest.mark.slow
def test_the_guard_covers_the_split_builds_measured_on_other_lattices():
    """``MEASURED_SPLIT_INITIAL`` covers split builds on 2 devices and other lattices: the resident memory's slope
    between two sizes, per site, over 2^20 more sites (over fewer, a few MiB of noise between identical runs is tens
    of bytes per site)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import measure_split_initial as m
    finally:
        sys.path.pop(0)
    from nnfield import resources

    for theory, kind, shapes in (("klein-gordon", "random_spectrum", ([1024, 1024], [2048, 1024])),
                                 ("sine-gordon", "random_spectrum", ([64, 128, 128], [128, 128, 128])),
                                 ("klein-gordon", "gaussian_packet", ([64, 128, 128], [128, 128, 128])),
                                 ("phi4", "gaussian", ([1024, 1024], [2048, 1024]))):
        sites = [int(np.prod(s)) for s in shapes]
        peaks = [m.peak(m.config(theory, list(s), kind), "split", 2) for s in shapes]
        slope = (peaks[1] - peaks[0]) / (sites[1] - sites[0])
        assert slope <= resources.MEASURED_SPLIT_INITIAL[(theory, kind)], (theory, kind, slope)


HOST_SCRIPT = textwrap.dedent(
    '''
    import sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import h5py
    import numpy as np
    from nnfield import parallel, runner
    from nnfield.config import parse_config

    HOST = jax.devices()[3]
    parallel.host_device = lambda: HOST  # fake device 3 plays the host's CPU; devices 0, 1 the accelerators
    for i, text in enumerate(CONFIGS):
        cfg = parse_config(text.replace("steps = 10", "steps = 10\\n[parallel]\\ndevices = 2"), source="t.toml")
        res = runner.execute(cfg, f"{sys.argv[1]}/two{i}", progress=False)
        one = runner.execute(parse_config(text, source="t.toml"), f"{sys.argv[1]}/one{i}", progress=False)
        with h5py.File(f"{sys.argv[1]}/two{i}/run.h5") as a, h5py.File(f"{sys.argv[1]}/one{i}/run.h5") as b:
            for name in b["snapshots"]:
                x, y = a["snapshots"][name][()], b["snapshots"][name][()]
                tol = 1e-5 if "float32" in text else 1e-12  # (float32: the round-off of 10 steps on 2 devices)
                assert np.allclose(x, y, rtol=0, atol=tol * max(1.0, np.abs(y).max())), (i, name)
    print("OK")
    '''
)


@pytest.mark.slow
def test_a_split_build_with_the_host_elsewhere_runs_and_equals_one_device(tmp_path):
    """With the model built on a host device that the run does not use (as a GPU run builds its model on the CPU),
    the split build's programs take the model from there: every theory's split run equals one device."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4".strip()
    code = f"CONFIGS = {CONFIGS!r}\n" + HOST_SCRIPT
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=600, check=False)
    assert res.returncode == 0 and "OK" in res.stdout, res.stdout + res.stderr[-4000:]
