#!/usr/bin/env python3
"""Targeted mutation testing: does the quick suite, and does ``nnfield verify``, notice a planted bug?

Each mutation is ``(file, snippet, replacement, description)``: the snippet must occur exactly once in the file
(otherwise the mutation is reported ``stale``: code moved by a refactor; update the path or the snippet). For
each mutation the script applies it, runs

  (a) a chosen quick pytest selection (``-x -q``, per-mutation timeout), and
  (b) ``nnfield verify --section N`` (the section that owns the mutated physics),

records caught/missed for each (a nonzero exit status is "caught"; for verify the failing checks are listed),
and restores the file (always: ``try/finally``, also on Ctrl-C and SIGTERM). It refuses to start when a target
file has uncommitted changes, so a restore can never lose work.

Usage (repository root, project venv)::

    python scripts/mutate.py                 # every mutation, tests and verify
    python scripts/mutate.py --list          # the mutations and whether each snippet is found
    python scripts/mutate.py --only yoshida-weight leapfrog-drift-kick
    python scripts/mutate.py --no-verify     # only the quick tests
    python scripts/mutate.py --write         # also write the table into docs/testing.md ("Mutation score")

Exit status: 0 when every (non-stale) mutation is caught by everything that ran, 1 otherwise, 2 on refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing.md"
BEGIN, END = "<!-- mutation-table:begin -->", "<!-- mutation-table:end -->"

OBS = "tests/test_observables_values.py"
AUDIT = "tests/test_checks_audit_s28.py"


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str  # relative to the repository root
    snippet: str  # must occur exactly once
    replacement: str
    description: str
    tests: tuple[str, ...]  # pytest arguments (files, node ids, -k expressions)
    section: int | str  # nnfield verify --section (2-5, or "B": beyond the paper)


MUTATIONS: list[Mutation] = [
    Mutation("gauge-qA0-energy", "src/nnfield/theories/gauge/model.py",
             "            + jnp.asarray(self.qA0, dtype) * (phi**2 + pi**2)",
             "            - jnp.asarray(self.qA0, dtype) * (phi**2 + pi**2)",
             "gauged energy observable: sign of the q A0 term flipped",
             (f"{OBS}::test_gauged_dirac_electric_observables", "tests/test_gauge.py"), 5),
    Mutation("continuum-A0", "src/nnfield/theories/gauge/reference.py",
             "+ self.q * self.A0[None] * psi", "- self.q * self.A0[None] * psi",
             "continuum reference (5.10): sign of q A0 flipped",
             (f"{OBS}::test_continuum_reference_hamiltonian_on_plane_waves", "tests/test_gauge.py"), 5),
    Mutation("dirac-current", "src/nnfield/theories/dirac/physics.py",
             "return self.lattice.cell_volume * jnp.sum(cur.reshape(cur.shape[0], -1), axis=1)",
             "return -self.lattice.cell_volume * jnp.sum(cur.reshape(cur.shape[0], -1), axis=1)",
             "Dirac current observable: sign flipped",
             (OBS, "-k", "dirac_observables", "tests/test_dirac.py"), 4),
    Mutation("leapfrog-drift-kick", "src/nnfield/schemes.py",
             "            pi = net.learn(s.phi, s.pi, h)\n            return State(net.activate(s.phi, pi, dt), pi)",
             "            phi = net.activate(s.phi, s.pi, dt)\n            return State(phi, net.learn(phi, s.pi, h))",
             "fused leapfrog advance: drift-then-kick bodies instead of kick-then-drift",
             ("tests/test_schemes.py",), 3),
    Mutation("stability-bound", "src/nnfield/theories/dirac/analysis.py",
             "if mid * sigma_max < 2 * math.cos(m * mid / 2):", "if mid * sigma_max < 2 * math.cos(m * mid):",
             "stable Dirac network: bound 2 cos(mh) instead of 2 cos(mh/2) (the bisected h_max)",
             ("tests/test_dirac.py",), 4),
    Mutation("yoshida-weight", "src/nnfield/schemes.py",
             "w1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))", "w1 = 1.0 / (2.0 - 2.0 ** (1.0 / 2.0))",
             "Yoshida weight with 2^(1/2) instead of 2^(1/3) (order 2)",
             ("tests/test_schemes.py", "tests/test_klein_gordon.py::test_order_in_dt"), 3),
    Mutation("sine-gordon-twist", "src/nnfield/theories/nonlinear/networks.py",
             "d = d + self.twist * jnp.asarray(edge(phi.shape, 1, phi.shape[1] - 1), phi.dtype)",
             "d = d - self.twist * jnp.asarray(edge(phi.shape, 1, phi.shape[1] - 1), phi.dtype)",
             "sine-Gordon network loss: sign of the boundary twist flipped",
             (f"{OBS}::test_sine_gordon_kink_observables", "tests/test_nonlinear.py"), 2),
    Mutation("forward-H-sign", "src/nnfield/theories/dirac/physics.py",
             "- 1j * (1 - np.cos(kk * a)) / a * self.gammas[mu + 1]",
             "+ 1j * (1 - np.cos(kk * a)) / a * self.gammas[mu + 1]",
             "physics-side H(k) of the forward map: sign of the -i gamma (1 - cos ka)/a term flipped",
             ("tests/test_dirac_physics.py::test_position_space_energy_is_the_fft_energy", "tests/test_dirac.py"), 4),
    Mutation("laplacian-center", "src/nnfield/operators/_operator.py",
             "{_zero_shift(ndim): -2.0 * ndim * inv * np.eye(K)}", "{_zero_shift(ndim): 2.0 * ndim * inv * np.eye(K)}",
             "Laplacian stencil: sign of the centre coefficient flipped",
             ("tests/test_operators.py", "tests/test_klein_gordon.py"), 3),
    Mutation("kg-gradient-energy", "src/nnfield/theories/klein_gordon/physics.py",
             "dens = 0.5 * pi[0] ** 2 + 0.5 * grad2 + 0.5 * self.m**2 * f**2",
             "dens = 0.5 * pi[0] ** 2 + grad2 + 0.5 * self.m**2 * f**2",
             "Klein-Gordon Hamiltonian (3.5): factor 1/2 of the gradient energy lost",
             (f"{OBS}::test_klein_gordon_observables", "tests/test_klein_gordon.py"), 3),
    Mutation("kg-314-mass-sign", "src/nnfield/theories/klein_gordon/networks.py",
             "W = 2.0 * eye + dt**2 * (laplacian(nd, lattice.spacing) - m**2 * eye)",
             "W = 2.0 * eye + dt**2 * (laplacian(nd, lattice.spacing) + m**2 * eye)",
             "network (3.14): sign of the mass in W flipped",
             ("tests/test_klein_gordon.py",), 3),
    Mutation("orthogonal-rates", "src/nnfield/theories/dirac/networks.py",
             "if best is None or dev < best[0]:", "if best is None:",
             "orthogonal_rates: no search for the most orthogonal float pair (|R|^2 - 1 ~ 1e-15)",
             ("tests/test_dirac.py",), 4),
    Mutation("learning-transpose", "src/nnfield/network.py",
             "_, pull = jax.vjp(lambda p: phi + net.B.apply(p - pi), pi)  # the activation map's VJP: B^T\n"
             "    if not isinstance(net.loss, PerTypeLoss):",
             "pull = lambda g: (net.B.apply(g),)  # noqa: E731\n    if not isinstance(net.loss, PerTypeLoss):",
             "learning gradient: B instead of B^T for the activation map's pullback",
             ("tests/test_network.py", "tests/test_dirac.py"), 4),
    Mutation("clifford-diagonal", "src/nnfield/theories/clifford.py",
             "        for nu in range(mu, D + 1):\n            target = -2.0 * eye if mu == nu else 0.0 * eye",
             "        for nu in range(mu + 1, D + 1):\n            target = -2.0 * eye if mu == nu else 0.0 * eye",
             "Clifford check: X_mu X_mu = -I no longer checked (only mu < nu anticommutators)",
             ("tests/test_clifford.py",), 4),
    Mutation("wilson-term-sign", "src/nnfield/theories/dirac/bias.py",
             "B = B + kron(X[0], laplacian(nd, a)) * (-0.5 * r * a)",
             "B = B + kron(X[0], laplacian(nd, a)) * (0.5 * r * a)",
             "twisted-Wilson bias map: sign of the Wilson term flipped",
             (OBS, "-k", "dirac_observables", "tests/test_dirac.py"), 4),
    Mutation("stable-invariant-tan", "src/nnfield/theories/dirac/invariant.py",
             "corr = Bpi - tan_half * apply_local(jnp.asarray(X0, jnp.result_type(Bpi)), Bpi)",
             "corr = Bpi + tan_half * apply_local(jnp.asarray(X0, jnp.result_type(Bpi)), Bpi)",
             "stable network invariant: sign of the tan(mh/2) X0 term flipped",
             ("tests/test_dirac.py",), 4),
    Mutation("per-type-loss-sign", "src/nnfield/theories/dirac/losses.py",
             "return PerTypeLoss(m * X0, True)", "return PerTypeLoss(-m * X0, True)",
             "corrected per-type loss (4.14): mass sign flipped",
             ("tests/test_dirac.py",), 4),
    Mutation("link-transpose", "src/nnfield/theories/gauge/bias.py",
             "Ub = np.asarray(np.swapaxes(np.roll(U, 1, axis=2 + mu), 0, 1))",
             "Ub = np.asarray(np.roll(U, 1, axis=2 + mu))",
             "covariant Wilson bias: backward link U instead of U^T",
             ("tests/test_gauge.py",), 5),
    Mutation("temporal-link-sign", "src/nnfield/theories/gauge/links.py",
             "alpha0 = 2 * q * dt * np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape) / np.pi",
             "alpha0 = -2 * q * dt * np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape) / np.pi",
             "links from potentials: sign of the temporal link (q A0) flipped",
             (f"{OBS}::test_gauged_dirac_electric_observables", "tests/test_gauge.py"), 5),
    Mutation("sine-gordon-potential", "src/nnfield/theories/nonlinear/potentials.py",
             "return (self.m / self.b) ** 2 * (1.0 - jnp.cos(self.b * phi))",
             "return (self.m / self.b) * (1.0 - jnp.cos(self.b * phi))",
             "sine-Gordon potential: (m/b) instead of (m/b)^2",
             (f"{OBS}::test_sine_gordon_kink_observables", "tests/test_nonlinear.py"), 2),
    Mutation("maxwell-dirac-down-link", "src/nnfield/theories/maxwell_dirac/matter.py",
             "backward(cos[mu], mu, D)[None] * fb + backward(sin[mu], mu, D)[None] * self.mix(0, fb)",
             "backward(cos[mu], mu, D)[None] * fb - backward(sin[mu], mu, D)[None] * self.mix(0, fb)",
             "Maxwell-Dirac Wilson hop: U(x - mu) instead of its transpose on the backward link",
             ("tests/test_maxwell_dirac.py",), "B"),
    Mutation("maxwell-dirac-pullback", "src/nnfield/theories/maxwell_dirac/matter.py",
             "return g_p + pull(g_phi)[0]",
             "return g_p - pull(g_phi)[0]",
             "Maxwell-Dirac learning gradient: the activation map's pullback B^T phi subtracted, not added",
             ("tests/test_maxwell_dirac.py",), "B"),
    Mutation("maxwell-dirac-clifford-signs", "src/nnfield/theories/maxwell_dirac/matter.py",
             "return jnp.asarray(np.asarray(signs).reshape",
             "return jnp.asarray(-np.asarray(signs).reshape",
             "Maxwell-Dirac Clifford factors as signed permutations: every sign flipped (X_mu -> -X_mu)",
             ("tests/test_maxwell_dirac.py",), "B"),
    Mutation("maxwell-dirac-link-pullback", "src/nnfield/theories/maxwell_dirac/network.py",
             "jax.grad(self.wilson)(theta_new) + pull(g_cs)[0]",
             "jax.grad(self.wilson)(theta_new) - pull(g_cs)[0]",
             "Maxwell-Dirac links' learning: the matter's current pulled back with the wrong sign",
             ("tests/test_maxwell_dirac.py",), "B"),
    Mutation("dirac-energy-traced-mass", "src/nnfield/theories/dirac/physics.py",
             "return self.m * complex(beta[r, c]) + complex(c0[r, c])",
             "return -self.m * complex(beta[r, c]) + complex(c0[r, c])",
             "Dirac energy observable with a traced mass (every run's chunk, sweeps): sign of m beta flipped",
             ("tests/test_dirac_physics.py", "tests/test_dirac_model.py"), 4),
    # the coupling q: checks run at q = 1 let a q dropped or squared pass (verify missed these four before the
    # Sec. 5 / B checks moved to q != 1)
    Mutation("phi4-kink-width", "src/nnfield/initial/_phi4_kink.py",
             "z = 0.5 * mass * gamma * (np.asarray(x, dtype=float) - x0 - velocity * t)",
             "z = mass * gamma * (np.asarray(x, dtype=float) - x0 - velocity * t)",
             "phi^4 kink: tanh(m gamma x) instead of tanh(m gamma x / 2) (twice the meson mass in the width)",
             ("tests/test_phi4_broken_s33.py",), "B"),
    Mutation("network-ground-ignored", "src/nnfield/network.py",
             "out = self.step(State(delta.phi + g, delta.pi))",
             "out = self.step(State(delta.phi, delta.pi))",
             "Network.perturbation_step linearizes about zero, not its ground state (the double well's +v)",
             ("tests/test_phi4_broken_s33.py",), "B"),
    Mutation("u1-drift-charge", "src/nnfield/theories/u1/network.py",
             "out[LINKS] = state[LINKS] + (h * self.charge * self.lattice.spacing) * state[ELECTRIC]",
             "out[LINKS] = state[LINKS] + (h * self.charge**2 * self.lattice.spacing) * state[ELECTRIC]",
             "dynamical links' drift: theta += h q^2 a E instead of h q a E",
             (AUDIT,), "B"),
    Mutation("wilson-loss-charge", "src/nnfield/theories/u1/loss.py",
             "return total / (self.charge**2 * self.spacing**4)",
             "return total / (self.charge * self.spacing**4)",
             "Wilson plaquette loss: 1/(q a^4) instead of 1/(q^2 a^4)",
             (AUDIT,), "B"),
    Mutation("temporal-link-charge", "src/nnfield/theories/gauge/links.py",
             "alpha0 = 2 * q * dt * np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape) / np.pi",
             "alpha0 = 2 * dt * np.broadcast_to(np.asarray(A0, dtype=float), lattice.shape) / np.pi",
             "links from potentials: the charge q dropped from the temporal link (alpha0 = 2 dt A0 / pi)",
             (AUDIT,), 5),
    Mutation("continuum-reference-charge", "src/nnfield/theories/gauge/reference.py",
             "self.A0 = np.pi * np.asarray(links.alpha0) / (2 * q * dt)",
             "self.A0 = np.pi * np.asarray(links.alpha0) / (2 * dt)",
             "continuum reference (5.10): A0 read off the temporal links without the 1/q (q A0 becomes q^2 A0)",
             (AUDIT,), 5),
]


@dataclass
class Outcome:
    mutation: Mutation
    status: str = ""  # "stale", "ambiguous" or "" (applied)
    tests: str = "-"  # caught / MISSED / timeout / skipped
    tests_detail: str = ""
    verify: str = "-"
    verify_failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        if self.status:
            return True  # reported, not counted
        return self.tests in ("caught", "skipped") and self.verify in ("caught", "skipped")


class _Terminated(Exception):
    pass


def _sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _run(cmd: list[str], timeout: float) -> tuple[int | None, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src")
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    return p.returncode, p.stdout + p.stderr


def _pytest_summary(out: str) -> str:
    lines = [ln for ln in out.strip().splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return lines[0][:160] if lines else (out.strip().splitlines() or [""])[-1][:160]


def run_mutation(m: Mutation, args: argparse.Namespace) -> Outcome:
    out = Outcome(m)
    path = ROOT / m.file
    if not path.exists():
        out.status = "stale"
        return out
    original = path.read_text(encoding="utf-8")
    count = original.count(m.snippet)
    if count != 1:
        out.status = "stale" if count == 0 else "ambiguous"
        return out
    t0 = time.perf_counter()
    try:
        path.write_text(original.replace(m.snippet, m.replacement), encoding="utf-8")
        if args.no_tests:
            out.tests = "skipped"
        else:
            rc, log = _run([sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider", *m.tests],
                           args.timeout)
            out.tests = "timeout" if rc is None else ("caught" if rc != 0 else "MISSED")
            out.tests_detail = "" if rc in (None, 0) else _pytest_summary(log)
        if args.no_verify:
            out.verify = "skipped"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                js = Path(tmp) / "v.json"
                rc, _ = _run([sys.executable, "-m", "nnfield.cli", "verify", "--section", str(m.section), "--json",
                              str(js)], args.verify_timeout)
                if rc is None:
                    out.verify = "timeout"
                else:
                    out.verify = "caught" if rc != 0 else "MISSED"
                    if js.exists():
                        data = json.loads(js.read_text())
                        out.verify_failed = [r["equation"] for r in data["results"] if not r["passed"]]
    finally:
        path.write_text(original, encoding="utf-8")  # always restore
        out.seconds = time.perf_counter() - t0
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(outcomes: list[Outcome]) -> str:
    applied = [o for o in outcomes if not o.status]
    n_t = sum(o.tests == "caught" for o in applied)
    n_v = sum(o.verify == "caught" for o in applied)
    lines = [
        f"Quick tests caught {n_t}/{len(applied)} mutations, `nnfield verify` caught {n_v}/{len(applied)}"
        + (f"; {len(outcomes) - len(applied)} stale" if len(applied) < len(outcomes) else "") + ".",
        "",
        "| mutation | file | what is planted | quick tests | verify (section: failing checks) | time |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        m = o.mutation
        if o.status:
            lines.append(f"| `{m.id}` | `{m.file}` | {_cell(m.description)} | {o.status} | {o.status} | - |")
            continue
        tests = o.tests + (f" ({_cell(o.tests_detail)})" if o.tests == "caught" and o.tests_detail else "")
        ver = f"{o.verify} (sec. {m.section}" + (f": {', '.join(o.verify_failed)})" if o.verify_failed else ")")
        lines.append(f"| `{m.id}` | `{m.file}` | {_cell(m.description)} | {tests} | {_cell(ver)} | "
                     f"{o.seconds:.0f} s |")
    return "\n".join(lines)


def _summary(rows: list[str]) -> str:
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", r.strip("|"))] for r in rows]  # escaped \| stays
    applied = [c for c in cells if c[3] not in ("stale", "ambiguous")]
    n_t = sum(c[3].startswith("caught") for c in applied)
    n_v = sum(c[4].startswith("caught") for c in applied)
    stale = len(cells) - len(applied)
    return (f"Quick tests caught {n_t}/{len(applied)} mutations, `nnfield verify` caught {n_v}/{len(applied)}"
            + (f"; {stale} stale" if stale else "") + ".")


def write_doc(text: str, partial: bool) -> None:
    """Write the table between the markers; with ``partial`` (``--only``) replace just the rows that ran."""
    doc = DOC.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{DOC} lacks the markers {BEGIN} ... {END} (in its 'Mutation score' section)")
    head, rest = doc.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    lines = text.splitlines()
    if partial:
        new_rows = {r.split("|")[1].strip(): r for r in lines if r.startswith("| `")}
        old_lines = old.strip().splitlines()
        if any(r.startswith("| `") for r in old_lines):
            rows = [new_rows.pop(r.split("|")[1].strip(), r) for r in old_lines if r.startswith("| `")]
            rows += list(new_rows.values())
            header = [r for r in lines if r.startswith("|") and not r.startswith("| `")]
            lines = [_summary(rows), "", *header, *rows]
    DOC.write_text(f"{head}{BEGIN}\n" + "\n".join(lines) + f"\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="ID", help="only these mutations")
    ap.add_argument("--list", action="store_true", help="list the mutations and whether their snippets are found")
    ap.add_argument("--no-tests", action="store_true", help="skip the quick pytest selection")
    ap.add_argument("--no-verify", action="store_true", help="skip nnfield verify")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per pytest selection (default 600)")
    ap.add_argument("--verify-timeout", type=float, default=900, help="seconds per verify section (default 900)")
    ap.add_argument("--write", action="store_true", help=f"write the table into {DOC.relative_to(ROOT)} (with "
                    "--only: replace just those rows)")
    args = ap.parse_args(argv)

    muts = MUTATIONS
    if args.only:
        unknown = set(args.only) - {m.id for m in MUTATIONS}
        if unknown:
            print(f"error: unknown mutations {sorted(unknown)}", file=sys.stderr)
            return 2
        muts = [m for m in MUTATIONS if m.id in args.only]
    if args.list:
        for m in muts:
            p = ROOT / m.file
            n = p.read_text(encoding="utf-8").count(m.snippet) if p.exists() else 0
            state = "ok" if n == 1 else ("stale" if n == 0 else f"ambiguous ({n}x)")
            print(f"{m.id:24s} {state:10s} {m.file}  (sec. {m.section})  {m.description}")
        return 0
    files = sorted({m.file for m in muts if (ROOT / m.file).exists()})
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *files], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip()
    if dirty:
        print(f"refusing to start: uncommitted changes in target files (commit or stash them first):\n{dirty}",
              file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, _sigterm)
    outcomes: list[Outcome] = []
    t_all = time.perf_counter()
    try:
        for i, m in enumerate(muts, 1):
            print(f"[{i}/{len(muts)}] {m.id}: {m.description} ...", flush=True)
            o = run_mutation(m, args)
            outcomes.append(o)
            if o.status:
                print(f"    {o.status}: snippet not found exactly once in {m.file}", flush=True)
            else:
                extra = f" [{', '.join(o.verify_failed)}]" if o.verify_failed else ""
                print(f"    tests {o.tests}; verify --section {m.section} {o.verify}{extra} ({o.seconds:.0f} s)",
                      flush=True)
    except (KeyboardInterrupt, _Terminated):
        print("interrupted (the mutated file was restored)", file=sys.stderr)
        return 130
    text = table(outcomes)
    print()
    print(text)
    print(f"\n{time.perf_counter() - t_all:.0f} s")
    if args.write:
        write_doc(text, partial=bool(args.only))
        print(f"wrote the table into {DOC}" + (" (rows of --only replaced)" if args.only else ""))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
