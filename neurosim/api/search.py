"""The API of design-space searches (Optuna): run one, read its Pareto front.

Re-exported by :mod:`neurosim.api` (and the package); see its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurosim.errors import ConfigError

if TYPE_CHECKING:  # only for annotations: these imports load numba
    from neurosim.experiments.search_spec import SearchSpec
    from neurosim.experiments.store import Store


def _spec(spec: SearchSpec | Mapping[str, Any] | str | Path) -> SearchSpec:
    from neurosim.experiments.search_spec import SearchSpec, load_search_spec

    if isinstance(spec, SearchSpec):
        return spec
    if isinstance(spec, Mapping):
        return SearchSpec.from_dict(dict(spec))
    return load_search_spec(spec)


def run_search(
    spec: SearchSpec | Mapping[str, Any] | str | Path,
    store: str | Path | None = None,
    *,
    trials: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    seed: int | None = None,
    progress: bool = False,
) -> Store:
    """Run a multi-objective search (Optuna) into a result store; return the open store.

    The spec (``[search]``, ``[base]``, ``[space]``; see
    :mod:`neurosim.experiments.search_spec`) names the objectives (default
    validation accuracy up, energy per training sample in nJ down), the
    sampler (NSGA-II, TPE, random) and the space. Each trial trains on the
    training set less ``validation`` held-out samples and is scored on them
    (the test set is never read); at the end the Pareto front is trained on
    the whole training set and tested. A rerun continues a stored search to
    `trials` in all, and a configuration already stored is not trained again.
    Needs the optional ``optuna`` package (``pip install 'neurosim[search]'``).

    Parameters
    ----------
    spec : SearchSpec, mapping, str or Path
        The search, or the path of its TOML file.
    store : str or Path, optional
        The SQLite store (default: the spec file with ``.db``).
    trials : int, optional
        Trials in all, stored ones included (default: the spec's ``trials``).
    workers : int, optional
        Local worker processes and trials per batch (default: the CPU count).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead (``"tcp://host:8786"``).
    seed : int, optional
        The sampler's seed (default: the spec's, else 0).
    progress : bool
        Show a progress bar of trials on stderr.

    Returns
    -------
    Store
        Open (use it in a ``with`` block), with ``summary``
        (:class:`~neurosim.experiments.search.SearchSummary`): ``trials``,
        ``resumed``, ``run``, ``reused``, ``failed``, ``front``, ``test_runs``,
        ``wall_seconds``.

    Raises
    ------
    ConfigError
        A bad spec (the field is the key's path, e.g. ``space.error_bits``),
        budget, seed or worker count, or optuna missing; nothing is written.
    """
    from neurosim.experiments.search import run_search as _run
    from neurosim.experiments.store import Store

    s = _spec(spec)
    if store is None:
        if not isinstance(spec, (str, Path)):
            raise ConfigError("store", None, "a store path (the spec is not a file)")
        store = Path(spec).with_suffix(".db")
    summary = _run(s, store, trials, workers=workers, scheduler=scheduler, seed=seed,
                   progress=progress)  # fmt: skip
    st = Store(store)
    st.summary = summary
    return st


def search_front(store: Store | str | Path, name: str | None = None) -> list[dict[str, Any]]:
    """The Pareto-front trials of the searches in a store (or of search `name`).

    Returns
    -------
    list of dict
        Per front trial: ``search``, ``number``, ``params``, ``objectives``
        (validation values: accuracy as a fraction, energy in nJ per training
        sample, area in mm^2, throughput in samples/s), ``point_id``,
        ``test_id`` and ``test_accuracy`` (the front's re-scoring on the test
        set); empty for a store without searches.
    """
    from neurosim.api.sweeps import _with_store
    from neurosim.experiments.search_report import front_rows

    return _with_store(store, lambda st: front_rows(st, name))
