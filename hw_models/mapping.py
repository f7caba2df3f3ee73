"""Mapping a network onto the chip's tiles, and the memory it occupies.

Forward weights
---------------
Layer ``h`` (1-based) has ``W^h`` of shape ``(N_h, N_{h-1})``. It is cut into a
grid of ``row_blocks x col_blocks`` blocks of at most ``rows x cols``
synapses, ``row_blocks = ceil(N_h / rows)``, ``col_blocks = ceil(N_{h-1} /
cols)``; the last row block and the last column block hold the remainders.
Each block is one tile; tiles are numbered row-block-major (tile ``t = i *
col_blocks + j`` is row block ``i``, column block ``j``). A tile's weight
memory is ``rows_used * cols_used * weight_bits`` (layer ``h``'s own width when
the widths are given per layer); the layer's utilisation is
``N_h * N_{h-1} / (tiles * rows * cols)``.

Feedback memory
---------------
``C^h`` of hidden layer ``h`` has shape ``(N_h, N_src)`` (``N_src = N_L`` for
SRBP, ``N_{h+1}`` for RBP) and is stored with the tiles of layer ``h``, split
by their output rows: row block ``i`` keeps rows ``i*rows ..`` of ``C^h`` —
``r`` rows, ``entries = r * N_src`` — in the tile of its **last column block**
(the tile that completes the row's partial sums and applies f'). With
``replicate_feedback=True`` every tile of the row block keeps its own copy
(each tile then projects the error for its own update; memory x col_blocks).

The bits of one slice of ``r`` rows are the storage's
(:class:`FeedbackStorage`, e.g. a format of
:mod:`neurosim.channel.formats`): dense ``r * N_src * feedback_bits``,
binary 1 and ternary 2 bits per entry, sparse index (and value) lists, low
rank the slice's rows of ``U`` and, with row block 0 (``with_v``; every copy
when replicated), the layer's shared ``V``, prng none.

Update memory
-------------
:func:`map_update` adds what the chip's gradient strategy
(``update.accumulate``) keeps in each tile of a trained layer
(:class:`UpdateMemory`): with ``sram`` one ``acc_bits`` accumulator per
synapse of the tile's block (and per bias of its rows in column block 0) in
the gradient SRAM; with ``register`` the minibatch's inputs of its columns
and errors of its rows in the batch buffer, ``batch * (cols_used * act_bits
+ rows_used * error_bits)`` (every tile of a row block keeps its rows' errors:
each projects them itself; ``error_bits`` of layer ``h`` when the code widths
are per layer); with ``online`` nothing. Adaptive rules also
accumulate ``dC^h``: in the tile of each row block's last column block, an
accumulator per entry of its ``C^h`` rows (``sram``), or a batch of ``O^h``
of its rows and of the source error (``register``).

Capacities are checked against the chip (tile count, weight SRAM, feedback
SRAM, and with :func:`map_update` the gradient SRAM or batch buffer); a
mapping that does not fit is still returned, with its violations
listed, so that sweeps can report it. :meth:`Mapping.check` raises instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from hw_models.chip import Chip
from hw_models.energy import KIB_BITS
from neurosim.errors import ConfigError


class FeedbackStorage(Protocol):
    """How ``C^h`` is kept in the tiles' feedback memory.

    Attributes
    ----------
    name : str
        The storage format's name (dense, sparse, ..., prng).
    counts_nonzeros : bool
        A slice's bits follow its actual non-zero count (``nnz``).
    """

    @property
    def name(self) -> str: ...

    @property
    def counts_nonzeros(self) -> bool: ...

    def check(self, shapes: Sequence[tuple[int, int]], counts_given: bool) -> None:
        """Raise ConfigError if the storage's parameters do not fit ``shapes``
        (``counts_given``: every layer's actual non-zero count is given)."""
        ...

    def slice_bits(self, rows: int, n_src: int, nnz: int | None, with_v: bool) -> int:
        """Bits of ``rows`` rows of a ``C^h`` with ``n_src`` columns (``nnz``:
        their actual non-zeros or None; ``with_v``: with the layer's shared part)."""
        ...


@dataclass(frozen=True)
class TileBlock:
    """One tile of a layer: its block of ``W^h`` and its share of ``C^h``.

    Attributes
    ----------
    layer : int
        Layer ``h`` (1-based).
    row_block, col_block : int
        Position in the layer's block grid.
    rows_used, cols_used : int
        Synapse rows and columns of the block.
    weight_memory_bits : int
        ``rows_used * cols_used * weight_bits``.
    feedback_rows : int
        Rows of ``C^h`` this tile stores (0 if none).
    feedback_memory_bits : int
        Bits of its ``C^h`` slice in the storage format.
    """

    layer: int
    row_block: int
    col_block: int
    rows_used: int
    cols_used: int
    weight_memory_bits: int
    feedback_rows: int
    feedback_memory_bits: int


@dataclass(frozen=True)
class LayerMap:
    """How one layer ``W^h`` (and ``C^h``) lies on the tiles.

    Attributes
    ----------
    layer : int
        ``h`` (1-based).
    n_out, n_in : int
        Shape of ``W^h``.
    row_blocks, col_blocks : int
        Block grid.
    tiles : int
        ``row_blocks * col_blocks``.
    utilisation : float
        ``n_out * n_in / (tiles * rows * cols)``.
    feedback_shape : (int, int) or None
        Shape ``(N_h, N_src)`` of ``C^h``; None for the top layer.
    blocks : tuple of TileBlock
        The tiles, row-block-major.
    """

    layer: int
    n_out: int
    n_in: int
    row_blocks: int
    col_blocks: int
    tiles: int
    utilisation: float
    feedback_shape: tuple[int, int] | None
    blocks: tuple[TileBlock, ...]

    @property
    def weight_memory_bits(self) -> int:
        """Forward weight bits of the layer, ``n_out * n_in * weight_bits``."""
        return sum(b.weight_memory_bits for b in self.blocks)

    @property
    def feedback_memory_bits(self) -> int:
        """Bits of ``C^h`` in the storage format (all copies)."""
        return sum(b.feedback_memory_bits for b in self.blocks)


@dataclass(frozen=True)
class Violation:
    """A capacity the mapping exceeds, as a ConfigError's (field, value, allowed)."""

    field: str
    value: object
    allowed: str

    def error(self) -> ConfigError:
        """The :class:`ConfigError` for this violation."""
        return ConfigError(self.field, self.value, self.allowed)


@dataclass(frozen=True)
class UpdateMemory:
    """What the chip's gradient strategy keeps in each tile (:func:`map_update`).

    Attributes
    ----------
    accumulate : str
        The strategy (``sram``, ``register``, ``online``).
    grad_bits : tuple of int
        Gradient-accumulator bits of each tile (``sram``; 0 otherwise), in
        the order of the layers' blocks (layer 1's tiles first, row-block-major).
    buffer_bits : tuple of int
        Batch-buffer bits of each tile (``register``; 0 otherwise), same order.
    """

    accumulate: str
    grad_bits: tuple[int, ...]
    buffer_bits: tuple[int, ...]

    @property
    def grad(self) -> int:
        """Gradient-accumulator bits of the whole network."""
        return sum(self.grad_bits)

    @property
    def buffer(self) -> int:
        """Batch-buffer bits of the whole network."""
        return sum(self.buffer_bits)


@dataclass(frozen=True)
class Mapping:
    """A network mapped onto a chip.

    Attributes
    ----------
    chip : Chip
        The chip.
    sizes : tuple of int
        ``(N_0, ..., N_L)``.
    weight_bits : int or tuple of int
        Synapse width: one for every layer, or layer ``h``'s at index ``h - 1``.
    feedback_storage : str
        Name of the storage format of ``C^h``.
    layers : tuple of LayerMap
        Layer ``h`` at index ``h-1``.
    violations : tuple of Violation
        Capacities exceeded (empty when the network fits).
    update : UpdateMemory or None
        The gradient strategy's memory per tile (:func:`map_update`; None
        before it).
    """

    chip: Chip
    sizes: tuple[int, ...]
    weight_bits: int | tuple[int, ...]
    feedback_storage: str
    layers: tuple[LayerMap, ...]
    violations: tuple[Violation, ...]
    update: UpdateMemory | None = None

    @property
    def tiles(self) -> int:
        """Tiles used by the whole network."""
        return sum(lay.tiles for lay in self.layers)

    @property
    def col_blocks(self) -> list[int]:
        """Column blocks per layer (tiles whose partial sums meet on the forward link)."""
        return [lay.col_blocks for lay in self.layers]

    @property
    def utilisation(self) -> float:
        """Used synapses / synapses of the used tiles, whole network."""
        used = sum(lay.n_out * lay.n_in for lay in self.layers)
        return used / (self.tiles * self.chip.tile.synapses)

    @property
    def weight_memory_bits(self) -> int:
        """Forward weight bits of the whole network."""
        return sum(lay.weight_memory_bits for lay in self.layers)

    @property
    def feedback_memory_bits(self) -> int:
        """``C^h`` bits of the whole network (all copies)."""
        return sum(lay.feedback_memory_bits for lay in self.layers)

    @property
    def fits(self) -> bool:
        """True when no capacity is exceeded."""
        return not self.violations

    def check(self) -> Mapping:
        """Return self if the network fits, else raise the first violation's ConfigError."""
        if self.violations:
            raise self.violations[0].error()
        return self


# ---------------------------------------------------------------- helpers


def _int(path: str, v: object, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ConfigError(path, v, f"an integer >= {lo}")
    return v


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _row_nnz(
    h: int, nnz: object, n_h: int, n_src: int, starts: list[int], ends: list[int]
) -> list[int] | None:
    """Actual non-zeros per row block of ``C^h`` (None: use the expected count)."""
    path = f"nnz[{h - 1}]"
    if nnz is None:
        return None
    if isinstance(nnz, int) and not isinstance(nnz, bool):
        total = _int(path, nnz, 0)
        if total > n_h * n_src:
            raise ConfigError(path, total, f"at most N_h * N_src = {n_h * n_src}")
        # apportion a layer total to row blocks by rows, in integers summing to it
        return [total * e // n_h - total * s // n_h for s, e in zip(starts, ends, strict=True)]
    if isinstance(nnz, Sequence) and not isinstance(nnz, str):
        if len(nnz) != n_h:
            raise ConfigError(path, f"{len(nnz)} values", f"{n_h} per-row counts of C^{h}")
        rows = [_int(f"{path}[{i}]", v, 0) for i, v in enumerate(nnz)]
        for i, v in enumerate(rows):
            if v > n_src:
                raise ConfigError(f"{path}[{i}]", v, f"at most N_src = {n_src}")
        return [sum(rows[s:e]) for s, e in zip(starts, ends, strict=True)]
    raise ConfigError(path, nnz, "a layer total or a list of per-row non-zero counts")


def _storages(storage: object, L: int) -> list:
    """``storage`` as one per ``C^h`` (``L - 1``; one for a network without
    hidden layers): a single storage repeated, or the sequence given."""
    if not isinstance(storage, Sequence):
        return [storage] * max(1, L - 1)
    if len(storage) != L - 1 or len({s.name for s in storage}) != 1:
        raise ConfigError(
            "storage", [s.name for s in storage],
            f"one storage, or {L - 1} of one format (one per C^h)",
        )  # fmt: skip
    return list(storage)


def _check_shapes(
    sizes: tuple[int, ...], shapes: list, storage: FeedbackStorage, nnz: object
) -> None:
    """The C^h shapes fit the layers; ``nnz`` (one entry per C^h) fits the storage."""
    L = len(sizes) - 1
    if len(shapes) not in (0, L - 1):
        raise ConfigError(
            "feedback_shapes", shapes, f"{L - 1} shapes (N_h, N_src), one per hidden layer, or none"
        )
    for k, shp in enumerate(shapes):
        ok = (
            isinstance(shp, Sequence)
            and len(shp) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shp)
        )
        if not ok or shp[0] != sizes[k + 1]:
            raise ConfigError(
                f"feedback_shapes[{k}]", shp, f"(N_{k + 1}, N_src) = ({sizes[k + 1]}, N_src)"
            )
    counted = storage.counts_nonzeros and nnz is not None
    if counted and (
        isinstance(nnz, (str, bytes)) or not isinstance(nnz, Sequence) or len(nnz) != len(shapes)
    ):
        raise ConfigError("nnz", nnz, f"{len(shapes)} entries, one per hidden layer")
    storage.check(shapes, counted and all(v is not None for v in nnz))  # type: ignore[union-attr]


def _layer(
    chip: Chip,
    h: int,
    n_out: int,
    n_in: int,
    shape: tuple[int, int] | None,
    storage: FeedbackStorage,
    per_block: list[int] | None,
    weight_bits: int,
    bias_bits: int,
    replicate: bool,
) -> LayerMap:
    """Layer ``h``'s block grid, each tile's weights and C^h slice."""
    t = chip.tile
    rb, cb = _ceil_div(n_out, t.rows), _ceil_div(n_in, t.cols)
    blocks = []
    for i in range(rb):
        r = min(n_out, (i + 1) * t.rows) - i * t.rows
        for j in range(cb):
            c = min(n_in, (j + 1) * t.cols) - j * t.cols
            holds = shape is not None and (replicate or j == cb - 1)
            bits = 0
            if holds:
                bits = storage.slice_bits(
                    r, shape[1], None if per_block is None else per_block[i],  # type: ignore[index]
                    with_v=replicate or i == 0,
                )  # fmt: skip
            wbits = r * c * weight_bits + (r * bias_bits if j == 0 else 0)
            blocks.append(TileBlock(h, i, j, r, c, wbits, r if holds else 0, bits))
    return LayerMap(
        layer=h, n_out=n_out, n_in=n_in, row_blocks=rb, col_blocks=cb, tiles=rb * cb,
        utilisation=n_out * n_in / (rb * cb * t.synapses), feedback_shape=shape,
        blocks=tuple(blocks),
    )  # fmt: skip


def _overflows(chip: Chip, lay: LayerMap, storage: str) -> list[Violation]:
    """The tiles of ``lay`` whose weights or C^h slice exceed their SRAM."""
    t = chip.tile
    out = []
    for b in lay.blocks:
        where = f"layer {lay.layer} tile ({b.row_block},{b.col_block})"
        if b.weight_memory_bits > t.sram_bits:
            out.append(Violation(
                "tile.sram_kib", t.sram_kib,
                f"at least {b.weight_memory_bits / KIB_BITS:g} KiB: {where} holds "
                f"{b.weight_memory_bits} weight bits",
            ))  # fmt: skip
        if b.feedback_memory_bits > t.feedback_sram_bits:
            out.append(Violation(
                "tile.feedback_sram_kib", t.feedback_sram_kib,
                f"at least {b.feedback_memory_bits / KIB_BITS:g} KiB: {where} holds "
                f"{b.feedback_memory_bits} bits of C^{lay.layer} ({storage})",
            ))  # fmt: skip
    return out


# ---------------------------------------------------------------- mapping


def map_network(
    chip: Chip,
    sizes: Sequence[int],
    feedback_shapes: Sequence[tuple[int, int]],
    weight_bits: int | Sequence[int],
    storage: FeedbackStorage | Sequence[FeedbackStorage],
    *,
    nnz: Sequence[int | Sequence[int] | None] | None = None,
    replicate_feedback: bool = False,
    bias_bits: int | Sequence[int] = 0,
) -> Mapping:
    """Cut every ``W^h`` into tile blocks and place each ``C^h`` slice.

    Parameters
    ----------
    chip : Chip
        Tile shape and capacities.
    sizes : sequence of int
        Layer widths ``[N_0, ..., N_L]``.
    feedback_shapes : sequence of (int, int)
        ``(N_h, N_src)`` of ``C^h`` for ``h = 1 .. L-1``
        (:func:`neurosim.nn.rules.feedback_shapes`); empty when the rule has none.
    weight_bits : int or sequence of int
        Bits per forward synapse: one width for every layer, or one per layer
        (``L`` entries, layer ``h``'s at index ``h - 1``).
    storage : FeedbackStorage or sequence of FeedbackStorage
        How ``C^h`` is stored: the bits of each tile's slice (e.g.
        ``get_format(name).storage(feedback_bits, n, rank)`` of
        :mod:`neurosim.channel.formats`); one for every ``C^h``, or one per
        ``C^h`` (``L - 1`` entries, ``C^h``'s at index ``h - 1``: per-layer
        ``feedback_bits``), all of one format.
    nnz : sequence, optional
        Storages that count non-zeros (sparse): per hidden layer, the actual
        non-zeros of ``C^h`` — a layer total (apportioned to row blocks by
        rows) or ``N_h`` per-row counts (exact per tile) — or None for the
        expected count.
    replicate_feedback : bool
        Every tile of a row block keeps a copy of the row block's slice.
    bias_bits : int or sequence of int
        Bits per neuron bias ``b^h`` (0: no biases), one for every layer or
        one per layer (a bias has its layer's weight width). The first tile of each
        row block (column block 0, where the partial sums start) keeps the
        biases of its rows next to its weights: they count in its
        ``weight_memory_bits``.
    """
    if not isinstance(chip, Chip):
        raise ConfigError("chip", chip, "a hw_models.chip.Chip")
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ConfigError("sizes", sizes, "a list of at least two layer widths")
    sizes = tuple(_int(f"sizes[{i}]", n, 1) for i, n in enumerate(sizes))
    L = len(sizes) - 1
    if isinstance(weight_bits, Sequence) and not isinstance(weight_bits, (str, bytes)):
        if len(weight_bits) != L:
            raise ConfigError("weight_bits", weight_bits, f"one width or {L}, one per layer")
        weight_bits = tuple(_int(f"weight_bits[{i}]", b, 1) for i, b in enumerate(weight_bits))
        per_layer = weight_bits
    else:
        weight_bits = _int("weight_bits", weight_bits, 1)
        per_layer = (weight_bits,) * L
    bias_per = tuple(bias_bits) if isinstance(bias_bits, Sequence) else (bias_bits,) * L
    shapes = list(feedback_shapes)
    storages = _storages(storage, L)
    storage = storages[0]
    _check_shapes(sizes, shapes, storage, nnz)
    counted = nnz if storage.counts_nonzeros else None
    t = chip.tile
    layers = []
    violations: list[Violation] = []
    for h in range(1, L + 1):
        n_out, n_in = sizes[h], sizes[h - 1]
        shape = tuple(shapes[h - 1]) if h < L and shapes else None
        per_block = None
        if shape is not None and counted is not None:
            starts = list(range(0, n_out, t.rows))
            ends = [min(n_out, s + t.rows) for s in starts]
            per_block = _row_nnz(h, counted[h - 1], n_out, shape[1], starts, ends)
        lay = _layer(
            chip, h, n_out, n_in, shape, storages[min(h, len(storages)) - 1],  # C^h's
            per_block,  # type: ignore[arg-type]
            per_layer[h - 1], bias_per[h - 1], replicate_feedback,
        )  # fmt: skip
        layers.append(lay)
        violations += _overflows(chip, lay, storage.name)
    tiles = sum(lay.tiles for lay in layers)
    if tiles > chip.n_tiles:
        violations.insert(0, Violation(
            "n_tiles", chip.n_tiles, f"at least {tiles}: the network needs {tiles} tiles"
        ))  # fmt: skip
    return Mapping(chip, sizes, weight_bits, storage.name, tuple(layers), tuple(violations))


# ---------------------------------------------------------------- update memory


def _tile_update_bits(
    lay: LayerMap, b: TileBlock, trained: bool, adaptive: bool, w: dict[str, int]
) -> tuple[int, int]:
    """(gradient SRAM bits, batch buffer bits) of tile ``b`` of ``lay``."""
    sram = w["accumulate"] == "sram"
    grad = buf = 0
    if trained:
        if sram:
            grad += b.rows_used * (b.cols_used + (1 if w["bias"] and b.col_block == 0 else 0))
        else:
            buf += (b.cols_used * w["act_bits"][lay.layer - 1]
                    + b.rows_used * w["error_bits"][lay.layer - 1])  # fmt: skip
    if adaptive and lay.feedback_shape is not None and b.col_block == lay.col_blocks - 1:
        n_src = lay.feedback_shape[1]
        if sram:
            grad += b.rows_used * n_src
        else:
            buf += b.rows_used * w["act_bits"][lay.layer] + n_src * w["src_bits"][lay.layer - 1]
    return grad * w["acc_bits"], buf * w["batch"]


def map_update(
    mapping: Mapping,
    *,
    trained: Sequence[int],
    batch: int,
    acc_bits: int,
    act_bits: Sequence[int],
    error_bits: int | Sequence[int],
    bias: bool = False,
    adaptive: bool = False,
    source_error_bits: Sequence[int] | None = None,
) -> Mapping:
    """``mapping`` with the memory of the chip's gradient strategy placed and checked.

    Parameters
    ----------
    mapping : Mapping
        The network on the chip (:func:`map_network`).
    trained : sequence of int
        The layers the run updates, 1-based.
    batch : int
        Minibatch size (samples the batch buffer holds).
    acc_bits : int
        Width of a gradient accumulator word, bits.
    act_bits : sequence of int
        Width of layer ``h``'s input word ``a^{h-1}`` at index ``h - 1``
        (the input's width first), bits; ``L + 1`` entries.
    error_bits : int or sequence of int
        Width of a buffered error word ``R^h`` (its log code, or the linear
        error word), bits: one for every layer, or layer ``h``'s at index
        ``h - 1`` (``L`` entries).
    bias : bool
        Trained biases (one more accumulator per row in column block 0).
    adaptive : bool
        ``C^h`` learns (``dC^h`` accumulated next to its slice).
    source_error_bits : sequence of int, optional
        Width of the source error buffered with ``C^h``'s slice, at index
        ``h - 1`` (``L - 1`` entries; the skip message ``R^L`` or
        ``R^{h+1}``); default layer ``h + 1``'s ``error_bits``.

    Returns
    -------
    Mapping
        With :attr:`Mapping.update` set and a violation of
        ``tile.grad_sram_kib`` (``sram``) or ``tile.buffer_kib``
        (``register``) for every tile whose strategy memory does not fit.
    """
    chip = mapping.chip
    acc = chip.update.accumulate
    n = len(mapping.layers)
    eb = list(error_bits) if isinstance(error_bits, Sequence) else [error_bits] * n
    src = list(source_error_bits) if source_error_bits is not None else eb[1:]
    w = {"accumulate": acc, "batch": batch, "acc_bits": acc_bits, "act_bits": list(act_bits),
         "error_bits": eb, "src_bits": src, "bias": bias}  # fmt: skip
    grads: list[int] = []
    bufs: list[int] = []
    violations = list(mapping.violations)
    t = chip.tile
    for lay in mapping.layers:
        for b in lay.blocks:
            g, buf = (0, 0)
            if acc != "online":
                g, buf = _tile_update_bits(lay, b, lay.layer in trained, adaptive, w)
            grads.append(g)
            bufs.append(buf)
            where = f"layer {lay.layer} tile ({b.row_block},{b.col_block})"
            if g > t.grad_sram_bits:
                violations.append(Violation(
                    "tile.grad_sram_kib", t.grad_sram_kib,
                    f"at least {g / KIB_BITS:g} KiB: {where} accumulates {g} gradient bits "
                    f"(update.accumulate = sram)",
                ))  # fmt: skip
            if buf > t.buffer_bits:
                violations.append(Violation(
                    "tile.buffer_kib", t.buffer_kib,
                    f"at least {buf / KIB_BITS:g} KiB: {where} buffers {buf} bits of a "
                    f"batch of {batch} (update.accumulate = register)",
                ))  # fmt: skip
    upd = UpdateMemory(acc, tuple(grads), tuple(bufs))
    return replace(mapping, update=upd, violations=tuple(violations))
