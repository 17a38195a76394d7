"""Regenerate the plot gallery ``docs/gallery/``: every example of ``examples/*.toml`` run and plotted.

    python scripts/gallery.py                      # all examples -> docs/gallery/*.png + docs/gallery/README.md
    python scripts/gallery.py --only kg_1d_packet  # one example (the index is rewritten from what is there)

Each example runs in a temporary directory as its config says, with three changes that only add output:
``[output] spectra = true`` where the theory records spectra, 1D runs keep about 60 snapshots (for the
space-time diagram), and a run longer than ``--max-steps`` ticks is cut to that many (the title of the gallery
line says so). Unstable examples (the paper's printed networks) run with ``--allow-unstable`` and are plotted
up to where they blew up. Images are written at ``--dpi`` (default 80) to keep the committed PNGs small;
``observables.png`` (the diagnostic panel of every observable) is left out unless ``--observables``. An example
added to ``examples/`` later is picked up by the same command.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: what each plot shows, for the index
WHAT = {
    "energy": "declared conserved quantities and |relative drift| (log axis)",
    "observables": "every scalar observable vs time",
    "field": "the physical fields at the last snapshot",
    "spacetime": "space-time diagram (every snapshot)",
    "spectra": "angle-averaged power spectra and occupation numbers vs |k|, coloured by time",
}


def _adjusted(cfg, max_steps: int):
    """The example's config with spectra on, ~60 snapshots in 1D and at most ``max_steps`` ticks."""
    out, tm = cfg.output, cfg.time
    steps = min(tm.steps, max_steps)
    every = min(out.every, steps)
    snap = out.snapshot_every if out.snapshot_every <= steps else 0
    if len(cfg.lattice.shape) == 1:
        snap = every * max(1, (steps // every) // 60)
    if snap % every:
        snap = every * max(1, snap // every)
    output = dataclasses.replace(out, every=every, snapshot_every=snap, chunk=None, spectra=True,
                                 checkpoint_steps=0, checkpoint_seconds=0.0)
    return dataclasses.replace(cfg, time=dataclasses.replace(tm, steps=steps), output=output), steps < tm.steps


def _run(cfg, out: Path) -> str:
    """Run ``cfg`` into ``out``; the run's status (a blow-up is kept and plotted)."""
    from nnfield.errors import ConfigError, NonFiniteError
    from nnfield.runner import execute

    try:
        res = execute(cfg, out, force=True, allow_unstable=True, progress=False)
        return res.status
    except ConfigError as exc:
        if "output.spectra" not in str(exc):
            raise
        plain = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, spectra=False))
        return _run(plain, out)
    except NonFiniteError:
        return "nonfinite"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", default=str(ROOT / "examples"), help="the directory of *.toml examples")
    p.add_argument("--out", default=str(ROOT / "docs" / "gallery"), help="where the PNGs and README.md go")
    p.add_argument("--only", nargs="*", help="example names (file stems) to regenerate")
    p.add_argument("--max-steps", type=int, default=2000, help="cut longer runs to this many ticks")
    p.add_argument("--dpi", type=int, default=80)
    p.add_argument("--observables", action="store_true", help="also keep observables.png")
    args = p.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    from nnfield.config import load_config
    from nnfield.plotting import plot_run

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples = sorted(Path(args.examples).glob("*.toml"))
    if args.only:
        examples = [e for e in examples if e.stem in set(args.only)]
    notes: dict[str, str] = {}
    for example in examples:
        t0 = time.perf_counter()
        cfg, cut = _adjusted(load_config(example), args.max_steps)
        for old in out_dir.glob(f"{example.stem}-*.png"):
            old.unlink()
        with tempfile.TemporaryDirectory() as tmp:
            status = _run(cfg, Path(tmp) / "run")
            files = plot_run(Path(tmp) / "run", out_dir, dpi=args.dpi, prefix=f"{example.stem}-")
        for f in files:
            if f.name.endswith("-observables.png") and not args.observables:
                f.unlink()
        words = {"completed": "", "nonfinite": "stopped at non-finite values: unstable, plotted up to there"}
        extra = [f"first {cfg.time.steps} ticks" if cut else "", words.get(status, status)]
        notes[example.stem] = ", ".join(x for x in extra if x)
        print(f"{example.stem}: {status}, {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    _write_index(out_dir, Path(args.examples), notes)
    return 0


def _write_index(out_dir: Path, examples: Path, notes: dict[str, str]) -> None:
    """``README.md``: one line per image, grouped by example (from the PNGs present, so ``--only`` keeps the rest)."""
    import tomllib

    lines = [
        "# Gallery",
        "",
        "Every example of `examples/`, run and plotted by `python scripts/gallery.py` (regenerates this page and",
        "the images; runs longer than 2000 ticks are cut, `[output] spectra = true` where the theory records them).",
        "Axes are in code units (the units of `lattice.spacing`, c = 1). See `docs/cli.md` (plot) and",
        "`docs/spectra.md`.",
        "",
    ]
    stems = sorted({p.stem.rsplit("-", 1)[0] for p in out_dir.glob("*-*.png")})
    index = out_dir / "README.md"
    kept = {}  # the headings of examples not regenerated this time (``--only``), with their notes
    if index.is_file():
        for line in index.read_text(encoding="utf-8").splitlines():
            if line.startswith("## ") and ":" in line:
                kept[line[3:].split(":", 1)[0]] = line
    for stem in stems:
        if stem not in notes and stem in kept:
            heading = kept[stem]
        else:
            toml = examples / f"{stem}.toml"
            title = stem
            if toml.is_file():
                title = tomllib.loads(toml.read_text(encoding="utf-8")).get("title", stem)
            note = f" ({notes[stem]})" if notes.get(stem) else ""
            heading = f"## {stem}: {title}{note}"
        lines += [heading, ""]
        for png in sorted(out_dir.glob(f"{stem}-*.png")):
            kind = png.stem[len(stem) + 1 :]
            lines.append(f"- [{png.name}]({png.name}): {WHAT.get(kind, kind)}")
        lines.append("")
    index.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
