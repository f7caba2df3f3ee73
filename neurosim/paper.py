"""Reproductions of the paper's experiments (``neurosim paper EXPERIMENT``).

Each experiment runs its training points through the sweep machinery into a
resumable store, then writes under ``<out>/<experiment>/``:

* ``<experiment>.png`` and ``.svg`` -- the figure,
* ``<experiment>.csv`` -- one row per run (settings, accuracy, AUC, energy),
* ``<experiment>.md`` -- the runs, then each of the paper's claims next to
  what was measured here and whether it holds,
* ``<experiment>.db`` -- the result store (a rerun skips finished points).

Claims are evaluated as stated, never tuned to: where one does not hold in
a setup (e.g. the tiny ``--quick`` networks), the table says so.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError

__all__ = ["EXPERIMENTS", "Claim", "ExperimentResult", "RunFailed", "run_experiment"]


class RunFailed(RuntimeError):
    """A training run of an experiment failed (it stays in the store as failed)."""


@dataclass
class Claim:
    """One statement of the paper and its check on the measured runs."""

    statement: str
    measured: str
    holds: bool


@dataclass
class ExperimentResult:
    """What an experiment wrote and found."""

    name: str
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)


# ------------------------------- HIGGS ------------------------------------- #

HIGGS_VARIANTS: tuple[tuple[str, bool], ...] = (
    ("bp", False),
    ("rbp", False),
    ("srbp", False),
    ("top-only", False),
    ("bp", True),
    ("rbp", True),
    ("srbp", True),
)
"""(rule, no_derivative) of the HIGGS runs: the paper's Figure 3 set."""
HIGGS_FULL = dict(limit=1_000_000, epochs=5)
HIGGS_QUICK = dict(limit=2000, epochs=2, hidden=(16, 16))
CHANCE_MARGIN = 0.05  # "learns": test AUC at least 0.5 + this
CLEAR_MARGIN = 0.01  # "clearly worse" / "hurts": an AUC gap of at least this


def _label(rule: str, no_derivative: bool) -> str:
    name = "top-only" if rule == "top-only" else rule.upper()
    return name + (" (no f′)" if no_derivative else "")


def higgs(
    out_dir: Path,
    data_dir: str | None,
    quick: bool,
    workers: int | None,
    overrides: dict[str, Any],
    progress: bool,
) -> ExperimentResult:
    """BP, RBP, SRBP and top-only, with and without f', on HIGGS.

    The ``higgs`` preset (5 x 300 tanh, one sigmoid output, batch 100) on the
    first 1,000,000 training rows for 5 epochs, tested on the standard
    500,000 test rows, in fixed mode with 4-bit log-quantized errors on the
    ``ref45`` chip; `overrides` (e.g. ``limit``, ``epochs``, ``mode``)
    replace any of these.
    """
    from neurosim.config import TrainConfig
    from neurosim.data import find_higgs
    from neurosim.higgs import load_higgs_rows
    from neurosim.sweep import SweepSpec, run_sweep

    base: dict[str, Any] = dict(mode="fixed", error_bits=4)
    base.update(HIGGS_QUICK if quick else HIGGS_FULL)
    base.update(overrides)
    TrainConfig.from_dict({"preset": "higgs", **base}).validate()  # errors name the field
    path = find_higgs(data_dir)  # a missing file fails here, before any work
    load_higgs_rows(path)  # build the binary cache once, before the workers start
    base["data_dir"] = str(path.parent)
    spec = SweepSpec(
        name="paper-higgs",
        preset="higgs",
        base=base,
        zips={
            "variant": {
                "rule": [r for r, _ in HIGGS_VARIANTS],
                "no_derivative": [n for _, n in HIGGS_VARIANTS],
            }
        },
    )
    points = spec.points()  # validates every point
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / "higgs.db"
    summary = run_sweep(spec, store_path, workers=workers, progress=progress)
    ids = {p.id for p in points}
    from neurosim.store import Store

    with Store(store_path) as st:
        by_id = {p["id"]: p for p in st.points() if p["id"] in ids}
    runs = []
    for p in points:
        stored = by_id.get(p.id)
        rec = stored["record"] if stored else None
        if rec is None:
            err = stored.get("error") if stored else "not run"
            raise RunFailed(f"run {p.values} failed ({err}); store {store_path}")
        res, hw = rec["results"], rec.get("hardware") or {}
        runs.append(
            {
                "rule": p.config.rule,
                "no_derivative": p.config.no_derivative,
                "label": _label(p.config.rule, p.config.no_derivative),
                "test_auc": res["test_auc"],
                "test_accuracy": res["test_accuracy"],
                "auc_by_epoch": [e["test_auc"] for e in res["epochs"]],
                "energy_nj_per_sample": (hw.get("energy_pj_per_sample") or {}).get("total", 0.0)
                / 1000.0,
                "transport_bits_per_sample": sum(
                    v for k, v in ((hw.get("bus") or {}).get("bits_per_sample") or {}).items()
                    if k != "forward"
                ),
                "cycles_per_sample": (hw.get("cycles_per_sample") or {}).get("train"),
            }
        )
    cfg0 = points[0].config
    result = ExperimentResult(name="higgs", out_dir=out_dir, runs=runs)
    result.claims = _higgs_claims(runs)
    setting = (
        f"{cfg0.data}, {cfg0.limit or 'all'} training rows, net 28-"
        f"{'-'.join(map(str, cfg0.hidden))}-1 {cfg0.act}/{cfg0.output}, batch {cfg0.batch},"
        f" lr {cfg0.lr}, {cfg0.epochs} epochs, mode {cfg0.mode}"
        + (
            f" (W {cfg0.weight_bits} bits, O {cfg0.act_bits} bits, errors "
            f"{'log ' + str(cfg0.error_bits) + '-bit' if cfg0.error_bits else 'linear'})"
            if cfg0.mode == "fixed"
            else ""
        )
        + f", chip {cfg0.chip}, seed {cfg0.seed}"
        + (" — quick mode" if quick else "")
    )
    result.files = _write_outputs(result, setting, summary)
    return result


def _higgs_claims(runs: list[dict[str, Any]]) -> list[Claim]:
    auc = {(r["rule"], r["no_derivative"]): r["test_auc"] for r in runs}
    bits = {(r["rule"], r["no_derivative"]): r["transport_bits_per_sample"] for r in runs}
    learners = [("bp", False), ("rbp", False), ("srbp", False)]
    top = auc[("top-only", False)]

    def f(x: float) -> str:
        return f"{x:.4f}"

    claims = [
        Claim(
            "BP, RBP and SRBP learn (test AUC well above chance, 0.5)",
            ", ".join(f"{r.upper()} {f(auc[(r, n)])}" for r, n in learners),
            all(auc[k] >= 0.5 + CHANCE_MARGIN for k in learners),
        ),
        Claim(
            "Training the top layer only does clearly worse than BP, RBP and SRBP",
            f"top-only {f(top)} vs the weakest of the three {f(min(auc[k] for k in learners))}",
            all(auc[k] >= top + CLEAR_MARGIN for k in learners),
        ),
    ]
    for r in ("bp", "rbp", "srbp"):
        w, wo = auc[(r, False)], auc[(r, True)]
        claims.append(
            Claim(
                f"Dropping f′ from {r.upper()}'s learning rule hurts",
                f"with f′ {f(w)}, without {f(wo)} (Δ {w - wo:+.4f})",
                w >= wo + CLEAR_MARGIN,
            )
        )
    claims.append(
        Claim(
            "SRBP sends fewer error bits per sample than RBP and BP (the chip's skip bus)",
            ", ".join(f"{r.upper()} {bits[(r, False)]:.1f}" for r in ("bp", "rbp", "srbp")),
            bits[("srbp", False)] < min(bits[("rbp", False)], bits[("bp", False)]),
        )
    )
    return claims


# ------------------------------- outputs ----------------------------------- #


def _write_outputs(result: ExperimentResult, setting: str, summary: Any) -> list[Path]:
    out, name = result.out_dir, result.name
    cols = [
        "rule", "no_derivative", "test_auc", "test_accuracy", "energy_nj_per_sample",
        "transport_bits_per_sample", "cycles_per_sample",
    ]  # fmt: skip
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in result.runs:
        w.writerow([r[c] for c in cols])
    csv_path = out / f"{name}.csv"
    csv_path.write_text(buf.getvalue(), encoding="utf-8")

    png, svg = _figure(result)

    md = [
        f"# Paper experiment: {name}",
        "",
        f"Setting: {setting}.",
        "",
        f"Runs: {summary.total} ({summary.skipped} taken from the store, {summary.done} run now).",
        "",
        "| run | test AUC | test accuracy | energy (nJ/sample) | error bits/sample |"
        " cycles/sample |",
        "|---|---|---|---|---|---|",
    ]
    for r in result.runs:
        md.append(
            f"| {r['label']} | {r['test_auc']:.4f} | {r['test_accuracy']:.4f} |"
            f" {r['energy_nj_per_sample']:.1f} | {r['transport_bits_per_sample']:.1f} |"
            f" {r['cycles_per_sample']:.0f} |"
        )
    md += ["", "## The paper's claims, measured", ""]
    md += ["| claim | measured | holds |", "|---|---|---|"]
    for c in result.claims:
        md.append(f"| {c.statement} | {c.measured} | {'yes' if c.holds else '**no**'} |")
    md += ["", f"![{name}]({png.name})", ""]
    md_path = out / f"{name}.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    return [md_path, csv_path, png, svg]


def _figure(result: ExperimentResult) -> tuple[Path, Path]:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from neurosim.report import PNG_META, RC, SVG_META, _rule_color

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(10, 4), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax, bx = fig.subplots(1, 2)
        for r in result.runs:
            ys = r["auc_by_epoch"]
            ax.plot(
                range(1, len(ys) + 1), ys, color=_rule_color(r["rule"]),
                ls="--" if r["no_derivative"] else "-", marker="o", ms=3, label=r["label"],
            )  # fmt: skip
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("test ROC AUC")
        ax.set_title("HIGGS: learning curves (dashed: without f′)")
        ax.legend(fontsize=8)
        labels = [r["label"] for r in result.runs]
        bx.barh(
            labels, [r["energy_nj_per_sample"] for r in result.runs],
            color=[_rule_color(r["rule"]) for r in result.runs],
        )  # fmt: skip
        bx.invert_yaxis()
        bx.set_xlabel("chip energy per training sample (nJ)")
        bx.set_title("Cost on the chip")
        png = result.out_dir / f"{result.name}.png"
        svg = result.out_dir / f"{result.name}.svg"
        fig.savefig(png, format="png", metadata=PNG_META)
        fig.savefig(svg, format="svg", metadata=SVG_META)
    return png, svg


# ------------------------------- registry ---------------------------------- #

EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {"higgs": higgs}
"""Experiment name -> function; ``all`` runs every one in this order."""


def run_experiment(
    name: str,
    out_dir: str | Path = "reports/paper",
    data_dir: str | None = None,
    quick: bool = False,
    workers: int | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool = False,
) -> list[ExperimentResult]:
    """Run one experiment (or ``all``) and write its outputs.

    Parameters
    ----------
    name : str
        A key of :data:`EXPERIMENTS`, or ``all``.
    out_dir : str or Path
        Parent directory; each experiment writes ``<out_dir>/<name>/``.
    data_dir : str, optional
        Where the data files are (else ``$NEUROSIM_DATA``).
    quick : bool
        Tiny networks and subsets, small enough for the test suite.
    workers : int, optional
        Worker processes (default: the CPU count).
    overrides : dict, optional
        Config fields replacing the experiment's settings (e.g. ``epochs``).
    progress : bool
        Progress bar on stderr.

    Returns
    -------
    list of ExperimentResult

    Raises
    ------
    ConfigError
        Unknown experiment or a bad override.
    DataError
        The experiment's data set is missing (the message says where to get it).
    RunFailed
        A training run failed; nothing is written for that experiment.
    """
    if name != "all" and name not in EXPERIMENTS:
        raise ConfigError("experiment", name, f"one of: {', '.join(EXPERIMENTS)}, all")
    names = list(EXPERIMENTS) if name == "all" else [name]
    return [
        EXPERIMENTS[n](Path(out_dir) / n, data_dir, quick, workers, overrides or {}, progress)
        for n in names
    ]
