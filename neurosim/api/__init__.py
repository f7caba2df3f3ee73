"""The Python API: everything the ``neurosim`` command does, as functions.

The command line (:mod:`neurosim.cli`) is a thin layer over this module: it
parses flags, calls the functions below and prints what they return. Every
name here is also importable from the package itself::

    import neurosim

    cfg = neurosim.make_config(rule="bp", data="digits", hidden=(32,), epochs=2,
                               mode="fixed", error_bits=4)
    run = neurosim.run(cfg, progress=True)
    print(run.test_accuracy, run.energy_pj_per_sample)
    run.to_json("bp.json")

    with neurosim.run_sweep("reports/sweep-mnist5k.toml", "runs/widths.db") as store:
        rows = neurosim.results(store)                # list of dicts
        df = neurosim.results(store, dataframe=True)  # needs pandas
        neurosim.make_report(store, "report/")

Importing this module is cheap (the numerical modules, numba among them, load
on first use), so ``import neurosim`` and ``neurosim --help`` stay fast.

The functions of sweeps, stores, reports and the paper's experiments live in
:mod:`neurosim.api.sweeps`, the :class:`Run` record in :mod:`neurosim.api.record`;
both are re-exported here.

Errors are raised, never printed: a bad value is a
:class:`~neurosim.errors.ConfigError` naming the field, the value and what is
allowed; a missing data set is a :class:`~neurosim.errors.DataError`. Both
derive from :class:`~neurosim.errors.NeuroSimError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurosim.api.record import Run
from neurosim.api.search import run_search, search_front
from neurosim.api.sweeps import (
    export_csv,
    list_points,
    load_spec,
    make_report,
    open_store,
    paper_experiments,
    records,
    results,
    run_paper,
    run_sweep,
)
from neurosim.errors import ConfigError, DataError, NeuroSimError, NumericalError
from neurosim.experiments.paper import RunFailed  # stdlib-only module: cheap to import

if TYPE_CHECKING:  # only for annotations: these imports load numba
    from hw_models.chip import Chip
    from neurosim.config import TrainConfig
    from neurosim.data.datasets import Dataset
    from neurosim.experiments.train import EpochStats
    from neurosim.nn.network import Formats

__all__ = [
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
]


# ------------------------------------------------------------------ configs
def make_config(
    source: TrainConfig | Mapping[str, Any] | str | Path | None = None,
    /,
    *,
    preset: str | None = None,
    **fields: Any,
) -> TrainConfig:
    """Build a validated training configuration.

    The fields are resolved in order: the defaults of
    :class:`~neurosim.config.TrainConfig`, then a preset's values (`preset`,
    or a ``preset`` key of `source`), then `source`, then `fields`.

    Parameters
    ----------
    source : TrainConfig, mapping, str or Path, optional
        A config to start from (copied, not changed), a mapping of field
        names to values, or the path of a TOML file of ``field = value``
        lines. A mapping or file may name a preset (``preset = "higgs"``).
    preset : str, optional
        Named defaults (see :func:`config_presets`), e.g. ``"higgs"``; wins
        over a preset named in `source`. Not allowed with a TrainConfig
        source (its fields are already resolved).
    **fields
        Any :class:`~neurosim.config.TrainConfig` field, e.g.
        ``rule="bp"``, ``weight_bits=8`` (bits), ``hidden=(100, 100)`` or
        ``hidden="100,100"`` (neurons per layer). A value of None leaves the
        field as `source` set it.

    Returns
    -------
    TrainConfig
        Validated: every field is in range and the chip loads.

    Raises
    ------
    ConfigError
        Unknown field, wrong type or value out of range (the message names
        the field, the value and what is allowed); unreadable TOML file.

    Examples
    --------
    >>> cfg = make_config(rule="rbp", mode="fixed", weight_bits=8)  # doctest: +SKIP
    >>> cfg                                                         # doctest: +SKIP
    TrainConfig(rule='rbp', mode='fixed', weight_bits=8)
    """
    import copy

    from neurosim.config import TrainConfig
    from neurosim.tomlfile import read_toml

    if isinstance(source, TrainConfig):
        if preset is not None:
            raise ConfigError("preset", preset, "no preset with a TrainConfig (apply it first)")
        cfg = copy.deepcopy(source)
    else:
        if source is None:
            d: dict[str, Any] = {}
        elif isinstance(source, Mapping):
            d = dict(source)
        elif isinstance(source, (str, Path)):
            d = read_toml(source)
        else:
            raise ConfigError("config", source, "a TrainConfig, a mapping or a TOML file path")
        if preset is not None:
            d["preset"] = preset
        cfg = TrainConfig.from_dict(d)
    cfg.update({k: v for k, v in fields.items() if v is not None})
    return cfg.validate()


def config_fields() -> list[str]:
    """Names of the :class:`~neurosim.config.TrainConfig` fields (config file keys)."""
    from neurosim.config import TrainConfig

    return TrainConfig.field_names()


def config_presets() -> dict[str, dict[str, Any]]:
    """The named config presets and the fields each sets (e.g. ``higgs``)."""
    from neurosim.config import PRESETS

    return {k: dict(v) for k, v in PRESETS.items()}


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read a config TOML file, apply `overrides`, validate.

    Same as ``make_config(path, **overrides)``; see :func:`make_config`.
    """
    return make_config(Path(path), **overrides)


def formats(config: TrainConfig) -> Formats:
    """The fixed-point formats a config gives every tensor.

    Parameters
    ----------
    config : TrainConfig
        The widths come from its ``*_bits`` and ``*_int_bits`` fields.

    Returns
    -------
    Formats
        ``weights`` (one per dense weight layer; ``weight`` when they are
        one format), ``act``, ``inp``, ``out``, ``feedback``, ``error``,
        ``lut``, ``deriv``, ``exp``; ``str()`` of each reads ``Qb.f``
        (signed, ``b`` bits, ``f`` fraction bits) or ``UQb.f``.
    """
    from neurosim.nn.network import Formats

    return Formats.from_config(config)


# -------------------------------------------------------------------- chips
def chip_presets() -> list[str]:
    """Names of the chip presets shipped in ``hw_models/presets``."""
    from hw_models.chip import preset_names

    return list(preset_names())


def load_chip(name_or_path: str | Path) -> Chip:
    """Load a chip preset by name or a chip TOML file by path.

    Parameters
    ----------
    name_or_path : str or Path
        A preset name (see :func:`chip_presets`) or the path of a chip file
        (a string ending in ``.toml`` or containing ``/`` is a path).

    Returns
    -------
    Chip
        Tiles, memories, links, clock and technology node, with the energy
        table (:meth:`Chip.energy_table`) including the file's overrides.

    Raises
    ------
    ConfigError
        Unknown preset, unreadable file, or a bad field (named by its path
        in the file, e.g. ``tile.rows``).
    """
    from hw_models.chip import load_chip as _load_chip

    return _load_chip(name_or_path)


def describe_chip(chip: Chip | str | Path, energy: str | Path | None = None) -> str:
    """A readable description of a chip and its energy table, with sources.

    Parameters
    ----------
    chip : Chip, str or Path
        A loaded chip, a preset name or a chip file.
    energy : str or Path, optional
        A TOML file of ``action = energy_pj`` rows overriding the table.

    Returns
    -------
    str
        The text ``neurosim chip`` prints.
    """
    from hw_models.chip import Chip
    from hw_models.describe import describe_chip as _describe

    c = chip if isinstance(chip, Chip) else load_chip(chip)
    table = c.energy_table()
    if energy is not None:
        from hw_models.energy import parse_overrides
        from neurosim.tomlfile import read_toml

        table = table.with_overrides(parse_overrides(read_toml(energy, "energy"), "energy"))
    return _describe(c, table)


# --------------------------------------------------------------------- data
def data_sets() -> list[str]:
    """Names of the data sets :func:`load_data` knows."""
    from neurosim.data.datasets import DATASETS

    return list(DATASETS)


def load_data(
    name: str | TrainConfig = "mnist5k",
    data_dir: str | Path | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> Dataset:
    """Load a data set (read-only arrays, cached between calls).

    Parameters
    ----------
    name : str or TrainConfig
        A data set name (see :func:`data_sets`), or a config whose ``data``,
        ``data_dir``, ``seed`` and ``limit`` are used.
    data_dir : str or Path, optional
        Directory searched first for IDX files.
    seed : int
        Seed of the train/test split of ``mnist5k`` and ``digits``.
    limit : int, optional
        Keep only the first `limit` training samples (the test set is whole).

    Returns
    -------
    Dataset
        ``x_train``, ``x_test``: float32 ``(N, D)`` in ``[0, 1)``, multiples of
        1/256; ``y_train``, ``y_test``: int64 ``(N,)``.

    Raises
    ------
    DataError
        The data set was not found (the message lists where it looked).
    """
    from neurosim.config import TrainConfig
    from neurosim.data.datasets import load_dataset

    if isinstance(name, TrainConfig):
        return load_dataset(name.data, name.data_dir, name.seed, name.limit)
    return load_dataset(name, data_dir, seed, limit)


# --------------------------------------------------------------- one run
def run(
    config: TrainConfig | Mapping[str, Any] | str | Path | None = None,
    /,
    *,
    dataset: Dataset | None = None,
    progress: bool = False,
    on_epoch: Callable[[EpochStats], None] | None = None,
    chip_accounting: bool = True,
    **fields: Any,
) -> Run:
    """Train one network as configured, on the chip's arithmetic or in float32.

    Parameters
    ----------
    config : TrainConfig, mapping, str or Path, optional
        Anything :func:`make_config` takes (default: the defaults).
    dataset : Dataset, optional
        Preloaded data (:func:`load_data`); else loaded from the config.
    progress : bool
        Show a tqdm progress bar per epoch on stderr.
    on_epoch : callable, optional
        Called after every epoch with its
        :class:`~neurosim.experiments.train.EpochStats` (e.g. to print or to stop early
        by raising).
    chip_accounting : bool
        Count the chip's events and price them (the ``hardware`` section);
        False trains faster without it.
    **fields
        Config fields overriding `config` (see :func:`make_config`).

    Returns
    -------
    Run
        Accuracy, history, hardware section, final weights, ``to_json()``.

    Raises
    ------
    ConfigError
        A bad field (before anything runs).
    DataError
        The data set was not found.
    NumericalError
        Training diverged (float mode).
    """
    from neurosim.experiments.train import train

    cfg = make_config(config, **fields)
    result, engine = train(
        cfg, dataset, progress=progress, on_epoch=on_epoch, chip_accounting=chip_accounting
    )
    return Run(result, engine)


def write_accelergy_counts(run: Any, path: str | Path) -> dict[str, Any]:
    """Write a run's action counts per training sample in Accelergy's format.

    The names follow the mapping of :mod:`hw_models.accelergy`
    (``docs/howto/accelergy.md``), so that the counts times an ERT's energies
    give the run's dynamic energy per training sample.

    Parameters
    ----------
    run : Run, TrainResult or mapping
        A run with chip accounting, or its JSON record.
    path : str or Path
        The YAML file to write (needs PyYAML: ``pip install 'neurosim[yaml]'``).

    Returns
    -------
    dict
        The document written (``action_counts``: ``version``, ``per``, ``local``).
    """
    from neurosim.cost.interop import write_accelergy_counts as _write

    return _write(run, path)
# --------------------------------------------------------------- validation
def validate(
    chip: str | None = None,
    out_dir: str | Path | None = None,
    json_path: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Re-model published on-chip learning chips and compare with their measurements.

    Runs every validation case (short runs of the ``spoon28``, ``han-vlsi19``
    and ``dflnpu65`` presets; see :mod:`neurosim.experiments.validation` and
    docs/validation.md) and returns one row per published figure.

    Parameters
    ----------
    chip : str, optional
        Only this chip's cases; default all.
    out_dir : str or Path, optional
        Write ``validation.md`` (Markdown table) and ``validation.csv`` here.
    json_path : str or Path, optional
        Write the rows as a JSON list here (``"-"``: stdout).

    Returns
    -------
    list of dict
        Keys ``chip``, ``quantity``, ``published``, ``simulated``, ``ratio``,
        ``relative``, ``direction_ok``, ``within_2x`` (and ``published_range``,
        ``source``, ``notes``). Relative rows compare effects in percent,
        ``100 * (with / without - 1)``; ``ratio`` is simulated over published.

    Raises
    ------
    ConfigError
        ``chip`` has no validation cases, or an output path cannot be written
        (checked before anything runs).
    """
    from neurosim.experiments import safe_io
    from neurosim.experiments import validation as v

    if out_dir is not None:
        safe_io.check_output_dir("--out", out_dir)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    if json_path is not None and str(json_path) != "-":
        safe_io.check_output_file("--json", json_path)
    rows = v.validate(chip)
    v.write(rows, out_dir, json_path)
    return rows
