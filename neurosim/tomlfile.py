"""Reading TOML files (config, sweep spec, chip, energy table) with clear errors.

Standard library only, so the chip models can use it without loading the
training engine.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError

MAX_TOML_BYTES = 1 << 20
"""Largest TOML file read (1 MiB): configs, sweep specs, chips and energy
tables are a few KiB; the bound stops ``/dev/zero`` or a mistaken data file
from being read into memory."""

_BOM = b"\xef\xbb\xbf"


def read_toml(path: str | Path, field_name: str = "config") -> dict[str, Any]:
    """Parse a TOML file; every failure is a :class:`ConfigError` on ``field_name``.

    A missing or unreadable file, one larger than :data:`MAX_TOML_BYTES`
    (checked while reading, so a device that never ends fails fast), a file
    that is not UTF-8 or starts with a byte-order mark, and anything
    ``tomllib`` rejects (syntax errors with their line, integers of more than
    4300 digits, nesting too deep) name the file and say why.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_TOML_BYTES + 1)
    except OSError as e:
        raise ConfigError(field_name, str(p), f"a readable TOML file ({e.strerror})") from None
    except ValueError as e:  # e.g. a NUL byte in the path
        raise ConfigError(field_name, str(p), f"a readable TOML file ({e})") from None
    if len(raw) > MAX_TOML_BYTES:
        raise ConfigError(
            field_name, str(p), f"a TOML file of at most {MAX_TOML_BYTES >> 20} MiB"
        )
    if raw.startswith(_BOM):
        raise ConfigError(
            field_name, str(p),
            "a TOML file without a UTF-8 byte-order mark (save it as UTF-8 without BOM)",
        )  # fmt: skip
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        why = f"{e.reason} at byte {e.start}"
        raise ConfigError(field_name, str(p), f"a UTF-8 TOML file ({why})") from None
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as e:  # TOMLDecodeError, huge ints, deep nesting
        raise ConfigError(field_name, str(p), f"valid TOML ({e})") from None
