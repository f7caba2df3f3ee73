"""Reports people can read: hover text on every plotted point, no absolute paths."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from neurosim.config import TrainConfig
from neurosim.experiments.report import make_report
from neurosim.experiments.store import Store
from neurosim.experiments.svg_titles import add_titles
from neurosim.experiments.train import train

SVG = "{http://www.w3.org/2000/svg}"
RUNS = (("srbp", 8), ("srbp", 12), ("bp", 8))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, Path, dict[str, tuple[str, int]]]:
    tmp = tmp_path_factory.mktemp("titles")
    (tmp / "runs").mkdir()
    db = tmp / "runs" / "sweep.db"
    want = {}
    with Store(db) as st:
        for i, (rule, wb) in enumerate(RUNS):
            cfg = TrainConfig(data="digits", hidden=(16,), epochs=1, limit=200, mode="fixed",
                              rule=rule, weight_bits=wb, error_bits=4)  # fmt: skip
            rec = train(cfg)[0].to_record()
            st.put(f"pt{i}", rec["config"], rec, "ok", swept=["rule", "weight_bits"], sweep="t")
            want[f"pt{i}"] = (rule, wb)
    return tmp, make_report(db, tmp / "report"), want


def _marker_titles(svg: Path) -> list[str]:
    """The text of every <title> that heads a group holding a marker (<use>)."""
    root = ET.parse(svg).getroot()
    out = []
    for g in root.iter(f"{SVG}g"):
        kids = list(g)
        if kids and kids[0].tag == f"{SVG}title" and any(k.tag == f"{SVG}use" for k in kids):
            out.append(kids[0].text or "")
    return out


@pytest.mark.parametrize("figure", ["energy_accuracy", "cycles_accuracy"])
def test_one_title_per_plotted_point_with_its_config(report, figure: str) -> None:
    _tmp, page, want = report
    titles = _marker_titles(page.parent / f"{figure}.svg")
    assert len(titles) == len(want)
    for pid, (rule, wb) in want.items():
        mine = [t for t in titles if t.endswith(f"point {pid}")]
        assert len(mine) == 1, (pid, titles)
        assert f"rule = {rule}" in mine[0] and f"weight_bits = {wb}" in mine[0]
        assert "error_bits = 4" in mine[0]


def test_report_names_the_store_relative_to_itself(report) -> None:
    tmp, page, _want = report
    assert "<code>../runs/sweep.db</code>" in page.read_text()
    files = [f for f in page.parent.rglob("*") if f.is_file()]
    assert len(files) > 5
    for f in files:
        data = f.read_bytes()
        assert str(tmp).encode() not in data, f
        assert str(tmp.resolve()).encode() not in data, f


def test_open_store_is_named_relative_too(report) -> None:
    tmp, _page, _want = report
    with Store(tmp / "runs" / "sweep.db", readonly=True) as st:
        page = make_report(st, tmp / "runs" / "rep2")
    assert "<code>../sweep.db</code>" in page.read_text()


def test_add_titles_refuses_a_count_mismatch(tmp_path) -> None:
    svg = tmp_path / "a.svg"
    svg.write_text(
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink"><g id="p"><g>'
        '<use xlink:href="#m" x="1" y="2"/></g></g></svg>'
    )
    with pytest.raises(ValueError, match="1 markers for 2 titles"):
        add_titles(svg, {"p": ["a", "b"]})
    assert add_titles(svg, {"p": ["a & <b>"]}) == 1
    assert _marker_titles(svg) == ["a & <b>"]
