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

Errors are raised, never printed: a bad value is a
:class:`~neurosim.errors.ConfigError` naming the field, the value and what is
allowed; a missing data set is a :class:`~neurosim.errors.DataError`. Both
derive from :class:`~neurosim.errors.NeuroSimError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurosim.errors import ConfigError, DataError, NeuroSimError, NumericalError
from neurosim.experiments.paper import RunFailed  # stdlib-only module: cheap to import

if TYPE_CHECKING:  # only for annotations: these imports load numba
    import numpy as np
    import pandas as pd

    from hw_models.chip import Chip
    from neurosim.config import TrainConfig
    from neurosim.data.datasets import Dataset
    from neurosim.experiments.paper import ExperimentResult
    from neurosim.experiments.store import Store
    from neurosim.experiments.sweep import SweepSpec
    from neurosim.experiments.train import EpochStats, TrainResult
    from neurosim.nn.engine import Engine
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
        ``weight``, ``act``, ``inp``, ``out``, ``feedback``, ``error``,
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
@dataclass
class Run:
    """The outcome of :func:`run`: accuracy, history, chip costs, weights.

    Attributes
    ----------
    result : TrainResult
        The run's figures as :func:`neurosim.experiments.train.train` returns them.
    engine : Engine
        The trained network (float or fixed engine); ``engine.predict(x)``
        gives outputs of shape ``(B, N_L)``.
    """

    result: TrainResult
    engine: Engine

    @property
    def config(self) -> TrainConfig:
        """The resolved configuration."""
        return self.result.config

    @property
    def test_accuracy(self) -> float:
        """Test accuracy after the last epoch (fraction in [0, 1])."""
        return self.result.test_accuracy

    @property
    def test_auc(self) -> float | None:
        """Binary data sets (``higgs``): area under the test ROC curve after
        the last epoch; None for multi-class data."""
        return self.result.test_auc

    @property
    def train_accuracy(self) -> float:
        """Accuracy on the training samples of the last epoch, as trained."""
        return self.result.train_accuracy

    @property
    def history(self) -> list[EpochStats]:
        """Per-epoch figures: ``epoch``, ``train_loss`` (mean cross-entropy),
        ``train_accuracy``, ``test_accuracy``, ``test_auc`` (binary data),
        ``saturations``, ``seconds``."""
        return list(self.result.epochs)

    @property
    def hardware(self) -> dict[str, Any] | None:
        """The record's ``hardware`` section (None without chip accounting).

        Energies in pJ per training sample (``energy_pj_per_sample`` with
        ``total``, ``by_phase``, ``by_action``), ``cycles_per_sample``,
        ``samples_per_second``, ``bus`` (bits and packets per sample per
        link), ``memory_bits``, ``area_mm2``, ``tiles``.
        """
        return self.result.hardware

    @property
    def energy_pj_per_sample(self) -> float | None:
        """Energy of one training sample on the chip, in pJ."""
        hw = self.result.hardware
        return None if not hw else float(hw["energy_pj_per_sample"]["total"])

    @property
    def cycles_per_sample(self) -> float | None:
        """Clock cycles of one training sample (forward, backward, share of update)."""
        hw = self.result.hardware
        return None if not hw else float(hw["cycles_per_sample"]["train"])

    @property
    def weights(self) -> list[np.ndarray]:
        """Final forward weights ``W^1..W^L`` as real values (float64).

        ``W^h`` has shape ``(N_h, N_{h-1})``. In fixed mode each entry is a
        stored code times the weight format's LSB ``2**-frac``, so the values
        are exactly the chip's.
        """
        return self._real(self.engine.W, "weight")

    @property
    def biases(self) -> list[np.ndarray] | None:
        """Final biases ``b^1..b^L`` as real values (float64), shape ``(N_h,)``;
        None without ``bias``. In fixed mode codes times the weight LSB."""
        b = getattr(self.engine, "b", None)
        return None if b is None else self._real(b, "weight")

    @property
    def feedback(self) -> list[np.ndarray]:
        """The learning-channel matrices ``C^h`` as real values (float64).

        Empty for BP, SBP and top-only; for low-rank feedback the product of
        the factors.
        """
        return self._real(getattr(self.engine, "C", []), "feedback")

    @property
    def weight_codes(self) -> list[np.ndarray] | None:
        """Fixed mode: the stored integer codes of ``W^h`` (int64); float mode: None."""
        import numpy as np

        if self.config.mode != "fixed":
            return None
        return [np.asarray(w).astype(np.int64) for w in self.engine.W]

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the final parameters (same config and seed: same hash)."""
        return self.result.weights_sha256

    @property
    def counts(self) -> dict[str, int]:
        """Event counts: ``sat:<tensor>``, ``changed:W^h``, ``rng_bits``."""
        return dict(self.result.counts)

    @property
    def wall_seconds(self) -> float:
        """Wall time of the run, data loading included."""
        return self.result.wall_seconds

    def saturations(self) -> dict[str, int]:
        """Saturation events per tensor over the run."""
        return self.result.saturations()

    def frozen_layers(self) -> list[str]:
        """Weight matrices that never changed (all updates below half an LSB)."""
        return self.result.frozen_layers()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs ``O^L`` of the trained network for inputs ``x`` of shape ``(B, N_0)``."""
        return self.engine.predict(x)

    def to_record(self) -> dict[str, Any]:
        """The versioned JSON record (``schema_version``, ``config``,
        ``results``, ``hardware``): what ``--json`` writes and a sweep stores."""
        return self.result.to_record()

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        """The record as JSON text; also written to `path` (atomically) if given."""
        import json

        text = json.dumps(self.to_record(), indent=indent, sort_keys=True) + "\n"
        if path is not None:
            from neurosim.experiments.train import write_record

            write_record(self.to_record(), path)
        return text

    def _real(self, mats: list, kind: str) -> list[np.ndarray]:
        import numpy as np

        if self.config.mode != "fixed":
            return [np.asarray(m, dtype=np.float64).copy() for m in mats]
        lsb = getattr(formats(self.config), kind).lsb
        return [np.asarray(m, dtype=np.float64) * lsb for m in mats]

    def __repr__(self) -> str:
        e = self.energy_pj_per_sample
        energy = "" if e is None else f", energy_pj_per_sample={e:.1f}"
        return f"Run({self.config!r}, test_accuracy={self.test_accuracy:.4f}{energy})"


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


# ------------------------------------------------------------------ sweeps
def load_spec(spec: SweepSpec | Mapping[str, Any] | str | Path) -> SweepSpec:
    """Read and check a sweep spec (every point validated).

    Parameters
    ----------
    spec : SweepSpec, mapping, str or Path
        A spec, a mapping with the tables ``sweep``, ``base``, ``axes``,
        ``zip``, ``exclude``, or the path of a TOML file of them.

    Returns
    -------
    SweepSpec
        ``spec.points()`` lists the runs.

    Raises
    ------
    ConfigError
        A bad key or value, named by its path in the spec
        (``axes.weight_bits[2]``).
    """
    from neurosim.experiments.sweep import SweepSpec
    from neurosim.experiments.sweep import load_spec as _load

    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, Mapping):
        s = SweepSpec.from_dict(dict(spec))
        s.points()  # validates every point now, as a file would be
        return s
    return _load(spec)


def list_points(
    spec: SweepSpec | Mapping[str, Any] | str | Path, store: str | Path | None = None
) -> list[str]:
    """One line per point of a sweep: index, id (12 hex digits), swept values,
    and ``done`` when `store` (if it exists) holds the point as ok."""
    from neurosim.experiments.sweep import format_points

    s = store if store is not None and Path(store).exists() else None
    return format_points(load_spec(spec), s)


def run_sweep(
    spec: SweepSpec | Mapping[str, Any] | str | Path,
    store: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = False,
) -> Store:
    """Run every point of a sweep not yet stored; return the open store.

    Parameters
    ----------
    spec : SweepSpec, mapping, str or Path
        The sweep (see :func:`load_spec`).
    store : str or Path, optional
        The SQLite result store (created if missing; default: the spec file
        with ``.db``). Points already stored as ok are skipped, so a killed
        sweep resumes.
    workers : int, optional
        Local worker processes, one BLAS thread each (default: CPU count).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead (``"tcp://host:8786"``).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    Store
        The store, open (use it in a ``with`` block or close it), with
        ``summary`` (:class:`~neurosim.experiments.sweep.SweepSummary`) holding the
        counts of this call: ``total``, ``skipped``, ``done``, ``failed``,
        ``wall_seconds``.

    Raises
    ------
    ConfigError
        A bad spec or `workers` value (before anything runs).
    """
    from neurosim.experiments.sweep import run_sweep as _run

    s = load_spec(spec)
    if store is None:
        if not isinstance(spec, (str, Path)):
            raise ConfigError("store", None, "a store path (the spec is not a file)")
        store = Path(spec).with_suffix(".db")
    summary = _run(s, store, workers=workers, scheduler=scheduler, progress=progress)
    from neurosim.experiments.store import Store

    st = Store(store)
    st.summary = summary
    return st


# ------------------------------------------------------------------ stores
def open_store(path: str | Path) -> Store:
    """Open an existing result store (no new file is created).

    Raises
    ------
    ConfigError
        The file does not exist.
    StoreError
        The file is not a neurosim store.
    """
    from neurosim.experiments.store import Store

    if not Path(path).is_file():
        raise ConfigError("store", str(path), "an existing store file written by neurosim sweep")
    return Store(path)


def _with_store(store: Store | str | Path, fn: Callable[[Store], Any]) -> Any:
    from neurosim.experiments.store import Store

    if isinstance(store, Store):
        return fn(store)
    with open_store(store) as st:
        return fn(st)


def results(
    store: Store | str | Path, *, status: str | None = None, dataframe: bool = False
) -> list[dict[str, Any]] | pd.DataFrame:
    """The points of a store as flat rows, one per run.

    Parameters
    ----------
    store : Store, str or Path
        An open store or the path of one.
    status : str, optional
        Only rows of this status (``"ok"``; a failed point's status is
        ``"failed"``).
    dataframe : bool
        Return a pandas DataFrame instead of a list (pandas is optional and
        only needed for this).

    Returns
    -------
    list of dict or pandas.DataFrame
        Columns: ``id``, ``status``, ``error``, ``created_at``, ``sweep``,
        ``swept``, every config field, then ``test_accuracy``, ``test_auc``
        (binary data), ``train_accuracy``, ``energy_pj_per_sample`` (pJ),
        ``inference_energy_pj``, ``cycles_per_sample``,
        ``samples_per_second``, ``transport_bits_per_sample``,
        ``feedback_memory_bits``, ``forward_memory_bits``, ``wall_seconds``.

    Raises
    ------
    ImportError
        ``dataframe=True`` without pandas installed.
    """
    rows = _with_store(store, lambda st: st.rows(status))
    if not dataframe:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "results(..., dataframe=True) needs pandas (pip install pandas);"
            " without it results() returns the same rows as a list of dicts"
        ) from None
    from neurosim.experiments.store import row_columns

    return pd.DataFrame(rows, columns=row_columns())


def records(store: Store | str | Path, *, status: str | None = "ok") -> list[dict[str, Any]]:
    """The full JSON records of a store's points (default: those that ran ok),
    each as :meth:`Run.to_record` gives it."""
    return _with_store(store, lambda st: st.records(status))


def export_csv(store: Store | str | Path, out: Any) -> None:
    """Write every row of a store as CSV to a path or an open text file."""
    _with_store(store, lambda st: st.to_csv(out))


def make_report(store: Store | str | Path, out_dir: str | Path = "report") -> Path:
    """Write the energy-versus-accuracy report of a store.

    Parameters
    ----------
    store : Store, str or Path
        An open store or the path of an existing one.
    out_dir : str or Path
        Output directory (created if needed): PNG and SVG figures and one
        self-contained ``report.html``.

    Returns
    -------
    Path
        The path of ``report.html``.

    Raises
    ------
    ConfigError
        `out_dir` exists and is not a directory, or the store does not exist.
    """
    from neurosim.experiments.report import make_report as _report

    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError("out", str(out_dir), "a directory (existing or to be created)")
    return _with_store(store, lambda st: _report(st, out_dir))


# ------------------------------------------------------------------- paper
def paper_experiments() -> list[str]:
    """Names of the paper's experiments :func:`run_paper` can run (e.g. ``higgs``)."""
    from neurosim.experiments.paper import EXPERIMENTS

    return list(EXPERIMENTS)


def run_paper(
    experiment: str = "higgs",
    out_dir: str | Path = "reports/paper",
    *,
    data_dir: str | Path | None = None,
    quick: bool = False,
    workers: int | None = None,
    epochs: int | None = None,
    limit: int | None = None,
    mode: str | None = None,
    data: str | None = None,
    seed: int | None = None,
    progress: bool = False,
    skipped: list[tuple[str, str]] | None = None,
) -> list[ExperimentResult]:
    """Rerun one of the paper's experiments (or ``"all"``) and check its claims.

    Each experiment writes, under ``out_dir/<experiment>/``, a figure (PNG,
    SVG), its runs as CSV and a Markdown table of the paper's claims next to
    what was measured. Training experiments go through a resumable store
    (``<experiment>.db``; a rerun skips finished points); ``theory``
    integrates the paper's small systems instead.

    Parameters
    ----------
    experiment : str
        A name of :func:`paper_experiments`, or ``"all"``.
    out_dir : str or Path
        Parent directory of the outputs.
    data_dir : str or Path, optional
        Where the data files are (else ``$NEUROSIM_DATA``).
    quick : bool
        Tiny networks and subsets (seconds; what the tests run).
    workers : int, optional
        Worker processes (default: the CPU count).
    epochs, limit : int, optional
        Override the experiment's epochs and training subset size (samples).
    mode : str, optional
        Override the arithmetic: ``"fixed"`` (the experiments' default) or
        ``"float"``.
    data : str, optional
        Override the data set (e.g. ``"fashion-mnist"``).
    seed : int, optional
        Override the seed (default 0).
    progress : bool
        Show a progress bar on stderr.
    skipped : list, optional
        With ``"all"``: experiments whose data set is missing are skipped and
        appended here as ``(name, reason)`` instead of stopping the others.

    Returns
    -------
    list of ExperimentResult
        Per experiment: ``name``, ``out_dir``, ``files`` written, ``runs``
        (dicts with ``rule``, ``no_derivative``, ``test_auc``,
        ``test_accuracy``, ``energy_nj_per_sample``, ...) and ``claims``
        (``statement``, ``measured``, ``holds``).

    Raises
    ------
    ConfigError
        Unknown experiment, `out_dir` not a directory, bad `workers` or a bad
        override.
    DataError
        The experiment's data set is missing (the message says where to get it).
    RunFailed
        A training run failed (it stays in the store as failed).
    """
    from neurosim.experiments.paper import run_experiment

    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError("out", str(out_dir), "a directory (existing or to be created)")
    if workers is not None and (
        not isinstance(workers, int) or isinstance(workers, bool) or workers < 1
    ):
        raise ConfigError("workers", workers, "a positive integer")
    given = (("epochs", epochs), ("limit", limit), ("mode", mode), ("data", data), ("seed", seed))
    overrides = {k: v for k, v in given if v is not None}
    return run_experiment(
        experiment, out_dir, data_dir=None if data_dir is None else str(data_dir),
        quick=quick, workers=workers, overrides=overrides, progress=progress, skipped=skipped,
    )  # fmt: skip
