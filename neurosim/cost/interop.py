"""A run's action counts in Accelergy's action-count format.

The counts are the record's ``hardware.actions_per_sample`` (one training
sample's share of the run: the counts that :mod:`neurosim.cost.bill` prices
into ``energy_pj_per_sample``), named by the mapping of
:mod:`hw_models.accelergy`. Pricing them with an ERT, ``sum(counts x energy)``,
gives the run's dynamic energy per training sample (at nominal supply: the
bill multiplies on-chip actions by the chip's ``(vdd / nominal)^2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hw_models.accelergy import write_action_counts
from neurosim.config import TrainConfig
from neurosim.errors import ConfigError


def key_from_name(name: str) -> tuple:
    """The action key ``(phase, action, detail)`` of a name written by
    :func:`neurosim.cost.bill.key_name` (``forward.mac.16x8`` ->
    ``("forward", "mac", (16, 8))``; ``forward.sram_read.weights`` ->
    ``("forward", "sram_read", ("weights",))``)."""
    parts = name.split(".", 2)
    if len(parts) < 2:
        raise ConfigError("actions_per_sample", name, "phase.action[.detail] names")
    phase, action = parts[0], parts[1]
    if len(parts) == 2:
        return (phase, action, ())
    tail = parts[2]
    nums = tail.split("x")
    if all(n.isdigit() for n in nums):
        return (phase, action, tuple(int(n) for n in nums))
    return (phase, action, (tail,))


def run_widths(cfg: TrainConfig) -> dict[str, int]:
    """The run widths an ERT names as arguments (as :attr:`hw_models.parts.Pricing.run_widths`)."""
    from neurosim.nn.network import Formats

    fm = Formats.from_config(cfg)
    # every tile's LUT holds the widest activation entry (per-layer widths)
    return {"acc_bits": cfg.acc_bits, "in_bits": fm.lut.bits, "out_bits": fm.lut_entry_bits}


def _parts(run: Any) -> tuple[TrainConfig, Mapping[str, Any]]:
    """The config and ``hardware`` section of a Run, TrainResult or JSON record."""
    result = getattr(run, "result", run)
    if isinstance(result, Mapping):
        cfg = TrainConfig.from_dict(dict(result.get("config") or {}))
        hw = result.get("hardware")
    else:
        cfg, hw = result.config, result.hardware
    if not hw or "actions_per_sample" not in hw:
        raise ConfigError(
            "hardware", None, "a run with chip accounting (its action counts per sample)"
        )
    return cfg, hw


def accelergy_counts(run: Any) -> dict[tuple, float]:
    """A run's action counts per training sample by action key.

    Parameters
    ----------
    run : Run, TrainResult or mapping
        A run with chip accounting, or its JSON record (``to_record()``).
    """
    _cfg, hw = _parts(run)
    return {key_from_name(k): float(v) for k, v in hw["actions_per_sample"].items()}


def write_accelergy_counts(run: Any, path: str | Path) -> dict[str, Any]:
    """Write a run's action counts per training sample as Accelergy action counts.

    Parameters
    ----------
    run : Run, TrainResult or mapping
        A run with chip accounting, or its JSON record.
    path : str or Path
        The YAML file to write (needs PyYAML).

    Returns
    -------
    dict
        The document written: ``{action_counts: {version, per: training_sample,
        local: [{name, action_counts: [{name, arguments?, counts}]}]}}``.
    """
    cfg, _hw = _parts(run)
    return write_action_counts(path, accelergy_counts(run), run_widths(cfg))
