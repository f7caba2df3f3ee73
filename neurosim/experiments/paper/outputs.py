"""An experiment's outputs: the CSV and Markdown tables and the figure."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from neurosim.experiments.paper.common import Experiment, ExperimentResult, score
from neurosim.experiments.safe_io import write_text, writing


def _write_outputs(exp: Experiment, result: ExperimentResult, keys: list[str], summary) -> list:
    out, name = result.out_dir, result.name
    figures = ["test_accuracy", "test_auc", "energy_nj_per_sample",
               "transport_bits_per_sample", "cycles_per_sample"]  # fmt: skip
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["label", *keys, *figures])
    for label, r in result.runs.items():
        v = r["variant"]
        w.writerow([label, *(v.fields.get(k, "") for k in keys), *(r[f] for f in figures)])
    csv_path = out / f"{name}.csv"
    write_text(csv_path, buf.getvalue(), what="table")
    png, svg = _figure(exp, result)
    binary = any(r["test_auc"] is not None for r in result.runs.values())
    md = [
        f"# Paper experiment: {name} — {exp.title}",
        "",
        f"Setting: {result.setting}.",
        "",
        f"Runs: {summary.total} ({summary.skipped} taken from the store, {summary.done} run now).",
        "",
        "| run | test accuracy |" + (" test AUC |" if binary else "")
        + " energy (nJ/sample) | error bits/sample | cycles/sample |",
        "|---|---|" + ("---|" if binary else "") + "---|---|---|",
    ]  # fmt: skip
    for label, r in result.runs.items():
        md.append(
            f"| {label} | {r['test_accuracy']:.4f} |"
            + (f" {r['test_auc']:.4f} |" if binary else "")
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
    return [md_path, csv_path, png, svg]


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
                pts = sorted((r["variant"].x, score(r), r["energy_nj_per_sample"])
                             for r in mine if r["variant"].x is not None)  # fmt: skip
                xs = [p[0] for p in pts]
                ax.plot(xs, [p[1] for p in pts], "o-", color=cmap(i), label=s, ms=4)
                bx.plot(xs, [p[2] for p in pts], "o-", color=cmap(i), label=s, ms=4)
            refs = [(lab, r) for lab, r in runs.items() if r["variant"].x is None]
            for j, (lab, r) in enumerate(refs):
                c = cmap(len(series) + j)
                ax.axhline(score(r), color=c, ls="--", lw=1.2, label=lab)
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
            ax.barh(labels, [score(runs[lab]) for lab in labels], color=colors)
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
