"""The modelled chip as nested frozen dataclasses, and its TOML presets.

A chip file is TOML with the field names below (units in the names)::

    name = "mychip"
    base = "ref45"            # optional: start from a preset, change some fields
    node_nm = 28
    [tile]
    rows = 64
    cols = 64
    sram_kib = 8
    [links.skip_bus]
    width_bits = 64
    length_mm = 3.0
    [energy_overrides]        # or: energy_overrides = "my_energy.toml"
    add = 0.02

A chip file may instead name an Accelergy energy reference table,
``accelergy_ert = "ERT.yaml"`` (relative to the chip file; see
:mod:`hw_models.accelergy`), which then prices the run's actions.

Fields not given keep the defaults below (which are the ``ref45`` preset's
values) or the ``base`` preset's. :func:`load_chip` takes a preset name
(``hw_models/presets/*.toml``) or a path. Every field is checked for type,
range and consistency; unknown keys are errors; every error is a
:class:`~neurosim.errors.ConfigError` naming the field's dotted path
(``tile.rows``, ``links.skip_bus.width_bits``, ``energy_overrides.add``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping as AbcMapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from hw_models import area as _area
from hw_models import power as _power
from hw_models import technology
from hw_models.accelergy import Ert, read_ert
from hw_models.energy import KIB_BITS, EnergyTable, Override, parse_overrides
from neurosim.errors import ConfigError
from neurosim.tomlfile import read_toml

FEEDBACK_STORAGES = ("dense", "binary", "ternary", "sparse", "lowrank", "prng")
"""Values of a chip's ``feedback_storage``: ``prng`` (``C^h`` regenerated, not
stored) or a stored format. The names of the feedback-format registry
:mod:`neurosim.channel.formats` (which ``hw_models`` does not import; a test
keeps the two equal); what each stores is the format's, handed to
:func:`hw_models.mapping.map_network` as a storage object."""

ARBITRATIONS = ("round_robin", "fixed_priority")
"""How senders share a link."""

ACCUMULATES = ("sram", "register", "online")
"""Where a tile accumulates the weight gradient (``update.accumulate``)."""


def _spec(
    default: Any = MISSING,
    kind: str = "int",
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    choices: tuple[str, ...] | None = None,
    optional: bool = False,
    cls: type | None = None,
) -> Any:
    meta = {
        "kind": kind,
        "lo": lo,
        "hi": hi,
        "lo_open": lo_open,
        "choices": choices,
        "optional": optional,
        "cls": cls,
    }
    if cls is not None:
        return field(default_factory=cls, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class LinkSpec:
    """One on-chip link (a bus or a point-to-point channel); checked as part of a Chip."""

    width_bits: int = _spec(32, "int", lo=1, hi=65536)
    """Bits the link carries per clock cycle."""

    length_mm: float = _spec(1.0, "float", lo=0.0, hi=1000.0, lo_open=True)
    """Distance a bit travels on the link, mm; prices the ``wire`` action."""

    arbitration: str = _spec("round_robin", "str", choices=ARBITRATIONS)
    """How senders share the link: ``round_robin`` or ``fixed_priority``."""


@dataclass(frozen=True)
class UpdateSpec:
    """How a tile turns errors into weight changes; checked as part of a Chip."""

    accumulate: str = _spec("sram", "str", choices=ACCUMULATES)
    """Gradient strategy. ``sram``: every sample read-modify-writes one
    accumulator word per synapse in the gradient SRAM, and the minibatch's sum
    is written back to the weights once per batch. ``register``: the tile
    buffers the minibatch's inputs and errors and, at the end of the batch,
    sums each synapse's gradient in the update unit's accumulator registers
    (no gradient SRAM). ``online``: every sample read-modify-writes the
    weights directly (batch 1, as on-chip learners such as SPOON do)."""

    zero_skip: bool = _spec(True, "bool")
    """True: a zero error component skips its gradient work (and a sparse
    projection the entries it would multiply), in time as in energy; False:
    the datapath does that work whatever the error."""

    input_skip: bool = _spec(False, "bool")
    """True (event-driven chips, such as SPOON): a synapse whose presynaptic
    input ``O^{h-1}`` is zero does no gradient or update work for that sample
    (its product is zero): the dense layers' gradient products are
    ``sum_s nnz(R_s^h) nnz(O_s^{h-1})`` (with ``zero_skip``; else
    ``N_h nnz(O_s^{h-1})``), in time as in energy. False: every input's
    synapse is worked."""

    zero_update_skip: bool = _spec(False, "bool")
    """True: a weight whose update code is zero is not read (nor added to, nor
    written). ``online``: the code comes from the error, the input and the
    learning rate, not from the weight, so a zero code touches no weight word
    at all. ``sram`` and ``register``: the accumulator is still read and
    cleared (the code is not known before), only the weight's read and add are
    skipped. The words counted are those that changed (``changed:W^h``): a
    non-zero code on a weight already at its bound is not counted. False:
    every worked synapse is read and added to; only changed words are written
    (always)."""

    lr_shift: bool = _spec(False, "bool")
    """True: the update unit scales a gradient by a barrel shift, not a
    multiplier: the learning-rate register ``M = round(lr / batch *
    2**lr_frac)`` must be a power of two (a run whose ``M`` is not is refused,
    :func:`neurosim.plan.check_update`, never rounded), so the update
    ``round(G * M / 2**s)`` is the same bit for bit; each scaling is priced as
    a ``shift`` of the gradient's width and the update lanes' area as a
    barrel shifter (:func:`hw_models.area.update_lane_ge`). False: a
    ``G x lr_frac`` multiplier (any learning rate)."""


@dataclass(frozen=True)
class DramSpec:
    """Off-chip memory: weights and ``C^h`` of a network larger than the chip,
    inputs and labels; checked as part of a Chip."""

    bandwidth_gbit_s: float = _spec(102.4, "float", lo=0.0, hi=1e7, lo_open=True)
    """Sustained bandwidth between DRAM and the chip, Gbit/s (102.4: one
    32-bit LPDDR4 channel at 3200 MT/s)."""

    access_bits: int = _spec(64, "int", lo=1, hi=65536)
    """Bits of one DRAM access (the unit the energy table prices)."""


@dataclass(frozen=True)
class PowerSpec:
    """Supply voltage and the static and overhead power of the chip; checked
    as part of a Chip."""

    vdd_v: float | None = _spec(None, "float", lo=0.0, hi=5.0, lo_open=True, optional=True)
    """Supply voltage, V; unset (None) is the node's nominal supply
    (:func:`hw_models.technology.nominal_vdd`). Dynamic energy scales with
    ``(vdd / nominal)^2``, leakage with the law of :mod:`hw_models.power`,
    and the clock must not exceed the limit at this supply."""

    vth_v: float | None = _spec(None, "float", lo=0.0, hi=2.0, lo_open=True, optional=True)
    """Threshold voltage of the alpha-power law, V; unset: 0.3 x the node's
    nominal supply (0.3 V at 45 nm; an assumption). Must lie below the supply."""

    alpha: float = _spec(1.3, "float", lo=1.0, hi=2.0)
    """Velocity-saturation exponent of the alpha-power law (1 to 2; 1.3 for
    short-channel devices, Sakurai and Newton, IEEE JSSC 25(2), 1990)."""

    fmax_nominal_mhz: float | None = _spec(
        None, "float", lo=0.0, hi=100_000.0, lo_open=True, optional=True
    )
    """Highest clock at the node's nominal supply, MHz; unset: 40 FO4 delays
    per cycle (:func:`hw_models.technology.fmax_nominal_mhz`: 1111 MHz at
    45 nm)."""

    sram_leak_pw_per_bit: float | None = _spec(
        None, "float", lo=0.0, hi=1e6, optional=True
    )
    """Leakage of one SRAM bit at the chip's node and nominal supply, pW;
    unset: the technology table's (100 pW at 45 nm, scaled to the node)."""

    gate_leak_nw_per_ge: float | None = _spec(None, "float", lo=0.0, hi=1e6, optional=True)
    """Leakage of one NAND2 gate equivalent of logic at the chip's node and
    nominal supply, nW; unset: the technology table's (1 nW at 45 nm, scaled)."""

    clock_pj_per_tile_cycle: float | None = _spec(
        None, "float", lo=0.0, hi=1e6, optional=True
    )
    """Clock tree and control energy of one tile per cycle, busy or idle, at
    the chip's node and nominal supply, pJ; unset: the estimate of
    :func:`hw_models.power.clock_pj_per_tile_cycle`."""


def _forward_link() -> LinkSpec:
    return LinkSpec(64, 0.7)


def _skip_link() -> LinkSpec:
    return LinkSpec(32, 2.8)


def _chain_link() -> LinkSpec:
    return LinkSpec(32, 0.7)


@dataclass(frozen=True)
class Links:
    """The chip's three kinds of link; checked as part of a Chip."""

    forward: LinkSpec = _spec(kind="table", cls=_forward_link)
    """Activations layer to layer and partial sums between the tiles of one layer."""

    skip_bus: LinkSpec = _spec(kind="table", cls=_skip_link)
    """Broadcast of the output error from the output tiles to every hidden tile (SRBP)."""

    backward_chain: LinkSpec = _spec(kind="table", cls=_chain_link)
    """Errors from layer h+1 down to layer h (BP, RBP, SBP)."""


@dataclass(frozen=True)
class TileSpec:
    """One tile: a block of synapses in local SRAM, a MAC array, LUTs, an update unit.

    Checked (with paths ``tile.*``) when it becomes part of a :class:`Chip`.
    """

    rows: int = _spec(128, "int", lo=1, hi=65536)
    """Synapse rows of a tile: output neurons of its block of ``W^h``."""

    cols: int = _spec(128, "int", lo=1, hi=65536)
    """Synapse columns of a tile: inputs of its block of ``W^h``."""

    macs_per_cycle: int = _spec(8, "int", lo=1, hi=2**31)
    """Multiply-accumulates the MAC array completes per cycle (at most rows*cols)."""

    sram_kib: float = _spec(32.0, "float", lo=0.0, hi=2**30, lo_open=True)
    """Weight SRAM capacity, KiB (1 KiB = 8192 bits); must hold rows*cols*weight_bits."""

    feedback_sram_kib: float = _spec(16.0, "float", lo=0.0, hi=2**30)
    """SRAM for the tile's slice of ``C^h``, KiB (0 when ``C^h`` is regenerated)."""

    grad_sram_kib: float = _spec(64.0, "float", lo=0.0, hi=2**30)
    """SRAM of the minibatch gradient accumulators, KiB (one ``acc_bits`` word
    per synapse). Used, and counted in the tile's area, only with
    ``update.accumulate = "sram"``."""

    buffer_kib: float = _spec(32.0, "float", lo=0.0, hi=2**30)
    """Batch buffer SRAM, KiB: the minibatch's layer inputs ``a^{h-1}`` and
    errors ``R^h`` of the tile's columns and rows, kept until the end of the
    batch. Used, and counted in the tile's area, only with
    ``update.accumulate = "register"``. Default 32 KiB: a batch of 64 on a
    full 128 x 128 tile with 8-bit activations and 16-bit error words needs
    64 x (128 x 8 + 128 x 16) bits = 24 KiB."""

    lut_lookups_per_cycle: int = _spec(2, "int", lo=1, hi=2**31)
    """Activation-LUT lookups (f or f') the activation unit completes per cycle."""

    update_per_cycle: int = _spec(8, "int", lo=1, hi=2**31)
    """Synapses the update unit read-modify-writes per cycle (at most rows*cols)."""

    projection_lanes: int = _spec(0, "int", lo=0, hi=2**31)
    """Lanes of a dedicated error-projection unit (as DF-LNPU's direct error
    propagation core), built for the run's feedback format and counted in
    the area (:func:`hw_models.area.projection_ge`). 0: the projections run
    on the tile's MAC array and there is no unit of its own. Area only: the
    timing model runs projections on the MAC array either way."""

    area_mm2: float | None = _spec(None, "float", lo=0.0, hi=1e6, lo_open=True, optional=True)
    """Known tile area, mm^2; unset (None) uses the estimate of :mod:`hw_models.area`."""

    @property
    def synapses(self) -> int:
        """``rows * cols``."""
        return self.rows * self.cols

    @property
    def sram_bits(self) -> float:
        """Weight SRAM capacity, bits."""
        return self.sram_kib * KIB_BITS

    @property
    def feedback_sram_bits(self) -> float:
        """Feedback SRAM capacity, bits."""
        return self.feedback_sram_kib * KIB_BITS

    @property
    def grad_sram_bits(self) -> float:
        """Gradient SRAM capacity, bits."""
        return self.grad_sram_kib * KIB_BITS

    @property
    def buffer_bits(self) -> float:
        """Batch buffer capacity, bits."""
        return self.buffer_kib * KIB_BITS


@dataclass(frozen=True)
class Chip:
    """A tiled synaptic-array chip: its parts and where its costs come from.

    Constructing one checks every field (type, range, consistency) and raises
    :class:`~neurosim.errors.ConfigError` naming the field's dotted path.
    """

    name: str = _spec("ref45", "str")
    """Name of the chip (a preset's name, or a chip file's stem)."""

    description: str = _spec("", "str")
    """One-paragraph description: what the chip is modelled on, what is assumed."""

    node_nm: float = _spec(45.0, "float", lo=technology.MIN_NODE_NM, hi=technology.MAX_NODE_NM)
    """Technology node, nm (7 to 130); energies and areas are scaled to it."""

    clock_mhz: float = _spec(400.0, "float", lo=0.001, hi=100_000.0)
    """Clock frequency, MHz (1 kHz to 100 GHz); turns cycles into seconds."""

    n_tiles: int = _spec(16, "int", lo=1, hi=2**31)
    """Tiles on the chip; a network needing more does not fit."""

    tile: TileSpec = _spec(kind="table", cls=TileSpec)
    """The tile, repeated ``n_tiles`` times."""

    weight_bits: int = _spec(16, "int", lo=1, hi=64)
    """Default synapse width, bits (a run may choose another that fits the SRAM)."""

    feedback_storage: str = _spec("dense", "str", choices=FEEDBACK_STORAGES)
    """Default storage of ``C^h``: dense, binary, ternary, sparse, lowrank or prng."""

    links: Links = _spec(kind="table", cls=Links)
    """The forward path, skip bus and backward chain."""

    pipeline: bool = _spec(False, "bool")
    """True: the samples of a minibatch stream through the layers (a tile runs
    sample k+1's forward pass while sample k's error is on its way); False:
    one sample runs to completion before the next starts."""

    update: UpdateSpec = _spec(kind="table", cls=UpdateSpec)
    """Gradient strategy and zero skipping."""

    dram: DramSpec = _spec(kind="table", cls=DramSpec)
    """Off-chip memory."""

    power: PowerSpec = _spec(kind="table", cls=PowerSpec)
    """Supply voltage, static and overhead power."""

    energy_overrides: tuple[Override, ...] = _spec((), "overrides")
    """Rows of the energy table this chip replaces (a TOML table or the path of one)."""

    accelergy_ert: str | None = _spec(None, "str", optional=True)
    """Path of an Accelergy energy reference table (``ERT.yaml``) that prices the
    run's actions instead of the energy table (mapping: :mod:`hw_models.accelergy`);
    in a chip file, relative to the file. Unset: the energy table prices them."""

    accelergy_partial: bool = _spec(False, "bool")
    """With ``accelergy_ert``: true prices the actions the ERT lacks from the
    energy table; false (default) makes a missing action an error."""

    def __post_init__(self) -> None:
        _check_fields(self, "")
        _power.check_supply(self)
        t = self.tile
        for name in ("macs_per_cycle", "update_per_cycle"):
            if getattr(t, name) > t.synapses:
                raise ConfigError(
                    f"tile.{name}", getattr(t, name), f"at most rows*cols = {t.synapses}"
                )
        need = t.synapses * self.weight_bits
        if need > t.sram_bits:
            raise ConfigError(
                "tile.sram_kib",
                t.sram_kib,
                f"at least {need / KIB_BITS:g} KiB: a tile's weights are rows x cols x "
                f"weight_bits = {t.rows} x {t.cols} x {self.weight_bits} = {need} bits",
            )
        ov = self.energy_overrides
        if isinstance(ov, (str, Path)):
            ov = parse_overrides(read_toml(ov, "energy_overrides"), "energy_overrides")
        elif isinstance(ov, AbcMapping):
            ov = parse_overrides(ov, "energy_overrides")
        elif not isinstance(ov, tuple) or not all(isinstance(o, Override) for o in ov):
            raise ConfigError(
                "energy_overrides", ov, "a table of row = energy_pj, or the path of a TOML file"
            )
        EnergyTable.default().with_overrides(ov, where="energy_overrides")
        object.__setattr__(self, "energy_overrides", ov)
        self.ert()  # a bad ERT fails when the chip is built

    def ert(self) -> Ert | None:
        """The Accelergy ERT of ``accelergy_ert`` (parsed, cached), or None."""
        if self.accelergy_ert is None:
            return None
        return read_ert(self.accelergy_ert, self.accelergy_partial)

    # ------------------------------------------------------------ derived
    def energy_table(self, base: EnergyTable | None = None) -> EnergyTable:
        """The energy table that prices this chip: ``base`` (default table) + overrides."""
        return (base or EnergyTable.default()).with_overrides(
            self.energy_overrides, where="energy_overrides"
        )

    def tile_area(self, learning: _area.LearningShape | None = None) -> _area.TileArea:
        """Estimated area of one tile at this node (see :mod:`hw_models.area`):
        its weight and feedback SRAMs and the memory of its gradient strategy
        (the gradient SRAM for ``sram``, the batch buffer for ``register``,
        none for ``online``); with ``learning`` (what the learning hardware
        is built for) also the update lanes' learning-rate multipliers, the
        projection unit (``tile.projection_lanes``), the PRNG (``C^h``
        regenerated), the label logic and the ``f'`` table."""
        t = self.tile
        return _area.tile_area(
            node_nm=self.node_nm,
            sram_bits=t.sram_bits + t.feedback_sram_bits + self.update_sram_bits,
            macs=t.macs_per_cycle,
            weight_bits=self.weight_bits,
            cols=t.cols,
            updates=t.update_per_cycle,
            learning=learning,
            projection_lanes=t.projection_lanes,
            prng=self.feedback_storage == "prng",
            lut_ports=t.lut_lookups_per_cycle,
        )

    def learning_area_mm2(self, learning: _area.LearningShape) -> float:
        """Area of one tile's learning hardware, mm^2: what a chip without
        on-chip learning would not build (update unit, projection unit, PRNG,
        label logic, ``f'`` table, feedback SRAM and the gradient strategy's
        memory)."""
        ta = self.tile_area(learning)
        mem = self.tile.feedback_sram_bits + self.update_sram_bits
        return (
            ta.update_mm2 + ta.projection_mm2 + ta.prng_mm2 + ta.target_mm2 + ta.deriv_lut_mm2
            + _area.sram_mm2(mem, self.node_nm)
        )  # fmt: skip

    def tile_area_mm2(self, learning: _area.LearningShape | None = None) -> float:
        """Tile area, mm^2: ``tile.area_mm2`` when given, else the estimate
        (with the learning hardware built for ``learning``, when given)."""
        if self.tile.area_mm2 is not None:
            return self.tile.area_mm2
        return self.tile_area(learning).total_mm2

    def area_mm2(self, learning: _area.LearningShape | None = None) -> float:
        """Area of all tiles, mm^2 (links, I/O and control not counted)."""
        return self.n_tiles * self.tile_area_mm2(learning)

    @property
    def update_sram_bits(self) -> float:
        """Bits of the tile memory the gradient strategy uses (``update.accumulate``):
        the gradient SRAM (``sram``), the batch buffer (``register``), none (``online``)."""
        t = self.tile
        return {"sram": t.grad_sram_bits, "register": t.buffer_bits}.get(
            self.update.accumulate, 0.0
        )

    def memory_kib(self, memory: str) -> float:
        """Array size, KiB, of a tile memory: ``weights``, ``feedback``, ``grad``,
        ``buffer`` (the batch buffer of ``update.accumulate = "register"``) or
        ``velocity`` (momentum words: an array the size of the weight SRAM)."""
        sizes = {
            "weights": self.tile.sram_kib,
            "velocity": self.tile.sram_kib,
            "feedback": self.tile.feedback_sram_kib,
            "grad": self.tile.grad_sram_kib,
            "buffer": self.tile.buffer_kib,
        }
        if memory not in sizes:
            raise ConfigError("memory", memory, f"one of {', '.join(sizes)}")
        return sizes[memory]

    def link(self, name: str) -> LinkSpec:
        """A link by name: ``forward``, ``skip`` (or ``skip_bus``), ``chain`` (or
        ``backward_chain``)."""
        aliases = {"skip": "skip_bus", "chain": "backward_chain"}
        full = aliases.get(name, name)
        if full not in ("forward", "skip_bus", "backward_chain"):
            raise ConfigError("link", name, "one of forward, skip, chain")
        return getattr(self.links, full)

    @property
    def cycle_ns(self) -> float:
        """Clock period, ns."""
        return 1000.0 / self.clock_mhz

    def to_dict(self) -> dict[str, Any]:
        """Plain nested mapping in the chip-file schema (JSON/TOML-ready)."""
        d = _as_dict(self)
        ov: dict[str, Any] = {}
        for o in self.energy_overrides:
            entry: dict[str, Any] = {"energy_pj": o.energy_pj}
            if o.node_nm is not None:
                entry["node_nm"] = o.node_nm
            if o.source is not None:
                entry["source"] = o.source
            ov[o.row] = entry
        d["energy_overrides"] = ov
        return d


# ---------------------------------------------------------------- checking


def _as_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if f.metadata.get("kind") == "overrides":
            continue
        if is_dataclass(v):
            out[f.name] = _as_dict(v)
        elif v is not None:
            out[f.name] = v
    return out


def _check_value(path: str, v: Any, meta: AbcMapping[str, Any]) -> Any:
    kind = meta["kind"]
    if v is None and meta["optional"]:
        return None
    if kind == "bool":
        if not isinstance(v, bool):
            raise ConfigError(path, v, "true or false")
        return v
    if kind == "str":
        if not isinstance(v, str):
            raise ConfigError(path, v, "a string")
        choices = meta["choices"]
        if choices is not None and v not in choices:
            raise ConfigError(path, v, f"one of {', '.join(choices)}")
        return v
    lo, hi, lo_open = meta["lo"], meta["hi"], meta["lo_open"]
    what = "an integer" if kind == "int" else "a number"
    rng = f"{'above' if lo_open else 'from'} {lo:g} {'and at most' if lo_open else 'to'} {hi:g}"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(path, v, f"{what} {rng}")
    if kind == "int" and not isinstance(v, int):
        raise ConfigError(path, v, f"{what} {rng}")
    if not (lo <= v <= hi) or (lo_open and v == lo):  # also rejects nan and huge ints
        raise ConfigError(path, v, f"{what} {rng}")
    return v if kind == "int" else float(v)


def _check_fields(obj: Any, prefix: str) -> None:
    for f in fields(obj):
        path = f"{prefix}{f.name}"
        v = getattr(obj, f.name)
        kind = f.metadata.get("kind")
        if kind == "overrides":
            continue
        if kind == "table":
            want = type(f.default_factory())  # type: ignore[misc]
            if not isinstance(v, want):
                raise ConfigError(path, v, f"a {want.__name__} table")
            _check_fields(v, f"{path}.")
            continue
        new = _check_value(path, v, f.metadata)
        if new is not v:
            object.__setattr__(obj, f.name, new)


# ---------------------------------------------------------------- loading


def preset_names() -> list[str]:
    """Names of the chip presets shipped in ``hw_models/presets``."""
    d = resources.files("hw_models").joinpath("presets")
    return sorted(p.name[: -len(".toml")] for p in d.iterdir() if p.name.endswith(".toml"))


def _preset_data(name: str) -> dict[str, Any]:
    text = resources.files("hw_models").joinpath("presets", f"{name}.toml").read_text()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # pragma: no cover - presets are tested
        raise ConfigError("chip", name, f"valid TOML ({e})") from None


def _merge(base: dict[str, Any], top: AbcMapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, AbcMapping) and isinstance(out.get(k), AbcMapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _build(cls: type, data: Any, prefix: str, default: Any) -> Any:
    """Instantiate dataclass ``cls`` from a TOML table, starting from ``default``."""
    if not isinstance(data, AbcMapping):
        raise ConfigError(prefix.rstrip("."), data, f"a table of {cls.__name__} fields")
    by_name = {f.name: f for f in fields(cls)}
    changes: dict[str, Any] = {}
    for key, v in data.items():
        path = f"{prefix}{key}"
        if key not in by_name:
            raise ConfigError(path, v, f"not a field; known fields: {', '.join(by_name)}")
        f = by_name[key]
        if f.metadata.get("kind") == "table":
            sub = f.default_factory()  # type: ignore[misc]
            changes[key] = _build(type(sub), v, f"{path}.", getattr(default, key))
        else:
            changes[key] = v
    if cls is Chip:
        return Chip(**{**{f.name: getattr(default, f.name) for f in fields(Chip)}, **changes})
    return replace(default, **changes)


def chip_from_dict(
    data: AbcMapping[str, Any], name: str | None = None, base_dir: str | Path | None = None
) -> Chip:
    """Build a :class:`Chip` from a parsed chip file.

    Parameters
    ----------
    data : mapping
        The TOML table. An optional ``base`` key names a preset to start from.
    name : str, optional
        Name when the table has none (e.g. the file's stem).
    base_dir : path, optional
        Directory against which a relative ``energy_overrides`` path is resolved.
    """
    if not isinstance(data, AbcMapping):
        raise ConfigError("chip", data, "a table of chip fields")
    data = dict(data)
    base = data.pop("base", None)
    if base is not None:
        names = preset_names()
        if base not in names:
            raise ConfigError("base", base, f"a preset name ({', '.join(names)})")
        base_data = _preset_data(base)
        base_data.pop("name", None)  # the new chip is not the preset
        if "description" not in data:
            data["description"] = f"Preset {base} with changes. {base_data.get('description', '')}"
        data = _merge(base_data, data)
    if "name" not in data and name is not None:
        data["name"] = name
    ov = data.get("energy_overrides")
    if isinstance(ov, str):
        p = Path(ov)
        if not p.is_absolute() and base_dir is not None:
            p = Path(base_dir) / p
        data["energy_overrides"] = parse_overrides(
            read_toml(p, "energy_overrides"), "energy_overrides"
        )
    elif ov is not None and not isinstance(ov, AbcMapping):
        raise ConfigError(
            "energy_overrides", ov, "a table of row = energy_pj, or the path of a TOML file"
        )
    ert = data.get("accelergy_ert")
    if isinstance(ert, str) and base_dir is not None and not Path(ert).is_absolute():
        data["accelergy_ert"] = str(Path(base_dir) / ert)  # relative to the chip file
    # the defaults of the dataclass fields, without validating a half-built chip
    default = Chip()
    return _build(Chip, data, "", default)


def load_chip(name_or_path: str | Path) -> Chip:
    """Load a chip preset by name, or a chip TOML file by path.

    A string ending in ``.toml`` or containing a path separator is a path; a
    preset name wins over a same-named file in the working directory.
    """
    s = str(name_or_path)
    names = preset_names()
    looks_like_path = isinstance(name_or_path, Path) or s.endswith(".toml") or "/" in s
    if not looks_like_path and s in names:
        return chip_from_dict(_preset_data(s), name=s)
    p = Path(s)
    try:
        is_file = p.is_file()
    except OSError:  # e.g. a name longer than the file system allows
        is_file = False
    if looks_like_path or is_file:
        return chip_from_dict(read_toml(p, "chip"), name=p.stem, base_dir=p.parent)
    raise ConfigError("chip", s, f"a preset name ({', '.join(names)}) or a chip TOML file path")
