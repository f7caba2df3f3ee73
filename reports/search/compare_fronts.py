"""Compare a search's front with a grid's of the same budget (one store holds both).

    python reports/search/compare_fronts.py runs/search-mnist5k.db \
        --search mnist5k-search --grid mnist5k-grid -o reports/search

Both are scored on the same held-out validation samples; the hypervolumes use
one reference point: accuracy 0 and the largest energy of any run of either.
Writes ``fronts.png``, ``fronts.svg`` and ``fronts.md`` (the numbers).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from neurosim.experiments.pareto import front_indices, hypervolume_2d
from neurosim.experiments.search import stored_trials
from neurosim.experiments.store import Store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("store")
    ap.add_argument("--search", required=True)
    ap.add_argument("--grid", required=True, help="the sweep name of the grid's points")
    ap.add_argument("-o", "--out", default="reports/search")
    args = ap.parse_args()
    with Store(args.store, readonly=True) as st:
        trials = [t for t in stored_trials(st, args.search) if t["state"] == "complete"]
        rows = [r for r in st.rows("ok") if r["sweep"] == args.grid]
        tests = {r["id"]: r["test_accuracy"] for r in st.rows("ok")}
    search = [(t["values"][0], t["values"][1]) for t in trials]
    grid = [(r["test_accuracy"], r["energy_pj_per_sample"] / 1000.0) for r in rows]
    ref = max(e for _, e in search + grid)
    mm = ["max", "min"]
    sf = sorted((search[i] for i in front_indices(search, mm)), key=lambda p: p[1])
    gf = sorted((grid[i] for i in front_indices(grid, mm)), key=lambda p: p[1])
    hv_s, hv_g = hypervolume_2d(search, 0.0, ref), hypervolume_2d(grid, 0.0, ref)
    distinct = len({t["point_id"] for t in trials})
    fig = Figure(figsize=(6.4, 4.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter([e for _, e in grid], [100 * a for a, _ in grid], s=30, marker="s",
               facecolors="none", edgecolors="C0", label=f"grid: {len(grid)} runs")  # fmt: skip
    ax.scatter([e for _, e in search], [100 * a for a, _ in search], s=14, color="C3",
               label=f"search: {len(trials)} trials ({distinct} configurations)")  # fmt: skip
    for front, color, name, hv in ((gf, "C0", "grid", hv_g), (sf, "C3", "search", hv_s)):
        xs = [e for _, e in front] + [ref]
        ys = [100 * a for a, _ in front] + [100 * front[-1][0]]
        label = f"{name} front (hypervolume {hv:.2f})"
        ax.step(xs, ys, where="post", color=color, lw=1.3, label=label)
    ax.set_xlabel("energy per training sample (nJ)")
    ax.set_ylabel("validation accuracy (%), 800 held-out samples")
    ax.set_title("mnist5k, 784-100-100-10 SRBP: search vs grid, 40 runs each")
    ax.legend(fontsize="small", loc="lower right")
    out = Path(args.out)
    fig.savefig(out / "fronts.png", metadata={"Software": None})
    fig.savefig(out / "fronts.svg", metadata={"Date": None, "Creator": None})
    front_tests = [(t["params"], t["values"], tests.get(t["test_id"])) for t in trials
                   if t["front"]]  # fmt: skip
    lines = [
        "# Search vs grid of the same budget (mnist5k)", "",
        f"Reference point: accuracy 0, energy {ref:.3f} nJ per training sample "
        "(the largest of any run). Hypervolume in accuracy fraction x nJ.", "",
        "| | runs | distinct configurations | front size | hypervolume |",
        "| --- | --- | --- | --- | --- |",
        f"| search ({args.search}) | {len(trials)} | {distinct} | {len(sf)} | {hv_s:.4f} |",
        f"| grid ({args.grid}) | {len(grid)} | {len(grid)} | {len(gf)} | {hv_g:.4f} |",
        "", "Search front, re-scored on the test set (trained on all 4000 training samples):",
        "", "| params | validation accuracy | energy nJ | test accuracy |",
        "| --- | --- | --- | --- |",
        *(f"| {p} | {v[0]:.4f} | {v[1]:.3f} | {'-' if a is None else format(a, '.4f')} |"
          for p, v, a in sorted(front_tests, key=lambda x: x[1][1])),
        "",
    ]  # fmt: skip
    (out / "fronts.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
