"""The ``nnfield`` program imports equinox's eight names and ``jax.extend``'s submodules without the rest (session 40).

``nnfield._lazy_imports.install`` (called by ``nnfield._entry.main`` only) puts ``equinox`` and ``jax.extend`` into
``sys.modules`` without running their ``__init__``: the names nnfield uses come from the modules that define them,
anything else runs the whole ``__init__`` once. These tests check that the names are the package's own objects, that
every ``eqx.X`` in nnfield's source is one of them (or a run would import the whole package again, silently), that
the program's run imports only them, and the mechanism's fallbacks on small packages written here: any other name,
a name not where expected, an ``__init__`` that fails, and threads asking at once.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import equinox
import pytest

from nnfield import _lazy_imports
from nnfield._lazy_imports import EQUINOX, lazy_package, loaded_whole

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(EQUINOX))
def test_each_name_is_the_object_the_package_exports(name: str) -> None:
    assert getattr(importlib.import_module(EQUINOX[name]), name) is getattr(equinox, name)


def test_every_equinox_name_nnfield_uses_is_served_lazily() -> None:
    used = set()
    for path in (ROOT / "src" / "nnfield").rglob("*.py"):
        used |= set(re.findall(r"\beqx\.([A-Za-z_]\w*)", path.read_text()))
    assert used and used <= set(EQUINOX), sorted(used - set(EQUINOX))


def test_install_leaves_an_imported_package_alone() -> None:
    assert "equinox" in sys.modules and "jax.extend" in sys.modules  # this process imported nnfield
    assert _lazy_imports.install() == {"equinox": False, "jax.extend": False}
    assert sys.modules["equinox"] is equinox and loaded_whole() and loaded_whole("jax.extend")


_PROBE = textwrap.dedent(
    """
    import importlib.metadata, json, os, sys
    import nnfield._entry as entry
    import nnfield._lazy_imports as lazy

    def report(code):
        names = sorted(m for m in sys.modules if m.startswith(("equinox", "jax.extend", "jax._src.pallas")))
        seen = {"code": code, "whole": lazy.loaded_whole(), "extend": lazy.loaded_whole("jax.extend"), "modules": names}
        sys.stderr.write("PROBE " + json.dumps(seen) + "\\n")
        sys.stderr.flush()
        real_exit(code)

    real_exit, os._exit = os._exit, report
    sys.argv = ["nnfield", *sys.argv[1:]]
    entry.main()
    """
)


def test_the_program_imports_only_the_names_it_uses(tmp_path: Path) -> None:
    """A dry run of an example (config, model, initial data, stability gate) leaves equinox's ``__init__`` unrun:
    no ``equinox.nn``, ``equinox.internal`` or ``equinox.debug``."""
    proc = subprocess.run([sys.executable, "-c", _PROBE, "run", "examples/kg_1d_packet.toml", "--dry-run",
                           "--out", str(tmp_path / "o"), "-q"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")]
    assert lines, proc.stderr[-2000:]
    seen = json.loads(lines[-1][len("PROBE "):])
    assert seen["code"] == 0, proc.stderr[-2000:]
    assert not seen["whole"] and not seen["extend"]
    assert {"equinox._module", "jax.extend.core", "jax.extend.mlir"} <= set(seen["modules"])
    assert not {"equinox.nn", "equinox.internal", "equinox.debug", "jax.extend.pallas", "jax._src.pallas.core"} \
        & set(seen["modules"])


@pytest.mark.slow
@pytest.mark.parametrize("example", ["kg_1d_packet", "dirac_1p1", "gauge_electric_1p1", "maxwell_dirac_packets_1d"])
def test_a_whole_run_imports_only_the_names_it_uses(tmp_path: Path, example: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _PROBE, "run", f"examples/{example}.toml",
                           "--out", str(tmp_path / "o"), "-q"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")]
    assert lines, proc.stderr[-2000:]
    seen = json.loads(lines[-1][len("PROBE "):])
    assert seen["code"] == 0, proc.stderr[-2000:]
    assert not seen["whole"] and "equinox.nn" not in seen["modules"]
    assert not seen["extend"] and "jax.extend.pallas" not in seen["modules"]


def test_any_other_name_imports_the_whole_package_as_usual() -> None:
    """In a fresh interpreter (one for both packages): equinox's lazy names first, then ``equinox.filter_jit``;
    afterwards the module is the package as ``import equinox`` leaves it, with the names served lazily still the
    same objects. ``jax.extend``'s submodules import without its ``__init__``, which ``jax.extend.pallas`` runs;
    ``jax.extend`` is JAX's attribute, as after an import."""
    code = textwrap.dedent(
        """
        import importlib.metadata, json, sys
        import nnfield._lazy_imports as lazy
        assert lazy.install() == {"equinox": True, "jax.extend": True}
        import equinox as eqx
        early = {n: getattr(eqx, n) for n in lazy.EQUINOX}
        before = (lazy.loaded_whole(), "equinox.nn" in sys.modules)
        class M(eqx.Module):
            x: float = eqx.field(default=1.0)
        m = eqx.tree_at(lambda m: m.x, M(), 2.0)
        jit = eqx.filter_jit
        after = (lazy.loaded_whole(), "equinox.nn" in sys.modules, "__getattr__" in vars(eqx))
        same = all(getattr(eqx, n) is v for n, v in early.items())
        import equinox.nn
        import jax
        from jax.extend.core import Primitive
        import jax.extend.mlir
        x_before = (lazy.loaded_whole("jax.extend"), "jax.extend.pallas" in sys.modules)
        x_attr = jax.extend is sys.modules["jax.extend"] and jax.extend.core.Primitive is Primitive
        pallas = jax.extend.pallas.__name__
        x_after = (lazy.loaded_whole("jax.extend"), sorted(set(vars(jax.extend)) & {"backend", "random", "xla"}))
        print(json.dumps({"before": before, "after": after, "same": same, "x": m.x,
                          "version": eqx.__version__ == importlib.metadata.version("equinox"),
                          "linear": equinox.nn.Linear.__module__, "module": sys.modules["equinox"] is eqx,
                          "x_before": x_before, "x_attr": x_attr, "pallas": pallas, "x_after": x_after}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         check=True).stdout
    seen = json.loads(out.splitlines()[-1])
    assert seen["before"] == [False, False]
    assert seen["after"] == [True, True, False]
    assert seen["same"] and seen["x"] == 2.0 and seen["version"] and seen["module"]
    assert seen["linear"] == "equinox.nn._linear"
    assert seen["x_before"] == [False, False] and seen["x_attr"]
    assert seen["pallas"] == "jax.extend.pallas"
    assert seen["x_after"] == [True, ["backend", "random", "xla"]]


# ----------------------------------------------------------------------------------------------------------------
# the mechanism, on packages written here (each test its own name, removed from sys.modules afterwards)
# ----------------------------------------------------------------------------------------------------------------
@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(name: str, init: str, **modules: str) -> str:
        pkg = tmp_path / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text(textwrap.dedent(init))
        for mod, text in modules.items():
            (pkg / f"{mod}.py").write_text(textwrap.dedent(text))
        made.append(name)
        importlib.invalidate_caches()
        return name

    yield make
    for name in made:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


_INIT = """
    import builtins
    builtins.lazy_test_runs = getattr(builtins, "lazy_test_runs", 0) + 1
    from . import sub as sub
    from ._core import thing as thing, other as other
    extra = "extra"
"""


def test_named_attributes_come_from_their_module_only(make_package) -> None:
    name = make_package("lazy_pkg_a", _INIT, _core="thing = object()\nother = 2\n", sub="value = 3\n")
    assert lazy_package(name, {"thing": f"{name}._core"})
    pkg = sys.modules[name]
    thing = pkg.thing
    assert thing is sys.modules[f"{name}._core"].thing
    assert not loaded_whole(name) and f"{name}.sub" not in sys.modules
    import builtins

    runs = getattr(builtins, "lazy_test_runs", 0)
    assert pkg.extra == "extra"  # not named: the __init__, once
    assert getattr(builtins, "lazy_test_runs", 0) == runs + 1 and loaded_whole(name)
    assert pkg.thing is thing and pkg.other == 2 and pkg.sub.value == 3
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        pkg.missing  # noqa: B018
    assert getattr(builtins, "lazy_test_runs", 0) == runs + 1


def test_a_name_not_where_expected_imports_the_whole_package(make_package) -> None:
    name = make_package("lazy_pkg_b", _INIT, _core="thing = 1\nother = 2\n", sub="value = 3\n")
    assert lazy_package(name, {"thing": f"{name}._gone", "other": f"{name}.sub"})
    pkg = sys.modules[name]
    assert pkg.thing == 1 and loaded_whole(name)
    assert pkg.other == 2  # the package's own, not sub's (which has none)


def test_a_submodule_imports_before_the_package_is_whole(make_package) -> None:
    name = make_package("lazy_pkg_c", _INIT, _core="thing = 1\nother = 2\n", sub="value = 3\n")
    assert lazy_package(name, {})
    sub = importlib.import_module(f"{name}.sub")
    assert sub.value == 3 and not loaded_whole(name)
    assert sys.modules[name].extra == "extra" and sys.modules[name].sub is sub


def test_an_init_that_fails_leaves_the_package_unimported(make_package) -> None:
    name = make_package("lazy_pkg_d", "raise RuntimeError('broken package')\n", _core="thing = 1\n")
    assert lazy_package(name, {"thing": f"{name}._core"})
    assert sys.modules[name].thing == 1
    with pytest.raises(RuntimeError, match="broken package"):
        sys.modules[name].other  # noqa: B018
    assert name not in sys.modules  # as after a failed import: the next import tries again (and fails again)
    with pytest.raises(RuntimeError, match="broken package"):
        importlib.import_module(name)


def test_threads_asking_at_once_run_the_init_once(make_package) -> None:
    init = "import time, builtins\nbuiltins.lazy_threads = getattr(builtins, 'lazy_threads', 0) + 1\n" \
           "time.sleep(0.2)\nvalue = 7\n"
    name = make_package("lazy_pkg_e", init)
    assert lazy_package(name, {})
    pkg, got, barrier = sys.modules[name], [], threading.Barrier(4)

    def ask() -> None:
        barrier.wait()
        got.append(pkg.value)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    import builtins

    assert got == [7] * 4 and builtins.lazy_threads == 1


def test_nothing_changes_for_a_missing_package_or_a_plain_module(make_package, tmp_path: Path) -> None:
    assert lazy_package("no_such_package_s40", {}) is False
    (tmp_path / "lazy_plain_module.py").write_text("x = 1\n")
    importlib.invalidate_caches()
    try:
        assert lazy_package("lazy_plain_module", {}) is False
        assert "lazy_plain_module" not in sys.modules
    finally:
        sys.modules.pop("lazy_plain_module", None)


def test_help_imports_no_jax() -> None:
    """Making ``jax.extend`` lazy imports JAX: the program does it just before a run's imports, never for
    ``nnfield --help``."""
    code = textwrap.dedent(
        """
        import os, sys
        real_exit = os._exit
        def report(code):
            sys.stderr.write("PROBE jax=%s extend=%s\\n" % ("jax" in sys.modules, "jax.extend" in sys.modules))
            sys.stderr.flush()
            real_exit(code)
        os._exit = report
        sys.argv = ["nnfield", "--help"]
        import nnfield._entry as entry
        entry.main()
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0 and "usage" in proc.stdout
    assert "PROBE jax=False extend=False" in proc.stderr, proc.stderr[-2000:]


def test_a_lazy_subpackage_is_its_parents_attribute_until_its_init_fails(make_package, tmp_path: Path) -> None:
    name = make_package("lazy_pkg_f", "")
    (tmp_path / name / "sub").mkdir()
    (tmp_path / name / "sub" / "__init__.py").write_text("raise RuntimeError('broken subpackage')\n")
    (tmp_path / name / "sub" / "part.py").write_text("value = 5\n")
    importlib.invalidate_caches()
    assert lazy_package(f"{name}.sub", {})
    parent, sub = sys.modules[name], sys.modules[f"{name}.sub"]
    assert parent.sub is sub and importlib.import_module(f"{name}.sub.part").value == 5
    with pytest.raises(RuntimeError, match="broken subpackage"):
        sub.anything  # noqa: B018
    assert f"{name}.sub" not in sys.modules and not hasattr(parent, "sub")  # as after a failed import
