"""The runs behind the validation cases: workloads, chip variants, metrics.

A :class:`Workload` is one short training run (a chip preset, optionally
changed into a variant, and config fields). :class:`Runs` runs each workload
once, however many cases read it, and hands out the record's ``hardware``
section. The metric helpers turn a ``hardware`` section into the quantities
the papers report, with the measurement boundary of a chip measurement: the
chip's own power, without the off-chip DRAM's energy.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError


@dataclass(frozen=True)
class Workload:
    """One short run on a chip preset or on a variant of it.

    Attributes
    ----------
    key : str
        Name of the run, unique in a validation (e.g. ``"han-nopipe"``).
    chip : str
        The preset the run (or its variant) starts from.
    fields : mapping
        Config fields of :func:`neurosim.make_config` (``rule``, ``hidden``, ...).
    chip_changes : mapping
        Chip-file fields that turn the preset into a variant (``pipeline``,
        ``feedback_storage``, a ``tile`` table); empty: the preset itself.
    """

    key: str
    chip: str
    fields: Mapping[str, Any]
    chip_changes: Mapping[str, Any] = field(default_factory=dict)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise ConfigError("chip_changes", v, "a bool, number or string")


def variant_toml(base: str, name: str, changes: Mapping[str, Any]) -> str:
    """A chip file that starts from preset ``base`` and changes ``changes``.

    Parameters
    ----------
    base : str
        Preset name (``base = ...`` of the chip-file schema).
    name : str
        Name of the variant chip.
    changes : mapping
        Top-level fields, and tables (``tile``, ``update``, ...) of fields.

    Returns
    -------
    str
        TOML text for :func:`hw_models.chip.load_chip`.
    """
    lines = [f"base = {_toml_value(base)}", f"name = {_toml_value(name)}"]
    tables = []
    for k, v in changes.items():
        if isinstance(v, Mapping):
            tables.append(f"\n[{k}]")
            tables.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in v.items())
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines + tables) + "\n"


class Runs:
    """Runs workloads once each and keeps their ``hardware`` sections.

    Chip variants are written as chip files into a temporary directory that
    lives as long as this object (use it as a context manager).
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="neurosim-validate-")
        self._hw: dict[str, dict[str, Any]] = {}
        self._acc: dict[str, float] = {}

    def __enter__(self) -> Runs:
        return self

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()

    def chip_ref(self, w: Workload) -> str:
        """The ``chip`` config value of a workload: the preset, or its variant's file."""
        if not w.chip_changes:
            return w.chip
        path = Path(self._dir.name) / f"{w.key}.toml"
        if not path.exists():
            path.write_text(variant_toml(w.chip, w.key, w.chip_changes))
        return str(path)

    def config(self, w: Workload) -> Any:
        """The validated :class:`~neurosim.config.TrainConfig` of a workload."""
        from neurosim.api import make_config

        return make_config(dict(w.fields), chip=self.chip_ref(w))

    def hardware(self, w: Workload) -> dict[str, Any]:
        """The record's ``hardware`` section of the workload's run (run once)."""
        if w.key not in self._hw:
            from neurosim.api import run

            r = run(self.config(w))
            hw = r.hardware
            if hw is None:  # pragma: no cover - validation runs always count
                raise ConfigError("validate", w.key, "a run with chip accounting")
            self._hw[w.key] = hw
            self._acc[w.key] = r.test_accuracy
        return self._hw[w.key]

    def accuracy(self, w: Workload) -> float:
        """Test accuracy (0 to 1) of the workload's run."""
        self.hardware(w)
        return self._acc[w.key]


# ------------------------------------------------------------------ metrics
def onchip_train_pj(hw: Mapping[str, Any]) -> float:
    """Energy of one training sample on the chip, pJ: the record's total
    (actions and static energy) without the off-chip DRAM's energy, which a
    chip measurement does not include."""
    e = hw["energy_pj_per_sample"]
    return e["total"] - e["by_phase"]["dram"]


def onchip_inference_pj(hw: Mapping[str, Any]) -> float:
    """Energy of one classification on the chip, pJ: the forward phase's
    actions plus static power over the inference time (``cycles_per_sample
    ["inference"]`` at the clock); no DRAM (the input's arrival is off chip)."""
    e = hw["energy_pj_per_sample"]
    seconds = hw["cycles_per_sample"]["inference"] / (hw["clock_mhz"] * 1e6)
    static_pj = hw["static_power_mw"]["total"] * 1e9 * seconds  # mW = 1e9 pJ/s
    return e["by_phase"]["forward"] + static_pj


def srbp_train_ops(sizes: list[int]) -> int:
    """Operations of one SRBP (DFA) training sample, 2 per multiply-accumulate.

    Forward ``sum n_{h-1} n_h``, weight gradients the same, and the direct
    projections ``n_h x n_L`` of every hidden layer: the MAC count the
    learning-processor papers turn into TOPS.

    Parameters
    ----------
    sizes : list of int
        Layer widths, input first, output last (e.g. ``[784, 512, 512, 10]``).
    """
    dense = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    projections = sum(n * sizes[-1] for n in sizes[1:-1])
    return 2 * (2 * dense + projections)


def percent(with_: float, without: float) -> float:
    """``100 * (with_ / without - 1)``: the effect of a feature, in percent."""
    return 100.0 * (with_ / without - 1.0)
