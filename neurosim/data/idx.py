"""``fashion-mnist`` and ``mnist``: the four IDX files of an MNIST-style data set."""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np

from neurosim.data.base import (
    ENV_VAR,
    PIXEL_SCALE,
    Dataset,
    Stamp,
    read_bytes,
    readonly,
    to_features,
)
from neurosim.data.cache import decoded
from neurosim.errors import DataError, show_path

# The four IDX files of an MNIST-style data set: role -> base file name.
IDX_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_IDX_TYPES: dict[int, str] = {
    0x08: "unsigned byte",
    0x09: "signed byte",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}

_HOW_TO_GET: dict[str, str] = {
    "fashion-mnist": (
        "Install it with `apt-get install dataset-fashion-mnist` (files go to "
        "/usr/share/datasets/fashion-mnist), or put the four IDX files "
        "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte, each optionally .gz) in a directory and pass it with "
        f"--data-dir or set ${ENV_VAR}."
    ),
    "mnist": (
        "Download the four IDX files (train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        "t10k-labels-idx1-ubyte.gz) from the MNIST site "
        "(https://yann.lecun.com/exdb/mnist/) into a directory and point --data-dir "
        f"(or ${ENV_VAR}) at it."
    ),
}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (the MNIST file format), gzip-compressed or plain.

    Compression is detected from the content (gzip magic ``1f 8b``), not from
    the file name.  The header is ``00 00 <type> <ndim>`` followed by `ndim`
    big-endian uint32 dimension sizes; the payload must hold exactly the
    product of the dimensions.  Only type ``0x08`` (unsigned byte) is
    supported.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    numpy.ndarray
        ``uint8``, shape given by the header (e.g. ``(N, 28, 28)`` for
        images, ``(N,)`` for labels); read-only.

    Raises
    ------
    DataError
        If the file cannot be read or decompressed, the magic or type code is
        wrong, or the payload is shorter or longer than the header says.  The
        message names the file.
    """
    path = Path(path)
    buf = read_bytes(path)
    if len(buf) < 4:
        raise DataError(f"{show_path(path)}: not an IDX file (only {len(buf)} bytes)")
    if buf[0] != 0 or buf[1] != 0:
        raise DataError(
            f"{show_path(path)}: not an IDX file (magic starts with {buf[:4].hex(' ')}, "
            "expected 00 00 <type> <ndim>)"
        )
    type_code, ndim = buf[2], buf[3]
    if type_code != 0x08:
        kind = _IDX_TYPES.get(type_code, "unknown")
        raise DataError(
            f"{show_path(path)}: unsupported IDX type code 0x{type_code:02X} ({kind}); "
            "only 0x08 (unsigned byte) is supported"
        )
    if ndim == 0:
        raise DataError(f"{show_path(path)}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DataError(
            f"{show_path(path)}: truncated IDX header: {ndim} dimensions need {header} bytes, "
            f"file has {len(buf)}"
        )
    dims = tuple(int.from_bytes(buf[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)
    actual = len(buf) - header
    if actual < expected:
        raise DataError(
            f"{show_path(path)}: truncated IDX file: shape {dims} needs {expected} payload bytes, "
            f"found {actual}"
        )
    if actual > expected:
        raise DataError(
            f"{show_path(path)}: IDX file has {actual - expected} unexpected trailing bytes: "
            f"shape {dims} needs {expected} payload bytes, found {actual}"
        )
    return np.frombuffer(buf, dtype=np.uint8, count=expected, offset=header).reshape(dims)


def _read_idx_cached(path: Path) -> np.ndarray:
    """:func:`read_idx`; a gzip-compressed file through the decoded-data cache
    (:mod:`neurosim.data.cache`: inflating the training images costs ~0.3 s)."""
    try:
        with open(path, "rb") as fh:
            compressed = fh.read(2) == b"\x1f\x8b"
    except OSError:
        compressed = False  # read_idx reports it
    if not compressed:
        return read_idx(path)
    arrays = decoded(path, "idx", lambda: {"codes": read_idx(path)})
    return readonly(arrays["codes"])


def _idx_candidates(base: str) -> list[str]:
    """File names accepted for one IDX file, in order of preference."""
    dotted = base.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
    return [base, base + ".gz", dotted, dotted + ".gz"]


def find_idx_files(name: str, dirs: list[Path]) -> dict[str, Path]:
    """Locate the four IDX files of `name` in the first of `dirs` that holds all
    four, or raise one DataError saying where we looked."""
    report: list[str] = []
    for d in dirs:
        if not d.is_dir():
            report.append(f"{show_path(d)}: no such directory")
            continue
        found: dict[str, Path] = {}
        for role, base in IDX_FILES.items():
            for cand in _idx_candidates(base):
                if (d / cand).is_file():
                    found[role] = d / cand
                    break
        if len(found) == len(IDX_FILES):
            return found
        missing = [f"{IDX_FILES[r]}[.gz]" for r in IDX_FILES if r not in found]
        report.append(f"{show_path(d)}: missing {', '.join(missing)}")
    if not report:
        report.append(f"no directories (no data_dir given and ${ENV_VAR} is not set)")
    raise DataError(  # one line: the CLI prints it as is
        f"data set {name!r} not found; searched {'; '.join(report)}. {_HOW_TO_GET[name]}"
    )


@functools.lru_cache(maxsize=4)
def cached_idx(name: str, stamps: tuple[Stamp, ...]) -> Dataset:
    """An MNIST-style data set from its four stamped IDX files (in ``IDX_FILES`` order)."""
    paths = dict(zip(IDX_FILES, (Path(s[0]) for s in stamps), strict=True))
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for part in ("train", "test"):
        img_path, lab_path = paths[f"{part}_images"], paths[f"{part}_labels"]
        images = _read_idx_cached(img_path)
        labels = _read_idx_cached(lab_path)
        if images.ndim != 3:
            raise DataError(
                f"{show_path(img_path)}: images must be 3-D (N, rows, cols), got shape "
                f"{images.shape}"
            )
        if labels.ndim != 1:
            raise DataError(
                f"{show_path(lab_path)}: labels must be 1-D (N,), got shape {labels.shape}"
            )
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{show_path(img_path)} holds {images.shape[0]} images but {lab_path} holds "
                f"{labels.shape[0]} labels"
            )
        if images.shape[0] == 0:
            raise DataError(f"{show_path(img_path)}: holds no images (the IDX header says 0)")
        if labels.size and int(labels.max()) >= 10:
            raise DataError(f"{show_path(lab_path)}: label {int(labels.max())} is not in 0..9")
        parts[part] = (images, labels)
    (tr_img, tr_lab), (te_img, te_lab) = parts["train"], parts["test"]
    if tr_img.shape[1:] != te_img.shape[1:]:
        raise DataError(
            f"image size differs: {paths['train_images']} has {tr_img.shape[1:]}, "
            f"{paths['test_images']} has {te_img.shape[1:]}"
        )
    return Dataset(
        name=name,
        x_train=readonly(to_features(tr_img.reshape(tr_img.shape[0], -1), PIXEL_SCALE)),
        y_train=readonly(tr_lab.astype(np.int64)),
        x_test=readonly(to_features(te_img.reshape(te_img.shape[0], -1), PIXEL_SCALE)),
        y_test=readonly(te_lab.astype(np.int64)),
        n_classes=10,
        source=", ".join(str(p) for p in paths.values()),
        image_shape=(1, *tr_img.shape[1:]),
    )
