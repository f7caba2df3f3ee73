"""The points of a result store as the report sees them, and their HTML table."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

from neurosim.config import TrainConfig
from neurosim.experiments.store import STATUS_OK, Store

ERROR_CHARS = 2000  # longest error message shown in the table



@dataclass
class Point:
    """One stored point, reduced to what the report draws."""

    id: str
    status: str
    error: str | None
    rule: str
    config: dict[str, Any]
    row: dict[str, Any]
    record: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK and self.record is not None

    @property
    def accuracy(self) -> float | None:
        """Test accuracy in percent."""
        return pct(self.row.get("test_accuracy"))

    @property
    def auc(self) -> float | None:
        """Area under the test ROC curve (binary data sets), else None."""
        return finite(self.row.get("test_auc"))

    @property
    def energy_nj(self) -> float | None:
        """Energy per training sample in nJ."""
        e = finite(self.row.get("energy_pj_per_sample"))
        return None if e is None else e / 1000.0

    @property
    def hardware(self) -> dict[str, Any]:
        return (self.record or {}).get("hardware") or {}

    def hw(self, *path: str) -> Any:
        """The record's ``hardware`` field at `path` (e.g. ``"power_mw", "total"``),
        None when the record predates it."""
        v: Any = self.hardware
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        return v


def finite(x: Any) -> float | None:
    """`x` as a float if it is a finite number (not a bool), else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def pct(x: Any) -> float | None:
    """A finite fraction `x` in percent, else None."""
    v = finite(x)
    return None if v is None else 100.0 * v



CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #555; }
p.note { color: #666; font-style: italic; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: right; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.text { text-align: left; }
tr.failed td { background: #fdeaea; }
td.error { text-align: left; white-space: pre-wrap; font-family: monospace;
           max-width: 40em; color: #a00; }
code { background: #f5f5f5; padding: 0 2px; }
"""


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "&ndash;"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "&ndash;"
        return f"{v:,.{digits}f}"
    return html.escape(str(v))


def swept_keys(points: list[Point]) -> list[str]:
    """Config fields named as swept by any point, or taking more than one value."""
    names = TrainConfig.field_names()
    named = {k for p in points for k in (p.row.get("swept") or "").split(",") if k}
    varying = {k for k in names if len({repr(p.row.get(k)) for p in points}) > 1}
    keys = [k for k in names if k in named | varying]
    return ["rule", *[k for k in keys if k != "rule"]]


@dataclass(frozen=True)
class HwColumn:
    """A table column read from the record's ``hardware`` section."""

    head: str
    path: tuple[str, ...]
    digits: int
    power: bool = False
    """Placed next to the energy column (else after the cycles column)."""
    if_differ: bool = False
    """Shown only where the finished points differ (else named once above the table)."""


HW_COLUMNS = (
    HwColumn("power (mW)", ("power_mw", "total"), 1, power=True),
    HwColumn("static (mW)", ("power_mw", "static"), 1, power=True),
    HwColumn("latency (cycles)", ("latency_cycles_per_sample",), 0),
    HwColumn("samples/s", ("samples_per_second",), 0),
    HwColumn("DRAM bits/sample", ("dram_bits_per_sample", "total"), 0, if_differ=True),
    HwColumn("bottleneck", ("bottleneck",), 0, if_differ=True),
)
"""The table's columns from the ``hardware`` section. A column no finished
point has is left out; a point whose record predates the field gets a blank
cell."""


def _hw_values(points: list[Point], col: HwColumn) -> list[Any]:
    return [p.hw(*col.path) for p in points if p.ok]


def hw_columns(points: list[Point]) -> list[HwColumn]:
    """The :data:`HW_COLUMNS` this store's points call for."""
    out = []
    for col in HW_COLUMNS:
        vals = {repr(v) for v in _hw_values(points, col)}
        if vals - {"None"} and (not col.if_differ or len(vals) > 1):
            out.append(col)
    return out


def hw_common(points: list[Point]) -> str:
    """The ``if_differ`` columns on which every finished point agrees, as
    HTML ('' when none)."""
    items = []
    for col in HW_COLUMNS:
        vals = _hw_values(points, col)
        if col.if_differ and vals and vals[0] is not None and len(set(map(repr, vals))) == 1:
            items.append(f"{html.escape(col.head)} {_fmt(vals[0], col.digits)}")
    return ", ".join(items)


def _hw_cell(p: Point, col: HwColumn) -> str:
    v = p.hw(*col.path)
    if isinstance(v, str):
        return f'<td class="text">{html.escape(v)}</td>'
    return f"<td>{_fmt(finite(v), col.digits)}</td>"


def points_table(points: list[Point], front: set[str]) -> str:
    """The table of every point; `front` holds the ids on the Pareto front."""
    keys = swept_keys(points)
    has_auc = any(p.auc is not None for p in points)
    hw = hw_columns(points)
    head = (
        ["id", "status"]
        + keys
        + [
            "test acc (%)",
            *(["test AUC"] if has_auc else []),
            "train acc (%)",
            "energy (nJ/sample)",
            *[c.head for c in hw if c.power],
            "inference (nJ)",
            "cycles/sample",
            *[c.head for c in hw if not c.power],
            "transport bits/sample",
            "wall (s)",
            "Pareto",
            "error",
        ]
    )
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)]
    out.append("</tr></thead><tbody>")
    for p in points:
        r = p.row
        err = p.error or ""
        if len(err) > ERROR_CHARS:
            err = "\u2026" + err[-ERROR_CHARS:]
        energy = finite(r.get("energy_pj_per_sample"))
        inference = finite(r.get("inference_energy_pj"))
        cells = [
            f'<td class="text"><code>{html.escape(p.id)}</code></td>',
            f'<td class="text">{html.escape(p.status)}</td>',
            *(f'<td class="text">{_fmt(r.get(k))}</td>' for k in keys),
            f"<td>{_fmt(pct(r.get('test_accuracy')), 2)}</td>",
            *([f"<td>{_fmt(p.auc, 4)}</td>"] if has_auc else []),
            f"<td>{_fmt(pct(r.get('train_accuracy')), 2)}</td>",
            f"<td>{_fmt(None if energy is None else energy / 1000.0, 2)}</td>",
            *[_hw_cell(p, c) for c in hw if c.power],
            f"<td>{_fmt(None if inference is None else inference / 1000.0, 2)}</td>",
            f"<td>{_fmt(finite(r.get('cycles_per_sample')), 1)}</td>",
            *[_hw_cell(p, c) for c in hw if not c.power],
            f"<td>{_fmt(finite(r.get('transport_bits_per_sample')), 1)}</td>",
            f"<td>{_fmt(finite(r.get('wall_seconds')), 2)}</td>",
            f"<td>{'&#9733;' if p.id in front else ''}</td>",
            f'<td class="error">{html.escape(err)}</td>',
        ]
        cls = "" if p.ok else ' class="failed"'
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def common_settings(points: list[Point]) -> str:
    """The config fields every point shares, as HTML."""
    names = TrainConfig.field_names()
    items = []
    for k in names:
        vals = {repr(p.row.get(k)) for p in points}
        if len(vals) == 1 and points[0].row.get(k) is not None:
            items.append(f"<code>{html.escape(k)} = {_fmt(points[0].row.get(k))}</code>")
    return ", ".join(items)


def load_points(store: Store) -> list[Point]:
    """Every point of `store`, its config completed from the stored columns."""
    out = []
    for d in store.points():
        cfg = dict(d.get("config") or {})
        for k in TrainConfig.field_names():
            cfg.setdefault(k, d.get(k))
        out.append(
            Point(
                id=d["id"],
                status=d["status"],
                error=d.get("error"),
                rule=str(cfg.get("rule") or d.get("rule") or "?"),
                config=cfg,
                row=d,
                record=d.get("record"),
            )
        )
    return out
