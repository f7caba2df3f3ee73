"""What of a chip and a run shapes the graphs beyond the layers and the rule.

:class:`GraphOptions` collects the gradient strategy, zero skipping, frozen
layers, the adaptive rules' ``dC^h`` work, the number of physical tiles and the
arbitration of the links. The defaults reproduce the single-sample graph of
:func:`hw_models.timing.graph.build_sample_graph` as it was before any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hw_models.timing.conv import BlockTiming, check_blocks
from neurosim.errors import ConfigError

ACCUMULATES = ("sram", "register", "online")
"""Gradient strategies (``chip.update.accumulate``)."""

POLICIES = ("oldest", "round_robin", "fixed_priority")
"""Arbitration policies of a resource (see :mod:`hw_models.timing.arbiter`)."""

LINK_KINDS = ("forward", "skip", "chain")


@dataclass(frozen=True)
class GraphOptions:
    """Options of the sample and batch graphs.

    Attributes
    ----------
    trained : tuple of int, optional
        Layers (1-based) whose weights are updated; None: the rule's
        (:func:`~hw_models.timing.model.trained_layers`). ``freeze`` removes
        layers from it.
    accumulate : str
        ``"sram"``: per-sample ``grad`` ops on the MAC array, per-batch
        write-back ``upd`` on the update unit. ``"register"``: no per-sample
        ``grad``; at batch end ``gsum`` on the MAC array sums the batch's
        gradients (``B`` times a sample's gradient work), then ``upd``.
        ``"online"``: per sample ``grad`` then ``wupd`` (read-modify-write of
        the weights on the update unit), no batch write-back.
    grad_nnz : mapping, optional
        ``h`` -> mean non-zero error components of layer ``h`` per sample
        (zero skipping). A tile of ``rows`` of the layer's ``n_h`` rows then
        does ``nnz_h * rows / n_h`` rows of gradient work (the non-zeros spread
        over the tiles by their rows). Missing layers, or None: dense.
    grad_products : mapping, optional
        ``h`` -> mean gradient products of layer ``h`` per sample when the
        chip skips zero inputs (``update.input_skip``): ``sum_s nnz(R_s)
        nnz(O_s^{h-1}) / S``. A tile does its share ``rows * cols / (n_h *
        n_{h-1})``. Overrides ``grad_nnz`` for the layers it has.
    update_words : mapping, optional
        ``h`` -> mean weight words of layer ``h`` per sample that ``online``
        read-modify-writes when zero update codes are skipped
        (``update.zero_update_skip``); a tile's share as above.
    dc_nnz : mapping, optional
        Adaptive rules: ``h`` -> mean non-zero components per sample of the
        source that ``dC^h`` multiplies (``R^L`` or ``R^{h+1}``). Each row
        block's first tile does ``rows * nnz`` MACs (``dc``) per sample and
        writes ``rows * n_src`` entries of ``C^h`` back per batch (``dcw``;
        per sample with ``"online"``). None: no ``dC^h`` work.
    n_tiles : int, optional
        Physical tiles. When the network has more tile blocks than that, block
        ``b`` (numbered layer by layer, row-block-major within a layer) runs on
        physical tile ``b mod n_tiles``: its MAC array and update unit are the
        resources ``mac@p`` and ``upd@p``, shared with the other blocks of that
        tile. None, or enough tiles: one tile per block (``mac{h}.{t}``).
    arbitration : mapping
        Link kind (``forward``, ``skip``, ``chain``) -> ``round_robin`` or
        ``fixed_priority``; missing kinds are ``round_robin``.
    conv : tuple of BlockTiming
        The conv blocks in front of the dense layers, first block first (their
        ops: :mod:`hw_models.timing.graph`, *Conv blocks*); ``accumulate`` must
        then be ``"sram"``. Their tiles come before the dense layers' in the
        physical numbering of ``n_tiles``.
    ports : bool
        The tiles' SRAM ports are resources the ops hold (``sramW``,
        ``sramG``, ``sramC``; :mod:`hw_models.timing.graph`, *SRAM ports*).
        False: no op holds a port (the graphs as they were before ports).
    feedback_sram : bool
        ``C^h`` is stored in the tiles' feedback SRAM, whose port the
        projections hold; False when the chip regenerates it
        (``feedback_storage = "prng"``).
    """

    trained: tuple[int, ...] | None = None
    accumulate: str = "sram"
    grad_nnz: Mapping[int, float] | None = None
    dc_nnz: Mapping[int, float] | None = None
    n_tiles: int | None = None
    arbitration: Mapping[str, str] = field(default_factory=dict)
    conv: tuple[BlockTiming, ...] = ()
    ports: bool = True
    feedback_sram: bool = True
    grad_products: Mapping[int, float] | None = None
    update_words: Mapping[int, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "conv", tuple(self.conv))
        check_blocks(self.conv, self.accumulate)
        if self.accumulate not in ACCUMULATES:
            raise ConfigError("accumulate", self.accumulate, f"one of {', '.join(ACCUMULATES)}")
        for kind, pol in self.arbitration.items():
            if kind not in LINK_KINDS or pol not in POLICIES[1:]:
                raise ConfigError(
                    f"arbitration[{kind!r}]", pol, "round_robin or fixed_priority of a link kind"
                )
        if self.n_tiles is not None and (not isinstance(self.n_tiles, int) or self.n_tiles < 1):
            raise ConfigError("n_tiles", self.n_tiles, "an integer >= 1")
        if self.trained is not None:
            object.__setattr__(self, "trained", tuple(sorted(set(self.trained))))
