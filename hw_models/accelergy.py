"""Accelergy / Timeloop interop: energy reference tables in, action counts out.

Accelergy (Wu, Emer, Sze, "Accelergy: an architecture-level energy estimation
methodology for accelerator designs", ICCAD 2019; github.com/Accelergy-Project/accelergy)
writes an *energy reference table* (``ERT.yaml``): for every component of an
architecture (a hierarchical name such as ``system.PE[0..15].weights_spad``),
the energy in pJ of each of its actions, per combination of the action's
arguments. Two layouts exist, both read here:

* version 0.3 and later (``examples/eyeriss_like/output/reference/ERT.yaml``)::

      ERT:
        version: 0.3
        tables:
        - name: system.tile[0..15].mac
          actions:
          - name: mac
            arguments: null       # the energy holds for every argument value
            energy: 0.27          # pJ
          - name: mac
            arguments: {a_bits: 16, b_bits: 8, acc_bits: 32}
            energy: 0.91

* version 0.2 (``examples/primitive_type/output/reference/ERT.yaml``): ``tables``
  a mapping ``component -> action -> {arguments, energy}`` or a list of them.

Accelergy's own energy calculator (``accelergy/energy_calculator.py``) prices an
action count by the entry of the same action name whose ``arguments`` equal the
count's; an action without arguments takes the entry with ``arguments: null``.
neurosim does the same, with two documented choices: a component is found by
its *last* name segment with list ranges removed (``system.tile[0..15].mac`` is
``mac``), and an entry with ``arguments: null`` prices every detail of the
action unless an entry with matching arguments exists.

The mapping from neurosim's action keys ``(phase, action, detail)`` (the parts of
:mod:`hw_models.parts`) to ERT names is :data:`MAPPING`; the docs page
``docs/howto/accelergy.md`` prints it as a table. The phase never enters the
name: a weight read costs the same in the forward pass as in the update.

Action counts go out in Accelergy's action-count format (version 0.3: a list
of ``local`` components, each with ``action_counts: [{name, arguments?,
counts}]``), under the same names, so that ``counts x ERT energy`` summed over
every entry is the run's dynamic energy per training sample.

PyYAML is an optional dependency (``pip install neurosim[yaml]``); it is
imported only when a YAML file is read or written.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError
from neurosim.tomlfile import MAX_TOML_BYTES

MAX_YAML_BYTES = MAX_TOML_BYTES
"""Largest ERT file read (1 MiB, as for TOML chip files)."""

MAX_ENERGY_PJ = 1e9
"""Largest energy one ERT entry may give (as :data:`hw_models.energy.MAX_OVERRIDE_PJ`)."""

COUNTS_VERSION = 0.3
"""Version of the action-count files written (Accelergy reads 0.2 and 0.3)."""


@dataclass(frozen=True)
class ErtName:
    """Where one neurosim action is priced in an ERT.

    Attributes
    ----------
    component : str
        ERT component (its last name segment), e.g. ``weights_sram``.
    action : str
        ERT action name, e.g. ``read``.
    arguments : tuple of (str, int)
        The action's arguments (neurosim's detail), e.g. ``(("a_bits", 16),)``.
    """

    component: str
    action: str
    arguments: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Mapped:
    """One row of :data:`MAPPING`: how a neurosim action is named in an ERT.

    Attributes
    ----------
    component : str
        Component name; ``{0}`` is replaced by the detail's name (a memory or link).
    action : str
        ERT action name.
    arguments : tuple of str
        Names given to the numeric detail values, in detail order.
    unit : str
        What one counted action is (the ERT energy is pJ per this unit).
    optional : bool
        True for actions neurosim counts but does not price (energy 0): an ERT
        may price them, and a run does not need them in the ERT.
    """

    component: str
    action: str
    arguments: tuple[str, ...]
    unit: str
    optional: bool = False


MAPPING: dict[str, Mapped] = {
    "mac": Mapped("mac", "mac", ("a_bits", "b_bits", "acc_bits"),
                  "one multiply-accumulate (the accumulator is acc_bits wide)"),
    "mult": Mapped("multiplier", "mult", ("a_bits", "b_bits"), "one product"),
    "add": Mapped("adder", "add", ("bits",), "one add"),
    "shift_add": Mapped("shift_adder", "shift_add", ("bits",), "one barrel shift and add"),
    "shift": Mapped("shift_adder", "shift", ("bits",), "one barrel shift"),
    "sram_read": Mapped("{0}_sram", "read", (), "one bit read"),
    "sram_write": Mapped("{0}_sram", "write", (), "one bit written"),
    "lut": Mapped("activation_lut", "read", ("in_bits", "out_bits"), "one lookup"),
    "rng": Mapped("prng", "generate", (), "one random bit"),
    "wire": Mapped("{0}_link", "transfer", (), "one bit over the link's whole length"),
    "packet": Mapped("{0}_link", "send", (), "one message (neurosim prices it 0)", True),
    "dram_read": Mapped("dram", "read", (), "one bit read from DRAM"),
    "dram_write": Mapped("dram", "write", (), "one bit written to DRAM"),
}  # fmt: skip
"""neurosim action -> ERT component, action and arguments (see the module doc).

Memories (``{0}_sram``): ``weights``, ``feedback``, ``grad``, ``buffer``,
``velocity``. Links (``{0}_link``): ``forward``, ``skip``, ``chain``. The
``mac`` and ``lut`` arguments that are run widths (``acc_bits``; ``in_bits``,
``out_bits``) come from the run, the others from the action key's detail."""


def ert_name(key: tuple, run_widths: Mapping[str, int] | None = None) -> ErtName:
    """The ERT name of an action key ``(phase, action, detail)``.

    Parameters
    ----------
    key : tuple
        An accountant's key.
    run_widths : mapping, optional
        ``acc_bits``, ``in_bits`` and ``out_bits`` of the run (the widths of
        :class:`hw_models.parts.Widths`); without them those arguments are left out.

    Raises
    ------
    KeyError
        ``key``'s action is not in :data:`MAPPING`.
    """
    _phase, action, detail = key
    m = MAPPING[action]
    names = [d for d in detail if isinstance(d, str)]
    numbers = [int(d) for d in detail if not isinstance(d, str)]
    component = m.component.format(*names) if "{0}" in m.component else m.component
    widths = dict(run_widths or {})
    args: list[tuple[str, int]] = []
    for i, name in enumerate(m.arguments):
        if i < len(numbers):
            args.append((name, numbers[i]))
        elif name in widths:
            args.append((name, int(widths[name])))
    return ErtName(component, m.action, tuple(args))


# ---------------------------------------------------------------- reading


def _load_yaml(path: str | Path, field_name: str) -> Any:
    """``yaml.safe_load`` of a file of at most :data:`MAX_YAML_BYTES`; every failure
    is a :class:`ConfigError` on ``field_name`` naming the file."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except OSError as e:
        raise ConfigError(field_name, str(p), f"a readable YAML file ({e.strerror})") from None
    except ValueError as e:  # e.g. a NUL byte in the path
        raise ConfigError(field_name, str(p), f"a readable YAML file ({e})") from None
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(field_name, str(p), f"a YAML file of at most {MAX_YAML_BYTES >> 20} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            field_name, str(p), f"a UTF-8 YAML file ({e.reason} at byte {e.start})"
        ) from None
    yaml = _yaml(field_name)
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError) as e:
        raise ConfigError(field_name, str(p), f"valid YAML ({e})") from None


def _yaml(field_name: str) -> Any:
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            field_name, "PyYAML",
            "installed to read or write Accelergy YAML files: pip install 'neurosim[yaml]'",
        ) from None  # fmt: skip
    return yaml


_RANGE = re.compile(r"\[[^\]]*\]")


def leaf(component: str) -> str:
    """The last segment of a hierarchical component name, list ranges removed
    (``system.tile[0..15].mac`` -> ``mac``)."""
    return _RANGE.sub("", component.rsplit(".", 1)[-1]) if "." in component else _RANGE.sub(
        "", component)  # fmt: skip


def _energy(v: Any, path: str, where: str) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    if not ok or not math.isfinite(v) or not 0 <= v <= MAX_ENERGY_PJ:
        raise ConfigError(
            where, path, f"{where}: a non-negative number of pJ up to {MAX_ENERGY_PJ:g}, not {v!r}"
        )
    return float(v)


def _arguments(v: Any, path: str, where: str) -> tuple[tuple[str, Any], ...] | None:
    if v is None:
        return None
    if not isinstance(v, Mapping):
        raise ConfigError(where, path, f"{where}.arguments: null or a mapping, not {v!r}")
    out = []
    for k, x in v.items():
        if not isinstance(k, str) or not isinstance(x, (str, int, float)):
            raise ConfigError(
                where, path, f"{where}.arguments: names mapped to numbers or strings, not {v!r}"
            )
        out.append((k, x))
    return tuple(sorted(out))


@dataclass(frozen=True)
class Ert:
    """A parsed Accelergy energy reference table.

    Attributes
    ----------
    path : str
        The file it was read from (for messages).
    version : str
        The ERT's ``version``.
    partial : bool
        True: an action the ERT does not price falls back to neurosim's own
        table; False: it is a :class:`ConfigError`.
    entries : dict
        ``(component leaf, action) -> ((arguments or None, energy_pj, full name), ...)``.
    """

    path: str
    version: str
    partial: bool = False
    entries: Mapping[tuple[str, str], tuple[tuple[Any, float, str], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def lookup(self, name: ErtName) -> float | None:
        """Energy of one action of ``name``, pJ; None when the ERT has no entry.

        An entry whose arguments equal ``name.arguments`` wins; else an entry with
        ``arguments: null``. Two components with the same last name segment that
        both price the action are a :class:`ConfigError` (ambiguous).
        """
        found = self.entries.get((name.component, name.action), ())
        fulls = sorted({f for _a, _e, f in found})
        if len(fulls) > 1:
            raise ConfigError(
                "accelergy_ert", self.path,
                f"one component named {name.component!r} with action {name.action!r} "
                f"(found {', '.join(fulls)}; neurosim matches the last name segment)",
            )  # fmt: skip
        want = dict(name.arguments)
        wildcard = None
        for args, energy, _full in found:
            if args is None:
                wildcard = energy
            elif {k: v for k, v in args} == want:
                return energy
        return wildcard


def parse_ert(data: Any, path: str = "<ERT>", partial: bool = False) -> Ert:
    """Build an :class:`Ert` from a parsed ``ERT.yaml`` (see the module doc).

    Every malformed part is a :class:`ConfigError` on ``accelergy_ert`` naming
    the file and the place (``ERT.tables[2].actions[0].energy``).
    """
    f = "accelergy_ert"
    if not isinstance(data, Mapping) or not isinstance(data.get("ERT"), Mapping):
        raise ConfigError(f, path, "an Accelergy ERT: a YAML mapping with a top-level ERT key")
    ert = data["ERT"]
    tables = ert.get("tables")
    if isinstance(tables, Mapping):  # version 0.2: component -> action -> entries
        tables = [
            {"name": c, "actions": _v02_actions(acts, path, f"ERT.tables.{c}")}
            for c, acts in tables.items()
        ]
    if not isinstance(tables, list):
        raise ConfigError(f, path, "ERT.tables: a list of {name, actions} tables")
    entries: dict[tuple[str, str], list[tuple[Any, float, str]]] = {}
    for i, t in enumerate(tables):
        where = f"ERT.tables[{i}]"
        if not isinstance(t, Mapping) or not isinstance(t.get("name"), str):
            raise ConfigError(f, path, f"{where}: a mapping with a name (the component)")
        acts = t.get("actions")
        if not isinstance(acts, list):
            raise ConfigError(f, path, f"{where}.actions: a list of {{name, arguments, energy}}")
        for j, a in enumerate(acts):
            w = f"{where}.actions[{j}]"
            if not isinstance(a, Mapping) or not isinstance(a.get("name"), str):
                raise ConfigError(f, path, f"{w}: a mapping with a name (the action)")
            args = _arguments(a.get("arguments"), path, w)
            energy = _energy(a.get("energy"), path, f"{w}.energy")
            entries.setdefault((leaf(t["name"]), a["name"]), []).append((args, energy, t["name"]))
    return Ert(str(path), str(ert.get("version", "")), bool(partial),
               {k: tuple(v) for k, v in entries.items()})  # fmt: skip


def _v02_actions(acts: Any, path: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(acts, Mapping):
        raise ConfigError("accelergy_ert", path, f"{where}: a mapping of action -> entries")
    out = []
    for name, v in acts.items():
        for e in v if isinstance(v, list) else [v]:
            if not isinstance(e, Mapping):
                raise ConfigError("accelergy_ert", path, f"{where}.{name}: {{arguments, energy}}")
            out.append({"name": name, "arguments": e.get("arguments"), "energy": e.get("energy")})
    return out


_CACHE: dict[tuple[str, int, int, bool], Ert] = {}


def read_ert(path: str | Path, partial: bool = False) -> Ert:
    """Read and parse an ``ERT.yaml`` (cached by path, size and modification time).

    Parameters
    ----------
    path : str or Path
        The file (at most 1 MiB, UTF-8, ``yaml.safe_load``).
    partial : bool
        Price actions the ERT lacks from neurosim's own table instead of failing.
    """
    p = str(path)
    try:
        st = os.stat(p)
        key = (os.path.abspath(p), st.st_size, st.st_mtime_ns, bool(partial))
    except (OSError, ValueError):
        key = None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    ert = parse_ert(_load_yaml(p, "accelergy_ert"), p, partial)
    if key is not None:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = ert
    return ert


# ---------------------------------------------------------------- writing


def action_counts(
    counts: Mapping[tuple, float], run_widths: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """Action counts grouped by ERT component, as Accelergy's ``local`` list.

    Parameters
    ----------
    counts : mapping
        ``(phase, action, detail) -> count`` (any unit: per sample or per run).
    run_widths : mapping, optional
        As for :func:`ert_name`.

    Returns
    -------
    list of dict
        ``[{name: component, action_counts: [{name, arguments?, counts}]}]``,
        components and actions sorted by name; counts of keys that share an ERT
        name (the same memory read in two phases) are summed.
    """
    by: dict[str, dict[tuple[str, tuple], float]] = {}
    for key, n in counts.items():
        if not n:
            continue
        nm = ert_name(key, run_widths)
        comp = by.setdefault(nm.component, {})
        comp[(nm.action, nm.arguments)] = comp.get((nm.action, nm.arguments), 0.0) + n
    out = []
    for comp in sorted(by):
        acts = []
        for (action, args), n in sorted(by[comp].items()):
            entry: dict[str, Any] = {"name": action}
            if args:
                entry["arguments"] = dict(args)
            entry["counts"] = n
            acts.append(entry)
        out.append({"name": comp, "action_counts": acts})
    return out


def write_action_counts(
    path: str | Path,
    counts: Mapping[tuple, float],
    run_widths: Mapping[str, int] | None = None,
    per: str = "training_sample",
) -> dict[str, Any]:
    """Write Accelergy's action-count YAML (version :data:`COUNTS_VERSION`).

    Parameters
    ----------
    path : str or Path
        Output file.
    counts : mapping
        ``(phase, action, detail) -> count`` per ``per``.
    run_widths : mapping, optional
        As for :func:`ert_name`.
    per : str
        What the counts are per, written as ``action_counts.per``
        (``training_sample``: one sample's share of training, as neurosim's
        ``energy_pj_per_sample``); Accelergy ignores the key.

    Returns
    -------
    dict
        The document written.
    """
    doc = {"action_counts": {"version": COUNTS_VERSION, "per": per,
                             "local": action_counts(counts, run_widths)}}  # fmt: skip
    text = _yaml("accelergy_counts").safe_dump(doc, sort_keys=False, default_flow_style=False)
    Path(path).write_text(text, encoding="utf-8")
    return doc
