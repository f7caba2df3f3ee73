"""The API of sweeps, result stores, reports and the paper's experiments.

Re-exported by :mod:`neurosim.api` (and the package); see its docstring.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurosim.errors import ConfigError

if TYPE_CHECKING:  # only for annotations: these imports load numba
    import pandas as pd

    from neurosim.experiments.paper import ExperimentResult
    from neurosim.experiments.store import Store
    from neurosim.experiments.sweep import SweepSpec


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

    s = store if store is not None and os.path.exists(store) else None
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
    """Open an existing result store read-only (nothing is created or changed,
    so a store on a read-only mount can be read).

    Raises
    ------
    ConfigError
        The path is empty or ``:memory:``, or the file does not exist.
    StoreError
        The file is empty, not an SQLite database or not a neurosim store.
    """
    from neurosim.experiments.store import Store, check_store_path

    check_store_path(path)
    if not os.path.isfile(path):  # os.path: a name too long is "not a file", not an OSError
        raise ConfigError("store", str(path), "an existing store file written by neurosim sweep")
    return Store(path, readonly=True)


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
    from neurosim.experiments.safe_io import check_output_dir

    check_output_dir("out", out_dir)  # before the store is read
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
    seeds: int | None = None,
    tune: bool | None = None,
    lr: float | None = None,
    tune_epochs: int | None = None,
    tune_seeds: int | None = None,
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
    epochs, limit, mode, data : optional
        Override the experiment's epochs, training subset size (samples),
        arithmetic (``"fixed"``, the default, or ``"float"``) and data set
        (e.g. ``"fashion-mnist"``).
    seed : int, optional
        The first seed (default 0); runs use ``seed .. seed + seeds - 1``.
    progress : bool
        Show a progress bar on stderr.
    skipped : list, optional
        With ``"all"``: experiments whose data set is missing are skipped and
        appended here as ``(name, reason)`` instead of stopping the others.
    seeds : int, optional
        Seeds per run (default 3; 1 with `quick`). Figures are the mean and
        standard deviation over them, claims are judged on the means.
    tune : bool, optional
        Choose each run's learning rate from a small grid on a validation
        split of the training set (default: on, off with `quick`).
    lr : float, optional
        One fixed learning rate for every run (no tuning): reproduces the
        fixed-lr runs (``lr = 0.1``).
    tune_epochs, tune_seeds : int, optional
        Epochs of each tuning run (default: half the experiment's, at least
        1); tune only the first `tune_seeds` seeds, every seed then at their
        best mean rate (default: each seed tunes; refused on ``mnist5k`` and
        ``digits``, whose seeded splits mix validation and test samples).

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
    from neurosim.experiments.paper.protocol import Protocol
    from neurosim.experiments.safe_io import check_output_dir

    check_output_dir("out", out_dir)  # before anything trains
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                or workers < 1):  # fmt: skip
        raise ConfigError("workers", workers, "a positive integer")
    given = {"epochs": epochs, "limit": limit, "mode": mode, "data": data, "seed": seed, "lr": lr}
    overrides = {k: v for k, v in given.items() if v is not None}
    protocol = Protocol.default(quick, overrides, seeds, tune, tune_epochs, tune_seeds)
    return run_experiment(
        experiment, out_dir, data_dir=None if data_dir is None else str(data_dir),
        quick=quick, workers=workers, overrides=overrides, progress=progress, skipped=skipped,
        protocol=protocol,
    )  # fmt: skip
