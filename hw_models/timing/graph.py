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
``sramW{h}.{t}``, ``sramG{h}.{t}``, ``sramC{h}.{t}``
    The ports of tile ``t``'s three SRAM macros, see *SRAM ports*.
``macK{k}.{t}``, ``updK{k}.{t}``, ``lutK{k}``, ``fwdK{k}``, ``chainK{k}``
    The same for conv block ``k`` (its kernel ``K^k``), see *Conv blocks*.

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
  ``ceil(n_h * act_bits_h / fwd_width_bits)`` (``O^h``'s own width), after ``flut{h}``.

Error transport and projection, only when the rule trains hidden layers:

* source ``"top"`` (SRBP, ASRBP): ``skip`` on ``skip``,
  ``ceil(msg_bits["skip"] / skip_width_bits)`` after ``flut{L}``; then for
  ``h = L-1 .. 1`` and each tile ``bproj{h}.{t}`` on ``mac{h}.{t}``,
  ``ceil(proj[h].ops(rows) / macs_per_cycle)`` after ``skip``.
* source ``"target"`` (DRTP): ``skip`` on ``skip`` carries the sample's
  label, ``ceil(msg_bits["skip"] / skip_width_bits)``, with no dependency
  (the label enters with the sample: a root of the sample's graph); then for
  ``h = L-1 .. 1`` and each tile ``bproj{h}.{t}`` on ``mac{h}.{t}``,
  ``ceil(proj[h].ops(rows) / macs_per_cycle)`` (the label's column of
  ``C^h`` times ``f'``) after ``skip`` and ``flut{h}`` (its ``f'``). No op of
  a hidden layer waits for the output layer: ``grad{h}.{t}`` of a hidden
  layer can run while the forward pass is still above it.
* matrix ``"C"``, source ``"next"`` (RBP, ARBP): for ``h = L-1 .. 1``:
  ``chain{h}`` on ``chain{h}``, ``ceil(msg_bits["chain{h}"] /
  chain_width_bits)``, after ``flut{L}`` (``h = L-1``) or after every
  ``bproj{h+1}.*``; then ``bproj{h}.{t}`` on ``mac{h}.{t}``,
  ``ceil(proj[h].ops(rows) / macs_per_cycle)`` after ``chain{h}``.

``proj`` maps ``h`` to the :class:`~hw_models.timing.model.ProjectionWork` of
``C^h`` in the run's format; a missing ``h`` is a dense ``C^h``,
``ProjectionWork(n_src)`` with ``n_src`` = ``n_L`` (source ``"top"``) or
``n_{h+1}``: ``rows * n_src`` MACs; for source ``"target"`` a dense column
select, ``ProjectionWork(1)``: ``rows`` operations.
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

Options (:class:`~hw_models.timing.options.GraphOptions`)
---------------------------------------------------------
With the default options the graph is the one above. Otherwise: ``trained``
replaces the rule's trained layers (``freeze``); ``grad_nnz`` shortens
``grad{h}.{t}`` to ``ceil(nnz_h * rows / n_h * cols / macs_per_cycle)``
(zero skipping); ``accumulate = "register"`` drops the per-sample ``grad``
ops (the batch-end ``gsum`` of :mod:`hw_models.timing.batch` does that work),
``"online"`` adds ``wupd{h}.{t}`` on ``upd{h}.{t}``,
``ceil(eff_rows * cols / update_per_cycle)`` after ``grad{h}.{t}`` (and
after the sample's ``bwt{h}.{t}``, the read of the weights it overwrites)
(``eff_rows`` the tile's rows, or its share of ``nnz_h`` under zero
skipping); ``dc_nnz`` adds, after the transport, ``dc{h}.{t}`` on the MAC
array of the first tile of each row block of layer ``h``,
``ceil(rows * dc_nnz[h] / macs_per_cycle)``, after ``bproj{h}.{t}``, and with
``"online"`` its write-back ``dcw{h}.{t}`` on ``upd{h}.{t}``,
``ceil(rows * n_src / update_per_cycle)``. ``grad_products`` (input skipping) replaces the ``grad``
work by the tile's share ``rows * cols / (n_h * n_{h-1})`` of the layer's
mean products per sample, and ``update_words`` (zero update codes skipped)
the ``wupd`` work likewise. ``n_tiles`` maps blocks onto
shared physical tiles (resources ``mac@p``, ``upd@p``).

SRAM ports
----------
A tile has three SRAM macros (ref45: 32 KiB weights, 16 KiB ``C^h`` slice,
64 KiB gradient accumulators), each with its own port; an op on one port
never blocks one on another. A port is one access stream per cycle: an op
that reads or writes a macro holds its port (:attr:`Op.holds`) for its
whole duration, so the port is a resource like the units, granted by age
(:mod:`hw_models.timing.arbiter`). The MAC array's operand stream (8 MACs of
16-bit weights per cycle on ref45: one 128-bit word) fills the port, so two
units cannot share it in one cycle. Who holds what:

* ``sramW`` (weights ``W^h``): ``fmac``, ``bwt`` (transposed read), ``wupd``
  (online read-modify-write) and ``upd`` (the write-back);
* ``sramG`` (gradient accumulators; ``accumulate = "sram"`` only, other
  strategies build no such macro): ``grad`` and ``dc`` (read-modify-write of
  an accumulator), ``upd`` and ``dcw`` (read and clear);
* ``sramC`` (the slice of ``C^h``; only when ``C^h`` is stored,
  :class:`~hw_models.timing.options.GraphOptions` ``feedback_sram``):
  ``bproj`` (read), ``dcw`` (write of the adaptive ``C^h``).

The MAC array's other ops (``gsum``, which sums operands buffered in
registers, and ``grad`` / ``dc`` under ``register`` or ``online``, whose
products go to the update unit) hold no port; the batch buffer of
``register`` (read only by ``gsum``) and the activation registers are not
modelled as ports. Conv blocks: ``fmacK``, ``bwtK`` hold ``sramW``,
``bprojK`` ``sramC``, ``gradK`` ``sramG``, ``updK`` both ``sramW`` and
``sramG``. With shared physical tiles the ports are ``sramW@p`` etc.
(``sfx`` of the unit). Conflicts this captures: a write-back (``upd``,
``dcw``) against the last samples' ``dc``, ``grad`` or reads of another
block of the same physical tile; ``online`` weight and ``C^h`` writes against
the MAC array's reads of the same macro. Within one sample every port user
of a tile is already ordered by its dependencies or by the MAC array, so the
ports do not delay a sample alone. A write-back of ``W^h`` (``upd``,
``wupd``) also waits for the transposed reads ``bwt{h}.{t}`` of the old
weights (a dependency, whatever the ports). ``GraphOptions(ports=False)``
builds the graphs without ports.

Senders (link arbitration): ``psum{h}`` is sender 0 and ``fact{h-1}`` sender 1
of ``fwd{h}`` (under ``fixed_priority`` the partial sums of a sample already
in layer ``h`` go before the activations of a newer one); ``skip`` and
``chain{h}`` have one sender each (0).

Conv blocks
-----------
With :class:`~hw_models.timing.options.GraphOptions` ``conv`` (blocks
``k = 1 .. nb``, :class:`~hw_models.timing.conv.BlockTiming`), the blocks'
ops come first in every part of the list. Block ``k`` has ``F`` filters,
fan-in ``K*K*C``, ``P = H*W`` positions, ``n_conv = P*F`` conv outputs and
``n_pool`` pooled outputs; its kernel ``F x K*K*C`` is cut into tiles like a
dense matrix, and tile ``t``'s *share* is ``rows*cols / (F * K*K*C)``.
The data-dependent amounts (``proj_ops``, ``grad_ops``, ``msg_bits``) are
the run's means per sample, as zero skipping uses for the dense layers:
``ceil`` of a share of a mean, every sample alike.

* ``fmacK{k}.{t}`` on ``macK{k}.{t}``, ``ceil(P * rows*cols /
  macs_per_cycle)`` (the tile's block of the kernel at every position),
  after ``factK{k-1}`` when ``k > 1``; block 1's are the sample's roots;
* ``psumK{k}`` on ``fwdK{k}`` when ``col_blocks > 1``: ``ceil((col_blocks-1)
  * n_conv * psum_bits / fwd_width_bits)``, after every ``fmacK{k}.*``;
* ``flutK{k}`` on ``lutK{k}``: ``ceil((n_conv + pool_ops) / lut_per_cycle)``
  (``f``, ``f'`` per conv output and the max-pool's ``(P_pool^2-1) * n_pool``
  comparisons, one lookup or comparison per lane and cycle);
* ``factK{k}`` on ``fwdK{k+1}``, or on ``fwd1`` for the last block (sender 1,
  as ``fact``): ``ceil(n_pool * act_bits / fwd_width_bits)``, after
  ``flutK{k}``; ``fmac1.*`` then waits for ``factK{nb}``.

Backward, when the rule trains hidden layers, after the dense transport,
``k = nb .. 1`` (``proj_ops`` defaults: every source component non-zero):

* SRBP (``"top"``): ``bprojK{k}.{t}`` on ``macK{k}.{t}``,
  ``ceil(proj_ops * share / macs_per_cycle)`` after ``skip`` (added, after
  ``flut{L}``, when there is no dense hidden layer to send it);
  ``proj_ops = n_pool * nnz(R^L)``;
* RBP (``"C"``, ``"next"``): ``chainK{k}`` on ``chainK{k}``,
  ``ceil(msg_bits / chain_width_bits)`` (``R^1``, or ``R_{k+1}`` for
  ``k < nb``), after ``R^1`` is complete in layer 1 (every ``bproj1.*``;
  ``flut1`` when ``L = 1``) or after every ``bprojK{k+1}.*``; then
  ``bprojK{k}.{t}`` as above after ``chainK{k}`` (``proj_ops = n_pool *
  nnz(R^1)``, or ``nnz(R_{k+1}) * fan_in_{k+1}`` through the random kernel);
* BP (``"W"``): the transposed read where the weights above live:
  ``bwt1.{t}`` on ``mac1.{t}``, ``ceil(proj_ops * rows*cols/(n_1 n_0) /
  macs_per_cycle)`` after ``R^1`` (``chain1``, or ``flut1``), for the last
  block; ``bwtK{k+1}.{t}`` on ``macK{k+1}.{t}`` (``proj_ops *`` its share)
  after ``chainK{k+1}`` for the others; then ``chainK{k}`` carrying the
  error at block ``k``'s pooled map after every one of them;
* gradients of every trained block (frozen ones: none): ``gradK{k}.{t}`` on
  ``macK{k}.{t}``, ``ceil(grad_ops * share / macs_per_cycle)``, after
  ``fmacK{k}.{t}`` and the block's whole error map (every ``bprojK{k}.*``,
  or ``chainK{k}``); ``grad_ops`` is ``nnz(R_k) * K*K*C`` with zero
  skipping, else ``n_conv * K*K*C``.

Only ``accumulate = "sram"`` (what ``make_plan`` allows with conv blocks):
the batch end writes ``updK{k}.{t}`` back (:mod:`hw_models.timing.batch`).
Folded in, as for the dense layers: routing to the argmax and ``f'`` (into
the projection), the biases. Messages default to dense sizes: ``n_1``
(RBP, last block) or ``n_conv_{k+1}`` (RBP) or ``n_pool`` (BP) components of
``error_bits_per_component`` bits.

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
* The extra work of adaptive channels (ARBP/ASRBP: ``dC^h``) is scheduled only
  when :class:`~hw_models.timing.options.GraphOptions` ``dc_nnz`` is given.
* The first layer's input is already in its tiles when the sample starts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hw_models.timing.conv import (
    BlockTiming,
    add_conv_forward,
    add_conv_grads,
    add_conv_transport,
    work_cycles,
)
from hw_models.timing.model import (
    ChipTiming,
    LayerTiming,
    Op,
    ProjectionWork,
    RuleTiming,
    as_rule,
    ceil_div,
    check_int,
    check_layers,
    trained_layers,
)
from hw_models.timing.options import GraphOptions
from neurosim.errors import ConfigError


def dense_msg_bits(
    layers: Sequence[LayerTiming], chip: ChipTiming, rule: object, conv: bool = False
) -> dict[str, int]:
    """Dense sizes of every error message of the rule (the defaults of ``msg_bits``).

    ``skip``: ``n_L`` components (source ``"target"``: the label,
    ``max(1, ceil(log2 n_L))`` bits); ``chain{h}``: ``n_{h+1}`` components for a
    ``"C"`` rule, ``n_h`` for a ``"W"`` rule; each component
    ``error_bits_per_component`` bits, no header. Empty when the rule trains no
    hidden layer (and, without ``conv`` blocks, when ``L = 1``: with them
    ``skip`` still reaches the blocks).
    """
    layers = check_layers(layers)
    rule = as_rule(rule)
    L = len(layers)
    eb = chip.error_bits_per_component
    width = [layers[0].n_in] + [lay.n_out for lay in layers]  # width[h] = n_h
    if not rule.trains_hidden or (L == 1 and not (conv and rule.source == "top")):
        return {}
    if rule.source == "target":  # the label: ceil(log2 n_L) bits, at least 1
        return {"skip": max(1, (width[L] - 1).bit_length())}
    if rule.source == "top":
        return {"skip": width[L] * eb}
    if rule.matrix == "C":
        return {f"chain{h}": width[h + 1] * eb for h in range(1, L)}
    return {f"chain{h}": width[h] * eb for h in range(1, L)}


def resolve_msg_bits(
    msg_bits: Mapping[str, int] | None, dense: dict[str, int], n_layers: int
) -> dict[str, int]:
    """``msg_bits`` checked, with the dense size for every missing key the rule uses."""
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


class Graph:
    """Builder: appends ops and remembers each op's index by name."""

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.at: dict[str, int] = {}

    def add(
        self,
        name: str,
        resource: str,
        duration: int,
        deps: Iterable[str] = (),
        sender: int = 0,
        holds: tuple[str, ...] = (),
    ) -> str:
        if name in self.at:
            raise ConfigError("op name", name, "unique within a graph")
        self.at[name] = len(self.ops)
        dep_ix = tuple(self.at[d] for d in deps)
        self.ops.append(Op(name, resource, duration, dep_ix, sender, holds))
        return name


# op kind -> the SRAM macros whose port it holds: W weights, G gradient
# accumulators (accumulate = "sram" only), C the slice of C^h (when stored)
PORTS = {"fmac": "W", "bwt": "W", "wupd": "W", "upd": "GW", "grad": "G", "dc": "G",
         "bproj": "C", "dcw": "CG"}  # fmt: skip
_KIND = re.compile(r"(?:s\d+:)?([a-z]+)")


def port_holds(name: str, resource: str, opts: GraphOptions) -> tuple[str, ...]:
    """The SRAM ports ``sram{W,G,C}{sfx}`` an op of a tile holds (see the module);
    ``sfx`` is its unit's (``resource[3:]`` of ``mac*`` / ``upd*``)."""
    m = _KIND.match(name)
    macros = PORTS.get(m.group(1), "") if (m and opts.ports) else ""
    if opts.accumulate != "sram":
        macros = macros.replace("G", "")
    if not opts.feedback_sram:
        macros = macros.replace("C", "")
    return tuple(f"sram{x}{resource[3:]}" for x in macros)


def tile_suffixes(
    layers: Sequence[LayerTiming], n_tiles: int | None, conv: Sequence[BlockTiming] = ()
) -> dict[tuple, str]:
    """``(h, t)`` -> suffix of the tile's resources: ``"{h}.{t}"``, or ``"@{p}"``
    (physical tile ``p = b mod n_tiles``, ``b`` the block's index in layer-major,
    row-block-major order) when the blocks outnumber ``n_tiles``. The tiles of
    conv block ``k`` are keyed ``("K{k}", t)`` (suffix ``"K{k}.{t}"``) and come
    first in that order."""
    blocks: list[tuple] = [(f"K{k}", t) for k, b in enumerate(conv, start=1)
                           for t in range(len(b.kernel.tiles))]  # fmt: skip
    blocks += [(h, t) for h, lay in enumerate(layers, start=1) for t in range(len(lay.tiles))]
    if n_tiles is None or len(blocks) <= n_tiles:
        return {(h, t): f"{h}.{t}" for h, t in blocks}
    return {ht: f"@{b % n_tiles}" for b, ht in enumerate(blocks)}


@dataclass
class SampleOps:
    """Names of the ops of one sample that the batch graph links to.

    ``roots``: ops with no dependency (first layer's ``fmac``); ``error_at[h][t]``:
    the op after which layer ``h``'s error is at tile ``t``; ``bwt``: ``(h, t)``
    (``("K{k}", t)`` for a conv block) -> the transposed read of the tile's
    weights, which their write-back must wait for; ``grad``,
    ``wupd``, ``dc``, ``dcw``: ``(h, t)`` -> op name; ``cgrad``: ``(k, t)`` ->
    the gradient op of tile ``t`` of conv block ``k``.
    """

    roots: list[str] = field(default_factory=list)
    fmac: dict[tuple[int, int], str] = field(default_factory=dict)
    bproj: dict[tuple[int, int], str] = field(default_factory=dict)
    bwt: dict[tuple, str] = field(default_factory=dict)
    error_at: dict[int, list[str]] = field(default_factory=dict)
    grad: dict[tuple[int, int], str] = field(default_factory=dict)
    wupd: dict[tuple[int, int], str] = field(default_factory=dict)
    dc: dict[tuple[int, int], str] = field(default_factory=dict)
    dcw: dict[tuple[int, int], str] = field(default_factory=dict)
    cgrad: dict[tuple[int, int], str] = field(default_factory=dict)


@dataclass
class _Ctx:
    """What the pieces of one sample's graph share."""

    g: Graph
    layers: list[LayerTiming]
    chip: ChipTiming
    rule: RuleTiming
    opts: GraphOptions
    sfx: dict[tuple[int, int], str]
    p: str = ""  # name prefix of the sample
    out: SampleOps = field(default_factory=SampleOps)
    extra: dict[str, list[str]] = field(default_factory=dict)  # op name -> extra deps

    def add(self, name: str, res: str, dur: int, deps: Iterable[str], sender: int = 0) -> str:
        full = [self.p + d for d in deps] + self.extra.get(name, [])
        return self.g.add(self.p + name, res, dur, full, sender, port_holds(name, res, self.opts))

    def mac(self, h: int | str, t: int) -> str:
        return "mac" + self.sfx[h, t]

    def upd(self, h: int, t: int) -> str:
        return "upd" + self.sfx[h, t]


# ------------------------------------------------------------------ graphs


def _add_forward(c: _Ctx) -> None:
    L, chip, nb = len(c.layers), c.chip, len(c.opts.conv)
    add_conv_forward(c)
    for h, lay in enumerate(c.layers, start=1):
        prev = [f"fact{h - 1}"] if h > 1 else [f"factK{nb}"] if nb else []
        fmacs = []
        for t, tw in enumerate(lay.tiles):
            name = c.add(
                f"fmac{h}.{t}", c.mac(h, t), ceil_div(tw.rows * tw.cols, chip.macs_per_cycle), prev
            )
            c.out.fmac[h, t] = name
            if not prev:
                c.out.roots.append(name)
            fmacs.append(f"fmac{h}.{t}")
        before_lut = fmacs
        if lay.col_blocks > 1:
            bits = (lay.col_blocks - 1) * lay.n_out * chip.psum_bits
            c.add(f"psum{h}", f"fwd{h}", ceil_div(bits, chip.fwd_width_bits), fmacs, 0)
            before_lut = [f"psum{h}"]
        c.add(f"flut{h}", f"lut{h}", ceil_div(lay.n_out, chip.lut_per_cycle), before_lut)
        if h < L:
            bits = lay.n_out * chip.fwd_act_bits(h)  # O^h at its layer's width
            c.add(f"fact{h}", f"fwd{h + 1}", ceil_div(bits, chip.fwd_width_bits), [f"flut{h}"], 1)


def _add_transport(
    c: _Ctx, bits: dict[str, int], proj: Mapping[int, ProjectionWork]
) -> dict[int, list[str]]:
    """Error transport and projection; returns ``error_at`` (unprefixed names)."""
    layers, chip, rule, L = c.layers, c.chip, c.rule, len(c.layers)
    width = [layers[0].n_in] + [lay.n_out for lay in layers]
    macs = chip.macs_per_cycle

    def bproj(h: int, t: int, n_src: int, rows: int, deps: list[str]) -> str:
        work = proj.get(h) or ProjectionWork(n_src)
        name = c.add(f"bproj{h}.{t}", c.mac(h, t), ceil_div(work.ops(rows), macs), deps)
        c.out.bproj[h, t] = name
        return f"bproj{h}.{t}"

    error_at: dict[int, list[str]] = {L: [f"flut{L}"] * len(layers[L - 1].tiles)}
    if not (rule.trains_hidden and L > 1):
        return error_at
    if rule.source == "target":  # the label enters with the sample
        c.out.roots.append(c.add("skip", "skip", ceil_div(bits["skip"], chip.skip_width_bits), []))
        for h in range(L - 1, 0, -1):
            error_at[h] = [
                bproj(h, t, 1, tw.rows, ["skip", f"flut{h}"])
                for t, tw in enumerate(layers[h - 1].tiles)
            ]
    elif rule.source == "top":
        c.add("skip", "skip", ceil_div(bits["skip"], chip.skip_width_bits), [f"flut{L}"])
        for h in range(L - 1, 0, -1):
            error_at[h] = [
                bproj(h, t, width[L], tw.rows, ["skip"])
                for t, tw in enumerate(layers[h - 1].tiles)
            ]
    elif rule.matrix == "C":
        for h in range(L - 1, 0, -1):
            ready = [f"flut{L}"] if h + 1 == L else error_at[h + 1]
            dur = ceil_div(bits[f"chain{h}"], chip.chain_width_bits)
            c.add(f"chain{h}", f"chain{h}", dur, ready)
            error_at[h] = [
                bproj(h, t, width[h + 1], tw.rows, [f"chain{h}"])
                for t, tw in enumerate(layers[h - 1].tiles)
            ]
    else:  # matrix "W": transposed reads where W^{h+1} lives
        for h in range(L - 1, 0, -1):
            ready = [f"flut{L}"] if h + 1 == L else [f"chain{h + 1}"]
            bwts = []
            for t, tw in enumerate(layers[h].tiles):
                dur = ceil_div(tw.rows * tw.cols, macs)
                c.out.bwt[h + 1, t] = c.add(f"bwt{h + 1}.{t}", c.mac(h + 1, t), dur, ready)
                bwts.append(f"bwt{h + 1}.{t}")
            dur = ceil_div(bits[f"chain{h}"], chip.chain_width_bits)
            c.add(f"chain{h}", f"chain{h}", dur, bwts)
            error_at[h] = [f"chain{h}"] * len(layers[h - 1].tiles)
    return error_at


def grad_rows(lay: LayerTiming, rows: int, nnz: float | None) -> float:
    """Rows of gradient work of a tile of ``rows`` rows: all, or its share
    ``nnz * rows / n_out`` of the layer's mean non-zero error components."""
    return float(rows) if nnz is None else nnz * rows / lay.n_out


def grad_products(lay: LayerTiming, h: int, rows: int, cols: int, opts: GraphOptions) -> float:
    """Gradient products per sample of a ``rows x cols`` tile of layer ``h``:
    its rows of work (:func:`grad_rows`) times its columns, or, with
    ``opts.grad_products`` (input skipping), its share ``rows * cols /
    (n_out * n_in)`` of the layer's mean products."""
    if opts.grad_products is not None and h in opts.grad_products:
        return opts.grad_products[h] * rows * cols / (lay.n_out * lay.n_in)
    return grad_rows(lay, rows, (opts.grad_nnz or {}).get(h)) * cols


def _add_grads(c: _Ctx, error_at: dict[int, list[str]]) -> None:
    layers, chip, opts, L = c.layers, c.chip, c.opts, len(c.layers)
    trained = opts.trained if opts.trained is not None else trained_layers(c.rule, L)
    width = [layers[0].n_in] + [lay.n_out for lay in layers]
    for h in sorted(trained, reverse=True):
        if not 1 <= h <= L:
            raise ConfigError("trained", h, f"a layer index in 1 .. {L}")
        lay = layers[h - 1]
        for t, tw in enumerate(lay.tiles):
            c.out.error_at.setdefault(h, []).append(c.p + error_at[h][t])
            if opts.accumulate == "register":
                continue
            work = grad_products(lay, h, tw.rows, tw.cols, opts)
            deps = [f"fmac{h}.{t}", error_at[h][t]]
            dur = work_cycles(work, chip.macs_per_cycle)
            c.out.grad[h, t] = c.add(f"grad{h}.{t}", c.mac(h, t), dur, deps)
            if opts.accumulate == "online":
                if opts.update_words is not None and h in opts.update_words:  # non-zero codes
                    work = opts.update_words[h] * tw.rows * tw.cols / (lay.n_out * lay.n_in)
                dur = work_cycles(work, chip.update_per_cycle)
                # the write waits for the sample's transposed read of the old weights
                war = [f"bwt{h}.{t}"] if (h, t) in c.out.bwt else []
                c.out.wupd[h, t] = c.add(f"wupd{h}.{t}", c.upd(h, t), dur, [f"grad{h}.{t}", *war])
    if opts.dc_nnz is None or not c.rule.trains_hidden or c.rule.matrix != "C":
        return  # dC^h: adaptive channels only
    for h in range(L - 1, 0, -1):
        n_src = width[L] if c.rule.source in ("top", "target") else width[h + 1]
        lay = layers[h - 1]
        for t in range(0, len(lay.tiles), lay.col_blocks):  # first tile of each row block
            rows = lay.tiles[t].rows
            dur = work_cycles(rows * opts.dc_nnz.get(h, n_src), chip.macs_per_cycle)
            c.out.dc[h, t] = c.add(f"dc{h}.{t}", c.mac(h, t), dur, [f"bproj{h}.{t}"])
            if opts.accumulate == "online":
                dur = ceil_div(rows * n_src, chip.update_per_cycle)
                c.out.dcw[h, t] = c.add(f"dcw{h}.{t}", c.upd(h, t), dur, [f"dc{h}.{t}"])


def add_sample(
    g: Graph,
    layers: list[LayerTiming],
    chip: ChipTiming,
    rule: RuleTiming,
    bits: dict[str, int],
    proj: Mapping[int, ProjectionWork],
    opts: GraphOptions,
    prefix: str = "",
    extra: dict[str, list[str]] | None = None,
) -> SampleOps:
    """Append one training sample's ops to ``g`` (names prefixed by ``prefix``).

    ``bits`` are resolved message sizes (:func:`resolve_msg_bits`); ``extra``
    maps an unprefixed op name to further dependencies (full names) of that op,
    e.g. a barrier or the previous sample's weight update.
    """
    c = _Ctx(g, layers, chip, rule, opts, tile_suffixes(layers, opts.n_tiles, opts.conv), prefix)
    c.extra = extra or {}
    _add_forward(c)
    error_at = _add_transport(c, bits, proj)
    conv_at = add_conv_transport(c, error_at, bits.get("skip", 0))
    _add_grads(c, error_at)
    add_conv_grads(c, conv_at)
    return c.out


def build_inference_graph(
    layers: Sequence[LayerTiming], chip: ChipTiming, opts: GraphOptions | None = None
) -> list[Op]:
    """The forward ops of one sample (``fmac``, ``psum``, ``flut``, ``fact``), the
    conv blocks' first."""
    layers = check_layers(layers)
    opts = opts or GraphOptions()
    c = _Ctx(Graph(), layers, chip, RuleTiming(False, "top", "C"), opts,
             tile_suffixes(layers, opts.n_tiles, opts.conv))  # fmt: skip
    _add_forward(c)
    return c.g.ops


def check_proj(proj: Mapping[int, ProjectionWork] | None, n_layers: int) -> dict:
    """``proj`` checked: a ProjectionWork per hidden layer ``1 .. L-1``."""
    for h, work in (proj or {}).items():
        if not (isinstance(h, int) and 1 <= h < n_layers and isinstance(work, ProjectionWork)):
            raise ConfigError(
                f"proj[{h!r}]", work, f"a ProjectionWork of a layer 1 .. {n_layers - 1}"
            )
    return dict(proj or {})


def build_sample_graph(
    layers: Sequence[LayerTiming],
    chip: ChipTiming,
    rule: object,
    msg_bits: Mapping[str, int] | None = None,
    proj: Mapping[int, ProjectionWork] | None = None,
    opts: GraphOptions | None = None,
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
    opts : GraphOptions, optional
        Gradient strategy, zero skipping, trained layers, ``dC^h``, tiles.

    Returns
    -------
    list of Op
        In a topological order that is also the issue order; the forward ops
        come first, exactly as :func:`build_inference_graph` lists them.
    """
    layers = check_layers(layers)
    rule = as_rule(rule)
    L = len(layers)
    opts = opts or GraphOptions()
    bits = resolve_msg_bits(msg_bits, dense_msg_bits(layers, chip, rule, bool(opts.conv)), L)
    g = Graph()
    add_sample(g, layers, chip, rule, bits, check_proj(proj, L), opts)
    return g.ops


def build_update_graph(
    layers: Sequence[LayerTiming], chip: ChipTiming, trained: Iterable[int]
) -> list[Op]:
    """The once-per-minibatch weight updates ``upd{h}.{t}`` of the given layers (1-based).

    Each tile's update unit reads, modifies and writes its ``rows*cols``
    synapses in ``ceil(rows*cols / update_per_cycle)`` cycles; all independent.
    """
    layers = check_layers(layers)
    g = Graph()
    for h in sorted(set(trained)):
        if not 1 <= h <= len(layers):
            raise ConfigError("trained_layers", h, f"a layer index in 1 .. {len(layers)}")
        for t, tw in enumerate(layers[h - 1].tiles):
            d = ceil_div(tw.rows * tw.cols, chip.update_per_cycle)
            g.add(f"upd{h}.{t}", f"upd{h}.{t}", d)
    return g.ops
