"""What every paper experiment shares: its runs, claims and result, the common
settings and margins, and the claim helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurosim.experiments.paper import stats


class RunFailed(RuntimeError):
    """A training run of an experiment failed (it stays in the store as failed)."""


@dataclass(frozen=True)
class Variant:
    """One training run of an experiment.

    Attributes
    ----------
    label : str
        Name in tables and figures.
    fields : dict
        Config fields this run sets on top of the experiment's settings.
    series : str
        Line of a line figure this run belongs to ("" for a bar figure).
    x : float or None
        Position on the line figure's x axis; None draws the run as a
        horizontal reference line (e.g. top-only).
    """

    label: str
    fields: dict[str, Any]
    series: str = ""
    x: float | None = None


@dataclass
class Claim:
    """One statement of the paper and its check on the measured runs."""

    statement: str
    measured: str
    holds: bool


@dataclass
class Experiment:
    """An experiment: its runs, its claims and how to draw it.

    Attributes
    ----------
    name, title : str
        Command-line name and figure title.
    variants : callable
        ``variants(cfg) -> list[Variant]`` given the resolved base config
        (so sizes such as the fan-in can follow the network).
    claims : callable
        ``claims(runs) -> list[Claim]``; ``runs`` maps a variant's label to
        its measured figures (see :func:`_measure`).
    settings : dict
        Config fields of this experiment on top of the common full or quick
        settings.
    x_label : str or None
        Set for a line figure (runs with an ``x``), else a bar figure.
    preset : str or None
        Config preset under everything (``higgs``).
    quick : dict
        Settings replacing the common quick settings for this experiment.
    """

    name: str
    title: str
    variants: Callable[[Any], list[Variant]]
    claims: Callable[[dict[str, dict[str, Any]]], list[Claim]]
    settings: dict[str, Any] = field(default_factory=dict)
    x_label: str | None = None
    preset: str | None = None
    full: dict[str, Any] | None = None
    quick: dict[str, Any] | None = None
    runner: Callable[..., ExperimentResult] | None = None
    """Set for experiments that are not training runs (``theory``):
    ``runner(out_dir, quick) -> ExperimentResult``."""


@dataclass
class ExperimentResult:
    """What an experiment wrote and found."""

    name: str
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)
    setting: str = ""


FULL: dict[str, Any] = dict(
    data="mnist5k", hidden=(100, 100, 100, 100), act="tanh", output="softmax", batch=100,
    lr=0.1, epochs=20, mode="fixed", error_bits=0,
)  # fmt: skip
"""The paper's MNIST setup, on the chip (fixed mode, linear errors)."""
QUICK: dict[str, Any] = dict(
    data="digits", hidden=(16, 16), act="tanh", output="softmax", batch=32, lr=0.1,
    epochs=5, mode="fixed", error_bits=0,
)  # fmt: skip
"""Tiny runs for the test suite (seconds each)."""

CLEAR = 0.02  # "clearly worse", "learns" (above a baseline): 2 points of accuracy
NEAR = 0.01  # "near", "no better": within 1 point
STEP = 0.05  # "graceful": one bit less never costs more than 5 points


def fmt4(x: float) -> str:
    """A figure in claims and tables: four decimals."""
    return f"{x:.4f}"


def rule_label(rule: str, no_derivative: bool = False) -> str:
    """A rule's name in labels (``srbp`` -> ``SRBP``), marked when f′ is dropped."""
    name = "top-only" if rule == "top-only" else rule.upper()
    return name + (" (no f′)" if no_derivative else "")


def score(run: dict[str, Any]) -> float:
    """The figure of merit: test AUC for binary data, else test accuracy (the
    mean over the run's seeds)."""
    return run["test_auc"] if run.get("test_auc") is not None else run["test_accuracy"]


def values(run: dict[str, Any]) -> list[float]:
    """The figure of merit per seed (one value for a run without seeds)."""
    per = run.get("per_seed")
    if not per:
        return [score(run)]
    auc = per.get("test_auc")
    return list(auc if auc and auc[0] is not None else per["test_accuracy"])


def of(runs: dict, x: str | float) -> list[float] | float:
    """A run's per-seed scores by label, or a constant (e.g. chance) as is."""
    return x if isinstance(x, int | float) else values(runs[x])


def beats(runs: dict, a: str, b: str | float, margin: float) -> bool:
    """Run `a` beats `b` by `margin` on the means, and the difference counts
    (see :mod:`.stats`)."""
    return stats.beats(values(runs[a]), of(runs, b), margin)


def beyond(runs: dict, a: str, b: str | float, margin: float) -> bool:
    """Run `a` is above `b` by more than `margin` and the difference counts:
    what refutes "a is no better than b (within margin)"."""
    return stats.beyond(values(runs[a]), of(runs, b), margin)


def show(run: dict[str, Any]) -> str:
    """A run's score in claims: the mean, ``± sd`` over several seeds."""
    v = values(run)
    return fmt4(score(run)) + (f" ± {stats.mean_std(v)[1]:.4f}" if len(v) > 1 else "")


def gap(runs: dict, a: str, b: str) -> str:
    """``Δ`` of two runs' means, with ``± 2 SE`` over several seeds."""
    d, se = stats.paired_diff(values(runs[a]), values(runs[b]))
    return f"Δ {d:+.4f}" + (f" ± {2 * se:.4f} (2 SE)" if len(values(runs[a])) > 1 else "")


def above(runs: dict, labels: list[str], base: str, statement: str) -> Claim:
    """Claim: every run in `labels` beats run `base` by at least CLEAR (on the
    means, the difference counting)."""
    got = ", ".join(f"{lab} {show(runs[lab])}" for lab in labels)
    return Claim(
        statement,
        f"{got}; {base} {show(runs[base])}",
        all(beats(runs, lab, base, CLEAR) for lab in labels),
    )


def derivative_claims(runs: dict, rules: tuple[str, ...]) -> list[Claim]:
    """Claims: dropping f′ from each rule's learning rule hurts (by NEAR or more)."""
    out = []
    for r in rules:
        wo = f"{r} (no f′)"
        out.append(
            Claim(
                f"Dropping f′ from {r}'s learning rule hurts",
                f"with f′ {show(runs[r])}, without {show(runs[wo])} ({gap(runs, r, wo)})",
                beats(runs, r, wo, NEAR),
            )
        )
    return out


def fan_in(cfg: Any) -> int:
    """Entries of one row of SRBP's C^h (the number of outputs)."""
    return cfg.n_outputs()  # SRBP's C^h is (N_h, N_L): each neuron gets N_L errors


def channel_sweep(cfg: Any, fmt: str, key: str, label: str, series: str) -> list[Variant]:
    """SRBP with C^h of format `fmt` for `key` = 0 .. fan-in, then dense SRBP
    and top-only as reference lines."""
    out = [Variant(label.format(v), {"rule": "srbp", "feedback": fmt, key: v}, series, v)
           for v in range(fan_in(cfg) + 1)]  # fmt: skip
    for name, rule in (("dense SRBP", "srbp"), ("top-only", "top-only")):
        out.append(Variant(name, {"rule": rule, "feedback": "dense", key: None}))
    return out
