"""``theory``: the paper's small systems integrated as ODEs, and Figure 2 (no training runs)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from neurosim.experiments.paper.common import Claim, Experiment, ExperimentResult
from neurosim.experiments.safe_io import write_text, writing

POWERS = (1 / 3, 1 / 2, 1.0)
"""Exponents mu of the [1, 1, 1] power-function system (1/3 gives an S shape)."""


def _theory(out_dir: Path, quick: bool) -> ExperimentResult:
    """Integrate the paper's small systems from many random starts; draw Figure 2."""
    import numpy as np

    from neurosim.experiments import theory as th

    rng = np.random.default_rng(0)
    K, t_end, dt = (40, 60.0, 0.02) if quick else (200, 80.0, 0.01)
    sgd_steps = 4000 if quick else 40000
    runs: dict[str, dict[str, Any]] = {}
    curves: dict[str, np.ndarray] = {}

    def record(system: Any, w0: np.ndarray, discrete: bool, kind: str) -> None:
        traj = th.integrate(system, w0, t_end, dt)
        every = traj[:: max(1, len(traj) // 200)]  # ~200 points of the curve
        losses = system.loss(every.reshape(-1, every.shape[-1])).reshape(every.shape[:2])
        with np.errstate(invalid="ignore", over="ignore"):
            gap = np.nanmedian(losses - system.optimum, axis=1)
            flat = every.reshape(-1, every.shape[-1])
            speed = np.linalg.norm(system.field(flat), axis=1).reshape(every.shape[:2])
            speed = np.nanmedian(speed, axis=1)
        curves[system.name] = (gap, speed)
        row = {"kind": kind, "starts": K, "converged": th.converged_fraction(system, traj[-1])}
        row["median_final_gap"] = float(gap[-1])
        row["median_final_speed"] = float(speed[-1])
        if discrete:
            ls = th.simulate(system, w0[:20], sgd_steps, 0.01, seed=1)
            row["sgd_median_final_gap"] = float(np.nanmedian(ls[-1]) - system.optimum)
        runs[system.name] = row

    for L in (2, 3, 4):
        c = rng.choice([-1.0, 1.0], L - 1) * rng.uniform(0.5, 1.5, L - 1)
        for rule in ("rbp", "srbp"):
            record(th.chain(L, rule, c), rng.normal(0, 1, (K, L)), True, "chain")
    n = 5
    c = rng.normal(size=n)
    record(th.expand(n, "rbp", c), rng.normal(0, 1, (K, 2 * n)), True, "expand")
    record(th.compress(n, "rbp", c), rng.normal(0, 0.5, (K, 2 * n)), True, "compress")
    for mu in POWERS:
        for d in (True, False):
            a1 = rng.uniform(0.3, 2.0, K) * rng.choice([-1.0, 1.0], K)
            w0 = np.column_stack([a1, rng.normal(0, 1, K)])
            record(th.power(mu, d), w0, False, "power")
    stab = _figure2_stability()
    claims = _theory_claims(runs, stab)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ExperimentResult(name="theory", out_dir=out_dir, claims=claims)
    result.setting = (
        f"{K} random starts per system, RK4 with dt {dt} to t = {t_end:g}; discrete rule:"
        f" {sgd_steps} single-sample steps of eta 0.01 from 20 of the starts; x ~ N(0, 1),"
        f" alpha = beta = 1" + (" — quick mode" if quick else "")
    )
    result.runs = runs
    result.files = _theory_outputs(result, curves, stab)
    return result


def _field_111(a1: Any, a2: Any, c1: float = 1.0) -> tuple[Any, Any]:
    """RBP on the linear [1, 1, 1] with alpha = beta = 1: (da1/dt, da2/dt)."""
    e = 1.0 - a1 * a2
    return c1 * e, e * a1


def _figure2_stability(c1: float = 1.0) -> dict[str, Any]:
    """Jacobian eigenvalues at critical points (a1 a2 = 1) inside and outside
    the parabola a2 = -a1^2 / c1."""
    import numpy as np

    a1 = np.concatenate([np.linspace(-3, -0.3, 40), np.linspace(0.3, 3, 40)])
    a2 = 1.0 / a1
    inside = c1 * a2 + a1**2 < 0
    unstable = []
    for x, y in zip(a1, a2, strict=True):
        # d/d(a1, a2) of (c1 (1 - a1 a2), (1 - a1 a2) a1) at a1 a2 = 1
        jac = np.array([[-c1 * y, -c1 * x], [-y * x, -x * x]])
        unstable.append(bool(np.max(np.linalg.eigvals(jac).real) > 1e-9))
    unstable_arr = np.array(unstable)
    return {
        "points": len(a1),
        "inside": int(inside.sum()),
        "inside_unstable": int((inside & unstable_arr).sum()),
        "outside_unstable": int((~inside & unstable_arr).sum()),
    }


def _theory_claims(runs: dict, stab: dict) -> list[Claim]:
    def frac(name: str) -> float:
        return runs[name]["converged"]

    chains = [k for k, r in runs.items() if r["kind"] == "chain"]
    power_f = [k for k, r in runs.items() if r["kind"] == "power" and "without" not in k]
    power_nof = [k for k in runs if runs[k]["kind"] == "power" and "without" in k]
    mu_one = [k for k in power_nof if "x^1 " in k]
    mu_other = [k for k in power_nof if k not in mu_one]
    sgd = [k for k, r in runs.items() if "sgd_median_final_gap" in r]
    almost_all = 0.99
    return [
        Claim("Linear chains [1,...,1] converge to the global optimum under RBP and SRBP"
              " from almost any start",
              ", ".join(f"{k} {frac(k):.0%}" for k in chains),
              all(frac(k) >= almost_all for k in chains)),
        Claim("The expansive [1,N,1] and compressive [N,1,N] linear networks converge"
              " under RBP",
              ", ".join(f"{k} {frac(k):.0%}" for k in runs
                        if runs[k]["kind"] in ("expand", "compress")),
              all(frac(k) >= almost_all for k in runs
                  if runs[k]["kind"] in ("expand", "compress"))),
        Claim("[1,1,1] with f(x) = x^mu converges under RBP with f′",
              ", ".join(f"{k} {frac(k):.0%}" for k in power_f),
              all(frac(k) >= almost_all for k in power_f)),
        Claim("Without f′ it does not converge for mu ≠ 1 (and does for mu = 1)",
              ", ".join(f"{k} {frac(k):.0%}" for k in power_nof),
              all(frac(k) <= 1 - almost_all for k in mu_other)
              and all(frac(k) >= almost_all for k in mu_one)),
        Claim("The discrete single-sample rule reaches the optimum the ODE predicts",
              ", ".join(f"{k} gap {runs[k]['sgd_median_final_gap']:.3g}" for k in sgd),
              all(runs[k]["sgd_median_final_gap"] <= 0.05 for k in sgd)),
        Claim("Figure 2: critical points inside the parabola a2 = -a1²/c1 are unstable,"
              " all others attract",
              f"{stab['inside_unstable']} of {stab['inside']} inside unstable,"
              f" {stab['outside_unstable']} of {stab['points'] - stab['inside']} outside",
              stab["inside_unstable"] == stab["inside"] and stab["outside_unstable"] == 0),
    ]  # fmt: skip


def _theory_outputs(result: ExperimentResult, curves: dict, stab: dict) -> list[Path]:
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from neurosim.experiments.report import PNG_META, RC, SVG_META

    out = result.out_dir
    cols = ["system", "kind", "starts", "converged", "median_final_gap", "median_final_speed",
            "sgd_median_final_gap"]  # fmt: skip
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for name, r in result.runs.items():
        w.writerow([name, *(r.get(c, "") for c in cols[1:])])
    csv_path = out / "theory.csv"
    write_text(csv_path, buf.getvalue(), what="table")

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(15, 4.6), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax, bx, cx = fig.subplots(1, 3)
        g = np.linspace(-3, 3, 25)
        a1, a2 = np.meshgrid(g, g)
        u, v = _field_111(a1, a2)
        dp = u * a2 + a1 * v
        norm = np.hypot(u, v) + 1e-12
        lim = np.percentile(np.abs(dp), 95)
        q = ax.quiver(a1, a2, u / norm, v / norm, np.clip(dp, -lim, lim), cmap="coolwarm",
                      scale=30, width=0.004)  # fmt: skip
        fig.colorbar(q, ax=ax, label="dP/dt")
        xs = np.linspace(0.3, 3, 100)
        for sign in (1, -1):
            ax.plot(sign * xs, sign / xs, "k-", lw=1.5)
        ax.plot(g, -(g**2), "g--", lw=1.5, label="a2 = -a1²/c1")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_xlabel("a1")
        ax.set_ylabel("a2")
        ax.set_title("[1,1,1] linear, RBP, c1 = 1: critical points (black)")
        ax.legend(loc="lower right", fontsize=8)
        for name, (gap, _speed) in curves.items():
            if "x^" in name:
                continue
            t = np.linspace(0, 1, len(gap))
            bx.semilogy(t, np.maximum(gap, 1e-16), label=name, lw=1.2)
        bx.set_xlabel("time (fraction of the integration)")
        bx.set_ylabel("median loss − optimum")
        bx.set_title("Linear systems: ODE convergence")
        bx.legend(fontsize=7)
        for name, (_gap, speed) in curves.items():
            if "x^" not in name:
                continue
            t = np.linspace(0, 1, len(speed))
            cx.semilogy(t, np.maximum(speed, 1e-16), ls="--" if "without" in name else "-",
                        label=name, lw=1.2)  # fmt: skip
        cx.set_xlabel("time (fraction of the integration)")
        cx.set_ylabel("median |dw/dt| (0 at a fixed point)")
        cx.set_title("[1,1,1], f(x) = x^mu: with f′ (solid), without (dashed)")
        cx.legend(fontsize=7)
        png, svg = out / "theory.png", out / "theory.svg"
        with writing(png, "figure"):  # a failed write: one line, no partial file
            fig.savefig(png, format="png", metadata=PNG_META)
        with writing(svg, "figure"):
            fig.savefig(svg, format="svg", metadata=SVG_META)

    md = [
        "# Paper experiment: theory — convergence of the small systems",
        "",
        f"Setting: {result.setting}.",
        "",
        "| system | converged (ODE) | median loss − optimum at the end |"
        " median abs(dw/dt) at the end | discrete rule: median loss − optimum |",
        "|---|---|---|---|---|",
    ]
    for name, r in result.runs.items():
        sgd = r.get("sgd_median_final_gap")
        sgd_txt = "" if sgd is None else f"{sgd:.3g}"
        md.append(f"| {name} | {r['converged']:.0%} of {r['starts']} | "
                  f"{r['median_final_gap']:.3g} | {r['median_final_speed']:.3g} |"
                  f" {sgd_txt} |")  # fmt: skip
    md += ["", "## The paper's claims, measured", ""]
    md += ["| claim | measured | holds |", "|---|---|---|"]
    for c in result.claims:
        md.append(f"| {c.statement} | {c.measured} | {'yes' if c.holds else '**no**'} |")
    md += ["", "![theory](theory.png)", ""]
    md_path = out / "theory.md"
    write_text(md_path, "\n".join(md), what="table")
    return [md_path, csv_path, png, svg]


EXPERIMENT = Experiment(
    "theory", "Convergence of the small systems the paper analyses", lambda cfg: [],
    lambda runs: [], runner=lambda out, quick: _theory(out, quick),
)  # fmt: skip
