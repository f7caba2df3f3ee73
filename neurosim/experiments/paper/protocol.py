"""The protocol of the paper experiments: seeds, learning-rate tuning on a
validation split, and the per-seed figures gathered into means.

For every variant of an experiment and every seed ``s0 .. s0 + n - 1``:

1. **Tuning** (full runs; ``--no-tune`` or ``--lr`` skip it). The last
   :data:`VALIDATION_FRACTION` of the seed's training set is held out
   (``validation`` config field, :func:`neurosim.data.base.hold_out`); the
   variant trains on the rest with each learning rate of :data:`LR_GRID` for
   ``tune_epochs`` epochs (default half the experiment's epochs, at least
   1; a quarter favoured large rates more) and is scored on the held-out
   samples. The test set is not used: the held-out run never reads it.
2. **Final run** with the learning rate of the best validation score (ties:
   the smaller rate) on the whole training set for the full epochs, scored on
   the test set.

Each seed tunes on its own validation split, so a run's learning rate is
never chosen on samples of its own test set (the ``mnist5k`` and ``digits``
splits are seeded permutations: one split's training samples are another's
test samples). On a data set with a standard split (``fashion-mnist``,
``mnist``, ``cifar10``, ``higgs``) ``tune_seeds = k`` tunes only the first
``k`` seeds and gives every seed the rate of the best mean validation score
over them: the test set is the same for every seed and never read, and
tuning costs ``k`` seeds' runs instead of all. Every run goes
through the experiment's result store; a rerun skips what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from neurosim.experiments.paper.stats import mean_std

LR_GRID: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)
"""Learning rates tried per variant and seed (half-decades around the paper's 0.1)."""

VALIDATION_FRACTION = 0.2
"""Share of the training set held out for tuning (the last samples)."""

FIGURES = ("test_accuracy", "test_auc", "energy_nj_per_sample", "transport_bits_per_sample",
           "cycles_per_sample")  # fmt: skip
"""The per-run figures a paper experiment reports (see ``runner._measure``)."""


@dataclass(frozen=True)
class Protocol:
    """How an experiment's variants are run.

    Attributes
    ----------
    seeds : int
        Seeds per variant, ``s0 .. s0 + seeds - 1`` (``s0`` the config's seed).
    tune : bool
        Choose each variant's learning rate per seed on a validation split.
    grid : tuple of float
        The learning rates tried.
    tune_epochs : int or None
        Epochs of a tuning run (None: half the experiment's, at least 1).
    tune_seeds : int or None
        Seeds that tune (the first ones); every seed then runs at the rate of
        the best mean validation score over them. None: each seed tunes for
        itself. Refused on data sets with seeded splits (see
        :data:`neurosim.data.datasets.SEEDED_SPLIT`).
    """

    seeds: int = 3
    tune: bool = True
    grid: tuple[float, ...] = LR_GRID
    tune_epochs: int | None = None
    tune_seeds: int | None = None

    @classmethod
    def default(
        cls, quick: bool, overrides: dict[str, Any], seeds: int | None = None,
        tune: bool | None = None, tune_epochs: int | None = None,
        tune_seeds: int | None = None,
    ) -> Protocol:  # fmt: skip
        """The protocol of a full run (3 seeds, tuned) or of ``--quick`` (1 seed,
        the fixed lr); a given `lr` override turns tuning off; `tune_epochs`
        sets the length of a tuning run (None: half the experiment's epochs);
        `tune_seeds` the seeds that tune (None: every seed, each for itself)."""
        n = seeds if seeds is not None else (1 if quick else 3)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            from neurosim.errors import ConfigError

            raise ConfigError("seeds", n, "a positive integer")
        if tune_epochs is not None and (
            isinstance(tune_epochs, bool) or not isinstance(tune_epochs, int) or tune_epochs < 1
        ):
            from neurosim.errors import ConfigError

            raise ConfigError("tune_epochs", tune_epochs, "a positive integer")
        if tune_seeds is not None and (
            isinstance(tune_seeds, bool) or not isinstance(tune_seeds, int) or tune_seeds < 1
        ):
            from neurosim.errors import ConfigError

            raise ConfigError("tune_seeds", tune_seeds, "a positive integer")
        t = (not quick) if tune is None else tune
        return cls(seeds=n, tune=t and "lr" not in overrides, tune_epochs=tune_epochs,
                   tune_seeds=tune_seeds)  # fmt: skip

    def tuning_seeds(self, seeds: list[int]) -> list[int]:
        """The seeds of `seeds` that run tuning runs."""
        return seeds if self.tune_seeds is None else seeds[: self.tune_seeds]

    def epochs_for_tuning(self, epochs: int) -> int:
        """Epochs of a tuning run for an experiment of `epochs` epochs."""
        return self.tune_epochs if self.tune_epochs is not None else max(1, epochs // 2)


def validation_size(n_train: int) -> int:
    """Samples held out for tuning from `n_train` training samples."""
    return max(1, int(n_train * VALIDATION_FRACTION))


def choose_lr(scores: dict[float, float | None]) -> float:
    """The learning rate of the best validation score (ties: the smaller rate).

    Parameters
    ----------
    scores : dict
        Learning rate -> validation score; None for a run that failed.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If every run failed.
    """
    ok = {lr: s for lr, s in scores.items() if s is not None and s == s}  # drop NaN
    if not ok:
        raise ValueError("every tuning run failed")
    return max(sorted(ok), key=lambda lr: ok[lr])  # max keeps the first (smallest) of ties


def aggregate(per_seed: list[dict[str, Any]], lrs: list[float], seeds: list[int]) -> dict:
    """One variant's runs over the seeds: the mean of every figure (its plain
    name), its standard deviation (``<figure>_std``), the per-seed values
    (``per_seed``), the learning rates (``lr``) and ``seeds``.

    Parameters
    ----------
    per_seed : list of dict
        The measured figures of each seed's run (``runner._measure``).
    lrs, seeds : list
        The learning rate and the seed of each run, same order.
    """
    out: dict[str, Any] = {"seeds": list(seeds), "lr": list(lrs), "per_seed": {}}
    for f in FIGURES:
        vals = [r[f] for r in per_seed]
        out["per_seed"][f] = vals
        if any(v is None for v in vals):
            out[f], out[f + "_std"] = None, None
        else:
            out[f], out[f + "_std"] = mean_std([float(v) for v in vals])
    # the learning curve: the mean over seeds per epoch
    curves = [r["curve"] for r in per_seed]
    out["curve"] = [sum(c) / len(c) for c in zip(*curves, strict=True)]
    return out


def lr_text(lrs: list[float]) -> str:
    """The learning rates of a variant's runs: one value if all agree, else per seed."""
    return f"{lrs[0]:g}" if len(set(lrs)) == 1 else "/".join(f"{x:g}" for x in lrs)
