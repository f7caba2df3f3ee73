"""The energy reference table (ERT): energy per named action, with its source.

One :class:`EnergyRow` per action, in the manner of Accelergy's energy
reference tables. A row states its energy at a *reference point* (parameter
values and a technology node), the source of that number, and a scaling law in
its parameters (bit widths, array size, length) and in the technology node
(:mod:`hw_models.technology`). Every energy number of :mod:`hw_models` lives
in :data:`DEFAULT_ROWS`; the chip's parts (:mod:`hw_models.parts`) price
their actions with :meth:`EnergyTable.energy_pj`, and the bill multiplies
the run's action counts by those prices.

Rows (45 nm unless stated; ``H14`` = M. Horowitz, "Computing's energy problem
(and what we can do about it)", ISSCC 2014, 45 nm, 0.9 V):

==============  =============================  =====================================
action          parameters                     reference energy and basis
==============  =============================  =====================================
``add``         ``bits``                       H14: 8-bit int add 0.03 pJ, 32-bit 0.1
``mult``        ``a_bits, b_bits``             H14: 8x8 int mult 0.2 pJ, 32x32 3.1
``mac``         ``a_bits, b_bits, acc_bits``   mult(a, b) + add(acc)
``shift``       ``bits``                       estimate: one add of the same width
``shift_add``   ``bits``                       shift(bits) + add(bits)
``sram_read``   ``kib`` (array size)           H14: 64-bit read 10/20/100 pJ at
                                               8 KB / 32 KB / 1 MB; per bit
``sram_write``  ``kib``                        assumed equal to a read (no cited
                                               write number)
``lut``         ``in_bits, out_bits``          out_bits x sram_read of a
                                               2^in_bits x out_bits array
``reg``         (per bit)                      estimate: 1/8 of H14's 8-bit add
``rng_bit``     (per random bit)               xorshift32 step: 3 x 32-bit XOR
                                               (priced as add) + 32 reg bits, /32
``wire``        ``length_mm`` (per bit)        Keckler et al. 2011, 40 nm 0.9 V:
                                               256 random bits x 10 mm = 310 pJ
``dram_read``   ``bits`` (access width)        H14: DRAM 64-bit access 1.3-2.6 nJ;
                                               the low end, 1.3 nJ (see below)
``dram_write``  ``bits``                       H14 gives one figure for read and
                                               write: equal to ``dram_read``
==============  =============================  =====================================

DRAM. Horowitz's table gives 1.3-2.6 nJ per 64-bit DRAM access. The table
takes the low end, 1.3 nJ (20.3 pJ per bit): the chip files' default
off-chip memory is a low-power mobile DRAM (LPDDR4 channel), the cheap end of
the range, and it is the figure most accelerator studies reuse (e.g. Han et
al., EIE, ISCA 2016: 640 pJ per 32-bit DRAM read). ``dram_read = 2600`` in
a chip's ``[energy_overrides]`` prices the high end. The energy is the DRAM
device's and its interface's, so it does not follow the chip's logic node
(scaling law ``offchip``: the same at every node) nor the chip's supply.

Composite rows (``mac``, ``shift``, ``shift_add``, ``lut``, ``rng_bit``) are
priced from their parts, so overriding ``add`` also changes ``mac``; giving a
composite row its own energy scales it so that it has that energy at its
reference point.

Overrides
---------
A TOML file (or a mapping) names rows; each value is the row's new reference
energy in pJ, or a table::

    add = 0.025                    # pJ at the row's reference point

    [sram_read]
    energy_pj = 0.05               # pJ per bit at the reference array size
    node_nm = 28                   # optional: the node this number holds at
    source = "my memory compiler"  # optional

The row's scaling law is kept: its curve is multiplied so that it passes
through the new number. Unknown rows, unknown keys and negative energies are
:class:`~neurosim.errors.ConfigError` naming the row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from hw_models import technology
from neurosim.errors import ConfigError
from neurosim.tomlfile import read_toml

KIB_BITS = 8192
"""Bits in one KiB (the ``kib`` unit of array sizes)."""

H14 = 'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC 2014'
H14_SHORT = "Horowitz, ISSCC 2014"
K11 = (
    'S. W. Keckler, W. J. Dally, B. Khailany, M. Garland, D. Glasco, "GPUs and the '
    'future of parallel computing", IEEE Micro 31(5), 2011, Table 1'
)


@dataclass(frozen=True)
class Param:
    """A parameter of an action.

    Attributes
    ----------
    name : str
        Keyword name (``bits``, ``kib``, ...).
    default : float or None
        Value when not given; ``None`` makes it required.
    minimum : float
        Smallest allowed value (inclusive).
    unit : str
        Unit, for messages.
    """

    name: str
    default: float | None
    minimum: float
    unit: str


@dataclass(frozen=True)
class EnergyRow:
    """One action of the energy reference table.

    Attributes
    ----------
    name : str
        Action name (``add``, ``sram_read``, ...).
    unit : str
        What one unit of the action is (``pJ per add``, ``pJ per bit``, ...).
    params : tuple of Param
        Keyword parameters of :meth:`EnergyTable.energy_pj` for this action.
    reference : tuple of (str, float)
        Parameter values of the reference point.
    node_nm : float
        Technology node of the reference energy.
    energy_pj : float or None
        Energy at the reference point and node, pJ. ``None`` for a composite
        row priced from its parts.
    law : str
        The scaling law, in words.
    source : str
        Where the reference number comes from (or the basis of the estimate).
    scaling : str
        Technology scaling law: ``logic`` or ``wire``.
    anchors : tuple of (float, float)
        Cited points ``(x, pJ)`` at ``node_nm`` of a primitive row; the first is
        the reference point. ``x`` is the law's abscissa (:attr:`abscissa`).
    interp : str
        How the anchors are joined: ``affine`` (piecewise linear, end segments
        extended), ``power`` (piecewise power law, i.e. linear in log-log,
        end exponents extended) or ``proportional`` (through the origin).
    abscissa : callable
        Maps the bound parameters to the anchors' ``x``.
    compose : callable or None
        For a composite row: ``(table, node_nm, params) -> pJ``.
    """

    name: str
    unit: str
    params: tuple[Param, ...]
    reference: tuple[tuple[str, float], ...]
    node_nm: float
    energy_pj: float | None
    law: str
    source: str
    scaling: str = "logic"
    anchors: tuple[tuple[float, float], ...] = ()
    interp: str = "affine"
    abscissa: Callable[[dict[str, float]], float] | None = field(
        default=None, compare=False, repr=False
    )
    compose: Callable[[EnergyTable, float, dict[str, float]], float] | None = field(
        default=None, compare=False, repr=False
    )

    def bind(self, params: dict[str, Any]) -> dict[str, float]:
        """Check keyword parameters against :attr:`params`; fill defaults."""
        known = {p.name: p for p in self.params}
        for k, v in params.items():
            if k not in known:
                allowed = ", ".join(known) or "none"
                raise ConfigError(f"{self.name}.{k}", v, f"a parameter of {self.name} ({allowed})")
        out: dict[str, float] = {}
        for p in self.params:
            v = params.get(p.name, p.default)
            path = f"{self.name}.{p.name}"
            if v is None:
                raise ConfigError(path, None, f"a value in {p.unit} (required)")
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < p.minimum
            ):
                raise ConfigError(path, v, f"a number of {p.unit}, at least {p.minimum:g}")
            out[p.name] = float(v)
        return out


class RowView(NamedTuple):
    """A row as printed: name, reference energy, reference point, law, source."""

    name: str
    energy_pj: float
    unit: str
    reference: str
    law: str
    source: str


@dataclass(frozen=True)
class Override:
    """A user's replacement of one row's reference energy.

    Attributes
    ----------
    row : str
        Row name.
    energy_pj : float
        New energy at the row's reference point, pJ (>= 0).
    node_nm : float or None
        Node the number holds at; ``None`` keeps the row's node.
    source : str or None
        Where the number comes from.
    """

    row: str
    energy_pj: float
    node_nm: float | None = None
    source: str | None = None


# ---------------------------------------------------------------- laws


def _interp(anchors: tuple[tuple[float, float], ...], x: float, how: str) -> float:
    """Join the anchors ``(x_i, e_i)`` (sorted by x) and evaluate at ``x``."""
    for xi, ei in anchors:
        if x == xi:
            return ei
    if how == "proportional" or len(anchors) == 1:
        x0, e0 = anchors[0]
        return e0 * (x / x0)
    # pick the segment: the one containing x, else the nearest end segment
    k = 0
    while k < len(anchors) - 2 and x > anchors[k + 1][0]:
        k += 1
    (x0, e0), (x1, e1) = anchors[k], anchors[k + 1]
    if how == "affine":
        t = (x - x0) / (x1 - x0)
        return (1.0 - t) * e0 + t * e1
    if how == "power":
        t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
        return e0 ** (1.0 - t) * e1**t
    raise AssertionError(how)  # pragma: no cover


def _bits(p: dict[str, float]) -> float:
    return p["bits"]


def _product(p: dict[str, float]) -> float:
    return p["a_bits"] * p["b_bits"]


def _kib(p: dict[str, float]) -> float:
    return p["kib"]


def _length(p: dict[str, float]) -> float:
    return p["length_mm"]


def _access(p: dict[str, float]) -> float:
    return p["bits"]


def _one(p: dict[str, float]) -> float:
    return 1.0


def _mac(t: EnergyTable, n: float, p: dict[str, float]) -> float:
    return t.energy_pj("mult", n, a_bits=p["a_bits"], b_bits=p["b_bits"]) + t.energy_pj(
        "add", n, bits=p["acc_bits"]
    )


def _shift(t: EnergyTable, n: float, p: dict[str, float]) -> float:
    return t.energy_pj("add", n, bits=p["bits"])


def _shift_add(t: EnergyTable, n: float, p: dict[str, float]) -> float:
    return t.energy_pj("shift", n, bits=p["bits"]) + t.energy_pj("add", n, bits=p["bits"])


def _lut(t: EnergyTable, n: float, p: dict[str, float]) -> float:
    kib = 2.0 ** p["in_bits"] * p["out_bits"] / KIB_BITS
    return p["out_bits"] * t.energy_pj("sram_read", n, kib=kib)


def _rng_bit(t: EnergyTable, n: float, p: dict[str, float]) -> float:
    # one xorshift32 step: three 32-bit XORs (priced as 32-bit adds) and a
    # 32-bit state register write, yielding 32 random bits
    return (3.0 * t.energy_pj("add", n, bits=32) + 32.0 * t.energy_pj("reg", n)) / 32.0


_BITS = Param("bits", None, 1.0, "bits")
_SRAM_LAW = (
    "per bit; piecewise power law in the array size through the three cited points "
    "(log energy linear in log size: exponent 0.5 from 8 to 32 KiB, log 5/log 32 = 0.464 "
    "from 32 KiB to 1 MiB; below 8 KiB and above 1 MiB the end exponents continue; "
    "an array's wires grow as the square root of its capacity); x logic node factor"
)

#: The default energy reference table.
DEFAULT_ROWS: tuple[EnergyRow, ...] = (
    EnergyRow(
        name="add",
        unit="pJ per add",
        params=(_BITS,),
        reference=(("bits", 8),),
        node_nm=45,
        energy_pj=0.03,
        anchors=((8, 0.03), (32, 0.1)),
        abscissa=_bits,
        law="linear in bits through 8 b and 32 b, extended linearly beyond; x logic node factor",
        source=f"{H14}, 45 nm: 8-bit integer add 0.03 pJ, 32-bit 0.1 pJ",
    ),
    EnergyRow(
        name="mult",
        unit="pJ per multiply",
        params=(Param("a_bits", None, 1.0, "bits"), Param("b_bits", None, 1.0, "bits")),
        reference=(("a_bits", 8), ("b_bits", 8)),
        node_nm=45,
        energy_pj=0.2,
        anchors=((64, 0.2), (1024, 3.1)),
        abscissa=_product,
        law="linear in a_bits*b_bits through 8x8 and 32x32, extended linearly; x logic factor",
        source=f"{H14}, 45 nm: 8-bit integer multiply 0.2 pJ, 32-bit 3.1 pJ",
    ),
    EnergyRow(
        name="mac",
        unit="pJ per multiply-accumulate",
        params=(
            Param("a_bits", None, 1.0, "bits"),
            Param("b_bits", None, 1.0, "bits"),
            Param("acc_bits", None, 1.0, "bits"),
        ),
        reference=(("a_bits", 8), ("b_bits", 8), ("acc_bits", 32)),
        node_nm=45,
        energy_pj=None,
        compose=_mac,
        law="mult(a_bits, b_bits) + add(acc_bits)",
        source="composite of the mult and add rows",
    ),
    EnergyRow(
        name="shift",
        unit="pJ per barrel shift",
        params=(_BITS,),
        reference=(("bits", 32),),
        node_nm=45,
        energy_pj=None,
        compose=_shift,
        law="add(bits)",
        source=(
            "estimate, no cited measurement: a log-depth barrel shifter of b bits is "
            "b*ceil(log2 b) 2:1 multiplexer cells, each much smaller than a full-adder "
            "cell, so it is priced as one add of the same width"
        ),
    ),
    EnergyRow(
        name="shift_add",
        unit="pJ per shift-and-add",
        params=(_BITS,),
        reference=(("bits", 32),),
        node_nm=45,
        energy_pj=None,
        compose=_shift_add,
        law="shift(bits) + add(bits), i.e. 2 x add(bits) by default",
        source="composite of the shift (estimate) and add rows",
    ),
    EnergyRow(
        name="sram_read",
        unit="pJ per bit read",
        params=(Param("kib", None, 1.0 / KIB_BITS, "KiB"),),
        reference=(("kib", 8),),
        node_nm=45,
        energy_pj=10 / 64,
        anchors=((8, 10 / 64), (32, 20 / 64), (1024, 100 / 64)),
        interp="power",
        abscissa=_kib,
        law=_SRAM_LAW,
        source=(
            f"{H14}, 45 nm: 64-bit cache read 10 pJ (8 KB), 20 pJ (32 KB), "
            "100 pJ (1 MB); divided by 64 bits; KB read as KiB"
        ),
    ),
    EnergyRow(
        name="sram_write",
        unit="pJ per bit written",
        params=(Param("kib", None, 1.0 / KIB_BITS, "KiB"),),
        reference=(("kib", 8),),
        node_nm=45,
        energy_pj=10 / 64,
        anchors=((8, 10 / 64), (32, 20 / 64), (1024, 100 / 64)),
        interp="power",
        abscissa=_kib,
        law=_SRAM_LAW,
        source=f"assumption: equal to sram_read ({H14_SHORT} gives reads only)",
    ),
    EnergyRow(
        name="lut",
        unit="pJ per lookup",
        params=(Param("in_bits", None, 1.0, "bits"), Param("out_bits", None, 1.0, "bits")),
        reference=(("in_bits", 8), ("out_bits", 8)),
        node_nm=45,
        energy_pj=None,
        compose=_lut,
        law="out_bits x sram_read(kib = 2**in_bits * out_bits / 8192)",
        source="composite: a read of one entry of a 2^in_bits-entry SRAM",
    ),
    EnergyRow(
        name="reg",
        unit="pJ per bit accessed",
        params=(),
        reference=(),
        node_nm=45,
        energy_pj=0.00375,
        anchors=((1.0, 0.00375),),
        interp="proportional",
        abscissa=_one,
        law="constant per bit; x logic node factor",
        source=(
            f"estimate: one bit-slice of the 8-bit add of {H14_SHORT} (0.03 pJ / 8); a D "
            "flip-flop has about as many clocked transistors as a mirror full adder"
        ),
    ),
    EnergyRow(
        name="rng_bit",
        unit="pJ per random bit",
        params=(),
        reference=(),
        node_nm=45,
        energy_pj=None,
        compose=_rng_bit,
        law="(3 x add(32) + 32 x reg) / 32",
        source=(
            "estimate: one xorshift32 step (x ^= x<<13; x ^= x>>17; x ^= x<<5) is three "
            "32-bit XORs, priced as 32-bit adds (an upper bound: no carry chain), and a "
            "32-bit state register; it yields 32 bits"
        ),
    ),
    EnergyRow(
        name="wire",
        unit="pJ per bit per mm",
        params=(Param("length_mm", 1.0, 0.0, "mm"),),
        reference=(("length_mm", 1.0),),
        node_nm=40,
        energy_pj=310 / 2560,
        anchors=((1.0, 310 / 2560),),
        interp="proportional",
        abscissa=_length,
        scaling="wire",
        law=(
            "proportional to length; x (Vdd(node) / Vdd(40 nm))^2 with the technology "
            "table's nominal Vdd (wire capacitance per mm about constant across nodes)"
        ),
        source=(
            f"{K11}, 40 nm, 0.9 V: 256 bits over 10 mm cost 310 pJ with random data "
            "(240 fJ/bit/mm per transition, 50% transition probability)"
        ),
    ),
)

_DRAM_LAW = (
    "proportional to the access width (a fixed energy per bit moved); no node or "
    "supply scaling: the energy is the off-chip DRAM's (law offchip)"
)


def _dram_row(name: str, source: str) -> EnergyRow:
    """A DRAM access row: 1.3 nJ per 64-bit access at any node (off-chip)."""
    return EnergyRow(
        name=name,
        unit="pJ per access",
        params=(Param("bits", 64, 1.0, "bits"),),
        reference=(("bits", 64),),
        node_nm=45,
        energy_pj=1300.0,
        anchors=((64, 1300.0),),
        interp="proportional",
        abscissa=_access,
        scaling="offchip",
        law=_DRAM_LAW,
        source=source,
    )


DEFAULT_ROWS += (
    _dram_row(
        "dram_read",
        f"{H14}, 45 nm: DRAM 64-bit access 1.3-2.6 nJ; the low end (a low-power "
        "mobile DRAM; the figure accelerator studies reuse)",
    ),
    _dram_row(
        "dram_write", f"{H14_SHORT} gives one DRAM figure for read and write: equal to dram_read"
    ),
)

ROW_NAMES: tuple[str, ...] = tuple(r.name for r in DEFAULT_ROWS)
"""Names of every action of the table."""


# ---------------------------------------------------------------- overrides


MAX_OVERRIDE_PJ = 1e9
"""Largest energy an override may give one action (1 mJ, pJ): far above any
real action, low enough that energies scaled to another node and summed over a
run stay finite (an override of 1e308 pJ would print ``inf nJ``)."""


def _finite_number(v: object) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v) and v <= MAX_OVERRIDE_PJ
    except OverflowError:  # an integer beyond the float range
        return False


def parse_overrides(data: AbcMapping[str, Any], where: str = "energy") -> tuple[Override, ...]:
    """Parse an override mapping (a TOML table) into :class:`Override` items.

    Parameters
    ----------
    data : mapping
        ``{row: energy_pj}`` or ``{row: {energy_pj, node_nm?, source?}}``.
    where : str
        Dotted prefix of the field paths in error messages.
    """
    if not isinstance(data, AbcMapping):
        raise ConfigError(where, data, "a table of row = energy_pj entries")
    out = []
    for name, v in data.items():
        path = f"{where}.{name}"
        if name not in ROW_NAMES:
            raise ConfigError(path, v, f"a row of the energy table ({', '.join(ROW_NAMES)})")
        node = source = None
        if isinstance(v, AbcMapping):
            for k in v:
                if k not in ("energy_pj", "node_nm", "source"):
                    raise ConfigError(
                        f"{path}.{k}", v[k], "not a field; known fields: energy_pj, node_nm, source"
                    )
            if "energy_pj" not in v:
                raise ConfigError(f"{path}.energy_pj", None, "a non-negative number of pJ")
            e, epath = v["energy_pj"], f"{path}.energy_pj"
            if "node_nm" in v:
                node = technology.check_node(v["node_nm"], f"{path}.node_nm")
            if "source" in v:
                source = v["source"]
                if not isinstance(source, str):
                    raise ConfigError(f"{path}.source", source, "a string")
        else:
            e, epath = v, path
        if not _finite_number(e) or e < 0:
            raise ConfigError(
                epath, e, f"a non-negative number of pJ up to {MAX_OVERRIDE_PJ:g} for row {name!r}"
            )
        out.append(Override(name, float(e), node, source))
    return tuple(out)


# ---------------------------------------------------------------- the table


class EnergyTable:
    """An energy reference table: rows by name, priced at any node.

    Build with :meth:`default`, :meth:`from_toml` or :meth:`with_overrides`;
    a table is never changed in place.
    """

    def __init__(self, rows: Iterable[EnergyRow]) -> None:
        self._rows: dict[str, EnergyRow] = {r.name: r for r in rows}

    @classmethod
    def default(cls) -> EnergyTable:
        """The table of :data:`DEFAULT_ROWS`."""
        return cls(DEFAULT_ROWS)

    @classmethod
    def from_toml(cls, path: str | Path) -> EnergyTable:
        """The default table with the overrides of a TOML file (see the module doc)."""
        return cls.default().with_overrides(read_toml(path, "energy"), where="energy")

    def with_overrides(
        self, overrides: AbcMapping[str, Any] | Iterable[Override], where: str = "energy"
    ) -> EnergyTable:
        """A new table with some rows' reference energies replaced.

        Parameters
        ----------
        overrides : mapping or iterable of Override
            A parsed TOML table (see :func:`parse_overrides`) or Override items.
        where : str
            Dotted prefix of field paths in error messages.
        """
        items = (
            parse_overrides(overrides, where)
            if isinstance(overrides, AbcMapping)
            else tuple(overrides)
        )
        rows = dict(self._rows)
        for ov in items:
            if ov.row not in rows:
                raise ConfigError(
                    f"{where}.{ov.row}",
                    ov.energy_pj,
                    f"a row of the energy table ({', '.join(rows)})",
                )
            if not _finite_number(ov.energy_pj) or ov.energy_pj < 0:
                raise ConfigError(
                    f"{where}.{ov.row}", ov.energy_pj,
                    f"a non-negative number of pJ up to {MAX_OVERRIDE_PJ:g} for {ov.row!r}",
                )  # fmt: skip
            old = rows[ov.row]
            was = self.reference_energy_pj(ov.row)
            rows[ov.row] = replace(
                old,
                energy_pj=float(ov.energy_pj),
                node_nm=old.node_nm if ov.node_nm is None else ov.node_nm,
                source=ov.source or f"user override (table default {was:.6g} pJ: {old.source})",
            )
        return EnergyTable(rows.values())

    # ------------------------------------------------------------ queries
    @property
    def names(self) -> tuple[str, ...]:
        """Row names, in table order."""
        return tuple(self._rows)

    def row(self, action: str) -> EnergyRow:
        """The row of ``action``."""
        try:
            return self._rows[action]
        except KeyError:
            raise ConfigError("action", action, f"one of {', '.join(self._rows)}") from None

    def energy_pj(self, action: str, node_nm: float, **params: float) -> float:
        """Energy of one ``action`` at ``node_nm``, pJ.

        Parameters
        ----------
        action : str
            A row name (:attr:`names`).
        node_nm : float
            Technology node, nm (7 to 130).
        **params
            The row's parameters (e.g. ``bits=16``; ``kib=32``).
        """
        row = self.row(action)
        p = row.bind(params)
        node = technology.check_node(node_nm)
        if row.compose is not None:
            e = row.compose(self, node, p)
            if row.energy_pj is None:
                return e
            at_ref = row.compose(self, row.node_nm, dict(row.reference))
            return row.energy_pj * (e / at_ref)
        assert row.abscissa is not None
        e = _interp(row.anchors, row.abscissa(p), row.interp)
        e0 = row.anchors[0][1]
        if row.energy_pj != e0:
            e = row.energy_pj * (e / e0)
        return e * technology.ratio(node, row.node_nm, row.scaling)

    def reference_energy_pj(self, action: str) -> float:
        """Energy of ``action`` at its own reference point and node, pJ."""
        row = self.row(action)
        if row.energy_pj is not None:
            return row.energy_pj
        return self.energy_pj(action, row.node_nm, **dict(row.reference))

    def rows(self) -> list[RowView]:
        """Every row as printed: name, reference energy, reference point, law, source."""
        out = []
        for r in self._rows.values():
            point = ", ".join(f"{k}={v:g}" for k, v in r.reference)
            ref = f"{point} at {r.node_nm:g} nm" if point else f"{r.node_nm:g} nm"
            out.append(
                RowView(r.name, self.reference_energy_pj(r.name), r.unit, ref, r.law, r.source)
            )
        return out
