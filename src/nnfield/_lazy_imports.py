"""The ``nnfield`` program's lazy packages: equinox and ``jax.extend`` without the parts a run does not use.

Two package ``__init__`` files import far more than nnfield uses, and do nothing else (they import their modules and
re-export names):

- ``import equinox`` imports all of equinox: ``equinox.nn`` (layers: attention, convolutions, pooling, recurrent
  cells), ``equinox.internal`` (loops, non-inlined calls) and ``equinox.debug`` (with JAX's ``checkify`` and Pallas).
  nnfield uses eight names, all defined in three of the package's modules (:data:`EQUINOX`). On this project's
  2-core machine the whole package took 0.13-0.19 s to import, the eight names 0.03 s.
- ``import jax.extend.core`` (nnfield's primitives: ``Primitive``, ``Literal``; ``jax.extend.mlir`` for their
  lowerings) first runs ``jax/extend/__init__.py``, which imports every ``jax.extend`` submodule, Pallas's core
  among them: 15-17 ms, for submodules nnfield never uses.

The floor they are measured against (start Python, import JAX, one trivial compile) is 0.55-0.85 s here
(``docs/performance.md``, "Overhead of small runs", session 40).

:func:`install`, called by the ``nnfield`` program before anything imports either (:func:`nnfield._entry.main` for
equinox; :func:`nnfield._entry.lazy_jax_extend` for ``jax.extend``, just before ``run`` and ``demo`` import JAX
anyway: making it lazy imports JAX, which ``nnfield --help`` need not wait for), puts a module object for each
package into ``sys.modules`` whose ``__init__`` has not run yet
(:func:`lazy_package`). Its module-level ``__getattr__`` (PEP 562) answers the names of :data:`EQUINOX` from the
modules that define them: the very objects ``equinox/__init__.py`` re-exports (``tests/test_lazy_imports_s40.py``
checks each is identical). Any other name runs the package's real ``__init__`` in that same module object, once,
after which the module is the package as a plain import leaves it. Submodules (``import equinox.nn``,
``from jax.extend.core import Primitive``) import as usual through the package's ``__path__``. So a run imports what
it uses, and code that asks for anything else (another library built on equinox, a user's hook,
``equinox.__version__``, ``jax.extend.pallas``) gets the whole package at that moment.

nnfield used as a library (``import nnfield``) and :func:`nnfield.cli.main` called from Python never call
:func:`install`: they import both as usual. Where a package is already imported or cannot be found nothing changes;
where a name of :data:`EQUINOX` is not defined where expected (another layout of the package), the whole ``__init__``
runs at that name. The fallback is always the ordinary import.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

#: the names of ``equinox`` nnfield uses, and the module of the package that defines each
EQUINOX: dict[str, str] = {
    "Module": "equinox._module",
    "field": "equinox._module",
    "AbstractVar": "equinox._module",
    "tree_at": "equinox._tree",
    "partition": "equinox._filters",
    "combine": "equinox._filters",
    "filter": "equinox._filters",
    "is_array": "equinox._filters",
}


#: the ``__getattr__`` each lazy package answers with, by package name (:func:`loaded_whole`)
_GETATTRS: dict[str, Any] = {}


#: the packages :func:`install` makes lazy, with the names each answers without its ``__init__``
PACKAGES: dict[str, dict[str, str]] = {"equinox": EQUINOX, "jax.extend": {}}


def install(*names: str) -> dict[str, bool]:
    """Make the packages ``names`` (default: all of :data:`PACKAGES`) import lazily in this process (see the module
    docstring); for each, whether it did. ``"jax.extend"`` imports JAX first (not its backend)."""
    return {name: lazy_package(name, PACKAGES[name]) for name in names or PACKAGES}


def lazy_package(name: str, names: dict[str, str]) -> bool:
    """Put package ``name`` into ``sys.modules`` without running its ``__init__`` yet.

    The module answers the attributes in ``names`` (attribute -> the module of the package that defines it) by
    importing that module only; any other attribute runs the package's ``__init__`` in the module, once (other
    threads asking meanwhile wait for it, as they would for an import in progress; the loading thread's own
    lookups during it see a partly initialized module, as during an import). If the ``__init__`` raises, the
    package leaves ``sys.modules`` as after a failed import, and the error propagates.

    A subpackage (``"jax.extend"``) is also set as its parent's attribute, as an import does (the parent is
    imported first).

    Returns False (and changes nothing) where the package is already imported, cannot be found, or is not a
    package."""
    if name in sys.modules:
        return False
    parent, _, child = name.rpartition(".")
    spec = importlib.util.find_spec(name)  # imports the parent package, if any
    if name in sys.modules:  # the parent's import imported it
        return False
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader
    lock = threading.RLock()
    loading: list[int] = []  # the thread running the __init__, while it runs

    def load_whole(attr: str) -> Any:
        with lock:  # another thread's load in progress: wait for it, as for an import
            if module.__dict__.get("__getattr__") is getattr_:
                if loading:  # this thread's own lookup from inside the __init__ (``from . import sub``)
                    raise AttributeError(f"partially initialized module {name!r} has no attribute {attr!r}")
                loading.append(threading.get_ident())
                try:
                    loader.exec_module(module)
                except BaseException:
                    if sys.modules.get(name) is module:
                        del sys.modules[name]
                    if parent and getattr(sys.modules.get(parent), child, None) is module:
                        delattr(sys.modules[parent], child)
                    raise
                finally:
                    loading.clear()
                if module.__dict__.get("__getattr__") is getattr_:
                    del module.__dict__["__getattr__"]
        try:
            return module.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    def getattr_(attr: str) -> Any:
        where = names.get(attr)
        if where is not None:
            try:
                value = getattr(importlib.import_module(where), attr)
            except (ImportError, AttributeError):
                pass  # not where expected: the whole package below
            else:
                setattr(module, attr, value)
                return value
        return load_whole(attr)

    module.__getattr__ = getattr_  # type: ignore[method-assign]
    _GETATTRS[name] = getattr_
    sys.modules[name] = module
    if parent:
        setattr(sys.modules[parent], child, module)
    return True


def loaded_whole(name: str = "equinox") -> bool:
    """Whether package ``name`` is imported with its ``__init__`` run: True after an ordinary import, False where
    :func:`lazy_package` made it lazy and nothing has asked for more than its names yet (or it is not imported)."""
    module: types.ModuleType | None = sys.modules.get(name)
    if module is None:
        return False
    return name not in _GETATTRS or module.__dict__.get("__getattr__") is not _GETATTRS[name]
