"""Running an experiment: its runs through the sweep machinery into a store, then
its claims and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError, DataError
from neurosim.experiments.paper.common import FULL, QUICK, Experiment, ExperimentResult, RunFailed
from neurosim.experiments.paper.outputs import _write_outputs
from neurosim.experiments.paper.table import EXPERIMENTS


def _measure(record: dict[str, Any]) -> dict[str, Any]:
    """A run's figures from its stored record."""
    res, hw = record["results"], record.get("hardware") or {}
    bits = (hw.get("bus") or {}).get("bits_per_sample") or {}
    return {
        "test_accuracy": res["test_accuracy"],
        "test_auc": res.get("test_auc"),
        "curve": [e.get("test_auc") or e["test_accuracy"] for e in res["epochs"]],
        "energy_nj_per_sample": (hw.get("energy_pj_per_sample") or {}).get("total", 0.0) / 1e3,
        "transport_bits_per_sample": float(sum(v for k, v in bits.items() if k != "forward")),
        "cycles_per_sample": (hw.get("cycles_per_sample") or {}).get("train", 0.0),
    }


def _base(exp: Experiment, quick: bool, data_dir: str | None, overrides: dict) -> dict:
    base = dict(QUICK if quick else FULL)
    if exp.preset:  # the preset decides data and net; drop the common ones
        for k in ("data", "hidden", "act", "output", "batch", "lr", "epochs"):
            base.pop(k, None)
    base.update(exp.settings)
    extra = exp.quick if quick else exp.full
    base.update(extra or {})
    if data_dir is not None:
        base["data_dir"] = data_dir
    base.update(overrides)
    return base


def run_one(
    exp: Experiment,
    out_dir: Path,
    data_dir: str | None = None,
    quick: bool = False,
    workers: int | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool = False,
) -> ExperimentResult:
    """Run one experiment and write its figure, CSV and Markdown table."""
    if exp.runner is not None:
        return exp.runner(out_dir, quick)
    from neurosim.config import TrainConfig
    from neurosim.data.datasets import load_dataset
    from neurosim.experiments.store import Store
    from neurosim.experiments.sweep import SweepSpec, point_id, run_sweep

    base = _base(exp, quick, data_dir, overrides or {})
    head = {"preset": exp.preset, **base} if exp.preset else base
    cfg0 = TrainConfig.from_dict(head).validate()  # bad settings name their field
    variants = exp.variants(cfg0)
    keys: list[str] = []
    for v in variants:
        keys += [k for k in v.fields if k not in keys]
    for v in variants:
        TrainConfig.from_dict({**head, **v.fields}).validate()
    # the data must be there before any worker starts (and HIGGS's cache built once)
    load_dataset(cfg0.data, cfg0.data_dir, cfg0.seed, cfg0.limit)
    spec = SweepSpec(
        name=f"paper-{exp.name}",
        preset=exp.preset,
        base=base,
        zips={"run": {k: [v.fields.get(k, getattr(cfg0, k)) for v in variants] for k in keys}},
    )
    spec.points()  # validates every point
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / f"{exp.name}.db"
    summary = run_sweep(spec, store_path, workers=workers, progress=progress)
    with Store(store_path) as st:
        stored = {p["id"]: p for p in st.points()}
    runs: dict[str, dict[str, Any]] = {}
    for v in variants:
        pid = point_id(TrainConfig.from_dict({**head, **v.fields}).validate())
        row = stored.get(pid)
        if row is None or row["record"] is None:
            err = row.get("error") if row else "not run"
            raise RunFailed(f"{exp.name}: run {v.label!r} failed ({err}); store {store_path}")
        runs[v.label] = {"variant": v, **_measure(row["record"])}
    result = ExperimentResult(name=exp.name, out_dir=out_dir, runs=runs)
    result.claims = exp.claims(runs)
    result.setting = _setting(cfg0, quick)
    result.files = _write_outputs(exp, result, keys, summary)
    return result


def _setting(cfg: Any, quick: bool) -> str:
    widths = (
        f" (W {cfg.weight_bits} bits, O {cfg.act_bits} bits, errors "
        f"{'log ' + str(cfg.error_bits) + '-bit' if cfg.error_bits else 'linear'}"
        f" {cfg.error_word_bits}-bit word, C^h {cfg.feedback_bits} bits)"
        if cfg.mode == "fixed"
        else ""
    )
    return (
        f"{cfg.data}" + (f" (first {cfg.limit} training samples)" if cfg.limit else "")
        + (f", conv {cfg.conv}" if cfg.conv else "")
        + f", hidden {'-'.join(map(str, cfg.hidden))} {cfg.act}, output {cfg.output},"
        f" batch {cfg.batch}, lr {cfg.lr}, {cfg.epochs} epochs, mode {cfg.mode}{widths},"
        f" chip {cfg.chip}, seed {cfg.seed}" + (" — quick mode" if quick else "")
    )  # fmt: skip


def run_experiment(
    name: str,
    out_dir: str | Path = "reports/paper",
    data_dir: str | None = None,
    quick: bool = False,
    workers: int | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool = False,
    skipped: list[tuple[str, str]] | None = None,
) -> list[ExperimentResult]:
    """Run one experiment (or ``all``) and write its outputs.

    Parameters
    ----------
    name : str
        A key of :data:`EXPERIMENTS`, or ``all``.
    out_dir : str or Path
        Parent directory; each experiment writes ``<out_dir>/<name>/``.
    data_dir : str, optional
        Where data files are (else ``$NEUROSIM_DATA``).
    quick : bool
        Tiny networks and subsets, small enough for the test suite.
    workers : int, optional
        Worker processes (default: the CPU count).
    overrides : dict, optional
        Config fields replacing the experiments' settings (e.g. ``epochs``,
        ``data``, ``mode``).
    progress : bool
        Progress bar on stderr.
    skipped : list, optional
        With ``all``: experiments whose data set is missing are skipped and
        appended here as ``(name, reason)`` instead of stopping the others.

    Returns
    -------
    list of ExperimentResult

    Raises
    ------
    ConfigError
        Unknown experiment or a bad override.
    DataError
        The experiment's data set is missing (the message says where to get it).
    RunFailed
        A training run failed; nothing is written for that experiment.
    """
    if name != "all" and name not in EXPERIMENTS:
        raise ConfigError("experiment", name, f"one of: {', '.join(EXPERIMENTS)}, all")
    names = list(EXPERIMENTS) if name == "all" else [name]
    out = []
    for n in names:
        try:
            out.append(
                run_one(EXPERIMENTS[n], Path(out_dir) / n, data_dir, quick, workers,
                        overrides, progress)  # fmt: skip
            )
        except DataError as e:
            if name != "all" or skipped is None:
                raise
            skipped.append((n, str(e)))
    return out
