"""The validation cases: what each published chip measured, and how neurosim
computes the same quantity from short runs of its preset.

Sources (the abstracts; the full texts were not available when the cases
were written, so every other number is an assumption and says so):

* SPOON: C. Frenkel, J.-D. Legat, D. Bol, "A 28-nm convolutional
  neuromorphic processor enabling online learning with spike-based retinas",
  IEEE ISCAS 2020, arXiv:2005.06318.
* Han VLSI 2019: D. Han, J. Lee, J. Lee, H.-J. Yoo, "A 1.32 TOPS/W energy
  efficient deep neural network learning processor with direct feedback
  alignment based heterogeneous core architecture", Symposium on VLSI
  Circuits 2019, doi:10.23919/VLSIC.2019.8778006.
* DF-LNPU: D. Han, J. Lee, H.-J. Yoo, "DF-LNPU: a pipelined direct feedback
  alignment-based deep neural network learning processor for fast online
  learning", IEEE JSSC 56(5), 2021, doi:10.1109/JSSC.2020.3042978.

Relative claims are effects in percent, ``100 * (with / without - 1)`` of
the quantity named (a speed-up of 2.2x is +120 %; a cut of time is
negative). Energy efficiency is the inverse of energy per sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neurosim.experiments.validation.runs import (
    Runs,
    Workload,
    onchip_inference_pj,
    onchip_train_pj,
    percent,
    srbp_train_ops,
)

SPOON_RULE = "drtp"
"""SPOON learns with direct random target projection (the one-hot target,
not the error, projected to the hidden layers)."""

SPOON_SRC = "Frenkel, Legat, Bol, ISCAS 2020 (arXiv:2005.06318), abstract"
HAN_SRC = "Han, Lee, Lee, Yoo, VLSI 2019 (doi:10.23919/VLSIC.2019.8778006), abstract"
DFLNPU_SRC = "Han, Lee, Yoo, IEEE JSSC 2021 (doi:10.1109/JSSC.2020.3042978), abstract"


@dataclass(frozen=True)
class Case:
    """One published figure and the neurosim quantity compared with it.

    Attributes
    ----------
    chip : str
        The chip preset (``hw_models/presets``).
    quantity : str
        What is compared, with its unit.
    published : float
        The published value (for a range, its midpoint).
    source : str
        Where the published value comes from.
    compute : callable
        ``compute(runs) -> float | None``: the simulated value from the runs
        (None: the model has nothing to compare).
    relative : bool
        True for a with-versus-without claim (an effect in percent).
    published_range : (float, float), optional
        A published range (low, high); the ratio is taken to its nearest end
        (1 inside it).
    notes : str
        The assumptions that matter, and what the model lacks.
    """

    chip: str
    quantity: str
    published: float
    source: str
    compute: Callable[[Runs], float | None]
    relative: bool = False
    published_range: tuple[float, float] | None = None
    notes: str = ""


# ---------------------------------------------------------------- workloads
SPOON_FIELDS = {
    "rule": SPOON_RULE, "data": "mnist5k", "hidden": (100,), "weight_bits": 8,
    "mode": "fixed", "epochs": 1, "batch": 1, "limit": 100, "seed": 0,
    "lr": 0.125,  # a power of two: spoon28's update unit shifts (update.lr_shift)
}  # fmt: skip
SPOON = Workload("spoon28", "spoon28", SPOON_FIELDS)

HAN_FIELDS = {
    "rule": "srbp", "data": "mnist5k", "hidden": (512, 512), "mode": "fixed",
    "epochs": 1, "batch": 32, "limit": 64, "seed": 0,
}  # fmt: skip
HAN_SIZES = [784, *HAN_FIELDS["hidden"], 10]  # mnist5k: 784 inputs, 10 classes
HAN = Workload("han-vlsi19", "han-vlsi19", HAN_FIELDS)
HAN_NOPIPE = Workload("han-vlsi19-nopipe", "han-vlsi19", HAN_FIELDS, {"pipeline": False})
# C^h stored (dense, 8 bits) instead of regenerated: kept on chip beside each
# tile's weights and, since the network is time-multiplexed, moved through
# DRAM with every group load (64 rows x 10 outputs x 8 bits = 0.625 KiB)
HAN_STORED = Workload(
    "han-vlsi19-stored", "han-vlsi19", HAN_FIELDS,
    {"feedback_storage": "dense", "tile": {"feedback_sram_kib": 1.0}},
)  # fmt: skip

DFLNPU_FIELDS = {**HAN_FIELDS, "feedback": "binary"}
DFLNPU = Workload("dflnpu65", "dflnpu65", DFLNPU_FIELDS)
DFLNPU_NOPIPE = Workload("dflnpu65-nopipe", "dflnpu65", DFLNPU_FIELDS, {"pipeline": False})
DFLNPU_STORED = Workload(
    "dflnpu65-stored", "dflnpu65", DFLNPU_FIELDS,
    {"feedback_storage": "binary", "tile": {"feedback_sram_kib": 1.0}},
)  # fmt: skip
DFLNPU_DENSE = Workload("dflnpu65-dense-feedback", "dflnpu65", {**HAN_FIELDS, "feedback": "dense"})

WORKLOAD_NOTE = (
    "784-512-512-10 on mnist5k (64 samples, batch 32) in place of MDNet's object-tracking "
    "layers; 16-bit weights; the network is larger than the chip and time-multiplexed "
    "through DRAM (assumptions)"
)
SPOON_NOTE = (
    "dense 784-100-10 on mnist5k (100 samples, online) in place of SPOON's event-driven conv "
    "net; 8-bit weights, 100 MHz, PRNG C^h (assumptions)"
)


# ------------------------------------------------------------ computations
def _spoon_energy_nj(runs: Runs) -> float:
    return onchip_inference_pj(runs.hardware(SPOON)) / 1e3


def _spoon_area(runs: Runs) -> float:
    return runs.hardware(SPOON)["area_mm2"]


def _spoon_power_overhead(runs: Runs) -> float:
    hw = runs.hardware(SPOON)
    return percent(onchip_train_pj(hw), onchip_inference_pj(hw))


def _spoon_area_overhead(runs: Runs) -> float:
    """The chip with its learning hardware (built for the run: update unit,
    PRNG, DRTP label logic, ``f'`` table, learning memories;
    :meth:`hw_models.chip.Chip.learning_area_mm2`) over the same chip
    without it."""
    from hw_models.chip import load_chip
    from neurosim.cost.bill import learning_shape
    from neurosim.plan import make_plan

    chip = load_chip("spoon28")
    plan = make_plan(runs.config(SPOON), 784, 10, chip=chip)  # mnist5k: 784 in, 10 classes
    total = chip.area_mm2(learning_shape(plan))
    return percent(total, total - chip.n_tiles * chip.learning_area_mm2(learning_shape(plan)))


def _han_tops_w(runs: Runs) -> float:
    return srbp_train_ops(HAN_SIZES) / onchip_train_pj(runs.hardware(HAN))  # op/pJ = TOPS/W


def _sps(runs: Runs, w: Workload) -> float:
    return runs.hardware(w)["samples_per_second"]


def _han_pipeline(runs: Runs) -> float:
    return percent(_sps(runs, HAN), _sps(runs, HAN_NOPIPE))


def _total_pj(runs: Runs, w: Workload) -> float:
    return runs.hardware(w)["energy_pj_per_sample"]["total"]


def _han_prng(runs: Runs) -> float:
    return percent(_total_pj(runs, HAN_STORED), _total_pj(runs, HAN))


def _not_modelled(runs: Runs) -> None:
    return None


def _dflnpu_time(runs: Runs) -> float:
    t = {w.key: runs.hardware(w)["cycles_per_sample"]["train"] for w in (DFLNPU, DFLNPU_NOPIPE)}
    return percent(t[DFLNPU.key], t[DFLNPU_NOPIPE.key])


def _dram_bits(runs: Runs, w: Workload) -> float:
    return runs.hardware(w)["dram_bits_per_sample"]["total"]


def _dflnpu_ema(runs: Runs) -> float:
    return percent(_dram_bits(runs, DFLNPU), _dram_bits(runs, DFLNPU_STORED))


def _dflnpu_area_eff(runs: Runs) -> float:
    def eff(w: Workload) -> float:
        hw = runs.hardware(w)
        return hw["samples_per_second"] / hw["area_mm2"]

    return percent(eff(DFLNPU), eff(DFLNPU_DENSE))


def _dflnpu_energy_eff(runs: Runs) -> float:
    e = {w.key: onchip_train_pj(runs.hardware(w)) for w in (DFLNPU, DFLNPU_DENSE)}
    return percent(e[DFLNPU_DENSE.key], e[DFLNPU.key])


# ------------------------------------------------------------------- cases
CASES: tuple[Case, ...] = (
    Case("spoon28", "energy per classification, nJ (on chip)", 313.0, SPOON_SRC,
         _spoon_energy_nj,
         notes=f"{SPOON_NOTE}; the forward pass's actions (29.5 nJ, mostly 8-bit weight SRAM "
         "reads) plus static power over its 2,460 cycles (12.3 nJ, 0.50 mW, clock power most "
         "of it); missing: the conv layer (its shape is not in the abstract, and conv blocks "
         "are priced with update.accumulate = sram only, not online), event-driven control "
         "and neuron-state memory"),
    Case("spoon28", "area, mm^2", 0.32, SPOON_SRC, _spoon_area,
         notes="tile estimate of hw_models.area (SRAM, MAC array, update unit with its "
         "learning-rate shifters, PRNG, label logic, f' table; no forward LUT, control, "
         "I/O or wiring: a lower bound); tiles sized for 784-100-10 (assumption)"),
    Case("spoon28", "on-chip learning power overhead, %", 16.8, SPOON_SRC,
         _spoon_power_overhead, relative=True,
         notes=f"{SPOON_NOTE}; training sample over classification, on-chip energy at the same "
         "sample rate; every weight of every layer is read-modify-written each sample "
         "(online), where SPOON's learning touches fewer synapses per event"),
    Case("spoon28", "on-chip learning area overhead, %", 11.8, SPOON_SRC,
         _spoon_area_overhead, relative=True,
         notes="learning hardware = update unit (8 lanes of an 8-bit adder and a 24-bit "
         "barrel shifter: update.lr_shift, a power-of-two learning rate, assumption), PRNG, "
         "DRTP label logic, f' table (no C^h or gradient memory: PRNG, online); with a "
         "24 x 16-bit learning-rate multiplier per lane instead it is +30.5 %: the published "
         "figure lies between the two; missing: learning control, rounding logic"),
    Case("han-vlsi19", "energy efficiency, TOPS/W (on chip)", 1.32, HAN_SRC, _han_tops_w,
         notes=f"{WORKLOAD_NOTE}; 2 ops per MAC of forward, direct projections and gradients "
         "over on-chip training energy (DRAM excluded, as a chip measurement); 1.1 V "
         "(assumption; the abstracts give no voltage for 1.32 TOPS/W): 0.117 at 1.1 V, 0.289 "
         "at 0.7 V; gradients in SRAM (assumption): with update.accumulate = register 0.270 "
         "at 1.1 V, 0.669 at 0.7 V; the paper's figure is on object tracking"),
    Case("han-vlsi19", "pipelined DFA learning speed, % (2.2x)", 120.0, HAN_SRC,
         _han_pipeline, relative=True,
         notes=f"{WORKLOAD_NOTE}; pipeline = true versus false with SRBP on the same chip; the "
         "paper compares with earlier (BP) learning processors; DRAM time is not overlapped"),
    Case("han-vlsi19", "PRNG feedback energy efficiency, %", 19.9, HAN_SRC, _han_prng,
         relative=True,
         notes=f"{WORKLOAD_NOTE}; C^h regenerated versus stored (dense 8-bit) and moved "
         "through DRAM with each group load; total energy with DRAM (the claim is about "
         "external memory access); a conv stand-in (c16k5p2s1, 128, 10) gives +1.1 %: conv "
         "blocks are resident in the model, so their C_b never crosses DRAM"),
    Case("han-vlsi19", "heterogeneous cores energy efficiency, %", 38.7, HAN_SRC,
         _not_modelled, relative=True,
         notes="missing: neurosim's tiles are all alike; no heterogeneous core or 11-stage "
         "datapath to switch off"),
    Case("dflnpu65", "pipelining processing time, %", -55.6, DFLNPU_SRC, _dflnpu_time,
         relative=True, published_range=(-68.4, -42.8),
         notes=f"{WORKLOAD_NOTE}; training cycles per sample, pipeline = true versus false; "
         "published as a range, -42.8 to -68.4 %"),
    Case("dflnpu65", "PRNG external memory access, %", -42.8, DFLNPU_SRC, _dflnpu_ema,
         relative=True,
         notes=f"{WORKLOAD_NOTE}; DRAM bits per sample, C^h regenerated versus stored (binary) "
         "and loaded with each group; missing: DRAM traffic of conv blocks' C_b (blocks are "
         "resident), the only place DFA's backward weights rival the forward weights"),
    Case("dflnpu65", "adder-only binarized error area efficiency, %", 35.0, DFLNPU_SRC,
         _dflnpu_area_eff, relative=True,
         notes=f"{WORKLOAD_NOTE}; samples/s per mm^2, binary versus dense C^h (both PRNG); "
         "the projection unit (tile.projection_lanes = 16, assumption) is built for the "
         "format: adder lanes against multiplier lanes; it is small next to a tile's SRAM, and "
         "the timing still runs projections on the MAC array"),
    Case("dflnpu65", "adder-only binarized error energy efficiency, %", 14.3, DFLNPU_SRC,
         _dflnpu_energy_eff, relative=True,
         notes=f"{WORKLOAD_NOTE}; on-chip training energy, binary versus dense C^h (both "
         "PRNG); the error projection is under 0.5 % of that energy with 10 outputs"),
)
