"""``neurosim validate``: published on-chip learning chips re-modelled, their
measurements next to what neurosim computes.

Each case (:mod:`neurosim.experiments.validation.cases`) names a chip preset,
a published figure and its source, and computes the same quantity from short
runs (:mod:`neurosim.experiments.validation.runs`). :func:`validate` runs the
cases and returns one row each:

``chip``, ``quantity``, ``published``, ``simulated``
    The figure and neurosim's value (None: the model has no equivalent).
``ratio``
    ``simulated / published``. For a relative (with-versus-without) claim
    both are effects in percent, ``100 * (with / without - 1)``, so the ratio
    compares effect sizes (+25 % simulated against +16.8 % published: 1.49;
    opposite signs give a negative ratio). A published range counts as its
    nearest end (ratio 1 inside it).
``relative``
    True for a with-versus-without claim.
``direction_ok``
    Relative rows: the simulated effect has the published sign. Absolute
    rows: None (no direction).
``within_2x``
    ``0.5 <= ratio <= 2`` (for a relative row this needs the right sign).
``source``, ``notes``
    Where the figure comes from; the assumptions that matter and what the
    model lacks.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError
from neurosim.experiments.validation.cases import CASES, SPOON_RULE, Case
from neurosim.experiments.validation.runs import Runs

__all__ = ["CASES", "COLUMNS", "SPOON_RULE", "Case", "chips", "make_row", "to_csv",
           "to_markdown", "validate"]  # fmt: skip

COLUMNS = ("chip", "quantity", "published", "simulated", "ratio", "relative",
           "direction_ok", "within_2x", "source", "notes")  # fmt: skip
"""The columns of the table, in order (the JSON rows have these keys)."""


def chips() -> list[str]:
    """The chip presets that have validation cases, in table order."""
    return list(dict.fromkeys(c.chip for c in CASES))


def make_row(case: Case, simulated: float | None) -> dict[str, Any]:
    """The table row of a case and its simulated value (see the module doc)."""
    ref = case.published
    if case.published_range is not None and simulated is not None:
        lo, hi = case.published_range
        ref = min(max(simulated, lo), hi)  # the nearest end; simulated itself inside
    ratio = None
    if simulated is not None and ref != 0 and math.isfinite(simulated):
        ratio = simulated / ref
    direction = None
    if case.relative:
        direction = simulated is not None and simulated * case.published > 0
    within = ratio is not None and 0.5 <= ratio <= 2.0
    return {
        "chip": case.chip,
        "quantity": case.quantity,
        "published": case.published,
        "published_range": list(case.published_range) if case.published_range else None,
        "simulated": simulated,
        "ratio": ratio,
        "relative": case.relative,
        "direction_ok": direction,
        "within_2x": within,
        "source": case.source,
        "notes": case.notes,
    }


def validate(chip: str | None = None) -> list[dict[str, Any]]:
    """Run the validation cases and return the table's rows.

    Parameters
    ----------
    chip : str, optional
        Only the cases of this chip preset (see :func:`chips`); default all.

    Returns
    -------
    list of dict
        One row per case, keys :data:`COLUMNS` plus ``published_range``.

    Raises
    ------
    ConfigError
        ``chip`` has no validation cases.
    """
    names = chips()
    if chip is not None and chip not in names:
        raise ConfigError("chip", chip, f"a chip with validation cases ({', '.join(names)})")
    cases = [c for c in CASES if chip is None or c.chip == chip]
    with Runs() as runs:
        return [make_row(c, c.compute(runs)) for c in cases]


# ------------------------------------------------------------------ output
def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.4g}"
    return str(v)


def _published(row: dict[str, Any]) -> str:
    r = row.get("published_range")
    if r:
        return f"{_fmt(r[1])} to {_fmt(r[0])}"
    return _fmt(row["published"])


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (published ranges written as ranges)."""
    head = ["chip", "quantity", "published", "simulated", "ratio", "relative",
            "direction ok", "within 2x", "assumptions that matter / what is missing"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["chip"], r["quantity"], _published(r), _fmt(r["simulated"]),
                 _fmt(r["ratio"]), _fmt(r["relative"]), _fmt(r["direction_ok"]),
                 _fmt(r["within_2x"]), r["notes"]]  # fmt: skip
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (columns :data:`COLUMNS`; empty cells for None)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(["" if r[k] is None else r[k] for k in COLUMNS])
    return buf.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    """The rows as a JSON list (None as null)."""
    return json.dumps(rows, indent=2) + "\n"


def write(rows: list[dict[str, Any]], out_dir: str | Path | None = None,
          json_path: str | Path | None = None) -> list[Path]:  # fmt: skip
    """Write ``validation.md`` and ``validation.csv`` under ``out_dir`` and the
    JSON list to ``json_path`` (``"-"``: stdout); return the files written."""
    from neurosim.experiments import safe_io

    files: list[Path] = []
    if out_dir is not None:
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        for name, text in (("validation.md", to_markdown(rows)),
                           ("validation.csv", to_csv(rows))):  # fmt: skip
            safe_io.write_text(d / name, text)
            files.append(d / name)
    if json_path is not None:
        safe_io.write_text(json_path, to_json(rows))
        if str(json_path) != "-":
            files.append(Path(json_path))
    return files
