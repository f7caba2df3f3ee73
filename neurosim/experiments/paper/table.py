"""The experiment table: name -> :class:`Experiment`, in the order ``all`` runs them."""

from __future__ import annotations

from neurosim.experiments.paper import (
    activations,
    adaptive,
    convolution,
    dropout,
    error_bits,
    fixed_layers,
    higgs,
    init_mean,
    rank,
    resampled,
    rules,
    sign_concordant,
    sign_magnitude,
    sparsity,
    theory,
    update_bits,
    weight_cooperation,
)
from neurosim.experiments.paper.common import Experiment

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in [
        rules.EXPERIMENT,
        error_bits.EXPERIMENT,
        sparsity.EXPERIMENT,
        rank.EXPERIMENT,
        init_mean.EXPERIMENT,
        activations.EXPERIMENT,
        adaptive.EXPERIMENT,
        update_bits.EXPERIMENT,
        dropout.EXPERIMENT,
        resampled.EXPERIMENT,
        sign_concordant.EXPERIMENT,
        sign_magnitude.EXPERIMENT,
        weight_cooperation.EXPERIMENT,
        fixed_layers.EXPERIMENT,
        theory.EXPERIMENT,
        higgs.EXPERIMENT,
        convolution.EXPERIMENT,
        convolution.CIFAR_EXPERIMENT,
    ]
}
"""Experiment name -> :class:`Experiment`; ``all`` runs every one in this order."""
