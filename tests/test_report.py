"""The HTML report of a result store: figures, table, failed points, edge cases."""

from __future__ import annotations

import base64
import copy
import html
import re
import warnings
from pathlib import Path

import pytest

from neurosim.config import TrainConfig
from neurosim.experiments.report import FIGURES, make_report, pareto_front
from neurosim.experiments.store import Store
from neurosim.experiments.train import train

# 2 rules x 2 weight widths, plus a second seed of one of them
RUNS = (("srbp", 8, 0), ("srbp", 12, 0), ("bp", 8, 0), ("bp", 12, 0), ("bp", 8, 1))
ERROR = "NumericalError: training diverged <in epoch 1> & more"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    out = []
    for rule, wb, seed in RUNS:
        cfg = TrainConfig(
            data="digits", hidden=(16,), epochs=2, mode="fixed", rule=rule,
            weight_bits=wb, error_bits=4, seed=seed,
        )  # fmt: skip
        res, _ = train(cfg)
        out.append(res.to_record())
    return out


def _fill(db: Path, records: list[dict], failed: bool = True) -> Path:
    swept = ["rule", "weight_bits", "seed"]
    with Store(db) as st:
        for i, rec in enumerate(records):
            st.put(f"pt{i}", rec["config"], rec, "ok", swept=swept, sweep="demo")
        if failed:
            cfg = dict(records[0]["config"], weight_bits=4)
            st.put("pt-failed", cfg, None, "failed", error=ERROR, swept=swept, sweep="demo")
    return db


def _report(store, out: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no empty-legend or layout warnings
        return make_report(store, out)


@pytest.fixture(scope="module")
def full(tmp_path_factory, records) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("report")
    db = _fill(tmp / "sweep.db", records)
    return db, _report(db, tmp / "out")


def _srcs(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', page)


def test_report_has_figures_table_and_failed_point(full, records):
    db, path = full
    assert path == path.parent / "report.html" and path.is_file()
    page = path.read_text()
    # every figure as PNG and SVG, each PNG embedded in the page
    for name in FIGURES:
        png, svg = path.parent / f"{name}.png", path.parent / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert svg.read_text().lstrip().startswith("<?xml")
        assert base64.b64encode(png.read_bytes()).decode() in page
    assert page.count("data:image/png;base64,") == len(FIGURES)
    # self-contained: nothing loaded from elsewhere
    assert all(s.startswith("data:") for s in _srcs(page))
    assert "<link" not in page and "<script" not in page and "@import" not in page
    # the table: one row per point, failed point with its (escaped) error
    assert page.count("<tr") == 1 + len(records) + 1
    for i in range(len(records)):
        assert f"<code>pt{i}</code>" in page
    assert "<code>pt-failed</code>" in page
    assert html.escape(ERROR) in page
    assert page.count('<tr class="failed">') == 1
    acc = records[3]["results"]["test_accuracy"] * 100
    assert f"{acc:,.2f}" in page
    # no dates in the figures' metadata
    assert "dc:date" not in (path.parent / "energy_accuracy.svg").read_text()


def test_report_is_deterministic(full):
    db, path = full
    with Store(db) as st:  # from an open store this time
        # a sibling of the first report: the page names the store relative to itself
        again = _report(st, db.parent / "again")
    for name in FIGURES:
        for ext in ("png", "svg"):
            a = (path.parent / f"{name}.{ext}").read_bytes()
            assert a == (again.parent / f"{name}.{ext}").read_bytes(), f"{name}.{ext}"
    assert again.read_text() == path.read_text()


def test_single_point_store_renders(tmp_path, records):
    db = _fill(tmp_path / "one.db", records[:1], failed=False)
    path = _report(db, tmp_path / "out")
    page = path.read_text()
    assert "<code>pt0</code>" in page
    # one bit width only: no accuracy-vs-bits figure, a note instead
    assert not (path.parent / "accuracy_vs_bits.png").exists()
    assert "No bit width" in page
    for name in set(FIGURES) - {"accuracy_vs_bits"}:
        assert (path.parent / f"{name}.png").exists()
        assert (path.parent / f"{name}.svg").exists()
    assert page.count("data:image/png;base64,") == len(FIGURES) - 1


def test_only_failed_points_and_empty_store(tmp_path, records):
    db = tmp_path / "failed.db"
    with Store(db) as st:
        st.put("x", records[0]["config"], None, "failed", error="boom")
    page = _report(db, tmp_path / "a").read_text()
    assert "<code>x</code>" in page and "boom" in page
    assert "data:image" not in page and "No finished points" in page
    Store(tmp_path / "empty.db").close()  # a store with no points (reading creates none)
    page = _report(tmp_path / "empty.db", tmp_path / "b").read_text()
    assert "no points" in page


def test_record_without_hardware_renders(tmp_path, records):
    rec = dict(records[0], hardware=None)
    db = tmp_path / "nohw.db"
    with Store(db) as st:
        st.put("nohw", rec["config"], rec, "ok")
    path = _report(db, tmp_path / "out")
    assert (path.parent / "learning_curves.png").exists()
    assert not (path.parent / "energy_accuracy.png").exists()


def test_pareto_front():
    pts = [(3.0, 50.0), (1.0, 10.0), (2.0, 40.0), (2.5, 30.0), (1.0, 20.0), (4.0, 50.0)]
    assert pareto_front(pts) == [(1.0, 20.0), (2.0, 40.0), (3.0, 50.0)]
    assert pareto_front([(1.0, 5.0)]) == [(1.0, 5.0)]
    assert pareto_front([]) == []


NEW_HW = ("power_mw", "static_power_mw", "latency_cycles_per_sample", "utilization",
          "bottleneck", "dram_bits_per_sample", "vdd_v", "update")  # fmt: skip


def _old_record(rec: dict) -> dict:
    """`rec` as stores written before issue 15's hardware fields hold it."""
    old = copy.deepcopy(rec)
    for k in NEW_HW:
        old["hardware"].pop(k)
    return old


def _heads(page: str) -> list[str]:
    return re.findall(r"<th>([^<]*)</th>", page)


def _row(page: str, pid: str) -> list[str]:
    row = re.search(rf"<tr[^>]*><td class=\"text\"><code>{pid}</code>.*?</tr>", page).group(0)
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


def test_report_power_latency_and_utilisation(full, records):
    _, path = full
    page = path.read_text()
    heads = _heads(page)
    energy = heads.index("energy (nJ/sample)")
    assert heads[energy + 1 : energy + 3] == ["power (mW)", "static (mW)"]
    assert "latency (cycles)" in heads and "samples/s" in heads
    # every point on ref45 with the same input: DRAM bits and bottleneck agree,
    # so they are named once above the table instead of a column each
    assert "DRAM bits/sample" not in heads and "bottleneck" not in heads
    h = records[0]["hardware"]
    dram = h["dram_bits_per_sample"]["total"]
    assert (
        f"Every finished point: DRAM bits/sample {dram:,.0f}, bottleneck {h['bottleneck']}."
        in page
    )
    cells = dict(zip(heads, _row(page, "pt0"), strict=True))
    assert cells["power (mW)"] == f"{h['power_mw']['total']:,.1f}"
    assert cells["static (mW)"] == f"{h['power_mw']['static']:,.1f}"
    assert cells["latency (cycles)"] == f"{h['latency_cycles_per_sample']:,.0f}"
    assert (path.parent / "utilization.png").is_file() and 'id="utilization"' in page


def test_old_records_report_with_blank_cells(tmp_path, records):
    new = copy.deepcopy(records[1])
    new["hardware"]["bottleneck"] = "chain0"  # the points now differ
    db = tmp_path / "mixed.db"
    with Store(db) as st:
        st.put("old", records[0]["config"], _old_record(records[0]), "ok")
        st.put("new", records[1]["config"], records[1], "ok")
        st.put("new2", records[2]["config"], new, "ok")
    path = _report(db, tmp_path / "out")
    page = path.read_text()
    heads = _heads(page)
    assert {"power (mW)", "DRAM bits/sample", "bottleneck"} <= set(heads)
    old = dict(zip(heads, _row(page, "old"), strict=True))
    for col in ("power (mW)", "static (mW)", "latency (cycles)", "DRAM bits/sample",
                "bottleneck"):  # fmt: skip
        assert old[col] == "&ndash;", col
    assert dict(zip(heads, _row(page, "new2"), strict=True))["bottleneck"] == "chain0"
    assert (path.parent / "utilization.png").is_file()
    # a store of old records only: no new columns, a note for the figure
    db = tmp_path / "old.db"
    with Store(db) as st:
        st.put("old", records[0]["config"], _old_record(records[0]), "ok")
    page = _report(db, tmp_path / "old").read_text()
    assert "power (mW)" not in _heads(page) and "bottleneck" not in _heads(page)
    assert not (tmp_path / "old" / "utilization.png").exists()
    assert "No finished point has utilisation figures" in page
