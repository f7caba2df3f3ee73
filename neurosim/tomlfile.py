"""Reading TOML files (config, sweep spec, chip, energy table) with clear errors.

Standard library only, so the chip models can use it without loading the
training engine.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from neurosim.errors import ConfigError


def read_toml(path: str | Path, field_name: str = "config") -> dict[str, Any]:
    """Parse a TOML file; every failure is a :class:`ConfigError` on ``field_name``.

    A missing or unreadable file, a file that is not UTF-8, and anything
    ``tomllib`` rejects (syntax errors with their line, integers of more than
    4300 digits, nesting too deep) name the file and say why.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(field_name, str(p), f"a readable TOML file ({e.strerror})") from None
    except UnicodeDecodeError as e:
        why = f"{e.reason} at byte {e.start}"
        raise ConfigError(field_name, str(p), f"a UTF-8 TOML file ({why})") from None
    except ValueError as e:  # e.g. a NUL byte in the path
        raise ConfigError(field_name, str(p), f"a readable TOML file ({e})") from None
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as e:  # TOMLDecodeError, huge ints, deep nesting
        raise ConfigError(field_name, str(p), f"valid TOML ({e})") from None
