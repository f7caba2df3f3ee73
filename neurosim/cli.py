"""Command-line interface: ``neurosim train``, ``chip``, ``sweep``, ``results``, ``report``.

A thin layer over :mod:`neurosim.api`: it parses flags, calls the API and
prints. Only this module prints and exits. Errors neurosim raises on purpose
become one line on stderr and exit code 2 (``--debug`` shows the traceback
instead). The API loads its heavy modules on first use, so ``--help`` stays
fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from neurosim import api

EXIT_USAGE = 2

# flag -> (config field, type, help); the TOML file uses the field names
TRAIN_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--rule", "rule", str, "bp, rbp, srbp, sbp, arbp, asrbp, top-only (default srbp)"),
    ("--data", "data", str, "mnist5k (default), digits, fashion-mnist, mnist, higgs, cifar10"),
    ("--data-dir", "data_dir", str, "directory searched first for IDX files and HIGGS.csv.gz"),
    ("--limit", "limit", int, "train on the first N training samples only"),
    ("--epochs", "epochs", int, "passes over the training set (default 20)"),
    ("--batch", "batch", int, "minibatch size (default 64)"),
    ("--lr", "lr", float, "learning rate eta (default 0.1)"),
    ("--lr-decay", "lr_decay", float, "lr multiplier per epoch (default 1.0)"),
    ("--hidden", "hidden", str, "hidden widths, e.g. 100,100,100,100 (default)"),
    (
        "--conv",
        "conv",
        str,
        "conv blocks before the dense layers, e.g. c64k5p3s2,c64k5p3s2"
        " (F filters KxK 'same', max-pool PxP stride S; default none)",
    ),
    ("--act", "act", str, "hidden activation: tanh (default), logistic, relu, linear"),
    ("--output", "output", str, "output: softmax (default), sigmoid, linear"),
    ("--mode", "mode", str, "float (float32 reference, default) or fixed (bit-exact chip)"),
    ("--weight-bits", "weight_bits", int, "forward weight width in bits (default 16)"),
    ("--weight-int-bits", "weight_int_bits", int, "weight integer bits, sign excluded (1)"),
    ("--act-bits", "act_bits", int, "activation width in bits (default 8)"),
    ("--act-int-bits", "act_int_bits", int, "activation integer bits (default 0)"),
    ("--input-int-bits", "input_int_bits", int, "signed input integer bits, higgs (2)"),
    ("--error-bits", "error_bits", int, "log-quantized error code bits, 0 = linear (default 0)"),
    ("--error-alpha-log2", "error_alpha_log2", int, "log quantizer alpha = 2**this (0)"),
    (
        "--error-scale",
        "error_scale",
        str,
        "log quantizer scale: fixed (alpha, default) or block (shared exponent per message)",
    ),
    (
        "--error-rounding",
        "error_rounding",
        str,
        "log quantizer rounding: nearest (default) or stochastic (unbiased, counted RNG bits)",
    ),
    ("--error-word-bits", "error_word_bits", int, "linear error word width (default 16)"),
    ("--error-int-bits", "error_int_bits", int, "error word integer bits (default 3)"),
    ("--feedback-bits", "feedback_bits", int, "C^h entry width in bits (default 8)"),
    ("--feedback-int-bits", "feedback_int_bits", int, "C^h integer bits (default 0)"),
    ("--acc-bits", "acc_bits", int, "MAC accumulator width (default 32)"),
    ("--lut-bits", "lut_bits", int, "activation LUT input width (default 12)"),
    ("--lut-int-bits", "lut_int_bits", int, "LUT input integer bits (default 3)"),
    ("--lr-frac", "lr_frac", int, "fraction bits of the lr register (default 16)"),
    ("--update-bits", "update_bits", int, "log-quantized weight updates, 0 = off (default)"),
    ("--rounding", "rounding", str, "weight update rounding: stochastic (default), nearest"),
    ("--momentum", "momentum", float, "SGD momentum mu in [0, 1), 0 = off (default)"),
    ("--velocity-bits", "velocity_bits", int, "velocity word width with momentum (default 24)"),
    ("--feedback", "feedback", str, "C^h format: dense (default), sparse, binary, lowrank"),
    ("--feedback-dist", "feedback_dist", str, "dense C^h entries: uniform (default), normal"),
    ("--feedback-mean", "feedback_mean", float, "mean added to dense C^h entries (0)"),
    ("--feedback-n", "feedback_n", int, "sparse C^h: ones per row, p = n/fan-in"),
    ("--rank", "rank", int, "lowrank C^h: rank of the truncated SVD"),
    ("--freeze", "freeze", str,
     "layers (1-based, L = output; conv blocks first) never updated, e.g. 5 or 4,5"),
    ("--update-mode", "update_mode", str, "hidden updates: full (default), sign, magnitude"),
    ("--feedback-sign", "feedback_sign", str, "C^h signs: random (default), concordant (rbp)"),
    ("--channel-dropout", "channel_dropout", float, "drop each hidden error with this p (0)"),
    ("--packets", "packets", str, "error messages: dense (default) or event (non-zeros only)"),
    ("--chip", "chip", str, "chip preset (small, ref45 default, dfa65) or chip TOML file"),
    ("--seed", "seed", int, "seed of split, init, feedback and rounding (default 0)"),
]


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
    for flag, dest, typ, help_ in TRAIN_FLAGS:
        t.add_argument(flag, dest=dest, type=typ, default=None, help=help_)
    t.add_argument(
        "--no-derivative",
        dest="no_derivative",
        action="store_const",
        const=True,
        default=None,
        help="drop f' from the hidden error",
    )
    t.add_argument(
        "--feedback-resample",
        dest="feedback_resample",
        action="store_const",
        const=True,
        default=None,
        help="draw a fresh C^h for every minibatch",
    )
    t.add_argument(
        "--bias",
        dest="bias",
        action="store_const",
        const=True,
        default=None,
        help="give every dense layer a trained bias b^h (initial 0)",
    )
    t.add_argument(
        "--feedback-per-synapse",
        dest="feedback_per_synapse",
        action="store_const",
        const=True,
        default=None,
        help="no weight cooperation: a random feedback row per synapse (srbp, float)",
    )
    t.add_argument(
        "--preset",
        help="named defaults: higgs (5x300 tanh, sigmoid output), cifar-conv (the paper's "
        "CIFAR-10 net: 3 x [conv 64 5x5 tanh, max-pool 3x3/2], dense 1024 tanh, softmax)",
    )
    t.add_argument("--config", help="TOML file of config fields (flags override it)")
    t.add_argument("--json", help="write the run's JSON record here")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    c = sub.add_parser(
        "chip",
        help="describe a chip: tiles, memories, links, area, energy table",
        description="Print a chip preset or chip TOML file with its energy table and sources.",
    )
    c.add_argument("chip", help="preset name (small, ref45, dfa65) or path of a chip TOML file")
    c.add_argument("--energy", help="TOML file overriding rows of the energy table")
    c.add_argument("--debug", action="store_true", help="show tracebacks of errors")
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
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    sw.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    r = sub.add_parser(
        "results",
        help="list the points of a result store",
        description="List a result store's points as a table, or export CSV.",
    )
    r.add_argument("store", help="SQLite store written by neurosim sweep")
    r.add_argument("--csv", help="write every row and column as CSV to this file ('-': stdout)")
    r.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    rp = sub.add_parser(
        "report",
        help="energy-versus-accuracy report of a result store",
        description="Write figures (PNG, SVG) and one self-contained HTML page.",
    )
    rp.add_argument("store", help="SQLite store written by neurosim sweep")
    rp.add_argument("-o", "--out", default="report", help="output directory (default: report)")
    rp.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    pp = sub.add_parser(
        "paper",
        help="rerun one of the paper's experiments and check its claims",
        description="Run an experiment of Baldi, Sadowski and Lu on the simulated chip and "
        "write a figure, the data as CSV and a Markdown table of the paper's claims next to "
        "what was measured, under OUT/EXPERIMENT/.",
    )
    pp.add_argument(
        "experiment",
        help="rules, error-bits, sparsity, rank, init-mean, activations, adaptive, theory, higgs, "
        "convolution, convolution-cifar, or all",
    )
    pp.add_argument("--quick", action="store_true", help="tiny nets and subsets (seconds)")
    pp.add_argument("--data-dir", help="directory of the data files (else $NEUROSIM_DATA)")
    pp.add_argument("-o", "--out", default="reports/paper", help="output (reports/paper)")
    pp.add_argument("--workers", type=int, help="worker processes (default: the CPU count)")
    pp.add_argument("--epochs", type=int, help="override the experiment's epochs")
    pp.add_argument("--limit", type=int, help="override the training subset size")
    pp.add_argument("--mode", help="override the mode: fixed (default) or float")
    pp.add_argument("--data", help="override the data set, e.g. fashion-mnist")
    pp.add_argument("--seed", type=int, help="override the seed (default 0)")
    pp.add_argument("--no-progress", action="store_true", help="no progress bar")
    pp.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return p


def resolve_config(args: argparse.Namespace):
    """The run's config: defaults, then the TOML file, then flags."""
    given = {dest: getattr(args, dest) for _flag, dest, _t, _h in TRAIN_FLAGS}
    for flag in ("no_derivative", "feedback_resample", "feedback_per_synapse", "bias"):
        if getattr(args, flag):
            given[flag] = True
    # a --preset flag wins over a preset named in the config file
    return api.make_config(args.config, preset=args.preset, **given)


def cmd_train(args: argparse.Namespace) -> int:
    """``neurosim train``: run, print the epoch table and summary, write JSON."""
    cfg = resolve_config(args)
    if args.json:
        _check_output_file("json", args.json)
    ds = api.load_data(cfg)
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
        print(
            f"  formats: W {fm.weight}  {'b ' + str(fm.weight) + '  ' if cfg.bias else ''}"
            f"O {fm.act}  input {fm.inp}  C {fm.feedback}  "
            f"R {fm.error}  S {fm.lut}  acc {cfg.acc_bits} bits; "
            f"errors {'log ' + str(cfg.error_bits) + '-bit' if cfg.error_bits else 'linear'}"
            f"{block}; "
            f"rounding {cfg.rounding}"
            + (
                f"; momentum {cfg.momentum:g} (velocity Q{cfg.velocity_bits}."
                f"{fm.weight.frac + cfg.velocity_bits - cfg.weight_bits})"
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
    if args.json:
        result.to_json(args.json)
        print(f"record         {args.json}")
    return 0


def _check_output_file(field: str, path: str) -> None:
    """Reject an output path that cannot be written, before anything runs."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir() or not p.parent.is_dir():
        raise api.ConfigError(field, path, "a file path in an existing directory")


def print_hardware(h: dict) -> None:
    """The summary of the record's ``hardware`` section."""
    e = h["energy_pj_per_sample"]
    c = h["cycles_per_sample"]
    print(
        f"chip           {h['chip']} ({h['node_nm']:g} nm, {h['clock_mhz']:g} MHz), "
        f"{h['tiles']['used']} tiles, area {h['area_mm2']:.2f} mm^2, "
        f"C^h {h['feedback_storage']}"
    )
    print(
        f"energy/sample  {e['total'] / 1e3:.1f} nJ  (inference {h['inference_energy_pj'] / 1e3:.1f}"
        " nJ)"
    )
    print("  by phase     " + ", ".join(f"{k} {v / 1e3:.1f} nJ" for k, v in e["by_phase"].items()))
    print("  by action    " + ", ".join(
        f"{k} {v / 1e3:.1f}" for k, v in sorted(e["by_action"].items(), key=lambda kv: -kv[1])
    ) + " nJ")  # fmt: skip
    print(
        f"cycles/sample  train {c['train']:.0f} (forward {c['forward']:.0f}, backward "
        f"{c['backward']:.0f}, update {c['update']:.1f}), inference {c['inference']:.0f}; "
        f"{h['samples_per_second']:.0f} samples/s"
    )
    bus = h["bus"]
    links = ", ".join(f"{k} {v:.1f} bits" for k, v in bus["bits_per_sample"].items())
    pk = ", ".join(f"{k} {v}" for k, v in bus["packets_per_sample"].items()) or "none"
    print(f"bus/sample     {links}; error packets {pk}")
    m = h["memory_bits"]
    vel = f", velocity {m['velocity']}" if "velocity" in m else ""
    print(f"memory bits    forward {m['forward']}, feedback {m['feedback']}{vel}")
    t = h["tiles"]
    per = ", ".join(
        f"W^{i + 1} {n} ({u:.0%})"
        for i, (n, u) in enumerate(zip(t["per_layer"], t["utilisation"], strict=True))
    )
    print(f"tiles (used)   {per}")
    if h.get("conv"):
        c = h["conv"]
        blocks = ", ".join(f"K^{i + 1} {n}" for i, n in enumerate(c["tiles"]))
        cc = c["cycles_per_sample"]
        print(
            f"conv blocks    tiles {blocks}; cycles/sample forward {cc['forward']:.0f}, "
            f"backward {cc['backward']:.0f}, update {cc['update']:.1f} (included above)"
        )
    if not h["fits"]:
        print("warning: the network does not fit this chip: " + "; ".join(h["violations"]))


def cmd_chip(args: argparse.Namespace) -> int:
    """``neurosim chip``: print a chip and its energy table."""
    print(api.describe_chip(args.chip, args.energy))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """``neurosim sweep``: run (or list) a sweep's points into a store."""
    from pathlib import Path

    spec = api.load_spec(args.spec)  # every point validated before anything runs
    store = args.store or str(Path(args.spec).with_suffix(".db"))
    if args.dry_run:
        lines = api.list_points(spec, store)
        print(f"{len(lines)} points of sweep {spec.name!r} (store {store}):")
        print("\n".join(lines))
        return 0
    with api.run_sweep(
        spec, store, workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress
    ) as st:
        s = st.summary
    print(
        f"sweep {spec.name!r}: {s.total} points, {s.skipped} already stored, "
        f"{s.done} run ok, {s.failed} failed, wall {s.wall_seconds:.1f} s; store {store}"
    )
    return 1 if s.failed else 0


def cmd_results(args: argparse.Namespace) -> int:
    """``neurosim results``: a table of a store's points, or CSV."""
    if args.csv and args.csv != "-":
        _check_output_file("csv", args.csv)
    with api.open_store(args.store) as st:
        if args.csv:
            api.export_csv(st, sys.stdout if args.csv == "-" else args.csv)
            return 0
        rows = api.results(st)
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neurosim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
    except KeyboardInterrupt:
        print("neurosim: interrupted", file=sys.stderr)
        return 130
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
