"""A run resolved once: the plan every engine, accountant and bill reads.

``config -> plan -> engines and accountant -> bill``. :func:`make_plan`
turns a validated :class:`~neurosim.config.TrainConfig` and the data's shape
into a :class:`Plan`: the rule, the fixed-point formats, the network's
geometry (conv blocks and dense layer sizes), the learning channel's matrix
shapes, and (with chip accounting) the chip, how it keeps ``C^h`` and the
network's mapping onto its tiles. Nothing downstream re-derives these from
the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hw_models.mapping import map_update
from neurosim.channel.formats import FeedbackFormat
from neurosim.config import TrainConfig
from neurosim.cost.placement import chip_mapping, storage_format
from neurosim.errors import ConfigError
from neurosim.nn.conv_spec import ConvBlock, conv_blocks
from neurosim.nn.network import Formats
from neurosim.nn.rules import Rule, feedback_shapes, get_rule, split_freeze, trained_layers

if TYPE_CHECKING:
    from hw_models.chip import Chip
    from hw_models.mapping import Mapping


@dataclass(frozen=True)
class Plan:
    """One run, resolved.

    Attributes
    ----------
    cfg : TrainConfig
        The validated config (the record's ``config``).
    rule : Rule
        The learning rule's row of the rule table.
    formats : Formats
        Every fixed-point format of the run (also used in float mode to size
        the chip's memories and datapaths).
    n_in, n_out : int
        Input features and output units.
    image_shape : tuple of int or None
        ``(C, H, W)`` of image data (conv blocks need it).
    blocks : tuple of ConvBlock
        The conv blocks in front of the dense layers (empty without ``conv``).
    sizes : tuple of int
        Dense layer widths ``[N_0, ..., N_L]``; with conv blocks ``N_0`` is the
        last block's pooled output.
    feedback_shapes : tuple
        Shape ``(N_h, N_src)`` of each dense ``C^h`` (None where the rule has
        none), ``h = 1 .. L``.
    chip : Chip or None
        The chip the run is priced on (None: no chip accounting).
    storage : FeedbackFormat or None
        How the chip keeps ``C^h``: the run's own format stored, or ``prng``
        when the chip regenerates it (None without a chip).
    mapping : Mapping or None
        The dense layers' ``W^h`` and ``C^h`` rows placed on the chip's tiles
        (None without a chip).
    """

    cfg: TrainConfig
    rule: Rule
    formats: Formats
    n_in: int
    n_out: int
    image_shape: tuple[int, ...] | None
    blocks: tuple[ConvBlock, ...]
    sizes: tuple[int, ...]
    feedback_shapes: tuple
    chip: Chip | None = None
    storage: FeedbackFormat | None = None
    mapping: Mapping | None = None

    @property
    def L(self) -> int:
        """Number of dense weight layers."""
        return len(self.sizes) - 1

    @property
    def seed(self) -> int:
        """The run seed (every random stream derives from it)."""
        return self.cfg.seed


def check_update(cfg: TrainConfig, chip: Chip, conv: bool = False) -> None:
    """Refuse a run the chip's gradient strategy (``chip.update``) cannot train.

    ``online`` updates the weights after every sample: that is minibatch SGD
    with ``batch = 1`` only (a larger batch is a different training, refused
    rather than silently changed). Momentum is allowed: its velocity is
    updated per sample, as the engine does at ``batch = 1``. Conv blocks are
    priced with the ``sram`` strategy only.

    Raises
    ------
    ConfigError
        On ``batch`` (online with ``batch > 1``), ``conv`` (conv blocks on a
        chip that does not accumulate in SRAM) or ``rule`` (an adaptive rule,
        which writes ``C^h``, on a chip that regenerates ``C^h`` by a PRNG).
    """
    if chip.feedback_storage == "prng" and get_rule(cfg.rule).adaptive:
        raise ConfigError(
            "rule", cfg.rule,
            f"a rule with fixed C^h on chip {chip.name!r}: its feedback_storage = \"prng\" "
            "regenerates C^h from a seed and stores nothing an adaptive rule could update "
            "(use a chip that stores C^h)",
        )  # fmt: skip
    acc = chip.update.accumulate
    if acc == "online" and cfg.batch != 1:
        raise ConfigError(
            "batch", cfg.batch,
            f"1 on chip {chip.name!r}: update.accumulate = \"online\" writes the weights "
            "after every sample (use update.accumulate = \"sram\" or \"register\" "
            "for minibatches)",
        )  # fmt: skip
    if conv and acc != "sram":
        raise ConfigError(
            "conv", cfg.conv,
            f"no conv blocks on chip {chip.name!r} with update.accumulate = {acc!r}: "
            "conv blocks are priced with update.accumulate = \"sram\" only",
        )  # fmt: skip
    if chip.update.lr_shift:
        for epoch in range(cfg.epochs):
            check_lr_shift(cfg.lr * cfg.lr_decay**epoch, cfg.batch, cfg.lr_frac, chip.name)


def check_lr_shift(lr: float, batch: int, lr_frac: int, chip: str) -> None:
    """Refuse a learning rate that a shift-only update unit
    (``update.lr_shift``) cannot apply: its register ``M = round(lr / batch *
    2**lr_frac)`` must be a power of two (the engine multiplies by ``M``; a
    power of two makes that a shift, bit for bit). Nothing is rounded.

    Raises
    ------
    ConfigError
        ``lr`` when ``M`` is not a power of two.
    """
    m = int(round(lr / batch * (1 << lr_frac)))
    if m < 1 or m & (m - 1):
        raise ConfigError(
            "lr", lr,
            f"a power of two times the batch on chip {chip!r} (update.lr_shift: the "
            f"update unit shifts; lr / batch * 2^lr_frac = {lr / batch * (1 << lr_frac):g} "
            f"with batch {batch}, lr_frac {lr_frac})",
        )  # fmt: skip


def make_plan(
    cfg: TrainConfig,
    n_in: int,
    n_out: int,
    image_shape: tuple[int, ...] | None = None,
    chip: Chip | None = None,
) -> Plan:
    """Resolve ``cfg`` for data of ``n_in`` features and ``n_out`` outputs.

    Parameters
    ----------
    cfg : TrainConfig
        Validated here.
    n_in, n_out : int
        Input features (``C * H * W`` for images) and output units.
    image_shape : tuple of int, optional
        ``(C, H, W)``; required with ``conv``.
    chip : Chip, optional
        The chip to price the run on.

    Returns
    -------
    Plan

    Raises
    ------
    ConfigError
        A field or a combination of fields the data or the network cannot take.
    """
    cfg.validate()
    rule = get_rule(cfg.rule)
    blocks: tuple[ConvBlock, ...] = ()
    n_dense_in = n_in
    if cfg.conv:
        blocks = tuple(conv_blocks(cfg.conv, image_shape))
        n_dense_in = blocks[-1].n_pool
    sizes = tuple(cfg.sizes(n_dense_in, n_out))
    formats = Formats.from_config(cfg)
    storage = mapping = None
    if chip is not None:
        check_update(cfg, chip, bool(blocks))
        storage = storage_format(cfg, chip)
        mapping = chip_mapping(cfg, rule, list(sizes), chip, formats)
        _, dense_freeze = split_freeze(cfg.freeze, len(blocks))
        L = len(sizes) - 1
        mapping = map_update(
            mapping,
            trained=[i + 1 for i in trained_layers(rule, L, dense_freeze)],
            batch=cfg.batch,
            acc_bits=cfg.acc_bits,
            # O^0 .. O^L: each layer's own activation width
            act_bits=[formats.inp.bits if not blocks else formats.act.bits]
            + [a.bits for a in formats.acts],
            error_bits=[b or formats.error.bits for b in cfg.per_layer("error_bits")],
            bias=cfg.bias,
            adaptive=rule.adaptive,
            # C^h keeps the error that reached it: R^L (skip) or R^{h+1}, each its layer's code
            source_error_bits=[b or formats.error.bits for b in (
                cfg.per_layer("error_bits")[-1:] * (L - 1) if rule.skip
                else cfg.per_layer("error_bits")[1:])],  # fmt: skip
        )
    return Plan(
        cfg=cfg,
        rule=rule,
        formats=formats,
        n_in=n_in,
        n_out=n_out,
        image_shape=tuple(image_shape) if image_shape is not None else None,
        blocks=blocks,
        sizes=sizes,
        feedback_shapes=tuple(feedback_shapes(rule, list(sizes))),
        chip=chip,
        storage=storage,
        mapping=mapping,
    )
