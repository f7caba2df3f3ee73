"""A search's Pareto front: its table (``neurosim results``) and its figure (``neurosim report``).

:func:`front_rows` lists the front trials of the searches a store holds
(:mod:`neurosim.experiments.search`) with their parameters, validation
objectives and the test accuracy of their re-scoring run.
:func:`search_sections` draws, per search, every trial's energy per training
sample against its validation accuracy with the front highlighted and the
front's test accuracies beside it, and returns the HTML of the report's
search section (the figures are also written as PNG and SVG).

Hypervolumes are of (validation accuracy, energy in nJ per training sample)
with the reference point (accuracy 0, the largest energy of the search's
trials); see :func:`neurosim.experiments.pareto.hypervolume_2d`.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from neurosim.experiments.pareto import hypervolume_2d
from neurosim.experiments.search import search_names, stored_trials
from neurosim.experiments.store import TABLE, Store, query

_RC = {"svg.hashsalt": "neurosim-report", "svg.fonttype": "path", "font.size": 9,
       "axes.grid": True, "axes.axisbelow": True, "grid.alpha": 0.3}  # fmt: skip
_DPI = 100


def _test_figures(store: Store, ids: list[str]) -> dict[str, tuple[float | None, float | None]]:
    """Test accuracy (fraction) and energy (nJ per training sample) of stored points."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for pid in ids:
        rows = query(
            store,
            f"SELECT test_accuracy, energy_pj_per_sample FROM {TABLE}"
            " WHERE id = ? AND status = 'ok'",
            (pid,),
        )
        if rows:
            acc, e = rows[0]
            out[pid] = (acc, None if e is None else e / 1000.0)
    return out


def objectives_of(store: Store, name: str) -> list[str]:
    """The objective names of a stored search (from its fingerprint)."""
    import json

    rows = query(store, "SELECT fingerprint FROM searches WHERE name = ?", (name,))
    return json.loads(rows[0][0])["objectives"] if rows else []


def front_rows(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """The front trials of the store's searches (or of search `name`).

    Returns
    -------
    list of dict
        Per front trial: ``search``, ``number``, ``params`` (the sampled values;
        a list choice as ``"a,b"``), ``objectives`` (name -> validation value:
        accuracy as a fraction, energy in nJ per training sample, area in mm^2,
        throughput in samples/s), ``point_id``, ``test_id`` and
        ``test_accuracy`` (None until the test run is stored ok).
    """
    out = []
    for search in [name] if name is not None else search_names(store):
        objectives = objectives_of(store, search)
        front = [t for t in stored_trials(store, search) if t["front"]]
        tests = _test_figures(store, [t["test_id"] for t in front if t["test_id"]])
        for t in front:
            out.append({
                "search": search, "number": t["number"], "params": t["params"],
                "objectives": dict(zip(objectives, t["values"], strict=True)),
                "point_id": t["point_id"], "test_id": t["test_id"],
                "test_accuracy": tests.get(t["test_id"], (None, None))[0],
            })  # fmt: skip
    return out


def search_hypervolume(
    store: Store, name: str, energy_ref: float | None = None, accuracy_ref: float = 0.0
) -> float | None:
    """Hypervolume of a search's complete trials in (validation accuracy, energy nJ).

    `energy_ref` defaults to the largest energy of the search's trials; None
    when the search does not have both objectives or no complete trial.
    """
    objectives = objectives_of(store, name)
    if "accuracy" not in objectives or "energy" not in objectives:
        return None
    ia, ie = objectives.index("accuracy"), objectives.index("energy")
    pts = [(t["values"][ia], t["values"][ie]) for t in stored_trials(store, name)
           if t["state"] == "complete"]  # fmt: skip
    if not pts:
        return None
    ref = max(e for _, e in pts) if energy_ref is None else energy_ref
    return hypervolume_2d(pts, accuracy_ref, ref)


def _figure(store: Store, name: str) -> Any:
    """Energy vs validation accuracy of every trial, the front highlighted; None
    without both objectives."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    objectives = objectives_of(store, name)
    if "accuracy" not in objectives or "energy" not in objectives:
        return None
    ia, ie = objectives.index("accuracy"), objectives.index("energy")
    trials = [t for t in stored_trials(store, name) if t["state"] == "complete"]
    if not trials:
        return None
    fig = Figure(figsize=(6.4, 4.4), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter([t["values"][ie] for t in trials], [100 * t["values"][ia] for t in trials],
               s=22, color="0.6", label="trial (validation accuracy)", zorder=2)  # fmt: skip
    front = sorted((t for t in trials if t["front"]), key=lambda t: t["values"][ie])
    fx = [t["values"][ie] for t in front]
    ax.step(fx, [100 * t["values"][ia] for t in front], where="post", color="C3", lw=1.2,
            ls="--", zorder=3)  # fmt: skip
    ax.scatter(fx, [100 * t["values"][ia] for t in front], s=36, color="C3",
               label="Pareto front (validation)", zorder=4)  # fmt: skip
    tests = _test_figures(store, [t["test_id"] for t in front if t["test_id"]])
    tx = [(t["values"][ie], tests[t["test_id"]][0]) for t in front if t["test_id"] in tests]
    if tx:
        ax.scatter([x for x, _ in tx], [100 * a for _, a in tx], s=40, marker="x", color="C0",
                   label="front, test accuracy (full training set)", zorder=5)  # fmt: skip
    ax.set_xlabel("energy per training sample (nJ)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"Search {name}: {len(trials)} trials, {len(front)} on the front")
    ax.legend(fontsize="small", loc="best")
    return fig


def search_sections(store_or_path: Store | str | Path, out_dir: str | Path) -> list[str]:
    """HTML of the report's search section (empty for a store without searches);
    each search's figure is written as ``search_<i>.png`` and ``.svg`` in `out_dir`."""
    import matplotlib

    from neurosim.experiments.safe_io import writing

    if not isinstance(store_or_path, Store):
        with Store(store_or_path, readonly=True) as st:
            return search_sections(st, out_dir)
    out = Path(out_dir)
    for old in [*out.glob("search_*.png"), *out.glob("search_*.svg")]:
        old.unlink()  # figures of an earlier report's searches
    sections = []
    for i, name in enumerate(search_names(store_or_path)):
        with matplotlib.rc_context(_RC):
            fig = _figure(store_or_path, name)
            if fig is None:
                continue
            png, svg = out / f"search_{i}.png", out / f"search_{i}.svg"
            with writing(png, "figure"):
                fig.savefig(png, format="png", dpi=_DPI, metadata={"Software": None})
            with writing(svg, "figure"):
                fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
        hv = search_hypervolume(store_or_path, name)
        b64 = base64.b64encode(png.read_bytes()).decode("ascii")
        title = f"Search {name}: energy vs accuracy, Pareto front"
        sections += [
            f"<h2>{html.escape(title)}</h2>",
            f'<figure id="search_{i}"><img alt="{html.escape(title)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>Grey: every trial, accuracy on the '
            "held-out validation samples; red: the trials no other trial dominates (energy "
            "down, accuracy up); blue crosses: the front's configurations trained on the whole "
            f"training set and tested. Hypervolume {hv:.4g} (accuracy fraction x nJ; "
            "reference point: accuracy 0, the largest energy of the trials). "
            f"(also <code>{png.name}</code>, <code>{svg.name}</code>)</figcaption></figure>",
            _front_table(store_or_path, name),
        ]
    return sections


def _front_table(store: Store, name: str) -> str:
    rows = front_rows(store, name)
    if not rows:
        return ""
    params = list(rows[0]["params"])
    objectives = list(rows[0]["objectives"])
    head = ["trial", *params, *(f"validation {o}" for o in objectives), "test accuracy"]
    body = []
    for r in rows:
        cells = [r["number"], *(r["params"][k] for k in params),
                 *(f"{r['objectives'][o]:.4g}" for o in objectives),
                 "-" if r["test_accuracy"] is None else f"{r['test_accuracy']:.4f}"]  # fmt: skip
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"
