"""TrainConfig: the flat record of every field of the config's sections.

The fields are defined (default, docstring, metadata) once, in the section
dataclasses of :mod:`neurosim.config.sections`; :class:`TrainConfig` takes
them in :data:`FIELD_ORDER`, the order of the flat names that JSON records,
TOML files, ``repr`` and sweep point ids have always used, so that records
and stores written before the sections existed read the same.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from neurosim.config.checks import CHECKS, check_declared
from neurosim.config.presets import PRESETS
from neurosim.config.sections import (
    PER_LAYER,
    SECTIONS,
    ChannelSection,
    DatasetSection,
    NetworkSection,
    NumericsSection,
    OptimizerSection,
    RunSection,
    section_fields,
)
from neurosim.errors import ConfigError
from neurosim.tomlfile import read_toml

FIELD_ORDER: tuple[str, ...] = (
    "rule", "data", "data_dir", "limit", "epochs", "batch", "lr", "lr_decay", "hidden", "conv",
    "act", "output", "bias", "mode", "weight_bits", "weight_int_bits", "act_bits",
    "act_int_bits", "input_int_bits", "error_bits", "error_alpha_log2", "error_scale",
    "error_rounding", "error_word_bits", "error_int_bits", "feedback_bits", "feedback_int_bits",
    "acc_bits", "lut_bits", "lut_int_bits", "lr_frac", "update_bits", "rounding", "momentum",
    "velocity_bits", "feedback", "feedback_dist", "feedback_mean", "feedback_n", "rank",
    "no_derivative", "freeze", "update_mode", "feedback_resample", "feedback_sign",
    "channel_dropout", "feedback_per_synapse", "packets", "chip", "seed",
    "error_coding", "top_error",
    # dataset and network fields added later
    "validation", "init",
    # error-coding fields added later
    "error_sign_scale",
    # run fields added later
    "accelergy_ert", "accelergy_partial",
    # channel fields added later
    "channel_dropout_rescale",
    # optimizer fields added later
    "update_code_rounding",
)  # fmt: skip
"""The flat field order (records, TOML, repr and point ids depend on it; new
fields go at the end)."""


def _flat_fields(cls: type) -> type:
    """Give `cls` every section field, in :data:`FIELD_ORDER`, as a dataclass
    field with the section's default, type and metadata (plus ``section``)."""
    by_name = section_fields()
    if set(by_name) != set(FIELD_ORDER) or len(FIELD_ORDER) != len(by_name):
        raise RuntimeError("FIELD_ORDER must name every section field once")
    cls.__annotations__ = {name: by_name[name][1].type for name in FIELD_ORDER}
    for name in FIELD_ORDER:
        section, f = by_name[name]
        meta = {**f.metadata, "section": section}
        setattr(cls, name, dataclasses.field(default=f.default, metadata=meta))
    return dataclass(cls)


@_flat_fields
class TrainConfig:
    """Everything that defines one training run.

    One flat record of the fields of six sections (see
    :mod:`neurosim.config.sections` for every field's documentation):
    ``dataset`` (:class:`DatasetSection`), ``network``
    (:class:`NetworkSection`), ``numerics`` (:class:`NumericsSection`),
    ``channel`` (:class:`ChannelSection`), ``optimizer``
    (:class:`OptimizerSection`) and ``run`` (:class:`RunSection`).
    Fields are read and set by their flat names (``cfg.weight_bits``,
    ``TrainConfig(weight_bits=8)``, ``dataclasses.replace(cfg, lr=0.5)``);
    ``cfg.numerics`` and the other section properties are read-only views.
    A TOML file may use the flat names or section tables
    (``[numerics]`` ``weight_bits = 8``).
    """

    # ------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        """Names a config file or flag may set."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_preset(cls, name: str) -> TrainConfig:
        """The defaults with a preset's values (see :data:`PRESETS`)."""
        if name not in PRESETS:
            raise ConfigError("preset", name, f"one of: {', '.join(PRESETS)}")
        cfg = cls()
        cfg.update(PRESETS[name])
        return cfg

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "") -> TrainConfig:
        """Build from a mapping (a parsed TOML table); unknown keys are errors.

        A ``preset`` key applies that preset's defaults before the other keys;
        a section name (``numerics``) may hold a table of that section's fields.
        """
        d = dict(d)
        preset = d.pop("preset", None)
        if preset is not None and not isinstance(preset, str):
            raise ConfigError(f"{where}preset", preset, f"one of: {', '.join(PRESETS)}")
        cfg = cls.from_preset(preset) if preset is not None else cls()
        cfg.update(d, where)
        return cfg

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        """Read a TOML file of the same field names (flat, or in section tables)."""
        return cls.from_dict(read_toml(path), where="")

    @classmethod
    def from_sections(cls, **sections: Any) -> TrainConfig:
        """Build from section objects, e.g. ``numerics=NumericsSection(mode="fixed")``;
        sections not given keep their defaults."""
        cfg = cls()
        for name, value in sections.items():
            if name not in SECTIONS or not isinstance(value, SECTIONS[name]):
                raise ConfigError(name, value, f"a section: {', '.join(SECTIONS)}")
            for f in fields(value):
                setattr(cfg, f.name, getattr(value, f.name))
        return cfg

    def update(self, d: dict[str, Any], where: str = "") -> None:
        """Set fields from a mapping, checking names and types.

        A key naming a section (``numerics``) takes a table of its fields;
        errors then name the path (``numerics.weight_bits``).
        """
        names = {f.name: f for f in fields(self)}
        for key, value in d.items():
            path = f"{where}{key}"
            if key in SECTIONS and isinstance(value, dict):
                own = [f.name for f in fields(SECTIONS[key])]
                for sub, v in value.items():
                    if sub not in own:
                        known = ", ".join(own)
                        raise ConfigError(f"{path}.{sub}", v, f"not a field of [{key}]: {known}")
                    setattr(self, sub, _coerce(f"{path}.{sub}", names[sub], v))
                continue
            if key not in names:
                raise ConfigError(path, value, f"not a field; known fields: {', '.join(names)}")
            setattr(self, key, _coerce(path, names[key], value))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping of every field (JSON/TOML-ready), in flat field order."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        d["freeze"] = list(self.freeze)
        for name in PER_LAYER:  # a per-layer list stays a list (JSON, TOML, point ids)
            if isinstance(d[name], tuple):
                d[name] = list(d[name])
        return d

    def changed(self) -> dict[str, Any]:
        """The fields whose value differs from the default (``hidden`` as a list)."""
        default = type(self)().to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}

    def to_toml(
        self, path: str | Path | None = None, *, full: bool = False, sections: bool = False
    ) -> str:
        """The config as TOML text that :meth:`from_toml` reads back.

        Parameters
        ----------
        path : str or Path, optional
            Also write the text to this file.
        full : bool
            Write every field; by default only those that differ from the
            defaults (the file then stays valid when defaults are added).
            Fields set to None are left out either way (TOML has no null;
            absent means None for them).
        sections : bool
            Write one table per section (``[numerics]``) instead of flat keys.

        Returns
        -------
        str
            ``key = value`` lines, one per field, in field order (within each
            section table with `sections`).
        """
        items = self.to_dict() if full else self.changed()
        items = {k: v for k, v in items.items() if v is not None}
        lines = {k: f"{k} = {_toml_value(v)}\n" for k, v in items.items()}
        if not sections:
            text = "".join(lines.values())
        else:
            owner = section_fields()
            text = ""
            for s in SECTIONS:
                own = [line for k, line in lines.items() if owner[k][0] == s]
                if own:
                    text += f"[{s}]\n" + "".join(own)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def __repr__(self) -> str:
        # only what differs from the defaults: a 50-field repr hides the point of a run
        inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.changed())
        return f"{type(self).__name__}({inner})"

    # ------------------------------------------------------------------ views
    def section(self, name: str) -> Any:
        """The section `name` (see :data:`~neurosim.config.sections.SECTIONS`) as a
        frozen dataclass holding this config's values (a copy: setting a field
        goes through the flat name)."""
        cls = SECTIONS[name]
        return cls(**{f.name: getattr(self, f.name) for f in fields(cls)})

    @property
    def dataset(self) -> DatasetSection:
        """The data set section (``data``, ``data_dir``, ``limit``)."""
        return self.section("dataset")

    @property
    def network(self) -> NetworkSection:
        """The network section (``hidden``, ``conv``, ``act``, ``output``, ``bias``)."""
        return self.section("network")

    @property
    def numerics(self) -> NumericsSection:
        """The number formats (``mode``, ``*_bits``, the log quantizer)."""
        return self.section("numerics")

    @property
    def channel(self) -> ChannelSection:
        """The rule and the learning channel (``rule``, ``feedback*``, ``packets``)."""
        return self.section("channel")

    @property
    def optimizer(self) -> OptimizerSection:
        """SGD and the update unit (``epochs``, ``batch``, ``lr``, ``momentum``, ...)."""
        return self.section("optimizer")

    @property
    def run(self) -> RunSection:
        """The chip and the seed."""
        return self.section("run")

    # ------------------------------------------------------------------
    def validate(self) -> TrainConfig:
        """Check every field's range and their consistency; return self.

        The declared choices and ranges first, then each section's own checks
        (:data:`neurosim.config.checks.CHECKS`); the chip is loaded last.
        """
        check_declared(self)
        for check in CHECKS.values():
            check(self)
        return self

    def n_outputs(self) -> int:
        """Output units N_L for this data set and output (see :func:`output_units`)."""
        from neurosim.data.datasets import N_CLASSES

        return output_units(N_CLASSES[self.data], self.output)

    def sizes(self, n_in: int, n_out: int) -> list[int]:
        """Layer widths ``[N_0, N_1, ..., N_L]`` for a data set."""
        return [n_in, *self.hidden, n_out]

    def n_dense(self) -> int:
        """Dense weight layers ``L`` (the hidden layers and the output layer)."""
        return len(self.hidden) + 1

    def per_layer(self, name: str) -> tuple[int, ...]:
        """A per-layer field (:data:`~neurosim.config.sections.PER_LAYER`) as one
        value per dense weight layer ``h = 1 .. L`` (index ``h - 1``): a single
        integer repeated ``L`` times, or the list as given."""
        v = getattr(self, name)
        return tuple(v) if isinstance(v, (tuple, list)) else (v,) * self.n_dense()

    def is_per_layer(self) -> bool:
        """True when some per-layer field holds a list of differing values."""
        return any(len(set(self.per_layer(n))) > 1 for n in PER_LAYER)


def output_units(n_classes: int, output: str) -> int:
    """Output units N_L: `n_classes`, or 1 for a binary data set without
    softmax (one unit, target 1 for class 1; dE/dS^L = O^L - T still holds)."""
    return 1 if n_classes == 2 and output != "softmax" else n_classes


def parse_hidden(value: str, name: str = "hidden") -> tuple[int, ...]:
    """Parse ``"100,100,100"`` into a tuple of integers (empty string: none);
    errors name the field ``name``."""
    s = value.strip()
    if not s:
        return ()
    try:
        return tuple(int(v) for v in s.split(","))
    except ValueError:
        raise ConfigError(name, value, "comma-separated positive integers") from None


def _coerce(path: str, f: dataclasses.Field, value: Any) -> Any:
    """`value` as field `f`'s type, or a ConfigError naming `path`."""
    t = f.type if isinstance(f.type, str) else str(f.type)
    if f.metadata.get("per_layer"):
        return _per_layer(path, value)
    if f.name in ("hidden", "freeze"):
        if isinstance(value, str):
            return parse_hidden(value, f.name)
        if isinstance(value, (list, tuple)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return tuple(value)
        raise ConfigError(path, value, "a list of positive integers")
    if t == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(path, value, "true or false")
    if t.startswith("int"):
        if value is None and "None" in t:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, (list, tuple)) or (isinstance(value, str) and "," in value):
            raise ConfigError(
                path, value, f"an integer (per-layer lists: {', '.join(PER_LAYER)} only)"
            )
        raise ConfigError(path, value, "an integer")
    if t == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not -1e308 < value < 1e308:  # nan, infinities, integers beyond float range
                raise ConfigError(path, value, "a finite number")
            return float(value)
        raise ConfigError(path, value, "a number")
    if t.startswith("str"):
        if value is None and "None" in t:
            return None
        if isinstance(value, str):
            return value
        raise ConfigError(path, value, "a string")
    return value


def _per_layer(path: str, value: Any) -> int | tuple[int, ...]:
    """One integer (every layer), or a list of integers (one per dense weight
    layer, kept as a tuple)."""
    allowed = "an integer, or a list of integers, one per dense weight layer (e.g. [16, 8, 16])"
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        return tuple(value)
    raise ConfigError(path, value, allowed)


def _toml_value(v: Any) -> str:
    """One TOML value: bool, int, float, str or a list of ints."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v) if v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, str):
        # a TOML basic string: JSON's escapes are valid TOML escapes
        return json.dumps(v, ensure_ascii=False)
    return str(v)
