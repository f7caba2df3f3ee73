"""The timing model's inputs and the op of a graph, with the checks they share.

A network's layers cut into tiles (:class:`LayerTiming` of :class:`TileWork`),
the chip's throughputs and widths (:class:`ChipTiming`), what of a rule shapes
the backward graph (:class:`RuleTiming`), and one operation (:class:`Op`).
See :mod:`hw_models.timing` for the semantics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import index
from typing import NamedTuple

from neurosim.errors import ConfigError, NeuroSimError

SOURCES = ("top", "next", "next_raw", "target")
MATRICES = ("W", "C")
# (source, matrix) pairs that describe a rule of neurosim.nn.rules.
_VALID_PAIRS = (("top", "C"), ("next", "C"), ("next", "W"), ("next_raw", "W"), ("target", "C"))


class TimingError(NeuroSimError):
    """The cycle-stepping model exceeded its ``max_cycles`` guard."""


def ceil_div(a: int, b: int) -> int:
    """Integer ``ceil(a / b)`` for ``a >= 0``, ``b > 0``."""
    return -(-a // b)


def check_int(field_name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int, or raise :class:`ConfigError` naming the field."""
    try:
        v = index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ConfigError(field_name, value, f"an integer >= {minimum}") from None
    if v < minimum:
        raise ConfigError(field_name, value, f"an integer >= {minimum}")
    return v


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class TileWork:
    """The synapses of one tile block that are actually used.

    Attributes
    ----------
    rows : int
        Output neurons of the block (>= 1).
    cols : int
        Inputs of the block (>= 1).
    """

    rows: int
    cols: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", check_int("tile.rows", self.rows, 1))
        object.__setattr__(self, "cols", check_int("tile.cols", self.cols, 1))


@dataclass(frozen=True)
class LayerTiming:
    """Layer ``h``'s weights ``W^h`` (``n_out x n_in``) cut into a grid of tiles.

    Attributes
    ----------
    tiles : sequence of TileWork
        ``row_blocks * col_blocks`` blocks, row-block-major (tile
        ``t = i * col_blocks + j`` is row block ``i``, column block ``j``).
        Stored as a tuple. Blocks of one row block share ``rows``, blocks of
        one column block share ``cols``, and they cover the matrix exactly.
    row_blocks : int
        Blocks along the output dimension.
    col_blocks : int
        Blocks along the input dimension; more than one means partial sums
        travel between the tiles of the layer.
    n_out : int
        Neurons of the layer (``n_h``).
    n_in : int
        Inputs of the layer (``n_{h-1}``).
    """

    tiles: Sequence[TileWork]
    row_blocks: int
    col_blocks: int
    n_out: int
    n_in: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiles", tuple(self.tiles))
        rb = check_int("layer.row_blocks", self.row_blocks, 1)
        cb = check_int("layer.col_blocks", self.col_blocks, 1)
        n_out = check_int("layer.n_out", self.n_out, 1)
        n_in = check_int("layer.n_in", self.n_in, 1)
        for name, v in (("row_blocks", rb), ("col_blocks", cb), ("n_out", n_out), ("n_in", n_in)):
            object.__setattr__(self, name, v)
        tiles = self.tiles
        if len(tiles) != rb * cb or not all(isinstance(t, TileWork) for t in tiles):
            raise ConfigError(
                "layer.tiles", f"{len(tiles)} items", f"{rb * cb} TileWork (row_blocks*col_blocks)"
            )
        rows = [tiles[i * cb].rows for i in range(rb)]
        cols = [tiles[j].cols for j in range(cb)]
        for i in range(rb):
            for j in range(cb):
                t = tiles[i * cb + j]
                if t.rows != rows[i] or t.cols != cols[j]:
                    raise ConfigError(
                        f"layer.tiles[{i * cb + j}]",
                        t,
                        f"rows={rows[i]}, cols={cols[j]} (a grid: shared rows per row "
                        "block, shared cols per column block)",
                    )
        if sum(rows) != n_out:
            raise ConfigError("layer.tiles", f"rows sum to {sum(rows)}", f"n_out = {n_out}")
        if sum(cols) != n_in:
            raise ConfigError("layer.tiles", f"cols sum to {sum(cols)}", f"n_in = {n_in}")


@dataclass(frozen=True)
class ChipTiming:
    """Throughputs and link widths that set the cycle counts (all integers >= 1).

    Attributes
    ----------
    macs_per_cycle : int
        Multiply-accumulates per cycle of one tile's MAC array.
    lut_per_cycle : int
        Neurons per cycle of a layer's activation unit (``f`` and ``f'``).
    update_per_cycle : int
        Synapses per cycle of one tile's update unit (read-modify-write).
    fwd_width_bits : int
        Bits per cycle of a forward link (activations and partial sums).
    skip_width_bits : int
        Bits per cycle of the skip bus.
    chain_width_bits : int
        Bits per cycle of a backward-chain link.
    act_bits : int
        Bits of one activation on the forward link (every layer's, unless
        ``layer_act_bits`` gives one per layer; conv blocks' pooled maps).
    psum_bits : int
        Bits of one partial sum sent between tiles of a layer.
    error_bits_per_component : int
        Bits of one error component in a dense message (no header).
    layer_act_bits : tuple of int
        Bits of one hidden activation ``O^h`` of dense layer ``h``,
        ``[h - 1]`` for ``h = 1 .. L-1`` (per-layer activation widths);
        empty (default): ``act_bits`` for every layer.
    """

    macs_per_cycle: int
    lut_per_cycle: int
    update_per_cycle: int
    fwd_width_bits: int
    skip_width_bits: int
    chain_width_bits: int
    act_bits: int
    psum_bits: int
    error_bits_per_component: int
    layer_act_bits: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if name == "layer_act_bits":
                object.__setattr__(self, name, tuple(
                    check_int(f"chip.{name}[{i}]", v, 1) for i, v in enumerate(self.layer_act_bits)
                ))  # fmt: skip
                continue
            object.__setattr__(self, name, check_int(f"chip.{name}", getattr(self, name), 1))

    def fwd_act_bits(self, h: int) -> int:
        """Bits of one activation ``O^h`` of dense layer ``h`` (1-based) on the forward link."""
        if self.layer_act_bits and h <= len(self.layer_act_bits):
            return self.layer_act_bits[h - 1]
        return self.act_bits


@dataclass(frozen=True)
class ProjectionWork:
    """Operations of one tile's error projection ``bproj{h}.{t}`` for one sample.

    A tile with ``rows`` rows of ``C^h`` does ``per_row * rows + per_tile``
    operations (MACs or adds, one per lane and cycle of its MAC array). The
    learning channel's format sets them: a dense or binary row of ``n_src``
    entries is ``per_row = n_src``, a ternary or sparse row its expected
    non-zeros, and a low-rank slice adds its ``V R`` product once per tile
    (``per_tile``).

    Attributes
    ----------
    per_row : int
        Operations per row of ``C^h`` held by the tile (>= 0).
    per_tile : int
        Operations per tile, whatever its rows (>= 0).
    """

    per_row: int
    per_tile: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_row", check_int("proj.per_row", self.per_row, 0))
        object.__setattr__(self, "per_tile", check_int("proj.per_tile", self.per_tile, 0))

    def ops(self, rows: int) -> int:
        """Operations of a tile of ``rows`` rows."""
        return self.per_row * rows + self.per_tile


@dataclass(frozen=True)
class RuleTiming:
    """What of a learning rule shapes the backward graph (see ``neurosim.nn.rules.Rule``).

    Attributes
    ----------
    trains_hidden : bool
        False for the top-only baseline: only the output layer learns.
    source : str
        ``"top"`` (``R^L`` over the skip bus), ``"next"`` (``R^{h+1}``),
        ``"next_raw"`` (layer ``h+1``'s signal before its ``f'``, SBP) or
        ``"target"`` (the sample's label over the skip bus, known when the
        sample enters: DRTP).
    matrix : str
        ``"W"`` (transposed forward weights) or ``"C"`` (learning channel).
    """

    trains_hidden: bool
    source: str
    matrix: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ConfigError("rule.source", self.source, f"one of {', '.join(SOURCES)}")
        if self.matrix not in MATRICES:
            raise ConfigError("rule.matrix", self.matrix, f"one of {', '.join(MATRICES)}")
        if (self.source, self.matrix) not in _VALID_PAIRS:
            allowed = ", ".join(f"{s}/{m}" for s, m in _VALID_PAIRS)
            raise ConfigError("rule", f"{self.source}/{self.matrix}", f"one of {allowed}")
        object.__setattr__(self, "trains_hidden", bool(self.trains_hidden))

    @classmethod
    def from_rule(cls, rule: object) -> RuleTiming:
        """Build from any object with ``trains_hidden``, ``source`` and ``matrix``."""
        return cls(
            trains_hidden=bool(rule.trains_hidden),  # type: ignore[attr-defined]
            source=rule.source,  # type: ignore[attr-defined]
            matrix=rule.matrix,  # type: ignore[attr-defined]
        )


class Op(NamedTuple):
    """One operation of a graph (a named tuple: a batch graph has thousands).

    Attributes
    ----------
    name : str
        Unique name, e.g. ``"fmac2.3"``.
    resource : str
        The resource it occupies, e.g. ``"mac2.3"``.
    duration : int
        Cycles it occupies the resource (>= 0).
    deps : tuple of int
        Indices, in the op list, of the ops that must finish before it starts;
        each is smaller than the op's own index.
    sender : int
        Who sends it, for the arbitration of a link (>= 0): ``round_robin``
        rotates over the distinct senders of the link in increasing order,
        ``fixed_priority`` serves the smallest sender first. Ignored by the
        list-order scheduler and by compute resources.
    holds : tuple of str
        Further resources the op holds for its whole duration, besides
        ``resource`` (e.g. the SRAM port a MAC array reads its weights
        through); distinct, none equal to ``resource``. The op starts only
        when all of them are free (see :mod:`hw_models.timing.arbiter`).
    """

    name: str
    resource: str
    duration: int
    deps: tuple[int, ...] = ()
    sender: int = 0
    holds: tuple[str, ...] = ()

    @property
    def resources(self) -> tuple[str, ...]:
        """``resource`` and then ``holds``: everything the op occupies."""
        return (self.resource, *self.holds)


# ------------------------------------------------------------------ helpers


def tiles_for_layer(n_out: int, n_in: int, rows: int, cols: int) -> LayerTiming:
    """Cut an ``n_out x n_in`` matrix into ``rows x cols`` tiles: full blocks, then the rest.

    Parameters
    ----------
    n_out, n_in : int
        Shape of ``W^h``.
    rows, cols : int
        Synapse rows and columns of one tile.

    Returns
    -------
    LayerTiming
        ``ceil(n_out/rows) x ceil(n_in/cols)`` tiles, row-block-major; the last
        row block and the last column block hold the remainders.
    """
    n_out = check_int("n_out", n_out, 1)
    n_in = check_int("n_in", n_in, 1)
    rows = check_int("tile_rows", rows, 1)
    cols = check_int("tile_cols", cols, 1)
    rb, cb = ceil_div(n_out, rows), ceil_div(n_in, cols)
    tiles = [
        TileWork(min(rows, n_out - i * rows), min(cols, n_in - j * cols))
        for i in range(rb)
        for j in range(cb)
    ]
    return LayerTiming(tiles, rb, cb, n_out, n_in)


def tiles_for_network(sizes: Sequence[int], rows: int, cols: int) -> list[LayerTiming]:
    """:func:`tiles_for_layer` for every layer of a network ``[n_0, n_1, ..., n_L]``."""
    if len(sizes) < 2:
        raise ConfigError("sizes", list(sizes), "at least two widths [n_0, ..., n_L]")
    return [tiles_for_layer(sizes[h], sizes[h - 1], rows, cols) for h in range(1, len(sizes))]


def check_layers(layers: Sequence[LayerTiming]) -> list[LayerTiming]:
    layers = list(layers)
    if not layers:
        raise ConfigError("layers", layers, "at least one LayerTiming")
    for k, lay in enumerate(layers):
        if not isinstance(lay, LayerTiming):
            raise ConfigError(f"layers[{k}]", lay, "a LayerTiming")
        if k > 0 and lay.n_in != layers[k - 1].n_out:
            raise ConfigError(
                f"layers[{k}].n_in", lay.n_in, f"n_out of the layer below = {layers[k - 1].n_out}"
            )
    return layers


def as_rule(rule: object) -> RuleTiming:
    return rule if isinstance(rule, RuleTiming) else RuleTiming.from_rule(rule)


def trained_layers(rule: object, n_layers: int) -> list[int]:
    """Layers (1-based) whose weights a rule updates: ``[L]`` or ``[1, ..., L]``."""
    n_layers = check_int("n_layers", n_layers, 1)
    if as_rule(rule).trains_hidden:
        return list(range(1, n_layers + 1))
    return [n_layers]


def check_ops(ops: Sequence[Op]) -> None:
    """Raise :class:`ConfigError` unless every op has a duration >= 0, only
    earlier ops as dependencies (a topological order) and distinct resources."""
    for i, op in enumerate(ops):
        if op.holds and len(set(op.resources)) != len(op.resources):
            raise ConfigError(f"ops[{i}].holds", op.holds, f"distinct, without {op.resource!r}")
        if check_int(f"ops[{i}].duration", op.duration, 0) != op.duration:
            raise ConfigError(f"ops[{i}].duration", op.duration, "an integer >= 0")
        for d in op.deps:
            if not (isinstance(d, int) and 0 <= d < i):
                raise ConfigError(
                    f"ops[{i}].deps", op.deps, f"indices of earlier ops (0 .. {i - 1})"
                )
