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

from neurosim.channel.formats import FeedbackFormat
from neurosim.config import TrainConfig
from neurosim.cost.placement import chip_mapping, storage_format
from neurosim.nn.conv_spec import ConvBlock, conv_blocks
from neurosim.nn.network import Formats
from neurosim.nn.rules import Rule, feedback_shapes, get_rule

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
        storage = storage_format(cfg, chip)
        mapping = chip_mapping(cfg, rule, list(sizes), chip, formats)
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
