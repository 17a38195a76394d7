"""Deprecated aliases for one release: a module-level ``__getattr__`` that warns and names the new name."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any


def deprecated_names(module: str, aliases: Mapping[str, str], namespace: Mapping[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving each old name in ``aliases`` to its new name in ``namespace``.

    Every access issues a :class:`DeprecationWarning` naming the new name; other names raise ``AttributeError``.
    """

    def __getattr__(name: str) -> Any:
        new = aliases.get(name)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(f"{module}.{name} is deprecated; use {module}.{new} (same object)", DeprecationWarning,
                      stacklevel=2)
        return namespace[new]

    return __getattr__


def deprecated_method(cls_name: str, old: str, new: str) -> Callable[..., Any]:
    """A method ``old`` that warns and calls the method ``new`` with the same arguments."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{cls_name}.{old} is deprecated; use {cls_name}.{new}", DeprecationWarning, stacklevel=2)
        return getattr(self, new)(*args, **kwargs)

    method.__name__ = old
    method.__doc__ = f"Deprecated alias of :meth:`{new}`."
    return method


def renamed_arguments(**renames: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator: each keyword ``old=`` of ``renames`` (``old="new"``) is passed on as ``new=`` with a
    :class:`DeprecationWarning` (for one release); giving both is a ``TypeError``. Positional calls are unchanged."""
    import functools

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{f.__name__}() got both {old}= (deprecated) and {new}=; give {new}= only")
                    warnings.warn(f"{f.__module__}.{f.__name__}({old}=...) is deprecated; use {new}=",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return f(*args, **kwargs)

        return wrapper

    return decorate


def positional_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator for a builder whose options are keyword-only (after ``*``): options still given by position,
    in the order of the signature, are accepted for one release with a :class:`DeprecationWarning` naming them.

    Every builder takes its lattice and its physical parameters by position and everything with a default by
    keyword; before 0.2.0 the options' positional order differed between families (``dirac.paper_network(...,
    X, scheme, bias)``, ``dirac.stable_network(..., X, bias, wilson_r)``, ``scalar_qed.model(lattice, dt, charge,
    ...)`` against ``klein_gordon.model(lattice, m, dt, ...)``), so a positional call could silently pass a value
    to another parameter than the one meant. Too many positional arguments, or an option given both ways, is the
    ``TypeError`` Python raises.
    """
    import functools
    import inspect

    params = list(inspect.signature(f).parameters.values())
    n_pos = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
    options = [p.name for p in params if p.kind == p.KEYWORD_ONLY]

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if len(args) > n_pos:
            extra = args[n_pos:]
            if len(extra) > len(options):
                raise TypeError(f"{f.__name__}() takes at most {n_pos} positional arguments and {len(options)} "
                                f"options by keyword ({len(args)} positional given)")
            names = options[: len(extra)]
            both = [n for n in names if n in kwargs]
            if both:
                raise TypeError(f"{f.__name__}() got {both[0]}= both by position and by keyword")
            warnings.warn(f"{f.__module__}.{f.__name__}: passing {', '.join(names)} by position is deprecated; "
                          f"pass {', '.join(f'{n}=' for n in names)} by keyword", DeprecationWarning, stacklevel=2)
            kwargs.update(zip(names, extra, strict=True))
            args = args[:n_pos]
        return f(*args, **kwargs)

    return wrapper
