"""An experiment's outputs: the CSV and Markdown tables and the figure."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from neurosim.experiments.paper.common import Experiment, ExperimentResult, score
from neurosim.experiments.paper.protocol import FIGURES, lr_text
from neurosim.experiments.safe_io import write_text, writing


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _pm(r: dict, f: str, digits: int) -> str:
    """``mean ± sd`` of figure `f` (the mean alone for one seed)."""
    sd = r.get(f + "_std")
    return f"{r[f]:.{digits}f}" + (f" ± {sd:.{digits}f}" if len(r.get("seeds", ())) > 1 else "")


def _write_outputs(exp: Experiment, result: ExperimentResult, keys: list[str], summary) -> list:
    """Write ``<name>.csv`` (per run: mean and sd of every figure over the
    seeds, the learning rates), ``<name>_seeds.csv`` (one row per run and
    seed), ``<name>.md`` and the figure; return their paths."""
    out, name = result.out_dir, result.name
    rows = [["label", *keys, "lr", "seeds",
             *(c for f in FIGURES for c in (f, f + "_std"))]]  # fmt: skip
    long = [["label", *keys, "seed", "lr", *FIGURES]]
    for label, r in result.runs.items():
        v = r["variant"]
        fields = [v.fields.get(k, "") for k in keys]
        rows.append([label, *fields, lr_text(r["lr"]), len(r["seeds"]),
                     *(r[c] for f in FIGURES for c in (f, f + "_std"))])  # fmt: skip
        for i, seed in enumerate(r["seeds"]):
            long.append([label, *fields, seed, r["lr"][i], *(r["per_seed"][f][i] for f in FIGURES)])
    csv_path, seeds_path = out / f"{name}.csv", out / f"{name}_seeds.csv"
    write_text(csv_path, _csv(rows), what="table")
    write_text(seeds_path, _csv(long), what="table")
    png, svg = _figure(exp, result)
    binary = any(r["test_auc"] is not None for r in result.runs.values())
    n_seeds = max(len(r["seeds"]) for r in result.runs.values())
    md = [
        f"# Paper experiment: {name} — {exp.title}",
        "",
        f"Setting: {result.setting}.",
        "",
        f"Runs: {summary.total} ({summary.tuning} of them tuning runs; {summary.skipped} taken "
        f"from the store, {summary.done} run now)."
        + (f" Figures are the mean ± standard deviation over {n_seeds} seeds (per seed: "
           f"`{seeds_path.name}`); claims are judged on the means, a difference counting when "
           "it exceeds twice its standard error (paired by seed)." if n_seeds > 1 else ""),
        "",
        "| run | lr | test accuracy |" + (" test AUC |" if binary else "")
        + " energy (nJ/sample) | error bits/sample | cycles/sample |",
        "|---|---|---|" + ("---|" if binary else "") + "---|---|---|",
    ]  # fmt: skip
    for label, r in result.runs.items():
        md.append(
            f"| {label} | {lr_text(r['lr'])} | {_pm(r, 'test_accuracy', 4)} |"
            + (f" {_pm(r, 'test_auc', 4)} |" if binary else "")
            + f" {r['energy_nj_per_sample']:.1f} | {r['transport_bits_per_sample']:.1f} |"
            f" {r['cycles_per_sample']:.0f} |"
        )
    md += ["", "## The paper's claims, measured", ""]
    md += ["| claim | measured | holds |", "|---|---|---|"]
    for c in result.claims:
        md.append(f"| {c.statement} | {c.measured} | {'yes' if c.holds else '**no**'} |")
    md += ["", f"![{name}]({png.name})", ""]
    md_path = out / f"{name}.md"
    write_text(md_path, "\n".join(md), what="table")
    return [md_path, csv_path, seeds_path, png, svg]


def _sd(r: dict) -> float:
    """The standard deviation of a run's score over its seeds (0 for one seed)."""
    f = "test_auc" if r.get("test_auc") is not None else "test_accuracy"
    return r.get(f + "_std") or 0.0


def _figure(exp: Experiment, result: ExperimentResult) -> tuple[Path, Path]:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from neurosim.experiments.report import PNG_META, RC, SVG_META

    runs = result.runs
    binary = any(r["test_auc"] is not None for r in runs.values())
    metric = "test ROC AUC" if binary else "test accuracy"
    cmap = matplotlib.colormaps["tab10"]
    with matplotlib.rc_context(RC):
        # a bar figure of many runs grows taller (up to 20 runs: 4.2 in)
        n_bars = 0 if exp.x_label else len(runs)
        height = 4.2 if n_bars <= 20 else 0.2 * n_bars
        fig = Figure(figsize=(11, height), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax, bx = fig.subplots(1, 2)
        if exp.x_label:
            series = list(dict.fromkeys(r["variant"].series for r in runs.values()
                                        if r["variant"].x is not None))  # fmt: skip
            for i, s in enumerate(series):
                mine = [r for r in runs.values() if r["variant"].series == s]
                pts = sorted((r["variant"].x, score(r), r["energy_nj_per_sample"], _sd(r))
                             for r in mine if r["variant"].x is not None)  # fmt: skip
                xs = [p[0] for p in pts]
                ax.errorbar(xs, [p[1] for p in pts], yerr=[p[3] for p in pts], fmt="o-",
                            color=cmap(i), label=s, ms=4, capsize=3)  # fmt: skip
                bx.plot(xs, [p[2] for p in pts], "o-", color=cmap(i), label=s, ms=4)
            refs = [(lab, r) for lab, r in runs.items() if r["variant"].x is None]
            for j, (lab, r) in enumerate(refs):
                c = cmap(len(series) + j)
                ax.axhline(score(r), color=c, ls="--", lw=1.2, label=lab)
                if _sd(r):  # the reference's spread over seeds: a band of +- sd
                    ax.axhspan(score(r) - _sd(r), score(r) + _sd(r), color=c, alpha=0.12)
                bx.axhline(r["energy_nj_per_sample"], color=c, ls="--", lw=1.2, label=lab)
            for a in (ax, bx):
                a.set_xlabel(exp.x_label)
                if all(float(r["variant"].x).is_integer() for r in runs.values()
                       if r["variant"].x is not None):  # fmt: skip
                    a.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylabel(metric)
            bx.set_ylabel("chip energy per training sample (nJ)")
            ax.legend(fontsize=8)
        else:
            labels = list(runs)
            colors = [cmap(i % 10) for i in range(len(labels))]
            ax.barh(labels, [score(runs[lab]) for lab in labels], color=colors,
                    xerr=[_sd(runs[lab]) for lab in labels], capsize=3)
            ax.invert_yaxis()
            lo = min(score(r) for r in runs.values())
            ax.set_xlim(max(0.0, lo - 0.1), 1.0)
            ax.set_xlabel(metric)
            bx.barh(labels, [runs[lab]["energy_nj_per_sample"] for lab in labels], color=colors)
            bx.invert_yaxis()
            bx.set_xlabel("chip energy per training sample (nJ)")
        ax.set_title(exp.title)
        bx.set_title("Cost on the chip")
        png = result.out_dir / f"{result.name}.png"
        svg = result.out_dir / f"{result.name}.svg"
        with writing(png, "figure"):  # a failed write: one line, no partial file
            fig.savefig(png, format="png", metadata=PNG_META)
        with writing(svg, "figure"):
            fig.savefig(svg, format="svg", metadata=SVG_META)
    return png, svg
