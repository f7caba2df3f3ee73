"""The record of one training run as the API returns it (:class:`Run`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: these imports load numba
    import numpy as np

    from neurosim.config import TrainConfig
    from neurosim.experiments.train import EpochStats, TrainResult
    from neurosim.nn.engine import Engine


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
        from neurosim.nn.network import Formats

        fm = Formats.from_config(self.config)
        if kind == "weight" and len(mats) == len(fm.weights):  # each layer's own LSB
            lsbs = [w.lsb for w in fm.weights]
        elif kind == "feedback" and len(mats) < len(fm.feedbacks):  # C^h: hidden layer h's
            lsbs = [f.lsb for f in fm.feedbacks[: len(mats)]]
        else:
            lsbs = [getattr(fm, kind).lsb] * len(mats)
        return [np.asarray(m, dtype=np.float64) * lsb for m, lsb in zip(mats, lsbs, strict=True)]

    def __repr__(self) -> str:
        e = self.energy_pj_per_sample
        energy = "" if e is None else f", energy_pj_per_sample={e:.1f}"
        return f"Run({self.config!r}, test_accuracy={self.test_accuracy:.4f}{energy})"
