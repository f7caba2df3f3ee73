"""neurosim: a bit-exact simulator of a tiled synaptic-array chip that learns on-chip.

The learning rules are those of Baldi, Sadowski and Lu, "Learning in the
Machine: Random Backpropagation and the Deep Learning Channel" (Artificial
Intelligence 260, 2018): BP, RBP, SRBP, SBP, ARBP, ASRBP and top-only; and
DRTP (Frenkel, Lefebvre and Bol, Frontiers in Neuroscience 15, 2021).

The public API (:mod:`neurosim.api`) is importable from the package::

    import neurosim
    run = neurosim.run(rule="srbp", data="digits", hidden=(32,), epochs=1)

Names load on first use, so ``import neurosim`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# the API's names; submodule names (train, sweep, report, ...) are left to the
# submodules so that ``neurosim.experiments.train.train`` keeps working
_API = (
    "ConfigError",
    "DataError",
    "NeuroSimError",
    "NumericalError",
    "Run",
    "RunFailed",
    "chip_presets",
    "config_fields",
    "config_presets",
    "data_sets",
    "describe_chip",
    "export_csv",
    "formats",
    "list_points",
    "load_chip",
    "load_config",
    "load_data",
    "load_spec",
    "make_config",
    "make_report",
    "open_store",
    "run_paper",
    "paper_experiments",
    "records",
    "results",
    "run",
    "run_sweep",
    "write_accelergy_counts",
    "run_search",
    "search_front",
    "validate",
)
_LAZY = {
    "TrainConfig": "neurosim.config",
    "EpochStats": "neurosim.experiments.train",
    "Store": "neurosim.experiments.store",
}

__all__ = ["__version__", *_API, *_LAZY]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _API:
        value = getattr(importlib.import_module("neurosim.api"), name)
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'neurosim' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
