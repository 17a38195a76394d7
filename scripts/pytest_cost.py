"""A pytest plugin that records where each test's CPU goes: JAX tracing, lowering, XLA compiling, child processes.

Use it to find what makes the quick suite slow (``docs/testing.md``)::

    NNFIELD_COST_DIR=/tmp/cost PYTHONPATH=scripts python -m pytest -q -p pytest_cost
    python scripts/pytest_cost.py /tmp/cost            # the tables: tests and programs by cost

Each worker writes one JSON file to ``$NNFIELD_COST_DIR`` (one record per test: wall, CPU of the process and of its
finished children from ``getrusage``, and the seconds and counts of JAX's compile events from
``jax.monitoring``: ``jaxpr_trace``, ``jaxpr_to_mlir_module`` and ``backend_compile``, the last one a persistent-cache
hit or an XLA compile). Programs whose name is a primitive's (``add``, ``mul``, ...) are ops dispatched eagerly.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
}

_current: dict | None = None
_records: list[dict] = []
_programs: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # name -> [compiles, compile s, lower s]


def _listener(event: str, duration: float, **kwargs) -> None:
    kind = _EVENTS.get(event)
    if kind is None:
        return
    rec = _current if _current is not None else _setup
    rec[kind] = rec.get(kind, 0.0) + duration
    rec[f"n_{kind}"] = rec.get(f"n_{kind}", 0) + 1
    name = str(kwargs.get("fun_name", "?"))
    if kind == "compile":
        _programs[name][0] += 1
        _programs[name][1] += duration
    elif kind == "lower":
        _programs[name][2] += duration


_setup: dict = {"test": "<outside tests>"}


def _cpu() -> tuple[float, float]:
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


def pytest_configure(config) -> None:
    import jax.monitoring

    jax.monitoring.register_event_duration_secs_listener(_listener)


def pytest_runtest_protocol(item, nextitem):
    global _current
    _current = {"test": item.nodeid}
    t0, (c0, k0) = time.perf_counter(), _cpu()
    _current["_start"] = (t0, c0, k0)
    return None


def pytest_runtest_logfinish(nodeid, location):
    global _current
    if _current is None:
        return
    t0, c0, k0 = _current.pop("_start")
    c1, k1 = _cpu()
    _current.update(wall=time.perf_counter() - t0, cpu=c1 - c0, children=k1 - k0)
    _records.append(_current)
    _current = None


def pytest_sessionfinish(session, exitstatus) -> None:
    out = os.environ.get("NNFIELD_COST_DIR")
    if not out:
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    cpu, children = _cpu()
    Path(out, f"{worker}.json").write_text(
        json.dumps(
            {"tests": _records, "outside": _setup, "programs": dict(_programs), "cpu": cpu, "children": children}
        )
    )


def _report(directory: str, top: int = 40) -> None:
    tests, programs, total = [], defaultdict(lambda: [0, 0.0, 0.0]), [0.0, 0.0]
    for f in sorted(Path(directory).glob("*.json")):
        d = json.loads(f.read_text())
        tests += d["tests"]
        total[0] += d["cpu"]
        total[1] += d["children"]
        for name, (n, c, lo) in d["programs"].items():
            p = programs[name]
            p[0] += n
            p[1] += c
            p[2] += lo
    keys = ("cpu", "children", "trace", "lower", "compile")
    sums = {k: sum(t.get(k, 0.0) for t in tests) for k in keys}
    print(
        f"{len(tests)} tests; CPU of the workers {total[0]:.1f} s, of their children {total[1]:.1f} s; in tests: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in sums.items())
    )
    print("\n| test | cpu+children [s] | children [s] | trace [s] | lower [s] | compile [s] | compiles |")
    print("|---|---|---|---|---|---|---|")
    for t in sorted(tests, key=lambda t: -(t.get("cpu", 0) + t.get("children", 0)))[:top]:
        print(
            f"| {t['test']} | {t.get('cpu', 0) + t.get('children', 0):.2f} | {t.get('children', 0):.2f} | "
            f"{t.get('trace', 0):.2f} | {t.get('lower', 0):.2f} | {t.get('compile', 0):.2f} | "
            f"{t.get('n_compile', 0)} |"
        )
    print("\n| program | compiles | compile [s] | lower [s] |")
    print("|---|---|---|---|")
    for name, (n, c, lo) in sorted(programs.items(), key=lambda kv: -(kv[1][1] + kv[1][2]))[:top]:
        print(f"| {name} | {n} | {c:.2f} | {lo:.2f} |")


if __name__ == "__main__":
    _report(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40)
