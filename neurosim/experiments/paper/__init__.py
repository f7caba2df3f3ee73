"""Reproductions of the paper's experiments (``neurosim paper EXPERIMENT``).

Baldi, Sadowski and Lu (Artificial Intelligence 260, 2018) test the
random-backpropagation family on MNIST, CIFAR-10 and HIGGS and draw
conclusions about it.  Each experiment here is a list of training runs
(:class:`Variant`) and a list of those conclusions, written as checks on the
measured runs (:class:`Claim`).  The runs go through the sweep machinery into
a resumable store; the experiment then writes under ``<out>/<name>/``:

* ``<name>.png`` and ``.svg`` -- the figure (accuracy or AUC, and the chip's
  energy per training sample, per run),
* ``<name>.csv`` -- one row per run: its settings, learning rate, and the
  mean and standard deviation over the seeds of accuracy, AUC, energy, error
  bits and cycles per sample; ``<name>_seeds.csv`` the same per seed,
* ``<name>.md`` -- the same table, then each claim next to what was measured
  and whether it holds,
* ``<name>.db`` -- the result store (a rerun skips finished points).

One module per experiment holds its runs, its claims and its table row
(:mod:`.rules`, :mod:`.sparsity`, :mod:`.theory`, ...); :mod:`.common` holds
what they share, :mod:`.table` the experiment table, :mod:`.runner` the
runner and :mod:`.outputs` the tables and figure.  This package imports only
the standard library (numpy and matplotlib load when an experiment runs).

Claims are checked as stated, with fixed margins, never tuned to the result:
where one does not hold in a setup (for example the tiny ``--quick``
networks), the table says so.

Settings
--------
Full runs follow the paper's MNIST setup: 784-100-100-100-100-10 tanh,
Glorot initialisation (He for relu), minibatches of 100, 20 epochs, on
``mnist5k`` (``--data fashion-mnist`` for the larger real-data check), on the
chip in fixed mode (16-bit weights, 8-bit activations, linear 16-bit errors
unless the experiment varies them).  ``--quick`` uses scikit-learn's
``digits``, two hidden layers of 16 units and 5 epochs: seconds per run.
``higgs`` uses the ``higgs`` preset (see :mod:`neurosim.config`).

Protocol (:mod:`.protocol`, :mod:`.stats`): every run is repeated over 3
seeds (``--seeds``), its learning rate chosen per seed from a small grid on a
validation split held out of the training set (``--no-tune``, ``--lr``), and
each claim judged on the means over the seeds: a difference counts when it
exceeds twice its standard error. ``--quick`` runs one seed at the fixed lr.
"""

from __future__ import annotations

from neurosim.experiments.paper.common import (
    FULL,
    QUICK,
    Claim,
    Experiment,
    ExperimentResult,
    RunFailed,
    Variant,
)
from neurosim.experiments.paper.dropout import _dropout_claims
from neurosim.experiments.paper.error_bits import _error_bits_claims
from neurosim.experiments.paper.fixed_layers import _fixed_layers_claims
from neurosim.experiments.paper.resampled import _resampled_claims
from neurosim.experiments.paper.rules import _rules_claims
from neurosim.experiments.paper.runner import run_experiment, run_one
from neurosim.experiments.paper.sign_magnitude import _sign_claims
from neurosim.experiments.paper.sparsity import _sparsity_claims
from neurosim.experiments.paper.table import EXPERIMENTS
from neurosim.experiments.paper.weight_cooperation import _cooperation_claims

__all__ = [
    "EXPERIMENTS",
    "FULL",
    "QUICK",
    "Claim",
    "Experiment",
    "ExperimentResult",
    "RunFailed",
    "Variant",
    "_cooperation_claims",
    "_dropout_claims",
    "_error_bits_claims",
    "_fixed_layers_claims",
    "_resampled_claims",
    "_rules_claims",
    "_sign_claims",
    "_sparsity_claims",
    "run_experiment",
    "run_one",
]
