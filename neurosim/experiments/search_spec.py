"""The spec of a design-space search: what :func:`neurosim.experiments.search.run_search` explores.

A search file has three tables::

    [search]
    name = "widths"                      # optional (default: the file's stem)
    objectives = ["accuracy", "energy"]  # default; also "area", "throughput"
    sampler = "nsga2"                    # default; or "tpe", "random"
    population = 10                      # NSGA-II population (default 10)
    validation = 0.2                     # held-out training samples: a count, or a
                                         # fraction of the training set (default 0.2)
    seed = 0                             # the sampler's seed (default 0)
    trials = 40                          # optional: the trial budget (--trials wins)

    [base]                               # as in sweep specs: shared config fields
    data = "mnist5k"
    mode = "fixed"

    [space]                              # per field: choices, or a range
    feedback = ["dense", "binary", "sparse"]
    weight_bits = { low = 6, high = 16 }           # ints stay ints
    lr = { low = 0.01, high = 0.5, log = true }    # a float range, log-uniform
    error_bits = { low = 2, high = 8, step = 2 }

Objectives: ``accuracy`` (accuracy on the held-out validation samples, a
fraction, up), ``energy`` (energy per training sample in nJ, down), ``area``
(chip area in mm^2, down), ``throughput`` (training samples per second, up).

Every error is a :class:`~neurosim.errors.ConfigError` whose field is the path
of the offending key (``space.error_bits``, ``search.objectives[1]``,
``space.feedback[2]``, ``base.epochs``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurosim.config import PRESETS, TrainConfig, read_toml
from neurosim.errors import ConfigError
from neurosim.experiments.sweep import _coerce, _fmt_value

#: Objective name -> (direction, what it is, where the record holds it).
OBJECTIVES: dict[str, tuple[str, str]] = {
    "accuracy": ("max", "validation accuracy (fraction of the held-out samples)"),
    "energy": ("min", "energy per training sample (nJ)"),
    "area": ("min", "chip area (mm^2)"),
    "throughput": ("max", "training samples per second"),
}
SAMPLERS = ("nsga2", "tpe", "random")
DEFAULT_OBJECTIVES = ("accuracy", "energy")
DEFAULT_POPULATION = 10
DEFAULT_VALIDATION = 0.2

_TOP_KEYS = ("search", "base", "space")
_SEARCH_KEYS = ("name", "objectives", "sampler", "population", "validation", "seed", "trials")
_RANGE_KEYS = ("low", "high", "log", "step")
_FIELD_TYPES = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}


@dataclass
class Choices:
    """A field's list of choices (normalized values; lists such as ``hidden`` as lists)."""

    values: list[Any]

    def encoded(self) -> list[Any]:
        """The choices as the sampler sees them (scalars; a list as ``"a,b"``)."""
        return [_encode(v) for v in self.values]


@dataclass
class Range:
    """A numeric range of a field: ``low`` to ``high`` inclusive.

    ``kind`` is ``"int"`` (the field is an integer: samples stay integers) or
    ``"float"``; ``log`` samples log-uniformly; ``step`` quantizes.
    """

    low: float
    high: float
    kind: str
    log: bool = False
    step: float | None = None


@dataclass
class SearchSpec:
    """A parsed search file (see the module doc); every value already checked."""

    name: str = "search"
    objectives: list[str] = field(default_factory=lambda: list(DEFAULT_OBJECTIVES))
    sampler: str = "nsga2"
    population: int = DEFAULT_POPULATION
    validation: int | float = DEFAULT_VALIDATION
    seed: int = 0
    trials: int | None = None
    base: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None
    space: dict[str, Choices | Range] = field(default_factory=dict)

    @property
    def directions(self) -> list[str]:
        """``"max"`` or ``"min"`` per objective."""
        return [OBJECTIVES[o][0] for o in self.objectives]

    @classmethod
    def from_dict(cls, d: Any, name: str = "search") -> SearchSpec:
        """Build from a parsed search file; checks everything (see the module doc)."""
        if not isinstance(d, dict):
            raise ConfigError("search", d, "a table of [search], [base], [space]")
        for key in d:
            if key not in _TOP_KEYS:
                raise ConfigError(key, d[key], f"not a search table; known: {', '.join(_TOP_KEYS)}")
        spec = cls(name=name)
        _read_search(spec, _table(d, "search"))
        for key, value in _table(d, "base").items():
            if key == "validation":
                raise ConfigError("base.validation", value, "set by [search] validation")
            if key == "preset":
                if value not in PRESETS:
                    raise ConfigError("base.preset", value, f"one of: {', '.join(PRESETS)}")
                spec.preset = value
                continue
            spec.base[key] = _coerce(f"base.{key}", key, value)
        space = _table(d, "space")
        if not space:
            raise ConfigError("space", space, "at least one field to search over")
        for key, value in space.items():
            spec.space[key] = _read_dimension(f"space.{key}", key, value)
        spec.check_configs()
        return spec

    def config(self, values: dict[str, Any], validation: int | None = None) -> TrainConfig:
        """``[base]`` updated with `values` (decoded field values) and `validation`; validated."""
        cfg = TrainConfig.from_preset(self.preset) if self.preset else TrainConfig()
        cfg.update(self.base)
        cfg.update(values)
        cfg.update({"validation": validation})
        return cfg.validate()

    def check_configs(self) -> None:
        """Validate the base, and each choice and range end on top of it (the other
        fields at their first choice or low end); a failure names its key's path."""
        first = {k: first_value(dim) for k, dim in self.space.items()}
        try:
            self.config(first)
        except ConfigError as e:
            root = e.field.split("[", 1)[0]
            path = f"space.{root}" if root in self.space else f"base.{e.field}"
            raise ConfigError(path, e.value, e.allowed) from None
        for key, dim in self.space.items():
            if isinstance(dim, Choices):
                tries = [(f"space.{key}[{i}]", v) for i, v in enumerate(dim.values)]
            else:
                tries = [(f"space.{key}.low", _num(dim, dim.low)),
                         (f"space.{key}.high", _num(dim, dim.high))]  # fmt: skip
            for path, v in tries:
                try:
                    self.config({**first, key: v})
                except ConfigError as e:
                    raise ConfigError(path, v, e.allowed + f" (with {key} = {v!r})") from None

    def decode(self, params: dict[str, Any]) -> dict[str, Any]:
        """Field values of sampled `params` (encoded choices back to their values)."""
        out = {}
        for key, dim in self.space.items():
            v = params[key]
            if isinstance(dim, Choices):
                v = dim.values[dim.encoded().index(v)]
            else:
                v = _num(dim, v)
            out[key] = v
        return out

    def fingerprint(self) -> str:
        """Canonical JSON of everything that decides the trials (not ``trials``,
        the budget): a resumed search must have the same."""
        d = {
            "objectives": self.objectives, "sampler": self.sampler,
            "population": self.population, "validation": self.validation, "seed": self.seed,
            "base": self.base, "preset": self.preset,
            "space": {k: dataclasses.asdict(v) | {"type": type(v).__name__}
                      for k, v in self.space.items()},
        }  # fmt: skip
        return json.dumps(d, sort_keys=True, separators=(",", ":"))


def load_search_spec(path: str | Path) -> SearchSpec:
    """Read and check a search file (see the module doc)."""
    return SearchSpec.from_dict(read_toml(path), name=Path(path).stem)


def _table(d: dict[str, Any], key: str) -> dict[str, Any]:
    value = d.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, value, f"a table ([{key}])")
    return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _read_search(spec: SearchSpec, meta: dict[str, Any]) -> None:
    """The ``[search]`` table into `spec`."""
    for key, value in meta.items():
        path = f"search.{key}"
        if key not in _SEARCH_KEYS:
            raise ConfigError(
                path, value, f"not a search setting; known: {', '.join(_SEARCH_KEYS)}"
            )
        if key == "name":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(path, value, "a non-empty string")
            spec.name = value
        elif key == "objectives":
            if not isinstance(value, list) or not value:
                raise ConfigError(path, value, f"a non-empty list of: {', '.join(OBJECTIVES)}")
            for i, o in enumerate(value):
                if o not in OBJECTIVES:
                    raise ConfigError(f"{path}[{i}]", o, f"one of: {', '.join(OBJECTIVES)}")
                if o in value[:i]:
                    raise ConfigError(f"{path}[{i}]", o, "an objective named once")
            spec.objectives = list(value)
        elif key == "sampler":
            if value not in SAMPLERS:
                raise ConfigError(path, value, f"one of: {', '.join(SAMPLERS)}")
            spec.sampler = value
        elif key in ("population", "seed", "trials"):
            least = {"population": 2, "seed": 0, "trials": 1}[key]
            if not _is_int(value) or value < least or value >= 2**63:
                raise ConfigError(path, value, f"an integer of at least {least}")
            setattr(spec, key, value)
        elif key == "validation":
            ok = (_is_int(value) and value >= 1) or (isinstance(value, float) and 0.0 < value < 1.0)
            if not ok:
                raise ConfigError(
                    path, value, "held-out samples: an integer >= 1, or a fraction in (0, 1)"
                )
            spec.validation = value
    if "population" in meta and spec.sampler != "nsga2":
        raise ConfigError("search.population", meta["population"], "set only with sampler nsga2")


def _read_dimension(path: str, key: str, value: Any) -> Choices | Range:
    """One ``[space]`` entry: a list of choices or a range table."""
    if key not in _FIELD_TYPES:
        raise ConfigError(path, value, f"not a field; known fields: {', '.join(_FIELD_TYPES)}")
    if key == "validation":
        raise ConfigError(path, value, "set by [search] validation, not searched")
    if isinstance(value, list):
        if not value:
            raise ConfigError(path, value, "a non-empty list of choices")
        values = [_coerce(f"{path}[{i}]", key, v) for i, v in enumerate(value)]
        enc = [_encode(v) for v in values]
        for i, e in enumerate(enc):
            if e in enc[:i]:
                raise ConfigError(f"{path}[{i}]", value[i], "a choice listed once")
        return Choices(values)
    if not isinstance(value, dict):
        raise ConfigError(path, value, "a list of choices or a table { low, high, log, step }")
    typ = _FIELD_TYPES[key]
    kind = "int" if typ.startswith("int") else "float" if typ.startswith("float") else None
    if kind is None:
        raise ConfigError(path, value, f"a list of choices ({key} is not a number: no range)")
    for k in value:
        if k not in _RANGE_KEYS:
            raise ConfigError(f"{path}.{k}", value[k], f"one of: {', '.join(_RANGE_KEYS)}")
    for k in ("low", "high"):
        if k not in value:
            raise ConfigError(f"{path}.{k}", None, "a number (a range needs low and high)")
    want = _is_int if kind == "int" else _is_num
    what = "an integer" if kind == "int" else "a number"
    for k in ("low", "high", "step"):
        if k in value and not want(value[k]):
            raise ConfigError(f"{path}.{k}", value[k], f"{what} ({key} is {typ})")
    low, high = value["low"], value["high"]
    if not low < high:
        raise ConfigError(f"{path}.high", high, f"more than low ({low})")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{path}.log", log, "true or false")
    if log and low <= 0:
        raise ConfigError(f"{path}.low", low, "a positive number (log = true)")
    step = value.get("step")
    if step is not None:
        if log:
            raise ConfigError(f"{path}.step", step, "no step with log = true")
        if not 0 < step <= high - low:
            raise ConfigError(
                f"{path}.step", step, f"a positive number up to high - low ({high - low})"
            )
    if kind == "float":
        low, high = float(low), float(high)
        step = None if step is None else float(step)
    return Range(low, high, kind, log, step)


def _encode(v: Any) -> Any:
    """A choice as a sampler parameter: scalars as they are, a list as ``"a,b"``."""
    return _fmt_value(v) if isinstance(v, list) else v


def _num(dim: Range, v: Any) -> int | float:
    return int(v) if dim.kind == "int" else float(v)


def first_value(dim: Choices | Range) -> Any:
    """A dimension's first choice or low end (as the field's type)."""
    return dim.values[0] if isinstance(dim, Choices) else _num(dim, dim.low)
