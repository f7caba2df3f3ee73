"""Command-line interface: ``neurosim train``, ``chip``, ``sweep``, ``results``, ``report``,
``paper``, ``search``, ``validate``.

A thin layer over :mod:`neurosim.api`: it parses flags, calls the API and
prints. Only this module prints and exits. Errors neurosim raises on purpose
become one line on stderr and exit code 2 (``--debug`` shows the traceback
instead). The API loads its heavy modules on first use, so ``--help`` stays
fast. The ``train`` flags are generated from the config's field metadata
(:mod:`neurosim.config.sections`): one flag per field, grouped by section.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from typing import Any

try:
    from neurosim import api
except KeyboardInterrupt:  # Ctrl-C while the CLI starts: the same one line as later
    sys.stderr.write("neurosim: interrupted\n")
    raise SystemExit(130) from None

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def config_flags() -> list[dict[str, Any]]:
    """The ``train`` flags of the config fields, generated from their metadata.

    Returns
    -------
    list of dict
        One per :class:`~neurosim.config.TrainConfig` field, in field order:
        ``flag``, ``dest`` (the field name), ``section``, ``type`` (int, float,
        str, or None for a boolean switch), ``choices`` (the allowed strings;
        the chip presets for ``chip``) and ``help`` (the field's help, its
        choices and its default).
    """
    from hw_models.chip import preset_names
    from neurosim.config import TrainConfig
    from neurosim.config.sections import flag_of

    out = []
    for f in dataclasses.fields(TrainConfig):
        t = str(f.type)
        choices = tuple(preset_names()) if f.name == "chip" else f.metadata["choices"]
        help_ = f.metadata["help"]
        if choices:
            help_ += ": " + ", ".join(choices)
        unit, bounds = f.metadata["unit"], f.metadata["range"]
        if unit and unit not in help_:
            help_ += f", in {unit}"
        if bounds is not None and bounds[1] <= 10**6:
            help_ += f", {bounds[0]} to {bounds[1]}"
        if t != "bool" and f.default is not None:
            help_ += f" (default {_show_default(f.default)})"
        typ = (
            None if t == "bool" else _per_layer if f.metadata["per_layer"]  # "8", "16,8,16"
            else int if t.startswith("int") else float if t == "float" else str
        )  # fmt: skip
        out.append({"flag": flag_of(f), "dest": f.name, "section": f.metadata["section"],
                    "type": typ, "choices": choices, "help": help_})  # fmt: skip
    return out


def _per_layer(text: str) -> int | tuple[int, ...]:
    """A per-layer flag's value: one integer (``8``), or one per dense weight
    layer separated by commas (``16,8,16``: a tuple); the config checks the
    count and the ranges."""
    if not re.fullmatch(r"\s*-?\d+\s*(,\s*-?\d+\s*)*", text):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: an integer, or one per dense weight layer (16,8,16)"
        )
    parts = tuple(int(v) for v in text.split(","))
    return parts if "," in text else parts[0]


def _show_default(value: Any) -> str:
    """A default as a flag would spell it: ``100,100``, ``none`` for empty."""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "none"
    return str(value) if value != "" else "none"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with one line, as for bad values
        self.exit(EXIT_USAGE, f"neurosim: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    p = _Parser(prog="neurosim", description="Bit-exact simulator of an on-chip learning chip.")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser(
        "train",
        help="train one network and report accuracy",
        description="Train one network on the simulated chip (or in float32) and report.",
    )
    # short spellings of two run fields (before the generated flags, which own the dest)
    t.add_argument("--energy", dest="accelergy_ert", default=None, metavar="ERT.yaml",
                   help="the same as --accelergy-ert: an Accelergy energy reference table "
                   "pricing the run's actions")  # fmt: skip
    t.add_argument("--energy-partial", dest="accelergy_partial", action="store_const",
                   const=True, default=None, help="the same as --accelergy-partial")  # fmt: skip
    _add_config_flags(t)
    t.add_argument(
        "--preset",
        help="named defaults: higgs (5x300 tanh, sigmoid output), cifar-conv (the paper's "
        "CIFAR-10 net: 3 x [conv 64 5x5 tanh, max-pool 3x3/2], dense 1024 tanh, softmax)",
    )
    t.add_argument(
        "--config",
        help="TOML file of config fields, flat or in section tables (flags override it)",
    )
    t.add_argument("--json", help="write the run's JSON record here")
    t.add_argument("--accelergy-counts", metavar="PATH",
                   help="write the run's action counts per training sample in Accelergy's "
                   "action-count YAML format (needs PyYAML)")  # fmt: skip
    _add_max_memory(t)
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    c = sub.add_parser(
        "chip",
        help="describe a chip: tiles, memories, links, area, energy table",
        description="Print a chip preset or chip TOML file with its energy table and sources.",
    )
    c.add_argument("chip", help=f"preset name ({', '.join(_chip_presets())}) or path of a "
                   "chip TOML file")  # fmt: skip
    c.add_argument("--energy", help="TOML file overriding rows of the energy table")
    sw = sub.add_parser(
        "sweep",
        help="run a grid of training runs into a result store",
        description="Run every point of a sweep spec (TOML: [base], [axes], [zip.*], "
        "[[exclude]]) into a SQLite store; finished points are skipped on a rerun.",
    )
    sw.add_argument("spec", help="sweep spec TOML file")
    sw.add_argument("--store", help="SQLite store (default: the spec's path with .db)")
    sw.add_argument("--workers", type=int, help="worker processes (default: the CPU count)")
    sw.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    sw.add_argument("--dry-run", action="store_true", help="list the points, run nothing")
    sw.add_argument("--max-points", type=_positive(int), default=None,
                    help="refuse a grid of more points (default 100000)")  # fmt: skip
    sw.add_argument("--energy", help="Accelergy ERT.yaml pricing every point "
                    "(sets accelergy_ert in the spec's base)")  # fmt: skip
    sw.add_argument("--energy-partial", action="store_true",
                    help="actions the ERT lacks are priced from neurosim's own table")
    _add_max_memory(sw)
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    r = sub.add_parser(
        "results",
        help="list the points of a result store",
        description="List a result store's points as a table, or export CSV.",
    )
    r.add_argument("store", help="SQLite store written by neurosim sweep")
    r.add_argument("--csv", help="write every row and column as CSV to this file ('-': stdout)")
    r.add_argument("--front", action="store_true",
                   help="only the Pareto front of the store's searches")  # fmt: skip
    rp = sub.add_parser(
        "report",
        help="energy-versus-accuracy report of a result store",
        description="Write figures (PNG, SVG) and one self-contained HTML page.",
    )
    rp.add_argument("store", help="SQLite store written by neurosim sweep")
    rp.add_argument("-o", "--out", default="report", help="output directory (default: report)")
    _add_paper(sub)
    _add_search(sub)
    _add_validate(sub)
    from neurosim.cli_kernels import add_parser as _add_kernels

    _add_kernels(sub)
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return p


def _chip_presets() -> list[str]:
    from hw_models.chip import preset_names

    return preset_names()


def _positive(kind: type) -> Any:
    """An argparse type: a finite positive `kind` (int or float)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a positive number")
        return value

    return parse


def _add_max_memory(p: argparse.ArgumentParser) -> None:
    from neurosim.config.memory import DEFAULT_MAX_MEMORY_GIB

    p.add_argument(
        "--max-memory-gib", type=_positive(float), default=DEFAULT_MAX_MEMORY_GIB,
        help="refuse a network whose weights, feedback, gradients and one batch of "
        f"activations need more memory, in GiB (default {DEFAULT_MAX_MEMORY_GIB:g})",
    )  # fmt: skip


def _add_config_flags(t: argparse.ArgumentParser) -> None:
    """One flag per config field, grouped by section (see :func:`config_flags`)."""
    from neurosim.config.sections import SECTIONS

    groups = {
        name: t.add_argument_group(f"{name} options", (cls.__doc__ or "").split("\n")[0])
        for name, cls in SECTIONS.items()
    }
    for spec in config_flags():
        g = groups[spec["section"]]
        if spec["type"] is None:  # a switch: given means true, absent leaves the file's value
            g.add_argument(spec["flag"], dest=spec["dest"], action="store_const", const=True,
                           default=None, help=spec["help"])  # fmt: skip
        else:
            g.add_argument(spec["flag"], dest=spec["dest"], type=spec["type"], default=None,
                           help=spec["help"])  # fmt: skip


def _add_paper(sub: Any) -> None:
    """``neurosim paper``: its config overrides take the fields' types."""
    pp = sub.add_parser(
        "paper",
        help="rerun one of the paper's experiments and check its claims",
        description="Run an experiment of Baldi, Sadowski and Lu on the simulated chip and "
        "write a figure, the data as CSV and a Markdown table of the paper's claims next to "
        "what was measured, under OUT/EXPERIMENT/.",
    )
    pp.add_argument(
        "experiment",
        help=", ".join(api.paper_experiments()) + ", or all",
    )
    pp.add_argument("--quick", action="store_true", help="tiny nets and subsets (seconds)")
    pp.add_argument("--data-dir", help="directory of the data files (else $NEUROSIM_DATA)")
    pp.add_argument("-o", "--out", default="reports/paper", help="output (reports/paper)")
    pp.add_argument("--workers", type=int, help="worker processes (default: the CPU count)")
    types = {s["dest"]: s["type"] for s in config_flags()}
    for name, help_ in (
        ("epochs", "override the experiment's epochs"),
        ("limit", "override the training subset size"),
        ("mode", "override the mode: fixed (default) or float"),
        ("data", "override the data set, e.g. fashion-mnist"),
        ("seed", "the first seed (default 0)"),
        ("lr", "one fixed learning rate for every run (no tuning)"),
    ):
        pp.add_argument(f"--{name}", type=types[name], help=help_)
    pp.add_argument("--seeds", type=int, help="seeds per run (default 3; --quick: 1)")
    pp.add_argument("--no-tune", action="store_true",
                    help="no learning-rate tuning: every run at the experiment's lr")  # fmt: skip
    pp.add_argument("--tune-epochs", type=int,
                    help="epochs of each tuning run (default: half the experiment's)")  # fmt: skip
    pp.add_argument("--tune-seeds", type=int,
                    help="tune only the first N seeds, every seed at their best mean rate "
                    "(data sets with a standard split; default: each seed tunes)")  # fmt: skip
    pp.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_search(sub: Any) -> None:
    """``neurosim search``: a multi-objective search into a store."""
    se = sub.add_parser(
        "search",
        help="multi-objective design-space search (Optuna) into a result store",
        description="Search the [space] of a spec (TOML: [search], [base], [space]) for the "
        "Pareto front of validation accuracy and energy (and area, throughput); trials go "
        "into a SQLite store and a rerun continues them; the front is tested at the end.",
    )
    se.add_argument("spec", help="search spec TOML file")
    se.add_argument("--trials", type=_positive(int), help="trials in all, stored ones included")
    se.add_argument("-o", "--store", help="SQLite store (default: the spec's path with .db)")
    se.add_argument("--workers", type=int, help="worker processes and trials per batch "
                    "(default: the CPU count)")  # fmt: skip
    se.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    se.add_argument("--seed", type=int, help="the sampler's seed (default: the spec's, else 0)")
    se.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_search(args: argparse.Namespace) -> int:
    """``neurosim search``: run a search, print its summary and front."""
    from pathlib import Path

    store = str(Path(args.spec).with_suffix(".db")) if args.store is None else args.store
    with api.run_search(
        args.spec, store, trials=args.trials, workers=args.workers, scheduler=args.scheduler,
        seed=args.seed, progress=not args.no_progress,
    ) as st:  # fmt: skip
        s = st.summary
        print(
            f"search {s.name!r}: {s.trials} trials ({s.resumed} stored before, {s.run} trained, "
            f"{s.reused} reused a stored run, {s.failed} failed); front of {s.front}, "
            f"{s.test_runs} test runs; wall {s.wall_seconds:.1f} s; store {store}"
        )
        _print_front(st)
    return 0


def _print_front(store: Any) -> None:
    """The Pareto front of each search in `store`, as a table (nothing without searches)."""
    rows = api.search_front(store)
    for name in dict.fromkeys(r["search"] for r in rows):
        mine = [r for r in rows if r["search"] == name]
        params, objectives = list(mine[0]["params"]), list(mine[0]["objectives"])
        units = {"accuracy": "val acc", "energy": "val nJ", "area": "mm2", "throughput": "smp/s"}
        head = ["trial", *params, *(units[o] for o in objectives), "test acc"]
        table = [[str(r["number"]), *(str(r["params"][k]) for k in params),
                  *(format(r["objectives"][o], ".4g") for o in objectives),
                  _fmt(r["test_accuracy"], ".4f")] for r in mine]  # fmt: skip
        widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(head)]
        print(f"\nPareto front of search {name!r} ({len(mine)} trials; validation objectives, "
              "test accuracy of the front trained on the whole training set):")  # fmt: skip
        print("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
        for row in table:
            print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
def _add_validate(sub: Any) -> None:
    """``neurosim validate``: published chips against their re-models."""
    va = sub.add_parser(
        "validate",
        help="compare published on-chip learning chips with their neurosim re-models",
        description="Run the validation cases (SPOON, Han et al. VLSI 2019, DF-LNPU) and write "
        "one table: published figure, simulated value, ratio, direction, within 2x "
        "(OUT/validation.md and OUT/validation.csv; see docs/validation.md).",
    )
    va.add_argument("--chip", help="only this chip's cases: spoon28, han-vlsi19 or dflnpu65")
    va.add_argument("-o", "--out", default="reports/validation",
                    help="output directory (default: reports/validation)")  # fmt: skip
    va.add_argument("--json", help="also write the rows as a JSON list here ('-': stdout)")


def resolve_config(args: argparse.Namespace):
    """The run's config: defaults, then the TOML file, then flags (None: not given)."""
    given = {spec["dest"]: getattr(args, spec["dest"]) for spec in config_flags()}
    # a --preset flag wins over a preset named in the config file
    return api.make_config(args.config, preset=args.preset, **given)


def cmd_train(args: argparse.Namespace) -> int:
    """``neurosim train``: run, print the epoch table and summary, write JSON."""
    try:
        if args.json != "-":
            return _train(args, sys.stdout)
        import contextlib

        record_out = sys.stdout
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the record alone
            return _train(args, record_out)
    finally:
        _rebuild_hint()


def _rebuild_hint(ran: bool = False) -> None:
    """After a run: say so on stderr when compiled kernels for another
    version sit unused in the cache (``neurosim kernels build`` again)."""
    if not ran and "neurosim.numerics.kernels" not in sys.modules:
        return  # the run never got to its kernels (a bad config)
    from neurosim.numerics.kernels import aot

    hint = aot.rebuild_hint()
    if hint:
        print(f"neurosim: {hint}", file=sys.stderr)


def _train(args: argparse.Namespace, record_out: Any) -> int:
    cfg = resolve_config(args)
    if args.json is not None:
        _check_output_file("json", args.json)
    if args.accelergy_counts is not None:
        _check_output_file("accelergy_counts", args.accelergy_counts)
        from hw_models.accelergy import _yaml

        _yaml("accelergy_counts")  # PyYAML missing: say so before the run
    ds = api.load_data(cfg)
    from neurosim.config.memory import check_memory

    # before the header: a net of valid widths may still need terabytes
    check_memory(cfg, ds.n_features, cfg.n_outputs(), ds.image_shape, args.max_memory_gib)
    hidden = "-".join(str(n) for n in [*([cfg.conv] if cfg.conv else []), *cfg.hidden])
    n_out = cfg.n_outputs()
    binary = ds.n_classes == 2
    print(
        f"neurosim train: {cfg.rule} on {ds.name} ({ds.x_train.shape[0]} train, "
        f"{ds.x_test.shape[0]} test), net {ds.n_features}-{hidden}-{n_out} {cfg.act}/"
        f"{cfg.output}, mode {cfg.mode}"
    )
    if cfg.mode == "fixed":
        fm = api.formats(cfg)
        block = " block exponent" if cfg.error_bits and cfg.error_scale == "block" else ""
        if cfg.error_bits and cfg.error_rounding == "stochastic":
            block += " stochastic"
        w = "/".join(str(f) for f in fm.weights) if len(set(fm.weights)) > 1 else str(fm.weights[0])
        used = fm.feedbacks[:-1] or fm.feedbacks  # the output layer has no C^h
        c = "/".join(str(f) for f in used) if len(set(used)) > 1 else str(used[0])
        o = f"{'/'.join(map(str, fm.hidden_acts))} out {fm.out}" if len({*fm.acts}) > 1 else fm.act
        eb = "/".join(str(b) for b in cfg.per_layer("error_bits")) if isinstance(
            cfg.error_bits, (tuple, list)) else str(cfg.error_bits)  # fmt: skip
        print(
            f"  formats: W {w}  {'b ' + w + '  ' if cfg.bias else ''}"
            f"O {o}  input {fm.inp}  C {c}  "
            f"R {fm.error}  S {fm.lut}  acc {cfg.acc_bits} bits; "
            f"errors {'log ' + eb + '-bit' if cfg.error_bits else 'linear'}"
            f"{block}; "
            f"rounding {cfg.rounding}"
            + (
                f"; momentum {cfg.momentum:g} (velocity Q{cfg.velocity_bits}."
                f"{fm.weight.frac + cfg.velocity_bits - fm.weight.bits})"
                if cfg.momentum
                else ""
            )
        )
    header = (
        f"{'epoch':>5} {'train loss':>10} {'train acc':>9} {'test acc':>8} "
        + (f"{'test auc':>8} " if binary else "")
        + f"{'saturations':>11} {'s':>6}"
    )
    print(header)
    print("-" * len(header))

    def show(e) -> None:
        auc = f"{e.test_auc:>8.4f} " if binary else ""
        print(
            f"{e.epoch:>5} {e.train_loss:>10.4f} {e.train_accuracy:>9.4f} "
            f"{e.test_accuracy:>8.4f} {auc}{e.saturations:>11} {e.seconds:>6.2f}",
            flush=True,
        )

    result = api.run(cfg, dataset=ds, progress=not args.no_progress, on_epoch=show)
    from neurosim.jsonsafe import check_record

    check_record(result.to_record())  # no inf nJ printed, no bare Infinity in the record
    print()
    auc = f"   test AUC  {result.test_auc:.4f}" if binary else ""
    print(
        f"test accuracy  {result.test_accuracy:.4f}{auc}   train accuracy  "
        f"{result.train_accuracy:.4f}   wall  {result.wall_seconds:.1f} s"
    )
    if cfg.mode == "fixed":
        sats = {k: v for k, v in result.saturations().items() if v}
        changed = {k[8:]: v for k, v in result.counts.items() if k.startswith("changed:")}
        print("saturations    " + (", ".join(f"{k} {v}" for k, v in sats.items()) or "none"))
        print("weight writes  " + ", ".join(f"{k} {v}" for k, v in sorted(changed.items())))
        err_bits = result.counts.get("rng_bits:error", 0)
        print(
            f"rng bits       {result.counts.get('rng_bits', 0)}"
            + (f" (updates); error rounding {err_bits}" if err_bits else "")
        )
        for name in result.frozen_layers():
            print(
                f"warning: {name} never changed: every update was below half an LSB of "
                f"the weight format; use --rounding stochastic or more --weight-bits"
            )
    if result.hardware:
        print_hardware(result.hardware)
    print(f"weights sha256 {result.weights_sha256[:16]}")
    if args.accelergy_counts is not None:
        api.write_accelergy_counts(result, args.accelergy_counts)
        print(f"action counts  {args.accelergy_counts} (Accelergy format, per training sample)")
    if args.json == "-":
        record_out.write(result.to_json())
    elif args.json is not None:
        result.to_json(args.json)  # a failed write saves the record elsewhere and says where
        print(f"record         {args.json}")
    return 0


def _check_output_file(field: str, path: str) -> None:
    """Reject an output path that cannot be written, before anything runs."""
    from neurosim.experiments.safe_io import check_output_file

    check_output_file(field, path)


def print_hardware(h: dict) -> None:
    """The summary of the record's ``hardware`` section (:mod:`neurosim.experiments.summary`)."""
    from neurosim.experiments.summary import hardware_lines

    print("\n".join(hardware_lines(h)))


def cmd_chip(args: argparse.Namespace) -> int:
    """``neurosim chip``: print a chip and its energy table."""
    print(api.describe_chip(args.chip, args.energy))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """``neurosim sweep``: run (or list) a sweep's points into a store."""
    from pathlib import Path

    from neurosim.experiments.sweep import MAX_POINTS, load_spec

    # every point validated (and the grid's size bounded) before anything runs
    spec = load_spec(args.spec, args.max_points or MAX_POINTS, args.max_memory_gib)
    if args.energy is not None or args.energy_partial:
        spec = _with_ert(spec, args.energy, args.energy_partial)
    store = str(Path(args.spec).with_suffix(".db")) if args.store is None else args.store
    if args.dry_run:
        lines = api.list_points(spec, store)
        print(f"{len(lines)} points of sweep {spec.name!r} (store {store}):")
        print("\n".join(lines))
        return 0
    with api.run_sweep(
        spec, store, workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress
    ) as st:
        s = st.summary
    _rebuild_hint(ran=True)  # what the workers found is what this process finds
    print(
        f"sweep {spec.name!r}: {s.total} points, {s.skipped} already stored, "
        f"{s.done} run ok, {s.failed} failed, wall {s.wall_seconds:.1f} s; store {store}"
    )
    return 1 if s.failed else 0


def _with_ert(spec: Any, path: str | None, partial: bool) -> Any:
    """The sweep with an Accelergy ERT in its base (every point re-validated)."""
    base = dict(spec.base)
    if path is not None:
        base["accelergy_ert"] = path
    if partial:
        base["accelergy_partial"] = True
    new = dataclasses.replace(spec, base=base)
    new.points()
    return new


def cmd_results(args: argparse.Namespace) -> int:
    """``neurosim results``: a table of a store's points, or CSV."""
    if args.csv is not None:
        _check_output_file("csv", args.csv)
    with api.open_store(args.store) as st:
        if args.csv is not None:
            api.export_csv(st, sys.stdout if args.csv == "-" else args.csv)
            return 0
        if args.front:
            _print_front(st)
            return 0
        rows = api.results(st)
        front_after = bool(api.search_front(st))
    if not rows:
        print("no points stored")
        return 0
    swept = _swept_columns(rows)
    has_auc = any(r.get("test_auc") is not None for r in rows)
    head = ["id", "status", *swept, "test acc", *(["test auc"] if has_auc else []),
            "energy nJ", "cycles", "err bits"]  # fmt: skip
    table = []
    for r in rows:
        table.append([
            r["id"][:12], r["status"], *(str(r.get(k)) for k in swept),
            _fmt(r.get("test_accuracy"), ".4f"),
            *([_fmt(r.get("test_auc"), ".4f")] if has_auc else []),
            _fmt(r.get("energy_pj_per_sample"), ".1f", 1e-3),
            _fmt(r.get("cycles_per_sample"), ".0f"),
            _fmt(r.get("transport_bits_per_sample"), ".1f"),
        ])  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for row in table:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    failed = [r for r in rows if r["status"] != "ok"]
    for r in failed:
        print(f"failed {r['id'][:12]}: {r.get('error')}")
    if front_after:  # a search's store: its front after the points
        with api.open_store(args.store) as st:
            _print_front(st)
    return 0


def _swept_columns(rows: list[dict]) -> list[str]:
    """Config columns whose value differs between the rows."""
    return [
        k for k in api.config_fields()
        if len({str(r.get(k)) for r in rows}) > 1
    ]  # fmt: skip


def _fmt(v, spec: str, scale: float = 1.0) -> str:
    return "-" if v is None else format(v * scale, spec)


def cmd_report(args: argparse.Namespace) -> int:
    """``neurosim report``: figures and one HTML page from a store."""
    html = api.make_report(args.store, args.out)
    print(f"report {html}")
    return 0


def cmd_paper(args: argparse.Namespace) -> int:
    """``neurosim paper``: run an experiment, write figure, CSV and claims table."""
    skipped: list[tuple[str, str]] = []
    try:
        results = api.run_paper(
            args.experiment, args.out, data_dir=args.data_dir, quick=args.quick,
            workers=args.workers, epochs=args.epochs, limit=args.limit, mode=args.mode,
            data=args.data, seed=args.seed, progress=not args.no_progress, skipped=skipped,
            seeds=args.seeds, tune=False if args.no_tune else None, lr=args.lr,
            tune_epochs=args.tune_epochs, tune_seeds=args.tune_seeds,
        )  # fmt: skip
    except api.RunFailed as e:
        print(f"neurosim: {e}", file=sys.stderr)
        return 1
    for r in results:
        held = sum(c.holds for c in r.claims)
        print(f"{r.name}: {held} of {len(r.claims)} claims hold")
        for c in r.claims:
            print(f"  [{'holds' if c.holds else 'FAILS'}] {c.statement}: {c.measured}")
        print("  wrote " + ", ".join(str(f) for f in r.files))
    for name, why in skipped:
        print(f"{name}: skipped: {why}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``neurosim validate``: run the cases, print the table, write the files."""
    from neurosim.experiments.validation import to_markdown

    rows = api.validate(chip=args.chip, out_dir=args.out, json_path=args.json)
    if args.json != "-":
        print(to_markdown(rows), end="")
        held = sum(bool(r["within_2x"]) for r in rows)
        print(f"{held} of {len(rows)} rows within 2x; wrote {args.out}/validation.md, "
              f"{args.out}/validation.csv" + (f", {args.json}" if args.json else ""))  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neurosim`` console script."""
    from neurosim.numerics.pages import huge_pages

    huge_pages(False)  # first touches of large arrays: see neurosim.numerics.pages
    try:
        parser = build_parser()  # imports the config (numpy): seconds on a cold start
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "chip":
            return cmd_chip(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "results":
            return cmd_results(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "paper":
            return cmd_paper(args)
        if args.command == "search":
            return cmd_search(args)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "kernels":
            from neurosim.cli_kernels import cmd_kernels

            return cmd_kernels(args)
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `neurosim train | head`: the reader left
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as e:  # noqa: BLE001 -- one line for the user, traceback with --debug
        if args.debug or not isinstance(e, api.NeuroSimError):
            raise
        print(f"neurosim: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
