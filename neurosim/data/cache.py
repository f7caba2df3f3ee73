"""Decoded copies of compressed data files, so later loads skip the decoding.

Reading ``fashion-mnist``'s gzip-compressed IDX files costs about 0.33 s of
inflating in every process, and ``mnist5k``'s CSV about 0.25 s of parsing:
more than a short run's training on this data, paid again by every sweep
worker and every test process. :func:`decoded` keeps what a reader decoded
(its checked arrays, before any scaling or split) as an uncompressed
``.npz`` in ``$XDG_CACHE_HOME/neurosim/decoded`` (``~/.cache/neurosim``),
stamped with the source's resolved path, size and modification time; a
load with a matching stamp reads the arrays back (about 25 ms for
Fashion-MNIST's 47 MB of pixels) instead of decoding.

The source stays the authority: a changed source file, an unreadable or
foreign cache file is decoded again (and the cache rewritten), and a cache
that cannot be written costs only time. Set ``NEUROSIM_DATA_CACHE=0`` to
read the sources every time. HIGGS keeps its own float32 row cache
(:mod:`neurosim.data.higgs`).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from neurosim.numerics.pages import small_pages

#: Bump when what a reader stores changes; older cache files are then ignored.
CACHE_VERSION = 1

#: Environment variable: ``0`` turns the decoded-data cache off.
ENV_CACHE = "NEUROSIM_DATA_CACHE"

_STAMP_KEY = "__stamp__"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/neurosim/decoded`` (``~/.cache/neurosim/decoded``)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "neurosim" / "decoded"


def enabled() -> bool:
    """False when ``NEUROSIM_DATA_CACHE`` is ``0`` (or ``false``/``no``/``off``)."""
    return os.environ.get(ENV_CACHE, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_file(source: Path, kind: str) -> Path:
    """The cache file of ``source`` as decoded by reader ``kind``."""
    source = source.resolve()
    tag = f"{zlib.crc32(str(source).encode()):08x}"
    return cache_dir() / f"{source.name}-{tag}.{kind}.npz"


def _stamp(source: Path, kind: str) -> str:
    st = source.stat()
    return json.dumps(
        {
            "version": CACHE_VERSION,
            "kind": kind,
            "source": str(source.resolve()),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        },
        sort_keys=True,
    )


def _read(target: Path, stamp: str) -> dict[str, np.ndarray] | None:
    """The arrays of ``target`` when its stamp is ``stamp``; else None."""
    try:
        with small_pages(), np.load(target, allow_pickle=False) as z:
            if _STAMP_KEY not in z.files or str(z[_STAMP_KEY]) != stamp:
                return None
            return {k: z[k] for k in z.files if k != _STAMP_KEY}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # absent, truncated or foreign: decode again


def _write(target: Path, stamp: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``stamp`` to ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays, **{_STAMP_KEY: np.array(stamp)})
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def decoded(
    source: Path, kind: str, decode: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """What ``decode()`` returns for ``source``, from the cache when its stamp matches.

    Parameters
    ----------
    source : Path
        The data file (its path, size and modification time stamp the cache).
    kind : str
        The reader's name, part of the cache file's name and stamp.
    decode : callable
        Reads and checks ``source``; returns named arrays (no object arrays).
        Its errors propagate: nothing is cached for a source that fails.

    Returns
    -------
    dict of str to ndarray
        Equal to ``decode()``'s arrays (dtype, shape and values).
    """
    if not enabled():
        return decode()
    try:
        target = cache_file(source, kind)
    except (RuntimeError, KeyError):  # no home directory to resolve: no cache
        return decode()
    stamp = _stamp(source, kind)
    arrays = _read(target, stamp)
    if arrays is not None:
        return arrays
    arrays = decode()
    try:
        _write(target, stamp, arrays)
    except OSError:
        pass  # an unwritable cache directory costs time, not data
    return arrays
