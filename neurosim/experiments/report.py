"""An HTML report of a result store: what each learning rule costs and achieves.

:func:`make_report` reads every point of a :class:`~neurosim.experiments.store.Store` and
writes, into one directory, a set of matplotlib figures (each as PNG and SVG)
and ``report.html``, one self-contained page (inline CSS, the PNGs embedded as
base64 data URIs, nothing loaded from elsewhere):

* ``energy_accuracy``  energy per training sample vs test accuracy, by rule,
  with the Pareto front (least energy for a given accuracy) as a step line;
* ``accuracy_vs_bits`` test accuracy vs each bit width that takes more than
  one value (weight, activation, error, feedback), one line per rule;
* ``energy_breakdown`` energy per sample by phase and by action, per rule;
* ``transport_bits``   error-transport bits per training sample, per rule;
* ``cycles_accuracy``  cycles per training sample vs test accuracy;
* ``utilization``      busy fractions of the MAC arrays, skip bus, backward
  chain, forward link and SRAM ports, per configuration;
* ``learning_curves``  test accuracy per epoch, one line per point;

followed by a table of every point (failed points with their error).

Figures are drawn on the Agg canvas without touching pyplot's global state
and are byte-for-byte reproducible (fixed SVG hash salt, no dates).
"""

from __future__ import annotations

import base64
import html
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from neurosim.cost.bill import PHASES
from neurosim.experiments.report_table import (
    CSS,
    Point,
    common_settings,
    finite,
    hw_common,
    load_points,
    pct,
    points_table,
    swept_keys,
)
from neurosim.experiments.safe_io import write_text, writing
from neurosim.experiments.search_report import search_sections
from neurosim.experiments.store import Store
from neurosim.experiments.svg_titles import add_titles
from neurosim.nn.rules import RULES

BIT_FIELDS: tuple[tuple[str, str], ...] = (
    ("weight_bits", "weight bits"),
    ("act_bits", "activation bits"),
    ("error_bits", "error code bits (0 = linear)"),
    ("feedback_bits", "feedback (C^h) bits"),
)
FIGURES = (
    "energy_accuracy",
    "accuracy_vs_bits",
    "energy_breakdown",
    "transport_bits",
    "cycles_accuracy",
    "utilization",
    "learning_curves",
)
BINARY_FIGURES = ("energy_auc",)
"""Figures drawn only when some point has a test AUC (binary data sets)."""
UTIL_CLASSES = ("mac", "skip", "chain", "forward", "sram")
"""Resource classes of ``hardware.utilization`` in the utilisation figure."""
MAX_GROUPS = 24  # more configurations than this: one group of bars per rule
LOG_RANGE = 20.0  # use a log axis when max/min exceeds this
DPI = 100
RC = {
    "svg.hashsalt": "neurosim-report",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
}
PNG_META = {"Software": None, "Date": None}
SVG_META = {"Date": None, "Creator": None}


# ----------------------------------------------------------------------
# colours and figure plumbing


def _rule_order(rules: Iterable[str]) -> list[str]:
    known = list(RULES)
    present = set(rules)
    return [r for r in known if r in present] + sorted(present - set(known))


def _rule_color(rule: str) -> Any:
    known = list(RULES)
    cmap = matplotlib.colormaps["tab10"]
    i = known.index(rule) if rule in known else len(known) + sum(map(ord, rule))
    return cmap(i % 10)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@dataclass
class FigureFile:
    name: str
    title: str
    caption: str
    png: Path
    svg: Path
    png_b64: str


def _save(fig: Figure, out_dir: Path, name: str, title: str, caption: str) -> FigureFile:
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    with matplotlib.rc_context(RC):
        with writing(png, "figure"):  # a failed write: one line, no partial file
            fig.savefig(png, format="png", dpi=DPI, metadata=PNG_META)
        with writing(svg, "figure"):
            fig.savefig(svg, format="svg", metadata=SVG_META)
            add_titles(svg, getattr(fig, "point_titles", {}))  # hover text per point
    return FigureFile(
        name, title, caption, png, svg, base64.b64encode(png.read_bytes()).decode("ascii")
    )


def _log_if_wide(ax: Any, values: list[float], axis: str = "x") -> None:
    pos = [v for v in values if v > 0]
    if len(pos) == len(values) and pos and max(pos) / min(pos) > LOG_RANGE:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _legend(ax: Any, **kw: Any) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize="small", **kw)


def pareto_front(xy: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by another with no more energy ``x`` and no less accuracy ``y``.

    Returned by increasing ``x`` (and so increasing ``y``).
    """
    front: list[tuple[float, float]] = []
    for x, y in sorted(xy, key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front


# ----------------------------------------------------------------------
# the figures (each returns None when it has nothing to draw)


TITLE_WIDTHS = ("weight_bits", "act_bits", "error_bits", "feedback_bits")
"""Config fields every point's hover text names (with the swept ones)."""


def _point_title(p: Point, keys: list[str], what: tuple[str, str], x: float, y: float) -> str:
    """Hover text of one plotted point: its configuration, its two values, its id."""
    conf = "; ".join(f"{k} = {p.row.get(k)}" for k in keys if p.row.get(k) is not None)
    return f"{conf}\n{what[0]} {x:.6g}, {what[1]} {y:.6g}\npoint {p.id}"


def _scatter_by_rule(
    ax, data: list[tuple], what: tuple[str, str] = ("energy nJ", "accuracy %"), **kw: Any
) -> None:
    """Scatter ``(point, x, y)`` triples, one colour and legend entry per rule.

    Each rule's markers get a ``gid``, and the figure's ``point_titles`` maps it
    to one hover text per marker (:func:`_point_title`; ``what`` names x and y),
    which :func:`_save` writes into the SVG as ``<title>`` elements.
    """
    keys = swept_keys([p for p, _, _ in data])
    keys += [k for k in TITLE_WIDTHS if k not in keys]
    titles = ax.figure.__dict__.setdefault("point_titles", {})
    for rule in _rule_order(p.rule for p, _, _ in data):
        sel = [(p, x, y) for p, x, y in data if p.rule == rule]
        coll = ax.scatter(
            [x for _, x, _ in sel], [y for _, _, y in sel],
            s=28, color=_rule_color(rule), label=rule, **kw,
        )  # fmt: skip
        gid = f"points-{len(titles)}"
        coll.set_gid(gid)
        titles[gid] = [_point_title(p, keys, what, x, y) for p, x, y in sel]


def _fig_energy_metric(
    data: list[tuple], ylabel: str, title: str, pareto: bool, what: str = "accuracy %"
) -> Figure | None:
    """Energy per sample (x) against a figure of merit (y), one colour per rule."""
    data = [(p, e, a) for p, e, a in data if e is not None and a is not None]
    if not data:
        return None
    fig = _new_figure(6.4, 4.4)
    ax = fig.add_subplot()
    _scatter_by_rule(ax, data, ("energy nJ", what), zorder=3)
    if pareto:
        front = pareto_front([(e, a) for _, e, a in data])
        fx, fy = [x for x, _ in front], [y for _, y in front]
        xmax = max(e for _, e, _ in data)
        if xmax > fx[-1]:
            fx, fy = [*fx, xmax], [*fy, fy[-1]]
        ax.step(fx, fy, where="post", color="0.2", lw=1.2, ls="--", label="Pareto front",
                zorder=2)  # fmt: skip
    _log_if_wide(ax, [e for _, e, _ in data])
    ax.set_xlabel("energy per training sample (nJ)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend(ax, loc="best")
    return fig


def _fig_energy_accuracy(pts: list[Point]) -> Figure | None:
    return _fig_energy_metric(
        [(p, p.energy_nj, p.accuracy) for p in pts], "test accuracy (%)",
        "Energy to learn vs accuracy", pareto=True,
    )  # fmt: skip


def _fig_energy_auc(pts: list[Point]) -> Figure | None:
    return _fig_energy_metric(
        [(p, p.energy_nj, p.auc) for p in pts], "test ROC AUC",
        "Energy to learn vs AUC (binary classification)", pareto=False, what="AUC",
    )  # fmt: skip


def _width(v: Any) -> Any:
    """A width as a dict key: an integer, or a per-layer list as a tuple."""
    return tuple(v) if isinstance(v, list) else v


def _width_order(v: Any) -> tuple:
    """Widths ordered by their mean over the layers, then as written."""
    vals = v if isinstance(v, tuple) else (v,)
    return (sum(vals) / len(vals), str(v))


def _width_label(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple) else str(v)


def _bit_fields(pts: list[Point]) -> list[tuple[str, str]]:
    out = []
    for key, label in BIT_FIELDS:
        vals = {_width(p.config.get(key)) for p in pts if p.accuracy is not None}
        vals.discard(None)
        if len(vals) > 1:
            out.append((key, label))
    return out


def _fig_accuracy_bits(pts: list[Point]) -> Figure | None:
    pts = [p for p in pts if p.accuracy is not None]
    widths = _bit_fields(pts)
    if not widths:
        return None
    fig = _new_figure(max(5.0, 4.0 * len(widths) + 0.6), 3.8)
    axes = fig.subplots(1, len(widths), squeeze=False)[0]
    for ax, (key, label) in zip(axes, widths, strict=True):
        got = {_width(p.config[key]) for p in pts if p.config.get(key) is not None}
        values = sorted(got, key=_width_order)
        # per-layer lists have no place on a number line: one tick each, in order
        at = ({v: v for v in values} if all(isinstance(v, int) for v in values)
              else {v: i for i, v in enumerate(values)})  # fmt: skip
        for rule in _rule_order(p.rule for p in pts):
            groups: dict[Any, list[float]] = defaultdict(list)
            for p in pts:
                if p.rule == rule and p.config.get(key) is not None:
                    groups[at[_width(p.config[key])]].append(p.accuracy)
            if not groups:
                continue
            xs = sorted(groups)
            color = _rule_color(rule)
            ax.plot(
                xs, [sum(groups[x]) / len(groups[x]) for x in xs],
                "o-", color=color, label=rule, ms=5,
            )  # fmt: skip
            ax.scatter(
                [x for x in xs for _ in groups[x]], [a for x in xs for a in groups[x]],
                s=10, color=color, alpha=0.35, zorder=1,
            )  # fmt: skip
        ax.set_xticks([at[v] for v in values])
        if key == "error_bits":
            ax.set_xticklabels(["lin" if v == 0 else _width_label(v) for v in values])
        elif any(isinstance(v, tuple) for v in values):
            ax.set_xticklabels([_width_label(v) for v in values], rotation=30, fontsize=7)
        ax.set_xlabel(f"{label}")
        ax.set_ylabel("test accuracy (%)")
    _legend(axes[0], loc="best")
    fig.suptitle("Test accuracy vs bit width (mean per rule)")
    return fig


def _mean_by_rule(
    pts: list[Point], get: Callable[[Point], dict[str, float] | None]
) -> tuple[list[str], list[str], dict[str, dict[str, float]]]:
    """Mean of a per-point mapping over each rule's points; keys in first-seen order."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    keys: dict[str, None] = {}
    for p in pts:
        d = get(p)
        if not d:
            continue
        counts[p.rule] += 1
        for k, v in d.items():
            fv = finite(v)
            if fv is not None:
                sums[p.rule][k] += fv
                keys.setdefault(k)
    rules = _rule_order(counts)
    means = {r: {k: sums[r][k] / counts[r] for k in keys} for r in rules}
    return rules, list(keys), means


def _stacked(ax: Any, rules: list[str], keys: list[str], means: dict, colors: list) -> None:
    bottom = [0.0] * len(rules)
    for i, k in enumerate(keys):
        h = [means[r].get(k, 0.0) / 1000.0 for r in rules]
        ax.bar(rules, h, bottom=bottom, color=colors[i % len(colors)], label=k, width=0.6)
        bottom = [b + v for b, v in zip(bottom, h, strict=True)]
    ax.set_ylabel("energy per training sample (nJ)")
    ax.set_xlabel("learning rule")
    _legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _fig_energy_breakdown(pts: list[Point]) -> Figure | None:
    def phase(p: Point) -> dict[str, float] | None:
        return (p.hardware.get("energy_pj_per_sample") or {}).get("by_phase")

    def action(p: Point) -> dict[str, float] | None:
        return (p.hardware.get("energy_pj_per_sample") or {}).get("by_action")

    rules, pkeys, pmeans = _mean_by_rule(pts, phase)
    if not rules:
        return None
    pkeys = [k for k in PHASES if k in pkeys] + sorted(set(pkeys) - set(PHASES))
    _, akeys, ameans = _mean_by_rule(pts, action)
    # largest actions first, those that cost nothing left out
    totals = {k: sum(ameans[r].get(k, 0.0) for r in rules) for k in akeys}
    akeys = sorted((k for k in akeys if totals[k] > 0), key=lambda k: (-totals[k], k))
    pkeys = [k for k in pkeys if any(pmeans[r].get(k, 0.0) for r in rules)] or pkeys
    width = max(8.0, 2.2 + 1.3 * len(rules) * 2)
    fig = _new_figure(width, 4.0)
    ax1, ax2 = fig.subplots(1, 2)
    tab10 = [matplotlib.colormaps["tab10"](i) for i in range(10)]
    tab20 = [matplotlib.colormaps["tab20"](i) for i in range(20)]
    _stacked(ax1, rules, pkeys, pmeans, tab10)
    ax1.set_title("by phase (mean over the rule's points)")
    _stacked(ax2, rules, akeys, ameans, tab20)
    ax2.set_title("by action (mean over the rule's points)")
    return fig


def _fig_transport(pts: list[Point]) -> Figure | None:
    by_rule: dict[str, list[float]] = defaultdict(list)
    for p in pts:
        v = finite(p.row.get("transport_bits_per_sample"))
        if v is not None:
            by_rule[p.rule].append(v)
    if not by_rule:
        return None
    rules = _rule_order(by_rule)
    means = [sum(by_rule[r]) / len(by_rule[r]) for r in rules]
    lo = [m - min(by_rule[r]) for r, m in zip(rules, means, strict=True)]
    hi = [max(by_rule[r]) - m for r, m in zip(rules, means, strict=True)]
    fig = _new_figure(max(4.4, 1.8 + 0.9 * len(rules)), 4.2)
    ax = fig.add_subplot()
    bars = ax.bar(
        rules, means, color=[_rule_color(r) for r in rules], width=0.6,
        yerr=[lo, hi] if any(len(by_rule[r]) > 1 for r in rules) else None, capsize=4,
    )  # fmt: skip
    ax.bar_label(bars, fmt="%.0f", padding=2, fontsize="small")
    ax.set_xlabel("learning rule")
    ax.set_ylabel("error-transport bits per training sample")
    ax.set_title("Error transport (mean; whiskers: min to max)")
    ax.margins(y=0.15)
    return fig


def _fig_cycles(pts: list[Point]) -> Figure | None:
    data = [(p, finite(p.row.get("cycles_per_sample")), p.accuracy) for p in pts]
    data = [(p, c, a) for p, c, a in data if c is not None and a is not None]
    if not data:
        return None
    fig = _new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    _scatter_by_rule(ax, data, ("cycles", "accuracy %"))
    _log_if_wide(ax, [c for _, c, _ in data])
    ax.set_xlabel("cycles per training sample")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Time to learn vs accuracy")
    _legend(ax, loc="best")
    return fig


def _configurations(pts: list[Point]) -> dict[str, list[Point]]:
    """The points grouped by configuration (every swept setting but the seed),
    labelled ``rule, key=value, ...``; by rule alone past :data:`MAX_GROUPS`."""
    keys = [k for k in swept_keys(pts) if k not in ("rule", "seed")]

    def value(p: Point, k: str) -> str:
        v = p.row.get(k)
        return Path(v).stem if k == "chip" and isinstance(v, str) else str(v)

    groups: dict[str, list[Point]] = defaultdict(list)
    for p in sorted(pts, key=lambda p: (_rule_order(q.rule for q in pts).index(p.rule), p.id)):
        groups[", ".join([p.rule, *(f"{k}={value(p, k)}" for k in keys)])].append(p)
    if len(groups) > MAX_GROUPS:
        groups = defaultdict(list)
        for p in pts:
            groups[p.rule].append(p)
        groups = {r: groups[r] for r in _rule_order(groups)}
    return dict(groups)


def _fig_utilization(pts: list[Point]) -> Figure | None:
    pts = [p for p in pts if isinstance(p.hw("utilization"), dict)]
    if not pts:
        return None
    groups = _configurations(pts)
    labels = list(groups)
    width = 0.8 / len(UTIL_CLASSES)
    fig = _new_figure(max(6.4, 2.4 + 0.7 * len(labels)), 4.4)
    ax = fig.add_subplot()
    for i, cls in enumerate(UTIL_CLASSES):
        means = []
        for lab in labels:
            vals = [finite(p.hw("utilization", cls)) for p in groups[lab]]
            vals = [v for v in vals if v is not None]
            means.append(100.0 * sum(vals) / len(vals) if vals else 0.0)
        xs = [j + (i - (len(UTIL_CLASSES) - 1) / 2) * width for j in range(len(labels))]
        ax.bar(xs, means, width=width, label=cls, color=matplotlib.colormaps["tab10"](i))
    ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 3 else 0,
                  ha="right" if len(labels) > 3 else "center")  # fmt: skip
    ax.set_ylim(0, 105)
    ax.set_ylabel("busy fraction of the batch schedule (%)")
    ax.set_title("Utilisation: busiest resource of each class (mean over seeds)")
    _legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig


def _fig_learning_curves(pts: list[Point]) -> Figure | None:
    curves = []
    for p in pts:
        ep = ((p.record or {}).get("results") or {}).get("epochs") or []
        xy = [(e.get("epoch"), pct(e.get("test_accuracy"))) for e in ep]
        xy = [(x, y) for x, y in xy if x is not None and y is not None]
        if xy:
            curves.append((p, xy))
    if not curves:
        return None
    fig = _new_figure(6.4, 4.2)
    ax = fig.add_subplot()
    labelled: set[str] = set()
    for p, xy in sorted(curves, key=lambda c: (_rule_order([c[0].rule]), c[0].id)):
        label = p.rule if p.rule not in labelled else None
        labelled.add(p.rule)
        ax.plot(
            [x for x, _ in xy], [y for _, y in xy], "o-", ms=3, lw=1.0, alpha=0.8,
            color=_rule_color(p.rule), label=label,
        )  # fmt: skip
    epochs = sorted({x for _, xy in curves for x, _ in xy})
    if len(epochs) <= 12:
        ax.set_xticks(epochs)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Learning curves (one line per point)")
    _legend(ax, loc="best")
    return fig


# ----------------------------------------------------------------------
# the page


def _figure_html(f: FigureFile) -> str:
    return (
        f'<figure id="{f.name}">'
        f'<img alt="{html.escape(f.title)}" src="data:image/png;base64,{f.png_b64}">'
        f"<figcaption>{html.escape(f.caption)} (also <code>{f.png.name}</code>,"
        f" <code>{f.svg.name}</code>)</figcaption></figure>"
    )


SECTIONS: tuple[tuple[str, str, str, Callable[[list[Point]], Figure | None], str], ...] = (
    (
        "energy_accuracy",
        "Energy per training sample vs test accuracy",
        "Each point is one run, coloured by rule; the dashed step line is the Pareto"
        " front (the least energy per training sample that reaches a given accuracy).",
        _fig_energy_accuracy,
        "No finished point has both an energy and an accuracy.",
    ),
    (
        "energy_auc",
        "Energy per training sample vs test AUC",
        "Binary data sets (higgs): the area under the test ROC curve of each run,"
        " coloured by rule.",
        _fig_energy_auc,
        "",  # multiclass stores: no section at all
    ),
    (
        "accuracy_vs_bits",
        "Test accuracy vs bit width",
        "One panel per bit width that takes more than one value; one line per rule,"
        " the mean over seeds and the other settings (faint dots: single runs).",
        _fig_accuracy_bits,
        "No bit width (weight, activation, error, feedback) takes more than one value"
        " among the finished points.",
    ),
    (
        "energy_breakdown",
        "Energy per training sample by phase and by action",
        "Stacked bars per rule, mean over the rule's points (nJ per training sample).",
        _fig_energy_breakdown,
        "No finished point has an energy breakdown.",
    ),
    (
        "transport_bits",
        "Error-transport bits per training sample",
        "Bits per training sample on the error links (all links but the forward one),"
        " mean per rule with min-to-max whiskers.",
        _fig_transport,
        "No finished point has bus traffic figures.",
    ),
    (
        "cycles_accuracy",
        "Cycles per training sample vs test accuracy",
        "Training cycles per sample from the timing model (forward, backward and the"
        " shared minibatch update), coloured by rule.",
        _fig_cycles,
        "No finished point has both a cycle count and an accuracy.",
    ),
    (
        "utilization",
        "Utilisation of the chip's resources",
        "Busy fraction of the busiest MAC array, skip bus, backward chain, forward"
        " link and SRAM port in a representative minibatch's schedule (pipelined or"
        " serial as the chip says), one group of bars per configuration; the"
        " bottleneck column of the table names the busiest resource.",
        _fig_utilization,
        "No finished point has utilisation figures (records written before they existed).",
    ),
    (
        "learning_curves",
        "Learning curves",
        "Test accuracy after each epoch, one line per point, coloured by rule.",
        _fig_learning_curves,
        "No finished point has per-epoch figures.",
    ),
)
"""The report's figure sections: (name, title, caption, draw, note when empty; no
section at all when the note is empty and there is nothing to draw)."""


def store_name(store: Path, out_dir: Path) -> str:
    """The store's path relative to the report's directory (``../sweep.db``), so
    that the report names no directory of the machine that wrote it."""
    try:
        return Path(os.path.relpath(store.resolve(), out_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return store.name


def _summary(
    points: list[Point], ok: list[Point], failed: list[Point], source: str
) -> list[str]:
    """The paragraphs above the figures: the store (``source``, relative to the
    report), its counts, its sweeps, common settings."""
    sweeps = sorted({p.row.get("sweep") for p in points if p.row.get("sweep")})
    summary = [
        f"<p>Store <code>{html.escape(source)}</code>: {len(points)} points,"
        f" {len(ok)} finished, {len(failed)} failed or unfinished."
    ]
    if sweeps:
        summary.append(
            " Sweeps: " + ", ".join(f"<code>{html.escape(s)}</code>" for s in sweeps) + "."
        )
    summary.append("</p>")
    if points:
        common = common_settings(points)
        if common:
            summary.append(f"<p>Common settings: {common}.</p>")
        hw = hw_common(points)
        if hw:
            summary.append(f"<p>Every finished point: {hw}.</p>")
    if not ok:
        summary.append('<p class="note">No finished points: no figures.</p>')
    return summary


def _page(summary: list[str], sections: list[str], table: str) -> str:
    """The whole ``report.html``: head, summary, figure sections, the table of every point."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            "<title>neurosim report</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            "<h1>neurosim report: learning on the chip, accuracy and cost</h1>",
            *summary,
            *sections,
            "<h2>Every point</h2>",
            "<p>Swept settings, accuracy, energy per training sample, power, cycles,"
            " latency, throughput and error-transport bits of every point (DRAM bits and"
            " the bottleneck where points differ; blank where a record predates the"
            " field); &#9733; marks the Pareto front.</p>",
            table,
            "</body>",
            "</html>",
            "",
        ]
    )


def make_report(store_or_path: Store | str | Path, out_dir: str | Path) -> Path:
    """Write the figures and ``report.html`` of a result store.

    Parameters
    ----------
    store_or_path : Store, str or Path
        An open store, or the path of one (opened and closed here).
    out_dir : str or Path
        Directory of the output (created if needed); figures are written as
        ``<name>.png`` and ``<name>.svg`` (see :data:`FIGURES`).

    Returns
    -------
    Path
        The path of ``report.html``.
    """
    out = Path(out_dir)
    if isinstance(store_or_path, Store):
        store, source = store_or_path, store_or_path.path
        points = load_points(store)
    else:
        source = Path(store_or_path)
        with Store(source, readonly=True) as store:
            points = load_points(store)
    with writing(out, "report directory"):
        out.mkdir(parents=True, exist_ok=True)

    ok = [p for p in points if p.ok]
    failed = [p for p in points if not p.ok]
    # stale figures of an earlier report must not survive into this one
    for name in (*FIGURES, *BINARY_FIGURES):
        for ext in ("png", "svg"):
            (out / f"{name}.{ext}").unlink(missing_ok=True)

    sections = []
    with matplotlib.rc_context(RC):
        for name, title, caption, draw, empty in SECTIONS:
            fig = draw(ok)
            if fig is None and not empty:
                continue
            sections.append(f"<h2>{html.escape(title)}</h2>")
            if fig is None:
                sections.append(f'<p class="note">{html.escape(empty)}</p>')
                continue
            sections.append(_figure_html(_save(fig, out, name, title, caption)))

    sections += search_sections(store_or_path, out)  # searches' fronts (none: nothing)
    xy = {p.id: (p.energy_nj, p.accuracy) for p in ok}
    xy = {k: v for k, v in xy.items() if v[0] is not None and v[1] is not None}
    front = set(pareto_front(list(xy.values())))
    front_ids = {k for k, v in xy.items() if v in front}

    summary = _summary(points, ok, failed, store_name(source, out))
    if not ok:
        sections = []

    no_points = '<p class="note">The store has no points.</p>'
    table = points_table(points, front_ids) if points else no_points
    path = out / "report.html"
    write_text(path, _page(summary, sections, table), what="report")
    return path
