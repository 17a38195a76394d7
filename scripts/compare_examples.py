#!/usr/bin/env python3
"""Bit-identical refactor evidence: run every shipped example with the sources of a git ref and with the
current working tree, and compare the two ``run.h5`` files dataset by dataset, bit for bit.

Usage (from the repository root, with the project's virtual environment)::

    python scripts/compare_examples.py                  # ref 33109d9 (pre-refactor) vs the working tree
    python scripts/compare_examples.py --ref HEAD       # sanity check: the committed tree vs the working tree
    python scripts/compare_examples.py --write          # also write docs/refactor-compare.md
    python scripts/compare_examples.py --only kg_1d_packet demo

Configs: ``examples/*.toml`` and the built-in demo config ``src/nnfield/data/demo.toml`` of the *current* tree;
the baseline runs each example as the ref shipped it (``git show REF:path``), so an example whose keys were
renamed since (phi4's ``wavevector`` -> ``momentum``) is compared with its own earlier spelling. The baseline runs with
``PYTHONPATH=<temporary git worktree of REF>/src`` (``git worktree add --detach``, removed afterwards); its
outputs are cached in ``--cache DIR/<commit hash>/<example>/`` (keyed also by the config text), so the baseline
is computed once per commit. The current tree's outputs go to a temporary directory (``--keep`` keeps it).

Comparison: every HDF5 dataset (same names, shapes, dtypes, identical bytes, hence identical values and NaN
positions; the max abs difference is reported when values differ) and every attribute except
:data:`IGNORED_ATTRS` (timings, wall clock and provenance that legitimately differ between two runs).
The run file's netCDF-4 labels (schema 4) are no difference: coordinate variables and dimensions new in the
current file are listed as added, the dimension-scale bookkeeping attributes are not compared, and an observable
renamed since (:data:`RENAMED`, Dirac's ``mean_<mu>`` -> ``position_<mu>``) is compared under its new name; a
record new since the ref (:data:`NEW_RECORDS`: ``/commit_tails``, session 48) is listed as added.
Runs use ``--allow-unstable``: the unit-step examples overflow on purpose (exit 1, data kept up to the first
non-finite sample) and are compared like the others, exit statuses included.
Exit status: 0 when every example is identical, 1 on any difference or failed run, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REF = "33109d9"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "nnfield-compare-cache"
DEMO_CONFIG = Path("src/nnfield/data/demo.toml")

#: root attributes of run.h5 that legitimately differ between two runs of the same config (not compared)
IGNORED_ATTRS = {
    "date": "wall-clock timestamp of the run",
    "git_revision": "git describe of the source tree (differs by construction)",
    "platform": "host platform string",
    "device": "JAX device list",
    "backend": "JAX backend name",
    "wall_seconds": "timing",
    "first_chunk_seconds": "timing (includes compilation)",
    "site_updates_per_second": "timing",
    "source": "path of the config file run (the baseline runs the ref's own copy of the example, in the cache)",
    "commit@attrs_sha256": "SHA-256 of the root attributes, which include the ones above (the run's date, timings)",
}


# ----------------------------------------------------------------------------------------------------------
# running
# ----------------------------------------------------------------------------------------------------------
def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def example_configs() -> list[tuple[str, Path]]:
    """``(name, path relative to the root)`` of every shipped example config, the demo last."""
    out = [(p.stem, p.relative_to(ROOT)) for p in sorted((ROOT / "examples").glob("*.toml"))]
    out.append(("demo", DEMO_CONFIG))
    return out


def run_config(src: Path, config: Path, out: Path, log: Path) -> tuple[int, float]:
    """``nnfield run CONFIG --out OUT --force --allow-unstable -q`` with ``PYTHONPATH=src``.

    Returns (exit status, seconds). The unit-step examples are unstable on purpose: they run until the fields
    overflow and exit 1 with the data kept, which is compared like any other output (with the exit status).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "nnfield.cli", "run", str(config), "--out", str(out), "--force", "--allow-unstable",
           "-q"]
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        rc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    return rc, time.perf_counter() - t0


def config_key(config: Path) -> str:
    return hashlib.sha256((ROOT / config).read_bytes()).hexdigest()[:16]


@dataclass
class Baseline:
    """Baseline outputs of one commit in the cache; builds the worktree lazily, only if a run is needed."""

    commit: str
    cache: Path
    _tree: Path | None = None
    _tmp: Path | None = None

    def dir_for(self, name: str) -> Path:
        return self.cache / self.commit / name

    def config_for(self, name: str, config: Path) -> Path:
        """The example as the ref shipped it (its own key names, e.g. before a key was renamed), written into
        the cache; the current config when the ref has no such file (a new example)."""
        shipped = subprocess.run(["git", "show", f"{self.commit}:{config.as_posix()}"], cwd=ROOT,
                                 capture_output=True, text=True)
        if shipped.returncode != 0:
            return config
        d = self.dir_for(name)
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.toml").write_text(shipped.stdout)
        return d / "config.toml"

    def cached(self, name: str, config: Path) -> int | None:
        """The cached run's exit status, or ``None`` when it must be (re)computed."""
        d = self.dir_for(name)
        marker = d / "COMPLETE"
        if not (marker.exists() and (d / "run.h5").exists()):
            return None
        key, _, rc = marker.read_text().partition("\n")
        return int(rc) if key == config_key(self.config_for(name, config)) and rc.strip() else None

    def src(self) -> Path:
        if self._tree is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="nnfield-ref-"))
            self._tree = self._tmp / "tree"
            git("worktree", "add", "--detach", str(self._tree), self.commit)
        return self._tree / "src"

    def run(self, name: str, config: Path) -> tuple[int, float]:
        d = self.dir_for(name)
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        config = self.config_for(name, config)
        rc, sec = run_config(self.src(), config, d / "out", d / "log.txt")
        if (d / "out" / "run.h5").exists():
            shutil.move(str(d / "out" / "run.h5"), str(d / "run.h5"))
            shutil.rmtree(d / "out")
            (d / "COMPLETE").write_text(f"{config_key(config)}\n{rc}")
        return rc, sec

    def close(self) -> None:
        if self._tree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", str(self._tree)], cwd=ROOT, check=False,
                           capture_output=True)
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False, capture_output=True)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self._tree = self._tmp = None


# ----------------------------------------------------------------------------------------------------------
# comparing
# ----------------------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    name: str
    datasets: int = 0
    differing: list[str] = field(default_factory=list)  # dataset paths (with the reason)
    max_abs_diff: float = 0.0
    attributes: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # attributes new in the current version (not a difference)
    config_renamed: bool = False  # the baseline ran the example as the ref shipped it (other key names)
    error: str = ""
    exit_codes: tuple[int, int] = (0, 0)  # of the baseline and the current run

    @property
    def identical(self) -> bool:
        return not (self.differing or self.attributes or self.error) and self.exit_codes[0] == self.exit_codes[1]

    def line(self) -> str:
        if self.error:
            return f"{self.name}: ERROR {self.error}"
        rc = "" if self.exit_codes == (0, 0) else f", both runs exit {self.exit_codes[0]}"
        notes = ""
        if self.added:
            notes += f"; new attributes: {', '.join(self.added)}"
        if self.config_renamed:
            notes += "; the baseline ran the example as shipped then (renamed keys)"
        if self.identical:
            return f"{self.name}: identical ({self.datasets} datasets bit for bit{rc}{notes})"
        parts = []
        if self.exit_codes[0] != self.exit_codes[1]:
            parts.append(f"exit status {self.exit_codes[0]} vs {self.exit_codes[1]}")
        if self.differing:
            parts.append(f"datasets {', '.join(self.differing)} (max abs diff {self.max_abs_diff:.3g})")
        if self.attributes:
            parts.append(f"attributes {', '.join(self.attributes)}")
        return f"{self.name}: DIFFERS: " + "; ".join(parts)


#: observables renamed since (old name -> new name; nnfield.labels.OBSERVABLE_ALIASES): compared under the new name
RENAMED = {f"observables/mean_{c}": f"observables/position_{c}" for c in "xyz"}
#: HDF5 dimension-scale bookkeeping (object references, differ by construction; the netCDF-4 labels of schema 4)
SCALE_ATTRS = {"CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST"}
#: datasets new in the run file since an older ref that record nothing of the run but about its other datasets:
#: ``commit_tails`` (session 48; the CRC-32 of the committed rows in each dataset's last chunk, made from the data
#: compared here): listed as added, not a difference
NEW_RECORDS = {"commit_tails"}


def _datasets(f: h5py.File) -> dict[str, h5py.Dataset]:
    out: dict[str, h5py.Dataset] = {}
    f.visititems(lambda name, obj: out.__setitem__(RENAMED.get(name, name), obj) if isinstance(obj, h5py.Dataset)
                 else None)
    out.pop("final", None)  # the final attributes (JSON): compared as attributes of "/"
    return out


def _is_scale(ds: h5py.Dataset) -> bool:
    return bool(h5py.h5ds.is_scale(ds.id))


def _root_attrs(f: h5py.File) -> dict[str, object]:
    """Root attributes merged with the final ones of ``/final`` (schema version 3; older files have none)."""
    import json

    attrs: dict[str, object] = dict(f.attrs)
    if "final" in f and f["final"].shape[0]:
        try:
            attrs.update(json.loads(f["final"][()].tobytes().decode()))
        except ValueError:
            pass
    return attrs


def _attrs_equal(x: object, y: object) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def _bitwise_equal(x: np.ndarray, y: np.ndarray) -> bool:
    if x.dtype.kind in "OUS":  # strings, objects: by value
        return bool(np.array_equal(x, y))
    return x.tobytes() == y.tobytes()  # identical bits: equal values, same NaN positions, same signed zeros


def _max_abs_diff(x: np.ndarray, y: np.ndarray) -> float:
    if x.shape != y.shape or x.dtype.kind not in "biufc":
        return float("nan")
    with np.errstate(invalid="ignore"):
        d = np.abs(x.astype(np.complex128 if x.dtype.kind == "c" else np.float64) - y)
    nan_mismatch = np.isnan(x) != np.isnan(y)
    if nan_mismatch.any():
        return float("inf")
    d = d[~np.isnan(d)]
    return float(d.max()) if d.size else 0.0


def compare_files(name: str, ref: Path, cur: Path, config_renamed: bool = False) -> Comparison:
    c = Comparison(name, config_renamed=config_renamed)
    with h5py.File(ref, "r") as fa, h5py.File(cur, "r") as fb:
        da, db = _datasets(fa), _datasets(fb)
        for path in sorted(set(da) - set(db)):
            c.differing.append(f"{path} (only in ref)")
        for path in sorted(set(db) - set(da)):
            if _is_scale(db[path]) or path in NEW_RECORDS:  # labels, or a record new since the ref: no difference
                c.added.append(path)
            else:
                c.differing.append(f"{path} (only in current)")
        for path in sorted(set(da) & set(db)):
            c.datasets += 1
            x, y = da[path][()], db[path][()]
            if x.shape != y.shape or x.dtype != y.dtype:
                c.differing.append(f"{path} ({x.dtype}{x.shape} vs {y.dtype}{y.shape})")
            elif not _bitwise_equal(np.asarray(x), np.asarray(y)):
                diff = _max_abs_diff(np.asarray(x), np.asarray(y))
                c.differing.append(path)
                c.max_abs_diff = max(c.max_abs_diff, diff) if np.isfinite(diff) else diff
        objects: dict[str, tuple[object, object]] = {"/": (_root_attrs(fa), _root_attrs(fb))}
        for path in set(da) & set(db):
            objects[path] = (dict(da[path].attrs), dict(db[path].attrs))
        fa.visititems(lambda p, o: objects.setdefault(p, (dict(o.attrs), dict(fb[p].attrs)))
                      if p in fb and isinstance(o, h5py.Group) else None)
        for path, (aa, ab) in sorted(objects.items()):
            assert isinstance(aa, dict) and isinstance(ab, dict)
            keys = (set(aa) | set(ab)) - set(IGNORED_ATTRS) - SCALE_ATTRS
            if config_renamed and path == "/":
                keys -= {"config"}  # the config texts differ by the renamed keys, by construction
            for key in sorted(keys):
                label = key if path == "/" else f"{path}@{key}"
                if label in IGNORED_ATTRS:
                    continue
                if key not in aa:
                    c.added.append(label)
                elif key not in ab:
                    c.attributes.append(f"{label} (missing in the current version)")
                elif not _attrs_equal(aa[key], ab[key]):
                    c.attributes.append(label)
    return c


# ----------------------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------------------
def markdown(results: list[Comparison], ref: str, commit: str, current: str, seconds: dict[str, float]) -> str:
    n_ok = sum(r.identical for r in results)
    lines = [
        "# Refactor evidence: the shipped examples before and after",
        "",
        f"Generated by `python scripts/compare_examples.py --ref {ref} --write`: every shipped example config "
        f"(`examples/*.toml` and the demo config `{DEMO_CONFIG}`) run with `nnfield run` twice, once with the "
        f"sources of `{ref}` (commit `{commit[:12]}`) and once with the current tree (`{current}`); every "
        f"HDF5 dataset of the two `run.h5` files compared bit for bit (names, shapes, dtypes, bytes).",
        "",
        f"**{n_ok}/{len(results)} examples identical.**",
        "",
        "| example | result | exit status (ref, current) | datasets compared | differing datasets | max abs diff |"
        " differing attributes | run time (current) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        verdict = "error" if r.error else ("identical" if r.identical else "DIFFERS")
        diff = "" if not r.differing else f"{r.max_abs_diff:.3g}"
        lines.append(
            f"| {r.name} | {verdict}{(': ' + r.error) if r.error else ''} | {r.exit_codes[0]}, {r.exit_codes[1]} | "
            f"{r.datasets} | "
            f"{', '.join(r.differing) or '-'} | {diff or '-'} | {', '.join(r.attributes) or '-'} | "
            f"{seconds.get(r.name, float('nan')):.1f} s |"
        )
    added = sorted({a for r in results for a in r.added})
    renamed = [r.name for r in results if r.config_renamed]
    if added:
        lines += ["", f"Attributes written only by the current version (new, not differences): "
                      f"{', '.join(f'`{a}`' for a in added)}."]
    if renamed:
        lines += ["", f"Run by the baseline as shipped then, with the key names of {ref} (keys renamed since; the "
                      f"`config` text is then not compared): {', '.join(renamed)}."]
    lines += ["", "Attributes not compared (they legitimately differ between two runs):", ""]
    lines += [f"- `{k}`: {v}" for k, v in IGNORED_ATTRS.items()]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ref", default=DEFAULT_REF, help=f"git ref of the baseline sources (default {DEFAULT_REF})")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"baseline cache (default {DEFAULT_CACHE})")
    ap.add_argument("--write", action="store_true", help="write the report to docs/refactor-compare.md")
    ap.add_argument("--report", type=Path, default=ROOT / "docs" / "refactor-compare.md", help=argparse.SUPPRESS)
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these examples (file stems; 'demo')")
    ap.add_argument("--keep", action="store_true", help="keep the current tree's outputs (path printed)")
    args = ap.parse_args(argv)

    try:
        commit = git("rev-parse", "--verify", f"{args.ref}^{{commit}}")
    except subprocess.CalledProcessError:
        print(f"error: {args.ref!r} is not a commit of this repository", file=sys.stderr)
        return 2
    configs = example_configs()
    if args.only:
        unknown = set(args.only) - {n for n, _ in configs}
        if unknown:
            print(f"error: unknown examples {sorted(unknown)}; known: {[n for n, _ in configs]}", file=sys.stderr)
            return 2
        configs = [(n, p) for n, p in configs if n in args.only]
    dirty = git("status", "--porcelain", "--", "src")
    current = git("rev-parse", "--short=12", "HEAD") + (" + uncommitted changes in src" if dirty else "")
    print(f"baseline: {args.ref} = {commit[:12]} (cache {args.cache / commit}); current: working tree ({current})")

    base = Baseline(commit, args.cache)
    out_root = Path(tempfile.mkdtemp(prefix="nnfield-current-"))
    results: list[Comparison] = []
    seconds: dict[str, float] = {}
    t_all = time.perf_counter()
    try:
        for i, (name, config) in enumerate(configs, 1):
            tag = f"[{i}/{len(configs)}] {name}"
            rc_ref = base.cached(name, config)
            if rc_ref is not None:
                print(f"{tag}: baseline cached (exit {rc_ref})", flush=True)
            else:
                print(f"{tag}: running baseline ({args.ref}) ...", flush=True)
                rc_ref, sec = base.run(name, config)
                print(f"{tag}: baseline exit {rc_ref} in {sec:.1f} s", flush=True)
            print(f"{tag}: running current tree ...", flush=True)
            d = out_root / name
            rc_cur, sec = run_config(ROOT / "src", config, d, out_root / f"{name}.log")
            seconds[name] = sec
            print(f"{tag}: current exit {rc_cur} in {sec:.1f} s", flush=True)
            ref_file, cur_file = base.dir_for(name) / "run.h5", d / "run.h5"
            if not (ref_file.exists() and cur_file.exists()):
                which = " and ".join(w for w, f in (("baseline", ref_file), ("current", cur_file)) if not f.exists())
                log = base.dir_for(name) / "log.txt" if not ref_file.exists() else out_root / f"{name}.log"
                tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
                results.append(Comparison(name, error=f"{which} run wrote no run.h5 ({' '.join(tail)})"))
            else:
                renamed = base.config_for(name, config).read_bytes() != (ROOT / config).read_bytes()
                results.append(compare_files(name, ref_file, cur_file, renamed))
                results[-1].exit_codes = (rc_ref, rc_cur)
            print(f"{tag}: {results[-1].line()}", flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        base.close()
        if args.keep:
            print(f"current outputs kept in {out_root}")
        else:
            shutil.rmtree(out_root, ignore_errors=True)

    n_ok = sum(r.identical for r in results)
    print()
    for r in results:
        print(("  " if r.identical else "! ") + r.line())
    print(f"summary: {n_ok}/{len(results)} examples identical to {args.ref} ({commit[:12]}); "
          f"{time.perf_counter() - t_all:.0f} s; attributes not compared: {', '.join(IGNORED_ATTRS)}")
    if args.write:
        args.report.write_text(markdown(results, args.ref, commit, current, seconds), encoding="utf-8")
        print(f"wrote {args.report}")
    return 0 if n_ok == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
