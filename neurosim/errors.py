"""Exception types raised by neurosim.

Library code raises these; only :mod:`neurosim.cli` turns them into one-line
messages and exit codes.
"""

from __future__ import annotations


def show_path(path: object, limit: int = 200) -> str:
    """`path` as a message shows it: as is when printable, else quoted
    (``repr``), so that a newline in a name cannot split a one-line message;
    names longer than `limit` characters are cut with ``...``."""
    text = str(path)
    if not text.isprintable():
        text = repr(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class NeuroSimError(Exception):
    """Base class of every error neurosim raises on purpose."""


class ConfigError(NeuroSimError, ValueError):
    """A configuration field has a bad value.

    Parameters
    ----------
    field : str
        Dotted path of the field (e.g. ``"weight_bits"``).
    value : object
        The value that was given.
    allowed : str
        What would have been accepted.
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        shown = repr(value)
        if len(shown) > 80:  # keep the message one readable line
            shown = shown[:60] + f"... ({len(shown)} characters)"
        super().__init__(f"{field} = {shown}: {allowed}")


class DataError(NeuroSimError):
    """A data set is missing or malformed (the message names the file)."""


class NumericalError(NeuroSimError):
    """Training diverged (e.g. a NaN loss in float mode)."""
