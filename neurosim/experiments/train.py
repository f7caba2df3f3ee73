"""Training runs: epochs over a data set, evaluation, and the JSON record."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hw_models.chip import Chip, load_chip
from neurosim.config import TrainConfig, output_units
from neurosim.cost.bill import hardware_report
from neurosim.cost.factory import make_accountant
from neurosim.data.base import hold_out
from neurosim.data.datasets import SIGNED_INPUT, Dataset, load_dataset
from neurosim.errors import ConfigError, NumericalError
from neurosim.experiments.metrics import roc_auc
from neurosim.nn.base import Engine, InputCodes
from neurosim.nn.factory import make_engine
from neurosim.numerics import streams
from neurosim.plan import make_plan

SCHEMA_VERSION = 1
EVAL_BATCH = 1000
CHUNK_BATCHES = 64  # minibatches whose targets are gathered from the shuffled order at once


@dataclass
class EpochStats:
    """Figures of one epoch.

    Accuracies are fractions; the loss is the mean cross-entropy (binary
    cross-entropy for one sigmoid output); ``test_auc`` is the area under the
    test ROC curve for binary data sets and None otherwise.
    """

    epoch: int
    train_loss: float
    train_accuracy: float
    test_accuracy: float
    saturations: int
    seconds: float
    test_auc: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TrainResult:
    """Outcome of one run.

    Attributes
    ----------
    config : TrainConfig
        The resolved configuration.
    epochs : list of EpochStats
        Per-epoch figures.
    counts : dict
        Event counts over the run (``sat:<tensor>``, ``changed:W^h``,
        ``rng_bits``).
    weights_sha256 : str
        Hash of the final weights (bytes of every W^h, then C^h).
    wall_seconds : float
        Wall time of the whole run (data loading included).
    """

    config: TrainConfig
    epochs: list[EpochStats] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    weights_sha256: str = ""
    wall_seconds: float = 0.0
    data_source: str = ""
    hardware: dict[str, Any] | None = None

    @property
    def test_accuracy(self) -> float:
        return self.epochs[-1].test_accuracy if self.epochs else float("nan")

    @property
    def test_auc(self) -> float | None:
        """Area under the test ROC curve (binary data sets), else None."""
        return self.epochs[-1].test_auc if self.epochs else None

    @property
    def train_accuracy(self) -> float:
        return self.epochs[-1].train_accuracy if self.epochs else float("nan")

    def saturations(self) -> dict[str, int]:
        """Saturation events per tensor (``init`` = when parameters were quantized)."""
        return {k[4:]: v for k, v in sorted(self.counts.items()) if k.startswith("sat:")}

    def frozen_layers(self) -> list[str]:
        """Trained weight matrices that never changed (updates below one LSB)."""
        return [
            k[8:] for k, v in sorted(self.counts.items()) if k.startswith("changed:") and v == 0
        ]

    def to_record(self) -> dict[str, Any]:
        """The versioned JSON record of the run."""
        return {
            "schema_version": SCHEMA_VERSION,
            "config": self.config.to_dict(),
            "results": {
                "test_accuracy": self.test_accuracy,
                "test_auc": self.test_auc,
                "train_accuracy": self.train_accuracy,
                "epochs": [e.to_dict() for e in self.epochs],
                "saturations": self.saturations(),
                "saturations_total": int(sum(self.saturations().values())),
                "counts": {k: int(v) for k, v in sorted(self.counts.items())},
                "weights_sha256": self.weights_sha256,
                "data_source": self.data_source,
                "wall_seconds": self.wall_seconds,
            },
            "hardware": self.hardware,
        }


def one_hot(y: np.ndarray, n: int, dtype=np.float32) -> np.ndarray:
    """``(B,)`` labels to ``(B, n)`` one-hot targets."""
    t = np.zeros((y.shape[0], n), dtype=dtype)
    t[np.arange(y.shape[0]), y] = 1
    return t


def targets(y: np.ndarray, n_out: int) -> np.ndarray:
    """Targets T for labels ``y``: one-hot ``(B, n_out)``, or ``(B, 1)`` = y
    for a single binary output unit."""
    if n_out == 1:
        return y.astype(np.float32).reshape(-1, 1)
    return one_hot(y, n_out)


def predictions(out: np.ndarray) -> np.ndarray:
    """Predicted classes of outputs ``(B, N_L)``: argmax, or ``O >= 1/2``
    for a single output unit."""
    if out.shape[1] == 1:
        return (out[:, 0] >= 0.5).astype(np.int64)
    return out.argmax(axis=1)


def scores(out: np.ndarray) -> np.ndarray:
    """Score of class 1 for a binary data set: the single output, or the
    second softmax output."""
    return out[:, 0] if out.shape[1] == 1 else out[:, 1]


def sample_loss(out: np.ndarray, y: np.ndarray) -> float:
    """Summed cross-entropy of outputs ``(B, N_L)`` against labels ``(B,)``."""
    if out.shape[1] == 1:
        p = np.clip(out[:, 0].astype(np.float64), 1e-7, 1.0 - 1e-7)
        return float(-np.where(y == 1, np.log(p), np.log1p(-p)).sum())
    p = out[np.arange(len(y)), y]
    # np.clip's bounds, without its overhead (a few us a step)
    np.minimum(np.maximum(p, 1e-7, out=p), 1.0, out=p)
    return float(-np.log(p).sum())


def evaluate(engine: Engine, x: np.ndarray, y: np.ndarray) -> float:
    """Classification accuracy (fraction) of the engine on ``(x, y)``."""
    return evaluate_all(engine, x, y, binary=False)[0]


def evaluate_all(
    engine: Engine, x: np.ndarray, y: np.ndarray, binary: bool
) -> tuple[float, float | None]:
    """Accuracy (fraction) and, if `binary`, the ROC AUC on ``(x, y)``."""
    correct = 0
    sc = np.empty(x.shape[0]) if binary else None
    for s in range(0, x.shape[0], EVAL_BATCH):
        out = engine.predict(x[s : s + EVAL_BATCH])
        correct += int((predictions(out) == y[s : s + EVAL_BATCH]).sum())
        if sc is not None:
            sc[s : s + out.shape[0]] = scores(out)
    acc = correct / max(1, x.shape[0])
    return acc, (roc_auc(y, sc) if sc is not None else None)


def weights_hash(engine: Engine) -> str:
    """SHA-256 of the final parameters (W^1..W^L, then C^h, then the conv
    blocks' kernels, channel matrices and (``bias``) biases, then the biases
    b^h with ``bias``), as float64 bytes."""
    h = hashlib.sha256()
    conv = engine.conv_params() if hasattr(engine, "conv_params") else []
    for m in [*engine.W, *getattr(engine, "C", []), *conv, *(getattr(engine, "b", None) or [])]:
        h.update(np.ascontiguousarray(m, dtype=np.float64).tobytes())
    return h.hexdigest()


def train(
    cfg: TrainConfig,
    dataset: Dataset | None = None,
    progress: bool = False,
    on_epoch: Callable[[EpochStats], None] | None = None,
    chip_accounting: bool = True,
) -> tuple[TrainResult, Engine]:
    """Train one network as configured.

    Parameters
    ----------
    cfg : TrainConfig
        Validated here before anything runs.
    dataset : Dataset, optional
        Preloaded data (else loaded from ``cfg.data``).
    progress : bool
        Show a tqdm progress bar per epoch (on stderr).
    on_epoch : callable, optional
        Called with each epoch's :class:`EpochStats`.
    chip_accounting : bool
        Tally the chip's events and price them on ``cfg.chip`` (the record's
        ``hardware`` section); False trains without it.

    Returns
    -------
    (TrainResult, Engine)
    """
    t0 = time.perf_counter()
    cfg.validate()
    chip = run_chip(cfg) if chip_accounting else None  # a bad chip fails first
    ds = _training_data(cfg, dataset)
    n_out = output_units(ds.n_classes, cfg.output)
    binary = ds.n_classes == 2
    plan = make_plan(cfg, ds.n_features, n_out, ds.image_shape, chip)
    engine = make_engine(plan)
    if chip is not None:
        engine.accountant = make_accountant(plan)
    result = TrainResult(config=cfg, data_source=ds.source)
    rng = streams.generator(cfg.seed, "train_order")
    n = ds.x_train.shape[0]
    codes = engine.input_codes(ds.x_train)  # the training set quantized once, if the engine can
    for epoch in range(cfg.epochs):
        te = time.perf_counter()
        engine.start_epoch(epoch)
        sat_before = _sat_total(engine)
        order = rng.permutation(n)
        bar = _progress_bar(n, epoch, cfg.epochs) if progress else None
        loss_sum, correct = _train_epoch(engine, ds, order, cfg, n_out, epoch, bar, codes)
        if not np.isfinite(loss_sum):
            raise NumericalError(f"loss is not finite in epoch {epoch + 1}")
        test_acc, test_auc = evaluate_all(engine, ds.x_test, ds.y_test, binary)
        stats = EpochStats(
            epoch=epoch + 1,
            train_loss=loss_sum / n,
            train_accuracy=correct / n,
            test_accuracy=test_acc,
            saturations=_sat_total(engine) - sat_before,
            seconds=time.perf_counter() - te,
            test_auc=test_auc,
        )
        result.epochs.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
    result.counts = dict(engine.counts)
    if chip is not None:
        result.hardware = hardware_report(plan, engine.accountant, result.counts)
    result.weights_sha256 = weights_hash(engine)
    result.wall_seconds = time.perf_counter() - t0
    return result, engine


def _train_epoch(
    engine: Engine, ds: Dataset, order: np.ndarray, cfg: TrainConfig, n_out: int, epoch: int,
    bar, codes: InputCodes | None = None,
) -> tuple[float, int]:  # fmt: skip
    """One epoch's minibatch steps in ``order``; (summed loss, correct outputs).
    ``codes``: the training set's input codes (:meth:`Engine.input_codes`),
    which the steps take in place of the real rows."""
    loss_sum, correct = 0.0, 0
    chunk = cfg.batch * CHUNK_BATCHES
    for s in range(0, order.size, cfg.batch):
        if s % chunk == 0:
            # a chunk of batches' labels and targets at once: the steps take
            # row slices; the rows themselves are gathered batch by batch (a
            # chunk of float rows is megabytes, faulted in anew every chunk)
            ci = order[s : s + chunk]
            yc = ds.y_train[ci]
            tc = targets(yc, n_out)
        lo = s % chunk
        y = yc[lo : lo + cfg.batch]
        t = tc[lo : lo + cfg.batch]
        try:
            with np.errstate(over="raise", invalid="raise"):
                if codes is None:
                    out = engine.train_batch(ds.x_train[order[s : s + cfg.batch]], t)
                else:
                    b = cfg.batch
                    part = codes.batch(order[s : s + b], order[s + b : s + 2 * b])
                    out = engine.train_batch(None, t, codes=part)
        except FloatingPointError:
            raise NumericalError(
                f"training diverged (NaN/Inf) in epoch {epoch + 1}, step {s // cfg.batch + 1};"
                f" try a smaller lr (now {cfg.lr})"
            ) from None
        loss_sum += sample_loss(out, y)
        correct += int((predictions(out) == y).sum())
        if bar is not None:
            bar.update(len(y))
    if bar is not None:
        bar.close()
    return loss_sum, correct


def run_chip(cfg: TrainConfig) -> Chip:
    """The chip that prices ``cfg``'s run: ``cfg.chip``, with the config's
    Accelergy ERT (``accelergy_ert``, ``accelergy_partial``) when it names one."""
    chip = load_chip(cfg.chip)
    if cfg.accelergy_ert is not None or cfg.accelergy_partial:
        chip = replace(
            chip,
            accelergy_ert=cfg.accelergy_ert or chip.accelergy_ert,
            accelergy_partial=cfg.accelergy_partial or chip.accelergy_partial,
        )
    return chip


def _training_data(cfg: TrainConfig, dataset: Dataset | None) -> Dataset:
    """The data set of a run: `dataset` cut to ``cfg.limit`` training samples, or
    loaded from ``cfg.data``; its input format must be the one its name implies."""
    if dataset is not None:
        ds = dataset
        if cfg.limit is not None and cfg.limit < ds.x_train.shape[0]:
            ds = replace(ds, x_train=ds.x_train[: cfg.limit], y_train=ds.y_train[: cfg.limit])
    else:
        ds = load_dataset(cfg.data, cfg.data_dir, cfg.seed, cfg.limit)
    ds = hold_out(ds, cfg.validation)  # evaluate on held-out training samples
    if ds.signed != (cfg.data in SIGNED_INPUT):
        raise ConfigError(
            "data", cfg.data, f"the name of the data set passed in ({ds.name!r}: its input"
            " format, signed or [0, 1), follows the name)"
        )  # fmt: skip
    return ds


def _progress_bar(n: int, epoch: int, epochs: int) -> Any:
    """A tqdm bar over the `n` samples of epoch `epoch` (0-based) of `epochs`."""
    from tqdm import tqdm

    return tqdm(
        total=n,
        desc=f"epoch {epoch + 1}/{epochs}",
        unit="sample",
        leave=False,
        dynamic_ncols=True,
    )


def _sat_total(engine: Engine) -> int:
    return sum(v for k, v in engine.counts.items() if k.startswith("sat:"))


def write_record(record: dict[str, Any], path: str | Path) -> None:
    """Write a JSON record (``"-"``: stdout) with :func:`~neurosim.experiments.safe_io.write_text`:
    a regular file atomically, a symlink or device through; if the write fails
    the record is saved to a fallback file that the OutputError names."""
    from neurosim.experiments.safe_io import write_text

    write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n", keep=True, what="record")
