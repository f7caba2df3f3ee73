"""The op graphs of one training sample, one inference and one minibatch update.

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
  ``ceil(proj[h].ops(rows) / macs_per_cycle)`` after ``skip``.
* matrix ``"C"``, source ``"next"`` (RBP, ARBP): for ``h = L-1 .. 1``:
  ``chain{h}`` on ``chain{h}``, ``ceil(msg_bits["chain{h}"] /
  chain_width_bits)``, after ``flut{L}`` (``h = L-1``) or after every
  ``bproj{h+1}.*``; then ``bproj{h}.{t}`` on ``mac{h}.{t}``,
  ``ceil(proj[h].ops(rows) / macs_per_cycle)`` after ``chain{h}``.

``proj`` maps ``h`` to the :class:`~hw_models.timing.model.ProjectionWork` of
``C^h`` in the run's format; a missing ``h`` is a dense ``C^h``,
``ProjectionWork(n_src)`` with ``n_src`` = ``n_L`` (source ``"top"``) or
``n_{h+1}``: ``rows * n_src`` MACs.
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
* The first layer's input is already in its tiles when the sample starts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hw_models.timing.model import (
    ChipTiming,
    LayerTiming,
    Op,
    ProjectionWork,
    as_rule,
    ceil_div,
    check_int,
    check_layers,
    trained_layers,
)
from neurosim.errors import ConfigError


def dense_msg_bits(layers: Sequence[LayerTiming], chip: ChipTiming, rule: object) -> dict[str, int]:
    """Dense sizes of every error message of the rule (the defaults of ``msg_bits``).

    ``skip``: ``n_L`` components; ``chain{h}``: ``n_{h+1}`` components for a
    ``"C"`` rule, ``n_h`` for a ``"W"`` rule; each component
    ``error_bits_per_component`` bits, no header. Empty when the rule trains no
    hidden layer.
    """
    layers = check_layers(layers)
    rule = as_rule(rule)
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
        v = check_int(f"msg_bits[{key!r}]", value, 0)
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
                ceil_div(tw.rows * tw.cols, chip.macs_per_cycle),
                prev,
            )
            for t, tw in enumerate(lay.tiles)
        ]
        before_lut = fmacs
        if lay.col_blocks > 1:
            bits = (lay.col_blocks - 1) * lay.n_out * chip.psum_bits
            before_lut = [g.add(f"psum{h}", f"fwd{h}", ceil_div(bits, chip.fwd_width_bits), fmacs)]
        g.add(f"flut{h}", f"lut{h}", ceil_div(lay.n_out, chip.lut_per_cycle), before_lut)
        if h < L:
            bits = lay.n_out * chip.act_bits
            g.add(f"fact{h}", f"fwd{h + 1}", ceil_div(bits, chip.fwd_width_bits), [f"flut{h}"])


def build_inference_graph(layers: Sequence[LayerTiming], chip: ChipTiming) -> list[Op]:
    """The forward ops of one sample (``fmac``, ``psum``, ``flut``, ``fact``)."""
    g = _Graph()
    _add_forward(g, check_layers(layers), chip)
    return g.ops


def build_sample_graph(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msg_bits: Mapping[str, int] | None = None,
    proj: Mapping[int, ProjectionWork] | None = None,
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
    proj : mapping, optional
        ``h`` -> operations of a tile's projection through ``C^h`` (``"C"``
        rules); missing layers are dense.

    Returns
    -------
    list of Op
        In a topological order that is also the issue order; the forward ops
        come first, exactly as :func:`build_inference_graph` lists them.
    """
    layers = check_layers(layers)
    rule = as_rule(rule)
    L = len(layers)
    bits = _resolve_msg_bits(msg_bits, dense_msg_bits(layers, chip, rule), L)
    width = [layers[0].n_in] + [lay.n_out for lay in layers]
    macs = chip.macs_per_cycle
    g = _Graph()
    _add_forward(g, layers, chip)

    for h, work in (proj or {}).items():
        if not (isinstance(h, int) and 1 <= h < L and isinstance(work, ProjectionWork)):
            raise ConfigError(f"proj[{h!r}]", work, f"a ProjectionWork of a layer 1 .. {L - 1}")

    def bproj(h: int, n_src: int, rows: int) -> int:
        work = (proj or {}).get(h) or ProjectionWork(n_src)
        return ceil_div(work.ops(rows), macs)

    hidden = rule.trains_hidden and L > 1
    # error_at[h][t]: the op after which layer h's error is known at tile t.
    error_at: dict[int, list[str]] = {L: [f"flut{L}"] * len(layers[L - 1].tiles)}
    if hidden and rule.source == "top":
        g.add("skip", "skip", ceil_div(bits["skip"], chip.skip_width_bits), [f"flut{L}"])
        for h in range(L - 1, 0, -1):
            error_at[h] = [
                g.add(f"bproj{h}.{t}", f"mac{h}.{t}", bproj(h, width[L], tw.rows), ["skip"])
                for t, tw in enumerate(layers[h - 1].tiles)
            ]
    elif hidden and rule.matrix == "C":
        for h in range(L - 1, 0, -1):
            ready = [f"flut{L}"] if h + 1 == L else error_at[h + 1]
            chain = g.add(
                f"chain{h}", f"chain{h}", ceil_div(bits[f"chain{h}"], chip.chain_width_bits), ready
            )
            error_at[h] = [
                g.add(f"bproj{h}.{t}", f"mac{h}.{t}", bproj(h, width[h + 1], tw.rows), [chain])
                for t, tw in enumerate(layers[h - 1].tiles)
            ]
    elif hidden:  # matrix "W": transposed reads where W^{h+1} lives
        for h in range(L - 1, 0, -1):
            ready = [f"flut{L}"] if h + 1 == L else [f"chain{h + 1}"]
            bwts = [
                g.add(
                    f"bwt{h + 1}.{t}", f"mac{h + 1}.{t}", ceil_div(tw.rows * tw.cols, macs), ready
                )
                for t, tw in enumerate(layers[h].tiles)
            ]
            chain = g.add(
                f"chain{h}", f"chain{h}", ceil_div(bits[f"chain{h}"], chip.chain_width_bits), bwts
            )
            error_at[h] = [chain] * len(layers[h - 1].tiles)

    for h in sorted(trained_layers(rule, L), reverse=True):
        for t, tw in enumerate(layers[h - 1].tiles):
            deps = [f"fmac{h}.{t}", error_at[h][t]]
            g.add(f"grad{h}.{t}", f"mac{h}.{t}", ceil_div(tw.rows * tw.cols, macs), deps)
    return g.ops


def build_update_graph(
    layers: Sequence[LayerTiming], chip: ChipTiming, trained: Iterable[int]
) -> list[Op]:
    """The once-per-minibatch weight updates ``upd{h}.{t}`` of the given layers (1-based).

    Each tile's update unit reads, modifies and writes its ``rows*cols``
    synapses in ``ceil(rows*cols / update_per_cycle)`` cycles; all independent.
    """
    layers = check_layers(layers)
    g = _Graph()
    for h in sorted(set(trained)):
        if not 1 <= h <= len(layers):
            raise ConfigError("trained_layers", h, f"a layer index in 1 .. {len(layers)}")
        for t, tw in enumerate(layers[h - 1].tiles):
            d = ceil_div(tw.rows * tw.cols, chip.update_per_cycle)
            g.add(f"upd{h}.{t}", f"upd{h}.{t}", d)
    return g.ops
