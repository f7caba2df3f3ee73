"""Running an experiment: its runs through the sweep machinery into a store, then
its claims and outputs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from neurosim.errors import ConfigError, DataError
from neurosim.experiments.paper.common import (
    FULL,
    QUICK,
    Experiment,
    ExperimentResult,
    RunFailed,
    Variant,
    score,
)
from neurosim.experiments.paper.outputs import _write_outputs
from neurosim.experiments.paper.protocol import (
    Protocol,
    aggregate,
    choose_lr,
    validation_size,
)
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
    protocol: Protocol | None = None,
) -> ExperimentResult:
    """Run one experiment by `protocol` (see :mod:`.protocol`; default 3 seeds
    and tuned learning rates, ``quick``: 1 seed, the fixed lr) and write its
    figure, CSV tables and Markdown table."""
    if exp.runner is not None:
        return exp.runner(out_dir, quick)
    from neurosim.config import TrainConfig
    from neurosim.data.datasets import load_dataset

    overrides = overrides or {}
    proto = protocol or Protocol.default(quick, overrides)
    base = _base(exp, quick, data_dir, overrides)
    head = {"preset": exp.preset, **base} if exp.preset else base
    cfg0 = TrainConfig.from_dict(head).validate()  # bad settings name their field
    variants = exp.variants(cfg0)
    for v in variants:
        TrainConfig.from_dict({**head, **v.fields}).validate()
    # the data must be there before any worker starts (and HIGGS's cache built once)
    ds = load_dataset(cfg0.data, cfg0.data_dir, cfg0.seed, cfg0.limit)
    seeds = [cfg0.seed + i for i in range(proto.seeds)]
    if proto.tune and proto.tune_seeds is not None and proto.tune_seeds < len(seeds):
        from neurosim.data.datasets import SEEDED_SPLIT

        if cfg0.data in SEEDED_SPLIT:
            raise ConfigError("tune_seeds", proto.tune_seeds, f"at least the {len(seeds)} seeds "
                              f"run on {cfg0.data}: its split is a seeded permutation, so one "
                              "seed's validation samples are another's test samples")  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / f"{exp.name}.db"
    sweep = _Sweeper(exp, head, base, cfg0, store_path, workers, progress)
    if proto.tune:
        lrs = _tune(sweep, variants, seeds, proto, validation_size(ds.x_train.shape[0]))
    else:
        lrs = {(v.label, s): v.fields.get("lr", cfg0.lr) for v in variants for s in seeds}
    points = {(v.label, s): {**v.fields, "seed": s, "lr": lrs[v.label, s]}
              for v in variants for s in seeds}  # fmt: skip
    records = sweep.run(list(points.values()), "")
    runs: dict[str, dict[str, Any]] = {}
    for v in variants:
        got = [records[_key(points[v.label, s])] for s in seeds]
        for s, rec in zip(seeds, got, strict=True):
            if isinstance(rec, str):
                raise RunFailed(f"{exp.name}: run {v.label!r} seed {s} failed ({rec}); "
                                f"store {store_path}")  # fmt: skip
        lr = [lrs[v.label, s] for s in seeds]
        runs[v.label] = {"variant": v, **aggregate([_measure(r) for r in got], lr, seeds)}
    result = ExperimentResult(name=exp.name, out_dir=out_dir, runs=runs)
    result.claims = exp.claims(runs)
    result.setting = _setting(cfg0, quick, proto, seeds, sweep)
    result.files = _write_outputs(exp, result, sweep.keys(variants), sweep.summary)
    return result


def _key(fields: dict[str, Any]) -> str:
    return repr(sorted(fields.items()))


class _Sweeper:
    """Runs lists of points (config fields over the experiment's settings)
    through one result store, counting what ran and what was stored."""

    def __init__(self, exp, head, base, cfg0, store_path, workers, progress) -> None:
        self.exp, self.head, self.base, self.cfg0 = exp, head, base, cfg0
        self.store_path, self.workers, self.progress = store_path, workers, progress
        self.summary = SimpleNamespace(total=0, skipped=0, done=0, tuning=0)
        self.validation: int | None = None
        self.tune_epochs: int | None = None

    def keys(self, variants: list[Variant]) -> list[str]:
        """The config fields the variants set, in first-seen order."""
        keys: list[str] = []
        for v in variants:
            keys += [k for k in v.fields if k not in keys]
        return keys

    def run(self, points: list[dict[str, Any]], stage: str) -> dict[str, Any]:
        """Run `points`; return ``_key(point) -> record`` (or the error text)."""
        from neurosim.config import TrainConfig
        from neurosim.experiments.store import Store
        from neurosim.experiments.sweep import SweepSpec, point_id, run_sweep

        keys: list[str] = []
        for p in points:
            keys += [k for k in p if k not in keys]
        spec = SweepSpec(
            name=f"paper-{self.exp.name}{stage}",
            preset=self.exp.preset,
            base=self.base,
            zips={"run": {k: [p.get(k, getattr(self.cfg0, k)) for p in points] for k in keys}},
        )
        spec.points()  # validates every point
        s = run_sweep(spec, self.store_path, workers=self.workers, progress=self.progress)
        self.summary.total += s.total
        self.summary.skipped += s.skipped
        self.summary.done += s.done
        self.summary.tuning += s.total if stage else 0
        with Store(self.store_path) as st:
            stored = {p["id"]: p for p in st.points()}
        out = {}
        for p in points:
            row = stored.get(point_id(TrainConfig.from_dict({**self.head, **p}).validate()))
            ok = row is not None and row["record"] is not None
            out[_key(p)] = row["record"] if ok else (row.get("error") if row else "not run")
        return out


def _tune(sweep: _Sweeper, variants: list[Variant], seeds: list[int], proto: Protocol,
          validation: int) -> dict[tuple[str, int], float]:  # fmt: skip
    """Each variant's learning rate per seed, chosen on `validation` held-out
    training samples (the test set is not read); see :mod:`.protocol`."""
    epochs = proto.epochs_for_tuning(sweep.cfg0.epochs)
    sweep.validation, sweep.tune_epochs = validation, epochs
    extra = {"validation": validation, "epochs": epochs}
    tuning = proto.tuning_seeds(seeds)
    points = {(v.label, s, lr): {**v.fields, **extra, "seed": s, "lr": lr}
              for v in variants for s in tuning for lr in proto.grid}  # fmt: skip
    records = sweep.run(list(points.values()), "-tune")
    out = {}
    for v in variants:
        # (tuning seeds, seeds that take their choice): each seed for itself,
        # or one choice over the tuning seeds' mean score for every seed
        groups = [([s], [s]) for s in seeds] if proto.tune_seeds is None else [(tuning, seeds)]
        for group, takers in groups:
            scores: dict[float, float | None] = {}
            for lr in proto.grid:
                recs = [records[_key(points[v.label, s, lr])] for s in group]
                ok = [score(_measure(r)) for r in recs if not isinstance(r, str)]
                scores[lr] = sum(ok) / len(ok) if len(ok) == len(recs) else None
            try:
                lr = choose_lr(scores)
            except ValueError:
                raise RunFailed(f"{sweep.exp.name}: every tuning run of {v.label!r} seed(s) "
                                f"{group} failed; store {sweep.store_path}") from None  # fmt: skip
            for s in takers:
                out[v.label, s] = lr
    return out


def _tuned_on(proto: Protocol, seeds: list[int]) -> str:
    if proto.tune_seeds is None:
        return ""
    t = proto.tuning_seeds(seeds)
    on = f"seed {t[0]}" if len(t) == 1 else f"the mean of seeds {t[0]}–{t[-1]}"
    return f", chosen on {on} for every seed"


def _setting(cfg: Any, quick: bool, proto: Protocol, seeds: list[int], sweep: _Sweeper) -> str:
    widths = (
        f" (W {cfg.weight_bits} bits, O {cfg.act_bits} bits, errors "
        f"{'log ' + str(cfg.error_bits) + '-bit' if cfg.error_bits else 'linear'}"
        f" {cfg.error_word_bits}-bit word, C^h {cfg.feedback_bits} bits)"
        if cfg.mode == "fixed"
        else ""
    )
    lr = (
        f"lr tuned per run from {{{', '.join(f'{x:g}' for x in proto.grid)}}} on the last "
        f"{sweep.validation} training samples held out ({sweep.tune_epochs} epoch(s) per "
        f"tuning run{_tuned_on(proto, seeds)}; the lr column)" if proto.tune else f"lr {cfg.lr}"
    )  # fmt: skip
    seed = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"
    return (
        f"{cfg.data}" + (f" (first {cfg.limit} training samples)" if cfg.limit else "")
        + (f", conv {cfg.conv}" if cfg.conv else "")
        + f", hidden {'-'.join(map(str, cfg.hidden))} {cfg.act}, output {cfg.output},"
        f" batch {cfg.batch}, {lr}, {cfg.epochs} epochs, mode {cfg.mode}{widths},"
        f" chip {cfg.chip}, {seed}" + (" — quick mode" if quick else "")
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
    protocol: Protocol | None = None,
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
    protocol : Protocol, optional
        Seeds and learning-rate tuning (default :meth:`Protocol.default`: 3
        seeds and tuned learning rates, ``quick`` 1 seed and the fixed lr).

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
                        overrides, progress, protocol)  # fmt: skip
            )
        except DataError as e:
            if name != "all" or skipped is None:
                raise
            skipped.append((n, str(e)))
    return out
