"""Cycle-level timing of the tiled chip: resources, operation graphs, two schedulers.

One training sample on the chip is a graph of operations (:class:`Op`). Each
operation occupies one *resource* (a tile's MAC array, a layer's activation
unit, a link) for a whole number of cycles. Two schedulers give the same
answer by different means and are tested equal:

* FAST, :func:`schedule`: one pass over the list, closed-form start times;
* GOLDEN, :class:`GoldenStepper`: a literal cycle-by-cycle model of every
  resource, with a ``max_cycles`` guard.

Semantics (both schedulers)
---------------------------
An op list is given in a topological order: every dependency of op ``i`` has
an index smaller than ``i``. That order is also the **issue order**.

1. Each resource serves its ops strictly in list order: in-order issue,
   non-preemptive, one op at a time. An op never overtakes an earlier op of
   the same resource, even when it is ready and the earlier one is not.
2. An op that starts at cycle ``s`` with duration ``d > 0`` occupies its
   resource during cycles ``s .. s+d-1`` and is *finished at* ``s + d``. An op
   of duration 0 finishes at its start cycle and occupies nothing.
3. An op may start at cycle ``c`` when every dependency is finished at some
   cycle ``<= c`` and every earlier op of its resource is finished at some
   cycle ``<= c``; it starts at the first such cycle (cycles count from 0).
   So ``start = max(0, finish of each dep, finish of the previous op on the
   same resource)`` and ``finish = start + duration``. Zero-duration ops can
   therefore chain within one cycle.
4. The makespan is the largest finish (0 for an empty list).

Resources
---------
``mac{h}.{t}``
    MAC array of tile ``t`` of layer ``h`` (forward MACs, error projections,
    transposed reads, per-sample gradient accumulation).
``lut{h}``
    Activation unit of layer ``h`` (one LUT lookup pair ``f``, ``f'`` per
    neuron).
``fwd{h}``
    Forward link *into* layer ``h``: it carries the activations of layer
    ``h-1`` and the partial sums between the tiles of layer ``h``.
``skip``
    The skip bus that broadcasts ``R^L`` from the output tiles to every hidden
    tile (SRBP / ASRBP).
``chain{h}``
    The backward link from layer ``h+1`` down to layer ``h`` (BP, SBP, RBP,
    ARBP).
``upd{h}.{t}``
    Update unit of tile ``t`` of layer ``h`` (read-modify-write of its
    synapses, once per minibatch).

Layers are numbered ``h = 1 .. L`` as in the paper; ``n_h`` is the width of
layer ``h`` (``n_0`` the input width). Tiles of a layer are numbered
``t = 0 .. row_blocks*col_blocks - 1``, row-block-major. ``ceil`` below is the
integer ceiling.

Training-sample graph (:func:`build_sample_graph`), in list (= issue) order
-------------------------------------------------------------------------
Forward, ``h = 1 .. L`` (this part alone is the inference graph):

* ``fmac{h}.{t}`` on ``mac{h}.{t}``, ``ceil(rows*cols / macs_per_cycle)``,
  after ``fact{h-1}`` when ``h > 1``;
* ``psum{h}`` on ``fwd{h}``, only when ``col_blocks > 1``:
  ``ceil((col_blocks-1) * n_h * psum_bits / fwd_width_bits)``, after every
  ``fmac{h}.*``;
* ``flut{h}`` on ``lut{h}``, ``ceil(n_h / lut_per_cycle)``, after ``psum{h}``
  (or after every ``fmac{h}.*`` when there is no ``psum{h}``);
* ``fact{h}`` on ``fwd{h+1}`` for ``h < L``:
  ``ceil(n_h * act_bits / fwd_width_bits)``, after ``flut{h}``.

Error transport and projection, only when the rule trains hidden layers:

* source ``"top"`` (SRBP, ASRBP): ``skip`` on ``skip``,
  ``ceil(msg_bits["skip"] / skip_width_bits)`` after ``flut{L}``; then for
  ``h = L-1 .. 1`` and each tile ``bproj{h}.{t}`` on ``mac{h}.{t}``,
  ``ceil(rows * n_L / macs_per_cycle)`` after ``skip``.
* matrix ``"C"``, source ``"next"`` (RBP, ARBP): for ``h = L-1 .. 1``:
  ``chain{h}`` on ``chain{h}``, ``ceil(msg_bits["chain{h}"] /
  chain_width_bits)``, after ``flut{L}`` (``h = L-1``) or after every
  ``bproj{h+1}.*``; then ``bproj{h}.{t}`` on ``mac{h}.{t}``,
  ``ceil(rows * n_{h+1} / macs_per_cycle)`` after ``chain{h}``.
* matrix ``"W"`` (BP with source ``"next"``, SBP with ``"next_raw"``): the
  transposed read happens where ``W^{h+1}`` lives. For ``h = L-1 .. 1``:
  ``bwt{h+1}.{t}`` on ``mac{h+1}.{t}`` for every tile of layer ``h+1``,
  ``ceil(rows*cols / macs_per_cycle)``, after ``flut{L}`` (``h+1 = L``) or
  after ``chain{h+1}`` (the arrival of layer ``h+1``'s error); then
  ``chain{h}`` on ``chain{h}`` carrying the ``n_h`` projected components,
  ``ceil(msg_bits["chain{h}"] / chain_width_bits)``, after every
  ``bwt{h+1}.*``.

Gradient accumulation, after all transport ops, for ``h = L .. 1`` over the
trained layers (the output layer always; hidden layers when the rule trains
them): ``grad{h}.{t}`` on ``mac{h}.{t}``, ``ceil(rows*cols /
macs_per_cycle)``, after ``fmac{h}.{t}`` and after the layer's error is at
the tile: ``flut{L}`` for ``h = L``; the tile's own ``bproj{h}.{t}`` for
``"C"`` rules (each tile projects the errors of its own rows); ``chain{h}``
for ``"W"`` rules.

Because transport ops are listed before gradient ops, a tile that has both a
transposed read ``bwt`` and a gradient ``grad`` serves the read first (it is
on the critical path of the layers below).

Update graph (:func:`build_update_graph`), once per minibatch:
``upd{h}.{t}`` on ``upd{h}.{t}``, ``ceil(rows*cols / update_per_cycle)``, no
dependencies.

Message sizes
-------------
``msg_bits`` maps ``"skip"`` and ``"chain{h}"`` (``h = 1 .. L-1``) to the
number of bits of that error message for one sample; it is data-dependent
(event-driven packets carry only the non-zero components, with their
addresses) and is supplied by the caller. A missing key means a dense message
of ``n_components * error_bits_per_component`` bits with no header, where
``n_components`` is ``n_L`` for ``skip``, ``n_{h+1}`` for ``chain{h}`` of a
``"C"`` rule (it carries ``R^{h+1}``) and ``n_h`` for ``chain{h}`` of a
``"W"`` rule (it carries ``(W^{h+1})^T R^{h+1}``); see
:func:`dense_msg_bits`. Keys that the rule does not use are ignored.

Simplifications (decisions of this model)
-----------------------------------------
* The element-wise product with ``f'(S^h)`` is folded into the projection
  (the derivative was looked up by ``flut{h}``).
* A ``"C"`` rule stores the slice ``C^h[rows, :]`` in every tile of a row
  block, so every tile computes the errors of its own rows and needs no
  intra-layer transfer; the reduction of transposed partial sums across the
  row blocks of ``W^{h+1}`` is folded into the ``chain{h}`` transfer.
* The extra work of adaptive channels (ARBP/ASRBP: ``dC^h``) is not scheduled.
* The first layer's input is already in its tiles when the sample starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import index

from neurosim.errors import ConfigError, NeuroSimError

__all__ = [
    "ChipTiming",
    "GoldenStepper",
    "LayerTiming",
    "Op",
    "RuleTiming",
    "TileWork",
    "TimingError",
    "batch_update_cycles",
    "build_inference_graph",
    "build_sample_graph",
    "build_update_graph",
    "dense_msg_bits",
    "makespan",
    "sample_cycles",
    "schedule",
    "tiles_for_layer",
    "tiles_for_network",
    "trained_layers",
]

SOURCES = ("top", "next", "next_raw")
MATRICES = ("W", "C")
# (source, matrix) pairs that describe a rule of neurosim.nn.rules.
_VALID_PAIRS = (("top", "C"), ("next", "C"), ("next", "W"), ("next_raw", "W"))


class TimingError(NeuroSimError):
    """The cycle-stepping model exceeded its ``max_cycles`` guard."""


def _ceil_div(a: int, b: int) -> int:
    """Integer ``ceil(a / b)`` for ``a >= 0``, ``b > 0``."""
    return -(-a // b)


def _check_int(field_name: str, value: object, minimum: int) -> int:
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
        object.__setattr__(self, "rows", _check_int("tile.rows", self.rows, 1))
        object.__setattr__(self, "cols", _check_int("tile.cols", self.cols, 1))


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
        rb = _check_int("layer.row_blocks", self.row_blocks, 1)
        cb = _check_int("layer.col_blocks", self.col_blocks, 1)
        n_out = _check_int("layer.n_out", self.n_out, 1)
        n_in = _check_int("layer.n_in", self.n_in, 1)
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
        Bits of one activation on the forward link.
    psum_bits : int
        Bits of one partial sum sent between tiles of a layer.
    error_bits_per_component : int
        Bits of one error component in a dense message (no header).
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

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            object.__setattr__(self, name, _check_int(f"chip.{name}", getattr(self, name), 1))


@dataclass(frozen=True)
class RuleTiming:
    """What of a learning rule shapes the backward graph (see ``neurosim.nn.rules.Rule``).

    Attributes
    ----------
    trains_hidden : bool
        False for the top-only baseline: only the output layer learns.
    source : str
        ``"top"`` (``R^L`` over the skip bus), ``"next"`` (``R^{h+1}``) or
        ``"next_raw"`` (layer ``h+1``'s signal before its ``f'``, SBP).
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


@dataclass(frozen=True)
class Op:
    """One operation of a graph.

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
    """

    name: str
    resource: str
    duration: int
    deps: tuple[int, ...] = field(default=())


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
    n_out = _check_int("n_out", n_out, 1)
    n_in = _check_int("n_in", n_in, 1)
    rows = _check_int("tile_rows", rows, 1)
    cols = _check_int("tile_cols", cols, 1)
    rb, cb = _ceil_div(n_out, rows), _ceil_div(n_in, cols)
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


def _check_layers(layers: Sequence[LayerTiming]) -> list[LayerTiming]:
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


def _as_rule(rule: object) -> RuleTiming:
    return rule if isinstance(rule, RuleTiming) else RuleTiming.from_rule(rule)


def trained_layers(rule: object, n_layers: int) -> list[int]:
    """Layers (1-based) whose weights a rule updates: ``[L]`` or ``[1, ..., L]``."""
    n_layers = _check_int("n_layers", n_layers, 1)
    if _as_rule(rule).trains_hidden:
        return list(range(1, n_layers + 1))
    return [n_layers]


def dense_msg_bits(layers: Sequence[LayerTiming], chip: ChipTiming, rule: object) -> dict[str, int]:
    """Dense sizes of every error message of the rule (the defaults of ``msg_bits``).

    ``skip``: ``n_L`` components; ``chain{h}``: ``n_{h+1}`` components for a
    ``"C"`` rule, ``n_h`` for a ``"W"`` rule; each component
    ``error_bits_per_component`` bits, no header. Empty when the rule trains no
    hidden layer.
    """
    layers = _check_layers(layers)
    rule = _as_rule(rule)
    L = len(layers)
    eb = chip.error_bits_per_component
    width = [layers[0].n_in] + [lay.n_out for lay in layers]  # width[h] = n_h
    if not rule.trains_hidden or L == 1:
        return {}
    if rule.source == "top":
        return {"skip": width[L] * eb}
    if rule.matrix == "C":
        return {f"chain{h}": width[h + 1] * eb for h in range(1, L)}
    return {f"chain{h}": width[h] * eb for h in range(1, L)}


def _resolve_msg_bits(
    msg_bits: Mapping[str, int] | None, dense: dict[str, int], n_layers: int
) -> dict[str, int]:
    known = {"skip"} | {f"chain{h}" for h in range(1, n_layers)}
    out = dict(dense)
    for key, value in (msg_bits or {}).items():
        if key not in known:
            raise ConfigError(
                "msg_bits", key, f"one of {', '.join(sorted(known))} (L = {n_layers})"
            )
        v = _check_int(f"msg_bits[{key!r}]", value, 0)
        if key in out:
            out[key] = v
    return out


class _Graph:
    """Builder: appends ops and remembers each op's index by name."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.at: dict[str, int] = {}

    def add(self, name: str, resource: str, duration: int, deps: Iterable[str] = ()) -> str:
        self.at[name] = len(self.ops)
        self.ops.append(Op(name, resource, duration, tuple(self.at[d] for d in deps)))
        return name


# ------------------------------------------------------------------ graphs


def _add_forward(g: _Graph, layers: list[LayerTiming], chip: ChipTiming) -> None:
    L = len(layers)
    for h, lay in enumerate(layers, start=1):
        prev = [f"fact{h - 1}"] if h > 1 else []
        fmacs = [
            g.add(
                f"fmac{h}.{t}",
                f"mac{h}.{t}",
                _ceil_div(tw.rows * tw.cols, chip.macs_per_cycle),
                prev,
            )
            for t, tw in enumerate(lay.tiles)
        ]
        before_lut = fmacs
        if lay.col_blocks > 1:
            bits = (lay.col_blocks - 1) * lay.n_out * chip.psum_bits
            before_lut = [g.add(f"psum{h}", f"fwd{h}", _ceil_div(bits, chip.fwd_width_bits), fmacs)]
        g.add(f"flut{h}", f"lut{h}", _ceil_div(lay.n_out, chip.lut_per_cycle), before_lut)
        if h < L:
            bits = lay.n_out * chip.act_bits
            g.add(f"fact{h}", f"fwd{h + 1}", _ceil_div(bits, chip.fwd_width_bits), [f"flut{h}"])


def build_inference_graph(layers: Sequence[LayerTiming], chip: ChipTiming) -> list[Op]:
    """The forward ops of one sample (``fmac``, ``psum``, ``flut``, ``fact``)."""
    g = _Graph()
    _add_forward(g, _check_layers(layers), chip)
    return g.ops


def build_sample_graph(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msg_bits: Mapping[str, int] | None = None,
) -> list[Op]:
    """The op graph of one training sample: forward, error transport, gradients.

    Parameters
    ----------
    layers : sequence of LayerTiming
        Layers ``1 .. L`` (index 0 is layer 1).
    chip : ChipTiming
        Throughputs and widths.
    rule : RuleTiming or rule-like
        Anything with ``trains_hidden``, ``source``, ``matrix``.
    msg_bits : mapping, optional
        Bits of each error message of this sample (see the module docstring);
        missing keys take the dense size.

    Returns
    -------
    list of Op
        In a topological order that is also the issue order; the forward ops
        come first, exactly as :func:`build_inference_graph` lists them.
    """
    layers = _check_layers(layers)
    rule = _as_rule(rule)
    L = len(layers)
    bits = _resolve_msg_bits(msg_bits, dense_msg_bits(layers, chip, rule), L)
    width = [layers[0].n_in] + [lay.n_out for lay in layers]
    macs = chip.macs_per_cycle
    g = _Graph()
    _add_forward(g, layers, chip)

    hidden = rule.trains_hidden and L > 1
    # error_at[h][t]: the op after which layer h's error is known at tile t.
    error_at: dict[int, list[str]] = {L: [f"flut{L}"] * len(layers[L - 1].tiles)}
    if hidden and rule.source == "top":
        g.add("skip", "skip", _ceil_div(bits["skip"], chip.skip_width_bits), [f"flut{L}"])
        for h in range(L - 1, 0, -1):
            error_at[h] = [
                g.add(f"bproj{h}.{t}", f"mac{h}.{t}", _ceil_div(tw.rows * width[L], macs), ["skip"])
                for t, tw in enumerate(layers[h - 1].tiles)
            ]
    elif hidden and rule.matrix == "C":
        for h in range(L - 1, 0, -1):
            ready = [f"flut{L}"] if h + 1 == L else error_at[h + 1]
            chain = g.add(
                f"chain{h}", f"chain{h}", _ceil_div(bits[f"chain{h}"], chip.chain_width_bits), ready
            )
            error_at[h] = [
                g.add(
                    f"bproj{h}.{t}", f"mac{h}.{t}", _ceil_div(tw.rows * width[h + 1], macs), [chain]
                )
                for t, tw in enumerate(layers[h - 1].tiles)
            ]
    elif hidden:  # matrix "W": transposed reads where W^{h+1} lives
        for h in range(L - 1, 0, -1):
            ready = [f"flut{L}"] if h + 1 == L else [f"chain{h + 1}"]
            bwts = [
                g.add(
                    f"bwt{h + 1}.{t}", f"mac{h + 1}.{t}", _ceil_div(tw.rows * tw.cols, macs), ready
                )
                for t, tw in enumerate(layers[h].tiles)
            ]
            chain = g.add(
                f"chain{h}", f"chain{h}", _ceil_div(bits[f"chain{h}"], chip.chain_width_bits), bwts
            )
            error_at[h] = [chain] * len(layers[h - 1].tiles)

    for h in sorted(trained_layers(rule, L), reverse=True):
        for t, tw in enumerate(layers[h - 1].tiles):
            deps = [f"fmac{h}.{t}", error_at[h][t]]
            g.add(f"grad{h}.{t}", f"mac{h}.{t}", _ceil_div(tw.rows * tw.cols, macs), deps)
    return g.ops


def build_update_graph(
    layers: Sequence[LayerTiming], chip: ChipTiming, trained: Iterable[int]
) -> list[Op]:
    """The once-per-minibatch weight updates ``upd{h}.{t}`` of the given layers (1-based).

    Each tile's update unit reads, modifies and writes its ``rows*cols``
    synapses in ``ceil(rows*cols / update_per_cycle)`` cycles; all independent.
    """
    layers = _check_layers(layers)
    g = _Graph()
    for h in sorted(set(trained)):
        if not 1 <= h <= len(layers):
            raise ConfigError("trained_layers", h, f"a layer index in 1 .. {len(layers)}")
        for t, tw in enumerate(layers[h - 1].tiles):
            d = _ceil_div(tw.rows * tw.cols, chip.update_per_cycle)
            g.add(f"upd{h}.{t}", f"upd{h}.{t}", d)
    return g.ops


# ------------------------------------------------------------------ schedulers


def _check_ops(ops: Sequence[Op]) -> None:
    for i, op in enumerate(ops):
        if _check_int(f"ops[{i}].duration", op.duration, 0) != op.duration:
            raise ConfigError(f"ops[{i}].duration", op.duration, "an integer >= 0")
        for d in op.deps:
            if not (isinstance(d, int) and 0 <= d < i):
                raise ConfigError(
                    f"ops[{i}].deps", op.deps, f"indices of earlier ops (0 .. {i - 1})"
                )


def schedule(ops: Sequence[Op]) -> list[tuple[int, int]]:
    """FAST scheduler: ``(start, finish)`` of every op, in one pass over the list.

    ``start = max(0, finish of each dep, finish of the previous op on the same
    resource)``, ``finish = start + duration``.
    """
    _check_ops(ops)
    free_at: dict[str, int] = {}
    times: list[tuple[int, int]] = []
    for op in ops:
        start = free_at.get(op.resource, 0)
        for d in op.deps:
            start = max(start, times[d][1])
        finish = start + op.duration
        times.append((start, finish))
        free_at[op.resource] = finish
    return times


def makespan(times: Iterable[tuple[int, int]]) -> int:
    """Largest finish cycle of a schedule (0 when empty)."""
    return max((f for _, f in times), default=0)


class GoldenStepper:
    """GOLDEN scheduler: every resource stepped one cycle at a time.

    Per-resource state: its queue of ops in list order, the position of its
    next op, and the op it is running with the cycles that op still needs.
    Per-op state: the number of its dependencies not finished yet, lowered by
    the completion signal of each dependency. Each cycle ``c``:

    1. *retire*: a running op with no cycles left finishes at ``c``; it signals
       its dependents and its resource becomes idle;
    2. *issue*: every idle resource whose next op has no unfinished dependency
       starts it at ``c``; an op of duration 0 finishes at once (signalling its
       dependents, which may then issue in the same cycle), so issue repeats
       until nothing more can start. An idle resource's next op can only
       become ready through a completion signal or by becoming the next op,
       so only those resources are examined;
    3. *tick*: every running op consumes cycle ``c``; then ``c`` advances.

    Parameters
    ----------
    ops : sequence of Op
        A graph in topological (= issue) order.
    max_cycles : int
        :class:`TimingError` is raised if the ops are not all finished by cycle
        ``max_cycles``.
    """

    def __init__(self, ops: Sequence[Op], max_cycles: int) -> None:
        _check_ops(ops)
        self.ops = list(ops)
        self.max_cycles = _check_int("max_cycles", max_cycles, 0)
        self.cycle = 0
        n = len(self.ops)
        self.start: list[int | None] = [None] * n
        self.finish: list[int | None] = [None] * n
        self.n_done = 0
        self._unfinished_deps = [len(set(op.deps)) for op in self.ops]
        self._dependents: list[list[int]] = [[] for _ in range(n)]
        for i, op in enumerate(self.ops):
            for d in set(op.deps):
                self._dependents[d].append(i)
        self._queue: dict[str, list[int]] = {}
        for i, op in enumerate(self.ops):
            self._queue.setdefault(op.resource, []).append(i)
        self._next = dict.fromkeys(self._queue, 0)  # position of the next op in the queue
        self._running: dict[str, list[int]] = {}  # resource -> [op, cycles left]
        self._wake: list[str] = list(self._queue)  # resources to examine at issue

    @property
    def done(self) -> bool:
        """True when every op has finished."""
        return self.n_done == len(self.ops)

    def _head(self, res: str) -> int | None:
        q, k = self._queue[res], self._next[res]
        return q[k] if k < len(q) else None

    def _complete(self, i: int) -> None:
        """Op ``i`` finishes now: record it, free its resource, signal dependents."""
        op = self.ops[i]
        self.finish[i] = self.cycle
        self.n_done += 1
        self._next[op.resource] += 1
        self._wake.append(op.resource)
        for j in self._dependents[i]:
            self._unfinished_deps[j] -= 1
            if self._unfinished_deps[j] == 0:
                self._wake.append(self.ops[j].resource)

    def step(self) -> None:
        """Simulate the current cycle (retire, issue, tick) and advance to the next.

        Raises :class:`TimingError` if ops remain at cycle ``max_cycles``; does
        nothing once :attr:`done`.
        """
        c = self.cycle
        # 1. retire
        for res in [r for r, (_, left) in self._running.items() if left == 0]:
            i, _ = self._running.pop(res)
            self._complete(i)
        # 2. issue, until no idle resource can start its next op
        while self._wake:
            res = self._wake.pop()
            if res in self._running:
                continue
            i = self._head(res)
            if i is None or self._unfinished_deps[i] > 0:
                continue
            self.start[i] = c
            if self.ops[i].duration == 0:
                self._complete(i)
            else:
                self._running[res] = [i, self.ops[i].duration]
        if self.done:
            return
        if c >= self.max_cycles:
            raise TimingError(
                f"{len(self.ops) - self.n_done} of {len(self.ops)} ops unfinished "
                f"at cycle {c} = max_cycles"
            )
        # 3. tick
        for state in self._running.values():
            state[1] -= 1
        self.cycle = c + 1

    def run(self) -> list[tuple[int, int]]:
        """Step until every op has finished; ``(start, finish)`` of every op."""
        while not self.done:
            self.step()
        return [(s, f) for s, f in zip(self.start, self.finish, strict=True)]  # type: ignore[misc]


# ------------------------------------------------------------------ summaries


def sample_cycles(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msg_bits: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Cycles of one sample (FAST scheduler).

    Returns
    -------
    dict
        ``train``: makespan of the training-sample graph; ``forward``: cycle at
        which its forward phase (``flut{L}``) finishes; ``backward``:
        ``train - forward``; ``inference``: makespan of the forward-only graph
        (equal to ``forward``, since forward ops issue first on every resource).
    """
    layers = _check_layers(layers)
    train_ops = build_sample_graph(layers, chip, rule, msg_bits)
    infer_ops = build_inference_graph(layers, chip)
    times = schedule(train_ops)
    train = makespan(times)
    forward = makespan(times[: len(infer_ops)])
    return {
        "train": train,
        "forward": forward,
        "backward": train - forward,
        "inference": makespan(schedule(infer_ops)),
    }


def batch_update_cycles(
    layers: Sequence[LayerTiming], chip: ChipTiming, trained: Iterable[int]
) -> int:
    """Cycles of the once-per-minibatch update of the given layers (FAST scheduler)."""
    return makespan(schedule(build_update_graph(layers, chip, trained)))
