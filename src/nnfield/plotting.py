"""PNG plots of runs and analyses (matplotlib, Agg backend; imported lazily by the command line).

- :func:`plot_energy`: energy-like observables vs time and their relative drift ``(E(t) - E(0)) / |E(0)|``.
- :func:`plot_observables`: every scalar observable vs time, one panel each.
- :func:`plot_field`: the last snapshot of the network state ``phi`` (left) and ``pi`` (right): a line plot
  in 1D, an image in 2D, the central slice ``x_3 = x_4 = .. = N/2`` in 3D and above; one row per neuron type.
- :func:`plot_dispersion`: the network's ``Omega(k)`` (from its one-step symbol) against the theory's
  ``omega(k)`` along ``k = (k_x, 0, ..)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .io import RunData, load_run

ENERGY_NAMES = ("energy", "discrete_energy")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(run: RunData) -> str:
    a = run.attrs
    shape = "x".join(str(int(n)) for n in np.atleast_1d(a.get("shape", [])))
    return f"{a.get('network', a.get('theory', 'run'))}, {a.get('scheme', '')}, {shape}, dt = {a.get('dt', '?')}"


def plot_energy(run: RunData, path: str | Path) -> Path | None:
    """Energy-like observables and their relative drift vs time (``None`` if the run has none)."""
    names = [n for n in run.observables if "energy" in n and run.observables[n].ndim == 1]
    names.sort(key=lambda n: (n not in ENERGY_NAMES, n))
    if not names or run.obs_time.size == 0:
        return None
    plt = _plt()
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, constrained_layout=True)
    t = run.obs_time
    for name in names:
        ax0.plot(t, run.observables[name], label=name)
        ax1.plot(t, run.relative_drift(name), label=name)
    ax0.set_ylabel("E(t)")
    ax0.legend()
    ax0.set_title(_title(run))
    ax1.set_ylabel("(E(t) - E(0)) / |E(0)|")
    ax1.set_xlabel("t")
    ax1.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    ax1.legend()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_observables(run: RunData, path: str | Path) -> Path | None:
    """One panel per scalar observable vs time (``None`` if there are none)."""
    names = [n for n, v in run.observables.items() if v.ndim == 1]
    if not names or run.obs_time.size == 0:
        return None
    plt = _plt()
    ncol = min(3, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3 * nrow), squeeze=False, constrained_layout=True)
    for ax, name in zip(axes.flat, names, strict=False):
        ax.plot(run.obs_time, run.observables[name])
        ax.set_title(name)
        ax.set_xlabel("t")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(_title(run))
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _slice2d(f: np.ndarray) -> np.ndarray:
    while f.ndim > 2:
        f = f[..., f.shape[-1] // 2]
    return f


def plot_field(run: RunData, path: str | Path, index: int = -1) -> Path | None:
    """Snapshot ``index`` (default: the last) of the network state: columns ``phi``, ``pi``; one row per type."""
    if run.phi is None or run.phi.shape[0] == 0:
        return None
    plt = _plt()
    phi, pi = run.phi[index], run.pi[index]
    t = float(run.snap_time[index])
    K, ndim = phi.shape[0], phi.ndim - 1
    spacing = float(run.attrs.get("spacing", 1.0))
    fig, axes = plt.subplots(K, 2, figsize=(11, 3.8 * K + 0.6), squeeze=False, constrained_layout=True)
    for col, (name, field) in enumerate((("phi", phi), ("pi", pi))):
        for a in range(K):
            ax = axes[a, col]
            f = field[a]
            label = f"{name}[{a}]" if K > 1 else name
            if ndim == 1:
                x = spacing * np.arange(f.shape[0])
                ax.plot(x, f)
                ax.set_xlabel("x")
                ax.set_ylabel(label)
            else:
                img = _slice2d(f)
                ny, nx = img.shape
                lim = float(np.abs(img).max()) or 1.0
                im = ax.imshow(
                    img.T, origin="lower", cmap="RdBu_r", extent=(0, ny * spacing, 0, nx * spacing),
                    vmin=-lim, vmax=lim,
                )
                fig.colorbar(im, ax=ax, shrink=0.8)
                ax.set_xlabel("x1")
                ax.set_ylabel("x2")
                if ndim > 2:
                    label += " (slice x3.. = N/2)"
            ax.set_title(label)
    fig.suptitle(f"{_title(run)}\nnetwork state at t = {t:g}", fontsize=10)
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_run(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """All plots of a run directory: ``energy.png``, ``observables.png``, ``field.png`` (those that apply)."""
    run = load_run(run_dir, snapshots="last")
    target = Path(out_dir) if out_dir is not None else run.path.parent
    target.mkdir(parents=True, exist_ok=True)
    made = [
        plot_energy(run, target / "energy.png"),
        plot_observables(run, target / "observables.png"),
        plot_field(run, target / "field.png"),
    ]
    return [p for p in made if p is not None]


def plot_dispersion(
    k: np.ndarray, omega_network: np.ndarray, omega_theory: np.ndarray | None, path: str | Path, title: str = ""
) -> Path:
    """``Omega(k)`` of the network (every distinct branch) vs the theory's ``omega(k)``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    om = np.asarray(omega_network)
    om = om.reshape(om.shape[0], -1)
    branches: list[np.ndarray] = []
    for j in range(om.shape[1]):
        if not any(np.allclose(om[:, j], b, rtol=1e-9, atol=1e-12) for b in branches):
            branches.append(om[:, j])
    for j, b in enumerate(branches):
        ax.plot(k, b, "o", ms=3, color="C0", label="network (one-step symbol)" if j == 0 else None)
    if omega_theory is not None:
        ot = np.asarray(omega_theory).reshape(len(k), -1)
        for j in range(ot.shape[1]):
            ax.plot(k, ot[:, j], "-", color="C1", label="theory omega(k)" if j == 0 else None)
    ax.set_xlabel("k_x  (k = (k_x, 0, ..))")
    ax.set_ylabel("omega")
    ax.set_title(title)
    ax.legend()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
