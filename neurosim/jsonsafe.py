"""Strict JSON for run records: no NaN or Infinity (which ``json.dumps``
writes by default and no other JSON reader accepts)."""

from __future__ import annotations

import json
import math
from typing import Any

from neurosim.errors import NumericalError


def nonfinite_field(obj: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinite float in `obj` (dicts, lists,
    numbers), or None if every number is finite."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else path or "(value)"
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = ((f"[{i}]", v) for i, v in enumerate(obj))
    else:
        return None
    for key, value in items:
        key = str(key)
        sub = f"{path}{key}" if key.startswith("[") or not path else f"{path}.{key}"
        found = nonfinite_field(value, sub)
        if found is not None:
            return found
    return None


def check_record(record: dict[str, Any]) -> None:
    """Raise :class:`~neurosim.errors.NumericalError` naming the first
    non-finite field of `record` (a run record about to be written)."""
    bad = nonfinite_field(record)
    if bad is not None:
        raise NumericalError(
            f"the run's record is not valid JSON: {bad} is not a finite number "
            "(check the chip's values and energy overrides)"
        )


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, allow_nan=False, **kwargs)``; a NaN or infinity is a
    :class:`~neurosim.errors.NumericalError` naming its field."""
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError:
        check_record(obj)
        raise
