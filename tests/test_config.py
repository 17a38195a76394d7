"""TOML config validation (one-line errors with the fix) and the Klein-Gordon initial conditions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnfield.cli import demo_config_text
from nnfield.config import load_config, parse_config
from nnfield.errors import ConfigError
from nnfield.theories.klein_gordon import KleinGordon
from nnfield.theories.registry import THEORIES, InitialSpec, Param, TheorySpec, positive

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
EPS = np.finfo(np.float64).eps

BASE = """
[theory]
name = "klein-gordon"
mass = 1.0

[lattice]
shape = [16]
spacing = 0.5

[time]
dt = 0.1
steps = 100

[initial]
kind = "plane_wave"
n = [1]
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="test.toml")
    msg = str(info.value)
    assert "\n" not in msg, "errors are one line"
    assert msg.startswith("test.toml: ")
    return msg


def test_defaults_are_filled_in():
    cfg = parse_config(BASE)
    assert cfg.theory.params == {"network": "3.8", "mass": 1.0, "sign": "corrected"}
    assert cfg.lattice.shape == (16,) and cfg.lattice.spacing == 0.5
    assert cfg.time.scheme == "leapfrog" and cfg.time.steps == 100 and cfg.time.dt == 0.1
    assert cfg.initial.kind == "plane_wave" and cfg.initial.seed == 0
    assert cfg.initial.params == {"n": [1], "amplitude": 1.0, "phase": 0.0}
    assert cfg.output.precision == "float64" and cfg.output.snapshot_every == 0 and cfg.output.every == 1
    assert cfg.text == BASE


def test_t_end_sets_steps_and_ints_are_numbers():
    cfg = parse_config(BASE.replace("steps = 100", "t_end = 2").replace("dt = 0.1", "dt = 0.3"))
    assert cfg.time.steps == 7  # ceil(2 / 0.3)
    cfg = parse_config(BASE.replace("steps = 100", "steps = 1e3"))
    assert cfg.time.steps == 1000 and isinstance(cfg.time.steps, int)


def test_automatic_observable_cadence_divides_snapshots():
    cfg = parse_config(BASE.replace("steps = 100", "steps = 10000") + "[output]\nsnapshot_every = 1000\n")
    assert cfg.output.every == 20 and 1000 % cfg.output.every == 0


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_validate_and_build(path):
    cfg = load_config(path)
    model = cfg.build_model()
    phi, pi = cfg.initial_fields(model)
    assert phi.shape == pi.shape and phi.shape[1:] == cfg.lattice.shape  # (K, *shape)
    assert np.isfinite(phi).all() and np.isfinite(pi).all()


def test_demo_config_validates():
    cfg = parse_config(demo_config_text())
    assert cfg.lattice.shape == (128, 128) and cfg.time.scheme == "leapfrog"


@pytest.mark.parametrize(
    "old,new,expect",
    [
        ("steps = 100", "stpes = 100", ['time.stpes: unknown key; did you mean "steps"?', "valid keys of [time]"]),
        ("steps = 100", 'steps = "100"', ["time.steps: expected an integer", '"100" (a string)', "without quotes"]),
        ("steps = 100", "steps = 2.5", ["time.steps: expected an integer, got 2.5"]),
        ("steps = 100", "steps = 0", ["time.steps: expected a positive integer", "got 0"]),
        ("dt = 0.1", "dt = -0.1", ["time.dt: expected a positive number, got -0.1"]),
        ("dt = 0.1", "dt = nan", ["time.dt: expected a finite number"]),
        ("dt = 0.1", "dt = true", ["time.dt: expected a number, got true (a boolean)"]),
        ("shape = [16]", "shape = [16, 0]", ["lattice.shape: expected positive lattice sizes", "[16, 0]"]),
        ("shape = [16]", "shape = []", ["lattice.shape: expected a non-empty list"]),
        ("shape = [16]", "shape = 16", ["lattice.shape: expected a list of integers, got 16"]),
        ("spacing = 0.5", "spacing = 0", ["lattice.spacing: expected a positive number, got 0"]),
        ("steps = 100", 'steps = 100\nscheme = "leapfrg"', ['time.scheme: expected one of', 'did you mean "leapfrog"']),
        ("mass = 1.0", "mass = -1.0", ["theory.mass: expected a non-negative number, got -1.0"]),
        ("mass = 1.0", 'mass = 1.0\nnetwork = "3.9"', ['theory.network: expected one of "3.8", "3.14", got "3.9"']),
        ('name = "klein-gordon"', 'name = "klein-gordan"',
         ["theory.name: expected one of", 'did you mean "klein-gordon"']),
        ('kind = "plane_wave"', 'kind = "plane-wave"', ['initial.kind: expected one of', 'did you mean "plane_wave"']),
        ("n = [1]", 'n = ["1"]', ["initial.n: expected a list of integers"]),
        ("n = [1]", "n = [1]\namplitude = 0", ["initial.amplitude: expected a positive amplitude, got 0"]),
        ("steps = 100", "steps = 100\nt_end = 5.0", ["time.t_end: give either steps or t_end, not both"]),
        ("steps = 100", "", ["time.steps: missing", "t_end"]),
        ("dt = 0.1", "", ["time.dt: missing required key", "dt = 0.05"]),
        ("[lattice]", "[latice]", ['latice: unknown top-level key; did you mean "lattice"?']),
        ("spacing = 0.5", "spacing = 0.5\ndt = 0.1", ['lattice.dt: unknown key', '"dt" belongs in [time]']),
        ('kind = "plane_wave"', "", ["initial.kind: missing required key", "plane_wave"]),
        ("mass = 1.0", "mass = 1.0\nmas = 2.0", ['theory.mas: unknown key; did you mean "mass"?']),
        # a misspelt required key whose table is checked only once it is known (session 48: "nmae" went unnamed)
        ('name = "klein-gordon"', 'nmae = "klein-gordon"',
         ["theory.name: missing required key", '(theory.nmae is not a key: did you mean "name"?)']),
        ('kind = "plane_wave"', 'knid = "plane_wave"',
         ["initial.kind: missing required key", '(initial.knid is not a key: did you mean "kind"?)']),
    ],
)
def test_bad_values_give_one_clear_line(old, new, expect):
    assert old in BASE
    msg = error_of(BASE.replace(old, new, 1))
    for fragment in expect:
        assert fragment in msg, msg


@pytest.mark.parametrize(
    "output,expect",
    [
        ('precision = "float16"', ['output.precision: expected one of "float64", "float32", got "float16"']),
        ("every = 3\nsnapshot_every = 10", ["output.snapshot_every: expected a multiple of output.every = 3"]),
        ("every = 200", ["output.every: expected at most time.steps = 100"]),
        ("snapshot_every = 500", ["output.snapshot_every: expected at most time.steps = 100"]),
        ("every = 2\nchunk = 3", ["output.chunk: expected a multiple of output.every = 2"]),
        ("snapshot_every = 20\nchunk = 15", ["output.chunk: expected a divisor of output.snapshot_every = 20"]),
        ("snapshot_every = -1", ["output.snapshot_every: expected a non-negative integer"]),
        ("evry = 2", ['output.evry: unknown key; did you mean "every"?']),
    ],
)
def test_bad_output_values(output, expect):
    msg = error_of(BASE + "[output]\n" + output + "\n")
    for fragment in expect:
        assert fragment in msg, msg


def test_missing_table_and_wrong_table_type():
    assert "[initial]: missing table" in error_of(BASE.split("[initial]")[0])
    assert "output: expected a table [output]" in error_of("output = 3\n" + BASE)


def test_toml_syntax_error_and_missing_file(tmp_path):
    msg = error_of(BASE.replace("mass = 1.0", "mass = one"))
    assert "TOML syntax error" in msg
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_build_time_errors_name_the_key():
    cfg = parse_config(BASE.replace("n = [1]", "n = [1, 0]"))
    with pytest.raises(ConfigError, match=r"initial\.n: expected 1 values \(one per lattice axis\)"):
        cfg.initial_fields(cfg.build_model())
    cfg = parse_config(BASE.replace("mass = 1.0", 'mass = 1.0\nnetwork = "3.14"').replace("steps = 100", "steps = 100\n"
                                                                                           'scheme = "yoshida4"'))
    with pytest.raises(ConfigError, match=r'time\.scheme: network "3\.14"'):
        cfg.build_model()
    packet = BASE.replace('kind = "plane_wave"\nn = [1]', 'kind = "gaussian_packet"\nwidth = 0.1')
    cfg = parse_config(packet)
    with pytest.raises(ConfigError, match=r"initial\.width: expected at least the lattice spacing"):
        cfg.initial_fields(cfg.build_model())


# ----------------------------------------------------------------------------------------------------------
# a theory registered from outside plugs into the generic validation
# ----------------------------------------------------------------------------------------------------------
def test_a_registered_theory_is_validated_by_its_own_specs(monkeypatch):
    def make(model, params, seed):
        return np.zeros((2, 4)), np.zeros((2, 4))

    spec = TheorySpec(
        name="toy",
        doc="a toy",
        params={"coupling": Param("float", 0.5, "a coupling", check=positive),
                "flavours": Param("list[str]", ["u"], "names")},
        build=lambda lattice, params, dt, scheme: ("model", params, dt, scheme),
        initial={"flat": InitialSpec({"level": Param("int", 3, "a level")}, make)},
        schemes=("leapfrog",),
    )
    monkeypatch.setitem(THEORIES, "toy", spec)
    toy = '[theory]\nname = "toy"\n[lattice]\nshape = [4]\n[time]\ndt = 0.1\nsteps = 5\n[initial]\nkind = "flat"\n'
    cfg = parse_config(toy)
    assert cfg.theory.params == {"coupling": 0.5, "flavours": ["u"]}
    assert cfg.initial.params == {"level": 3}
    assert cfg.build_model(0.2) == ("model", {"coupling": 0.5, "flavours": ["u"]}, 0.2, "leapfrog")
    assert "theory.coupling: expected a positive number, got -1" in error_of(
        toy.replace('name = "toy"', 'name = "toy"\ncoupling = -1'))
    assert 'theory.flavours: expected a list of strings' in error_of(
        toy.replace('name = "toy"', 'name = "toy"\nflavours = [1]'))
    assert 'initial.levl: unknown key; did you mean "level"?' in error_of(toy + "levl = 2\n")
    assert "time.scheme: expected one of \"leapfrog\" for theory 'toy'" in error_of(
        toy.replace("steps = 5", 'steps = 5\nscheme = "yoshida4"'))


# ----------------------------------------------------------------------------------------------------------
# Klein-Gordon initial conditions: positive-frequency solutions of the lattice equations
# ----------------------------------------------------------------------------------------------------------
def _cfg(initial: str, shape: str = "[32, 16]", spacing: float = 0.5, mass: float = 0.7) -> object:
    return parse_config(
        f'[theory]\nname = "klein-gordon"\nmass = {mass}\n[lattice]\nshape = {shape}\nspacing = {spacing}\n'
        f"[time]\ndt = 0.1\nsteps = 10\n[initial]\n{initial}\n"
    )


def test_plane_wave_is_the_exact_travelling_wave():
    cfg = _cfg('kind = "plane_wave"\nn = [3, -2]\namplitude = 0.8\nphase = 0.4')
    model = cfg.build_model()
    phi0, pi0 = cfg.initial_fields(model)
    lat = cfg.make_lattice()
    theory = KleinGordon(m=0.7, lattice=lat)
    k = [2 * np.pi * 3 / (32 * 0.5), 2 * np.pi * -2 / (16 * 0.5)]
    omega = float(theory.dispersion([np.array(k[0]), np.array(k[1])]))
    x, y = lat.coordinates()
    for t in (0.0, 1.3, 7.9):
        phi_t, _ = theory.exact(phi0, pi0, t)  # independent spectral propagation
        expect = 0.8 * np.cos(k[0] * x + k[1] * y - omega * t + 0.4)
        assert np.abs(phi_t[0] - expect).max() < 1e3 * EPS


def test_gaussian_packet_moves_with_the_group_velocity():
    cfg = _cfg('kind = "gaussian_packet"\ncenter = [8.0]\nwidth = 1.5\nmomentum = [1.2]', shape="[256]",
               spacing=0.125, mass=1.0)
    model = cfg.build_model()
    phi0, pi0 = cfg.initial_fields(model)
    lat = cfg.make_lattice()
    x = lat.coordinates()[0]
    assert abs(float(np.sum(x * phi0[0] ** 2) / np.sum(phi0[0] ** 2)) - 8.0) < 1e-6
    t = 6.0
    phi_t, pi_t = KleinGordon(m=1.0, lattice=lat).exact(phi0, pi0, t, continuum=True)
    dens = phi_t[0] ** 2 + pi_t[0] ** 2
    centroid = float(np.sum(x * dens) / np.sum(dens))
    v_group = 1.2 / np.sqrt(1.0 + 1.2**2)  # continuum group velocity; lattice corrections O((k a)^2) ~ 1%
    assert abs(centroid - (8.0 + v_group * t)) < 0.05 * v_group * t


def test_random_spectrum_rms_band_limit_and_seed():
    text = 'kind = "random_spectrum"\nseed = 3\namplitude = 0.5\ncutoff = 2.0\nslope = -1.0'
    cfg = _cfg(text)
    model = cfg.build_model()
    phi, pi = cfg.initial_fields(model)
    assert abs(np.sqrt(np.mean(phi**2)) - 0.5) < 1e3 * EPS
    kabs = np.sqrt(sum(k**2 for k in cfg.make_lattice().momenta()))
    for f in (phi, pi):
        spec = np.abs(np.fft.fftn(f[0]))
        assert spec[kabs > 2.0].max() < 1e3 * EPS * spec.max()
    phi2, _ = cfg.initial_fields(model)
    assert np.array_equal(phi, phi2)
    phi3, _ = _cfg(text.replace("seed = 3", "seed = 4")).initial_fields(model)
    assert not np.allclose(phi, phi3)
    with pytest.raises(ConfigError, match=r"initial\.cutoff: no lattice mode"):
        _cfg(text.replace("cutoff = 2.0", "cutoff = 0.01")).initial_fields(model)


def test_every_problem_of_a_config_is_reported_at_once():
    """One line per problem, across tables, each naming its key (pydantic collects them per table)."""
    text = (BASE.replace("mass = 1.0", 'mass = -1.0\nsign = "wrong"').replace("dt = 0.1", 'dt = "0.1"')
            .replace("n = [1]", "n = [1]\namplitude = nan\ncolour = 3"))
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="test.toml")
    lines = str(info.value).splitlines()
    assert all(line.startswith("test.toml: ") for line in lines)
    for key in ("theory.mass: expected a non-negative number", 'theory.sign: expected one of "corrected", "printed"',
                "time.dt: expected a number, got \"0.1\" (a string); write the number without quotes",
                "initial.amplitude: expected a finite number", "initial.colour: unknown key"):
        assert sum(key in line for line in lines) == 1, (key, lines)
    assert len(lines) == 5


def test_theories_declare_typed_frozen_parameters():
    """Each runnable theory declares a typed, frozen pydantic class; the config validates the [theory] table
    against it and the theory's build receives the instance."""
    import pydantic

    from nnfield.theories.params import Params
    from nnfield.theories.registry import THEORIES, get_theory

    get_theory("klein-gordon")  # loads every registration
    for name, spec in THEORIES.items():
        assert isinstance(spec.params, type) and issubclass(spec.params, Params), name
        assert spec.params.model_config["frozen"] and spec.params.model_config["extra"] == "forbid"
    cfg = parse_config(BASE)
    typed = cfg.theory.typed
    assert type(typed).__name__ == "KleinGordonParams" and typed.mass == 1.0 and typed.network == "3.8"
    with pytest.raises(pydantic.ValidationError):
        typed.mass = 2.0  # frozen
    phi4 = parse_config('[theory]\nname = "phi4"\nlambda = 0.5\n[lattice]\nshape = [16]\n[time]\ndt = 0.1\n'
                        'steps = 2\n[initial]\nkind = "gaussian_packet"\n')
    assert phi4.theory.typed.lam == 0.5 and phi4.theory.params["lambda"] == 0.5  # the TOML key is the alias


def test_integer_choices_are_reported_as_choices():
    text = ('[theory]\nname = "dirac"\ndimension = 5\n[lattice]\nshape = [16]\n[time]\ndt = 0.1\nsteps = 2\n'
            '[initial]\nkind = "plane_wave"\n')
    assert "theory.dimension: expected one of 1, 2, 3, got 5" in error_of(text)


def test_each_theory_is_registered_by_the_module_load_imports():
    """``theories.load(name)`` imports one module; it must be the one that registers ``name`` (and no theory may be
    missing from the map, or a run of it would import every theory: still correct, only slower)."""
    import subprocess
    import sys

    code = ("from nnfield.theories import _SPEC_OF, load\n"
            "from nnfield.theories.registry import THEORIES\n"
            "for name in _SPEC_OF:\n"
            "    load(name); assert name in THEORIES, name\n"
            "from nnfield.theories import load_all\n"
            "load_all(); assert set(THEORIES) == set(_SPEC_OF), set(THEORIES) ^ set(_SPEC_OF)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
