"""Validation of a training config, one function per section.

:func:`check_declared` checks what the field metadata declares (choices,
fixed integer ranges) for every field; then one function per section checks
its fields' bounds that depend on other fields and the consistency of the
switches. Each raises :class:`~neurosim.errors.ConfigError` naming the field,
the value and what is allowed. ``cfg`` is a :class:`~neurosim.config.TrainConfig`
(read by field name only).
"""

from __future__ import annotations

from typing import Any

from neurosim.channel.formats import FORMATS
from neurosim.config.sections import PER_LAYER, SECTIONS, section_fields
from neurosim.errors import ConfigError
from neurosim.nn.rules import RULES, feedback_shapes, trained_layers


def check_declared(cfg: Any) -> None:
    """Every field's declared choices and fixed integer range (None passes
    for the optional fields)."""
    for name, (_section, f) in section_fields().items():
        value = getattr(cfg, name)
        if f.metadata["choices"]:
            _choice(name, value, f.metadata["choices"])
        elif f.metadata["per_layer"] and isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                if f.metadata["range"] is not None:
                    _int_range(f"{name}[{i}]", v, *f.metadata["range"])
        elif f.metadata["range"] is not None and not (value is None and "None" in str(f.type)):
            _int_range(name, value, *f.metadata["range"])


def check_dataset(cfg: Any) -> None:
    """The data set section: fully declared (choices, ``limit`` range)."""


def check_network(cfg: Any) -> None:
    """Conv blocks, hidden widths and the bias switch."""
    if cfg.conv:
        from neurosim.nn.conv_spec import check_conv_config

        check_conv_config(cfg)
    if len(cfg.hidden) < 1 and cfg.rule != "top-only" and not cfg.conv:
        raise ConfigError("hidden", list(cfg.hidden), "at least one hidden layer")
    for i, n in enumerate(cfg.hidden):
        _int_range(f"hidden[{i}]", n, 1, 1_000_000)
    if not isinstance(cfg.bias, bool):
        raise ConfigError("bias", cfg.bias, "true or false")


def check_per_layer(cfg: Any) -> None:
    """Per-layer lists (:data:`~neurosim.config.sections.PER_LAYER`): one entry
    per dense weight layer, dense networks only; the weight's, feedback's and
    activation's integer bits within each layer's width; with momentum in
    fixed mode, one weight width (the velocity word is ``velocity_bits`` wide
    for every layer)."""
    L = cfg.n_dense()
    for name in PER_LAYER:
        value = getattr(cfg, name)
        if not isinstance(value, (tuple, list)):
            continue
        if cfg.conv:
            raise ConfigError(
                name, list(value),
                "a single integer with conv blocks (per-layer widths: dense networks only)",
            )  # fmt: skip
        if len(value) != L:
            raise ConfigError(
                name, list(value),
                f"one integer, or a list of {L} (one per dense weight layer: "
                f"{len(cfg.hidden)} hidden and the output{_FEEDBACK_INDEX.get(name, '')})",
            )  # fmt: skip
    if isinstance(cfg.error_bits, (tuple, list)):  # log codes in every layer, or none
        for i, b in enumerate(cfg.error_bits):
            if b < 1:
                raise ConfigError(
                    f"error_bits[{i}]", b,
                    "1 to 16 in a per-layer list (linear errors, 0, apply to every layer: "
                    "give error_bits = 0)",
                )  # fmt: skip
    for kind in ("weight", "feedback", "act"):  # integer bits within each layer's width
        _int_bits_per_layer(cfg, f"{kind}_int_bits", f"{kind}_bits")
    ints, widths = cfg.per_layer("weight_int_bits"), cfg.per_layer("weight_bits")
    if cfg.momentum and cfg.mode == "fixed" and len(set(zip(ints, widths, strict=True))) > 1:
        raise ConfigError(
            "momentum", cfg.momentum,
            "0 with per-layer weight formats in fixed mode (one velocity format for "
            "every layer: give weight_bits and weight_int_bits one value each)",
        )  # fmt: skip


_FEEDBACK_INDEX = {
    name: "; entry h sets C^h, the output layer's entry is unused but given"
    for name in ("feedback_bits", "feedback_int_bits")
}
_FEEDBACK_INDEX.update({
    name: "; entry h sets O^h and f'(S^h), the last the output O^L"
    for name in ("act_bits", "act_int_bits")
})
"""What a feedback list's entries set (C^h lives in hidden layer h's tiles),
and an activation list's."""


def _listed(cfg: Any, name: str) -> bool:
    """Whether field ``name`` holds a per-layer list."""
    return isinstance(getattr(cfg, name), (tuple, list))


def _int_bits_per_layer(cfg: Any, ints_name: str, bits_name: str) -> None:
    """Each layer's integer bits from -8 to its width - 1 (one check for single values)."""
    ints, widths = cfg.per_layer(ints_name), cfg.per_layer(bits_name)
    listed = isinstance(getattr(cfg, ints_name), (tuple, list))
    for i, (k, b) in enumerate(zip(ints, widths, strict=True)):
        _int_range(f"{ints_name}[{i}]" if listed else ints_name, k, -8, b - 1)
        if not listed and not isinstance(getattr(cfg, bits_name), (tuple, list)):
            break


def check_numerics(cfg: Any) -> None:
    """Integer bits within each format, and the log quantizer's settings."""
    check_per_layer(cfg)
    # the input format is as wide as the first layer's activations
    b0 = cfg.per_layer("act_bits")[0]
    if _listed(cfg, "act_bits") and cfg.input_int_bits > b0 - 1:
        raise ConfigError(
            "input_int_bits", cfg.input_int_bits,
            f"an integer from 0 to {b0 - 1} (the input O^0 is act_bits[0] = {b0} bits wide)",
        )  # fmt: skip
    _int_range("input_int_bits", cfg.input_int_bits, 0, b0 - 1)
    for name, total in (
        ("error_int_bits", cfg.error_word_bits),
        ("lut_int_bits", cfg.lut_bits),
    ):
        _int_range(name, getattr(cfg, name), -8, total - 1)
    _int_range("error_alpha_log2", cfg.error_alpha_log2, -30, cfg.error_int_bits)
    if cfg.error_scale == "block" and not cfg.error_bits:
        raise ConfigError(
            "error_scale",
            cfg.error_scale,
            "fixed when error_bits = 0 (block scaling needs log-coded errors, error_bits >= 1)",
        )
    if cfg.error_rounding == "stochastic" and not cfg.error_bits:
        raise ConfigError(
            "error_rounding",
            cfg.error_rounding,
            "nearest when error_bits = 0 (stochastic rounding of error codes needs "
            "log-coded errors, error_bits >= 1)",
        )
    _check_error_datapath(cfg)
    if cfg.mode == "fixed" and cfg.error_bits:
        frac = cfg.error_word_bits - 1 - cfg.error_int_bits
        if cfg.error_alpha_log2 + frac < 0:
            raise ConfigError(
                "error_alpha_log2",
                cfg.error_alpha_log2,
                f"at least -{frac} (alpha must be one LSB of the error word or more)",
            )


def _check_error_datapath(cfg: Any) -> None:
    """``error_coding`` and ``top_error`` move the log coder: they need one
    (``error_bits >= 1``) and the dense error path (no conv blocks, no
    per-synapse feedback)."""
    for name, default in (("error_coding", "after_derivative"), ("top_error", "coded")):
        value = getattr(cfg, name)
        if value == default:
            continue
        if not cfg.error_bits:
            raise ConfigError(name, value, f"{default} when error_bits = 0 (nothing is coded)")
        if cfg.conv or cfg.feedback_per_synapse:
            raise ConfigError(
                name, value, f"{default} with conv blocks or feedback_per_synapse"
            )
    if cfg.error_sign_scale == "rms" and not (
        set(cfg.per_layer("error_bits")) == {1} and cfg.error_scale == "block"
        and cfg.error_rounding == "nearest"
        and not cfg.conv and not cfg.feedback_per_synapse
    ):  # fmt: skip
        raise ConfigError(
            "error_sign_scale", "rms",
            "max unless error_bits = 1, error_scale = block, error_rounding = nearest "
            "(dense layers, no feedback_per_synapse)",
        )  # fmt: skip


def check_optimizer(cfg: Any) -> None:
    """Learning rate, momentum and its velocity word, frozen layers."""
    if not (isinstance(cfg.lr, float) and 0.0 < cfg.lr < 1e3):
        raise ConfigError("lr", cfg.lr, "a positive number below 1000")
    if not (0.0 < cfg.lr_decay <= 1.0):
        raise ConfigError("lr_decay", cfg.lr_decay, "a number in (0, 1]")
    if not (isinstance(cfg.momentum, float) and 0.0 <= cfg.momentum < 1.0):
        raise ConfigError("momentum", cfg.momentum, "a number in [0, 1)")
    if cfg.momentum and cfg.mode == "fixed":
        wb = cfg.per_layer("weight_bits")[0]  # one width with momentum (check_per_layer)
        if cfg.velocity_bits < wb:
            raise ConfigError(
                "velocity_bits", cfg.velocity_bits,
                f"an integer from weight_bits = {wb} to 32 with momentum",
            )  # fmt: skip
        fb = max(cfg.per_layer("feedback_bits")[:-1] or cfg.per_layer("feedback_bits"))
        wide = fb + cfg.velocity_bits - wb  # the widest C^h's velocity
        if RULES[cfg.rule].adaptive and wide > 32:
            raise ConfigError(
                "velocity_bits", cfg.velocity_bits,
                f"at most {32 - fb + wb} for {cfg.rule} "
                "(the velocity of C^h is feedback_bits + velocity_bits - weight_bits "
                "<= 32 bits)",
            )  # fmt: skip
    _check_update_codes(cfg)
    # with conv blocks the layers are numbered blocks first, then dense
    n_layers = len(cfg.hidden) + 1 + (len(cfg.conv.split(",")) if cfg.conv else 0)
    for i, h in enumerate(cfg.freeze):
        _int_range(f"freeze[{i}]", h, 1, n_layers)
    if len(set(cfg.freeze)) != len(cfg.freeze):
        raise ConfigError("freeze", list(cfg.freeze), "distinct layer numbers")
    if cfg.freeze and not trained_layers(RULES[cfg.rule], n_layers, tuple(cfg.freeze)):
        # a run that updates nothing would still be charged for its feedback
        raise ConfigError(
            "freeze", list(cfg.freeze),
            f"layer numbers that leave a layer to train (with rule {cfg.rule} and "
            f"{n_layers} layers nothing would be updated)",
        )  # fmt: skip


def _check_update_codes(cfg: Any) -> None:
    """``update_code_rounding = "stochastic"`` needs a code with a zero level
    (``update_bits >= 2``; a 1-bit code is the sign code), no sign-only hidden
    updates and a dense network."""
    if cfg.update_code_rounding != "stochastic":
        return
    if cfg.update_bits < 2:
        raise ConfigError(
            "update_code_rounding", cfg.update_code_rounding,
            f"nearest when update_bits = {cfg.update_bits} (stochastic update codes need "
            "update_bits >= 2; a 1-bit code is the sign code, it has no zero level)",
        )  # fmt: skip
    if cfg.update_mode == "sign":
        raise ConfigError(
            "update_code_rounding", cfg.update_code_rounding,
            "nearest with update_mode = sign (a 1-bit sign code, nothing to round)",
        )  # fmt: skip
    if cfg.conv:
        raise ConfigError(
            "update_code_rounding", cfg.update_code_rounding,
            "nearest with conv blocks (stochastic update codes: dense networks only)",
        )  # fmt: skip


def check_channel(cfg: Any) -> None:
    """The feedback construction, its bounds from C^h's shapes, the packets."""
    if not (abs(cfg.feedback_mean) < 1e3):
        raise ConfigError("feedback_mean", cfg.feedback_mean, "a finite number")
    if cfg.packets == "event" and 1 in cfg.per_layer("error_bits"):
        raise ConfigError(
            "packets", cfg.packets,
            "dense with error_bits = 1 in any layer (sign-only codes have no zero)",
        )  # fmt: skip
    fmt = FORMATS[cfg.feedback]
    for name, allowed in fmt.params.items():  # the fields this format needs
        if getattr(cfg, name) is None:
            raise ConfigError(name, None, allowed)
        _int_range(name, getattr(cfg, name), 0, 1_000_000)
    if fmt.params:  # the bounds C^h's shapes set
        shapes = feedback_shapes(RULES[cfg.rule], cfg.sizes(0, cfg.n_outputs()))
        fmt.check_params(cfg.feedback_n, cfg.rank, shapes)
    _check_switches(cfg)


def _check_switches(cfg: Any) -> None:
    """Dropout, resampling, sign concordance and per-synapse feedback: which
    rules and modes each may go with."""
    rule = RULES[cfg.rule]
    if not (isinstance(cfg.channel_dropout, float) and 0.0 <= cfg.channel_dropout < 1.0):
        raise ConfigError("channel_dropout", cfg.channel_dropout, "a probability in [0, 1)")
    if cfg.channel_dropout and not rule.trains_hidden:
        raise ConfigError("channel_dropout", cfg.channel_dropout, f"0 for {cfg.rule}")
    if cfg.channel_dropout_rescale and cfg.channel_dropout:  # inert at p = 0
        _check_rescale(cfg)
    if cfg.feedback_resample and not rule.uses_feedback:
        raise ConfigError("feedback_resample", True, f"false for {cfg.rule} (no C^h)")
    if cfg.feedback_resample and rule.adaptive:
        raise ConfigError("feedback_resample", True, f"false for {cfg.rule} (C^h learns)")
    if cfg.feedback_sign == "concordant" and not (
        rule.uses_feedback and rule.source == "next" and not rule.adaptive
    ):
        raise ConfigError(
            "feedback_sign", "concordant",
            f"random for {cfg.rule}: sign concordance needs C^h shaped like "
            "(W^{h+1})^T (rule rbp)",
        )  # fmt: skip
    if cfg.feedback_per_synapse:
        if cfg.rule != "srbp":
            raise ConfigError("feedback_per_synapse", True, f"false for {cfg.rule} (srbp only)")
        if cfg.mode != "float":
            raise ConfigError("feedback_per_synapse", True, "false in fixed mode (float only)")
        if cfg.feedback != "dense" or cfg.feedback_resample or cfg.channel_dropout:
            raise ConfigError(
                "feedback_per_synapse", True,
                "false with non-dense, resampled or dropout feedback",
            )  # fmt: skip
    if cfg.bias and cfg.feedback_per_synapse:
        raise ConfigError("bias", True, "false with feedback_per_synapse")


def _check_rescale(cfg: Any) -> None:
    """``channel_dropout_rescale`` scales linear error words only: a scaled
    log code (a signed power of two) would no longer be a code. Conv blocks
    take only ``after_derivative``: with ``error_bits`` their ``R_b`` is coded."""
    if cfg.error_bits and cfg.error_coding == "after_derivative":
        raise ConfigError(
            "channel_dropout_rescale", True,
            "false with log-coded hidden errors (error_bits with error_coding = "
            "after_derivative); error_coding = before_derivative keeps R^h a linear word",
        )  # fmt: skip


def check_run(cfg: Any) -> None:
    """Load the chip (a preset or a chip file) and the Accelergy ERT, if any, so
    that a bad one fails before any run."""
    from hw_models.chip import load_chip

    try:
        load_chip(cfg.chip)
    except ConfigError as e:
        if e.field == "chip":  # unknown preset, unreadable file: already names the chip
            raise
        raise ConfigError("chip", cfg.chip, f"a valid chip ({e})") from None
    if cfg.accelergy_ert is not None:  # a bad ERT fails before any run
        from hw_models.accelergy import read_ert

        read_ert(cfg.accelergy_ert, cfg.accelergy_partial)


CHECKS = {
    "dataset": check_dataset,
    "network": check_network,
    "numerics": check_numerics,
    "optimizer": check_optimizer,
    "channel": check_channel,
    "run": check_run,
}
"""Section -> its check, in the order :meth:`TrainConfig.validate` runs them
(each may rely on the declared checks and on the sections before it)."""
assert set(CHECKS) == set(SECTIONS)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(name, value, f"one of {', '.join(allowed)}")


def _int_range(name: str, value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ConfigError(name, value, f"an integer from {lo} to {hi}")
